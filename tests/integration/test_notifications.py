"""Notifications on a real PostgreSQL: the unread count, the page that marks them read, and the
near-expiry job (once per listing)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from commonsfed.services import notifications
from tests.builders import post_form
from tests.integration import test_answers as answers_tests
from tests.integration.test_answers import answered, new_listing, notified, reply

# the same residents as the answers tests: alice posts, bob answers
resident = answers_tests.resident
pool = answers_tests.pool


async def nav(client) -> str:
    html = await (await client.get("/my/listings")).text()
    return html[html.index('href="/notifications"') :].split("</a>", 1)[0]


async def account_of(pool, username: str):
    from commonsfed.db.accounts import get_account

    async with pool.acquire() as conn:
        account_id = await conn.fetchval("SELECT id FROM accounts WHERE username = $1", username)
        return await get_account(conn, account_id)


async def test_navigation__shows_the_unread_count(pool, alice, bob):
    uid = await new_listing(alice)
    assert await nav(alice) == 'href="/notifications">Notifications'

    await answered(bob, uid)

    assert await nav(alice) == 'href="/notifications">Notifications (1)'


async def test_notifications_page__lists_them_newest_first_and_marks_them_read(pool, alice, bob):
    uid = await new_listing(alice, title="Plum jam")
    bobs = await answered(bob, uid)
    await reply(bob, bobs, "Also: do you have a spare jar?")

    html = await (await alice.get("/notifications")).text()
    again = await (await alice.get("/notifications")).text()

    assert html.index("@bob wrote about “Plum jam”") < html.index("@bob answered “Plum jam”")
    assert html.count('class="notification unread"') == 2
    assert f'href="/conversations/{bobs}"' in html
    assert again.count('class="notification unread"') == 0
    assert await nav(alice) == 'href="/notifications">Notifications'
    assert await notifications.count_unread(pool, await account_of(pool, "alice")) == 0


async def test_opening_a_conversation__marks_its_notifications_read(pool, alice, bob):
    uid = await new_listing(alice)
    bobs = await answered(bob, uid)
    other = await answered(bob, await new_listing(alice, title="Pears"))
    assert other != bobs

    await alice.get(f"/conversations/{bobs}")

    assert await notifications.count_unread(pool, await account_of(pool, "alice")) == 1


async def test_notifications__each_event_tells_the_right_person(pool, alice, bob, resident):
    carol = await resident("carol")
    uid = await new_listing(alice)
    bobs, carols = await answered(bob, uid), await answered(carol, uid)
    for action in ("reserve", "release"):
        await post_form(
            alice, f"/conversations/{bobs}/{action}", {}, form_path=f"/conversations/{bobs}"
        )
    await reply(alice, carols, "Your turn!")

    assert await notified(pool, "alice") == ["new_answer", "new_answer"]
    assert await notified(pool, "bob") == ["reserved_for_you", "reservation_released"]
    assert await notified(pool, "carol") == ["offered_to_you", "new_message"]


# --- near expiry ---------------------------------------------------------------------------


async def test_notify_near_expiry__tells_the_author_once(pool, alice):
    tomorrow = (datetime.now(UTC).date() + timedelta(days=1)).isoformat()
    soon = await new_listing(alice, title="Bread", expires_on=tomorrow)
    await new_listing(alice, title="Later")  # 30 days by default
    await new_listing(alice, title="Shelf", no_expiry="on")
    withdrawn = await new_listing(alice, title="Gone", expires_on=tomorrow)
    await post_form(
        alice,
        f"/listings/{withdrawn}/state",
        {"state": "withdrawn"},
        form_path=f"/listings/{withdrawn}",
    )
    now = datetime.now(UTC)

    first = await notifications.notify_near_expiry(pool, now)
    second = await notifications.notify_near_expiry(pool, now + timedelta(hours=1))

    assert (first, second) == (1, 0)
    assert await notified(pool, "alice") == ["near_expiry"]
    html = await (await alice.get("/notifications")).text()
    assert "Your listing “Bread” expires within two days." in html
    assert f'href="/listings/{soon}"' in html


async def test_notify_near_expiry__not_before_two_days_and_not_after_expiry(pool, alice):
    in_five_days = (datetime.now(UTC).date() + timedelta(days=5)).isoformat()
    await new_listing(alice, expires_on=in_five_days)
    now = datetime.now(UTC)

    early = await notifications.notify_near_expiry(pool, now)
    late = await notifications.notify_near_expiry(pool, now + timedelta(days=7))
    in_time = await notifications.notify_near_expiry(pool, now + timedelta(days=4))

    assert (early, late, in_time) == (0, 0, 1)
