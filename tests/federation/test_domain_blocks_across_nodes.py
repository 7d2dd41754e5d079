"""Domain blocks and the Group's follows between two real nodes on loopback: north's admin
suspends south from the web page and the follows end and nothing more goes there; a node
whose admins decide whom the Group joins holds the other's follow until one accepts it."""

from __future__ import annotations

from commonsfed.services import accounts, follows, listings
from tests.builders import post_form, register
from tests.federation.test_federation_cli import cli
from tests.nodes import settle

APPLES = {"purpose": "offer", "kind": "give", "title": "A bag of apples", "category": "food",
          "place": "Elm Street"}  # fmt: skip


async def admin_of(node, name: str = "ada"):
    """`name` registered on `node`, logged in on its client, and made its admin."""
    response = await register(node.client, name)
    assert response.status == 200, await response.text()
    await accounts.set_role(node.federation.pool, name, "admin")
    return await accounts.get_by_username(node.federation.pool, name)


async def rows(node, sql: str, *args) -> list[tuple]:
    return [tuple(row) for row in await node.query(sql, *args)]


async def test_block_page__north_suspends_south_follows_end_and_nothing_more_goes(start_nodes):
    # Given two joined neighbourhoods, bob of south following ada of north, and a listing
    # of ada's on its way to south
    north, south = await start_nodes(2)
    ada = await admin_of(north)
    await register(south.client, "bob")
    await follows.follow(south.federation, south.url("/users/bob"), "@ada@north.test")
    await follows.federate(south.federation, "north.test")
    await follows.federate(north.federation, "south.test")
    await settle(north, south)
    assert len(await rows(north, "SELECT * FROM follows WHERE state = 'accepted'")) == 3
    await listings.create_listing(north.federation.pool, north.settings, ada, APPLES, [])
    waiting = await rows(north, "SELECT count(*) FROM deliveries WHERE state = 'pending'")
    assert waiting[0][0] >= 1  # the Create to bob, the Group's Announce to south's Group

    # When north's admin suspends south.test on the web page
    response = await post_form(north.client, "/admin/domains", {
        "domain": "south.test", "severity": "suspend", "public_comment": "",
        "reason": "testing the block"}, allow_redirects=False)  # fmt: skip
    assert response.status == 303

    # Then every follow with south ends and the waiting delivery is dropped
    assert await rows(north, "SELECT * FROM follows") == []
    assert await rows(north, "SELECT DISTINCT state, last_error FROM deliveries "
                             "WHERE state <> 'done'") == [
        ("failed", "dropped: the domain is blocked")]
    # and a new listing sends nothing to south, which receives nothing more
    await listings.create_listing(north.federation.pool, north.settings, ada,
                                  {**APPLES, "title": "Pears"}, [])  # fmt: skip
    assert await rows(north, "SELECT count(*) FROM deliveries WHERE state = 'pending'") == [(0,)]
    received = await rows(south, "SELECT count(*) FROM inbox_items")
    await settle(north, south)
    assert await rows(south, "SELECT count(*) FROM inbox_items") == received
    # and what south sends now is refused at north's inbox
    await listings.create_listing(south.federation.pool, south.settings,
                                  await accounts.get_by_username(south.federation.pool, "bob"),
                                  {**APPLES, "title": "Plums"}, [])  # fmt: skip
    await settle(north, south)
    assert await rows(north, "SELECT count(*) FROM remote_objects") == [(0,)]
    assert await rows(south, "SELECT d.state, d.last_status FROM deliveries d JOIN activities a "
                             "ON a.uri = d.activity_uri WHERE a.type = 'Announce'") == [
        ("failed", 403)]  # south's Group still thinks north follows it; north says no


async def test_group_follows__manual_a_node_waits_for_an_admin_who_accepts(start_nodes):
    # Given south, whose admins decide whom its Group joins, and north asking to join
    north, south = await start_nodes(2, **{"south.test": {"group_follows": "manual"}})
    await register(north.client, "alice")
    await admin_of(south, "sol")
    await follows.federate(north.federation, "south.test")
    await settle(north, south)

    # Then the follow waits on both sides, and south's admin sees north as it describes itself
    assert await rows(north, "SELECT state FROM follows") == [("pending",)]
    page = await (await south.client.get("/admin/follows")).text()
    assert "@neighbourhood@north.test" in page
    assert "<strong>North Commons</strong>" in page
    assert north.settings.instance_description in page
    assert "<td>1</td>" in page  # alice: north's one user, from its NodeInfo
    assert await rows(south, "SELECT name, users, error FROM node_infos") == [
        ("North Commons", 1, None)]

    # When the admin accepts it
    response = await post_form(south.client, "/admin/follows/accept",
                               {"uri": north.url("/users/neighbourhood")},
                               form_path="/admin/follows", allow_redirects=False)  # fmt: skip
    assert response.status == 303
    await settle(north, south)

    # Then both sides hold the follow as accepted, and south's log says who let north in
    assert await rows(north, "SELECT state FROM follows") == [("accepted",)]
    assert await rows(south, "SELECT state FROM follows") == [("accepted",)]
    assert await rows(south, "SELECT moderator_name, action, target FROM moderation_log "
                             "WHERE target_kind = 'domain'") == [
        ("sol", "accept_group_follow", "north.test")]  # fmt: skip
    assert "No follow is waiting." in await (await south.client.get("/admin/follows")).text()


async def test_group_follows__manual_an_admin_who_rejects_ends_the_follow(start_nodes):
    north, south = await start_nodes(2, **{"south.test": {"group_follows": "manual"}})
    await admin_of(south, "sol")
    await follows.federate(north.federation, "south.test")
    await settle(north, south)

    response = await post_form(south.client, "/admin/follows/reject",
                               {"uri": north.url("/users/neighbourhood")},
                               form_path="/admin/follows", allow_redirects=False)  # fmt: skip
    await settle(north, south)

    assert response.status == 303
    assert await rows(south, "SELECT * FROM follows") == []
    assert await rows(north, "SELECT * FROM follows") == []  # the Reject reached north
    again = await post_form(south.client, "/admin/follows/accept",
                            {"uri": north.url("/users/neighbourhood")}, form_path="/admin/follows")
    assert again.status == 409 and "not waiting any more" in await again.text()


async def test_group_follows__auto_accepts_at_once(start_nodes):
    north, south = await start_nodes(2)
    await follows.federate(north.federation, "south.test")
    await settle(north, south)

    assert await rows(north, "SELECT state FROM follows") == [("accepted",)]


async def test_limit__follows_from_a_limited_domain_wait_for_approval(start_nodes):
    # Given north, which limits south.test
    north, south = await start_nodes(2)
    await register(north.client, "alice")  # a resident who does not approve followers by hand
    await admin_of(north)
    await register(south.client, "bob")
    response = await post_form(north.client, "/admin/domains", {
        "domain": "south.test", "severity": "limit", "public_comment": "", "reason": ""},
        allow_redirects=False)  # fmt: skip
    assert response.status == 303

    # When bob follows alice, and south's Group follows north's
    await follows.follow(south.federation, south.url("/users/bob"), "@alice@north.test")
    await follows.federate(south.federation, "north.test")
    await settle(north, south)

    # Then both wait on north, as Mastodon holds a silenced account's follows, and the
    # Group's waits for north's admins, though north accepts other nodes at once
    assert sorted(await rows(north, "SELECT followed_uri, state FROM follows")) == [
        (north.url("/users/alice"), "pending"), (north.url("/users/neighbourhood"), "pending")]
    page = await (await north.client.get("/admin/follows")).text()
    assert "@neighbourhood@south.test" in page and "South Commons" in page


# --- the command -----------------------------------------------------------------------------


async def test_block_command__limit_with_rejections_keeps_follows(start_nodes):
    north, south = await start_nodes(2)
    await register(south.client, "bob")
    await register(north.client, "alice")
    await follows.follow(north.federation, north.url("/users/alice"), "@bob@south.test")
    await settle(north, south)

    status, out, err = await cli(north, "block", "South.Test", "--severity", "limit",
                                 "--reject-media", "--reject-reports", "--comment", "Too loud",
                                 "--reason", "asked by the street")  # fmt: skip

    assert status == 0, err
    assert out == "blocked south.test with severity limit; follows kept\n"
    assert await rows(north, "SELECT severity, reject_media, reject_reports, public_comment, "
                             "note FROM domain_policies") == [
        ("limit", True, True, "Too loud", "asked by the street")]  # fmt: skip
    assert await rows(north, "SELECT state FROM follows") == [("accepted",)]
    assert await rows(north, "SELECT moderator_id, action, target, reason FROM moderation_log "
                             "WHERE target_kind = 'domain'") == [
        (None, "block_domain", "south.test", "asked by the street")]  # fmt: skip


async def test_block_command__an_unknown_severity_exits_2(start_nodes):
    (north,) = await start_nodes(1)

    status, _, err = await cli(north, "block", "south.test", "--severity", "silence")

    assert status == 2 and "invalid choice: 'silence'" in err
    assert await rows(north, "SELECT * FROM domain_policies") == []


async def test_block_command__the_nodes_own_domain_exits_1(start_nodes):
    (north,) = await start_nodes(1)

    status, _, err = await cli(north, "block", "north.test")

    assert status == 1 and "north.test is this node's own domain" in err
    assert err.count("\n") == 1
    assert await rows(north, "SELECT * FROM domain_policies") == []
