"""/healthz: for load balancers and monitoring; JSON, 503 when the node cannot serve."""

from __future__ import annotations

import asyncio

from aiohttp import web

from commonsfed import __version__
from commonsfed.db import migrate
from commonsfed.db.pool import DATABASE_ERRORS
from commonsfed.resources import migrations_dir
from commonsfed.web.keys import POOL

_TIMEOUT = 3


async def healthz(request: web.Request) -> web.Response:
    try:
        async with asyncio.timeout(_TIMEOUT):
            async with request.app[POOL].acquire() as conn:
                applied = await migrate.applied_versions(conn)
    except DATABASE_ERRORS as exc:
        body = {"status": "unavailable", "version": __version__,
                "database": "unreachable", "error": type(exc).__name__}
        return web.json_response(body, status=503)
    known = migrate.discover(migrations_dir())
    pending = [m.filename for m in known if m.version not in applied]
    body = {
        "status": "ok" if not pending else "migrations pending",
        "version": __version__,
        "database": "ok",
        "migrations": {"applied": len(applied), "pending": pending},
    }
    return web.json_response(body, status=503 if pending else 200)
