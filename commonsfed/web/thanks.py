"""Thanks from the conversation page (a form per action, no JavaScript needed), and a
thanks' Note at its id (services.thanks)."""

from __future__ import annotations

from aiohttp import web

from commonsfed.services import thanks
from commonsfed.services.errors import NotAllowed, ServiceError, ValidationError
from commonsfed.web import answers as answer_pages
from commonsfed.web.activitypub import as2_response, require_signature, wants_as2
from commonsfed.web.flash import flash
from commonsfed.web.keys import POOL, SETTINGS
from commonsfed.web.middlewares import render_error
from commonsfed.web.views import require_account


def _refused(request: web.Request, exc: ServiceError) -> web.Response:
    if isinstance(exc, thanks.ConversationNotFound):
        return render_error(request, 404)
    return render_error(request, 403 if isinstance(exc, NotAllowed) else 409, str(exc))


async def _text(request: web.Request) -> str:
    value = (await request.post()).get("thanks", "")
    return value if isinstance(value, str) else ""


def _back(conversation_id: int) -> web.HTTPSeeOther:
    return web.HTTPSeeOther(f"/conversations/{conversation_id}#thanks")


async def leave(request: web.Request) -> web.Response:
    return await _write(request, thanks.leave, "Thanks sent. It shows on their profile.")


async def edit(request: web.Request) -> web.Response:
    return await _write(request, thanks.edit, "Your thanks is changed.")


async def _write(request: web.Request, write, done: str) -> web.Response:
    """Leave or edit the thanks: `write(pool, settings, account, conversation_id, text)`;
    bad text is shown by the field, a refusal on a page of its own."""
    account = require_account(request)
    conversation_id, text = int(request.match_info["id"]), await _text(request)
    try:
        await write(request.app[POOL], request.app[SETTINGS], account, conversation_id, text)
    except ValidationError as exc:
        return await answer_pages.render_conversation(
            request, thanks_errors=exc.errors, thanks_text=text, status=422
        )
    except ServiceError as exc:
        return _refused(request, exc)
    await flash(request, done)
    raise _back(conversation_id)


async def remove(request: web.Request) -> web.Response:
    account = require_account(request)
    conversation_id = int(request.match_info["id"])
    try:
        await thanks.remove(request.app[POOL], request.app[SETTINGS], account, conversation_id)
    except ServiceError as exc:
        return _refused(request, exc)
    await flash(request, "Your thanks is deleted.")
    raise _back(conversation_id)


async def note(request: web.Request) -> web.Response:
    """A thanks written here: its Note for peers; people go to the thanked person's profile,
    which shows it (here, or on their own node)."""
    settings = request.app[SETTINGS]
    ap_id = f"{settings.base_url}/thanks/{request.match_info['key']}"
    document = await thanks.served_note(request.app[POOL], settings, ap_id)
    if document is None:
        raise web.HTTPNotFound(text="There is no such thanks.")
    if wants_as2(request):
        await require_signature(request)
        return as2_response(document)
    raise web.HTTPSeeOther(document["to"][0])
