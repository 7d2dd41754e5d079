"""/admin/accounts: every account, searched by name or address and filtered by state, with
the approval queue first; approving and rejecting an application with a reason."""

from __future__ import annotations

import orjson
import pytest

from commonsfed.db.pool import create_pool
from commonsfed.services import accounts
from tests.builders import DEFAULT_PASSWORD, log_in, post_form, register
from tests.integration.test_account_actions import act, snapshot


@pytest.fixture
async def node(make_client, settings):
    """A node in approval mode: ada the admin, mo a moderator, active rex and lin, and
    bob waiting for approval. Returns (pool, moderator's client, visitor's client)."""
    pool = await create_pool(settings.database_url)
    for name, role in (("ada", "admin"), ("mo", "moderator"), ("rex", "none"), ("lin", "none")):
        await accounts.register(pool, settings, username=name, email=f"{name}@example.org",
                                password=DEFAULT_PASSWORD, role=role, by_admin=True)  # fmt: skip
    visitor = await make_client(registration="approval")
    await register(visitor, "bob", email="bob@mail.example")
    mo = await make_client(registration="approval")
    await log_in(mo, "mo")
    yield pool, mo, visitor
    await pool.close()


def names(page: str) -> list[str]:
    body = page.split("<tbody>")[1].split("</tbody>")[0] if "<tbody>" in page else ""
    return [cell.split("</a>")[0].split(">")[-1]
            for cell in body.split('<td><a href="/admin/accounts/')[1:]]  # fmt: skip


async def test_accounts_list__filters_by_state_and_searches_names_and_addresses(node):
    pool, mo, _ = node
    await act(mo, "rex", "limit")
    await act(mo, "lin", "suspend")

    async def shown(query: str) -> list[str]:
        response = await mo.get(f"/admin/accounts?{query}")
        assert response.status == 200
        return names(await response.text())

    assert await shown("") == ["bob"]  # the approval queue first
    assert await shown("status=limited") == ["rex"]
    assert await shown("status=suspended") == ["lin"]
    assert sorted(await shown("status=active")) == ["ada", "mo"]
    assert sorted(await shown("status=all")) == ["ada", "bob", "lin", "mo", "rex"]
    assert await shown("status=all&q=MAIL.EXAMPLE") == ["bob"]
    assert await shown("status=all&q=re") == ["rex"]
    assert await shown("status=active&q=rex") == []


@pytest.mark.parametrize("query", ["status=banned", "page=0", "page=x"])
async def test_accounts_list__a_bad_filter_is_400(node, query):
    _, mo, _ = node

    response = await mo.get(f"/admin/accounts?{query}")

    assert response.status == 400


async def test_account_page__shows_the_residents_facts(node):
    pool, mo, _ = node
    await act(mo, "rex", "warn", "Be kind.")

    page = await (await mo.get("/admin/accounts/rex")).text()

    for fact in ("rex@example.org", "resident", "active", "Last seen", "Listings", "Be kind."):
        assert fact in page, fact
    assert (await mo.get("/admin/accounts/nobody")).status == 404


async def test_approve__the_applicant_may_log_in_and_the_log_says_who(node):
    pool, mo, visitor = node

    response = await post_form(mo, "/admin/accounts/approve", {"username": "bob"},
                               "/admin/accounts")  # fmt: skip

    assert response.status == 200 and "@bob may log in now." in await response.text()
    assert (await log_in(visitor, "bob")).status == 200
    async with pool.acquire() as conn:
        line = await conn.fetchrow("SELECT moderator_name, action, target FROM moderation_log")
    assert tuple(line) == ("mo", "approve", "bob")


async def test_reject__mails_the_reason_and_frees_the_name_and_address(node, make_client):
    pool, mo, visitor = node

    response = await post_form(mo, "/admin/accounts/reject",
                               {"username": "bob", "reason": "We are a street of ten houses."},
                               "/admin/accounts")  # fmt: skip

    assert response.status == 200 and "@bob was rejected" in await response.text()
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM accounts WHERE username = 'bob'") == 0
        mail = await conn.fetchrow(
            "SELECT recipient, context::text FROM outgoing_mail WHERE template = 'account_action'"
        )
        line = await conn.fetchrow("SELECT action, target, reason FROM moderation_log")
    assert mail[0] == "bob@mail.example"
    assert orjson.loads(mail[1])["reason"] == "We are a street of ten houses."
    assert tuple(line) == ("reject", "bob", "We are a street of ten houses.")
    again = await register(await make_client(registration="approval"), "bob",
                           email="bob@mail.example")  # fmt: skip
    assert again.status == 200


@pytest.mark.parametrize("path, form, status, message", [
    ("/admin/accounts/reject", {"username": "bob", "reason": " "}, 422, "Give a reason"),
    ("/admin/accounts/reject", {"username": "rex", "reason": "No."}, 400, "not waiting"),
    ("/admin/accounts/reject", {"username": "nobody", "reason": "No."}, 404, "no account"),
    ("/admin/accounts/approve", {"username": "rex"}, 400, "not waiting"),
    ("/admin/accounts/approve", {"username": "nobody"}, 404, "no account"),
])  # fmt: skip
async def test_approve_and_reject__bad_input_changes_nothing(node, path, form, status, message):
    pool, mo, _ = node
    before = await snapshot(pool)

    response = await post_form(mo, path, form, "/admin/accounts")

    assert response.status == status and message in await response.text()
    assert await snapshot(pool) == before


async def test_approve_and_reject__a_resident_is_refused(node, make_client):
    pool, _, _ = node
    rex = await make_client()
    await log_in(rex, "rex")
    before = await snapshot(pool)

    for path in ("/admin/accounts/approve", "/admin/accounts/reject"):
        response = await post_form(rex, path, {"username": "bob", "reason": "No."}, "/settings")
        assert response.status == 403
    assert await snapshot(pool) == before
