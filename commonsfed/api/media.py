"""Media: photos uploaded before the status that uses them (services.media).

The body of an upload is read here as a stream (`request.multipart()`), not with
`request.post()`: the app's client_max_size (1 MiB, for forms and inboxes) bounds only what
`post()` and `read()` take, and aiohttp reads it from the root application alone, so a
route cannot raise it (web/uploads.py does the same for the listing form). This route's own
caps are one photo of MAX_UPLOAD_BYTES and MAX_BODY for the whole body.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import BodyPartReader, web

from commonsfed.api import entities
from commonsfed.api.auth import require_user
from commonsfed.api.errors import ApiError, not_found, unprocessable
from commonsfed.api.params import path_id, read_params
from commonsfed.services import media
from commonsfed.services.errors import ValidationError
from commonsfed.services.photos import MAX_UPLOAD_BYTES, Upload
from commonsfed.web.keys import POOL, SETTINGS

MAX_TEXT = 64 * 1024
MAX_PARTS = 16
MAX_BODY = MAX_UPLOAD_BYTES + 256 * 1024
CHUNK = 256 * 1024
TOO_LARGE_BODY = f"The request is larger than {MAX_BODY // (1024 * 1024)} MB."
NO_FILE = "Attach a photo as the multipart field “file”."


@dataclass
class _Form:
    fields: dict[str, str]
    file: Upload | None = None


async def _read(part: BodyPartReader, cap: int, budget: list[int]) -> tuple[bytes, int]:
    """Up to cap + 1 bytes of a part and how many it had; the rest is read and dropped."""
    kept, seen = bytearray(), 0
    while chunk := await part.read_chunk(CHUNK):
        seen += len(chunk)
        budget[0] -= len(chunk)
        if budget[0] < 0:
            raise ApiError(413, TOO_LARGE_BODY)
        if len(kept) <= cap:
            kept.extend(chunk[: cap + 1 - len(kept)])
    return bytes(kept), seen


async def read_upload(request: web.Request) -> _Form:
    if request.content_type != "multipart/form-data":
        raise unprocessable(NO_FILE, file=NO_FILE)
    if (request.content_length or 0) > MAX_BODY:
        raise ApiError(413, TOO_LARGE_BODY)
    form, budget, reader = _Form({}), [MAX_BODY], await request.multipart()
    for _ in range(MAX_PARTS):
        part = await reader.next()
        if part is None:
            break
        if not isinstance(part, BodyPartReader) or not part.name:
            raise ApiError(400, "The multipart body is malformed.")
        if part.filename is None:
            data, _ = await _read(part, MAX_TEXT, budget)
            form.fields.setdefault(part.name, data.decode("utf-8", errors="replace"))
        elif part.name == "file" and form.file is None:
            data, seen = await _read(part, MAX_UPLOAD_BYTES, budget)
            large = seen > MAX_UPLOAD_BYTES
            form.file = Upload("file", part.filename, b"" if large else data, too_large=large)
        else:
            await _read(part, 0, budget)  # a file we did not ask for
    return form


def _refused(error: ValidationError) -> ApiError:
    return unprocessable(" ".join(error.errors.values()), **error.errors)


async def upload(request: web.Request) -> web.Response:
    """POST /api/v1/media and /api/v2/media: done at once, so 200 with the url (Mastodon's
    v2 answers 202 only while it still processes)."""
    account = require_user(request, "write:media")
    form = await read_upload(request)
    if form.file is None or not (form.file.data or form.file.too_large):
        raise unprocessable(NO_FILE, file=NO_FILE)
    try:
        view = await media.upload(request.app[POOL], request.app[SETTINGS], account, form.file,
                                  form.fields.get("description", ""))  # fmt: skip
    except ValidationError as exc:
        raise _refused(exc) from None
    return web.json_response(entities.media(view))


async def get_media(request: web.Request) -> web.Response:
    account = require_user(request, "write:media")
    view = await media.get(request.app[POOL], request.app[SETTINGS], account, path_id(request))
    if view is None:
        raise not_found()
    return web.json_response(entities.media(view))


async def update_media(request: web.Request) -> web.Response:
    """A new description before the photo is posted (`focus` is accepted and unused: the
    photo is shown whole)."""
    account = require_user(request, "write:media")
    description = (await read_params(request)).get("description")
    pool, settings = request.app[POOL], request.app[SETTINGS]
    try:
        if description is None:  # nothing to change
            view = await media.get(pool, settings, account, path_id(request))
        else:
            view = await media.describe(pool, settings, account, path_id(request), description)
    except ValidationError as exc:
        raise _refused(exc) from None
    if view is None:
        raise not_found()
    return web.json_response(entities.media(view))
