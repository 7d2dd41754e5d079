"""The node's settings, changed on the web while it runs (/admin/settings): stored in the
database, logged, refused whole when a field is bad, and seen at once by every request,
template and worker, in this process and in others on the same database."""

from __future__ import annotations

from dataclasses import replace

import pytest

from commonsfed.app import create_app
from commonsfed.db.pool import create_pool
from commonsfed.federation import policy
from commonsfed.federation.context import open_federation
from commonsfed.federation.inbox_worker import InboxWorker
from commonsfed.live_settings import LiveSettings
from commonsfed.services import accounts, node_settings
from commonsfed.services.errors import NotAllowed
from commonsfed.web.keys import POOL, SETTINGS
from tests.builders import post_form
from tests.waiting import until

GOOD = {
    "instance_name": "Oak Lane Commons",
    "instance_description": "Oak Lane shares ladders, soup and Saturdays.",
    "rules": "Be kind to neighbours.\n\nNo selling for profit.\n",
    "contact_email": "admins@oak.example",
    "registration": "closed",
    "federation": "allowlist",
    "group_follows": "manual",
}

NEWCOMER = {"username": "newcomer", "email": "new@example.org", "password": "a long passphrase"}


@pytest.fixture
async def visitor(aiohttp_client, ada):
    """Someone not logged in, on the admin's app (the same `serve` process)."""
    return await aiohttp_client(ada.server)


async def save(client, **changes):
    return await post_form(client, "/admin/settings", {**GOOD, **changes})


async def stored(pool) -> dict:
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT name, value FROM node_settings")
        log = await conn.fetch(
            "SELECT action, target, details FROM moderation_log WHERE target_kind = 'setting'"
        )
    return {"rows": {row["name"]: row["value"] for row in rows}, "log": log}


async def test_settings_page__starts_from_the_environments_values(ada):
    page = await (await ada.get("/admin/settings")).text()

    assert 'value="Elm Street Commons"' in page
    assert "Neighbours on Elm Street sharing tools, food and time.</textarea>" in page
    assert '<option value="open" selected>' in page and '<option value="auto" selected>' in page


async def test_settings_page__a_change_holds_from_the_next_request(ada, visitor):
    # Given a node as its environment set it up
    pool = ada.server.app[POOL]

    # When its admin saves new settings
    response = await save(ada)
    assert response.status == 200
    assert "Saved: instance name, instance description, rules" in await response.text()

    # Then the next requests, of anyone, see them: pages, NodeInfo, the Group, registration
    assert "Oak Lane Commons</a>" in await (await visitor.get("/")).text()
    info = await (await visitor.get("/nodeinfo/2.1")).json()
    assert info["metadata"]["nodeName"] == "Oak Lane Commons"
    assert info["metadata"]["federation"] == "allowlist" and info["openRegistrations"] is False
    group = await (
        await visitor.get("/users/neighbourhood", headers={"Accept": "application/activity+json"})
    ).json()
    assert group["name"] == "Oak Lane Commons"
    # follows of the Group now wait for an admin, and peers see it as a locked account
    assert group["manuallyApprovesFollowers"] is True
    assert group["summary"] == "Oak Lane shares ladders, soup and Saturdays."
    assert (await visitor.get("/register")).status == 403
    refused = await post_form(visitor, "/register", NEWCOMER, form_path="/login")
    assert refused.status == 403 and "Registration is closed" in await refused.text()
    assert await accounts.get_by_username(pool, "newcomer") is None
    # and the form shows what was saved, the rules one a line
    page = await (await ada.get("/admin/settings")).text()
    assert "Be kind to neighbours.\nNo selling for profit.</textarea>" in page
    assert '<option value="manual" selected>' in page


async def test_settings_page__each_change_is_a_log_line_with_before_and_after(ada):
    await save(ada)
    response = await save(ada, registration="approval")

    assert "Saved: registration." in await response.text()
    state = await stored(ada.server.app[POOL])
    assert state["rows"]["registration"] == '"approval"'
    assert state["rows"]["rules"] == '["Be kind to neighbours.", "No selling for profit."]'
    changes = [(row["target"], row["details"]) for row in state["log"]
               if row["target"] == "registration"]  # fmt: skip
    assert changes == [("registration", '{"to": "closed", "from": "open"}'),
                       ("registration", '{"to": "approval", "from": "closed"}')]  # fmt: skip
    assert {row["action"] for row in state["log"]} == {"change_setting"}
    assert len(state["log"]) == 8  # seven at first, one after


async def test_settings_page__saving_the_same_values_changes_nothing(ada):
    await save(ada)
    response = await save(ada)

    assert "Nothing changed." in await response.text()
    assert len((await stored(ada.server.app[POOL]))["log"]) == 7


@pytest.mark.parametrize("field, value, message", [
    ("registration", "everyone", "Choose one of open, approval, closed."),
    ("federation", "closed", "Choose one of open, allowlist."),
    ("group_follows", "sometimes", "Choose one of auto, manual."),
    ("contact_email", "admins at oak", "This is not an e-mail address"),
    ("rules", "Be kind.\n" + "x" * 301, "Rule 2 is 301 characters long; a rule has at most 300"),
    ("instance_name", "  ", "Give the node a name of 1 to 100 characters."),
])  # fmt: skip
async def test_settings_page__a_bad_field_saves_nothing(ada, visitor, field, value, message):
    response = await save(ada, **{field: value})

    # Then the page says what is wrong next to the field, keeps what was typed, saves nothing
    assert response.status == 422
    page = await response.text()
    assert f'id="e-{field}">{message}' in page and "Nothing was saved" in page
    assert "Oak Lane shares ladders, soup and Saturdays.</textarea>" in page
    assert await stored(ada.server.app[POOL]) == {"rows": {}, "log": []}
    assert "Elm Street Commons</a>" in await (await visitor.get("/")).text()


async def test_settings_page__a_moderator_is_refused_and_nothing_changes(ada, mo):
    assert (await mo.get("/admin/settings")).status == 403

    response = await post_form(mo, "/admin/settings", GOOD, form_path="/settings")

    assert response.status == 403 and "admins can see this page" in await response.text()
    assert await stored(ada.server.app[POOL]) == {"rows": {}, "log": []}


async def test_node_settings_save__refuses_a_moderator_called_directly(ada, mo):
    pool = ada.server.app[POOL]
    moderator = await accounts.get_by_username(pool, "mo")

    with pytest.raises(NotAllowed):
        await node_settings.save(pool, ada.server.app[SETTINGS], moderator,
                                 node_settings.SettingsForm(dict(GOOD)))  # fmt: skip
    assert await stored(pool) == {"rows": {}, "log": []}


async def test_settings__another_serve_process_on_the_database_follows(
    ada, aiohttp_client, settings
):
    # Given a second app on the same database, as another `serve` process runs, listening
    other = await aiohttp_client(create_app(settings))
    assert other.server.app[SETTINGS].listening
    assert "Elm Street Commons" in await (await other.get("/about")).text()

    # When the admin saves on the first
    await save(ada)

    # Then the second hears of it (a NOTIFY) and its next requests use the new values
    async def about_says_oak():
        return "Oak Lane Commons" in await (await other.get("/about")).text()

    await until(about_says_oak)
    assert (await post_form(other, "/register", NEWCOMER, form_path="/login")).status == 403


async def test_settings__a_worker_in_another_process_follows_at_its_next_tick(ada, settings):
    # Given a worker's federation on a pool of its own, as `commonsfed worker` has
    pool = await create_pool(settings.database_url)
    try:
        async with open_federation(replace(settings), pool) as fed:
            worker = InboxWorker(fed)
            async with pool.acquire() as conn:
                assert await policy.is_allowed(conn, fed.settings, "far.example")

            # When the admin saves allow-list federation and manual Group follows on the web
            await save(ada)
            await worker.tick()

            # Then the worker's next tick works with them
            assert fed.settings.federation == "allowlist"
            assert fed.settings.group_follows == "manual"
            assert fed.settings.instance_name == "Oak Lane Commons"
            async with pool.acquire() as conn:
                assert not await policy.is_allowed(conn, fed.settings, "far.example")
    finally:
        await pool.close()


async def test_live_settings__a_lost_listening_connection_falls_back_to_asking(ada, settings):
    # Given settings that listen for changes, and then lose their listening connection
    pool = await create_pool(settings.database_url)
    live = LiveSettings(settings)
    try:
        async with live.listening_on(pool):
            await live.refresh(pool)
            async with pool.acquire() as conn:
                await conn.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE query LIKE 'LISTEN%' AND datname = current_database()"
                )
            await until(lambda: not live.listening)

            # When a change is saved meanwhile (nobody hears its NOTIFY)
            await save(ada)

            # Then the next refresh asks the database, finds it, and listens again
            assert (await live.refresh(pool)).instance_name == "Oak Lane Commons"
            assert live.listening
    finally:
        await pool.close()


async def test_live_settings__a_bad_stored_value_is_left_out(ada, settings):
    pool = ada.server.app[POOL]
    async with pool.acquire() as conn:
        await conn.execute(
            """INSERT INTO node_settings (name, value) VALUES
               ('registration', '"sometimes"'), ('instance_name', '"Written by hand"')"""
        )
        await conn.execute("UPDATE node_settings_version SET version = version + 1")
    live = LiveSettings(settings)

    now = await live.refresh(pool)

    assert (now.registration, now.instance_name) == ("open", "Written by hand")
