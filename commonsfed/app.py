"""create_app(settings): the aiohttp application with its resources and routes."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import aiohttp_jinja2
import jinja2
import jinja2.bccache
from aiohttp import web
from aiohttp_session import session_middleware

from commonsfed import __version__, i18n, numbers
from commonsfed.api.middleware import api_middleware
from commonsfed.api.routes import setup_api_routes
from commonsfed.config import Settings
from commonsfed.db.pool import close_pool, node_pool
from commonsfed.federation.context import Federation, open_federation
from commonsfed.federation.delivery import DeliveryWorker
from commonsfed.federation.inbox_worker import InboxWorker
from commonsfed.federation.workers import Steppable, start_in_background, stop_background
from commonsfed.live_settings import LiveSettings
from commonsfed.metrics import Metrics
from commonsfed.resources import templates_dir
from commonsfed.services.answer_inbox import node_handlers
from commonsfed.services.export import ExportWorker
from commonsfed.services.jobs import ScheduledJobs
from commonsfed.services.mail_sending import mail_workers
from commonsfed.web import addresses, answers, explore, home, middlewares
from commonsfed.web.dates import local_time_filter
from commonsfed.web.flash import PendingFlashes
from commonsfed.web.keys import ACCOUNT, FEDERATION, METRICS, POOL, SETTINGS
from commonsfed.web.language import language_middleware, reader_language
from commonsfed.web.metrics import metrics_middleware
from commonsfed.web.middlewares import people_only
from commonsfed.web.routes import setup_routes
from commonsfed.web.sessions import CSRF_FIELD, load_secret, session_storage, template_session

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024  # forms and inboxes; photo uploads raise their own limit
WORKERS_STOP = web.AppKey("workers_stop", asyncio.Event)
# what the in-process workers use: a pool of their own (see _workers)
WORKER_FEDERATION = web.AppKey("worker_federation", Federation)
# the inbox worker's writes, the delivery worker's records, the LISTEN connection, and the
# reads of a wave's verifies that the batch's lookups do not cover
WORKER_POOL_SIZE = 5


def create_app(settings: Settings | LiveSettings) -> web.Application:
    """The node's application. Its settings become live ones (commonsfed.live_settings):
    what an admin changes on the web reaches every request, template and worker."""
    if settings.database_url is None:
        raise ValueError("create_app needs settings.database_url (the CLI starts the embedded one)")
    secret = load_secret(settings)
    app = web.Application(
        middlewares=[
            metrics_middleware,  # outermost: it counts the status that was sent
            middlewares.unavailable_middleware,  # the database fails anywhere
            middlewares.settings_middleware,
            # what people's requests need, which peers' (an inbox POST) do without
            people_only(session_middleware(session_storage(settings, secret))),
            people_only(middlewares.account_middleware),
            people_only(language_middleware),
            # before the error and CSRF middlewares, so that the pages they render have
            # the same context (the account, a CSRF token) as any other page
            people_only(aiohttp_jinja2.context_processors_middleware),
            middlewares.error_middleware,
            # the client API: bearer tokens instead of the session, CORS, JSON errors
            api_middleware,
            middlewares.csrf_middleware,
            people_only(addresses.confirmed_email_middleware),
        ],
        client_max_size=MAX_BODY,
    )
    settings = app[SETTINGS] = LiveSettings.wrap(settings)
    app[METRICS] = Metrics()
    app.cleanup_ctx.append(_database)
    app.cleanup_ctx.append(_settings_changes)
    app.cleanup_ctx.append(_federation)
    if settings.run_worker:
        app.cleanup_ctx.append(_workers)  # after the federation, so they stop before it closes
        app.on_shutdown.append(_stop_workers)
    app.on_response_prepare.append(middlewares.add_security_headers)
    _setup_templates(app, settings)
    setup_routes(app)
    setup_api_routes(app)
    return app


async def _database(app: web.Application) -> AsyncIterator[None]:
    app[POOL] = await node_pool(app[SETTINGS])
    yield
    await close_pool(app[POOL])


async def _settings_changes(app: web.Application) -> AsyncIterator[None]:
    """The settings as stored now, and a LISTEN for changes made in other processes."""
    await app[SETTINGS].refresh(app[POOL])
    async with app[SETTINGS].listening_on(app[POOL]):
        yield


async def _federation(app: web.Application) -> AsyncIterator[None]:
    async with open_federation(
        app[SETTINGS], app[POOL], node_handlers(), app[METRICS]
    ) as federation:
        app[FEDERATION] = federation
        yield


def node_workers(federation: Federation) -> list[Steppable]:
    """Every queue's worker, as `serve` runs them in-process and `commonsfed worker` does."""
    pool, settings = federation.pool, federation.settings
    return [
        DeliveryWorker(federation),
        InboxWorker(federation),
        ExportWorker(pool, settings),
        ScheduledJobs(pool, settings),
        *mail_workers(pool, settings),
    ]


async def _workers(app: web.Application) -> AsyncIterator[None]:
    """`serve`'s in-process workers, on connections of their own: requests arriving by the
    thousand hold the request pool's connections and queue for them, and the workers
    would queue behind every one (their handling fell to a few dozen items a second while
    the inbox accepted thousands). With a pool apiece, accepting cannot starve handling,
    nor a long tick hold up a page."""
    pool = await node_pool(app[SETTINGS], max_size=WORKER_POOL_SIZE)
    try:
        async with open_federation(
            app[SETTINGS], pool, node_handlers(), app[METRICS]
        ) as federation:
            app[WORKER_FEDERATION] = federation
            task, stop = start_in_background(pool, node_workers(federation))
            app[WORKERS_STOP] = stop
            yield
            await stop_background(task, stop)
    finally:
        await close_pool(pool)


async def _stop_workers(app: web.Application) -> None:
    """On shutdown, before aiohttp waits for the requests in flight: the workers' grace
    (see federation.workers) then runs alongside the requests' rather than after it."""
    if WORKERS_STOP in app:
        app[WORKERS_STOP].set()


class _CompiledTemplates(jinja2.BytecodeCache):
    """Templates compiled once per process, whatever the number of applications: each
    application has its own jinja2 environment (its globals are its settings), and without
    a shared cache each would parse and compile every template again (a test suite makes
    thousands of applications; `serve --processes` several). Jinja checks each entry
    against the template's source, so an edited template is compiled anew."""

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()


_COMPILED_TEMPLATES = _CompiledTemplates()


def _setup_templates(app: web.Application, settings: Settings) -> None:
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        bytecode_cache=_COMPILED_TEMPLATES,
        autoescape=jinja2.select_autoescape(["html", "xml"], default_for_string=True),
        undefined=jinja2.StrictUndefined,
        extensions=["jinja2.ext.i18n"],
    )
    i18n.install_translations(env)
    # the unread count in every page's navigation, and the newest listings on the home page
    app[aiohttp_jinja2.APP_CONTEXT_PROCESSORS_KEY] = [
        _template_context,
        answers.unread_context,
        explore.home_context,
        home.follow_context,
    ]
    env.globals.update(settings=settings, version=__version__, csrf_field=CSRF_FIELD,
                       language_names=i18n.LANGUAGE_NAMES)
    env.filters["local"] = local_time_filter(settings.tz)
    numbers.install_filters(env)  # `number`, `distance`


async def _template_context(request: web.Request) -> dict:
    # runs on every request, so it mints nothing: the token is made when a form prints it
    return {
        "account": request.get(ACCOUNT),
        "csrf_token": await template_session(request),
        "flashes": PendingFlashes(request),  # after template_session, which loads the session
        "request": request,
        "locale": reader_language(request),
    }
