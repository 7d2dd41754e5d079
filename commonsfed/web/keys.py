"""Typed keys for what the application and requests carry."""

from __future__ import annotations

import asyncpg
from aiohttp import web

from commonsfed.federation.context import Federation
from commonsfed.live_settings import LiveSettings
from commonsfed.metrics import Metrics
from commonsfed.models import Account

# the node's settings as they are now (an admin may change some on the web)
SETTINGS = web.AppKey("settings", LiveSettings)
POOL = web.AppKey("pool", asyncpg.Pool)
FEDERATION = web.AppKey("federation", Federation)
METRICS = web.AppKey("metrics", Metrics)

# the logged-in Account, or None
ACCOUNT = web.RequestKey("account", Account | None)
# the id of the logged-in session (services.sessions), or None
SESSION_ID = web.RequestKey("session_id", int | None)
# the language the page is read in (commonsfed.i18n; web.language.reader_language)
LANGUAGE = web.RequestKey("language", str)
