"""A listing posted and answered with the keyboard alone, in headless Chromium.

alice and bob have accounts. Each opens the login page and from there uses nothing but the
keyboard (Tab, arrows, Space, Enter and typing; never a click): alice logs in, goes to the
new-listing form through the skip link and the navigation, chooses "offer" and "give away",
fills the form in and publishes; bob logs in, finds her listing on the home page, answers it
and lands in the conversation. Every control used shows where the focus is: the node's own
focus ring (an outline of 2 px or more, or a box shadow), not nothing and not the browser's
thin default. Controls are found by role and name, so the walk holds when pages are
rearranged.
"""

from __future__ import annotations

import re

from commonsfed.services import accounts
from commonsfed.web.keys import POOL
from tests.browser.chromium import BROWSER_MARKS, expect, new_page, snap
from tests.browser.live import LiveNode
from tests.builders import DEFAULT_PASSWORD

pytestmark = BROWSER_MARKS

TITLE = "Rhubarb from the allotment"
ANSWER = "I would love a few stalks for a crumble."
PRESSES = 120  # more Tab presses than any page has stops: a control not reached is missing

_FOCUS = """el => {
    const style = getComputedStyle(el);
    return {focused: el === document.activeElement, visible: el.matches(":focus-visible"),
            outline: style.outlineStyle, width: parseFloat(style.outlineWidth) || 0,
            shadow: style.boxShadow};
}"""


async def expect_focus_shown(control) -> None:
    """The control has the focus, reached by keyboard, and the node draws a ring around it."""
    state = await control.evaluate(_FOCUS)
    assert state["focused"] and state["visible"], state
    ring = state["outline"] not in ("none", "auto") and state["width"] >= 2
    assert ring or state["shadow"] != "none", f"no visible focus on {control}: {state}"


async def tab_to(page, control, key: str = "Tab") -> None:
    """Press Tab (or Shift+Tab) until `control` has the focus."""
    element = await control.element_handle()
    for _ in range(PRESSES):
        await page.keyboard.press(key)
        if await element.evaluate("el => el === document.activeElement"):
            await expect_focus_shown(control)
            return
    raise AssertionError(f"{PRESSES} presses of {key} never reached {control}")


async def choose_radio(page, radio) -> None:
    """Tab into the radio group, then arrow to the choice (a group is one Tab stop)."""
    name = await radio.get_attribute("name")
    group = f"el => el.type === 'radio' && el.name === {name!r}"
    for _ in range(PRESSES):
        await page.keyboard.press("Tab")
        if await page.evaluate(f"({group})(document.activeElement)"):
            break
    for _ in range(20):
        if await radio.evaluate("el => el === document.activeElement"):
            break
        await page.keyboard.press("ArrowDown")
    await expect_focus_shown(radio)
    await page.keyboard.press("Space")
    await expect(radio).to_be_checked()


async def type_into(page, control, text: str) -> None:
    await tab_to(page, control)
    await page.keyboard.type(text)
    await expect(control).to_have_value(text)


async def press_button(page, button, key: str = "Enter") -> None:
    await tab_to(page, button)
    await page.keyboard.press(key)


async def log_in(page, node: LiveNode, username: str) -> None:
    await page.goto(node.url("/login"))
    await type_into(page, page.get_by_label("Username"), username)
    await type_into(page, page.get_by_label("Password"), DEFAULT_PASSWORD)
    await press_button(page, page.get_by_role("button", name="Log in"), key="Space")
    await expect(page).to_have_url(re.compile(r"/(welcome)?$"))  # a first login: the welcome


async def skip_to_content(page) -> None:
    """The first Tab stop is the skip link; Enter on it moves the Tab order to <main>."""
    skip = page.get_by_role("link", name="Skip to content")
    await page.keyboard.press("Tab")
    await expect(skip).to_be_focused()
    await expect_focus_shown(skip)
    await page.keyboard.press("Enter")
    await expect(page).to_have_url(re.compile(r"#main$"))


async def post_listing(page, node: LiveNode) -> str:
    await press_button(page, page.get_by_role("link", name="New listing"))
    await expect(page.get_by_role("heading", level=1)).to_have_text("New listing")
    await choose_radio(page, page.get_by_role("radio", name=re.compile(r"^Offer")))
    await choose_radio(page, page.get_by_role("radio", name=re.compile(r"^Give away")))
    await press_button(page, page.get_by_role("button", name="Continue"))
    await expect(page.get_by_role("heading", level=1)).to_have_text("New offer: give away")
    await skip_to_content(page)
    await type_into(page, page.get_by_label("Title", exact=True), TITLE)
    await type_into(page, page.get_by_label("Description", exact=True), "Pick your own.")
    category = page.get_by_label("Category")
    await tab_to(page, category)
    await page.keyboard.type("Food")  # a closed <select> takes the option typed
    await expect(category).to_have_value("food")
    await type_into(page, page.get_by_label("Place", exact=True), "Allotments, gate 2")
    await snap(page, "keyboard-1-form")
    await press_button(page, page.get_by_role("button", name="Publish"))
    await expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    return page.url


async def answer_listing(page, node: LiveNode, listing_url: str) -> None:
    # from wherever logging in led (a first login: the welcome) to the home page
    await press_button(page, page.get_by_role("banner").get_by_role(
        "link", name=node.settings.instance_name))  # fmt: skip
    await expect(page).to_have_url(node.url("/"))
    await skip_to_content(page)
    await press_button(page, page.get_by_role("link", name=TITLE).first)
    await expect(page).to_have_url(listing_url)
    await type_into(page, page.get_by_label("Answer privately"), ANSWER)
    await snap(page, "keyboard-2-answer")
    await press_button(page, page.get_by_role("button", name="Send privately"))
    await expect(page).to_have_url(re.compile(r"/conversations/[0-9]+$"))
    await expect(page.get_by_text(ANSWER)).to_be_visible()


async def test_keyboard_walk__a_listing_is_posted_and_answered_with_the_keyboard_alone(
    browser, live_node
):
    # Given alice and bob have accounts
    for name in ("alice", "bob"):
        await accounts.register(live_node.app[POOL], live_node.settings, username=name,
                                email=f"{name}@example.org", password=DEFAULT_PASSWORD,
                                by_admin=True)  # fmt: skip

    # When alice logs in and posts a listing with the keyboard alone
    alice = await new_page(browser)
    await log_in(alice, live_node, "alice")
    listing_url = await post_listing(alice, live_node)

    # Then bob, with the keyboard alone, logs in, finds it and answers it
    bob = await new_page(browser)
    await log_in(bob, live_node, "bob")
    await answer_listing(bob, live_node, listing_url)

    # And alice sees his answer on her listing
    await alice.reload()
    await expect(alice.get_by_role("link", name="@bob")).to_be_visible()
