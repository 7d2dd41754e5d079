"""The node on a phone (390 px wide) and on a desktop (1280 px), in headless Chromium.

Without JavaScript a visitor opens the account menu and the /explore filters (both are
<details>), and sees every step of the listing form at once; at 1280 px the links and the
filters stand inline with no button. With JavaScript the listing form shows one step at a
time, comes back on the step of its first error with nothing lost, and publishes. Then a
resident and an admin visit every main page, long names and addresses included, and no page
is wider than the phone. Screenshots go to tests/browser/screenshots/phone-*.png.
"""

from __future__ import annotations

import re

from commonsfed.models import DomainPolicy
from commonsfed.services import accounts, answers, domains, listings, reports
from commonsfed.web.keys import POOL
from tests.browser.chromium import (
    BROWSER_MARKS,
    WAIT_MS,
    account_link,
    expect,
    register,
    snap,
)
from tests.browser.live import LiveNode
from tests.builders import DEFAULT_PASSWORD

pytestmark = BROWSER_MARKS

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
LISTING_URL = re.compile(r"/listings/[A-Za-z0-9_-]{8,32}$")
# the kind of content that pushes a page sideways: one long word, a long address, a long host
LONG_WORD = "Supercalifragilisticexpialidocious-cargo-bike-with-rain-cover-and-child-seat"
LONG_URL = "https://example.org/" + "a-very-long-path-segment/" * 6 + "?utm_source=newsletter"
LONG_EMAIL = "a.very.long.address.that.goes.on.and.on@a-rather-long-mail-domain.example.org"
LONG_DOMAIN = "a-very-long-subdomain-name-that-goes-on-and-on.another-long-label.example.social"


# the innermost elements that reach past the window's right edge, as tag.class
# (not counting what scrolls inside a box of its own, such as a table on a phone)
WIDE_ELEMENTS = """[...document.querySelectorAll("body *")]
  .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1
               && ![...e.children].some(c => c.getBoundingClientRect().right > window.innerWidth + 1))
  .filter(e => { for (let a = e.parentElement; a; a = a.parentElement) {
                   if (getComputedStyle(a).overflowX !== "visible") return false; }
                 return true; })
  .slice(0, 5).map(e => e.tagName.toLowerCase() + "." + e.className + " " + e.outerHTML.slice(0, 80))"""


async def page_at(browser, viewport: dict, javascript: bool = True):
    context = await browser.new_context(viewport=viewport, java_script_enabled=javascript)
    context.set_default_timeout(WAIT_MS)
    return await context.new_page()


async def assert_fits(page, name: str) -> None:
    """The page is no wider than the window: nothing to scroll sideways."""
    widths = await page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    await snap(page, f"phone-{name}")
    if widths[0] > widths[1]:  # name the widest culprits, so the failure says what to fix
        culprits = await page.evaluate(WIDE_ELEMENTS)
        raise AssertionError(
            f"{name} ({page.url}) is {widths[0]} px wide in {widths[1]}: {culprits}"
        )


async def log_in(page, node: LiveNode, username: str) -> None:
    await page.goto(node.url("/login"))
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await expect(page.locator("header .who")).to_have_text(f"@{username}")


# --- without JavaScript: the menu and the filters ------------------------------------------


async def test_phone__menu_and_filters_open_without_javascript(browser, live_node):
    # Given a visitor on a phone with JavaScript off
    phone = await page_at(browser, PHONE, javascript=False)
    await phone.goto(live_node.url("/"))
    nav = phone.get_by_role("navigation", name="Account")
    menu = phone.locator("header details.menu > summary")

    # Then the account links wait behind the Menu button, which the keyboard opens
    await expect(menu).to_be_visible()
    await expect(menu).to_have_text("Menu")
    await expect(nav.get_by_role("link", name="Log in")).to_be_hidden()
    await assert_fits(phone, "menu-closed")
    await menu.focus()
    await phone.keyboard.press("Enter")
    await expect(nav.get_by_role("link", name="Log in")).to_be_visible()
    await expect(nav.get_by_role("link", name="Join")).to_be_visible()
    await assert_fits(phone, "menu-open")
    await phone.keyboard.press("Enter")  # and closes it again
    await expect(nav.get_by_role("link", name="Log in")).to_be_hidden()

    # And /explore's filters are folded behind one button that opens them
    await phone.goto(live_node.url("/explore"))
    filters = phone.get_by_role("search")
    await expect(filters.get_by_role("button", name="Find")).to_be_hidden()
    await expect(phone.locator("details.filters-fold > summary")).to_have_text("Filters")
    await assert_fits(phone, "explore-folded")
    await phone.locator("details.filters-fold > summary").click()
    await expect(filters.get_by_role("button", name="Find")).to_be_visible()
    await filters.get_by_label("Words").fill("drill")
    await filters.get_by_role("button", name="Find").click()
    await expect(phone.locator("details.filters-fold > summary")).to_have_text("Filters (in use)")
    await assert_fits(phone, "explore-unfolded")

    # When the same visitor is on a desktop
    desktop = await page_at(browser, DESKTOP, javascript=False)
    await desktop.goto(live_node.url("/explore"))

    # Then the links and the filters stand inline, with no button to press
    desk_nav = desktop.get_by_role("navigation", name="Account")
    await expect(desktop.locator("header details.menu > summary")).to_be_hidden()
    await expect(desk_nav.get_by_role("link", name="Log in")).to_be_visible()
    await expect(desk_nav.get_by_role("link", name="Join")).to_be_visible()
    await expect(desktop.locator("details.filters-fold > summary")).to_be_hidden()
    await expect(desktop.get_by_role("search").get_by_role("button", name="Find")).to_be_visible()
    await snap(desktop, "phone-desktop-explore")

    # And the visitor's other pages fit the phone too
    for path in ("/login", "/register", "/password/forgot", "/about"):
        await phone.goto(live_node.url(path))
        await assert_fits(phone, "visitor-" + path.strip("/").replace("/", "-"))

    # And without JavaScript the phone's listing form shows every step, one under another
    await register(phone, live_node, "nojs")
    await phone.goto(live_node.url("/listings/new?purpose=offer&kind=lend"))
    for step in ("Step 2 of 4: the essentials", "Step 3 of 4: where and when"):
        await expect(phone.get_by_role("group", name=step)).to_be_visible()
    await expect(phone.get_by_role("button", name="Publish")).to_be_visible()
    await expect(phone.get_by_role("button", name="Next")).to_have_count(0)
    await assert_fits(phone, "form-without-javascript")


# --- with JavaScript: the listing form in steps --------------------------------------------


async def test_phone__listing_form_in_steps_keeps_everything_on_a_bad_input(browser, live_node):
    # Given a resident on a phone, on the form for lending something
    page = await page_at(browser, PHONE)
    await register(page, live_node, "alice")
    await (await account_link(page, "New listing")).click()
    steps = page.get_by_role("navigation", name="Steps")
    await expect(steps.locator('[aria-current="step"]')).to_have_text("What")
    await assert_fits(page, "form-step-1")
    await page.get_by_role("radio", name="Offer: I have something for neighbours").check()
    await page.get_by_role("radio", name=re.compile(r"^Lend ")).check()
    await page.get_by_role("button", name="Continue").click()
    essentials = page.get_by_role("group", name="Step 2 of 4: the essentials")
    details = page.get_by_role("group", name="Step 3 of 4: where and when")
    publish = page.get_by_role("group", name="Step 4 of 4: check and publish")

    # Then one step shows at a time, and the steps' list says which
    await expect(essentials).to_be_visible()
    await expect(details).to_be_hidden()
    await expect(page.get_by_role("link", name="The essentials")).to_have_attribute(
        "aria-current", "step"
    )
    await page.get_by_label("Title", exact=True).fill("Hedge trimmer")
    await page.get_by_label("Category").select_option("tools")
    await assert_fits(page, "form-step-2")
    await page.get_by_role("button", name="Next").click()
    await expect(details).to_be_visible()
    await expect(essentials).to_be_hidden()
    await expect(details).to_be_focused()
    await page.get_by_label("Loan period, in days").fill("7")
    await page.get_by_label("Place", exact=True).fill("Behind the library")
    await page.get_by_label("Latitude").fill("north")  # a bad input, caught by the server
    await page.get_by_label("Longitude").fill("4.89")
    await assert_fits(page, "form-step-3")

    # When they go back and forth, then on to the last step
    await details.get_by_role("button", name="Back").click()
    await expect(page.get_by_label("Title", exact=True)).to_have_value("Hedge trimmer")
    await essentials.get_by_role("button", name="Next").click()
    await details.get_by_role("button", name="Next").click()

    # Then the last step lists what they typed
    review = publish.locator("dl.review")
    await expect(review).to_contain_text("Hedge trimmer")
    await expect(review).to_contain_text("Behind the library")
    await assert_fits(page, "form-step-4")

    # When they publish with the bad latitude
    await page.get_by_role("button", name="Publish").click()

    # Then the form comes back on the step of the error, with everything they typed
    await expect(page.get_by_role("alert")).to_contain_text("Please correct the fields")
    await expect(details).to_be_visible()
    await expect(essentials).to_be_hidden()
    await expect(page.get_by_label("Latitude")).to_have_attribute("aria-invalid", "true")
    await expect(page.get_by_label("Place", exact=True)).to_have_value("Behind the library")
    await expect(page.get_by_label("Loan period, in days")).to_have_value("7")
    await expect(page.get_by_label("Title", exact=True)).to_have_value("Hedge trimmer")
    await expect(page.get_by_label("Category")).to_have_value("tools")
    await assert_fits(page, "form-error-on-step-3")

    # When they correct it and publish
    await page.get_by_label("Latitude").fill("52.37")
    await details.get_by_role("button", name="Next").click()
    await page.get_by_role("button", name="Publish").click()

    # Then the listing is published
    await expect(page).to_have_url(LISTING_URL)
    await expect(page.get_by_role("heading", level=1)).to_have_text("Hedge trimmer")


# --- every main page fits a phone ----------------------------------------------------------


async def long_content(node: LiveNode) -> dict:
    """An admin (alice), a resident (bob) with an answered listing, a report, a resident with
    a long address and a blocked domain with a long name: the pages' widest content."""
    pool, settings = node.app[POOL], node.settings
    made = {}
    for username, role in (("alice", "admin"), ("bob", "none"), ("longaddress", "none")):
        email = LONG_EMAIL if username == "longaddress" else f"{username}@example.org"
        made[username] = await accounts.register(
            pool, settings, username=username, email=email, password=DEFAULT_PASSWORD,
            role=role, by_admin=True,
        )  # fmt: skip
    listing = await listings.create_listing(pool, settings, made["alice"], {
        "purpose": "offer", "kind": "lend", "title": LONG_WORD, "category": "tools",
        "place": LONG_WORD, "loan_days": "7",
        "description": f"See {LONG_URL} and {LONG_WORD}.\n\n    {LONG_URL}{LONG_URL}",
    }, [])  # fmt: skip
    conversation = await answers.answer(
        pool, settings, made["bob"], listing.uid, f"Hello! {LONG_WORD} {LONG_URL}"
    )
    report = await reports.file_report(pool, settings, made["bob"], {
        "listing": listing.uid, "category": "other", "comment": f"{LONG_WORD} {LONG_URL}",
    })  # fmt: skip
    block = DomainPolicy(LONG_DOMAIN, "block", public_comment=LONG_WORD, note=LONG_URL)
    await domains.block_domain(pool, settings, made["alice"], block)
    return {"uid": listing.uid, "conversation": conversation.id, "report": report}


RESIDENT_PAGES = [
    "/", "/explore", "/explore?where=everywhere&q=" + LONG_WORD, "/about",
    "/listings/{uid}", "/listings/new", "/listings/new?purpose=request&kind=ride",
    "/listings/new?purpose=offer&kind=group_purchase", "/my/listings", "/my/answers",
    "/notifications", "/conversations/{conversation}", "/follows", "/users/bob",
    "/users/alice", "/settings", "/settings/profile", "/settings/account",
    "/settings/sessions", "/settings/export", "/settings/email", "/settings/notifications",
    "/settings/apps", "/settings/blocks", "/settings/delete",
    "/report?listing={uid}", "/categories/tools",
]  # fmt: skip
ADMIN_PAGES = [
    "/listings/{uid}", "/listings/{uid}/edit", "/listings/{uid}/answers", "/notifications",
    "/conversations/{conversation}", "/admin", "/admin/accounts?status=all",
    "/admin/accounts/longaddress", "/admin/log", "/admin/domains", "/admin/follows",
    "/admin/reports", "/admin/reports/{report}", "/admin/settings", "/admin/federation", "/admin/federation/unhandled",
    "/admin/places", "/admin/categories",
]  # fmt: skip


async def test_phone__no_page_is_wider_than_a_phone(browser, live_node):
    # Given residents, a listing, an answer, a report and a domain block with long content
    ids = await long_content(live_node)

    # When a resident and then an admin open every main page at 390 px, menu open and shut
    for username, paths in (("bob", RESIDENT_PAGES), ("alice", ADMIN_PAGES)):
        page = await page_at(browser, PHONE)
        await log_in(page, live_node, username)
        for path in paths:
            url = path.format(**ids)
            response = await page.goto(live_node.url(url))
            assert response.status == 200, url

            # Then none scrolls sideways
            name = f"{username}-" + (re.sub(r"[^a-z0-9]+", "-", url.lower()).strip("-") or "home")
            await assert_fits(page, name[:60])
        settings_link = await account_link(page, "Settings")  # the menu opened on the last page
        await expect(settings_link).to_be_visible()
        await assert_fits(page, f"{username}-menu-open")
