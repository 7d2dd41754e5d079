"""Every main page, as a visitor, a resident and an admin see it, at a desktop and a phone
width, checked by axe-core against WCAG 2.2 AA and Deque's best practices: no violation
allowed.

The neighbourhood is built once per walk through the services (tests/browser/neighbourhood.py),
so the pages have listings, photos, answers, thanks and a report on them. Each page gets a
full-page screenshot at each width under tests/browser/screenshots/walk/<language>-<width>/,
in the order walked, to look through by eye. Each page is opened once and checked at both
widths (the viewport and the colour scheme change in place), so a walk costs one neighbourhood
and one visit per page whatever the number of widths. Pages that come back from a form are checked too: a refused
login, a refused listing (its messages at the fields), a saved profile (its message), and a
missing page; and no page may scroll sideways (WCAG 1.4.10, reflow, which axe leaves to
people). A violation fails the walk at the end, with every page's violations listed (rule,
what it asks, the offending elements), so one run shows them all.

Another language is one more entry in LANGUAGES: the browser asks for it (Accept-Language
and the context's locale) and the same pages are walked. Nothing here depends on the pages'
words: pages are opened by address, logging in and the forms sent go by the forms' field
names and the Enter key.
"""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from tests.browser.axe import describe, violations
from tests.browser.chromium import BROWSER_MARKS, SCREENSHOTS, WAIT_MS, expect
from tests.browser.live import LiveNode
from tests.browser.neighbourhood import REMOTE_AUTHOR, Neighbourhood, build, log_in

pytestmark = BROWSER_MARKS

LANGUAGES = ["en", "fr"]
# a laptop in the light colour scheme; a phone (an iPhone 12 to 15 is 390 CSS pixels wide) in
# the dark one (style.css has both; contrast is checked in each without a third walk)
WIDTHS = [1280, 390]
SCHEMES = {1280: "light", 390: "dark"}


def visitor_pages(n: Neighbourhood) -> list[tuple[str, str]]:
    return [
        ("home", "/"),
        ("explore", "/explore"),
        ("listing", f"/listings/{n.starter}"),
        ("category", "/categories/food"),
        ("profile", "/users/alice"),
        ("about", "/about"),
        ("login", "/login"),
        ("register", "/register"),
        ("forgot-password", "/password/forgot"),
    ]


def resident_pages(n: Neighbourhood) -> list[tuple[str, str]]:
    """alice's pages: her own listing (author's view), bob's (a neighbour's view)."""
    return [
        ("home", "/"),
        ("welcome", "/welcome"),
        ("following", "/following"),
        ("explore", "/explore"),
        ("explore-searched", "/explore?q=drill"),
        ("listing-own", f"/listings/{n.starter}"),
        ("listing-answers", f"/listings/{n.starter}/answers"),
        ("listing-edit", f"/listings/{n.starter}/edit"),
        ("listing-completed", f"/listings/{n.ladder}"),
        ("listing-neighbour", f"/listings/{n.drill}"),
        ("listing-project", f"/listings/{n.bench}"),
        ("network-project", "/network/listing?" + urlencode({"uri": n.remote})),
        ("new-listing", "/listings/new"),
        ("new-listing-form", "/listings/new?purpose=offer&kind=give"),
        ("new-listing-lend", "/listings/new?purpose=request&kind=lend"),
        ("new-listing-project", "/listings/new?purpose=request&kind=project"),
        ("my-listings", "/my/listings"),
        ("my-answers", "/my/answers"),
        ("notifications", "/notifications"),
        ("conversation", f"/conversations/{n.starter_answer}"),
        ("conversation-thanked", f"/conversations/{n.ladder_answer}"),
        ("follows", "/follows"),
        ("profile-own", "/users/alice"),
        ("profile-neighbour", "/users/bob"),
        ("report", f"/report?listing={n.drill}"),
        ("report-sent", "/report/sent"),
        ("settings", "/settings"),
        ("settings-profile", "/settings/profile"),
        ("settings-account", "/settings/account"),
        ("settings-email", "/settings/email"),
        ("settings-notifications", "/settings/notifications"),
        ("settings-sessions", "/settings/sessions"),
        ("settings-blocks", "/settings/blocks"),
        ("settings-apps", "/settings/apps"),
        ("settings-export", "/settings/export"),
        ("settings-delete", "/settings/delete"),
        ("settings-hours", "/settings/hours"),
        ("settings-searches", "/settings/searches"),
        ("oauth-authorize", n.authorize),
        ("about", "/about"),
    ]


# a mailed link used already or expired: a page that says so, with status 410
DEAD_LINKS = [("password-reset-dead", "/password/reset/no-such-token"),
              ("email-confirm-dead", "/email/confirm/no-such-token")]  # fmt: skip


def link_pages(n: Neighbourhood) -> list[tuple[str, str]]:
    """What the links the node mails open (a reset link, a confirmation, an unsubscribe)."""
    return list(zip(("password-reset", "email-confirm", "unsubscribe"), n.links, strict=True))


def admin_pages(n: Neighbourhood) -> list[tuple[str, str]]:
    return [
        ("admin", "/admin"),
        ("admin-accounts", "/admin/accounts"),
        ("admin-account", "/admin/accounts/alice"),
        ("admin-reports", "/admin/reports"),
        ("admin-report", f"/admin/reports/{n.report}"),
        ("admin-log", "/admin/log"),
        ("admin-settings", "/admin/settings"),
        ("admin-places", "/admin/places"),
        ("admin-categories", "/admin/categories"),
        ("admin-domains", "/admin/domains"),
        ("admin-follows", "/admin/follows"),
        ("admin-federation", "/admin/federation"),
        ("admin-unhandled", "/admin/federation/unhandled"),
        ("admin-hours", "/admin/hours"),
        # the author of the sibling node's project: what a moderator may do about them
        ("admin-remote-actor", "/admin/remote-actors?" + urlencode({"uri": REMOTE_AUTHOR})),
    ]


async def new_context(browser, language: str):
    context = await browser.new_context(
        viewport={"width": WIDTHS[0], "height": 900},
        locale=language,
        color_scheme=SCHEMES[WIDTHS[0]],
        extra_http_headers={"Accept-Language": language},
    )
    context.set_default_timeout(WAIT_MS)
    return context


class Walk:
    """Opens pages one after another, photographs each and keeps axe's findings."""

    def __init__(self, node: LiveNode, folders: dict[int, object]) -> None:
        self.node, self.folders, self.count = node, folders, 0
        self.failures: list[str] = []
        for folder in folders.values():
            folder.mkdir(parents=True, exist_ok=True)
            for old in folder.glob("*.png"):
                old.unlink()

    async def through(self, page, who: str, pages: list[tuple[str, str]], status=200) -> None:
        for name, path in pages:
            response = await page.goto(self.node.url(path))
            assert response is not None and response.status == status, (
                f"{who} {path}: {response and response.status}"
            )
            await self.check(page, who, name)

    async def check(self, page, who: str, name: str) -> None:
        """The page as it is now (after a form was sent, say), at each width in turn."""
        self.count += 1
        for width in WIDTHS:
            await page.set_viewport_size({"width": width, "height": 900})
            await page.emulate_media(color_scheme=SCHEMES[width])
            await self._check_at(
                page, f"{who} at {width} px", width, f"{self.count:02d}-{who}-{name}"
            )

    async def _check_at(self, page, who: str, width: int, shot: str) -> None:
        await page.screenshot(path=str(self.folders[width] / f"{shot}.png"), full_page=True)
        # what <details> fold away (a phone's menu, filters, a history) is checked unfolded,
        # then folded again for the next width's screenshot
        folded = await page.evaluate(
            """() => [...document.querySelectorAll('details')].filter(d => !d.open)
                      .map(d => { d.open = true; d.dataset.walkFolded = ''; }).length"""
        )
        found = await violations(page)
        if found:
            self.failures.append(describe(f"{who} on {page.url}", found))
        # WCAG 1.4.10 (reflow), which axe leaves to people: nothing scrolls sideways
        wide, viewport = await page.evaluate(
            "() => [document.documentElement.scrollWidth, window.innerWidth]"
        )
        if wide > viewport:
            self.failures.append(f"{who} on {page.url}: {wide} px wide in {viewport}")
        if folded:
            await page.evaluate(
                """() => document.querySelectorAll('details[data-walk-folded]')
                          .forEach(d => { d.open = false; delete d.dataset.walkFolded; })"""
            )


# --- pages that come back from a form: refused, or saved with a message ---------------------
# (by the forms' field names and the Enter key, the same in every language)


async def refused_login(page, node: LiveNode, walk: Walk) -> None:
    await page.goto(node.url("/login"))
    await page.locator("[name=username]").fill("alice")
    await page.locator("[name=password]").fill("not her password")
    await page.locator("[name=password]").press("Enter")
    await expect(page.get_by_role("alert")).to_be_visible()
    await walk.check(page, "visitor", "login-refused")


async def refused_listing(page, node: LiveNode, walk: Walk) -> None:
    await page.goto(node.url("/listings/new?purpose=offer&kind=give"))
    await page.locator("[name=quantity]").fill("-1")
    await page.locator("[name=quantity]").press("Enter")
    await expect(page.get_by_role("alert")).to_be_visible()
    await walk.check(page, "alice", "new-listing-refused")


async def saved_settings(page, node: LiveNode, walk: Walk) -> None:
    await page.goto(node.url("/settings/profile"))
    await page.locator("[name=display_name]").fill("Alice Liddell")
    await page.locator("[name=display_name]").press("Enter")
    await expect(page.get_by_role("status")).to_be_visible()
    await walk.check(page, "alice", "settings-profile-saved")


@pytest.mark.parametrize("language", LANGUAGES)
async def test_accessibility_walk__every_main_page_has_no_axe_violation(
    browser, live_node, language
):
    # Given a neighbourhood with listings, answers, thanks and a report
    n = await build(live_node)
    walk = Walk(live_node, {width: SCREENSHOTS / "walk" / f"{language}-{width}"
                            for width in WIDTHS})  # fmt: skip

    # When a visitor, alice (a resident) and ada (the admin) walk through their pages
    visitor = await (await new_context(browser, language)).new_page()
    await walk.through(visitor, "visitor", visitor_pages(n))
    await walk.through(visitor, "visitor", [("missing", "/listings/nosuchlisting")], status=404)
    await walk.through(visitor, "visitor", link_pages(n))
    await walk.through(visitor, "visitor", DEAD_LINKS, status=410)
    await refused_login(visitor, live_node, walk)
    alice = await (context := await new_context(browser, language)).new_page()
    await log_in(context, live_node, "alice")
    await walk.through(alice, "alice", resident_pages(n))
    await refused_listing(alice, live_node, walk)
    await saved_settings(alice, live_node, walk)
    ada = await (context := await new_context(browser, language)).new_page()
    await log_in(context, live_node, "ada")
    await walk.through(ada, "ada", admin_pages(n))

    # Then axe found nothing on any of them
    walked = sum(map(len, (visitor_pages(n), link_pages(n), resident_pages(n), admin_pages(n))))
    # and the missing page, the dead links and the three forms sent
    assert walk.count == walked + 1 + len(DEAD_LINKS) + 3
    assert not walk.failures, "\n\n".join(walk.failures)
