"""The public /about page, as Mastodon's: what the node is, its rules, whom to write to,
and the servers it moderates with why."""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from commonsfed.services import about
from commonsfed.web.keys import POOL


async def about_page(request: web.Request) -> web.Response:
    domains = await about.moderated_domains(request.app[POOL])
    return aiohttp_jinja2.render_template("about.html", request, {"domains": domains})
