"""A report forwarded across nodes: Bob on south reports alice's drill (a listing of north)
from south's page of it; a moderator of south forwards the report; north receives a Flag from
south's instance actor that names alice and her drill, carries the comment, and names no
reporter, and it becomes a report there. Both nodes are real, on loopback."""

from __future__ import annotations

import html

import orjson

from commonsfed.services import accounts
from tests.builders import post_form
from tests.federation.test_answers_across_nodes import browser, find_in_network_view
from tests.nodes import settle

COMMENT = "Lends a drill that is not theirs to lend"


async def test_forward__reaches_the_reported_persons_node_as_a_flag_without_the_reporter(network):
    north, south, alice, drill, bob, carol = network
    drill_uri, alice_uri = north.url(f"/listings/{drill.uid}"), north.url("/users/alice")
    mo = await browser(south, "mo")
    await accounts.set_role(south.federation.pool, "mo", "moderator")
    try:
        # Bob reports the drill from south's page of it
        page = await find_in_network_view(bob, "Cordless drill")
        report_link = html.unescape(await (await bob.get(page)).text()).split(
            'class="report-link" href="')[-1].split('"')[0]  # fmt: skip
        assert report_link.startswith("/report?listing_uri=")
        sent = await post_form(bob, "/report", {"listing_uri": drill_uri, "category": "scam",
                                                "comment": COMMENT},
                               form_path=report_link, allow_redirects=False)  # fmt: skip
        assert sent.status == 303, await sent.text()
        [(report_id,)] = await south.query("SELECT id FROM reports")

        # south's moderator forwards it to north
        shown = await (await mo.get(f"/admin/reports/{report_id}")).text()
        assert "Forward to north.test" in shown
        forwarded = await post_form(mo, f"/admin/reports/{report_id}/forward", {},
                                    form_path=f"/admin/reports/{report_id}",
                                    allow_redirects=False)  # fmt: skip
        assert forwarded.status == 303
        await settle(north, south)

        # north has a Flag from south's instance actor, naming alice and the drill, no reporter
        [item] = await north.query(
            "SELECT activity FROM inbox_items WHERE activity->>'type' = 'Flag'"
        )
        flag = orjson.loads(item["activity"])
        assert flag["actor"] == south.url("/actor") and flag["content"] == COMMENT
        assert flag["object"] == [alice_uri, drill_uri]
        assert "bob" not in orjson.dumps(flag).decode()
        [report] = await north.query("SELECT * FROM reports")
        assert report["reporter_uri"] == south.url("/actor")
        assert (report["about"], report["listing_uid"], report["target_actor_uri"]) == (
            "listing",
            drill.uid,
            alice_uri,
        )
        assert report["content"] == COMMENT and report["reporter_account_id"] is None

        # on south the report says it went, and it cannot go twice
        again = await post_form(mo, f"/admin/reports/{report_id}/forward", {},
                                form_path=f"/admin/reports/{report_id}",
                                allow_redirects=False)  # fmt: skip
        assert again.status == 403 and "forwarded already" in await again.text()
        history = (await (await mo.get(f"/admin/reports/{report_id}")).text()).split("History")[1]
        assert "forward by @mo to north.test" in history
    finally:
        await mo.close()
