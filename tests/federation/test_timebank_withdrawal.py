"""Withdrawing a transfer of hours the other node never answered, on real nodes over
loopback: the Offer lost on the way (then arriving after the Undo), the Accept lost on the way
back (sent again on the Undo, and applied so that the ledgers mirror), the scheduled job that
gives up after a week, the hours page's button, and Undos that must be refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest

from commonsfed.ap.jsonld import normalise
from commonsfed.federation.errors import Refused
from commonsfed.federation.handlers import handle_activity
from commonsfed.services import timebank_exchanges, timebank_remote
from commonsfed.services import timebank_withdrawal as withdrawal
from commonsfed.services.errors import NotAllowed, ServiceError
from commonsfed.services.jobs import ScheduledJobs
from tests.builders import post_form
from tests.federation.test_answers_across_nodes import browser
from tests.federation.test_timebank_across_nodes import (
    balances,
    completed_service,
    held,
    network,
    pair,
    resident,
    told,
)
from tests.nodes import settle

__all__ = ["network", "pair"]  # the fixtures, used by name


async def _activity(node, kind: str) -> dict:
    [row] = await node.query("SELECT document FROM activities WHERE type = $1", kind)
    return orjson.loads(row["document"])


async def _lose_deliveries(node) -> None:
    """What the node has queued never arrives (the other side was down past the retries)."""
    await node.query("UPDATE deliveries SET state = 'failed' WHERE state = 'pending'")


async def _sent_days_ago(node, days: int) -> None:
    await node.query("UPDATE hours_remote_transfers SET created_at = now() - $1::interval",
                     timedelta(days=days))  # fmt: skip


async def _states(node) -> list[tuple[str, str]]:
    rows = await node.query("SELECT role, state FROM hours_remote_transfers ORDER BY created_at")
    return [(row["role"], row["state"]) for row in rows]


async def test_withdrawal__an_offer_lost_on_the_way_moves_nothing_when_it_comes(pair):
    north, south, alice, _bob = pair
    event_id = await timebank_remote.propose(north.federation, alice, south.url("/users/bob"), "3")
    offer = await _activity(north, "Offer")
    await _lose_deliveries(north)
    with pytest.raises(ServiceError, match="Their node may still answer"):
        await withdrawal.withdraw(north.federation, alice, event_id)
    ann = await resident(north, "ann")
    with pytest.raises(NotAllowed, match="no such proposal of yours"):
        await withdrawal.withdraw(north.federation, ann, event_id)
    assert await held(north) == 6

    await _sent_days_ago(north, 3)
    await withdrawal.withdraw(north.federation, alice, event_id)
    assert await held(north) == 0 and await _states(north) == [("proposer", "withdrawn")]
    with pytest.raises(ServiceError, match="no longer waiting for an answer"):
        await withdrawal.withdraw(north.federation, alice, event_id)
    await settle(north, south)
    undo = await _activity(north, "Undo")
    assert undo["object"]["id"] == offer["id"] and undo["object"]["object"]["id"] == event_id
    assert await _states(south) == [("responder", "withdrawn")]

    # the Offer, retried by hand or late, finds the event withdrawn: no hours, no answer
    await handle_activity(south.federation, normalise(offer))
    await settle(north, south)
    assert await balances(north) == {} and await balances(south) == {}
    assert await south.query("SELECT * FROM activities WHERE type IN ('Accept', 'Reject')") == []
    assert await told(south, "bob") == []  # bob never saw a proposal


async def test_withdrawal__an_accept_lost_on_the_way_back_is_sent_again_and_applied(pair):
    north, south, alice, _bob = pair
    bob_uri = south.url("/users/bob")
    event_id = await timebank_remote.propose(north.federation, alice, bob_uri, "3")
    await handle_activity(south.federation, normalise(await _activity(north, "Offer")))
    await _lose_deliveries(north)  # the Offer went by hand above
    await _lose_deliveries(south)  # its Accept never reaches north
    assert await balances(south) == {"bob": 3, "north.test": -3}

    # a week on, north's scheduled jobs give up on the answer and tell alice
    jobs = ScheduledJobs(north.federation.pool, north.settings,
                         clock=lambda: datetime.now(UTC) + timedelta(days=8))  # fmt: skip
    await jobs.tick()
    assert await _states(north) == [("proposer", "withdrawn")] and await held(north) == 0
    assert await told(north, "alice") == [bob_uri]

    # the Undo reaches south, which accepted already: it says so again, and north applies it
    await settle(north, south)
    assert await balances(north) == {"alice": -3, "south.test": 3}
    assert await balances(south) == {"bob": 3, "north.test": -3}
    assert await _states(north) == [("proposer", "accepted")]
    assert await _states(south) == [("responder", "accepted")]
    assert await told(north, "alice") == [bob_uri, bob_uri]
    [transfer] = await north.query("SELECT event_id FROM hours_transfers")
    assert transfer["event_id"] == event_id


async def test_withdrawal__the_scheduled_job_leaves_recent_and_answered_proposals(pair):
    north, south, alice, _bob = pair
    bob_uri = south.url("/users/bob")
    await timebank_remote.propose(north.federation, alice, bob_uri, "2")
    await settle(north, south)  # accepted
    await timebank_remote.propose(north.federation, alice, bob_uri, "1")  # sent just now
    later = datetime.now(UTC) + timedelta(days=6)
    assert await withdrawal.withdraw_due(north.federation.pool, north.settings, later) == 0
    assert sorted(await _states(north)) == [("proposer", "accepted"), ("proposer", "proposed")]


async def test_withdrawal__undos_that_are_not_the_proposers_own_are_refused(pair):
    north, south, alice, bob = pair
    bob_uri = south.url("/users/bob")
    await timebank_remote.propose(north.federation, alice, bob_uri, "2")
    offer = await _activity(north, "Offer")
    await _lose_deliveries(north)
    await resident(north, "mallory")
    forged = {"@context": offer["@context"], "id": north.url("/users/mallory/undo-1"),
              "type": "Undo", "actor": north.url("/users/mallory"), "object": offer}  # fmt: skip
    with pytest.raises(Refused, match="Undo of an Offer someone else sent"):
        await handle_activity(south.federation, normalise(forged))

    # south's own proposal, undone as if it were north's
    await timebank_remote.propose(south.federation, bob, north.url("/users/alice"), "1")
    own = await _activity(south, "Offer")
    posing = {"@context": own["@context"], "id": north.url("/users/alice/undo-2"),
              "type": "Undo", "actor": north.url("/users/alice"),
              "object": {**own, "actor": north.url("/users/alice")}}  # fmt: skip
    with pytest.raises(Refused, match="must be on its proposer's host"):
        await handle_activity(south.federation, normalise(posing))
    assert await _states(south) == [("proposer", "proposed")]


async def test_withdrawal__from_the_hours_page(pair):
    north, south, _alice, _bob = pair
    ada = await browser(north, "ada")
    try:
        sent = await post_form(ada, "/settings/hours/send",
                               {"to": "@bob@south.test", "hours": "2"},
                               form_path="/settings/hours", allow_redirects=False)  # fmt: skip
        assert sent.status == 303
        await _lose_deliveries(north)
        [row] = await north.query("SELECT event_id FROM hours_remote_transfers")
        page = await (await ada.get("/settings/hours")).text()
        assert "Waiting for their node" in page and "Withdraw</button>" not in page
        early = await post_form(ada, "/settings/hours/withdraw", {"event": row["event_id"]},
                                form_path="/settings/hours")  # fmt: skip
        assert early.status == 409
        assert "a proposal can be withdrawn two days after it was sent" in await early.text()
        unknown = await post_form(ada, "/settings/hours/withdraw",
                                  {"event": north.url("/hours/nothing")},
                                  form_path="/settings/hours")  # fmt: skip
        assert unknown.status == 403 and "no such proposal of yours" in await unknown.text()

        await _sent_days_ago(north, 3)
        page = await (await ada.get("/settings/hours")).text()
        assert "Withdraw</button>" in page
        done = await post_form(ada, "/settings/hours/withdraw", {"event": row["event_id"]},
                               form_path="/settings/hours", allow_redirects=False)  # fmt: skip
        assert done.status == 303
        page = await (await ada.get("/settings/hours")).text()
        assert "Withdrawn: the hours held for it are free again." in page
        assert "Withdrawn: their node did not answer" in page
        assert await held(north) == 0
    finally:
        await ada.close()


async def test_withdrawal__the_hours_of_a_service_may_be_confirmed_again(network):
    north, south, alice, _drill, _bob, _carol = network
    pool, settings = north.federation.pool, north.settings
    on_north = await completed_service(network)
    confirm = timebank_exchanges.confirm
    await confirm(pool, settings, alice, on_north, "2", fed=north.federation)
    await _lose_deliveries(north)
    with pytest.raises(NotAllowed, match="recorded already"):  # while it waits
        await confirm(pool, settings, alice, on_north, "2", fed=north.federation)

    await _sent_days_ago(north, 3)
    [row] = await north.query("SELECT event_id FROM hours_remote_transfers")
    await withdrawal.withdraw(north.federation, alice, row["event_id"])
    exchange = await confirm(pool, settings, alice, on_north, "2", fed=north.federation)
    assert exchange.remote_state == "proposed"
    await settle(north, south)
    assert await balances(north) == {"alice": 2, "south.test": -2}
    assert await balances(south) == {"bob": -2, "north.test": 2}
