"""Domain blocks on one node, against its real database: what each severity does at once and
afterwards, the /admin/domains page, the allow-list, and who may do any of it."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import aiohttp
import pytest

from commonsfed.ap.activities import remote_object_from_ap
from commonsfed.db import objects
from commonsfed.db.inbox import insert_item
from commonsfed.db.pool import connect
from commonsfed.federation import outbox
from commonsfed.federation.inbox import permitted_policies
from commonsfed.federation.policy import is_allowed, rejects_media, rejects_reports
from commonsfed.models import DomainPolicy
from commonsfed.services import accounts, domains, follows, profiles
from commonsfed.services.errors import NotAllowed, ValidationError
from commonsfed.web.keys import FEDERATION, POOL
from commonsfed.web.sessions import CSRF_FIELD
from tests.builders import csrf_from, post_form, register_and_login

DATA = Path(__file__).parent.parent / "data"
SAM = "http://spam.example/users/sam"


async def rows(pool, sql: str, *args) -> list[tuple]:
    async with pool.acquire() as conn:
        return [tuple(row) for row in await conn.fetch(sql, *args)]


async def spam_scene(pool, settings, domain: str = "spam.example") -> None:
    """sam of `domain` follows ada and ada follows him; a delivery to him waits; a listing of
    his and his Like of it are here; his picture is at his domain."""
    sam = f"http://{domain}/users/sam"
    ada = f"{settings.base_url}/users/ada"
    listing = json.loads((DATA / "fep0837_offer_note.json").read_text().replace(
        "https://south.test", f"http://{domain}").replace("/users/carmen", "/users/sam"))
    listing.pop("endTime", None)
    async with pool.acquire() as conn:
        await conn.execute(
            """
            INSERT INTO remote_actors (uri, domain, type, preferred_username, inbox, key_id,
                                       public_key_pem, document, icon_url)
            VALUES ($1, $2, 'Person', 'sam', $1 || '/inbox', $1 || '#main-key', 'pem', '{}',
                    'https://' || $2 || '/sam.png')
            """,
            sam, domain,
        )  # fmt: skip
        await conn.execute(
            "INSERT INTO follows (follower_uri, followed_uri, state) VALUES ($1, $2, 'accepted'),"
            " ($2, $1, 'accepted')", sam, ada)  # fmt: skip
        await outbox.publish(conn, settings, {"id": f"{ada}#hello", "type": "Like", "actor": ada,
                                              "object": listing["id"], "to": [sam]})  # fmt: skip
        await objects.insert_remote_object(conn, remote_object_from_ap(listing))
        await objects.insert_reaction(conn, f"{sam}#like", "Like", sam, listing["id"])


async def upload(client, content: bytes, name: str = "domain_blocks.csv",
                 form_path: str = "/admin/domains"):
    """The import form as a browser sends it: multipart, with the page's CSRF token."""
    token = csrf_from(await (await client.get(form_path)).text())
    form = aiohttp.FormData()
    form.add_field(CSRF_FIELD, token)
    form.add_field("file", content, filename=name, content_type="text/csv")
    return await client.post("/admin/domains/import", data=form)


async def block_form(client, **fields):
    data = {"domain": "spam.example", "severity": "suspend", "public_comment": "",
            "reason": "", **fields}  # fmt: skip
    return await post_form(client, "/admin/domains", data, allow_redirects=False)


# --- what each severity does -----------------------------------------------------------------


async def test_block_page__suspend_ends_follows_drops_deliveries_and_content(ada, pool, settings):
    # Given sam of spam.example, who follows ada and is followed, with a delivery waiting
    await spam_scene(pool, settings)

    # When the admin suspends spam.example from the page, with a public comment and a reason
    response = await block_form(ada, public_comment="Spam, and only spam.",
                                reason="Reports from three residents")

    # Then the block is kept, the follows end, the delivery is dropped, his content is gone
    assert response.status == 303
    assert await rows(pool, "SELECT domain, policy, severity, public_comment, note "
                            "FROM domain_policies") == [
        ("spam.example", "block", "suspend", "Spam, and only spam.",
         "Reports from three residents")]  # fmt: skip
    assert await rows(pool, "SELECT * FROM follows") == []
    assert await rows(pool, "SELECT state, last_error FROM deliveries") == [
        ("failed", "dropped: the domain is blocked")]
    assert await rows(pool, "SELECT uri FROM remote_objects") == []
    assert await rows(pool, "SELECT activity_uri FROM reactions") == []
    # and the moderation log tells who did it, why, and what it did
    ((who, action, kind, target, reason, details),) = await rows(
        pool, "SELECT moderator_name, action, target_kind, target, reason, details "
              "FROM moderation_log WHERE target_kind = 'domain'")  # fmt: skip
    assert (who, action, kind, target, reason) == (
        "ada", "block_domain", "domain", "spam.example", "Reports from three residents")
    assert json.loads(details) == {
        "severity": "suspend", "follows_ended": 2, "deliveries_dropped": 1,
        "objects_dropped": 1, "public_comment": "Spam, and only spam."}  # fmt: skip


async def test_block_page__limit_keeps_follows_and_hides_from_explore(ada, pool, settings):
    await spam_scene(pool, settings)
    shown = await (await ada.get("/explore?where=everywhere")).text()
    assert '<span class="origin">spam.example</span>' in shown

    response = await block_form(ada, severity="limit")

    assert response.status == 303
    assert len(await rows(pool, "SELECT * FROM follows")) == 2
    assert await rows(pool, "SELECT state FROM deliveries") == [("pending",)]
    assert len(await rows(pool, "SELECT uri FROM remote_objects")) == 1
    hidden = await (await ada.get("/explore?where=everywhere")).text()
    assert '<span class="origin">spam.example</span>' not in hidden
    async with pool.acquire() as conn:  # its deliveries still go, its activities still come
        assert await is_allowed(conn, settings, "spam.example")


async def test_block_page__reject_media_hides_the_domains_pictures(ada, pool, settings):
    await spam_scene(pool, settings)
    assert (await profiles.remote_profile(pool, SAM)).icon_url == "https://spam.example/sam.png"

    response = await block_form(ada, severity="none", reject_media="on")

    assert response.status == 303
    assert (await profiles.remote_profile(pool, SAM)).icon_url is None
    assert len(await rows(pool, "SELECT * FROM follows")) == 2
    async with pool.acquire() as conn:
        assert await rejects_media(conn, "spam.example")
        assert not await rejects_reports(conn, "spam.example")


async def test_rejects_reports__only_for_a_block_that_says_so(ada, pool, settings):
    await domains.block_domain(pool, settings, None, DomainPolicy(
        "Reports.Example", "block", "none", reject_reports=True))  # fmt: skip

    async with pool.acquire() as conn:
        assert await rejects_reports(conn, "reports.example")
        assert not await rejects_reports(conn, "other.example")
        assert not await rejects_media(conn, "reports.example")


async def test_block_page__changing_a_block_to_suspend_then_lifting_it(ada, pool, settings):
    await spam_scene(pool, settings)
    await block_form(ada, severity="limit")

    page = await (await ada.get("/admin/domains?edit=spam.example")).text()
    assert "Change the block of spam.example" in page
    assert 'value="limit" checked' in page
    await block_form(ada, severity="suspend", reason="It got worse")
    assert await rows(pool, "SELECT severity FROM domain_policies") == [("suspend",)]
    assert await rows(pool, "SELECT * FROM follows") == []

    response = await post_form(ada, "/admin/domains/remove",
                               {"domain": "spam.example", "reason": "They cleaned up"},
                               form_path="/admin/domains", allow_redirects=False)  # fmt: skip

    assert response.status == 303
    assert await rows(pool, "SELECT * FROM domain_policies") == []
    assert await rows(pool, "SELECT action, reason FROM moderation_log "
                            "WHERE target_kind = 'domain' ORDER BY id") == [
        ("block_domain", ""), ("change_domain_block", "It got worse"),
        ("unblock_domain", "They cleaned up")]  # fmt: skip


async def test_block_page__lists_blocks_with_their_fields(ada, pool, settings):
    await domains.block_domain(pool, settings, None, DomainPolicy(
        "loud.example", "block", "limit", reject_media=True, public_comment="Too loud",
        note="asked by the street"))  # fmt: skip

    page = await (await ada.get("/admin/domains")).text()

    row = page.split("<code>loud.example</code>")[1].split("</tr>")[0]
    assert "Limit" in row and "rejected" in row and "Too loud" in row
    assert "asked by the street" in row


# --- the inbox's gate and the severities -----------------------------------------------------


@pytest.mark.parametrize("mode", ["open", "allowlist"])
@pytest.mark.parametrize("severity", ["suspend", "limit", "none"])
async def test_inbox_gate__agrees_with_is_allowed_for_every_severity(settings, mode, severity):
    # The insert reads the policy itself (one round trip); a block that is not a suspension
    # lets the domain in, in open federation
    settings = replace(settings, federation=mode)
    conn = await connect(settings.database_url)
    try:
        await conn.execute("INSERT INTO domain_policies (domain, policy, severity) "
                           "VALUES ('south.test', 'block', $1)", severity)  # fmt: skip
        allowed = await is_allowed(conn, settings, "south.test")
        result = await insert_item(conn, "http://south.test/a/1", "http://south.test/users/a",
                                   "{}", domain="south.test",
                                   permitted=permitted_policies(settings, "south.test"))
    finally:
        await conn.close()

    assert allowed is (mode == "open" and severity != "suspend")
    assert (result == "stored") is allowed


# --- the allow-list --------------------------------------------------------------------------


async def test_allow_list__an_admin_adds_and_removes_allowed_domains(make_client, settings):
    client = await make_client(federation="allowlist")
    await register_and_login(client, "ada")
    pool = client.server.app[POOL]
    await accounts.set_role(pool, "ada", "admin")
    assert "Allowed domains" in await (await client.get("/admin/domains")).text()

    added = await post_form(client, "/admin/domains/allow",
                            {"domain": "South.Test", "reason": "our sister street"},
                            form_path="/admin/domains", allow_redirects=False)  # fmt: skip
    assert added.status == 303
    assert await rows(pool, "SELECT domain, policy FROM domain_policies") == [
        ("south.test", "allow")]
    assert "<code>south.test</code>" in await (await client.get("/admin/domains")).text()

    removed = await post_form(client, "/admin/domains/disallow", {"domain": "south.test"},
                              form_path="/admin/domains", allow_redirects=False)  # fmt: skip
    assert removed.status == 303
    assert await rows(pool, "SELECT * FROM domain_policies") == []
    assert await rows(pool, "SELECT action, target FROM moderation_log "
                            "WHERE target_kind = 'domain' ORDER BY id") == [
        ("allow_domain", "south.test"), ("disallow_domain", "south.test")]  # fmt: skip


async def test_allow_list__a_blocked_domain_is_not_allowed_by_surprise(ada, pool, settings):
    await domains.block_domain(pool, settings, None, DomainPolicy("spam.example", "block"))

    with pytest.raises(ValidationError, match="lift the block first"):
        await domains.allow_domain(pool, settings, None, "spam.example")

    assert await rows(pool, "SELECT policy FROM domain_policies") == [("block",)]


# --- bad input and people without the role ---------------------------------------------------


async def test_block_page__the_nodes_own_domain_is_refused(ada, pool, settings):
    response = await block_form(ada, domain=settings.domain.upper())

    assert response.status == 422
    assert "is this node&#39;s own domain" in await response.text()
    assert await rows(pool, "SELECT * FROM domain_policies") == []
    assert await rows(pool, "SELECT * FROM moderation_log WHERE target_kind = 'domain'") == []


@pytest.mark.parametrize("domain", ["https://spam.example/", "spam example", "spam..example",
                                    "", "-spam.example", "a" * 300 + ".example"])
async def test_block_page__a_malformed_domain_is_refused(ada, pool, domain):
    response = await block_form(ada, domain=domain)

    assert response.status == 422
    page = await response.text()
    assert "is not a domain like commons.example.org" in page or "Give a domain" in page
    assert await rows(pool, "SELECT * FROM domain_policies") == []


async def test_block_page__an_unknown_severity_is_refused(ada, pool):
    response = await block_form(ada, severity="silence-ish")

    assert response.status == 422
    assert "A severity is one of suspend, limit, none." in await response.text()
    assert await rows(pool, "SELECT * FROM domain_policies") == []


async def test_block_page__an_internationalised_domain_is_kept_in_ascii(ada, pool):
    response = await block_form(ada, domain="Bücher.Example.")

    assert response.status == 303
    assert await rows(pool, "SELECT domain FROM domain_policies") == [("xn--bcher-kva.example",)]


@pytest.mark.parametrize("method, path, data", [
    ("get", "/admin/domains", None),
    ("get", "/admin/domains/export", None),
    ("get", "/admin/follows", None),
    ("post", "/admin/domains", {"domain": "spam.example", "severity": "suspend"}),
    ("post", "/admin/domains/remove", {"domain": "blocked.example"}),
    ("post", "/admin/domains/allow", {"domain": "spam.example"}),
    ("post", "/admin/domains/disallow", {"domain": "allowed.example"}),
    ("post", "/admin/domains/import", {"file": b"#domain\nspam.example\n"}),
    ("post", "/admin/follows/accept", {"uri": SAM}),
    ("post", "/admin/follows/reject", {"uri": SAM}),
])  # fmt: skip
async def test_domain_admin__a_moderator_gets_403_and_nothing_changes(
    mo, pool, settings, method, path, data
):
    await domains.block_domain(pool, settings, None, DomainPolicy("blocked.example", "block"))
    async with pool.acquire() as conn:
        await conn.execute("INSERT INTO domain_policies (domain, policy) "
                           "VALUES ('allowed.example', 'allow')")  # fmt: skip
    before = await rows(pool, "SELECT * FROM domain_policies ORDER BY domain")
    log = await rows(pool, "SELECT count(*) FROM moderation_log")

    if method == "get":
        response = await mo.get(path)
    elif path.endswith("/import"):
        response = await upload(mo, data["file"], form_path="/admin/log")
    else:
        response = await post_form(mo, path, data, form_path="/admin/log")

    assert response.status == 403
    assert await rows(pool, "SELECT * FROM domain_policies ORDER BY domain") == before
    assert await rows(pool, "SELECT count(*) FROM moderation_log") == log


async def test_domains_service__refuses_a_moderator(mo, pool, settings):
    moderator = await accounts.get_by_username(pool, "mo")

    with pytest.raises(NotAllowed):
        await domains.block_domain(pool, settings, moderator, DomainPolicy("x.example", "block"))
    with pytest.raises(NotAllowed):
        await domains.unblock_domain(pool, settings, moderator, "x.example")
    with pytest.raises(NotAllowed):
        await domains.allow_domain(pool, settings, moderator, "x.example")

    assert await rows(pool, "SELECT * FROM domain_policies") == []


async def test_admin_nav__shows_domains_to_admins_only(ada, mo):
    assert 'href="/admin/domains"' in await (await ada.get("/admin/log")).text()
    assert 'href="/admin/follows"' in await (await ada.get("/admin/log")).text()
    assert 'href="/admin/domains"' not in await (await mo.get("/admin/log")).text()


async def test_federate__in_allow_list_mode_never_lifts_a_block(make_client, settings):
    client = await make_client(federation="allowlist")
    fed = client.server.app[FEDERATION]
    await domains.block_domain(fed.pool, fed.settings, None,
                               DomainPolicy("spam.example", "block", "limit"))  # fmt: skip

    with pytest.raises(ValidationError, match="lift the block first"):
        await follows.federate(fed, "spam.example")

    assert await rows(fed.pool, "SELECT policy, severity FROM domain_policies") == [
        ("block", "limit")]
