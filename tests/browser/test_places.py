"""Places and maps in headless Chromium.

With JavaScript on, the listing form turns its coordinate fields into a Leaflet map: the
script comes from this node (never a CDN), the tiles from the tile setting (here a stand-in
on the node's own loopback address, so nothing reaches the Internet), and a click on the map
sets the coordinates the listing is posted with. With JavaScript off, the same form still
offers the neighbourhood's named places, and choosing one gives the listing its name and
coordinates.
"""

from __future__ import annotations

import re
import socket
from collections.abc import AsyncIterator
from dataclasses import replace
from urllib.parse import urlsplit

import pytest
from aiohttp import web

from commonsfed.app import create_app
from commonsfed.db import places as places_q
from commonsfed.services import listings
from commonsfed.web.keys import POOL
from tests.browser.chromium import (
    BROWSER_MARKS,
    WAIT_MS,
    expect,
    register,
    snap,
)
from tests.browser.live import LiveNode
from tests.builders import photo_bytes

pytestmark = BROWSER_MARKS

LISTING_URL = re.compile(r"/listings/([A-Za-z0-9_-]{8,32})$")
TILE = photo_bytes("PNG", (256, 256), color="lightgrey")


@pytest.fixture
async def map_node(settings) -> AsyncIterator[LiveNode]:
    """A live node whose map tiles come from its own address (a path it does not serve:
    the browser's requests for them are answered by the test, below)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    node_settings = replace(
        settings,
        domain=f"127.0.0.1:{port}",
        registration="open",
        map_tiles=f"http://127.0.0.1:{port}/test-tiles/{{z}}/{{x}}/{{y}}.png",
        map_attribution="Test tiles",
    )
    app = create_app(node_settings)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    try:
        async with app[POOL].acquire() as conn:
            await places_q.insert_place(conn, "The library", 52.37, 4.89)
        yield LiveNode(node_settings, app)
    finally:
        await runner.cleanup()


class Requests:
    """What the page asked for: loopback requests go on (tiles get a stand-in PNG), any
    other is refused and remembered, so the test can say nothing left the machine."""

    def __init__(self) -> None:
        self.urls: list[str] = []
        self.outside: list[str] = []

    async def handle(self, route) -> None:
        url = route.request.url
        self.urls.append(url)
        if urlsplit(url).hostname != "127.0.0.1":
            self.outside.append(url)
            await route.abort()
        elif "/test-tiles/" in url:
            await route.fulfill(status=200, content_type="image/png", body=TILE)
        else:
            await route.continue_()


async def new_page(browser, requests: Requests, javascript: bool = True):
    context = await browser.new_context(
        viewport={"width": 1100, "height": 900}, java_script_enabled=javascript
    )
    context.set_default_timeout(WAIT_MS)
    await context.route("**/*", requests.handle)
    return await context.new_page()


async def stored_listing(node: LiveNode, page) -> tuple:
    uid = LISTING_URL.search(page.url).group(1)
    listing = await listings.get_listing(node.app[POOL], uid)
    return listing.place, listing.latitude, listing.longitude


async def fill_give_form(page, node: LiveNode, title: str) -> None:
    await page.goto(node.url("/listings/new?purpose=offer&kind=give"))
    await page.get_by_label("Title", exact=True).fill(title)
    await page.get_by_label("Category").select_option("food")


async def test_listing_form__with_javascript_a_click_on_the_map_sets_the_point(browser, map_node):
    # Given a resident on the listing form, with JavaScript on
    requests = Requests()
    page = await new_page(browser, requests)
    await register(page, map_node, "alice")
    await fill_give_form(page, map_node, "A ladder")

    # Then Leaflet, served by this node, draws a map with the stand-in's tiles
    map_element = page.locator("#map-pick")
    await expect(map_element).to_be_visible()
    await expect(map_element).to_have_class(re.compile(r"\bleaflet-container\b"))
    assert any(
        url.startswith(map_node.url("/static/vendor/leaflet/leaflet.js")) for url in requests.urls
    )
    assert any(url.startswith(map_node.url("/static/map.js")) for url in requests.urls)

    # When she types a point, the map centres there; a click 150 px east moves the point
    latitude, longitude = page.get_by_label("Latitude"), page.get_by_label("Longitude")
    await latitude.fill("52.37")
    await longitude.fill("4.89")
    await longitude.dispatch_event("change")
    await expect(map_element.locator(".leaflet-marker-icon")).to_be_visible()
    box = await map_element.bounding_box()
    await map_element.click(position={"x": box["width"] / 2 + 150, "y": box["height"] / 2})
    await expect(longitude).not_to_have_value("4.89")
    clicked = (float(await latitude.input_value()), float(await longitude.input_value()))
    assert clicked[0] == pytest.approx(52.37, abs=0.011)
    assert 4.89 < clicked[1] < 4.93  # 150 px at zoom 14 is about 0.013 degrees
    assert re.fullmatch(r"-?[0-9]+\.[0-9]{2}", await longitude.input_value())
    await expect(page.get_by_label("A place of the neighbourhood")).to_have_value("")
    await snap(page, "places-1-map-clicked")

    # And the listing is posted with the point she clicked, and its page shows it on a map
    await page.get_by_label("Place", exact=True).fill("Behind the library")
    await page.get_by_role("button", name="Publish").click()
    await expect(page).to_have_url(LISTING_URL)
    assert await stored_listing(map_node, page) == ("Behind the library", *clicked)
    await expect(page.locator("#map-show")).to_have_class(re.compile(r"\bleaflet-container\b"))
    assert any("/test-tiles/" in url for url in requests.urls)
    assert requests.outside == []  # nothing left the machine


async def test_listing_form__without_javascript_a_named_place_still_works(browser, map_node):
    # Given a resident on the listing form with JavaScript off
    requests = Requests()
    page = await new_page(browser, requests, javascript=False)
    await register(page, map_node, "bob")
    await fill_give_form(page, map_node, "A bag of apples")
    await expect(page.locator("#map-pick")).to_be_hidden()  # no map, the fields instead

    # When he chooses the library and types nothing about where
    await page.get_by_label("A place of the neighbourhood").select_option(label="The library")
    await page.get_by_role("button", name="Publish").click()

    # Then the listing has the library's name and coordinates, filled in by the node
    await expect(page).to_have_url(LISTING_URL)
    assert await stored_listing(map_node, page) == ("The library", 52.37, 4.89)
    await expect(page.locator(".facts")).to_contain_text("The library")
    await snap(page, "places-2-no-javascript")
    assert requests.outside == []
