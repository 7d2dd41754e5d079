"""Endpoints only other servers call (the inboxes, marked `for_peers`) go past what people's
pages need: no session, account, language or page context is made for them, and their
errors are JSON whatever the caller accepts. A real node's app on loopback, and a bare
application for the mechanism itself."""

from __future__ import annotations

from datetime import timedelta

from aiohttp import web

from commonsfed.web.keys import POOL
from commonsfed.web.middlewares import for_peers, people_only
from tests.builders import register_and_login


async def test_people_only__passes_by_for_a_peer_handler_and_runs_for_the_others(aiohttp_client):
    # Given a middleware for people, and two handlers that say whether it ran
    @web.middleware
    async def for_people(request, handler):
        request["made for people"] = True
        return await handler(request)

    async def page(request):
        return web.json_response(request.get("made for people", False))

    @for_peers
    async def inbox(request):
        return web.json_response(request.get("made for people", False))

    app = web.Application(middlewares=[people_only(for_people)])
    app.router.add_get("/page", page)
    app.router.add_post("/inbox", inbox)
    client = await aiohttp_client(app)

    # Then it ran for the page and not for the inbox
    assert await (await client.get("/page")).json() is True
    assert await (await client.post("/inbox")).json() is False


async def test_inbox__a_post_that_carries_a_residents_session_does_not_resume_it(client):
    # Given a resident logged in an hour ago, whose browser then posts to the inbox
    assert (await register_and_login(client, "alice")).status in (200, 303)
    pool = client.app[POOL]
    await pool.execute("UPDATE account_sessions SET last_seen_at = now() - interval '1 hour'")
    response = await client.post(
        "/inbox",
        data=b'{"type": "Create"}',
        headers={"Content-Type": "application/activity+json", "Accept": "text/html"},
    )

    # Then the inbox answered as to a peer (JSON) and made nothing of the session: it was
    # not resumed (which moves its last use to now)
    assert response.status in (400, 401)
    assert response.content_type == "application/json" and "error" in await response.json()
    idle = await pool.fetchval("SELECT now() - last_seen_at FROM account_sessions")
    assert idle > timedelta(minutes=59)
    # while a page does resume it
    assert (await client.get("/settings")).status == 200
    assert await pool.fetchval("SELECT now() - last_seen_at FROM account_sessions") < idle
