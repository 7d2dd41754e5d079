"""Domain blocks in and out as Mastodon's CSV: a file in Mastodon's shape imports, an export
imported into another node exports the same again, and a file with bad rows imports nothing
and names every bad row."""

from __future__ import annotations

from pathlib import Path

import pytest

from commonsfed.models import DomainPolicy
from commonsfed.services import accounts, domain_csv, domains
from commonsfed.services.domain_csv import ImportRefused, RowError, blocks_from_csv
from commonsfed.web.keys import POOL
from tests.builders import register_and_login
from tests.integration.test_domain_blocks import rows, spam_scene, upload

SAMPLE = (Path(__file__).parent.parent / "data" / "mastodon_domain_blocks.csv").read_bytes()
HEADER = b"#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate\n"


@pytest.fixture
def make_admin(make_client):
    """make_admin(**settings changes) -> a client logged in as ada, admin of a node."""

    async def make(**changes):
        client = await make_client(**changes)
        await register_and_login(client, "ada")
        await accounts.set_role(client.server.app[POOL], "ada", "admin")
        return client

    return make


@pytest.fixture
async def ada(make_admin):
    return await make_admin()


async def export(client) -> str:
    response = await client.get("/admin/domains/export")
    assert response.status == 200
    assert response.content_type == "text/csv"
    assert response.headers["Content-Disposition"] == 'attachment; filename="domain_blocks.csv"'
    return await response.text()


# --- a file from Mastodon, and the round trip ------------------------------------------------


async def test_import__a_file_in_mastodons_shape(ada):
    response = await upload(ada, SAMPLE)

    assert response.status == 200
    assert "Imported 5 blocks." in await response.text()
    pool = ada.server.app[POOL]
    assert await rows(pool, "SELECT domain, severity, reject_media, reject_reports, "
                            "public_comment, obfuscate, note FROM domain_policies "
                            "ORDER BY domain") == [
        ("loud.example", "limit", True, False, "Unmoderated, and loud about it", True,
         "Imported from domain_blocks.csv"),
        ("pictures.example", "none", True, True, "", False, "Imported from domain_blocks.csv"),
        ("quiet.example", "limit", False, False, "", False, "Imported from domain_blocks.csv"),
        ("spam.example", "suspend", False, False, "Spam and nothing else", False,
         "Imported from domain_blocks.csv"),
        ("xn--bcher-kva.example", "suspend", False, True, 'Says "free" and sells', False,
         "Imported from domain_blocks.csv"),
    ]  # fmt: skip
    assert len(await rows(pool, "SELECT * FROM moderation_log WHERE action = 'block_domain'")) == 5


async def test_export__imported_into_another_node_exports_the_same(ada, make_admin, make_database):
    # Given blocks of every kind on one node
    pool = ada.server.app[POOL]
    await upload(ada, SAMPLE)
    first = await export(ada)

    # When the export is imported into another node, and exported there
    other = await make_admin(database_url=make_database(), domain="other.test")
    response = await upload(other, first.encode())
    assert response.status == 200, await response.text()
    second = await export(other)

    # Then the two files are the same, and the same as Mastodon's but for its quoting of ""
    assert second == first
    assert first.splitlines()[0] == "#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate"
    assert "loud.example,silence,true,false,\"Unmoderated, and loud about it\",true" in first
    assert "pictures.example,noop,true,true,,false" in first
    assert len(await rows(pool, "SELECT * FROM domain_policies")) == 5


async def test_import__a_suspension_ends_follows_and_drops_deliveries(ada, settings):
    # Given sam of spam.example, who follows ada and is followed, with a delivery waiting
    pool = ada.server.app[POOL]
    await spam_scene(pool, settings)

    # When a file that suspends spam.example and limits another is imported
    response = await upload(ada, HEADER + b"spam.example,suspend,false,false,,false\n"
                                          b"loud.example,silence,false,false,,false\n")

    # Then what the block page's suspension does, the import does
    assert response.status == 200
    assert await rows(pool, "SELECT * FROM follows") == []
    assert await rows(pool, "SELECT state FROM deliveries") == [("failed",)]
    assert await rows(pool, "SELECT * FROM remote_objects") == []


async def test_import__a_list_without_header_suspends_each_domain(ada):
    response = await upload(ada, b"spam.example\r\nLOUD.example\r\n\r\n")

    assert response.status == 200
    assert await rows(ada.server.app[POOL], "SELECT domain, severity FROM domain_policies "
                                            "ORDER BY domain") == [
        ("loud.example", "suspend"), ("spam.example", "suspend")]  # fmt: skip


async def test_import__columns_left_out_of_the_header_take_mastodons_defaults(ada):
    response = await upload(ada, b"#domain,#severity\nloud.example,silence\n")

    assert response.status == 200
    assert await rows(ada.server.app[POOL], "SELECT domain, severity, reject_media, "
                                            "public_comment FROM domain_policies") == [
        ("loud.example", "limit", False, "")]  # fmt: skip


async def test_import__domains_blocked_before_are_left_as_they_were(ada, settings):
    pool = ada.server.app[POOL]
    await domains.block_domain(pool, settings, None, DomainPolicy(
        "spam.example", "block", "limit", note="by hand"))  # fmt: skip

    response = await upload(ada, SAMPLE)

    assert "Imported 4 blocks. 1 were blocked already" in await response.text()
    assert await rows(pool, "SELECT severity, note FROM domain_policies "
                            "WHERE domain = 'spam.example'") == [("limit", "by hand")]


# --- bad files -------------------------------------------------------------------------------

BAD = (
    HEADER
    + b"good.example,suspend,false,false,,false\n"
    + b"http://bad domain/,suspend,false,false,,false\n"
    + b"odd.example,ban,false,false,,false\n"
    + b"flag.example,silence,maybe,false,,false\n"
    + b"short.example,silence,false,false\n"
    + b"good.example,noop,false,false,,false\n"
    + b"me.test,suspend,false,false,,false\n"
)


async def test_import__bad_rows_are_each_named_and_nothing_is_imported(make_admin):
    ada = await make_admin(domain="me.test")

    response = await upload(ada, BAD)

    assert response.status == 422
    page = await response.text()
    assert "Nothing was imported." in page
    for line, message in [
        (3, "&#39;http://bad domain/&#39; is not a domain like commons.example.org."),
        (4, "Unknown severity &#39;ban&#39;: use suspend, silence or noop."),
        (5, "reject_media is &#39;maybe&#39;: use true or false."),
        (6, "The row has 4 columns where the header has 6"),
        (7, "good.example is on line 2 too."),
        (8, "me.test is this node&#39;s own domain."),
    ]:
        assert f"<li>Line {line}: {message}" in page, (line, message)
    pool = ada.server.app[POOL]
    assert await rows(pool, "SELECT * FROM domain_policies") == []
    assert await rows(pool, "SELECT * FROM moderation_log WHERE target_kind = 'domain'") == []


async def test_import__a_file_too_large_is_refused_before_reading_rows(ada):
    line = b"spam%06d.example,suspend,false,false,,false\n"
    big = HEADER + b"".join(line % n for n in range(domain_csv.MAX_BYTES // len(line % 0) + 1))

    response = await upload(ada, big)

    assert response.status == 422
    assert "The file is larger than 900 KiB" in await response.text()
    assert await rows(ada.server.app[POOL], "SELECT count(*) FROM domain_policies") == [(0,)]


async def test_import__no_file_chosen(ada):
    response = await upload(ada, b"", name="")  # what a browser sends without a file

    assert response.status == 422
    assert "Choose a CSV file to import." in await response.text()


@pytest.mark.parametrize("content, line, message", [
    (b"\xff\xfe#domain\n", 0, "The file is not UTF-8 text."),
    (b"", 0, "The file holds no domains."),
    (b'#domain\n"spam.example\n', 0, "The file is not CSV"),
    (b"spam.example,suspend\n", 1, "The first line must be the header"),
    (b"#domain,#severity,#colour\nspam.example,suspend,red\n", 1, "unknown column '#colour'"),
    (b"#domain,#domain\na.example,b.example\n", 1, "column #domain twice"),
    (b"#domain,#obfuscate\nspam.example,yes please\n", 2, "obfuscate is 'yes please'"),
    (b"#domain\n" + b"a.example\n" * 3, 3, "a.example is on line 2 too."),
])  # fmt: skip
def test_blocks_from_csv__refuses(settings, content, line, message):
    with pytest.raises(ImportRefused) as refused:
        blocks_from_csv(content, settings)

    assert any(error.line == line and message in error.message for error in refused.value.errors), \
        refused.value.errors


def test_blocks_from_csv__more_rows_than_mastodon_reads_are_refused(settings):
    content = b"#domain\n" + b"".join(b"d%d.example\n" % n for n in range(domain_csv.MAX_ROWS + 1))

    with pytest.raises(ImportRefused) as refused:
        blocks_from_csv(content, settings)

    assert refused.value.errors == [RowError(0, "The file has 20,001 rows; import at most 20,000 "
                                                "at a time.")]  # fmt: skip


def test_blocks_from_csv__a_comment_over_several_lines_keeps_the_line_numbers(settings):
    content = HEADER + b'a.example,suspend,false,false,"one\ntwo",false\nb.example,ban,,,,\n'

    with pytest.raises(ImportRefused) as refused:
        blocks_from_csv(content, settings)

    assert [error.line for error in refused.value.errors] == [4]
