"""The command line: user management, database errors, exit codes."""

from __future__ import annotations

import subprocess
import sys

import pytest

from commonsfed.cli import main
from commonsfed.config import Settings
from commonsfed.db.pool import connect, create_pool
from commonsfed.services import accounts
from tests.builders import DEFAULT_PASSWORD, run_sync
from tests.integration.test_migrations import cli_env


def fetch_account(url: str, username: str):
    async def fetch():
        conn = await connect(url)
        try:
            return await conn.fetchrow("SELECT * FROM accounts WHERE username = $1", username)
        finally:
            await conn.close()

    return run_sync(fetch())


def test_user_create__makes_an_admin_with_the_password_from_the_environment(
    database_url, monkeypatch, capsys
):
    monkeypatch.setenv("COMMONSFED_PASSWORD", DEFAULT_PASSWORD)

    status = main(["user", "create", "Ada", "--email", "ada@example.org", "--admin",
                   "--database-url", database_url])

    assert status == 0, capsys.readouterr().err
    assert "created admin @ada" in capsys.readouterr().out
    row = fetch_account(database_url, "ada")
    assert row["is_admin"] and row["status"] == "active"
    assert row["password_hash"].startswith("$argon2id$")


def test_user_create__taken_name_exits_1_with_one_line(database_url, monkeypatch, capsys):
    monkeypatch.setenv("COMMONSFED_PASSWORD", DEFAULT_PASSWORD)
    main(["user", "create", "ada", "--email", "ada@example.org", "--database-url", database_url])
    capsys.readouterr()

    status = main(["user", "create", "ADA", "--email", "x@example.org",
                   "--database-url", database_url])

    err = capsys.readouterr().err
    assert status == 1
    assert "This username is taken." in err and err.strip().count("\n") == 0


def test_user_create__short_password_exits_1(database_url, monkeypatch, capsys):
    monkeypatch.setenv("COMMONSFED_PASSWORD", "short")

    status = main(["user", "create", "ada", "--email", "ada@example.org",
                   "--database-url", database_url])

    assert status == 1
    assert "at least 10 characters" in capsys.readouterr().err
    assert fetch_account(database_url, "ada") is None


def test_user_create__without_a_password_or_terminal_exits_1(database_url, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "commonsfed", "user", "create", "ada", "--email", "a@example.org"],
        env=cli_env(DATABASE_URL=database_url), capture_output=True, text=True, timeout=60,
        stdin=subprocess.DEVNULL, cwd=tmp_path,
    )

    assert result.returncode == 1
    assert "COMMONSFED_PASSWORD" in result.stderr
    assert fetch_account(database_url, "ada") is None


def test_user_approve__activates_a_waiting_account(database_url, capsys, tmp_path):
    settings = Settings(database_url=database_url, registration="approval", dev=True,
                        data_dir=tmp_path)

    async def register_pending():
        pool = await create_pool(database_url)
        try:
            await accounts.register(pool, settings, username="bob", email="bob@example.org",
                                    password=DEFAULT_PASSWORD)
        finally:
            await pool.close()

    run_sync(register_pending())
    assert fetch_account(database_url, "bob")["status"] == "pending"

    status = main(["user", "approve", "bob", "--database-url", database_url])

    assert status == 0 and "approved @bob" in capsys.readouterr().out
    assert fetch_account(database_url, "bob")["status"] == "active"


def test_user_approve__unknown_name_exits_1(database_url, capsys):
    status = main(["user", "approve", "nobody", "--database-url", database_url])

    assert status == 1
    assert "no account named 'nobody'" in capsys.readouterr().err


def test_unreachable_database__one_line_naming_host_and_database_not_password(tmp_path):
    url = "postgresql://bob:hunter2secret@127.0.0.1:1/neighbours"

    result = subprocess.run(
        [sys.executable, "-m", "commonsfed", "migrate"], env=cli_env(DATABASE_URL=url),
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )

    assert result.returncode == 1
    assert result.stderr.count("\n") == 1, result.stderr
    assert '"neighbours"' in result.stderr and "127.0.0.1:1" in result.stderr
    assert "hunter2secret" not in result.stderr and "Traceback" not in result.stderr


def test_refusing_database__names_it_without_a_traceback(pg_server_url, tmp_path):
    from commonsfed.db.pool import with_database

    url = with_database(pg_server_url, "no_such_database")

    result = subprocess.run(
        [sys.executable, "-m", "commonsfed", "migrate"], env=cli_env(DATABASE_URL=url),
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )

    assert result.returncode == 1
    assert 'database "no_such_database"' in result.stderr and "does not exist" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve__bad_log_level_is_one_line_not_a_traceback(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "commonsfed", "serve", "--dev"],
        env=cli_env(COMMONSFED_LOG_LEVEL="chatty"), capture_output=True, text=True, timeout=60,
        cwd=tmp_path,
    )

    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "COMMONSFED_LOG_LEVEL: must be one of DEBUG, INFO" in result.stderr
    assert not (tmp_path / "data").exists()  # stopped before making anything


@pytest.mark.parametrize("command", [
    ["user", "create", "ada", "--email", "ada@example.org"], ["user", "approve", "ada"],
    ["queue"], ["block", "spam.example"], ["lookup", "@ada@example.org", "--dev"],
    ["federate", "example.org", "--dev"],
])
def test_commands_but_serve_and_migrate__refuse_a_data_folder_without_a_node(
    command, tmp_path, monkeypatch, capsys
):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("COMMONSFED_DATA_DIR", raising=False)
    monkeypatch.setenv("COMMONSFED_PASSWORD", DEFAULT_PASSWORD)
    typo = tmp_path / "dta"

    status = main([*command, "--data-dir", str(typo)])

    err = capsys.readouterr().err
    assert status == 1 and err.count("\n") == 1, err
    assert f"no node lives in {typo}" in err and "--data-dir" in err and "commonsfed serve" in err
    assert not typo.exists()  # no new, empty node made in its place


def test_worker__refuses_a_data_folder_without_a_node(tmp_path):
    # a process of its own: a worker that did start would run until stopped
    result = subprocess.run(
        [sys.executable, "-m", "commonsfed", "worker", "--dev", "--data-dir", "dta"],
        env=cli_env(), capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )

    assert result.returncode == 1 and result.stderr.count("\n") == 1, result.stderr
    assert f"no node lives in {tmp_path / 'dta'}" in result.stderr
    assert not (tmp_path / "dta").exists()


def test_user_role__makes_a_moderator_then_nothing_and_logs_each_change(
    database_url, monkeypatch, capsys
):
    monkeypatch.setenv("COMMONSFED_PASSWORD", DEFAULT_PASSWORD)
    main(["user", "create", "ada", "--email", "ada@example.org", "--database-url", database_url])

    assert main(["user", "role", "Ada", "moderator", "--database-url", database_url]) == 0
    assert "@ada is now moderator" in capsys.readouterr().out
    assert fetch_account(database_url, "ada")["role"] == "moderator"
    assert main(["user", "role", "ada", "none", "--database-url", database_url]) == 0
    assert "@ada is now a resident" in capsys.readouterr().out

    async def log():
        conn = await connect(database_url)
        try:
            return await conn.fetch(
                "SELECT moderator_id, action, target, details::text FROM moderation_log "
                "ORDER BY id")
        finally:
            await conn.close()

    assert [tuple(row) for row in run_sync(log())] == [
        (None, "set_role", "ada", '{"to": "moderator", "from": "none"}'),
        (None, "set_role", "ada", '{"to": "none", "from": "moderator"}'),
    ]


@pytest.mark.parametrize("argv, message", [
    (["user", "role", "nobody", "admin"], "There is no account named 'nobody'."),
    (["user", "role", "ada", "none"], "ada is the node's only admin; make another first."),
])  # fmt: skip
def test_user_role__refusals_exit_1_with_one_line_and_change_nothing(
    database_url, monkeypatch, capsys, argv, message
):
    monkeypatch.setenv("COMMONSFED_PASSWORD", DEFAULT_PASSWORD)
    main(["user", "create", "ada", "--email", "ada@example.org", "--admin",
          "--database-url", database_url])  # fmt: skip
    capsys.readouterr()

    status = main([*argv, "--database-url", database_url])

    err = capsys.readouterr().err
    assert status == 1 and message in err and err.strip().count("\n") == 0
    assert fetch_account(database_url, "ada")["role"] == "admin"


def test_user_role__an_unknown_role_is_a_usage_error(database_url, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["user", "role", "ada", "superuser", "--database-url", database_url])

    assert exit_.value.code == 2 and "invalid choice: 'superuser'" in capsys.readouterr().err
