"""A resident's e-mail address and the mail they choose, on a node that mails through a real
SMTP server on loopback: confirming a new account's address (and what waits for it),
changing the address, notification mail by choice, one-click unsubscribe, and the dev
mailbox of a node without SMTP."""

from __future__ import annotations

import re

import pytest

from commonsfed.web.keys import POOL
from tests.builders import DEFAULT_PASSWORD, post_form, post_listing, register
from tests.integration.smtp import LINK_RE, link_in, send_queued
from tests.integration.test_answers import answered, new_listing, reply


async def query(client, sql: str, *args) -> list[tuple]:
    async with client.server.app[POOL].acquire() as conn:
        return [tuple(row) for row in await conn.fetch(sql, *args)]


def path_of(link: str) -> str:
    return "/" + link.split("://", 1)[1].split("/", 1)[1]


async def follow(client, link: str):
    """Open a mailed link and press the button on the page it opens."""
    page = await client.get(path_of(link))
    assert page.status == 200, await page.text()
    return await post_form(client, path_of(link), {})


async def confirmed(make_client, smtp, name: str):
    """A browser of `name`, who joined and followed the confirmation link (whose mail is
    then forgotten, so that each test sees only its own)."""
    client = await make_client(smtp_url=smtp.url())
    assert (await register(client, name)).status == 200
    await send_queued(client)
    assert (await follow(client, link_in(smtp.received[-1], "/email/confirm/"))).status == 200
    smtp.received.clear()
    return client


# --- confirming a new account's address ------------------------------------------------------


async def test_registration__the_address_is_confirmed_by_a_mailed_link_before_publishing(
    mail_node, smtp
):
    # Given alice, who just joined a node that mails through SMTP
    home = await register(mail_node, "alice")
    assert "Confirm your e-mail address: follow the link we sent to" in await home.text()

    # When she tries to publish before confirming, she is refused and nothing is stored
    refused = await post_listing(mail_node, {"title": "Spare ladder"})
    assert refused.status == 403
    assert "Confirm your e-mail address first" in await refused.text()
    assert await query(mail_node, "SELECT count(*) FROM listings") == [(0,)]

    # and when she follows the link the SMTP server received
    await send_queued(mail_node)
    (mail,) = smtp.received
    assert mail.recipients == ["alice@example.org"]
    assert mail.message["Subject"] == "Confirm your e-mail address for Elm Street Commons"
    done = await follow(mail_node, link_in(mail, "/email/confirm/"))

    # Then her address is confirmed and she publishes
    assert "alice@example.org is confirmed as the address of @alice" in await done.text()
    assert (await post_listing(mail_node, {"title": "Spare ladder"})).status == 303
    assert "Confirm your e-mail address" not in await (await mail_node.get("/")).text()


async def test_unconfirmed_resident__may_manage_the_account_and_log_out(mail_node):
    await register(mail_node, "alice")

    notifications = await post_form(mail_node, "/settings/notifications", {"mail": "answer"})
    logout = await post_form(mail_node, "/logout", {}, form_path="/settings")

    assert notifications.status == 200 and logout.status == 200
    assert "@alice" not in await logout.text()


async def test_confirmation__asked_again_the_newer_link_works_and_the_older_does_not(
    mail_node, smtp
):
    await register(mail_node, "alice")
    await send_queued(mail_node)

    again = await post_form(mail_node, "/settings/email/resend", {}, form_path="/settings/email")
    await send_queued(mail_node)

    assert "We sent a new link to alice@example.org." in await again.text()
    first, second = (link_in(mail, "/email/confirm/") for mail in smtp.received)
    stale = await mail_node.get(path_of(first))
    assert stale.status == 410 and "a newer one was sent since" in await stale.text()
    assert (await follow(mail_node, second)).status == 200
    assert await query(mail_node, "SELECT email_confirmed_at IS NOT NULL FROM accounts") == [
        (True,)
    ]


async def test_confirmation__asking_again_and_again_is_throttled(mail_node):
    await register(mail_node, "alice")
    statuses = []
    for _ in range(4):
        last = await post_form(mail_node, "/settings/email/resend", {}, form_path="/settings/email")
        statuses.append(last.status)

    assert statuses == [200, 200, 200, 429]
    assert "Too many confirmation links. Try again in 60 minutes." in await last.text()
    assert await query(mail_node, "SELECT count(*) FROM outgoing_mail") == [(4,)]  # and joining


async def test_confirmation__a_setting_turns_the_requirement_off(make_client, smtp):
    node = await make_client(smtp_url=smtp.url(), confirm_email=False)
    await register(node, "alice")

    assert (await post_listing(node, {"title": "Spare ladder"})).status == 303
    assert await query(node, "SELECT template FROM outgoing_mail") == [("confirm_email",)]


# --- changing the address --------------------------------------------------------------------


async def change(client, email: str, password: str = DEFAULT_PASSWORD):
    return await post_form(client, "/settings/email", {
        "email": email, "current_password": password}, form_path="/settings/email")  # fmt: skip


async def test_change_email__happens_when_the_new_address_confirms_and_the_old_one_is_told(
    make_client, smtp
):
    # Given alice, whose address is confirmed
    alice = await confirmed(make_client, smtp, "alice")

    # When she asks to change it, nothing changes yet: a link goes to the new address
    asked = await change(alice, "alice@new.example")
    assert "We sent a link to alice@new.example." in await asked.text()
    assert await query(alice, "SELECT email FROM accounts") == [("alice@example.org",)]
    await send_queued(alice)
    (to_new,) = smtp.received
    assert to_new.recipients == ["alice@new.example"]

    # and when she follows it, the address is changed and the old one is told
    done = await follow(alice, link_in(to_new, "/email/confirm/"))
    assert "The address of @alice is now alice@new.example." in await done.text()
    assert await query(alice, "SELECT email, email_confirmed_at IS NOT NULL FROM accounts") == [
        ("alice@new.example", True)
    ]
    await send_queued(alice)
    told = smtp.received[-1]
    assert told.recipients == ["alice@example.org"]
    assert "Elm Street Commons is now alice@new.example." in " ".join(told.text.split())
    # with no link that could undo the change: only the node's own address
    links = {link.rstrip(").") for link in re.findall(LINK_RE, told.text + told.html)}
    assert links == {"http://localhost"}


@pytest.mark.parametrize(
    ("email", "password", "field", "message"),
    [
        ("bob@example.org", DEFAULT_PASSWORD, "email", "Another account uses this address."),
        ("not an address", DEFAULT_PASSWORD, "email", "Enter an email address like name@example.org."),
        ("ALICE@example.org", DEFAULT_PASSWORD, "email", "This is your address already."),
        ("alice@new.example", "not my password", "current_password",
         "This is not your current password."),
    ],
)  # fmt: skip
async def test_change_email__bad_input_is_shown_by_its_field_and_changes_nothing(
    make_client, smtp, email, password, field, message
):
    await register(await make_client(smtp_url=smtp.url()), "bob")
    alice = await confirmed(make_client, smtp, "alice")
    before = await query(alice, "SELECT count(*) FROM outgoing_mail")

    response = await change(alice, email, password)

    assert response.status == 422
    assert f'id="e-{field}">{message}</p>' in await response.text()
    assert await query(alice, "SELECT email FROM accounts WHERE username = 'alice'") == [
        ("alice@example.org",)
    ]
    assert await query(alice, "SELECT count(*) FROM outgoing_mail") == before


async def test_change_email__refused_when_another_account_took_the_address_meanwhile(
    make_client, smtp
):
    alice = await confirmed(make_client, smtp, "alice")
    await change(alice, "shared@example.org")
    await send_queued(alice)
    link = link_in(smtp.received[-1], "/email/confirm/")
    await register(await make_client(smtp_url=smtp.url()), "bob", email="shared@example.org")

    response = await post_form(alice, path_of(link), {})

    assert response.status == 409
    assert "Another account uses this address now" in await response.text()
    assert await query(alice, "SELECT email FROM accounts WHERE username = 'alice'") == [
        ("alice@example.org",)
    ]


# --- notification mail -----------------------------------------------------------------------


async def test_notification_mail__an_answer_and_a_message_mail_the_author_as_chosen(
    make_client, smtp
):
    # Given alice's listing, and bob, both confirmed
    alice = await confirmed(make_client, smtp, "alice")
    bob = await confirmed(make_client, smtp, "bob")
    uid = await new_listing(alice, title="Spare ladder")

    # When bob answers it, alice gets a mail about it
    conversation = await answered(bob, uid)
    await send_queued(alice)
    (mail,) = smtp.received
    assert mail.recipients == ["alice@example.org"]
    assert mail.message["Subject"] == "@bob answered “Spare ladder”."
    assert f"http://localhost/conversations/{conversation}" in mail.text

    # and when she chooses no mail about messages, bob's next message mails nobody
    saved = await post_form(alice, "/settings/notifications", {"mail": ["answer", "decision"]})
    assert "Saved." in await saved.text()
    await reply(bob, conversation, "Is Saturday fine?")
    await send_queued(alice)
    assert len(smtp.received) == 1
    assert await query(alice, "SELECT count(*) FROM notifications WHERE kind = 'new_message'") == [
        (1,)
    ]


async def test_unsubscribe__one_click_post_with_no_login_and_no_csrf_token(make_client, smtp):
    # Given a notification mail to alice
    alice = await confirmed(make_client, smtp, "alice")
    bob = await confirmed(make_client, smtp, "bob")
    await answered(bob, await new_listing(alice))
    await send_queued(alice)
    url = smtp.received[-1].message["List-Unsubscribe"].strip("<>")

    # When her mail client posts to its List-Unsubscribe address, as RFC 8058 says, with
    # no cookie and no token
    stranger = await make_client()
    response = await stranger.post(path_of(url), data={"List-Unsubscribe": "One-Click"})

    # Then she gets no more mail about answers, and keeps the rest
    assert response.status == 200
    assert "you get no more mail for" in await response.text()
    assert await query(
        alice, "SELECT mail_notifications FROM accounts WHERE username = 'alice'"
    ) == [(["decision", "message", "mention"],)]


async def test_unsubscribe__the_link_opens_a_page_with_a_button_and_changes_nothing(
    make_client, smtp
):
    alice = await confirmed(make_client, smtp, "alice")
    bob = await confirmed(make_client, smtp, "bob")
    await answered(bob, await new_listing(alice))
    await send_queued(alice)
    url = smtp.received[-1].message["List-Unsubscribe"].strip("<>")

    page = await (await make_client()).get(path_of(url))

    assert page.status == 200 and ">Unsubscribe</button>" in await page.text()
    assert await query(
        alice, "SELECT cardinality(mail_notifications) FROM accounts WHERE username = 'alice'"
    ) == [(4,)]


async def test_unsubscribe__a_token_not_signed_by_the_node_changes_nothing(mail_node):
    # Given alice, and the token the node would sign to stop her mail about answers
    from commonsfed.services import mail

    await register(mail_node, "alice")
    [(alice_id,)] = await query(mail_node, "SELECT id FROM accounts")
    key = await mail.link_key(mail_node.server.app[POOL])
    token = mail.unsubscribe_token(key, alice_id, "answer")
    forged = [
        token.replace(".answer.", ".message."),  # another kind, the same signature
        f"{alice_id + 1}{token[len(str(alice_id)) :]}",  # another account
        token[:-2] + ("AA" if not token.endswith("AA") else "BB"),  # another signature
        mail.unsubscribe_token(b"k" * 32, alice_id, "answer"),  # signed with another key
        "nonsense",
    ]

    # When each forged token is posted as a mail client would
    statuses = []
    for bad in forged:
        response = await mail_node.post(
            f"/mail/unsubscribe/{bad}", data={"List-Unsubscribe": "One-Click"}
        )
        statuses.append(response.status)

    # Then each is refused, and alice's choices stay; the real one works
    assert statuses == [404] * len(forged)
    assert await query(mail_node, "SELECT cardinality(mail_notifications) FROM accounts") == [(4,)]
    assert (await mail_node.post(f"/mail/unsubscribe/{token}")).status == 200
    assert await query(mail_node, "SELECT cardinality(mail_notifications) FROM accounts") == [(3,)]


async def test_notification_choices__an_unknown_choice_is_refused(make_client):
    alice = await make_client()
    await register(alice, "alice")

    response = await post_form(alice, "/settings/notifications", {"mail": ["answer", "spam"]})

    assert response.status == 400 and "Choose among answer, decision, message, mention, match." in (
        await response.text()
    )
    assert await query(alice, "SELECT cardinality(mail_notifications) FROM accounts") == [(4,)]


# --- the dev mailbox -------------------------------------------------------------------------


async def test_dev_mailbox__lists_the_mail_of_a_dev_node_without_smtp(client):
    # Given a dev node without SMTP, where alice joined
    await register(client, "alice")
    await send_queued(client)

    # When the mailbox is opened, and its one mail
    listing = await (await client.get("/dev/mail")).text()
    name = re.search(r'href="/dev/mail/([^"]+)"', listing).group(1)
    shown = await (await client.get(f"/dev/mail/{name}")).text()

    # Then it shows the confirmation mail, its link ready to follow
    assert "Confirm your e-mail address for Elm Street Commons" in listing
    assert re.search(r'<a href="http://localhost/email/confirm/[A-Za-z0-9_-]+"', shown)


@pytest.mark.parametrize("changes", [{"dev": False}, {"smtp_url": "smtp://127.0.0.1:25"}])
async def test_dev_mailbox__is_404_outside_a_dev_node_without_smtp(make_client, changes):
    node = await make_client(**changes)

    assert (await node.get("/dev/mail")).status == 404
    assert (await node.get("/dev/mail/20300101-000000-1.eml")).status == 404
