"""Flash messages: one line that tells a person what their last action did ("Your offer is
published"), shown once on the page they land on after a form's POST-redirect-GET.

They travel in the session cookie (web.sessions), which aiohttp_session encrypts and
authenticates, rather than in the server-side session row: a visitor who is not logged in
(after "forgot password", a new password, logging out) has no row, and the cookie is saved
with the redirect that carries them (aiohttp_session saves it on an HTTPException too). A
page takes them out of the session while it renders (`PendingFlashes`), so a redirect, an
image or a JSON document never uses them up, and the page that shows them saves the cookie
without them: a reload shows none.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from aiohttp import web
from aiohttp_session import SESSION_KEY, get_session

from commonsfed.i18n import localize
from commonsfed.web.language import reader_language

KINDS = ("success", "info", "error")
_KEY = "flash"
MAX_PENDING = 4  # a cookie stays small, whatever a loop of redirects piles up
MAX_LENGTH = 300


@dataclass(frozen=True)
class Flash:
    text: str
    kind: str = "success"

    @property
    def role(self) -> str:
        """An error interrupts a screen reader (role=alert); the rest waits (role=status)."""
        return "alert" if self.kind == "error" else "status"


async def flash(request: web.Request, text: str, kind: str = "success") -> None:
    """Show `text` once on the next page this browser renders. `kind`: success, info or
    error. Call it before logging in (log_in makes a new session) only with care: flash
    after log_in, so the message goes into the session the browser keeps."""
    if kind not in KINDS:
        raise ValueError(f"a flash is one of {KINDS}, not {kind!r}")
    # in the reader's language now: a marked string or a Text is found in the catalog
    text = localize(reader_language(request), text)
    session = await get_session(request)
    pending = list(session.get(_KEY) or [])
    pending.append([text[:MAX_LENGTH], kind])
    session[_KEY] = pending[-MAX_PENDING:]


async def shown_on(request: web.Request, path: str, text: str) -> web.Response:
    """A form's POST-redirect-GET: `text` shown once on `path`, where the browser goes; a
    reload there sends nothing again."""
    await flash(request, text)
    raise web.HTTPSeeOther(path)


class PendingFlashes:
    """The messages waiting in the session, for base.html; taken out of the session the
    first time a template iterates over them (so only a rendered page consumes them)."""

    __slots__ = ("_request", "_taken")

    def __init__(self, request: web.Request) -> None:
        self._request = request
        self._taken: list[Flash] | None = None

    def _take(self) -> list[Flash]:
        if self._taken is None:
            session = self._request.get(SESSION_KEY)  # loaded by web.sessions.template_session
            raw = session.pop(_KEY, None) if session is not None else None
            # written by `flash` alone (the cookie is authenticated), read warily all the same
            self._taken = [
                Flash(item[0], item[1] if item[1] in KINDS else "info")
                for item in (raw if isinstance(raw, list) else [])
                if isinstance(item, list) and len(item) == 2 and isinstance(item[0], str)
            ]
        return self._taken

    def __iter__(self) -> Iterator[Flash]:
        return iter(self._take())

    def __bool__(self) -> bool:
        return bool(self._take())
