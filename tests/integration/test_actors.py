"""Actor documents and collections, as INTEROP.md says peers expect them."""

from __future__ import annotations

from commonsfed import signatures
from commonsfed.db.pool import connect
from tests.builders import register

AS2 = {"Accept": "application/activity+json"}
PERSON_KEYS = {
    "@context", "id", "type", "preferredUsername", "name", "summary", "inbox", "outbox",
    "followers", "following", "featured", "endpoints", "publicKey", "manuallyApprovesFollowers",
    "discoverable", "indexable", "url", "published",
}


async def test_person__has_every_field_peers_expect(client):
    await register(client, "alice")

    response = await client.get("/users/alice", headers=AS2)

    assert response.status == 200
    assert response.content_type == "application/activity+json"
    actor = await response.json()
    assert set(actor) == PERSON_KEYS
    base = "http://localhost/users/alice"
    assert actor["id"] == base and actor["type"] == "Person"
    assert actor["preferredUsername"] == "alice"
    assert actor["inbox"] == base + "/inbox" and actor["outbox"] == base + "/outbox"
    assert actor["followers"] == base + "/followers"
    assert actor["featured"] == base + "/collections/featured"
    assert actor["endpoints"] == {"sharedInbox": "http://localhost/inbox"}
    assert actor["publicKey"]["id"] == base + "#main-key"
    assert actor["publicKey"]["owner"] == base
    assert "https://www.w3.org/ns/activitystreams" in actor["@context"]
    assert "https://w3id.org/security/v1" in actor["@context"]


async def test_person__key_is_rsa_2048_and_private_part_never_served(client, settings):
    await register(client, "alice")

    body = await (await client.get("/users/alice", headers=AS2)).text()

    assert "PRIVATE" not in body
    import orjson
    pem = orjson.loads(body)["publicKey"]["publicKeyPem"]
    assert signatures.public_key_from_pem(pem).key_size == 2048
    conn = await connect(settings.database_url)
    stored = await conn.fetchval("SELECT private_key_pem FROM accounts WHERE username = 'alice'")
    await conn.close()
    private = signatures.private_key_from_pem(stored)
    assert signatures.public_key_to_pem(private) == pem


async def test_person__ld_json_with_profile_gets_as2(client):
    await register(client, "alice")
    accept = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'

    response = await client.get("/users/alice", headers={"Accept": accept})

    assert response.content_type == "application/activity+json"
    assert response.headers["Vary"] == "Accept"


async def test_person__browser_gets_a_profile_page(client):
    await register(client, "alice")

    response = await client.get("/users/alice", headers={"Accept": "text/html"})

    assert response.content_type == "text/html"
    page = await response.text()
    assert "@alice@localhost" in page
    assert '<a href="/users/alice/feed.atom">Atom</a>' in page
    feed = await client.get("/users/alice/feed.atom")
    assert feed.status == 200 and "atom" in feed.content_type


async def test_group__browser_gets_a_page_linking_the_neighbourhood_feed(client):
    response = await client.get("/users/neighbourhood", headers={"Accept": "text/html"})

    page = await response.text()
    assert '<a href="/feed.rss">RSS</a>' in page
    assert (await client.get("/feed.rss")).status == 200


async def test_unknown_actor__404_and_deleted_actor__410(client, settings):
    await register(client, "alice")
    conn = await connect(settings.database_url)
    await conn.execute("UPDATE accounts SET status = 'deleted' WHERE username = 'alice'")
    await conn.close()

    unknown = await client.get("/users/nobody", headers=AS2)
    gone = await client.get("/users/alice", headers=AS2)

    assert unknown.status == 404 and gone.status == 410


async def test_pending_account__has_no_actor(make_client):
    client = await make_client(registration="approval")
    await register(client, "bob")

    response = await client.get("/users/bob", headers=AS2)

    assert response.status == 404


async def test_instance_actor__is_an_application_with_a_key(client):
    response = await client.get("/actor", headers=AS2)

    actor = await response.json()
    assert actor["type"] == "Application" and actor["id"] == "http://localhost/actor"
    assert actor["publicKey"]["id"] == "http://localhost/actor#main-key"
    assert actor["publicKey"]["publicKeyPem"].startswith("-----BEGIN PUBLIC KEY-----")
    assert actor["inbox"] == "http://localhost/actor/inbox"


async def test_instance_actor__keeps_its_key_across_requests(client):
    first = await (await client.get("/actor", headers=AS2)).json()
    second = await (await client.get("/actor", headers=AS2)).json()

    assert first["publicKey"]["publicKeyPem"] == second["publicKey"]["publicKeyPem"]


async def test_group_actor__is_the_neighbourhood(client):
    response = await client.get("/users/neighbourhood", headers=AS2)

    actor = await response.json()
    assert actor["type"] == "Group" and actor["preferredUsername"] == "neighbourhood"
    assert actor["name"] == "Elm Street Commons"


async def test_group_actor__handle_is_a_setting(make_client):
    client = await make_client(neighbourhood_handle="elmstreet")

    response = await client.get("/users/elmstreet", headers=AS2)

    assert (await response.json())["type"] == "Group"


def local(uri: str) -> str:
    return uri.removeprefix("http://localhost")


async def test_collections__are_ordered_collections_with_pages(client, settings):
    await register(client, "alice")
    conn = await connect(settings.database_url)
    for number in range(25):
        await conn.execute(
            "INSERT INTO follows (follower_uri, followed_uri, state) VALUES ($1, $2, 'accepted')",
            f"https://remote.example/users/f{number}", "http://localhost/users/alice",
        )
    await conn.execute(
        "INSERT INTO follows (follower_uri, followed_uri, state) VALUES ($1, $2, 'pending')",
        "https://remote.example/users/waiting", "http://localhost/users/alice",
    )
    await conn.close()

    collection = await (await client.get("/users/alice/followers", headers=AS2)).json()
    page1 = await (await client.get(local(collection["first"]), headers=AS2)).json()
    page2 = await (await client.get(local(page1["next"]), headers=AS2)).json()

    assert collection["type"] == "OrderedCollection" and collection["totalItems"] == 25
    assert page1["type"] == "OrderedCollectionPage" and page1["partOf"] == collection["id"]
    assert len(page1["orderedItems"]) == 20 and len(page2["orderedItems"]) == 5
    assert "next" not in page2 and page2["prev"] == collection["first"]
    everyone = set(page1["orderedItems"]) | set(page2["orderedItems"])
    assert "https://remote.example/users/waiting" not in everyone and len(everyone) == 25


async def test_collections__outbox_following_featured_exist_and_are_empty(client):
    await register(client, "alice")

    for path in ("outbox", "following", "collections/featured"):
        document = await (await client.get(f"/users/alice/{path}", headers=AS2)).json()
        assert document["type"] == "OrderedCollection" and document["totalItems"] == 0


async def test_collections__bad_page_number_is_400(client):
    await register(client, "alice")

    for page in ("0", "-1", "abc", "99999999"):
        response = await client.get(f"/users/alice/followers?page={page}", headers=AS2)
        assert response.status == 400
