"""A resident's settings: the hub, changing the password, and where they are logged in.

Each browser is a client of its own (its own cookies) on the same node, so "another
device" is another client, as it would be."""

from __future__ import annotations

import pytest

from commonsfed.services.sessions import describe_device
from tests.builders import DEFAULT_PASSWORD, log_in, post_form, register

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
PHONE = ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
         "Chrome/126.0.0.0 Mobile Safari/537.36")  # fmt: skip
NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture
async def browsers(make_client):
    """browsers(n, user_agents) -> n clients logged in as alice, each a device of its own."""

    async def make(count: int, agents: tuple[str, ...] = ()):
        clients = [await make_client() for _ in range(count)]
        for client, agent in zip(clients, agents or ("pytest",) * count, strict=True):
            client.session.headers["User-Agent"] = agent
        await register(clients[0], "alice")  # which logs her in there
        for client in clients[1:]:
            await log_in(client, "alice")
        return clients

    return make


async def logged_in(client) -> bool:
    return "@alice" in await (await client.get("/")).text()


async def change_password(client, current: str, new: str = NEW_PASSWORD, repeated: str | None = None):
    return await post_form(client, "/settings/account/password", {
        "current_password": current, "new_password": new,
        "repeated_password": new if repeated is None else repeated,
    }, form_path="/settings/account")  # fmt: skip


# --- the hub --------------------------------------------------------------------------------


async def test_settings__anonymous_visitor_is_sent_to_log_in(client):
    response = await client.get("/settings/sessions", allow_redirects=False)

    assert response.status == 303
    assert response.headers["Location"] == "/login?next=/settings/sessions"


async def test_settings__hub_lists_each_section(browsers):
    (alice,) = await browsers(1)

    page = await (await alice.get("/settings")).text()

    assert 'href="/settings/account"' in page and 'href="/settings/sessions"' in page
    assert 'href="/settings"' in await (await alice.get("/")).text()  # in the navigation


# --- the password ---------------------------------------------------------------------------


async def test_change_password__logs_out_every_other_device_and_the_new_one_works(browsers):
    # Given alice logged in on a laptop and a phone
    laptop, phone = await browsers(2, (FIREFOX, PHONE))

    # When she changes her password on the laptop
    response = await change_password(laptop, DEFAULT_PASSWORD)

    # Then the laptop stays in, the phone is out, and only the new password logs in
    assert response.status == 200
    assert "Your password is changed. You were logged out on 1 other device." in (
        await response.text())
    assert await logged_in(laptop) and not await logged_in(phone)
    assert (await log_in(phone, "alice", DEFAULT_PASSWORD)).status == 401
    assert (await log_in(phone, "alice", NEW_PASSWORD)).status == 200


@pytest.mark.parametrize(
    ("current", "new", "repeated", "field", "message"),
    [
        ("not my password", NEW_PASSWORD, None, "current_password",
         "This is not your current password."),
        (DEFAULT_PASSWORD, "short", None, "new_password", "Use at least 10 characters."),
        (DEFAULT_PASSWORD, NEW_PASSWORD, "another passphrase", "repeated_password",
         "The two new passwords differ."),
    ],
)  # fmt: skip
async def test_change_password__bad_input_is_shown_by_its_field_and_changes_nothing(
    browsers, current, new, repeated, field, message
):
    laptop, phone = await browsers(2)

    response = await change_password(laptop, current, new, repeated)

    page = await response.text()
    assert response.status == 422
    assert f'id="e-{field}">{message}</p>' in page
    assert await logged_in(phone)  # no one was logged out
    assert (await log_in(phone, "alice", DEFAULT_PASSWORD)).status == 200


async def test_change_password__too_many_wrong_current_passwords_wait(browsers, settings):
    (alice,) = await browsers(1)
    before = await _query(settings, "SELECT password_hash FROM accounts")
    for _ in range(5):
        assert (await change_password(alice, "a wrong guess!")).status == 422

    response = await change_password(alice, DEFAULT_PASSWORD)

    assert response.status == 429
    assert "Too many wrong passwords. Try again in 15 minutes." in await response.text()
    assert await _query(settings, "SELECT password_hash FROM accounts") == before


# --- sessions -------------------------------------------------------------------------------


async def test_sessions__each_device_is_listed_and_one_can_be_logged_out(browsers):
    # Given alice on a laptop and a phone
    laptop, phone = await browsers(2, (FIREFOX, PHONE))
    page = await (await laptop.get("/settings/sessions")).text()
    assert "Firefox on Linux <strong>(this device)</strong>" in page
    assert "Chrome on Android" in page

    # When she logs the phone out from the laptop
    phone_id = page.split('name="session" value="')[1].split('"')[0]
    response = await post_form(laptop, "/settings/sessions/end", {"session": phone_id},
                               form_path="/settings/sessions")

    # Then the phone is out at its next request, and only the laptop is listed
    assert response.status == 200 and "That session has ended." in await response.text()
    assert not await logged_in(phone) and await logged_in(laptop)
    assert "Chrome on Android" not in await (await laptop.get("/settings/sessions")).text()


async def test_sessions__log_out_everywhere_else(browsers):
    laptop, phone, tablet = await browsers(3)

    response = await post_form(laptop, "/settings/sessions/end-others", {},
                               form_path="/settings/sessions")

    assert "You were logged out on 2 other devices." in await response.text()
    assert await logged_in(laptop)
    assert not await logged_in(phone) and not await logged_in(tablet)


@pytest.mark.parametrize("value", ["", "abc", "-1", "9" * 19])
async def test_sessions__a_bad_session_value_is_400(browsers, value):
    laptop, phone = await browsers(2)

    response = await post_form(laptop, "/settings/sessions/end", {"session": value},
                               form_path="/settings/sessions")

    assert response.status == 400
    assert "Choose one of your other sessions to end." in await response.text()
    assert await logged_in(phone)


async def test_sessions__another_residents_session_cannot_be_ended(browsers, make_client, settings):
    # Given alice logged in, and bob, who knows the id of her session
    (alice,) = await browsers(1)
    bob = await make_client()
    await register(bob, "bob")
    rows = await _query(settings, "SELECT s.id FROM account_sessions s JOIN accounts a "
                                  "ON a.id = s.account_id WHERE a.username = 'alice'")

    response = await post_form(bob, "/settings/sessions/end", {"session": str(rows[0]["id"])},
                               form_path="/settings/sessions")

    assert response.status == 400 and "has ended already" in await response.text()
    assert await logged_in(alice)


async def test_log_out__ends_the_session_in_the_database(browsers, settings):
    laptop, phone = await browsers(2)

    await post_form(laptop, "/logout", {}, form_path="/settings")

    assert len(await _query(settings, "SELECT id FROM account_sessions")) == 1
    assert await logged_in(phone)


async def test_session__unused_for_a_month_is_over(browsers, settings):
    (alice,) = await browsers(1)
    await _query(settings, "UPDATE account_sessions SET last_seen_at = now() - interval '31 days'")

    assert not await logged_in(alice)


async def test_session__last_seen_moves_on_use_but_not_on_every_request(browsers, settings):
    (alice,) = await browsers(1)
    await _query(settings, "UPDATE account_sessions SET last_seen_at = now() - interval '1 hour'")

    await alice.get("/")
    first = (await _query(settings, "SELECT last_seen_at FROM account_sessions"))[0][0]
    await alice.get("/")
    second = (await _query(settings, "SELECT last_seen_at FROM account_sessions"))[0][0]

    assert first == second and (await _query(settings, "SELECT now() - $1::timestamptz < "
                                                       "interval '1 minute'", first))[0][0]


async def _query(settings, sql: str, *args):
    from commonsfed.db.pool import connect

    conn = await connect(settings.database_url)
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


# --- devices as people name them ------------------------------------------------------------


@pytest.mark.parametrize(
    ("user_agent", "named"),
    [
        (FIREFOX, "Firefox on Linux"),
        (PHONE, "Chrome on Android"),
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
         "Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0", "Edge on Windows"),
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
         "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1", "Safari on iPhone"),
        ("Tusky/25.2 Android/14", "Android"),
        ("toot/0.45.0", "toot"),
        ("", "an unknown device"),
    ],
)  # fmt: skip
def test_describe_device__names_browser_and_system(user_agent, named):
    assert describe_device(user_agent) == named


async def test_session__its_use_moves_the_accounts_last_use_which_nodeinfo_counts(
    browsers, settings, make_client
):
    # Given alice, who logged in long ago and has used her session since, an hour ago
    (alice,) = await browsers(1)
    await _query(settings, "UPDATE accounts SET last_seen_at = now() - interval '200 days'")
    await _query(settings, "UPDATE account_sessions SET last_seen_at = now() - interval '1 hour'")
    visitor = await make_client()
    info = await (await visitor.get("/nodeinfo/2.1")).json()
    assert info["usage"]["users"] == {"total": 1, "activeMonth": 0, "activeHalfyear": 0}

    # When she comes back, the node counts her as active this month and this half year
    await alice.get("/")
    info = await (await visitor.get("/nodeinfo/2.1")).json()

    assert info["usage"]["users"] == {"total": 1, "activeMonth": 1, "activeHalfyear": 1}


@pytest.mark.parametrize(
    ("path", "form", "page", "said"),
    [
        ("/settings/notifications", {"mail": "answer"}, "/settings/notifications",
         "Saved. You get mail about what you ticked."),
        ("/settings/sessions/end-others", {}, "/settings/sessions", "There were no others."),
        ("/settings/blocks/domains", {"domain": "spam.example"}, "/settings/blocks",
         "You no longer see people or listings from spam.example."),
    ],
)  # fmt: skip
async def test_settings__a_saved_form_redirects_and_says_so_once(browsers, path, form, page, said):
    # When alice sends a settings form
    [alice] = await browsers(1)
    response = await post_form(alice, path, form, form_path=page, allow_redirects=False)

    # Then the browser goes to the page (a reload there sends nothing again), which says so
    # once
    assert response.status == 303 and response.headers["Location"] == page
    assert said in await (await alice.get(page)).text()
    assert said not in await (await alice.get(page)).text()
