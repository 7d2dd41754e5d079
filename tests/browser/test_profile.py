"""A resident edits their profile in headless Chromium, with an avatar, and sees it on their
profile page.

alice joins, opens Settings, then Profile; a bio over its limit comes back with a message
next to it and nothing saved; then she saves a display name, a Markdown bio, her area, a
field and a picture, follows the link to her profile and sees all of it, the picture loaded.
Screenshots go to tests/browser/screenshots/.
"""

from __future__ import annotations

import re

from commonsfed.services.photos import media_dir
from commonsfed.web.keys import POOL
from tests.browser.chromium import (
    BROWSER_MARKS,
    expect,
    new_page,
    register,
    snap,
)
from tests.browser.live import LiveNode
from tests.builders import photo_bytes

pytestmark = BROWSER_MARKS

BIO = "I lend **ladders** and fix bikes on Saturdays."


async def stored_profile(node: LiveNode) -> tuple:
    async with node.app[POOL].acquire() as conn:
        row = await conn.fetchrow("SELECT display_name, summary, area, avatar_filename"
                                  " FROM accounts WHERE username = 'alice'")  # fmt: skip
        fields = await conn.fetchval("SELECT count(*) FROM profile_fields")
    return (*row, fields)


async def open_profile_settings(page, node: LiveNode) -> None:
    await (
        page.get_by_role("navigation", name="Account").get_by_role("link", name="Settings").click()
    )
    await (
        page.get_by_role("navigation", name="Settings").get_by_role("link", name="Profile").click()
    )
    await expect(page).to_have_url(node.url("/settings/profile"))
    await expect(page.get_by_role("heading", level=1)).to_have_text("Profile")


async def fill_profile(page, bio: str, picture) -> None:
    await page.get_by_label("Display name").fill("Alice Liddell")
    await page.get_by_label("About you").fill(bio)
    await page.get_by_label("Where in the neighbourhood").fill("Elm Street, north end")
    await page.get_by_label("Label 1").fill("Pronouns")
    await page.get_by_label("Value 1").fill("she/her")
    await page.get_by_label("New picture").set_input_files(str(picture))


async def refused_bio_over_its_limit(page, node: LiveNode, picture) -> None:
    before = await stored_profile(node)
    await fill_profile(page, "x" * 501, picture)
    await page.get_by_role("button", name="Save profile").click()
    await expect(page.get_by_role("alert")).to_contain_text("Your profile was not changed")
    bio = page.get_by_label("About you")
    await expect(bio).to_have_attribute("aria-invalid", "true")
    await expect(bio).to_have_accessible_description("Use at most 500 characters.")
    await expect(page.get_by_label("Display name")).to_have_value("Alice Liddell")  # kept
    await snap(page, "profile-1-refused")
    assert await stored_profile(node) == before
    assert not any(media_dir(node.settings).glob("*"))


async def see_own_profile(page, node: LiveNode) -> None:
    await expect(page.get_by_role("status")).to_contain_text("Your profile is saved.")
    await page.get_by_role("link", name=node.url("/users/alice")).click()
    await expect(page).to_have_url(node.url("/users/alice"))
    await expect(page.get_by_role("heading", level=1)).to_have_text("Alice Liddell")
    await expect(page.locator(".bio strong")).to_have_text("ladders")
    await expect(page.locator(".profile-fields .area")).to_have_text("Elm Street, north end")
    await expect(page.locator(".profile-fields dt").nth(1)).to_have_text("Pronouns")
    await expect(page.locator(".profile-fields dd").nth(1)).to_have_text("she/her")
    avatar = page.locator(".profile img.avatar")
    await expect(avatar).to_have_attribute("src", re.compile(r"^/media/[A-Za-z0-9_-]{22}\.\w+$"))
    await avatar.evaluate("img => img.decode()")  # rejects when the bytes are not an image
    assert await avatar.evaluate("img => [img.naturalWidth, img.naturalHeight]") == [400, 400]
    await snap(page, "profile-3-page")


async def test_profile__a_resident_edits_it_with_an_avatar_and_sees_it(
    browser, live_node, tmp_path
):
    # Given alice joined, and a photo of her
    picture = tmp_path / "alice.png"
    picture.write_bytes(photo_bytes("PNG", size=(640, 480), color="purple"))
    page = await new_page(browser)
    await register(page, live_node, "alice")

    # When she opens her profile settings and sends a bio over its limit
    await open_profile_settings(page, live_node)
    await refused_bio_over_its_limit(page, live_node, picture)

    # and then fills the form in properly, a picture chosen again
    await fill_profile(page, BIO, picture)
    await snap(page, "profile-2-form")
    await page.get_by_role("button", name="Save profile").click()

    # Then her profile page shows all of it, the picture loaded
    await see_own_profile(page, live_node)
    assert (await stored_profile(live_node))[:3] == ("Alice Liddell", BIO, "Elm Street, north end")
