"""Moderators act on residents from /admin/accounts/<name>: warn, limit, suspend, and undo;
what each does to the resident's listings, login and sessions, what the resident is told,
and the line in the moderation log. Every refusal sends its bad input and checks that
nothing changed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest

from commonsfed.services import accounts
from commonsfed.services.jobs import ScheduledJobs
from commonsfed.web.keys import SETTINGS
from tests.builders import log_in, post_form, post_listing

AS2 = "application/activity+json"


@pytest.fixture
async def people(ada, mo, rex, pool):
    """ada the admin, mo a moderator, rex a resident with a listing and a confirmed address."""
    async with pool.acquire() as conn:
        await conn.execute("UPDATE accounts SET email_confirmed_at = now()")
    response = await post_listing(rex, {"title": "Rex's ladder"})
    assert response.status == 303, await response.text()
    return pool, response.headers["Location"]


async def act(client, name: str, action: str, reason: str = "Spam in three listings."):
    return await post_form(client, f"/admin/accounts/{name}/action",
                           {"action": action, "reason": reason}, f"/admin/accounts/{name}")  # fmt: skip


async def snapshot(pool) -> tuple:
    """Everything an action could change."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            """
            SELECT username, status, role, limited_at, suspended_at FROM accounts
            ORDER BY username
            """
        )
        counts = await conn.fetchrow(
            """
            SELECT (SELECT count(*) FROM moderation_log) AS log,
                   (SELECT count(*) FROM account_warnings) AS warnings,
                   (SELECT count(*) FROM notifications) AS notifications,
                   (SELECT count(*) FROM outgoing_mail) AS mail,
                   (SELECT count(*) FROM account_sessions) AS sessions
            """
        )
    return [tuple(row) for row in rows], tuple(counts)


async def mails(pool, template: str = "account_action") -> list[tuple[str, dict]]:
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT recipient, context::text AS context FROM outgoing_mail WHERE template = $1"
            " ORDER BY id",
            template,
        )
    return [(row["recipient"], orjson.loads(row["context"])) for row in rows]


async def explored(client) -> str:
    return await (await client.get("/explore")).text()


# --- warn ----------------------------------------------------------------------------------


async def test_warn__the_resident_is_notified_and_mailed_and_nothing_else_changes(people, mo, rex):
    pool, listing = people
    before, _ = await snapshot(pool)

    response = await act(mo, "rex", "warn", "Please describe what you offer.")

    assert response.status == 200 and "@rex was warned." in await response.text()
    assert (await snapshot(pool))[0] == before  # no status, role or date changed
    notes = await (await rex.get("/notifications")).text()
    assert "The moderators warned you" in notes and "Please describe what you offer." in notes
    assert await mails(pool) == [("rex@example.org", {
        "username": "rex", "action": "warn", "reason": "Please describe what you offer.",
        "days": 30})]  # fmt: skip
    page = await (await mo.get("/admin/accounts/rex")).text()
    assert "@mo" in page and ">warn<" in page and "Please describe what you offer." in page
    assert "Rex&#39;s ladder" in await explored(rex)


# --- limit ---------------------------------------------------------------------------------


async def test_limit__listings_leave_explore_feeds_and_the_group_and_come_back(
    people, mo, rex, client
):
    pool, listing = people

    response = await act(mo, "rex", "limit")

    assert response.status == 200
    assert "Rex&#39;s ladder" not in await explored(client)
    assert "Rex&#39;s ladder" not in await explored(mo)
    assert "Rex&#39;s ladder" in await explored(rex)  # their own stay in their own view
    for feed in ("/feed.atom", "/categories/food/feed.rss", "/users/rex/feed.atom"):
        assert "Rex&#39;s ladder" not in await (await client.get(feed)).text(), feed
    outbox = await client.get("/users/neighbourhood/outbox?page=1", headers={"Accept": AS2})
    assert (await outbox.json())["orderedItems"] == []
    assert (await client.get(listing)).status == 200  # a direct link still opens it
    assert "limited your account" in await (await rex.get("/notifications")).text()

    await act(mo, "rex", "unlimit", "Sorted out.")

    assert "Rex&#39;s ladder" in await explored(client)
    outbox = await client.get("/users/neighbourhood/outbox?page=1", headers={"Accept": AS2})
    assert len((await outbox.json())["orderedItems"]) == 1
    assert [context["action"] for _, context in await mails(pool)] == ["limit", "unlimit"]


async def test_limit__the_group_does_not_announce_a_limited_residents_new_listing(people, mo, rex):
    pool, _ = people
    await act(mo, "rex", "limit")

    response = await post_listing(rex, {"title": "Rex's second ladder"})

    uid = response.headers["Location"].rsplit("/", 1)[1]
    async with pool.acquire() as conn:
        kinds = await conn.fetch(
            "SELECT type, actor_uri FROM activities WHERE object_uri LIKE '%' || $1 ORDER BY id",
            uid,
        )
    assert [row["type"] for row in kinds] == ["Create"]  # to rex's followers; no Announce


# --- suspend -------------------------------------------------------------------------------


async def test_suspend__ends_sessions_refuses_login_and_hides_listings_until_lifted(
    people, mo, rex, client
):
    pool, listing = people

    response = await act(mo, "rex", "suspend", "Selling stolen bikes.")

    assert response.status == 200 and "@rex is suspended" in await response.text()
    assert (await rex.get("/settings", allow_redirects=False)).status == 303  # logged out
    refused = await log_in(rex, "rex")
    assert "suspended by the node&#39;s moderators" in await refused.text()
    assert (await client.get(listing)).status == 404
    assert (await client.get(listing, headers={"Accept": AS2})).status == 404
    assert (await client.get("/users/rex", headers={"Accept": AS2})).status == 410
    assert "Rex&#39;s ladder" not in await explored(client)
    assert "Rex&#39;s ladder" not in await (await client.get("/feed.atom")).text()
    [(_, context)] = await mails(pool)
    assert context["action"] == "suspend" and context["reason"] == "Selling stolen bikes."

    await act(mo, "rex", "unsuspend", "It was a misunderstanding.")

    assert (await log_in(rex, "rex")).status == 200
    notes = await (await rex.get("/notifications")).text()
    assert "suspended your account" in notes and "lifted the suspension" in notes
    assert (await client.get(listing)).status == 200
    assert (await client.get("/users/rex", headers={"Accept": AS2})).status == 200
    assert "Rex&#39;s ladder" in await explored(client)


async def test_suspension__after_30_days_the_account_is_deleted_as_by_its_owner(people, mo, rex):
    pool, listing = people
    settings = mo.server.app[SETTINGS]
    await act(mo, "rex", "suspend", "Selling stolen bikes.")
    now = datetime.now(UTC)

    await ScheduledJobs(pool, settings, lambda: now + timedelta(days=29)).tick()
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT status FROM accounts WHERE username = 'rex'") == (
            "suspended"
        )
    await ScheduledJobs(pool, settings, lambda: now + timedelta(days=31)).tick()

    async with pool.acquire() as conn:
        row = await conn.fetchrow("SELECT status, email FROM accounts WHERE username = 'rex'")
        removed = await conn.fetchval("SELECT count(*) FROM removed_listings")
        delete = await conn.fetchval(
            "SELECT count(*) FROM activities WHERE type = 'Delete' AND object_uri LIKE '%/users/rex'"
        )
        log = await conn.fetchrow(
            "SELECT moderator_id, action FROM moderation_log ORDER BY id DESC LIMIT 1"
        )
    assert tuple(row) == ("deleted", None) and removed == 1 and delete == 1
    assert tuple(log) == (None, "delete_account")
    # the erasure took the suspension's mail, which holds the address, with the rest
    assert [(to, c["action"], c["reason"]) for to, c in await mails(pool)] == [
        ("rex@example.org", "delete", "Selling stolen bikes.")
    ]


async def test_suspension__lifted_before_its_30_days_ran_out_is_never_deleted(people, mo):
    pool, _ = people
    settings = mo.server.app[SETTINGS]
    await act(mo, "rex", "suspend")
    await act(mo, "rex", "unsuspend", "Lifted.")

    await ScheduledJobs(pool, settings, lambda: datetime.now(UTC) + timedelta(days=31)).tick()

    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT status FROM accounts WHERE username = 'rex'") == "active"


# --- refusals ------------------------------------------------------------------------------


@pytest.mark.parametrize("who, name, action, reason, status, message", [
    ("mo", "ada", "suspend", "No.", 403, "ada is an admin"),
    ("mo", "mo", "warn", "Me.", 403, "your own account"),
    ("ada", "ada", "limit", "Me.", 403, "your own account"),
    ("mo", "rex", "delete", "Gone.", 422, "An action is one of"),
    ("mo", "rex", "warn", "   ", 422, "Give a reason"),
    ("mo", "rex", "warn", "x" * 2001, 422, "under 2000 characters"),
    ("mo", "rex", "unlimit", "Undo.", 403, "@rex is not limited"),
    ("mo", "rex", "unsuspend", "Undo.", 403, "@rex is not suspended"),
    ("mo", "nobody", "warn", "Who?", 404, "no account named"),
])  # fmt: skip
async def test_act__a_refusal_or_bad_input_changes_nothing(
    people, ada, mo, who, name, action, reason, status, message
):
    pool, _ = people
    before = await snapshot(pool)
    client = {"ada": ada, "mo": mo}[who]
    form = "/admin/accounts/rex" if name == "nobody" else f"/admin/accounts/{name}"

    response = await post_form(client, f"/admin/accounts/{name}/action",
                               {"action": action, "reason": reason}, form)  # fmt: skip

    assert response.status == status
    assert message in (await response.text()).replace("&#39;", "'")
    assert await snapshot(pool) == before


async def test_act__doing_a_thing_twice_is_refused_and_changes_nothing(people, mo):
    pool, _ = people
    await act(mo, "rex", "limit")
    before = await snapshot(pool)

    response = await act(mo, "rex", "limit")

    assert response.status == 403 and "@rex is limited already" in await response.text()
    assert await snapshot(pool) == before


async def test_act__a_resident_is_refused(people, rex):
    pool, _ = people
    before = await snapshot(pool)

    response = await post_form(rex, "/admin/accounts/mo/action",
                               {"action": "warn", "reason": "Ha."}, "/settings")  # fmt: skip

    assert response.status == 403 and await snapshot(pool) == before


async def test_admin__acts_on_another_admin(people, ada, mo):
    pool, _ = people
    admin = await accounts.get_by_username(pool, "ada")
    await accounts.set_role(pool, "mo", "admin", by=admin)

    response = await act(ada, "mo", "warn", "Mind the rules.")

    assert response.status == 200 and "@mo was warned." in await response.text()


async def test_account_page__moderators_see_no_forms_for_admins_or_themselves(people, mo):
    for name, hint in (("ada", "Only an admin acts on an admin."), ("mo", "your own account")):
        page = await (await mo.get(f"/admin/accounts/{name}")).text()
        assert hint in page and "/action" not in page
    page = await (await mo.get("/admin/accounts/rex")).text()
    assert 'value="warn"' in page and 'value="suspend"' in page and 'value="unlimit"' not in page
    assert "/role" not in page  # only admins see the role form


# --- roles ---------------------------------------------------------------------------------


async def test_role_form__an_admin_changes_a_role(people, ada):
    pool, _ = people

    response = await post_form(ada, "/admin/accounts/rex/role", {"role": "moderator"},
                               "/admin/accounts/rex")  # fmt: skip

    assert response.status == 200 and "@rex is now a moderator." in await response.text()
    assert (await accounts.get_by_username(pool, "rex")).role == "moderator"


@pytest.mark.parametrize("who, name, role, status", [
    ("mo", "rex", "admin", 403),  # a moderator does not change roles
    ("mo", "mo", "admin", 403),
    ("ada", "rex", "owner", 403),  # no such role
    ("ada", "ada", "none", 403),  # the last admin
    ("ada", "nobody", "moderator", 404),
])  # fmt: skip
async def test_role_form__refusals_change_nothing(people, ada, mo, who, name, role, status):
    pool, _ = people
    before = await snapshot(pool)
    client = {"ada": ada, "mo": mo}[who]

    response = await post_form(client, f"/admin/accounts/{name}/role", {"role": role},
                               "/admin/accounts/rex")  # fmt: skip

    assert response.status == status
    assert await snapshot(pool) == before
