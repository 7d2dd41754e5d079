"""The public /about page: the node's name and description, its rules and contact, the
software, and the servers it moderates with their public comments, as Mastodon shows them."""

from __future__ import annotations

import hashlib

from commonsfed import __version__
from commonsfed.web.keys import POOL

RULES = ("Be kind to neighbours.", "No selling for profit: give, lend, swap.")


async def block(pool, domain: str, severity: str, comment: str = "", obfuscate: bool = False,
                policy: str = "block") -> None:  # fmt: skip
    async with pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO domain_policies (domain, policy, severity, public_comment, obfuscate) "
            "VALUES ($1, $2, $3, $4, $5)",
            domain, policy, severity, comment, obfuscate,
        )  # fmt: skip


async def test_about__shows_the_node_its_rules_contact_and_software(make_client):
    # Given a node whose environment gives its rules and contact
    client = await make_client(rules=RULES, contact_email="admins@elm.example")

    page = await (await client.get("/about")).text()

    assert "<h1>About Elm Street Commons</h1>" in page
    assert "Neighbours on Elm Street sharing tools, food and time." in page
    assert ('<ol id="rules">\n    <li>Be kind to neighbours.</li>'
            "<li>No selling for profit: give, lend, swap.</li>") in page  # fmt: skip
    assert '<a href="mailto:admins@elm.example">admins@elm.example</a>' in page
    assert f"commonsfed</a> {__version__}</dd>" in page
    assert "This node moderates no servers." in page


async def test_about__linked_from_every_pages_footer(client):
    page = await (await client.get("/")).text()

    assert '<a href="/about">About this node</a>' in page.split('<footer class="site">')[1]


async def test_about__lists_limited_and_suspended_servers_with_their_comments(client):
    pool = client.server.app[POOL]
    await block(pool, "spam.example", "suspend", "Spam <b>only</b>")
    await block(pool, "loud.example", "limit", "Floods the public feed")
    await block(pool, "hidden-server.example", "suspend", "Harassment", obfuscate=True)
    await block(pool, "media.example", "none", "Huge images")  # rejects media only: not shown
    await block(pool, "friend.example", "none", policy="allow")

    page = await (await client.get("/about")).text()

    rows = page.split('class="list" id="moderated">')[1].split("</table>")[0]
    rows = rows.split("<tbody>")[1].split("<tr>")[1:]
    assert len(rows) == 3
    assert "loud.example" in rows[0] and "Limited" in rows[0] and "Floods the public" in rows[0]
    assert "hidden*******.**ample" in rows[1] and "Suspended" in rows[1]
    digest = hashlib.sha256(b"hidden-server.example").hexdigest()
    assert f'title="SHA-256: {digest}"' in rows[1]
    assert "hidden-server" not in page
    assert "spam.example" in rows[2] and "Spam &lt;b&gt;only&lt;/b&gt;" in rows[2]
    assert "media.example" not in page and "friend.example" not in page
