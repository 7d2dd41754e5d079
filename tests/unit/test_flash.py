"""web.flash without a server: what a session holds, and what a page takes out of it."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import make_mocked_request
from aiohttp_session import SESSION_KEY, Session

from commonsfed.web.flash import MAX_LENGTH, MAX_PENDING, PendingFlashes, flash


def request_with_session():
    request = make_mocked_request("GET", "/")
    request[SESSION_KEY] = Session(None, data=None, new=True, max_age=None)
    return request


async def test_flash__a_page_takes_them_once_in_order_with_their_roles():
    request = request_with_session()
    await flash(request, "Saved.")
    await flash(request, "Could not send.", "error")

    shown = [(item.text, item.role) for item in PendingFlashes(request)]

    assert shown == [("Saved.", "status"), ("Could not send.", "alert")]
    assert list(PendingFlashes(request)) == []  # the next page has none
    assert request[SESSION_KEY]._changed  # so the cookie is saved without them


async def test_flash__nothing_pending_changes_no_session():
    request = request_with_session()

    assert not PendingFlashes(request)
    assert not request[SESSION_KEY]._changed


async def test_flash__a_cookie_stays_small():
    request = request_with_session()
    for number in range(MAX_PENDING + 3):
        await flash(request, f"{number} " + "x" * 1000)

    kept = list(PendingFlashes(request))

    assert len(kept) == MAX_PENDING and kept[-1].text.startswith(f"{MAX_PENDING + 2} ")
    assert all(len(item.text) == MAX_LENGTH for item in kept)


async def test_flash__an_unknown_kind_is_a_bug():
    with pytest.raises(ValueError):
        await flash(request_with_session(), "Saved.", "celebration")


async def test_flash__an_odd_value_shows_only_what_is_text():
    request = request_with_session()
    request[SESSION_KEY]["flash"] = [["Fine.", "weird"], [42, "success"], "not a pair", []]

    shown = [(item.text, item.kind) for item in PendingFlashes(request)]

    assert shown == [("Fine.", "info")]
