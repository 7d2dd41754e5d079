"""Roles on the web: what a moderator, an admin and a resident may open under /admin, and the
moderation log that records who changed what."""

from __future__ import annotations

import pytest

from commonsfed.services import accounts
from commonsfed.services.errors import NotAllowed


@pytest.fixture
async def roles(ada, mo, rex, pool):
    """ada the admin, mo a moderator, rex a resident (tests/integration/conftest.py)."""
    return pool


@pytest.mark.parametrize("path, admin, moderator, resident", [
    ("/admin/accounts", 200, 200, 403),
    ("/admin/log", 200, 200, 403),
    ("/admin/categories", 200, 403, 403),
])  # fmt: skip
async def test_admin_pages__open_by_role(roles, ada, mo, rex, path, admin, moderator, resident):
    assert (await ada.get(path)).status == admin
    assert (await mo.get(path)).status == moderator
    assert (await rex.get(path)).status == resident


async def test_admin_link__shown_to_moderators_and_admins_only(roles, ada, mo, rex):
    for client, shown in ((ada, True), (mo, True), (rex, False)):
        assert ('href="/admin">Admin</a>' in await (await client.get("/")).text()) is shown


async def test_admin_nav__a_moderator_is_not_shown_the_admins_sections(roles, ada, mo):
    assert 'href="/admin/categories"' in await (await ada.get("/admin/log")).text()
    assert 'href="/admin/categories"' not in await (await mo.get("/admin/log")).text()


async def test_moderation_log__shows_who_changed_whose_role_and_when(roles, mo):
    page = await (await mo.get("/admin/log")).text()

    rows = page.split("<tbody>")[1].split("</tbody>")[0].split("<tr>")[1:]
    assert len(rows) == 2
    assert "@ada" in rows[0] and "set role" in rows[0] and "<code>mo</code>" in rows[0]
    assert "to: moderator" in rows[0] and "from: none" in rows[0]
    assert "<em>the node</em>" in rows[1] and "<code>ada</code>" in rows[1]


async def test_moderation_log__pages_by_the_last_line_shown(roles, mo):
    pool = roles
    admin = await accounts.get_by_username(pool, "ada")
    for role in ("none", "moderator") * 30:
        await accounts.set_role(pool, "rex", role, by=admin)

    first = await (await mo.get("/admin/log")).text()
    assert first.count("<code>rex</code>") == 50 and "Older</a>" in first
    href = first.split('<a href="/admin/log?before=')[1].split('"')[0]
    second = await (await mo.get(f"/admin/log?before={href}")).text()

    assert second.count("<code>rex</code>") == 10 and "<code>mo</code>" in second
    assert "Older</a>" not in second


@pytest.mark.parametrize("before", ["abc", "-1", "1" * 19])
async def test_moderation_log__a_bad_page_mark_is_400(roles, mo, before):
    response = await mo.get(f"/admin/log?before={before}")

    assert response.status == 400 and "number of a line" in await response.text()


async def test_set_role__an_unknown_role_and_the_last_admin_are_refused(roles):
    pool = roles
    with pytest.raises(NotAllowed, match="A role is one of"):
        await accounts.set_role(pool, "rex", "owner")
    with pytest.raises(NotAllowed, match="only admin"):
        await accounts.set_role(pool, "ada", "moderator")

    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT username, role FROM accounts ORDER BY username")
        assert [tuple(row) for row in rows] == [("ada", "admin"), ("mo", "moderator"),
                                                ("rex", "none")]  # fmt: skip
        assert await conn.fetchval("SELECT count(*) FROM moderation_log") == 2
