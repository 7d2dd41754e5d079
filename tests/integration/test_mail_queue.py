"""The outgoing mail queue on a real PostgreSQL, sent to a real SMTP server on loopback
(aiosmtpd, tests/integration/smtp.py): what goes out, what waits through an outage, what is
given up, and that a mail goes once however workers come and go.

Workers are stepped with `tick()`, `fetch_next()`, `process_one()` and `heartbeat()`; time
passes by moving `next_try_at` and `locked_until` back, as waiting would.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from datetime import UTC, datetime, timedelta

import pytest

from commonsfed.cli import main
from commonsfed.db import mail as mail_q
from commonsfed.db.pool import connect
from commonsfed.services import accounts
from commonsfed.services.jobs import prune_queues, prune_throttles
from commonsfed.services.mail_sending import mail_workers
from commonsfed.services.mail_transport import MailboxTransport, log_mail_setup
from commonsfed.web.keys import POOL, SETTINGS
from tests.builders import DEFAULT_PASSWORD, run_sync
from tests.integration.smtp import SmtpServer, free_port, localhost_certificate, mail_worker
from tests.integration.test_delivery_claims import until
from tests.integration.test_migrations import cli_env

ABOUT = {"listing_title": "A bag of apples", "other_side": "@bob", "path": "/conversations/1"}


@pytest.fixture
def app(mail_node):
    return mail_node.server.app


async def resident(app, name: str = "alice"):
    """An account an admin made: its address counts as confirmed."""
    return await accounts.register(
        app[POOL], app[SETTINGS], username=name, email=f"{name}@example.org",
        password=DEFAULT_PASSWORD, by_admin=True,
    )  # fmt: skip


async def queue(app, recipient: str = "ann@example.org", **fields) -> int:
    async with app[POOL].acquire() as conn:
        return await mail_q.queue_mail(
            conn, recipient=recipient, template="email_changed",
            context={"username": "ann", "new_email": "new@example.org"}, **fields,
        )  # fmt: skip


async def rows(app, columns: str = "state, attempts") -> list[tuple]:
    async with app[POOL].acquire() as conn:
        return [
            tuple(r) for r in await conn.fetch(f"SELECT {columns} FROM outgoing_mail ORDER BY id")
        ]


async def execute(app, sql: str, *args) -> None:
    async with app[POOL].acquire() as conn:
        await conn.execute(sql, *args)


# --- what goes out ---------------------------------------------------------------------------


async def test_tick__sends_a_notification_with_text_html_and_one_click_unsubscribe(app, smtp):
    # Given alice, who gets mail about new answers, and a new answer to her listing
    alice = await resident(app)
    async with app[POOL].acquire() as conn:
        assert await mail_q.queue_notification_mail(conn, alice.id, "new_answer", ABOUT)

    # When the worker ticks
    assert await mail_worker(app).tick() is True

    # Then the SMTP server has one mail with both parts, and the RFC 8058 headers
    (mail,) = smtp.received
    message = mail.message
    assert mail.recipients == ["alice@example.org"]
    assert message["Subject"] == "@bob answered “A bag of apples”."
    assert message["From"] == "Elm Street Commons <noreply@localhost>"
    assert "@bob answered “A bag of apples”." in mail.text
    assert (
        "http://localhost/conversations/1" in mail.text
        and "http://localhost/conversations/1" in mail.html
    )
    assert message["List-Unsubscribe"].startswith(
        f"<http://localhost/mail/unsubscribe/{alice.id}.answer."
    )
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert await rows(app) == [("sent", 1)]
    assert await mail_worker(app).tick() is False  # nothing left


async def test_tick__account_mail_has_no_unsubscribe_header(app, smtp):
    await queue(app)

    await mail_worker(app).tick()

    (mail,) = smtp.received
    assert mail.message["List-Unsubscribe"] is None
    assert "new@example.org" in mail.text and "<strong>new@example.org</strong>" in mail.html


async def test_notification_mail__follows_the_residents_choices_and_a_confirmed_address(app):
    # Given alice, who wants no mail about messages, and bob, whose address is not confirmed
    alice, bob = await resident(app, "alice"), await resident(app, "bob")
    await execute(
        app, "UPDATE accounts SET mail_notifications = '{answer}' WHERE id = $1", alice.id
    )
    await execute(app, "UPDATE accounts SET email_confirmed_at = NULL WHERE id = $1", bob.id)

    async with app[POOL].acquire() as conn:
        queued = [
            await mail_q.queue_notification_mail(conn, alice.id, "new_message", ABOUT),
            await mail_q.queue_notification_mail(conn, alice.id, "new_answer", ABOUT),
            await mail_q.queue_notification_mail(conn, alice.id, "near_expiry", ABOUT),
            await mail_q.queue_notification_mail(conn, bob.id, "new_answer", ABOUT),
        ]

    assert queued == [False, True, False, False]
    assert await rows(app, "recipient, template") == [("alice@example.org", "notification")]


# --- an outage -----------------------------------------------------------------------------


async def test_smtp_down__the_mail_waits_and_goes_exactly_once_when_it_is_back(make_client, caplog):
    # Given a node whose SMTP server is down (nothing listens on its port)
    server = SmtpServer(free_port())
    app = (await make_client(smtp_url=server.url())).server.app
    await queue(app)

    # When the worker tries, the mail stays queued for a retry, with the reason
    assert await mail_worker(app).tick() is True
    [(state, attempts, error, wait)] = await rows(
        app, "state, attempts, last_error, next_try_at - now()"
    )
    assert (state, attempts) == ("pending", 1)
    assert "SMTPConnectError" in error
    assert timedelta(seconds=20) < wait < timedelta(seconds=40)  # 30 s ± 20 %
    assert await mail_worker(app).tick() is False  # not due yet

    # and when the server is back and the retry comes due, it goes: once
    await server.start()
    try:
        await execute(app, "UPDATE outgoing_mail SET next_try_at = now()")
        assert await mail_worker(app).tick() is True
        assert await mail_worker(app).tick() is False
    finally:
        await server.stop()
    assert len(server.received) == 1
    assert await rows(app) == [("sent", 2)]


@pytest.mark.parametrize(
    ("answer", "state"),
    [("451 4.7.1 greylisted, try again later", "pending"),
     ("550 5.1.1 no such mailbox", "failed")],
)  # fmt: skip
async def test_refusal__4xx_is_tried_again_and_5xx_of_the_recipient_is_given_up(
    app, smtp, answer, state
):
    smtp.refuse(answer)
    await queue(app)

    await mail_worker(app).tick()

    [(got, attempts, error)] = await rows(app, "state, attempts, last_error")
    assert (got, attempts) == (state, 1)
    assert answer.split()[0] in error
    assert smtp.received == []


async def test_retry__given_up_once_the_next_try_would_be_past_two_days(app, smtp):
    smtp.refuse("451 4.3.0 try later")
    await queue(app)
    await execute(
        app,
        "UPDATE outgoing_mail SET created_at = now() - interval '47 hours 59 minutes',"
        " attempts = 40",
    )

    await mail_worker(app).tick()

    [(state, error)] = await rows(app, "state, last_error")
    assert state == "failed" and "gave up after 41 attempts over two days" in error


async def test_send_before__a_mail_whose_link_expired_is_given_up_unsent(app, smtp):
    await queue(app, send_before=datetime.now(UTC) - timedelta(seconds=1))

    await mail_worker(app).tick()

    assert smtp.received == []
    assert await rows(app, "state, last_error") == [
        ("failed", "its link expired before it could be sent")
    ]


# --- claims --------------------------------------------------------------------------------


async def test_claim_lost__a_worker_that_stalled_past_its_lease_sends_nothing(app, smtp):
    # Given worker A holds a mail, then stalls past its lease, and worker B sends it
    await queue(app)
    stalled = mail_worker(app)
    mail = await stalled.fetch_next()
    await execute(app, "UPDATE outgoing_mail SET locked_until = now() - interval '1 second'")
    assert await mail_worker(app).tick() is True

    # When A wakes up and goes on with it
    outcome = await stalled.process_one(mail)

    # Then A neither sends it again nor records anything over B's outcome
    assert outcome is None
    assert len(smtp.received) == 1
    assert await rows(app) == [("sent", 1)]


async def test_heartbeat__renews_what_is_held_and_lets_go_of_what_was_taken_over(app):
    await queue(app)
    await queue(app)
    worker = mail_worker(app, batch=2)
    first = await worker.fetch_next()
    await execute(app, "UPDATE outgoing_mail SET locked_until = now() + interval '1 second'")

    assert await worker.heartbeat() == 2
    assert await rows(app, "locked_until - now() > interval '30 seconds'") == [(True,), (True,)]

    await execute(app, "UPDATE outgoing_mail SET claim = nextval('queue_claims') WHERE id = $1",
                  first.id)  # fmt: skip
    assert await worker.heartbeat() == 1


async def test_release_claims__gives_back_what_was_not_sent(app, smtp):
    await queue(app)
    worker = mail_worker(app)
    await worker.fetch_next()

    assert await worker.release_claims() == 1

    assert await rows(app, "state, attempts, locked_until, claim") == [("pending", 0, None, None)]
    assert await mail_worker(app).tick() is True and len(smtp.received) == 1


# --- TLS and passwords ---------------------------------------------------------------------


async def test_starttls__the_password_goes_over_tls_and_never_into_a_log_or_the_queue(
    make_client, tmp_path, monkeypatch, caplog
):
    # Given a submission server that requires STARTTLS and a login, with a certificate for
    # localhost that this machine trusts, and a mail queued on a node with a wrong password
    context, certificate = localhost_certificate(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate))
    server = await SmtpServer(tls=context, auth=("commons", "s3cret pass")).start()
    caplog.set_level(logging.DEBUG)
    try:
        url = server.url(credentials="commons:s3cret%20guess@", host="localhost")
        wrong = (await make_client(smtp_url=url)).server.app
        await queue(wrong)

        # When its worker ticks, the mail waits, saying why (and not with what password)
        await mail_worker(wrong).tick()
        [(state, error)] = await rows(wrong, "state, last_error")
        assert state == "pending" and "SMTPAuthenticationError" in error and "s3cret" not in error

        # and once the admin sets the right password, it goes at its retry
        right = (await make_client(smtp_url=url.replace("guess@", "pass@"))).server.app
        await execute(right, "UPDATE outgoing_mail SET next_try_at = now()")
        await mail_worker(right).tick()
    finally:
        await server.stop()

    # Then it went once, over TLS (the server refuses a login without it), and the
    # password shows in no log line
    assert len(server.received) == 1
    assert server.logins[-1] == ("commons", "s3cret pass")
    assert "s3cret" not in caplog.text


async def test_smtps__implicit_tls(make_client, tmp_path, monkeypatch):
    context, certificate = localhost_certificate(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate))
    server = await SmtpServer(implicit=context).start()
    try:
        app = (await make_client(smtp_url=server.url("smtps", host="localhost"))).server.app
        await queue(app)
        await mail_worker(app).tick()
    finally:
        await server.stop()

    assert len(server.received) == 1


# --- without SMTP --------------------------------------------------------------------------


async def test_dev_node_without_smtp__mail_goes_to_the_dev_mailbox(client, settings):
    app = client.server.app
    await queue(app)
    [worker] = mail_workers(app[POOL], app[SETTINGS])
    assert isinstance(worker.transport, MailboxTransport)

    await worker.tick()

    [file] = (settings.data_dir / "mail").iterdir()
    assert file.name.endswith("-1.eml") and b"new@example.org" in file.read_bytes()
    assert await rows(app) == [("sent", 1)]


async def test_public_node_without_smtp__has_no_mail_worker_and_warns_at_start(settings, caplog):
    from dataclasses import replace

    public = replace(settings, dev=False)

    assert mail_workers(None, public) == []
    log_mail_setup(public)
    assert "COMMONSFED_SMTP_URL is not set, so this node sends no e-mail" in caplog.text


def test_queue_command__shows_the_mail_waiting_and_why(database_url, capsys, monkeypatch):
    # Given a mail that waits for a retry, and one given up
    async def given():
        conn = await connect(database_url)
        try:
            for state, error in (("pending", "SMTPConnectError: refused"), ("failed", "550")):
                await conn.execute(
                    "INSERT INTO outgoing_mail (recipient, template, state, attempts, last_error)"
                    " VALUES ('a@example.org', 'confirm_email', $1, 1, $2)",
                    state,
                    error,
                )
        finally:
            await conn.close()

    run_sync(given())
    monkeypatch.delenv("DATABASE_URL", raising=False)

    status = main(["queue", "--dev", "--database-url", database_url])

    assert status == 0
    assert "mail: 1 pending, 1 retrying, 1 failed (SMTPConnectError: refused)" in (
        capsys.readouterr().out
    )


# --- pruning ---------------------------------------------------------------------------------


async def test_prune__deletes_mail_sent_long_ago_and_gives_up_what_no_worker_ever_tried(app):
    # Given mail in every state, finished (or queued) at various times
    for state, finished_days_ago, queued_days_ago, attempts in [
        ("sent", 8, 8, 1), ("sent", 6, 6, 1), ("failed", 31, 33, 3), ("failed", 10, 12, 3),
        ("pending", None, 3, 0), ("pending", None, 3, 5), ("pending", None, 1, 0),
    ]:  # fmt: skip
        await execute(
            app,
            "INSERT INTO outgoing_mail (recipient, template, state, attempts, finished_at,"
            " created_at) VALUES ('a@example.org', 'confirm_email', $1, $4,"
            " now() - make_interval(days => $2), now() - make_interval(days => $3))",
            state, finished_days_ago, queued_days_ago, attempts,
        )  # fmt: skip

    # When the hourly pruning runs
    pruned = await prune_queues(app[POOL], datetime.now(UTC))

    # Then what was sent over a week ago and given up over a month ago is gone, and the
    # mail no worker tried for two days is given up (the one being retried is left alone)
    assert pruned == 3
    assert await rows(app, "state, attempts, last_error LIKE 'never sent%'") == [
        ("sent", 1, None), ("failed", 3, None),
        ("failed", 0, True), ("pending", 5, None), ("pending", 0, None),
    ]  # fmt: skip


async def test_prune_throttles__forgets_expired_links_and_old_failures(app):
    alice = await resident(app)
    await execute(app, "INSERT INTO account_tokens (account_id, purpose, token_hash, email,"
                       " expires_at) VALUES ($1, 'reset_password', 'a', 'a@x.org', now() - "
                       "interval '1 minute'), ($1, 'confirm_email', 'b', 'a@x.org', now() + "
                       "interval '1 day')", alice.id)  # fmt: skip
    await execute(app, "INSERT INTO login_failures (username, address, failed_at) VALUES"
                       " ('alice', '1.2.3.4', now() - interval '16 minutes'),"
                       " ('alice', '1.2.3.4', now() - interval '14 minutes')")  # fmt: skip
    await execute(app, "INSERT INTO mail_requests (action, subject, address, requested_at)"
                       " VALUES ('reset_password', 'a@x.org', '1.2.3.4', now() - interval"
                       " '61 minutes'), ('reset_password', 'a@x.org', '1.2.3.4', now())")  # fmt: skip

    assert await prune_throttles(app[POOL], datetime.now(UTC)) == 3

    async with app[POOL].acquire() as conn:
        left = [await conn.fetchval(f"SELECT count(*) FROM {table}")
                for table in ("account_tokens", "login_failures", "mail_requests")]  # fmt: skip
    assert left == [1, 1, 1]


# --- the entry points ------------------------------------------------------------------------


async def test_worker_command__sends_the_queued_mail(app, smtp, tmp_path):
    # Given a mail queued on a node, and a `commonsfed worker` process told its SMTP server
    await queue(app)
    worker = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "commonsfed", "worker", "--dev", "--domain", "localhost",
        "--database-url", app[SETTINGS].database_url, "--data-dir", str(tmp_path),
        env=cli_env(COMMONSFED_SMTP_URL=smtp.url()),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        # When it runs (a deadline for the process, which the test does not drive)
        async def received() -> bool:
            return len(smtp.received) == 1

        sent = await until(received, seconds=60)
    finally:
        worker.terminate()
        _, err = await asyncio.wait_for(worker.communicate(), 30)

    # Then the mail went, once, and the worker said where mail goes
    assert sent and await rows(app) == [("sent", 1)]
    assert f"mail: through 127.0.0.1:{smtp.port} (plain, on this machine)" in err.decode()
