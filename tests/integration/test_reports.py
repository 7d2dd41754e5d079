"""Reports through the web, on a real PostgreSQL: residents report a listing, a message or a
person; moderators work the queue (notes, resolve, reopen, remove the listing), and every
refusal stores nothing.

Alice posts; Bob reports; Mo moderates; Carol is a resident with no part in it.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from urllib.parse import urlencode

import orjson
import pytest

from commonsfed.services import accounts
from commonsfed.services.mail_transport import compose
from commonsfed.web.keys import POOL
from tests.builders import post_form
from tests.integration.test_answers import answered, new_listing


@pytest.fixture
async def mo(make_resident, bob):
    client = await make_resident("mo")
    await accounts.set_role(client.server.app[POOL], "mo", "moderator")
    return client


@pytest.fixture
def pool(alice):
    return alice.server.app[POOL]


async def text(response) -> str:
    return html.unescape(await response.text())


async def rows(pool, sql: str, *args) -> list[dict]:
    async with pool.acquire() as conn:
        return [dict(row) for row in await conn.fetch(sql, *args)]


async def report(client, about: dict, category: str = "spam", comment: str = "Not a real offer",
                 form_path: str | None = None):  # fmt: skip
    return await post_form(client, "/report", {**about, "category": category, "comment": comment},
                           form_path=form_path or "/report?" + urlencode(about),
                           allow_redirects=False)  # fmt: skip


async def reported(client, about: dict, **options) -> int:
    response = await report(client, about, **options)
    assert response.status == 303, await response.text()
    assert response.headers["Location"] == "/report/sent"
    [row] = await rows(client.server.app[POOL], "SELECT max(id) AS id FROM reports")
    return row["id"]


async def act(client, report_id: int, action: str, **data):
    return await post_form(
        client,
        f"/admin/reports/{report_id}/{action}",
        data,
        form_path=f"/admin/reports/{report_id}",
        allow_redirects=False,
    )


# --- residents report ------------------------------------------------------------------------


async def test_report__a_listing_from_its_page_reaches_the_moderators_queue(alice, bob, mo, pool):
    uid = await new_listing(alice, title="Red bike")
    page = await text(await bob.get(f"/listings/{uid}"))
    assert f'href="/report?listing={uid}"' in page
    assert "Report this listing" not in await text(await alice.get(f"/listings/{uid}"))

    form = await text(await bob.get(f"/report?listing={uid}"))
    assert "Report the listing “Red bike” by @alice" in form
    report_id = await reported(bob, {"listing": uid}, category="scam", comment="Wants a deposit")

    [row] = await rows(pool, "SELECT * FROM reports")
    assert (row["about"], row["listing_uid"], row["category"], row["content"], row["quoted"]) == (
        "listing",
        uid,
        "scam",
        "Wants a deposit",
        "Red bike",
    )
    assert row["target_actor_uri"] == "http://localhost/users/alice"
    assert row["reporter_uri"] == "http://localhost/users/bob" and row["activity_uri"] is None
    queue = await text(await mo.get("/admin/reports"))
    assert f'href="/admin/reports/{report_id}"' in queue and "Red bike" in queue
    shown = await text(await mo.get(f"/admin/reports/{report_id}"))
    assert "@bob" in shown and "Wants a deposit" in shown and "scam" in shown
    assert 'href="/admin/accounts/alice"' in shown and f'href="/listings/{uid}"' in shown
    assert "Remove the listing" in shown and "Forward to" not in shown


async def test_report__a_message_in_ones_own_conversation(alice, bob, mo, pool, make_resident):
    uid = await new_listing(alice, title="Red bike")
    conversation = await answered(bob, uid, "Send me 50 euros first, then I pick it up.")
    [message] = await rows(pool, "SELECT id FROM messages")
    page = await text(await alice.get(f"/conversations/{conversation}"))
    assert f'href="/report?message={message["id"]}"' in page
    assert "Report this message" not in await text(await bob.get(f"/conversations/{conversation}"))

    report_id = await reported(alice, {"message": str(message["id"])}, category="scam")

    [row] = await rows(pool, "SELECT about, message_id, quoted, target_actor_uri FROM reports")
    assert row == {"about": "message", "message_id": message["id"],
                   "quoted": "Send me 50 euros first, then I pick it up.",
                   "target_actor_uri": "http://localhost/users/bob"}  # fmt: skip
    shown = await text(await mo.get(f"/admin/reports/{report_id}"))
    assert "Send me 50 euros first" in shown and 'href="/admin/accounts/bob"' in shown

    # Carol, who is not in that conversation, cannot report what she cannot see
    carol = await make_resident("carol")
    refused = await report(carol, {"message": str(message["id"])}, form_path="/")
    assert refused.status == 422 and "no such message in your conversations" in await text(refused)
    assert len(await rows(pool, "SELECT id FROM reports")) == 1


async def test_report__a_person_from_their_profile(alice, bob, pool):
    assert 'href="/report?person=alice"' in await text(await bob.get("/users/alice"))

    await reported(bob, {"person": "alice"}, category="harassment", comment="")

    [row] = await rows(pool, "SELECT about, target_actor_uri, target_uris, category FROM reports")
    assert row == {
        "about": "person",
        "target_actor_uri": "http://localhost/users/alice",
        "target_uris": ["http://localhost/users/alice"],
        "category": "harassment",
    }


@pytest.mark.parametrize("about, message", [
    ({"listing": "NoSuchListing"}, "There is no such listing here"),
    ({"message": "99999"}, "There is no such message in your conversations"),
    ({"message": "x1"}, "There is no such message in your conversations"),
    ({"person": "nobody"}, "There is no such person here"),
    ({"person": "https://east.example/users/carol"}, "This node knows no such person"),
    ({"listing_uri": "https://east.example/listings/1"}, "knows no such listing of another node"),
    ({"person": "bob"}, "you cannot report yourself"),
    ({"person": "@bob@localhost"}, "you cannot report yourself"),
    ({}, "Choose one listing, message or person"),
    ({"person": "alice", "listing": "x"}, "Choose one listing, message or person"),
])  # fmt: skip
async def test_report__about_nothing_or_oneself_is_refused_and_stores_nothing(
    alice, bob, pool, about, message
):
    form = await bob.get("/report?" + urlencode(about))
    assert form.status == 404 and message in await text(form)

    response = await report(bob, about, form_path="/")

    assert response.status == 422 and message in await text(response)
    assert await rows(pool, "SELECT * FROM reports") == []


async def test_report__of_ones_own_listing_is_refused(alice, pool):
    uid = await new_listing(alice)

    response = await report(alice, {"listing": uid}, form_path="/")

    assert response.status == 422 and "you cannot report yourself" in await text(response)
    assert await rows(pool, "SELECT * FROM reports") == []


@pytest.mark.parametrize("category, comment, field, message", [
    ("", "Spam", "category", "Choose what is wrong"),
    ("rude", "Spam", "category", "Choose what is wrong"),
    ("spam", "x" * 1001, "comment", "Keep the comment to 1000 characters (it has 1001)"),
])  # fmt: skip
async def test_report__a_bad_category_or_a_comment_too_long_is_422(
    alice, bob, pool, category, comment, field, message
):
    response = await report(bob, {"person": "alice"}, category=category, comment=comment)

    assert response.status == 422
    page = await text(response)
    assert message in page and f'id="e-{field}"' in page and "Report @alice" in page
    assert await rows(pool, "SELECT * FROM reports") == []


async def test_report__the_same_thing_twice_while_open_is_refused(alice, bob, pool):
    await reported(bob, {"person": "alice"})

    again = await report(bob, {"person": "@alice"})

    assert again.status == 422 and "You have reported this already" in await text(again)
    assert len(await rows(pool, "SELECT * FROM reports")) == 1


async def test_report__throttled_past_ten_in_an_hour(alice, bob, pool):
    async with pool.acquire() as conn:  # ten reports by Bob in the last hour
        await conn.execute("""
            INSERT INTO reports (reporter_uri, reporter_account_id, about, target_uris, created_at)
            SELECT 'http://localhost/users/bob', id, 'person', ARRAY['x' || n],
                   now() - interval '50 minutes'
            FROM accounts, generate_series(1, 10) AS n WHERE username = 'bob'
        """)  # fmt: skip

    response = await report(bob, {"person": "alice"})

    assert response.status == 429 and "Try again in 10 minutes" in await text(response)
    assert 540 <= int(response.headers["Retry-After"]) <= 600
    assert len(await rows(pool, "SELECT * FROM reports")) == 10


# --- moderators act --------------------------------------------------------------------------


async def test_moderator__removes_the_listing_from_the_report_and_the_author_is_told(
    alice, bob, mo, pool, settings
):
    # Given Bob's report of alice's listing; alice wants no notification mail at all
    uid = await new_listing(alice, title="Red bike")
    report_id = await reported(bob, {"listing": uid})
    async with pool.acquire() as conn:
        await conn.execute("UPDATE accounts SET mail_notifications = '{}'")

    # When Mo removes the listing from the report, with a reason
    response = await act(mo, report_id, "remove-listing", uid=uid, reason="Asks for money first.")

    # Then the listing is gone (with a Delete for everyone who had it), the report resolved
    assert response.status == 303
    assert await rows(pool, "SELECT * FROM listings") == []
    [delete] = await rows(pool, "SELECT document FROM activities WHERE type = 'Delete'")
    assert orjson.loads(delete["document"])["object"]["id"] == f"http://localhost/listings/{uid}"
    [row] = await rows(pool, "SELECT resolved_at FROM reports")
    assert row["resolved_at"] is not None
    shown = await text(await mo.get(response.headers["Location"]))
    assert "Resolved" in shown and "remove listing by @mo" in shown
    assert "Asks for money first." in shown and "(removed)" in shown
    log = await rows(pool, "SELECT action, target_kind, target, reason FROM moderation_log "
                           "WHERE moderator_name = 'mo' ORDER BY id")  # fmt: skip
    assert log == [
        {"action": "remove_listing", "target_kind": "listing", "target": uid,
         "reason": "Asks for money first."},
        {"action": "remove_listing", "target_kind": "report", "target": str(report_id),
         "reason": "Asks for money first."},
    ]  # fmt: skip
    # and alice is told why, in the app and by mail (account mail, whatever she chose)
    notices = await text(await alice.get("/notifications"))
    assert "The moderators removed your listing “Red bike”" in notices
    assert "Asks for money first." in notices
    [mail] = await rows(pool, "SELECT recipient, template, context FROM outgoing_mail "
                              "WHERE template = 'moderation_notice'")  # fmt: skip
    assert mail["recipient"] == "alice@example.org"
    message = compose(settings, mail_id=1, recipient=mail["recipient"],
                      template=mail["template"], context=orjson.loads(mail["context"]),
                      created_at=datetime.now(UTC))  # fmt: skip
    assert message["Subject"] == f"Your listing on {settings.instance_name} was removed"
    assert "“Red bike”" in message.get_body(("plain",)).get_content()
    assert "Asks for money first." in message.get_body(("html",)).get_content()
    assert "/admin/reports?status=resolved" in shown
    resolved = await text(await mo.get("/admin/reports?status=resolved"))
    assert f"/admin/reports/{report_id}" in resolved
    assert f"/admin/reports/{report_id}" not in await text(await mo.get("/admin/reports"))


async def test_moderator__notes_resolve_and_reopen_are_the_reports_history(alice, bob, mo, pool):
    report_id = await reported(bob, {"person": "alice"})

    assert (await act(mo, report_id, "note", note="Asked alice about it.")).status == 303
    assert (await act(mo, report_id, "resolve", reason="A misunderstanding.")).status == 303
    assert (await act(mo, report_id, "reopen")).status == 303

    shown = await text(await mo.get(f"/admin/reports/{report_id}"))
    history = shown.split("<h2>History</h2>")[1]
    lines = ["filed by @bob", "add note by @mo", "resolve by @mo: A misunderstanding.",
             "reopen by @mo"]  # fmt: skip
    positions = [history.index(line) for line in lines]
    assert positions == sorted(positions)
    assert "Asked alice about it." in shown.split("<h2>Notes</h2>")[1]
    [row] = await rows(pool, "SELECT resolved_at FROM reports")
    assert row["resolved_at"] is None
    log = await rows(pool, "SELECT action FROM moderation_log WHERE target_kind = 'report'")
    assert [line["action"] for line in log] == ["add_note", "resolve", "reopen"]


@pytest.mark.parametrize("action, field", [
    ("resolve", "reason"), ("note", "note"), ("remove-listing", "reason"),
])  # fmt: skip
async def test_moderator__resolving_removing_or_noting_without_words_is_422(
    alice, bob, mo, pool, action, field
):
    uid = await new_listing(alice)
    report_id = await reported(bob, {"listing": uid})

    response = await act(mo, report_id, action, uid=uid, **{field: "   "})

    assert response.status == 422 and "Say why" in await text(response)
    assert len(await rows(pool, "SELECT * FROM listings")) == 1
    assert (await rows(pool, "SELECT resolved_at FROM reports"))[0]["resolved_at"] is None
    assert await rows(pool, "SELECT * FROM moderation_log WHERE moderator_name = 'mo'") == []


async def test_moderator__forwarding_a_report_about_a_resident_is_refused(alice, bob, mo, pool):
    report_id = await reported(bob, {"person": "alice"})
    assert "Forward to" not in await text(await mo.get(f"/admin/reports/{report_id}"))

    response = await act(mo, report_id, "forward")

    assert response.status == 403 and "ours to judge, not to forward" in await text(response)
    assert await rows(pool, "SELECT * FROM activities WHERE type = 'Flag'") == []
    assert (await rows(pool, "SELECT forwarded_at FROM reports"))[0]["forwarded_at"] is None
    assert await rows(pool, "SELECT * FROM moderation_log WHERE moderator_name = 'mo'") == []


async def test_moderator__a_report_that_does_not_exist_is_404(mo):
    for response in (await mo.get("/admin/reports/4242"),
                     await act(mo, 4242, "resolve", reason="x")):  # fmt: skip
        assert response.status == 404 and "There is no such report." in await text(response)


async def test_resident__acting_on_reports_is_403_and_changes_nothing(alice, bob, mo, pool):
    uid = await new_listing(alice)
    report_id = await reported(bob, {"listing": uid})
    assert 'href="/admin/reports"' in await text(await mo.get("/admin/log"))

    assert (await bob.get("/admin/reports")).status == 403
    assert (await bob.get(f"/admin/reports/{report_id}")).status == 403
    for action, data in (("note", {"note": "x"}), ("resolve", {"reason": "x"}),
                         ("reopen", {}), ("forward", {}),
                         ("remove-listing", {"uid": uid, "reason": "x"})):  # fmt: skip
        response = await post_form(bob, f"/admin/reports/{report_id}/{action}", data,
                                   form_path="/", allow_redirects=False)  # fmt: skip
        assert response.status == 403, action

    assert len(await rows(pool, "SELECT * FROM listings")) == 1
    assert (await rows(pool, "SELECT resolved_at FROM reports"))[0]["resolved_at"] is None
    assert await rows(pool, "SELECT * FROM moderation_log WHERE target_kind <> 'account'") == []
