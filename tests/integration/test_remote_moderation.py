"""A moderator of north suspends alice of south from /admin/remote-actors?uri=: her signed
activities are then refused at north's inbox with a reason, and accepted again once the
suspension is lifted. Every bad form is refused and changes nothing. (What a suspension
removes is in tests/federation/test_moderation_across_nodes.py.)"""

from __future__ import annotations

import orjson
import pytest

from commonsfed.federation.inbox_worker import InboxWorker
from commonsfed.services import accounts
from tests.builders import DEFAULT_PASSWORD, log_in, post_form, register
from tests.integration.test_inbox import create_note, private_key, send, stored


@pytest.fixture
async def scene(start_nodes):
    """north with ada its admin logged in on north.client; alice on south, cached on north
    by a first Create she sent."""
    north, south = await start_nodes(2)
    await register(south.client, "alice")
    await accounts.register(north.federation.pool, north.settings, username="ada",
                            email="ada@example.org", password=DEFAULT_PASSWORD, role="admin",
                            by_admin=True)  # fmt: skip
    await log_in(north.client, "ada")
    alice = south.url("/users/alice")
    key = await private_key(south, "alice")
    status, _ = await send(north, "/inbox", create_note(alice), alice + "#main-key", key)
    assert status == 202
    return north, alice, key


async def deliver(north, alice: str, key) -> tuple[int, bytes]:
    return await send(north, "/inbox", create_note(alice), alice + "#main-key", key)


async def moderate(north, alice: str, action: str, reason: str = "Spam.", uri: str | None = None):
    return await post_form(north.client, "/admin/remote-actors",
                           {"uri": uri or alice, "action": action, "reason": reason},
                           f"/admin/remote-actors?uri={alice}")  # fmt: skip


async def state(north) -> tuple:
    suspended = await north.query("SELECT uri FROM suspended_actors ORDER BY uri")
    log = await north.query("SELECT action, target, reason FROM moderation_log ORDER BY id")
    return [row[0] for row in suspended], [tuple(row) for row in log]


async def test_remote_actor_page__shows_the_cached_person(scene):
    north, alice, _ = scene

    page = await (await north.client.get(f"/admin/remote-actors?uri={alice}")).text()

    assert "@alice@south.test" in page and "not suspended" in page and 'value="suspend"' in page
    # what she has here, each count with its own plural
    assert here(page) == "0 listings and posts, 0 conversations, 0 messages, 0 follows"
    assert await InboxWorker(north.federation).tick() is True  # her Create, handled
    page = await (await north.client.get(f"/admin/remote-actors?uri={alice}")).text()
    assert here(page) == "1 listing or post, 0 conversations, 0 messages, 0 follows"


def here(page: str) -> str:
    return " ".join(page.split("<dt>Here</dt><dd>")[1].split("</dd>")[0].split())


async def test_suspend__refuses_their_activities_until_lifted(scene):
    north, alice, key = scene
    before = await stored(north)

    response = await moderate(north, alice, "suspend", "Spam in every inbox.")

    assert response.status == 200 and "is suspended" in await response.text()
    assert [r.status for r in response.history] == [303]  # a reload sends nothing again
    status, body = await deliver(north, alice, key)
    assert status == 403
    assert orjson.loads(body)["error"] == f"{alice} is suspended on this node"
    assert await stored(north) == before
    assert await state(north) == ([alice], [("suspend", alice, "Spam in every inbox.")])
    page = await (await north.client.get(f"/admin/remote-actors?uri={alice}")).text()
    assert "suspended since" in page and "Spam in every inbox." in page

    response = await moderate(north, alice, "unsuspend", "They stopped.")

    assert response.status == 200
    assert (await deliver(north, alice, key))[0] == 202


@pytest.mark.parametrize("action, reason, uri, status, message", [
    ("suspend", "  ", None, 422, "Give a reason"),
    ("ban", "Spam.", None, 400, "Choose whether"),
    ("suspend", "Spam.", "ftp://south.test/users/alice", 400, "https:// address"),
    ("suspend", "Spam.", "http://north.test/users/ada", 400, "a resident here"),
    ("unsuspend", "Lift.", None, 403, "is not suspended"),
])  # fmt: skip
async def test_suspend__bad_forms_change_nothing(scene, action, reason, uri, status, message):
    north, alice, key = scene
    before = await state(north)

    response = await moderate(north, alice, action, reason, uri)

    assert response.status == status and message in await response.text()
    assert await state(north) == before
    assert (await deliver(north, alice, key))[0] == 202


async def test_suspend__twice_is_refused_and_changes_nothing(scene):
    north, alice, _ = scene
    await moderate(north, alice, "suspend")
    before = await state(north)

    response = await moderate(north, alice, "suspend")

    assert response.status == 403 and "suspended already" in await response.text()
    assert await state(north) == before


async def test_remote_actor_page__a_bad_uri_is_400_and_residents_are_refused(scene):
    north, alice, _ = scene
    assert (await north.client.get("/admin/remote-actors?uri=nothing")).status == 400
    await accounts.register(north.federation.pool, north.settings, username="rex",
                            email="rex@example.org", password=DEFAULT_PASSWORD, by_admin=True)  # fmt: skip
    await post_form(north.client, "/logout", {}, "/")
    await log_in(north.client, "rex")
    before = await state(north)

    assert (await north.client.get(f"/admin/remote-actors?uri={alice}")).status == 403
    response = await post_form(north.client, "/admin/remote-actors",
                               {"uri": alice, "action": "suspend", "reason": "Ha."}, "/settings")  # fmt: skip
    assert response.status == 403 and await state(north) == before
