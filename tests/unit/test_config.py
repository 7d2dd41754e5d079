"""Settings: environment and flags, flags win, bad values named with exit status 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from commonsfed.cli import main
from commonsfed.config import ConfigError, load_settings


def test_load_settings__defaults_in_dev_mode():
    settings = load_settings({}, {"dev": True})

    assert settings.domain == "localhost:8080" and settings.port == 8080
    assert settings.data_dir == Path("data") and settings.registration == "open"
    assert settings.base_url == "http://localhost:8080"
    assert settings.database_url is None and settings.database_is_embedded


def test_load_settings__reads_the_environment():
    settings = load_settings({
        "COMMONSFED_DOMAIN": "Commons.Example.org", "COMMONSFED_PORT": "9000",
        "COMMONSFED_REGISTRATION": "approval", "DATABASE_URL": "postgresql://u@db/x",
        "COMMONSFED_INSTANCE_NAME": "Elm Street",
    })

    assert settings.domain == "commons.example.org" and settings.port == 9000
    assert settings.registration == "approval" and settings.database_url == "postgresql://u@db/x"
    assert settings.base_url == "https://commons.example.org"
    assert settings.instance_name == "Elm Street"
    assert load_settings({"COMMONSFED_MATCH_KM": "25"}, {"dev": True}).match_km == 25


def test_load_settings__flags_win_over_the_environment():
    settings = load_settings({"COMMONSFED_PORT": "9000", "COMMONSFED_DOMAIN": "a.example"},
                             {"port": "9100", "domain": None})

    assert settings.port == 9100 and settings.domain == "a.example"


def test_load_settings__secret_is_not_in_the_repr():
    settings = load_settings({}, {"dev": True, "secret": "s" * 40})

    assert "s" * 40 not in repr(settings)


@pytest.mark.parametrize(
    ("env", "flags", "named"),
    [
        ({}, {"dev": True, "domain": "https://commons.example.org"}, "--domain"),
        ({}, {"dev": True, "domain": "commons.example.org/path"}, "--domain"),
        ({"COMMONSFED_DOMAIN": "bad_domain!"}, {"dev": True}, "COMMONSFED_DOMAIN"),
        ({}, {"dev": True, "port": "0"}, "--port"),
        ({"COMMONSFED_PORT": "70000"}, {"dev": True}, "COMMONSFED_PORT"),
        ({}, {"dev": True, "port": "http"}, "--port"),
        ({"COMMONSFED_REGISTRATION": "sometimes"}, {"dev": True}, "COMMONSFED_REGISTRATION"),
        ({"DATABASE_URL": "mysql://x"}, {"dev": True}, "DATABASE_URL"),
        ({"COMMONSFED_DEV": "perhaps"}, {}, "COMMONSFED_DEV"),
        ({}, {"dev": True, "secret": "short"}, "--secret"),
        ({}, {"dev": True, "resolve": "north.test=not-an-ip"}, "--resolve"),
        ({"COMMONSFED_DOMAIN": "a.example"}, {"resolve": "north.test=127.0.0.1:8081"}, "--resolve"),
        ({}, {}, "COMMONSFED_DOMAIN"),
        ({"COMMONSFED_LOG_LEVEL": "loud"}, {"dev": True}, "COMMONSFED_LOG_LEVEL"),
        ({}, {"dev": True, "log_level": "verbose"}, "--log-level"),
        ({"COMMONSFED_GROUP_FOLLOWS": "sometimes"}, {"dev": True}, "COMMONSFED_GROUP_FOLLOWS"),
        ({}, {"dev": True, "contact_email": "admins at elm"}, "--contact-email"),
        ({"COMMONSFED_RULES": "Be kind.\n" + "x" * 301}, {"dev": True}, "COMMONSFED_RULES"),
        ({"COMMONSFED_MATCH_KM": "0"}, {"dev": True}, "COMMONSFED_MATCH_KM"),
        ({"COMMONSFED_MATCH_KM": "far"}, {"dev": True}, "COMMONSFED_MATCH_KM"),
    ],
)
def test_load_settings__bad_values_name_the_setting(env, flags, named):
    with pytest.raises(ConfigError) as error:
        load_settings(env, flags)

    assert error.value.setting == named


def test_load_settings__what_about_shows_from_the_environment():
    settings = load_settings({
        "COMMONSFED_RULES": "Be kind.\n\n  No selling for profit.  \n",
        "COMMONSFED_CONTACT_EMAIL": " admins@elm.example ", "COMMONSFED_GROUP_FOLLOWS": "Manual",
    }, {"dev": True})  # fmt: skip

    assert settings.rules == ("Be kind.", "No selling for profit.")
    assert settings.contact_email == "admins@elm.example" and settings.group_follows == "manual"


def test_load_settings__log_level_in_any_case():
    assert load_settings({}, {"dev": True}).log_level == "INFO"
    assert load_settings({"COMMONSFED_LOG_LEVEL": "debug"}, {"dev": True}).log_level == "DEBUG"
    assert load_settings({"COMMONSFED_LOG_LEVEL": "debug"},
                         {"dev": True, "log_level": "Warning"}).log_level == "WARNING"


def test_load_settings__dev_domain_follows_the_port():
    from_flag = load_settings({}, {"dev": True, "port": "8090"})
    from_env = load_settings({"COMMONSFED_PORT": "8091"}, {"dev": True})

    assert from_flag.domain == "localhost:8090" and from_flag.base_url == "http://localhost:8090"
    assert from_env.domain == "localhost:8091"


def test_load_settings__a_given_domain_wins_over_the_port_in_dev_mode():
    settings = load_settings({"COMMONSFED_DOMAIN": "north.test"}, {"dev": True, "port": "8090"})

    assert settings.domain == "north.test" and settings.port == 8090


def test_load_settings__resolver_map_in_dev_mode():
    settings = load_settings({"COMMONSFED_RESOLVE": "north.test=127.0.0.1:8081, south.test=127.0.0.1:8082"},
                             {"dev": True})

    assert settings.resolve == {"north.test": "127.0.0.1:8081", "south.test": "127.0.0.1:8082"}


def test_cli__bad_setting_exits_2_with_one_line(capsys, monkeypatch):
    monkeypatch.delenv("COMMONSFED_PORT", raising=False)

    status = main(["serve", "--dev", "--port", "99999"])

    err = capsys.readouterr().err
    assert status == 2
    assert err.strip().count("\n") == 0
    assert "--port" in err and "1 to 65535" in err


@pytest.mark.parametrize("command", [["queue"], ["user", "approve", "bob"], ["block", "x.example"],
                                     ["lookup", "@a@x.example", "--dev"]])
def test_cli__bad_log_level_exits_2_with_one_line_for_every_command(command, capsys, monkeypatch,
                                                                    tmp_path):
    monkeypatch.setenv("COMMONSFED_LOG_LEVEL", "loud")
    monkeypatch.delenv("DATABASE_URL", raising=False)

    status = main([*command, "--data-dir", str(tmp_path / "data")])

    err = capsys.readouterr().err
    assert status == 2 and err.strip().count("\n") == 0
    assert "COMMONSFED_LOG_LEVEL" in err and "DEBUG, INFO, WARNING, ERROR, CRITICAL" in err


def test_cli__unknown_mode_from_the_environment_exits_2(capsys, monkeypatch):
    monkeypatch.setenv("COMMONSFED_REGISTRATION", "maybe")

    status = main(["migrate"])

    assert status == 2
    assert "COMMONSFED_REGISTRATION" in capsys.readouterr().err


def test_cli__serve_without_a_domain_outside_dev_mode_exits_2(capsys, monkeypatch):
    monkeypatch.delenv("COMMONSFED_DOMAIN", raising=False)
    monkeypatch.delenv("COMMONSFED_DEV", raising=False)

    status = main(["serve"])

    assert status == 2
    assert "COMMONSFED_DOMAIN" in capsys.readouterr().err


# --- a pooler in front of PostgreSQL -------------------------------------------------------

POOLED = {"DATABASE_URL": "postgresql://u@127.0.0.1:6432/commons",
          "COMMONSFED_DATABASE_DIRECT_URL": "postgresql://u@127.0.0.1:5432/commons"}


def test_load_settings__a_pooler_with_a_direct_url():
    settings = load_settings(POOLED | {"COMMONSFED_DATABASE_POOLER": "true"}, {"dev": True})

    assert settings.database_pooler
    assert settings.database_url.endswith(":6432/commons")
    assert settings.direct_url.endswith(":5432/commons")  # LISTEN, migrations, backups


def test_load_settings__without_a_direct_url__the_direct_one_is_database_url():
    settings = load_settings({"DATABASE_URL": "postgresql://u@db/x"}, {"dev": True})

    assert not settings.database_pooler and settings.direct_url == "postgresql://u@db/x"


@pytest.mark.parametrize(
    ("env", "flags", "named", "says"),
    [
        ({**POOLED, "COMMONSFED_DATABASE_POOLER": "perhaps"}, {}, "COMMONSFED_DATABASE_POOLER",
         "must be true or false"),
        ({"DATABASE_URL": POOLED["DATABASE_URL"]}, {"database_pooler": True}, "--database-pooler",
         "needs COMMONSFED_DATABASE_DIRECT_URL"),
        ({}, {"database_pooler": True}, "--database-pooler", "needs DATABASE_URL"),
        ({**POOLED, "COMMONSFED_DATABASE_DIRECT_URL": "pgbouncer://x"}, {},
         "COMMONSFED_DATABASE_DIRECT_URL", "must start with postgresql://"),
        ({"COMMONSFED_PROCESSES": "many"}, {}, "COMMONSFED_PROCESSES", "must be a whole number"),
    ],
)
def test_load_settings__bad_pooler_settings_name_the_setting(env, flags, named, says):
    with pytest.raises(ConfigError) as error:
        load_settings(env, {"dev": True, **flags})

    assert error.value.setting == named and says in error.value.message


def test_cli__pooler_without_a_direct_url_exits_2_with_one_line(capsys, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", POOLED["DATABASE_URL"])
    monkeypatch.delenv("COMMONSFED_DATABASE_DIRECT_URL", raising=False)

    status = main(["queue", "--dev", "--database-pooler"])

    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1
    assert err.startswith("commonsfed: error: --database-pooler: needs COMMONSFED_DATABASE_DIRECT_URL")
