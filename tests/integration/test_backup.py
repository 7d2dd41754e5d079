"""`commonsfed backup` and `restore`, run as the CLI runs them (on a thread of their own:
they start their own event loops), on a node with residents, a listing with a photo and a
conversation; then a node started on what was restored serves the same pages and keys."""

from __future__ import annotations

import asyncio
import gzip
import io
import re
import tarfile
from dataclasses import replace
from pathlib import Path

import pytest

from commonsfed.app import create_app
from commonsfed.backup import MANIFEST
from commonsfed.cli import main
from commonsfed.db.dumps import DumpError, Tool, choose_dump_tool, choose_restore_tool
from commonsfed.db.embedded import EmbeddedPostgres, ensure_database
from commonsfed.db.pool import connect
from tests.builders import (
    log_in,
    photo_bytes,
    post_form,
    post_listing,
    post_profile,
    register_and_login,
)

AS2 = {"Accept": "application/activity+json"}


async def cli(*argv: str) -> int:
    return await asyncio.to_thread(main, list(argv))


@pytest.fixture
async def populated(make_client, settings):
    """A node with two residents, a listing with a photo, a profile and a conversation;
    returns what its pages answer: {path: body}."""
    alice, bob = await make_client(), await make_client()
    await register_and_login(alice, "alice")
    await register_and_login(bob, "bob")
    profile = {"display_name": "Alice Apple", "bio": "I lend ladders", "area": "Elm Street"}
    saved = await post_profile(alice, profile, avatar=photo_bytes("PNG"))
    assert "Your profile is saved." in await saved.text()
    response = await post_listing(
        alice, {"alt_1": "Apples in a crate"}, photos=[("photo_1", "apples.jpg", photo_bytes())]
    )
    assert response.status == 303, await response.text()
    listing = response.headers["Location"]
    answered = await post_form(
        bob, f"{listing}/answers", {"message": "Yes please!"}, allow_redirects=False
    )
    assert answered.status == 303
    photo = re.search(r'src="(/media/[^"]+)"', await (await alice.get(listing)).text()).group(1)
    return await pages(await make_client(), listing, photo, answered.headers["Location"])


@pytest.fixture
async def archive(settings, tmp_path, capsys) -> Path:
    """A backup of a node with no residents yet, and a photo in its media folder: what the
    refusals need, made in a fraction of `populated`'s time."""
    (settings.data_dir / "media").mkdir(parents=True)
    (settings.data_dir / "media" / "a.jpg").write_bytes(photo_bytes())
    path = tmp_path / "node.tar.gz"
    assert (
        await cli(
            "backup",
            str(path),
            "--database-url",
            settings.database_url,
            "--data-dir",
            str(settings.data_dir),
        )
        == 0
    )
    capsys.readouterr()
    return path


async def pages(client, listing: str, photo: str, conversation: str) -> dict[str, bytes]:
    """What a visitor (`client`, logged out) sees, and alice's key."""
    visitor = {}
    for path in (listing, "/users/alice", photo):
        response = await client.get(path)
        assert response.status == 200, path
        visitor[path] = await response.read()
    actor = await (await client.get("/users/alice", headers=AS2)).json()
    visitor["key"] = actor["publicKey"]["publicKeyPem"].encode()
    visitor["conversation"] = conversation.encode()
    return visitor


async def visit(client, before: dict[str, bytes]) -> dict[str, bytes]:
    """`pages` again, on another node, for the paths `before` holds."""
    listing, profile, photo = (path for path in before if path.startswith("/"))
    return await pages(client, listing, photo, before["conversation"].decode())


async def test_backup_restore__a_fresh_data_folder_serves_the_same_pages_and_keys(
    populated, settings, make_client, aiohttp_client, tmp_path
):
    # Given a backup of the node
    archive = tmp_path / "node.tar.gz"
    assert (
        await cli(
            "backup",
            str(archive),
            "--database-url",
            settings.database_url,
            "--data-dir",
            str(settings.data_dir),
        )
        == 0
    )

    # When it is restored into a fresh data folder, with its embedded PostgreSQL
    fresh = tmp_path / "fresh"
    assert await cli("restore", str(archive), "--data-dir", str(fresh)) == 0

    # Then a node started on that folder serves the same listing, profile, photo and key
    server = EmbeddedPostgres(fresh)
    url = await ensure_database(await asyncio.to_thread(server.start))
    try:
        client = await aiohttp_client(
            create_app(replace(settings, database_url=url, data_dir=fresh))
        )
        after = await visit(client, populated)
        for path, body in populated.items():
            assert after[path] == body, path
        # and alice's conversation with bob is there, behind her login
        await _log_in(client, "alice")
        page = await client.get(populated["conversation"].decode())
        assert "Yes please!" in await page.text()
    finally:
        await asyncio.to_thread(server.stop)

    # and that node, on its embedded PostgreSQL, backs up in turn
    again = tmp_path / "again.tar.gz"
    assert await cli("backup", str(again), "--data-dir", str(fresh)) == 0
    with tarfile.open(again) as tar:
        # two more than before renditions existed: the photo's 320 and 640 pixel ones
        assert sum(name.startswith("files/media/") for name in tar.getnames()) == 4


async def _log_in(client, name: str) -> None:
    response = await log_in(client, name)
    assert response.status == 200


async def test_restore__into_an_empty_database_with_database_url(
    populated, settings, empty_database_url, tmp_path, capsys
):
    # Given a backup
    archive = tmp_path / "node.tar.gz"
    await cli(
        "backup",
        str(archive),
        "--database-url",
        settings.database_url,
        "--data-dir",
        str(settings.data_dir),
    )

    # When it is restored into an empty database and an empty data folder
    status = await cli(
        "restore",
        str(archive),
        "--database-url",
        empty_database_url,
        "--data-dir",
        str(tmp_path / "fresh"),
    )

    # Then the residents and their photo are back
    assert status == 0, capsys.readouterr().err
    conn = await connect(empty_database_url)
    try:
        names = await conn.fetch("SELECT username FROM accounts ORDER BY username")
    finally:
        await conn.close()
    assert [row["username"] for row in names] == ["alice", "bob"]
    assert list((tmp_path / "fresh" / "media").iterdir())
    # and the archive is a plain .tar.gz, its manifest first
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(archive.read_bytes()))) as tar:
        names = tar.getnames()
    assert names[:2] == [MANIFEST, "database.dump"]
    assert any(name.startswith("files/media/") for name in names)


async def test_restore__refuses_a_database_that_is_not_empty(
    archive, make_database, tmp_path, capsys
):
    # Given a backup, and a database that holds a node already
    database_url = make_database()
    conn = await connect(database_url)
    try:
        accounts_before = await conn.fetchval("SELECT count(*) FROM accounts")
    finally:
        await conn.close()

    # When it is restored over that database
    fresh = tmp_path / "fresh"
    status = await cli(
        "restore", str(archive), "--database-url", database_url, "--data-dir", str(fresh)
    )

    # Then: one line, exit 1, and neither the database nor the folder changed
    err = capsys.readouterr().err
    assert status == 1
    assert err.startswith("commonsfed: error: ") and err.count("\n") == 1
    assert "is not empty" in err
    assert not fresh.exists()
    conn = await connect(database_url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM accounts") == accounts_before
    finally:
        await conn.close()


async def test_restore__refuses_a_data_folder_that_is_not_empty(
    archive, empty_database_url, tmp_path, capsys
):
    # Given a folder that holds a node's secret key (and a home folder's dot files)
    folder = tmp_path / "used"
    folder.mkdir()
    (folder / "secret.key").write_text("keep me")
    (folder / ".bashrc").write_text("")

    status = await cli(
        "restore", str(archive), "--database-url", empty_database_url, "--data-dir", str(folder)
    )

    err = capsys.readouterr().err
    assert status == 1
    assert "data folder" in err and "not empty" in err and "secret.key" in err
    assert err.count("\n") == 1
    assert (folder / "secret.key").read_text() == "keep me"
    assert sorted(p.name for p in folder.iterdir()) == [".bashrc", "secret.key"]


async def test_restore__refuses_a_file_that_is_not_a_backup(empty_database_url, tmp_path, capsys):
    # Given a text file, and a .tar.gz of something else
    text = tmp_path / "notes.txt"
    text.write_text("not a backup\n")
    other = tmp_path / "other.tar.gz"
    with tarfile.open(other, "w:gz") as tar:
        info = tarfile.TarInfo("README")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"hi"))

    for source, why in ((text, "not a .tar.gz"), (other, f"does not begin with {MANIFEST}")):
        status = await cli(
            "restore",
            str(source),
            "--database-url",
            empty_database_url,
            "--data-dir",
            str(tmp_path / "fresh"),
        )

        err = capsys.readouterr().err
        assert status == 1
        assert "is not a commonsfed backup" in err and why in err
        assert err.count("\n") == 1
        assert not (tmp_path / "fresh").exists()


async def test_restore__refuses_a_truncated_archive_and_leaves_everything_empty(
    archive, empty_database_url, tmp_path, capsys
):
    # Given a backup cut short, as an interrupted copy leaves it
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(archive.read_bytes()[: archive.stat().st_size * 2 // 3])

    # When it is restored
    status = await cli(
        "restore",
        str(cut),
        "--database-url",
        empty_database_url,
        "--data-dir",
        str(tmp_path / "fresh"),
    )

    # Then it is refused, and the folder and the database stay empty
    err = capsys.readouterr().err
    assert status == 1
    assert "damaged or cut short" in err and err.count("\n") == 1
    assert not (tmp_path / "fresh").exists()
    conn = await connect(empty_database_url)
    try:
        assert (
            await conn.fetchval("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == 0
        )
    finally:
        await conn.close()


async def test_backup__refuses_to_write_over_a_file(settings, tmp_path, capsys):
    archive = tmp_path / "node.tar.gz"
    archive.write_text("an older backup")

    status = await cli(
        "backup",
        str(archive),
        "--database-url",
        settings.database_url,
        "--data-dir",
        str(settings.data_dir),
    )

    assert status == 1
    assert "exists already" in capsys.readouterr().err
    assert archive.read_text() == "an older backup"


async def test_backup__refuses_a_file_inside_the_data_folder(settings, capsys):
    # each backup there would carry the ones before it
    settings.data_dir.mkdir(parents=True)
    archive = settings.data_dir / "node.tar.gz"

    status = await cli(
        "backup", str(archive), "--database-url", settings.database_url,
        "--data-dir", str(settings.data_dir),
    )  # fmt: skip

    assert status == 1
    assert "inside the data folder" in capsys.readouterr().err
    assert not archive.exists()


def test_choose_dump_tool__the_oldest_that_can_dump_the_server():
    tools = [Tool("/usr/bin/pg_dump", 15), Tool("/pgserver/bin/pg_dump", 16)]

    assert choose_dump_tool(tools, 15).major == 15  # its archive restores with 15 or newer
    assert choose_dump_tool(tools, 16).major == 16  # Debian's 15 cannot dump a 16 server
    with pytest.raises(
        DumpError, match=r"PostgreSQL 17.*only pg_dump 15 .*, 16 .*postgresql-client-17"
    ):
        choose_dump_tool(tools, 17)
    with pytest.raises(DumpError, match="no pg_dump found"):
        choose_dump_tool([], 16)


def test_choose_restore_tool__the_newest_if_it_reads_the_archive():
    tools = [Tool("/usr/bin/pg_restore", 15), Tool("/pgserver/bin/pg_restore", 16)]

    assert choose_restore_tool(tools, 15).major == 16
    with pytest.raises(DumpError, match="written by pg_dump 16.*only pg_restore 15"):
        choose_restore_tool(tools[:1], 16)
