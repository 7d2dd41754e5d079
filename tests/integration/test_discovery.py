"""WebFinger, host-meta and NodeInfo: exact shapes."""

from __future__ import annotations

from commonsfed.db.pool import connect
from tests.builders import register

NODEINFO_KEYS = {"version", "software", "protocols", "services", "openRegistrations", "usage",
                 "metadata"}


async def test_webfinger__acct_handle(client):
    await register(client, "alice")

    response = await client.get("/.well-known/webfinger?resource=acct:alice@localhost")

    assert response.status == 200
    assert response.content_type == "application/jrd+json"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    jrd = await response.json()
    assert jrd["subject"] == "acct:alice@localhost"
    assert "http://localhost/users/alice" in jrd["aliases"]
    self_link = next(link for link in jrd["links"] if link["rel"] == "self")
    assert self_link == {"rel": "self", "type": "application/activity+json",
                         "href": "http://localhost/users/alice"}
    assert any(link["rel"] == "http://webfinger.net/rel/profile-page" for link in jrd["links"])


async def test_webfinger__actor_url_as_resource(client):
    await register(client, "alice")

    response = await client.get(
        "/.well-known/webfinger", params={"resource": "http://localhost/users/alice"})

    assert (await response.json())["subject"] == "acct:alice@localhost"


async def test_webfinger__handle_leads_back_to_the_same_actor(client):
    await register(client, "alice")
    jrd = await (await client.get("/.well-known/webfinger?resource=acct:alice@localhost")).json()
    href = next(link["href"] for link in jrd["links"] if link["rel"] == "self")

    actor = await (await client.get(href.replace("http://localhost", ""),
                                    headers={"Accept": "application/activity+json"})).json()

    assert actor["id"] == href and f"acct:{actor['preferredUsername']}@localhost" == jrd["subject"]


async def test_webfinger__group_and_instance_actor(client):
    group = await (await client.get(
        "/.well-known/webfinger?resource=acct:neighbourhood@localhost")).json()
    instance = await (await client.get(
        "/.well-known/webfinger?resource=acct:localhost@localhost")).json()

    assert group["links"][0]["href"] == "http://localhost/users/neighbourhood"
    assert instance["links"][0]["href"] == "http://localhost/actor"


async def test_webfinger__unknown_404_other_domain_404_missing_400(client):
    unknown = await client.get("/.well-known/webfinger?resource=acct:nobody@localhost")
    elsewhere = await client.get("/.well-known/webfinger?resource=acct:alice@other.example")
    missing = await client.get("/.well-known/webfinger")

    assert unknown.status == 404 and elsewhere.status == 404 and missing.status == 400
    assert unknown.headers["Access-Control-Allow-Origin"] == "*"


async def test_webfinger__deleted_account_is_410(client, settings):
    await register(client, "alice")
    conn = await connect(settings.database_url)
    await conn.execute("UPDATE accounts SET status = 'deleted' WHERE username = 'alice'")
    await conn.close()

    response = await client.get("/.well-known/webfinger?resource=acct:alice@localhost")

    assert response.status == 410


async def test_host_meta__xrd_with_lrdd_template(client):
    response = await client.get("/.well-known/host-meta")

    assert response.content_type == "application/xrd+xml"
    body = await response.text()
    assert '<XRD xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0">' in body
    assert ('template="http://localhost/.well-known/webfinger?resource={uri}"' in body)


async def test_host_meta__json_form(client):
    response = await client.get("/.well-known/host-meta", headers={"Accept": "application/json"})

    link = (await response.json())["links"][0]
    assert link["rel"] == "lrdd"
    assert link["template"] == "http://localhost/.well-known/webfinger?resource={uri}"


async def test_nodeinfo__links_both_schemas(client):
    links = (await (await client.get("/.well-known/nodeinfo")).json())["links"]

    assert links == [
        {"rel": "http://nodeinfo.diaspora.software/ns/schema/2.0",
         "href": "http://localhost/nodeinfo/2.0"},
        {"rel": "http://nodeinfo.diaspora.software/ns/schema/2.1",
         "href": "http://localhost/nodeinfo/2.1"},
    ]


async def test_nodeinfo_21__has_exactly_the_schema_keys(client):
    await register(client, "alice")

    response = await client.get("/nodeinfo/2.1")

    assert response.headers["Content-Type"] == (
        'application/json; profile="http://nodeinfo.diaspora.software/ns/schema/2.1#"')
    info = await response.json()
    assert set(info) == NODEINFO_KEYS
    assert info["version"] == "2.1"
    assert set(info["software"]) == {"name", "version", "repository", "homepage"}
    assert info["software"]["name"] == "commonsfed"
    assert info["protocols"] == ["activitypub"]
    assert set(info["services"]) == {"inbound", "outbound"}
    assert info["openRegistrations"] is True
    # alice is logged in since she registered: active this month
    assert info["usage"] == {"users": {"total": 1, "activeMonth": 1, "activeHalfyear": 1},
                             "localPosts": 0}
    assert info["metadata"]["neighbourhood"] == "http://localhost/users/neighbourhood"


async def test_nodeinfo_20__software_has_only_name_and_version(make_client):
    client = await make_client(registration="closed")

    info = await (await client.get("/nodeinfo/2.0")).json()

    assert set(info) == NODEINFO_KEYS and info["version"] == "2.0"
    assert set(info["software"]) == {"name", "version"}
    assert info["openRegistrations"] is False


async def test_nodeinfo__unknown_version_404(client):
    assert (await client.get("/nodeinfo/3.0")).status == 404
