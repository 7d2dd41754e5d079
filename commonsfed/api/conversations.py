"""Conversations: a resident's answer conversations as Mastodon's direct conversations,
marking one read, and hiding one from the list (services/api_conversations.py)."""

from __future__ import annotations

from typing import Any

import asyncpg
from aiohttp import web

from commonsfed.api import entities
from commonsfed.api.auth import require_user
from commonsfed.api.errors import not_found
from commonsfed.api.paging import in_order, page_request, paged_response
from commonsfed.api.params import path_id, read_params
from commonsfed.api.render import statuses_json
from commonsfed.config import Settings
from commonsfed.models import Account
from commonsfed.services import api_conversations
from commonsfed.services.api_conversations import ConversationView
from commonsfed.web.keys import POOL, SETTINGS


async def conversations_json(
    conn: asyncpg.Connection, settings: Settings, account: Account, views: list[ConversationView]
) -> list[dict[str, Any]]:
    """The Conversation entities of `views`, their last statuses rendered in one batch."""
    rendered = iter(
        await statuses_json(
            conn, settings, [view.last_status for view in views if view.last_status], account
        )
    )
    return [entities.conversation(view, settings, next(rendered) if view.last_status else None)
            for view in views]  # fmt: skip


async def conversation_json(
    conn: asyncpg.Connection, settings: Settings, account: Account, conversation_id: int
) -> dict[str, Any] | None:
    """The Conversation entity of one of `account`'s conversations, hidden or not (None when
    they are not one of its sides): for the streaming API's `conversation` events."""
    view = await api_conversations.conversation(conn, settings, account, conversation_id)
    if view is None:
        return None
    [body] = await conversations_json(conn, settings, account, [view])
    return body


async def list_conversations(request: web.Request) -> web.Response:
    """Paged as Mastodon pages them: by the last status's id (max_id, since_id, min_id are
    status ids), so a conversation with a new message comes first again."""
    account = require_user(request, "read:statuses")
    settings = request.app[SETTINGS]
    page = page_request(await read_params(request))
    async with request.app[POOL].acquire() as conn:
        views = await api_conversations.conversations(
            conn, settings, account, below=page.max_id, above=page.after,
            oldest_first=page.oldest_first, limit=page.limit,
        )  # fmt: skip
        views = in_order(page, views)
        body = await conversations_json(conn, settings, account, views)
    return paged_response(request, body, views, key=lambda view: view.last_status_id)


async def mark_read(request: web.Request) -> web.Response:
    account = require_user(request, "write:conversations")
    settings = request.app[SETTINGS]
    view = await api_conversations.mark_read(request.app[POOL], settings, account,
                                             path_id(request))  # fmt: skip
    if view is None:
        raise not_found()
    async with request.app[POOL].acquire() as conn:
        [body] = await conversations_json(conn, settings, account, [view])
    return web.json_response(body)


async def remove(request: web.Request) -> web.Response:
    account = require_user(request, "write:conversations")
    if not await api_conversations.hide(request.app[POOL], request.app[SETTINGS], account,
                                        path_id(request)):  # fmt: skip
        raise not_found()
    return web.json_response({})
