"""Two real nodes find, fetch and verify each other's actors."""

from __future__ import annotations

import asyncio
import sys

import pytest

from commonsfed import signatures
from commonsfed.db.pool import connect
from commonsfed.federation.actors import ActorUnavailable, get_actor, lookup
from commonsfed.federation.fetch import FetchError
from commonsfed.federation.verify import NotVerified, verify_request
from tests.builders import register
from tests.integration.test_migrations import cli_env

AS2 = {"Accept": "application/activity+json"}


async def fetchval(url: str, query: str, *args):
    conn = await connect(url)
    try:
        return await conn.fetchval(query, *args)
    finally:
        await conn.close()


async def test_lookup__north_finds_alice_on_south_which_verifies_the_signed_fetch(start_nodes):
    # Given south in secure mode, where nothing is served to a fetch it cannot verify
    north, south = await start_nodes(2, **{"south.test": {"secure_mode": True}})
    await register(south.client, "alice")

    # When north looks her up by handle
    alice = await lookup(north.federation, "@alice@south.test")

    # Then north has her real actor, signed for and cached
    assert alice.uri == "http://south.test/users/alice"
    assert alice.handle == "@alice@south.test"
    assert alice.inbox == "http://south.test/users/alice/inbox"
    assert alice.shared_inbox == "http://south.test/inbox"
    assert alice.key_id == "http://south.test/users/alice#main-key"
    assert await fetchval(north.settings.database_url,
                          "SELECT count(*) FROM remote_actors WHERE uri = $1", alice.uri) == 1
    # and south verified north's signature: it fetched north's instance actor to do so
    assert await fetchval(south.settings.database_url,
                          "SELECT type FROM remote_actors WHERE uri = $1",
                          "http://north.test/actor") == "Application"


async def test_secure_mode__unsigned_fetches_get_only_keys_and_no_collections(start_nodes):
    (node,) = await start_nodes(1, **{"north.test": {"secure_mode": True}})
    await register(node.client, "alice")

    actor = await (await node.client.get("/users/alice", headers=AS2)).json()
    followers = await node.client.get("/users/alice/followers", headers=AS2)
    instance = await (await node.client.get("/actor", headers=AS2)).json()

    assert set(actor) <= {"@context", "id", "type", "preferredUsername", "inbox", "endpoints",
                          "publicKey"}
    assert actor["publicKey"]["publicKeyPem"].startswith("-----BEGIN PUBLIC KEY-----")
    assert followers.status == 401
    assert "outbox" in instance  # the instance actor is always served whole


async def test_secure_mode__a_forged_signature_is_refused(start_nodes):
    north, south = await start_nodes(2, **{"south.test": {"secure_mode": True}})
    await register(south.client, "alice")
    stranger = signatures.generate_private_key()
    url = "http://south.test/users/alice/followers"
    headers = {"Accept": "application/activity+json"}
    headers |= signatures.sign_cavage("GET", url, headers, None,
                                      "http://north.test/actor#main-key", stranger)

    response = await south.client.get("/users/alice/followers", headers=headers)

    assert response.status == 401
    assert "does not verify" in (await response.json())["error"]


async def test_secure_mode__a_fetch_signed_for_another_host_is_refused(start_nodes):
    # Given a fetch north signed, truly, for east.test
    north, south = await start_nodes(2, **{"south.test": {"secure_mode": True}})
    await register(south.client, "alice")
    headers = {"Accept": "application/activity+json"}
    headers |= signatures.sign_cavage("GET", "http://east.test/users/alice/followers", headers,
                                      None, north.federation.instance_key_id,
                                      north.federation.instance_private_key)

    # When it is replayed to south
    response = await south.client.get("/users/alice/followers", headers=headers)

    # Then south sees it was not meant for it
    assert response.status == 401
    assert "is for east.test, not for south.test" in (await response.json())["error"]


async def test_cached_actor__is_served_from_postgres_without_fetching(start_nodes):
    north, south = await start_nodes(2)
    await register(south.client, "alice")
    alice = await lookup(north.federation, "@alice@south.test")
    await south.client.close()  # south is gone; only the cache can answer now

    cached = await get_actor(north.federation, alice.uri)

    assert cached == alice
    with pytest.raises(FetchError):
        await get_actor(north.federation, alice.uri, refresh=True)


async def test_verify__refetches_once_when_the_cached_key_fails(start_nodes):
    # Given north has alice's key cached, and alice's key then changes on south
    north, south = await start_nodes(2)
    await register(south.client, "alice")
    old = await lookup(north.federation, "@alice@south.test")
    new_key = signatures.generate_private_key()
    conn = await connect(south.settings.database_url)
    await conn.execute(
        "UPDATE accounts SET private_key_pem = $1, public_key_pem = $2 WHERE username = 'alice'",
        signatures.private_key_to_pem(new_key), signatures.public_key_to_pem(new_key))
    await conn.close()

    await age_cache(north, minutes=2)

    # When alice signs a request with her new key
    body = b'{"type": "Like"}'
    headers = {"Host": "north.test", "Content-Type": "application/activity+json"}
    headers |= signatures.sign_cavage("POST", "http://north.test/inbox", headers, body,
                                      old.key_id, new_key)
    actor = await verify_request(north.federation, "POST", "/inbox", headers, body)

    # Then north fetched her actor again and accepted it, with the new key cached
    assert actor.uri == old.uri
    assert actor.public_key_pem == signatures.public_key_to_pem(new_key)


async def age_cache(node, minutes: int) -> None:
    conn = await connect(node.settings.database_url)
    await conn.execute("UPDATE remote_actors SET fetched_at = now() - make_interval(mins => $1)",
                       minutes)
    await conn.close()


async def test_verify__a_freshly_fetched_key_is_not_fetched_again_for_a_bad_signature(
    start_nodes,
):
    # Given north fetched alice's actor moments ago
    north, south = await start_nodes(2)
    await register(south.client, "alice")
    alice = await lookup(north.federation, "@alice@south.test")
    fetched_at = await fetchval(north.settings.database_url,
                                "SELECT fetched_at FROM remote_actors WHERE uri = $1", alice.uri)
    body = b'{"type": "Like"}'
    headers = {"Host": "north.test", "Content-Type": "application/activity+json"}
    headers |= signatures.sign_cavage("POST", "http://north.test/inbox", headers, body,
                                      alice.key_id, signatures.generate_private_key())

    # When forged signatures naming her key arrive
    for _ in range(3):
        with pytest.raises(NotVerified):
            await verify_request(north.federation, "POST", "/inbox", headers, body)

    # Then north did not fetch her actor again (south is not used to hammer anyone)
    assert await fetchval(north.settings.database_url,
                          "SELECT fetched_at FROM remote_actors WHERE uri = $1",
                          alice.uri) == fetched_at


async def test_verify__a_key_the_actor_does_not_have_is_refused_after_one_refetch(start_nodes):
    north, south = await start_nodes(2)
    await register(south.client, "alice")
    alice = await lookup(north.federation, "@alice@south.test")
    await age_cache(north, minutes=2)
    body = b'{"type": "Like"}'
    headers = {"Host": "north.test", "Content-Type": "application/activity+json"}
    headers |= signatures.sign_cavage("POST", "http://north.test/inbox", headers, body,
                                      alice.key_id, signatures.generate_private_key())

    with pytest.raises(NotVerified, match="does not verify"):
        await verify_request(north.federation, "POST", "/inbox", headers, body)


async def test_verify__unsigned_request_is_refused(start_nodes):
    (north,) = await start_nodes(1)

    with pytest.raises(NotVerified):
        await verify_request(north.federation, "POST", "/inbox", {"Host": "north.test"}, b"{}")


async def test_lookup__unknown_handle_and_bad_handle(start_nodes):
    north, south = await start_nodes(2)

    with pytest.raises(FetchError, match="404"):
        await lookup(north.federation, "@nobody@south.test")
    with pytest.raises(ActorUnavailable, match="not a handle"):
        await lookup(north.federation, "nobody")


async def test_lookup__by_actor_url(start_nodes):
    north, south = await start_nodes(2)
    await register(south.client, "alice")

    alice = await lookup(north.federation, "http://south.test/users/alice")

    assert alice.preferred_username == "alice" and alice.type == "Person"


async def test_lookup__the_neighbourhood_group_actor(start_nodes):
    north, south = await start_nodes(2)

    group = await lookup(north.federation, "@neighbourhood@south.test")

    assert group.type == "Group" and group.name == "South Commons"


async def test_lookup_command__prints_the_actor_as_the_node_sees_it(start_nodes):
    north, south = await start_nodes(2, **{"south.test": {"secure_mode": True}})
    await register(south.client, "alice")
    resolve = ",".join(f"{name}={target}" for name, target in north.settings.resolve.items())

    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "commonsfed", "lookup", "@alice@south.test", "--dev",
        "--domain", "north.test", "--resolve", resolve,
        "--database-url", north.settings.database_url,
        env=cli_env(), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)

    assert process.returncode == 0, err.decode()
    text = out.decode()
    assert "id: http://south.test/users/alice" in text
    assert "handle: @alice@south.test" in text and "key: RSA-2048 SHA256:" in text


async def test_lookup_command__unknown_handle_exits_1_with_one_line(start_nodes):
    north, south = await start_nodes(2)
    resolve = ",".join(f"{name}={target}" for name, target in north.settings.resolve.items())

    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "commonsfed", "lookup", "@nobody@south.test", "--dev",
        "--domain", "north.test", "--resolve", resolve,
        "--database-url", north.settings.database_url,
        env=cli_env(), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(process.communicate(), 60)

    assert process.returncode == 1
    assert err.decode().count("\n") == 1 and "404" in err.decode()
