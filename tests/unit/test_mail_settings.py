"""The mail settings: COMMONSFED_SMTP_URL (whose password never shows), COMMONSFED_MAIL_FROM
and COMMONSFED_CONFIRM_EMAIL, each refused with one line that names it."""

from __future__ import annotations

import pytest

from commonsfed.cli import main
from commonsfed.config import ConfigError, load_settings

PUBLIC = {"COMMONSFED_DOMAIN": "commons.example.org"}


def test_smtp_url__starttls_with_a_login_percent_decoded():
    settings = load_settings(
        {**PUBLIC, "COMMONSFED_SMTP_URL": "smtp://ann%40x.org:p%3Ass@mail.x.org"}
    )

    server = settings.smtp
    assert (server.host, server.port, server.implicit_tls) == ("mail.x.org", 587, False)
    assert (server.username, server.password) == ("ann@x.org", "p:ss")
    assert server.starttls is True  # a password is never sent in the clear
    assert settings.mail_transport == "smtp" and settings.email_confirmation_required
    assert "p:ss" not in repr(settings) and "p%3Ass" not in repr(settings)
    assert (
        "p:ss" not in repr(server) and server.describe() == "mail.x.org:587 (STARTTLS) as ann@x.org"
    )


@pytest.mark.parametrize(
    ("url", "port", "implicit", "starttls"),
    [("smtps://u:p@mail.x.org", 465, True, False),
     ("smtp://mail.x.org:25", 25, False, None),  # a relay without a login: STARTTLS if offered
     ("smtp://127.0.0.1:25", 25, False, False)],  # on this machine: plain
)  # fmt: skip
def test_smtp_url__ports_and_tls(url, port, implicit, starttls):
    server = load_settings({**PUBLIC, "COMMONSFED_SMTP_URL": url}).smtp

    assert (server.port, server.implicit_tls, server.starttls) == (port, implicit, starttls)


@pytest.mark.parametrize(
    "url",
    ["http://u:s3cret@mail.x.org", "smtp://u@mail.x.org", "smtp://:s3cret@mail.x.org",
     "smtp://u:s3cret@mail.x.org:99999", "smtp://u:s3cret@mail.x.org/inbox",
     "smtp://u:s3cret@mail.x.org?tls=no", "smtp://u:s3cret@", "smtp://u:@mail.x.org"],
)  # fmt: skip
def test_smtp_url__bad_ones_are_refused_without_showing_the_password(
    url, capsys, monkeypatch, tmp_path
):
    monkeypatch.setenv("COMMONSFED_SMTP_URL", url)
    monkeypatch.setenv("COMMONSFED_DOMAIN", "commons.example.org")

    status = main(["queue", "--data-dir", str(tmp_path / "no node here")])

    err = capsys.readouterr().err
    assert status == 2
    assert err.startswith("commonsfed: error: COMMONSFED_SMTP_URL: must look like smtp://")
    assert err.count("\n") == 1 and "s3cret" not in err


@pytest.mark.parametrize(
    ("value", "ok"),
    [("commons@example.org", True), ('"Elm Street" <commons@example.org>', True),
     ("noreply@localhost", True), ("commons", False), ("a@b", False),
     ("commons@example.org\r\nBcc: x@y.org", False)],
)  # fmt: skip
def test_mail_from__an_address_on_one_line(value, ok):
    env = {**PUBLIC, "COMMONSFED_MAIL_FROM": value}
    if ok:
        assert load_settings(env).mail_sender == value
    else:
        with pytest.raises(ConfigError, match="^COMMONSFED_MAIL_FROM: must be an address"):
            load_settings(env)


def test_mail_from__defaults_to_the_neighbourhood_at_its_domain():
    settings = load_settings({**PUBLIC, "COMMONSFED_INSTANCE_NAME": "Elm Street, Commons"})

    assert settings.mail_sender == '"Elm Street, Commons" <noreply@commons.example.org>'


def test_confirm_email__needs_a_way_to_send_mail():
    with pytest.raises(ConfigError, match="^COMMONSFED_CONFIRM_EMAIL: needs COMMONSFED_SMTP_URL"):
        load_settings({**PUBLIC, "COMMONSFED_CONFIRM_EMAIL": "true"})


def test_confirm_email__required_only_with_smtp_unless_set():
    dev = load_settings({}, {"dev": True})
    public = load_settings(PUBLIC)
    off = load_settings(
        {**PUBLIC, "COMMONSFED_SMTP_URL": "smtp://m.x.org"}, {"confirm_email": False}
    )
    dev_on = load_settings({"COMMONSFED_CONFIRM_EMAIL": "yes"}, {"dev": True})

    assert (dev.mail_transport, dev.email_confirmation_required) == ("mailbox", False)
    assert (public.mail_transport, public.email_confirmation_required) == (None, False)
    assert off.email_confirmation_required is False
    assert dev_on.email_confirmation_required is True  # the dev mailbox confirms too
