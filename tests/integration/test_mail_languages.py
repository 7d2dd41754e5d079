"""Mail in the recipient's language: the language a resident chose (accounts.language, the
footer's switch), else the node's (Settings.language). Sent by the real mail worker to a real
SMTP server on loopback (tests/integration/smtp.py); subject, text and HTML parts alike."""

from __future__ import annotations

import pytest

from commonsfed.db import accounts as accounts_q
from commonsfed.db import mail as mail_q
from commonsfed.services import accounts, mail
from commonsfed.web.keys import POOL, SETTINGS
from tests.builders import DEFAULT_PASSWORD
from tests.integration.smtp import mail_worker

ABOUT = {"listing_title": "A bag of apples", "other_side": "@bob", "path": "/conversations/1"}

# what each mail says, in each language: (subject, a line of the text part, of the HTML part)
NOTIFICATION = {
    "en": ("@bob answered “A bag of apples”.", "See it on Elm Street Commons:",
           "No more of these"),
    "fr": ("@bob a répondu à « A bag of apples ».", "Voir sur Elm Street Commons :",
           "Ne plus en recevoir"),
}  # fmt: skip
RESET = {
    "en": ("Set a new password on Elm Street Commons", "Someone, probably you, asked",
           "Choose a new password"),
    "fr": ("Définir un nouveau mot de passe sur Elm Street Commons",
           "Quelqu’un, sans doute vous, a demandé", "Choisissez un nouveau mot de passe"),
}  # fmt: skip


async def resident(app, language: str | None):
    """alice, made by an admin (her address counts as confirmed), who chose `language`."""
    alice = await accounts.register(
        app[POOL], app[SETTINGS], username="alice", email="alice@example.org",
        password=DEFAULT_PASSWORD, by_admin=True,
    )  # fmt: skip
    async with app[POOL].acquire() as conn:
        await accounts_q.set_language(conn, alice.id, language)
    return alice


def assert_in_language(received, expected: tuple[str, str, str], language: str) -> None:
    subject, text_line, html_line = expected
    assert received.message["Subject"] == subject
    assert text_line in received.text
    assert html_line in received.html and f'<html lang="{language}">' in received.html


@pytest.mark.parametrize(
    ("chosen", "node_language", "expected"),
    [
        ("fr", "en", "fr"),  # her choice wins over the node's
        ("en", "fr", "en"),
        (None, "en", "en"),  # no choice: the node's language
        (None, "fr", "fr"),
    ],
)
async def test_mail__goes_out_in_the_recipients_language(
    make_client, smtp, chosen, node_language, expected
):
    # Given alice, who chose `chosen` (or nothing), on a node whose language is `node_language`
    client = await make_client(smtp_url=smtp.url(), language=node_language)
    app = client.server.app
    alice = await resident(app, chosen)

    # When she gets a notification mail and asks for a new password
    async with app[POOL].acquire() as conn:
        assert await mail_q.queue_notification_mail(conn, alice.id, "new_answer", ABOUT)
        await mail.queue_reset(conn, app[SETTINGS], alice)
    worker = mail_worker(app)
    while await worker.tick():
        pass

    # Then both mails are in her language: subject, text part and HTML part
    (reset,) = [r for r in smtp.received if "/password/reset/" in r.text]
    (notification,) = [r for r in smtp.received if r is not reset]
    assert_in_language(notification, NOTIFICATION[expected], expected)
    assert_in_language(reset, RESET[expected], expected)


async def test_notification_mail__says_every_kind_in_french(make_client, smtp):
    # Given alice, who reads French, and a notification of each kind her mail can be about
    client = await make_client(smtp_url=smtp.url())
    app = client.server.app
    alice = await resident(app, "fr")
    kinds = {
        "new_answer": "@bob a répondu à « A bag of apples ».",
        "reserved_for_you": "@bob vous a réservé « A bag of apples ».",
        "declined": "@bob a décliné votre réponse à « A bag of apples ».",
        "mention": "@bob vous a mentionné.",
    }

    # When the worker sends them
    async with app[POOL].acquire() as conn:
        for kind in kinds:
            assert await mail_q.queue_notification_mail(conn, alice.id, kind, ABOUT)
    worker = mail_worker(app)
    while await worker.tick():
        pass

    # Then each says what happened in French, and its footer names her choice in French
    subjects = {received.message["Subject"]: received for received in smtp.received}
    assert sorted(subjects) == sorted(kinds.values())
    assert all("Vous recevez ce courriel parce que" in r.text for r in smtp.received)
    mention = subjects["@bob vous a mentionné."]
    assert "pour les mentions en tant que @alice" in " ".join(mention.text.split())
