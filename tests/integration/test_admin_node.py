"""The administration of the node as a whole: the dashboard (moderators and admins), the
servers it federates with and "retry now", and what its inbox did not handle (admins)."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from commonsfed.db import inbox as inbox_q
from commonsfed.federation.context import open_federation
from commonsfed.federation.inbox_worker import InboxWorker
from tests.builders import post_form, post_listing

ACTIVITY = "http://localhost/activities/1"


def cell(page: str, element_id: str) -> str:
    match = re.search(rf'id="{re.escape(element_id)}">(.*?)</', page, re.S)
    assert match, f"no #{element_id} on the page"
    return match.group(1).strip()


def row_of(page: str, row_id: str) -> list[str]:
    """The cells of the table row with this id, as text."""
    row = page.split(f'<tr id="{row_id}">')[1].split("</tr>")[0]
    return [" ".join(re.sub(r"<[^>]+>", " ", td).split()) for td in row.split("<td>")[1:]]


async def add_deliveries(pool, host: str, states: list[tuple[str, int]]) -> None:
    """Deliveries to `host`, as (state, attempts)."""
    async with pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO activities (uri, actor_uri, type, document) VALUES ($1, "
            "'http://localhost/users/ada', 'Create', '{}') ON CONFLICT DO NOTHING",
            ACTIVITY,
        )
        for n, (state, attempts) in enumerate(states):
            await conn.execute(
                "INSERT INTO deliveries (activity_uri, inbox, host, state, attempts, next_try_at)"
                " VALUES ($1, $2, $3, $4, $5, now() + interval '3 hours')",
                ACTIVITY, f"http://{host}/users/u{n}/inbox", host, state, attempts,
            )  # fmt: skip


async def add_follows(pool, pairs: list[tuple[str, str, str]]) -> None:
    async with pool.acquire() as conn:
        for follower, followed, state in pairs:
            await conn.execute(
                "INSERT INTO follows (follower_uri, followed_uri, state) VALUES ($1, $2, $3)",
                follower, followed, state,
            )  # fmt: skip


async def fail_host(pool, host: str, parked: bool, failures: int = 3) -> None:
    async with pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO hosts (host, consecutive_failures, failing_since, parked_until, "
            "last_error, last_success_at) VALUES ($1, $2, now() - interval '2 days', $3, "
            "'HTTP 502', now() - interval '3 days')",
            host, failures, datetime.now(UTC) + timedelta(hours=6) if parked else None,
        )  # fmt: skip


# --- the dashboard -------------------------------------------------------------------------


@pytest.mark.parametrize("path, admin, moderator, resident", [
    ("/admin", 200, 200, 403),
    ("/admin/settings", 200, 403, 403),
    ("/admin/federation", 200, 403, 403),
    ("/admin/federation/unhandled", 200, 403, 403),
])  # fmt: skip
async def test_admin_node_pages__open_by_role(ada, mo, rex, path, admin, moderator, resident):
    assert (await ada.get(path)).status == admin
    assert (await mo.get(path)).status == moderator
    assert (await rex.get(path)).status == resident


async def test_dashboard__counts_people_listings_queues_failing_hosts_and_reports(
    ada, mo, rex, pool
):
    # Given three residents (one not seen for two months), listings, queues, failures, reports
    for title in ("Apples", "A ladder", "Soup"):
        assert (await post_listing(rex, {"title": title})).status == 303
    async with pool.acquire() as conn:
        await conn.execute(
            "UPDATE account_sessions SET last_seen_at = now() - interval '60 days' "
            "WHERE account_id = (SELECT id FROM accounts WHERE username = 'rex')"
        )
        await conn.execute(
            "UPDATE accounts SET last_seen_at = now() - interval '60 days' WHERE username = 'rex'"
        )
        await conn.execute("UPDATE listings SET state = 'reserved' WHERE title = 'Soup'")
        await conn.execute(
            "INSERT INTO reports (activity_uri, reporter_uri, target_uris, resolved_at) VALUES "
            "('http://far.example/flags/1', 'http://far.example/actor', '{}', NULL), "
            "('http://far.example/flags/2', 'http://far.example/actor', '{}', now())"
        )
        await conn.execute(
            "INSERT INTO inbox_items (activity_id, actor_uri, activity) VALUES "
            "('http://far.example/a/1', 'http://far.example/u', '{}')"
        )
    await add_deliveries(pool, "far.example", [("pending", 0), ("pending", 2), ("failed", 9)])
    await fail_host(pool, "far.example", parked=True)

    # When a moderator opens the dashboard
    page = await (await mo.get("/admin")).text()

    # Then it shows what is so
    assert [cell(page, name) for name in ("residents", "active-month", "open-reports")] == [
        "3", "2", "1"
    ]  # fmt: skip
    assert [cell(page, f"listings-{state}") for state in ("open", "reserved", "total")] == [
        "2", "1", "3"
    ]  # fmt: skip
    assert row_of(page, "queue-deliveries")[1:4] == ["2", "1", "1"]
    assert row_of(page, "queue-inbox")[1:4] == ["1", "0", "0"]
    assert "1 server did not take their last deliveries" in page
    assert "<td><code>far.example</code></td>" in page and "HTTP 502" in page
    # and it is where the header's Admin link and the admin menu's first line lead
    assert '<a href="/admin">Admin</a>' in page
    assert '<li><a href="/admin" aria-current="page">Dashboard</a></li>' in page


async def test_dashboard__an_empty_node(ada):
    page = await (await ada.get("/admin")).text()

    assert cell(page, "residents") == "1" and cell(page, "listings-total") == "0"
    assert "None: every server took its last delivery." in page


# --- federation, per host ------------------------------------------------------------------


async def test_federation_page__each_host_with_follows_deliveries_and_health(ada, pool):
    # Given a host that follows the Group and is followed by a resident, with deliveries
    # waiting and failing; and one that only follows
    group, rex = "http://localhost/users/neighbourhood", "http://localhost/users/ada"
    await add_follows(pool, [
        ("http://far.example/users/bo", group, "accepted"),
        ("http://far.example/users/cy", rex, "accepted"),
        (rex, "http://far.example/users/bo", "accepted"),
        (group, "http://far.example/users/neighbourhood", "pending"),
        ("http://near.example/users/di", group, "accepted"),
    ])  # fmt: skip
    await add_deliveries(pool, "far.example", [("pending", 1), ("pending", 0), ("failed", 5)])
    await fail_host(pool, "far.example", parked=True)

    page = await (await ada.get("/admin/federation")).text()

    far = row_of(page, "host-far.example")
    assert far[:4] == ["far.example", "2", "1 (1 pending)", "2 (1 given up)"]
    assert far[5] == "HTTP 502 (3 in a row)" and far[6].startswith("parked until ")
    assert far[7] == "Retry now"
    near = row_of(page, "host-near.example")
    assert near == ["near.example", "1", "0", "0", "never", "", "no", ""]
    assert 'id="host-localhost"' not in page


async def test_retry_now__unparks_the_host_and_makes_its_deliveries_due(ada, pool):
    await add_deliveries(pool, "far.example", [("pending", 3), ("pending", 1), ("failed", 9)])
    await fail_host(pool, "far.example", parked=True)

    response = await post_form(ada, "/admin/federation/retry", {"host": "far.example"},
                               form_path="/admin/federation")  # fmt: skip

    assert response.status == 200
    assert "far.example: unparked, and its waiting deliveries go now." in await response.text()
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT parked_until FROM hosts") is None
        due = await conn.fetch("SELECT state, next_try_at <= now() AS due FROM deliveries "
                               "ORDER BY id")  # fmt: skip
        log = await conn.fetchrow("SELECT * FROM moderation_log WHERE action = 'retry_host'")
    assert [tuple(row) for row in due] == [("pending", True), ("pending", True),
                                           ("failed", False)]  # fmt: skip
    assert (log["target_kind"], log["target"], log["moderator_name"]) == (
        "domain", "far.example", "ada"
    )  # fmt: skip
    assert log["details"] == '{"deliveries": 2}'


async def test_retry_now__an_unknown_host_is_404_and_changes_nothing(ada, pool):
    await add_deliveries(pool, "far.example", [("pending", 3)])
    await fail_host(pool, "far.example", parked=True)

    for host in ("nowhere.example", ""):
        response = await post_form(ada, "/admin/federation/retry", {"host": host},
                                   form_path="/admin/federation")  # fmt: skip
        assert response.status == 404
        assert "no follows or deliveries with" in await response.text()

    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT parked_until IS NOT NULL FROM hosts")
        assert await conn.fetchval("SELECT next_try_at > now() FROM deliveries")
        assert await conn.fetchval("SELECT count(*) FROM moderation_log "
                                   "WHERE target_kind = 'domain'") == 0  # fmt: skip


async def test_retry_now__a_moderator_is_refused_and_nothing_changes(ada, mo, pool):
    await add_deliveries(pool, "far.example", [("pending", 3)])
    await fail_host(pool, "far.example", parked=True)

    response = await post_form(mo, "/admin/federation/retry", {"host": "far.example"},
                               form_path="/admin")  # fmt: skip

    assert response.status == 403
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT parked_until IS NOT NULL FROM hosts")
        assert await conn.fetchval("SELECT next_try_at > now() FROM deliveries")


# --- what the inbox did not handle ---------------------------------------------------------


async def test_unhandled_page__shows_why_and_the_activity_escaped(ada, pool, settings):
    # Given an activity no handler takes, carrying markup, handled by the worker
    activity_id = f"http://far.example/activities/{uuid.uuid4()}"
    activity = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": activity_id,
        "type": "Listen",
        "actor": "http://far.example/users/bo",
        "object": {"id": "http://far.example/tracks/1", "type": "Audio",
                   "name": "<script>alert(1)</script>"},
    }  # fmt: skip
    async with pool.acquire() as conn:
        await inbox_q.insert_item(conn, activity_id, activity["actor"],
                                  orjson.dumps(activity).decode())  # fmt: skip
    async with open_federation(settings, pool) as fed:
        assert await InboxWorker(fed).tick()

    page = await (await ada.get("/admin/federation/unhandled")).text()

    assert "<strong>unhandled</strong>: no handler for (Listen, Audio)" in page
    assert f"<code>{activity_id}</code>" in page
    assert "&#34;name&#34;: &#34;&lt;script&gt;alert(1)&lt;/script&gt;&#34;" in page
    assert "<script>alert" not in page


async def test_unhandled_page__nothing_to_show(ada):
    page = await (await ada.get("/admin/federation/unhandled")).text()

    assert "every activity that came in was handled" in page
