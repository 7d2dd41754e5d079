"""The time bank through the web on a real PostgreSQL: the author of a service confirms its
hours on the conversation page, the other party sees them and may dispute them, a moderator
settles the dispute on /admin/hours; residents read their balance on /settings/hours and
admins the node's totals.

Alice offers a service; Bob answers; mo is a moderator, ada the admin; Carol looks on.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from commonsfed.db import node_settings
from commonsfed.services import accounts, timebank
from commonsfed.web.keys import POOL, SETTINGS
from tests.builders import post_form, post_listing
from tests.integration.test_thanks import answered, decide

GARDEN = {"purpose": "offer", "kind": "service", "title": "Help in your garden",
          "category": "garden", "description": "Weeding, pruning, planting.",
          "place": "Elm Street", "hours": "2"}  # fmt: skip


@pytest.fixture
def pool(alice):
    return alice.server.app[POOL]


async def service(author, respondent, **fields) -> int:
    """A service listing of `author`, answered by `respondent`, reserved and completed."""
    response = await post_listing(author, {**GARDEN, **fields})
    assert response.status == 303, await response.text()
    conv = await answered(respondent, response.headers["Location"].rsplit("/", 1)[1])
    await decide(author, conv, "reserve")
    await decide(author, conv, "complete")
    return conv


async def confirm(client, conv: int, hours: str):
    return await post_form(client, f"/conversations/{conv}/hours", {"hours": hours},
                           form_path=f"/conversations/{conv}", allow_redirects=False)  # fmt: skip


async def dispute(client, conv: int, reason: str):
    return await post_form(client, f"/conversations/{conv}/hours/dispute", {"reason": reason},
                           form_path=f"/conversations/{conv}", allow_redirects=False)  # fmt: skip


async def balances(pool, *names) -> list[Decimal]:
    return [await timebank.balance(pool, (await accounts.get_by_username(pool, n)).id)
            for n in names]  # fmt: skip


async def kinds(pool, name: str) -> list[str]:
    return [row[0] for row in await pool.fetch("""
        SELECT n.kind FROM notifications n JOIN accounts a ON a.id = n.account_id
        WHERE a.username = $1 AND n.kind LIKE 'hours_%' ORDER BY n.id
    """, name)]  # fmt: skip


async def test_hours__confirmed_by_the_author_move_from_receiver_to_giver(pool, alice, bob):
    conv = await service(alice, bob)
    page = await (await alice.get(f"/conversations/{conv}")).text()
    assert "Hours @bob gives you for your service" in page and 'value="2"' in page

    response = await confirm(alice, conv, "2")

    assert response.status == 303
    assert response.headers["Location"] == f"/conversations/{conv}#hours"
    assert await balances(pool, "alice", "bob") == [2, -2]
    assert await kinds(pool, "bob") == ["hours_recorded"]
    page = await (await bob.get(f"/conversations/{conv}")).text()
    assert "2 hours moved from @bob to @alice for this service." in page
    assert "Dispute these hours" in page
    mine = await (await bob.get("/settings/hours")).text()
    assert "Balance: -2 hours" in mine and "Help in your garden" in mine
    notes = await (await bob.get("/notifications")).text()
    assert "@alice confirmed the hours of" in notes


async def test_hours__of_a_request_go_to_the_respondent_who_gave_the_service(pool, alice, bob):
    conv = await service(alice, bob, purpose="request", title="Someone to fix my bike")
    page = await (await alice.get(f"/conversations/{conv}")).text()
    assert "Hours you give @bob for their service" in page

    assert (await confirm(alice, conv, "1.5")).status == 303

    assert await balances(pool, "alice", "bob") == [Decimal("-1.5"), Decimal("1.5")]


async def test_hours__bad_input_is_refused_by_the_field_and_nothing_moves(pool, alice, bob, carol):
    conv = await service(alice, bob)

    response = await confirm(alice, conv, "lots")
    assert response.status == 422
    assert "Give a number of hours above 0 and at most 100, such as 1.5." in await response.text()
    assert 'value="lots"' in await response.text()

    assert (await confirm(carol, conv, "2")).status == 403  # a bystander
    assert (await confirm(bob, conv, "2")).status == 403  # the respondent
    assert await balances(pool, "alice", "bob") == [0, 0]
    assert (await confirm(alice, conv, "2")).status == 303
    second = await confirm(alice, conv, "3")
    assert second.status == 403
    assert "The hours of this exchange are recorded already." in await second.text()
    assert await balances(pool, "alice", "bob") == [2, -2]


async def test_hours__past_the_limit_are_refused_with_a_clear_message(pool, alice, bob, carol):
    settings = alice.server.app[SETTINGS]
    bob_, carol_ = [await accounts.get_by_username(pool, n) for n in ("bob", "carol")]
    await timebank.transfer_between(pool, settings, bob_, carol_, Decimal(19))
    conv = await service(alice, bob)

    response = await confirm(alice, conv, "2")

    assert response.status == 409
    assert "Refused: @bob would owe more than 20 hours (the balance is -19.00 hours)." in (
        await response.text()
    )
    assert await balances(pool, "alice", "bob") == [0, -19]


async def test_hours__not_before_completion_nor_for_other_kinds(pool, alice, bob):
    response = await post_listing(alice, {**GARDEN})
    conv = await answered(bob, response.headers["Location"].rsplit("/", 1)[1])
    early = await post_form(alice, f"/conversations/{conv}/hours", {"hours": "2"},
                            form_path=f"/conversations/{conv}")  # fmt: skip
    assert early.status == 403
    assert "Mark the exchange completed first" in await early.text()
    page = await (await alice.get(f"/conversations/{conv}")).text()
    assert 'id="hours"' in page and "Confirm the hours" not in page

    apples = await service(alice, bob, kind="give", title="Apples", hours="")
    assert 'id="hours"' not in await (await alice.get(f"/conversations/{apples}")).text()
    assert (await post_form(alice, f"/conversations/{apples}/hours", {"hours": "1"},
                            form_path=f"/conversations/{apples}")).status == 403  # fmt: skip


async def test_hours__disputed_and_settled_by_a_moderator(pool, alice, bob, make_resident):
    ada, mo = await make_resident("ada"), await make_resident("mo")
    await accounts.set_role(pool, "ada", "admin")
    await accounts.set_role(pool, "mo", "moderator")
    conv = await service(alice, bob)
    await confirm(alice, conv, "4")

    assert (await dispute(bob, conv, "  ")).status == 422
    assert (await dispute(alice, conv, "Not me")).status == 403
    response = await dispute(bob, conv, "We agreed on two hours, not four.")
    assert response.status == 303
    assert await kinds(pool, "alice") == ["hours_disputed"]
    assert "These hours are disputed" in await (await bob.get(f"/conversations/{conv}")).text()
    assert (await dispute(bob, conv, "Again")).status == 403
    assert (await bob.get("/admin/hours")).status == 403

    queue = await (await mo.get("/admin/hours")).text()
    assert "We agreed on two hours, not four." in queue and "Sum of every balance" not in queue
    exchange_id = await pool.fetchval("SELECT id FROM hours_exchanges")
    settle = f"/admin/hours/{exchange_id}/settle"
    bad = await post_form(mo, settle, {"hours": "two", "reason": ""}, form_path="/admin/hours")
    assert bad.status == 422
    response = await post_form(mo, settle, {"hours": "2", "reason": "Both agree on two."},
                               form_path="/admin/hours", allow_redirects=False)  # fmt: skip
    assert response.status == 303

    assert await balances(pool, "alice", "bob") == [2, -2]
    assert await kinds(pool, "alice") == ["hours_disputed", "hours_settled"]
    assert await kinds(pool, "bob") == ["hours_recorded", "hours_settled"]
    log = await pool.fetchrow("SELECT * FROM moderation_log WHERE action = 'settle_hours'")
    assert log["moderator_name"] == "mo" and log["reason"] == "Both agree on two."
    assert "settle disputed hours" in await (await mo.get("/admin/log")).text()
    assert "No hours are disputed." in await (await mo.get("/admin/hours")).text()
    totals = await (await ada.get("/admin/hours")).text()
    assert "Sum of every balance</dt><dd>0</dd>" in totals
    again = await post_form(mo, settle, {"hours": "0", "reason": ""}, form_path="/admin/hours")
    assert again.status == 403


async def test_hours__a_dispute_settled_at_zero_reverses_within_the_limits(
    pool, alice, bob, carol, make_resident
):
    mo = await make_resident("mo")
    await accounts.set_role(pool, "mo", "moderator")
    conv = await service(alice, bob)
    await confirm(alice, conv, "3")
    await dispute(bob, conv, "It never happened.")
    # alice spends what she got, down to the lowest balance
    alice_, carol_ = [await accounts.get_by_username(pool, n) for n in ("alice", "carol")]
    await timebank.transfer_between(pool, alice.server.app[SETTINGS], alice_, carol_, Decimal(23))
    exchange_id = await pool.fetchval("SELECT id FROM hours_exchanges")

    refused = await post_form(mo, f"/admin/hours/{exchange_id}/settle",
                              {"hours": "0", "reason": "Never happened"},
                              form_path="/admin/hours")  # fmt: skip
    assert refused.status == 409
    assert "Refused: @alice would owe more than 20 hours" in await refused.text()
    assert await balances(pool, "alice", "bob") == [-20, -3]

    async with pool.acquire() as conn:  # as /admin/settings stores a change
        await node_settings.store_values(conn, {"hours_min": -30}, None)
    done = await post_form(mo, f"/admin/hours/{exchange_id}/settle",
                           {"hours": "0", "reason": "Never happened"},
                           form_path="/admin/hours")  # fmt: skip
    assert done.status == 200  # followed to /admin/hours
    assert await balances(pool, "alice", "bob") == [-23, 0]


async def test_hours__limits_are_node_settings_an_admin_changes(pool, alice, bob, make_resident):
    from tests.integration.test_node_settings import GOOD

    ada = await make_resident("ada")
    await accounts.set_role(pool, "ada", "admin")
    page = await (await ada.get("/admin/settings")).text()
    assert 'name="hours_min" type="number" value="-20"' in page

    bad = await post_form(ada, "/admin/settings", {**GOOD, "hours_min": "5", "hours_max": "x"})
    assert bad.status == 422
    text = await bad.text()
    assert "Give a whole number of hours from -10000 to 0." in text
    assert "Give a whole number of hours from 0 to 10000." in text

    saved = await post_form(ada, "/admin/settings", {**GOOD, "hours_min": "-2", "hours_max": "40"})
    assert saved.status == 200
    log = await pool.fetchrow("SELECT details FROM moderation_log WHERE target = 'hours_min'")
    assert log is not None
    conv = await service(alice, bob)
    refused = await confirm(alice, conv, "3")
    assert refused.status == 409
    assert "@bob would owe more than 2 hours" in await refused.text()


async def test_hours__can_be_disputed_for_seven_days_only(pool, alice, bob):
    conv = await service(alice, bob)
    await confirm(alice, conv, "2")
    until = await pool.fetchval("SELECT dispute_until - created_at FROM hours_exchanges")
    assert until.days == 7
    await pool.execute("UPDATE hours_exchanges SET dispute_until = now() - interval '1 second'")

    assert "Dispute these hours" not in await (await bob.get(f"/conversations/{conv}")).text()
    late = await dispute(bob, conv, "Too many hours.")
    assert late.status == 403
    assert "Hours can be disputed for 7 days only." in await late.text()
    assert await pool.fetchval("SELECT state FROM hours_exchanges") == "recorded"
