"""Forgot password, end to end on a node that mails through a real SMTP server on loopback:
the link arrives, works once and only within the hour, ends every session; the answers never
tell which addresses have accounts; guessing and asking too often are throttled with a
message that says when to try again."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from commonsfed.web.keys import POOL
from tests.builders import DEFAULT_PASSWORD, csrf_from, log_in, post_form, register
from tests.integration.smtp import link_in, send_queued

NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture
async def alice(mail_node):
    """alice's browser, logged in: she registered on the node with alice@example.org."""
    assert (await register(mail_node, "alice")).status == 200
    return mail_node


async def query(client, sql: str, *args) -> list[tuple]:
    async with client.server.app[POOL].acquire() as conn:
        return [tuple(row) for row in await conn.fetch(sql, *args)]


async def forgot(client, email: str = "alice@example.org"):
    return await post_form(client, "/password/forgot", {"email": email})


async def reset_link(client, smtp) -> str:
    """Ask for a link for alice, let the worker send it, and read it from the SMTP server."""
    assert (await forgot(client)).status == 200
    await send_queued(client)
    return link_in(smtp.received[-1], "/password/reset/")


def path_of(link: str) -> str:
    return "/" + link.split("://", 1)[1].split("/", 1)[1]


async def set_password(client, link: str, new: str = NEW_PASSWORD, repeated: str | None = None):
    return await post_form(client, path_of(link), {
        "new_password": new, "repeated_password": new if repeated is None else repeated,
    })  # fmt: skip


async def logged_in(client) -> bool:
    return "@alice" in await (await client.get("/")).text()


# --- the link ------------------------------------------------------------------------------


async def test_forgot_password__the_mailed_link_sets_a_new_password_once(alice, make_client, smtp):
    # Given alice, who forgot her password, on a browser of her own
    browser = await make_client(smtp_url=smtp.url())

    # When she asks for a link and follows the one the SMTP server received
    link = await reset_link(browser, smtp)
    mail = smtp.received[-1]
    form = await browser.get(path_of(link))
    response = await set_password(browser, link)

    # Then the mail was hers, the new password logs in and the old one does not
    assert mail.recipients == ["alice@example.org"]
    assert mail.message["Subject"] == "Set a new password on Elm Street Commons"
    assert link in mail.html  # the HTML part has the same link
    assert form.status == 200 and "Choose a new password" in await form.text()
    assert response.status == 200
    assert "Your new password is set" in await response.text()
    assert (await log_in(browser, "alice", DEFAULT_PASSWORD)).status == 401
    assert (await log_in(browser, "alice", NEW_PASSWORD)).status == 200

    # and the link is used up
    again = await set_password(browser, link, "yet another passphrase")
    assert again.status == 410 and "expired or was used already" in await again.text()
    assert (await browser.get(path_of(link))).status == 410
    assert (await log_in(browser, "alice", NEW_PASSWORD)).status == 200


async def test_reset_link__works_within_the_hour_and_not_after(alice, smtp):
    link = await reset_link(alice, smtp)
    path = path_of(link)
    assert await query(
        alice, "SELECT expires_at - created_at FROM account_tokens WHERE purpose = 'reset_password'"
    ) == [(timedelta(hours=1),)]

    # 59 minutes later it still opens; an hour later it does not, and changes nothing
    await query(alice, "UPDATE account_tokens SET expires_at = expires_at - interval '59 minutes'")
    assert (await alice.get(path)).status == 200
    await query(alice, "UPDATE account_tokens SET expires_at = expires_at - interval '1 minute'")
    response = await set_password(alice, link)

    assert response.status == 410 and "expired" in await response.text()
    assert (await log_in(alice, "alice", DEFAULT_PASSWORD)).status == 200


async def test_reset__ends_every_session_of_the_account(alice, make_client, smtp):
    # Given alice logged in on two devices
    phone = await make_client(smtp_url=smtp.url())
    assert (await log_in(phone, "alice")).status == 200

    # When a new password is set through the link (from a third browser)
    browser = await make_client(smtp_url=smtp.url())
    await set_password(browser, await reset_link(browser, smtp))

    # Then both devices are logged out
    assert not await logged_in(alice) and not await logged_in(phone)
    assert await query(alice, "SELECT count(*) FROM account_sessions") == [(0,)]


async def test_reset_link__void_after_the_password_is_changed_another_way(alice, smtp):
    link = await reset_link(alice, smtp)
    changed = await post_form(alice, "/settings/account/password", {
        "current_password": DEFAULT_PASSWORD, "new_password": "changed in settings",
        "repeated_password": "changed in settings",
    }, form_path="/settings/account")  # fmt: skip
    assert changed.status == 200

    response = await set_password(alice, link)

    assert response.status == 410
    assert (await log_in(alice, "alice", "changed in settings")).status == 200


async def test_reset_form__a_bad_password_is_shown_by_its_field_and_the_link_still_works(
    alice, smtp
):
    link = await reset_link(alice, smtp)

    short = await set_password(alice, link, "short")
    differ = await set_password(alice, link, NEW_PASSWORD, "another passphrase")

    assert short.status == 422 and 'id="e-new_password">Use at least 10 characters.' in (
        await short.text()
    )
    assert differ.status == 422 and "The two new passwords differ." in await differ.text()
    assert (await set_password(alice, link)).status == 200


@pytest.mark.parametrize("token", ["nonsense", "x" * 43, "a" * 500])
async def test_reset_link__a_made_up_one_is_refused(mail_node, token):
    response = await mail_node.get(f"/password/reset/{token}")

    assert response.status == 410 and "expired or was used already" in await response.text()


# --- the same answer for every address -----------------------------------------------------


async def test_forgot_password__answers_the_same_whether_the_address_has_an_account(
    alice, make_client, smtp
):
    stranger = await make_client(smtp_url=smtp.url())

    known = await forgot(stranger, "alice@example.org")
    unknown = await forgot(stranger, "nobody@example.org")

    def page(text: str, email: str) -> str:
        return re.sub(r'value="[^"]*"', "", text.replace(email, "EMAIL"))

    assert known.status == unknown.status == 200
    assert "If an account here uses alice@example.org, a link" in await known.text()
    assert page(await known.text(), "alice@example.org") == page(
        await unknown.text(), "nobody@example.org"
    )
    await send_queued(stranger)
    assert [m.recipients for m in smtp.received if "/password/reset/" in m.text] == [
        ["alice@example.org"]
    ]


async def test_forgot_password__not_an_address_is_shown_by_its_field(mail_node):
    response = await forgot(mail_node, "not an address")

    assert response.status == 422
    assert 'id="e-email">Enter an email address like name@example.org.' in await response.text()


async def test_forgot_password__a_node_that_sends_no_mail_says_so(make_client):
    public = await make_client(dev=False)

    page = await (await public.get("/password/forgot")).text()

    assert "This node sends no e-mail, so it cannot send you a link." in page
    assert 'action="/password/forgot"' not in page


# --- throttles -----------------------------------------------------------------------------


async def test_forgot_password__100_requests_in_a_row_send_three_links_and_say_when(
    alice, make_client, smtp
):
    # Given a script that asks for alice's link 100 times in a row
    script = await make_client(smtp_url=smtp.url())
    token = csrf_from(await (await script.get("/password/forgot")).text())
    statuses = []
    for _ in range(100):
        response = await script.post("/password/forgot", data={
            "csrf_token": token, "email": "alice@example.org"})  # fmt: skip
        statuses.append(response.status)

    # Then three went through, the rest were told when to try again, and three mails went
    assert statuses == [200] * 3 + [429] * 97
    text = await response.text()
    assert 'id="e-email">Too many requests for a reset link. Try again in 60 minutes.' in text
    assert 3500 < int(response.headers["Retry-After"]) <= 3600
    assert await query(
        alice, "SELECT count(*) FROM outgoing_mail WHERE template = 'password_reset'"
    ) == [(3,)]
    assert await query(
        alice, "SELECT count(*) FROM account_tokens WHERE purpose = 'reset_password'"
    ) == [(1,)]


async def test_forgot_password__throttled_per_client_address_across_addresses(mail_node):
    for number in range(10):
        assert (await forgot(mail_node, f"someone{number}@example.org")).status == 200

    response = await forgot(mail_node, "anyone@example.org")

    assert response.status == 429 and "Try again in 60 minutes." in await response.text()


async def test_login_throttle__says_when_from_the_failures_that_fill_it(alice, make_client):
    # Given five failed logins for alice: the oldest 14 minutes ago, four a minute ago
    browser = await make_client()
    for _ in range(5):
        assert (await log_in(browser, "alice", "wrong password!")).status == 401
    await query(alice, "UPDATE login_failures SET failed_at = now() - interval '1 minute'")
    await query(
        alice,
        "UPDATE login_failures SET failed_at = now() - interval '14 minutes' "
        "WHERE id = (SELECT min(id) FROM login_failures)",
    )

    # When she tries again, she is told to wait for the oldest to leave the 15 minutes
    response = await log_in(browser, "alice")

    assert response.status == 429
    assert "Too many failed logins. Try again in a minute." in await response.text()
    assert 0 < int(response.headers["Retry-After"]) <= 60

    # and when it has, she is in
    await query(
        alice,
        "UPDATE login_failures SET failed_at = now() - interval '16 minutes' "
        "WHERE id = (SELECT min(id) FROM login_failures)",
    )
    assert (await log_in(browser, "alice")).status == 200
