"""classify(): what each SMTP outcome means for a queued mail, and the retry schedule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import aiosmtplib
import pytest

from commonsfed.services.mail_sending import MAX_DELAY, backoff, classify

NOW = datetime(2025, 5, 1, 12, 0, tzinfo=UTC)


def run(error, attempts=0, rand=lambda: 0.5, first_try_at=None):
    return classify(error, attempts, NOW, rand, first_try_at=first_try_at or NOW)


def refused(code: int, message: str = "no") -> aiosmtplib.SMTPRecipientsRefused:
    return aiosmtplib.SMTPRecipientsRefused(
        [aiosmtplib.SMTPRecipientRefused(code, message, "a@b.org")]
    )


def test_classify__accepted_is_sent():
    assert run(None).kind == "sent"


@pytest.mark.parametrize(
    "error",
    [aiosmtplib.SMTPConnectError("Error connecting to mail.x.org on port 587"),
     aiosmtplib.SMTPServerDisconnected("Connection lost"),
     aiosmtplib.SMTPReadTimeoutError("Timed out waiting for server response"),
     ConnectionRefusedError(111, "Connection refused"),
     aiosmtplib.SMTPDataError(451, "4.3.0 try later"),
     refused(450, "4.2.0 greylisted"),
     aiosmtplib.SMTPAuthenticationError(535, "5.7.8 credentials invalid"),
     aiosmtplib.SMTPSenderRefused(553, "5.7.1 not your address", "noreply@x.org"),
     aiosmtplib.SMTPNotSupported("SMTP STARTTLS extension not supported by server"),
     OSError(28, "No space left on device")],
)  # fmt: skip
def test_classify__the_server_away_or_our_own_setup_is_tried_again(error):
    outcome = run(error)

    assert outcome.kind == "retry" and outcome.next_try_at == NOW + timedelta(seconds=30)
    assert outcome.error.startswith(type(error).__name__)


@pytest.mark.parametrize(
    "error",
    [refused(550, "5.1.1 no such user"), aiosmtplib.SMTPDataError(554, "5.7.1 spam"),
     ValueError("address contains a line break")],
)  # fmt: skip
def test_classify__a_refusal_of_the_recipient_or_message_is_given_up(error):
    assert run(error).kind == "give_up"


def test_backoff__doubles_from_30_seconds_up_to_an_hour():
    waits = [backoff(n) for n in range(9)]

    assert waits[:4] == [timedelta(seconds=s) for s in (30, 60, 120, 240)]
    assert waits[7] == waits[8] == MAX_DELAY == timedelta(hours=1)


def test_classify__jitter_stays_within_20_percent():
    early, late = run(OSError(), rand=lambda: 0.0), run(OSError(), rand=lambda: 0.999999)

    assert early.next_try_at == NOW + timedelta(seconds=24)
    assert NOW + timedelta(seconds=35.9) < late.next_try_at <= NOW + timedelta(seconds=36)


def test_classify__given_up_when_the_next_try_is_past_two_days():
    queued = NOW - timedelta(hours=47, minutes=30)

    assert run(OSError(), attempts=40, first_try_at=queued).kind == "give_up"
    assert run(OSError(), attempts=40, first_try_at=NOW - timedelta(hours=46)).kind == "retry"
