"""Forms that carry photos (a listing's, a resident's avatar), read as a stream.

The app's client_max_size (1 MiB) bounds every request body that `request.post()` reads,
and aiohttp reads that limit from the root application only (a sub-app's own
client_max_size is ignored), so it cannot be raised per route. Forms with photos are
therefore exempt from the CSRF middleware's `request.post()` and read their multipart body
here, streaming, with a cap per photo and one for the whole body; `read_form_with_photos`
checks the CSRF token itself before anything is processed. A photo over its cap is drained,
not kept, so the form comes back with a message next to it instead of a bare 413.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from aiohttp import BodyPartReader, web

from commonsfed.i18n import gettext_noop as N_
from commonsfed.services.photos import MAX_UPLOAD_BYTES, Upload
from commonsfed.web.sessions import CSRF_FIELD, csrf_valid

MAX_TEXT_PART = 64 * 1024
MAX_PARTS = 64
CHUNK = 256 * 1024
CSRF_REFUSED = N_(
    "This form has expired or did not come from this site. Go back, reload the page and try again."
)


@dataclass
class SubmittedForm:
    fields: dict[str, str] = field(default_factory=dict)
    uploads: list[Upload] = field(default_factory=list)
    too_large: bool = False  # the body passed its cap; what was read so far is here


class _BodyTooLarge(Exception):
    pass


async def _read_part(part: BodyPartReader, cap: int, budget: list[int]) -> tuple[bytes, int]:
    """Up to cap + 1 bytes of a part, and how many it had; the rest is read and dropped."""
    kept, seen = bytearray(), 0
    while chunk := await part.read_chunk(CHUNK):
        seen += len(chunk)
        budget[0] -= len(chunk)
        if budget[0] < 0:
            raise _BodyTooLarge
        if len(kept) <= cap:
            kept.extend(chunk[: cap + 1 - len(kept)])
    return bytes(kept), seen


async def _read_multipart(
    request: web.Request, photo_fields: re.Pattern[str], max_body: int
) -> SubmittedForm:
    form, budget = SubmittedForm(), [max_body]
    if (request.content_length or 0) > max_body:
        return SubmittedForm(too_large=True)  # said so up front: not worth reading
    reader = await request.multipart()
    try:
        for _ in range(MAX_PARTS):
            part = await reader.next()
            if part is None:
                break
            if not isinstance(part, BodyPartReader) or not part.name:
                raise web.HTTPBadRequest(text=N_("This form is malformed."))
            await _read_one(form, part, photo_fields, budget)
    except _BodyTooLarge:
        form.too_large = True
    return form


async def _read_one(
    form: SubmittedForm, part: BodyPartReader, photo_fields: re.Pattern[str], budget: list[int]
) -> None:
    if part.filename is None:
        data, _ = await _read_part(part, MAX_TEXT_PART, budget)
        form.fields.setdefault(part.name, data.decode("utf-8", errors="replace"))
    elif photo_fields.match(part.name):
        data, seen = await _read_part(part, MAX_UPLOAD_BYTES, budget)
        if seen:  # an empty file input sends an empty part
            form.uploads.append(
                # an oversized photo keeps none of its bytes: it only earns a message
                Upload(
                    part.name,
                    part.filename,
                    b"" if seen > MAX_UPLOAD_BYTES else data,
                    too_large=seen > MAX_UPLOAD_BYTES,
                )
            )
    else:
        await _read_part(part, 0, budget)  # a file we did not ask for


async def read_form_with_photos(
    request: web.Request, photo_fields: re.Pattern[str], max_body: int
) -> SubmittedForm:
    """The form, multipart or not, after checking its CSRF token (403 if wrong). Files are
    kept from the fields `photo_fields` matches, up to MAX_UPLOAD_BYTES each (one larger is
    an Upload marked too_large), the whole body up to `max_body`."""
    if request.content_type == "multipart/form-data":
        form = await _read_multipart(request, photo_fields, max_body)
    else:  # a form without photos may come url-encoded: small, under the app's 1 MiB cap
        posted = await request.post()
        form = SubmittedForm({k: v for k, v in posted.items() if isinstance(v, str)})
    if not form.too_large and not await csrf_valid(request, form.fields.get(CSRF_FIELD)):
        raise web.HTTPForbidden(text=CSRF_REFUSED)
    return form
