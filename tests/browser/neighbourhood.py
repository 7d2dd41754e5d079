"""A small lived-in neighbourhood for the walks through every page (accessibility, phone
widths): built through the services in one go, so each page a walk opens has something on it.

ada is the node's admin; alice and bob are residents. alice offers a sourdough starter with a
photo and lends a ladder; bob asks for a drill, with a photo. bob answers the starter and
alice replies; bob borrowed the ladder, the exchange is completed and both said thanks; alice
answers bob's request (at the bakery, a place ada named); bob reports alice's starter; an app
waits for alice to authorise it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from urllib.parse import urlencode

from commonsfed.ap.activities import remote_object_from_ap
from commonsfed.ap.jsonld import normalise
from commonsfed.ap.listings import ListingContext, listing_to_ap
from commonsfed.db import objects as objects_q
from commonsfed.models import Listing
from commonsfed.services import (
    accounts,
    answers,
    listings,
    mail,
    oauth,
    places,
    projects,
    reports,
    thanks,
)
from commonsfed.services.photos import Upload
from commonsfed.services.project_needs import wire_needs
from commonsfed.web.keys import POOL
from commonsfed.web.sessions import CSRF_FIELD
from tests.browser.live import LiveNode
from tests.builders import DEFAULT_PASSWORD, csrf_from, photo_bytes

STARTER = {"purpose": "offer", "kind": "give", "title": "Spare sourdough starter",
           "category": "food", "place": "Corner of Elm Street and Oak Lane", "quantity": "2",
           "description": "A **lively** starter, fed this morning. Bring a clean jar.",
           "alt_1": "A glass jar of bubbly sourdough starter on a windowsill"}  # fmt: skip
LADDER = {"purpose": "offer", "kind": "lend", "title": "Aluminium ladder", "category": "tools",
          "description": "Three metres, folds in two.", "place": "Elm Street", "loan_days": "3"}  # fmt: skip
DRILL = {"purpose": "request", "kind": "lend", "title": "A drill for an afternoon",
         "category": "tools", "place": "Oak Lane 4", "loan_days": "1",
         "description": "To hang two shelves.", "alt_1": "Two bare shelves leaning on a wall"}  # fmt: skip


BENCH = {"purpose": "request", "kind": "project", "title": "A bench for the square",
         "category": "tools", "place": "Market square", "goal": "A bench by the lime tree",
         "hours_needed": "6", "materials": "10 bricks\n2 bags of cement",
         "money_needed": "50", "currency": "EUR", "how_to_pay": "Cash at the bakery."}  # fmt: skip


REMOTE_AUTHOR = "https://south.example/users/dora"  # of a sibling node's project


@dataclass(frozen=True)
class Neighbourhood:
    starter: str  # uids of the listings
    ladder: str
    drill: str
    starter_answer: int  # conversation ids
    ladder_answer: int
    report: int
    authorize: str  # the page an app sends a resident to, to be authorised
    bench: str = ""  # bob's project, towards which alice pledged hours
    remote: str = ""  # the URI of a project of a sibling node, as its Note reached us
    links: tuple[str, ...] = ()  # paths of links the node mails: reset, confirm, unsubscribe


def _photo(colour: str) -> list[Upload]:
    return [Upload("photo_1", "photo.png", photo_bytes("PNG", size=(640, 480), color=colour))]


async def build(node: LiveNode) -> Neighbourhood:
    pool, settings = node.app[POOL], node.settings

    async def resident(name: str, role: str = "none"):
        return await accounts.register(pool, settings, username=name, role=role,
                                       email=f"{name}@example.org", password=DEFAULT_PASSWORD,
                                       by_admin=True)  # fmt: skip

    ada, alice, bob = await resident("ada", "admin"), await resident("alice"), await resident("bob")
    bakery = await places.add_place(pool, ada, {"name": "Bakery corner", "latitude": "48.8566",
                                                "longitude": "2.3522"})  # fmt: skip
    starter = await listings.create_listing(pool, settings, alice, STARTER, _photo("orange"))
    ladder = await listings.create_listing(pool, settings, alice, LADDER, [])
    at_the_bakery = {**DRILL, "place_id": str(bakery.id)}  # a map on its page
    drill = await listings.create_listing(pool, settings, bob, at_the_bakery, _photo("steelblue"))
    asked = await answers.answer(pool, settings, bob, starter.uid, "Could I come on Saturday?")
    await answers.reply(pool, settings, alice, asked.id, "Yes, any time after ten.")
    borrowed = await answers.answer(pool, settings, bob, ladder.uid, "May I borrow it?")
    await answers.complete(pool, settings, alice, borrowed.id)
    await thanks.leave(pool, settings, bob, borrowed.id, "Thank you Alice, gutters clean!")
    await thanks.leave(pool, settings, alice, borrowed.id, "Bob brought it back spotless.")
    await answers.answer(pool, settings, alice, drill.uid, "Mine is free on Sunday.")
    report = await reports.file_report(pool, settings, bob, {"listing": starter.uid,
                                       "category": "spam", "comment": "Posted twice?"})  # fmt: skip
    deadline = (date.today() + timedelta(days=10)).isoformat()
    bench = await listings.create_listing(pool, settings, bob, {**BENCH, "deadline": deadline}, [])
    await projects.pledge(pool, settings, alice, bench.uid, {"need": "0", "quantity": "2"})
    cleo = await resident("cleo")  # whose address waits to be confirmed
    return Neighbourhood(starter.uid, ladder.uid, drill.uid, asked.id, borrowed.id, report,
                         await _authorize_page(node), bench.uid,
                         await _remote_project(pool, deadline),
                         await _mailed_links(pool, settings, alice, cleo))  # fmt: skip


async def _mailed_links(pool, settings, alice, cleo) -> tuple[str, ...]:
    """The paths of a password reset link (alice's), an address confirmation link (cleo's)
    and an unsubscribe link (alice's, from answers), as the node mails them."""
    async with pool.acquire() as conn, conn.transaction():
        await mail.queue_reset(conn, settings, alice)
        await mail.queue_confirmation(conn, settings, cleo, cleo.email)
        rows = await conn.fetch("SELECT context->>'link' AS link FROM outgoing_mail "
                                "WHERE template IN ('password_reset', 'confirm_email') "
                                "ORDER BY template DESC")  # fmt: skip
    reset, confirm = (row["link"].removeprefix(settings.base_url) for row in rows)
    unsubscribe = mail.unsubscribe_token(await mail.link_key(pool), alice.id, "answer")
    return reset, confirm, f"/mail/unsubscribe/{unsubscribe}"


async def _remote_project(pool, deadline: str) -> str:
    """A project of south.example, a sibling node, stored as its Note reached us."""
    now = datetime.now(UTC)
    url = "https://south.example/listings/01HXREMOTEPROJECT000000000"
    details = {"goal": "Flower boxes for the school", "deadline": deadline, "needs": [
        {"kind": "hours", "quantity": 8, "label": ""},
        {"kind": "material", "quantity": 6, "label": "planks"},
        {"kind": "money", "quantity": 40, "label": "EUR"}]}  # fmt: skip
    listing = Listing(
        id=1, uid=url.rsplit("/", 1)[1], author_id=1, author_username="dora", purpose="request",
        kind="project", title="Flower boxes for the school", description="", category="garden",
        quantity=None, available_quantity=None, place="School yard", latitude=None,
        longitude=None, available_from=None, available_until=None, expires_at=None,
        state="open", details=details, created_at=now, updated_at=now,
    )  # fmt: skip
    context = ListingContext(
        listing_url=url, author_uri=REMOTE_AUTHOR,
        author_handle="@dora@south.example", followers_uri="https://south.example/users/dora/followers",
        group_uri="https://south.example/users/neighbourhood", category_name="Garden",
        category_tag="garden", photo_urls=[], description_html="", instance_name="South",
        needs=wire_needs(details, {0: Decimal(3)}),
    )  # fmt: skip
    note = normalise(listing_to_ap(listing, context))
    async with pool.acquire() as conn:
        await objects_q.insert_remote_object(conn, remote_object_from_ap(note))
    return url


async def _authorize_page(node: LiveNode) -> str:
    callback = "https://app.example/callback"
    app, _secret = await oauth.register_app(node.app[POOL], "Pocket Commons", [callback],
                                            ["read", "write"], "https://app.example")  # fmt: skip
    return "/oauth/authorize?" + urlencode({"client_id": app.client_id, "scope": "read write",
                                            "redirect_uri": callback, "response_type": "code"})  # fmt: skip


async def log_in(context, node: LiveNode, username: str) -> None:
    """The login form sent from the browser context (its cookies), by the form's field names,
    so a walk in any language logs in the same way."""
    form = await context.request.get(node.url("/login"))
    sent = await context.request.post(node.url("/login"), max_redirects=0, form={
        CSRF_FIELD: csrf_from(await form.text()), "username": username,
        "password": DEFAULT_PASSWORD})  # fmt: skip
    assert sent.status == 303, f"{username} could not log in: {sent.status}"
