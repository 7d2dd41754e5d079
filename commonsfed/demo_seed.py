"""What `commonsfed demo` puts in its three neighbourhoods, and how: residents, listings of
every kind (offers and requests, each with a photo drawn here with Pillow), answers, a
reservation, completed exchanges (one across two nodes), pledges, a claimed portion, and
answers across nodes.

Everything goes through the services, as a resident's clicks would: `accounts.register`,
`follows.federate`, `listings.create_listing`, `answers.answer` ... so what the demo shows
is what the node does, federation included (`settle` steps the workers between the steps
that need the other nodes to have heard of the last one).
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

from PIL import Image, ImageDraw, ImageFont

from commonsfed.federation.context import Federation
from commonsfed.models import Account, Listing
from commonsfed.services import accounts, answers, follows, listings, thanks
from commonsfed.services.photos import Upload

log = logging.getLogger(__name__)

# printed with the addresses: every demo account has it
DEMO_PASSWORD = "neighbours-share"


@dataclass(frozen=True)
class Planned:
    """One listing to post: `key` names it in the conversations below; in `form`, a value
    "+N" is the day N days from today and "+N HH:MM" that day at that time (the form's
    date and datetime-local fields)."""

    key: str
    author: str
    form: dict[str, str]
    colour: str


@dataclass(frozen=True)
class Neighbourhood:
    slug: str  # its data folder's name
    name: str
    description: str
    residents: tuple[str, ...]  # the first one is the node's admin
    listings: tuple[Planned, ...]
    rules: tuple[str, ...] = ("Be kind.", "Give things back as you got them.")

    @property
    def admin(self) -> str:
        return self.residents[0]


def _listing(key: str, author: str, colour: str, purpose: str, kind: str, title: str,
             category: str, place: str, description: str, **details: str) -> Planned:  # fmt: skip
    form = {"purpose": purpose, "kind": kind, "title": title, "category": category,
            "place": place, "description": description, **details}  # fmt: skip
    return Planned(key, author, form, colour)


# fmt: off
NEIGHBOURHOODS = (
    Neighbourhood(
        "elm-street", "Elm Street", "Neighbours on Elm Street sharing tools, food and time.",
        ("ada", "ben", "cleo"),
        (
            _listing("apples", "ada", "#6a9a3a", "offer", "give", "A crate of apples", "food",
                     "Elm Street 12, by the gate", "From the old tree in the yard; bring a bag.",
                     quantity="3"),
            _listing("drill", "ben", "#3a6a9a", "offer", "lend", "Cordless drill with bits",
                     "tools", "Elm Street 40", "Two batteries, a case of bits.",
                     loan_days="7"),
            _listing("sofa", "cleo", "#9a5a3a", "request", "service", "Help carrying a sofa",
                     "skills", "Elm Street 7, third floor", "Two pairs of hands, half an hour.",
                     hours="1"),
            _listing("seeds", "ada", "#4a8a5a", "offer", "shared", "Seed library shelf",
                     "garden", "The library corner", "Take seeds, leave seeds.",
                     no_expiry="on"),
        ),
    ),
    Neighbourhood(
        "riverside", "Riverside", "Riverside's houseboats and flats, sharing along the quay.",
        ("dara", "eli", "fern"),
        (
            _listing("ride", "dara", "#8a3a6a", "offer", "ride", "Ride to the farmers' market",
                     "transport", "The quay, by the bridge", "Room for crates in the boot.",
                     origin="Riverside quay", destination="Farmers' market",
                     departure="+3 08:15", seats="2"),
            _listing("books", "eli", "#aa8a2a", "offer", "swap", "Children's books to swap",
                     "children", "Quay 5", "A box of picture books for ages 3 to 6.",
                     quantity="12"),
            _listing("tent", "fern", "#2a7a7a", "request", "lend", "A tent for a weekend",
                     "household", "Quay 18", "For two people, next weekend.",
                     loan_days="3"),
            _listing("oats", "eli", "#b0904a", "offer", "group_purchase", "Oats by the sack",
                     "food", "Quay 5", "Organic oats from the mill, at the wholesale price.",
                     target_quantity="25", unit="kg", deadline="+10"),
            _listing("jars", "fern", "#c05a6a", "offer", "give", "Empty jam jars", "household",
                     "Quay 18", "Two dozen, lids included, for this summer's jam."),
        ),
    ),
    Neighbourhood(
        "old-town", "Old Town", "The lanes around the market square.",
        ("gus", "hana", "ivo"),
        (
            _listing("room", "gus", "#7a4a9a", "offer", "stay", "Spare room for a visitor",
                     "housing", "Market square 3", "A quiet room over the bakery.",
                     arrival="+5", departure="+8", places="2"),
            _listing("coffee", "hana", "#6a4a2a", "offer", "pay_it_forward",
                     "Coffees paid forward", "food", "The corner café",
                     "Ask at the counter for a paid-forward coffee.", portions="10"),
            _listing("bike", "ivo", "#3a8aaa", "request", "give", "A child's bike",
                     "children", "Lantern lane 2", "For a six-year-old; it may need work."),
            _listing("repair", "hana", "#aa4a3a", "offer", "service", "Bike repair, an hour",
                     "skills", "The corner café", "Brakes, chains, punctures.",
                     hours="1"),
            _listing("bench", "ivo", "#4a7a5a", "request", "project",
                     "A bench for the market square", "garden", "Market square",
                     "Somewhere to sit in the shade of the lime tree.",
                     goal="A wooden bench and two flower boxes by the lime tree",
                     deadline="+20", hours_needed="12", materials="40 bricks\n2 bags of cement",
                     money_needed="150", currency="EUR",
                     how_to_pay="Cash at the corner café, or a transfer to the square's "
                                "association (ask Ivo for the account).",
                     next_steps="We build on the first Saturday after the deadline; bring "
                                "gloves."),
        ),
    ),
)
# fmt: on


# --- photos --------------------------------------------------------------------------------


def demo_photo(title: str, colour: str, size: tuple[int, int] = (800, 600)) -> bytes:
    """A picture for a listing: its colour, a few shapes and its title. Drawn here, so the
    demo downloads nothing."""
    image = Image.new("RGB", size, colour)
    draw = ImageDraw.Draw(image)
    width, height = size
    for step in range(6):
        radius = height // 3 - step * 20
        centre = (width * (step + 2) // 9, height // 2 + (-1) ** step * 40)
        draw.ellipse(
            (centre[0] - radius, centre[1] - radius, centre[0] + radius, centre[1] + radius),
            outline="white", width=4,
        )  # fmt: skip
    draw.rectangle((0, height - 110, width, height), fill="white")
    draw.text((30, height - 85), title, fill=colour, font=_font(48))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)  # a scalable font when Pillow has FreeType
    except (TypeError, OSError):
        return ImageFont.load_default()


# --- seeding -------------------------------------------------------------------------------


@dataclass
class SeedNode:
    """One neighbourhood being seeded: its plan, its running node and what was made."""

    plan: Neighbourhood
    fed: Federation
    people: dict[str, Account] = field(default_factory=dict)
    posted: dict[str, Listing] = field(default_factory=dict)
    # listing key -> the conversation of its completed exchange on this node (the author's,
    # or the respondent's for a listing of another node): what a thanks is left in
    exchanges: dict[str, int] = field(default_factory=dict)

    def listing_uri(self, key: str) -> str:
        return self.fed.uris.listing(self.posted[key].uid)


Settle = Callable[[], Awaitable[None]]


async def seed(nodes: list[SeedNode], settle: Settle, today: date | None = None) -> None:
    """Fill the three nodes: residents, federation both ways, listings, conversations."""
    today = today or date.today()
    # the nodes at once: hashing passwords and making keys keep a core busy each
    await asyncio.gather(*(_residents(node) for node in nodes))
    for node in nodes:
        for other in nodes:
            if other is not node:
                await follows.federate(node.fed, other.fed.settings.domain)
    await settle()  # the Follows and their Accepts
    for node in nodes:
        for planned in node.plan.listings:
            await _post(node, planned, today)
    await settle()  # the listings reach the other nodes, announced by each Group
    by_slug = {node.plan.slug: node for node in nodes}
    await _conversations_here(by_slug)
    await _answers_across(by_slug)
    await settle()  # the answers across nodes arrive
    await _replies_across(by_slug)
    await _exchange_across(by_slug, settle)
    await settle()  # the replies and the completion reach the respondents' nodes
    await _thanks(by_slug)
    await settle()  # the thanks across nodes reach the thanked


async def _residents(node: SeedNode) -> None:
    domain = node.fed.settings.domain.split(":")[0]
    for name in node.plan.residents:
        node.people[name] = await accounts.register(
            node.fed.pool, node.fed.settings, username=name, email=f"{name}@{domain}.example",
            password=DEMO_PASSWORD, role="admin" if name == node.plan.admin else "none",
            by_admin=True,
        )  # fmt: skip


def dated(value: str, today: date) -> str:
    """A form value with its day made: "+N" is the ISO day N days from today, "+N HH:MM"
    that day at that time; any other value is kept."""
    if not value.startswith("+"):
        return value
    days, _, clock = value[1:].partition(" ")
    day = (today + timedelta(days=int(days))).isoformat()
    return f"{day}T{clock}" if clock else day


async def _post(node: SeedNode, planned: Planned, today: date) -> None:
    form = {name: dated(value, today) for name, value in planned.form.items()}
    form["alt_1"] = f"A drawing in the listing's colours, titled “{form['title']}”."
    photo = Upload("photo_1", f"{planned.key}.jpg", demo_photo(form["title"], planned.colour))
    node.posted[planned.key] = await listings.create_listing(
        node.fed.pool, node.fed.settings, node.people[planned.author], form, [photo]
    )


async def _answer(node: SeedNode, who: str, key: str, message: str) -> int:
    conv = await answers.answer(
        node.fed.pool, node.fed.settings, node.people[who], node.posted[key].uid, message
    )
    return conv.id


async def _reply(node: SeedNode, who: str, conversation_id: int, message: str) -> None:
    await answers.reply(node.fed.pool, node.fed.settings, node.people[who], conversation_id,
                        message)  # fmt: skip


async def _conversations_here(nodes: dict[str, SeedNode]) -> None:
    """Answers within each neighbourhood: a line with a reservation, a completed loan, a
    pledge or two, a claimed portion, open questions."""
    elm, river, old = nodes["elm-street"], nodes["riverside"], nodes["old-town"]
    apples = await _answer(elm, "ben", "apples", "Could I have a few for a crumble?")
    await _answer(elm, "cleo", "apples", "I would love some too, if any are left.")
    await _reply(elm, "ada", apples, "Of course: come by after six, the gate is open.")
    await answers.reserve(elm.fed.pool, elm.fed.settings, elm.people["ada"], apples)
    drill = await _answer(elm, "cleo", "drill", "Could I borrow it on Saturday for shelves?")
    await _reply(elm, "ben", drill, "Sure, pick it up in the morning.")
    await answers.complete(elm.fed.pool, elm.fed.settings, elm.people["ben"], drill)
    elm.exchanges["drill"] = drill

    tent = await _answer(river, "eli", "tent", "I have a two-person tent you can borrow.")
    await _reply(river, "fern", tent, "Wonderful, thank you! Friday evening?")
    for who, amount in (("fern", "5"), ("dara", "3")):
        await listings.pledge(river.fed.pool, river.fed.settings, river.people[who],
                              river.posted["oats"].uid, amount)  # fmt: skip

    await listings.claim_portion(old.fed.pool, old.fed.settings, old.people["ivo"],
                                 old.posted["coffee"].uid)  # fmt: skip
    await _answer(old, "ivo", "repair", "My chain keeps slipping; could you look at it?")


# (respondent's node, respondent, author's node, listing, message)
_ACROSS = (
    ("old-town", "hana", "riverside", "ride", "Is there a seat left for me and a crate?"),
    ("elm-street", "ben", "old-town", "room", "My sister visits in a few days: is it free?"),
    ("old-town", "hana", "riverside", "jars", "I make quince jelly: may I have a dozen?"),
)
_ACROSS_REPLIES = {
    ("riverside", "ride"): "Yes: meet me by the bridge at quarter past eight.",
    ("old-town", "room"): "It is free; she is welcome.",
    ("riverside", "jars"): "Take them all; they are by my door.",
}


async def _answers_across(nodes: dict[str, SeedNode]) -> None:
    """Residents answer listings of the other neighbourhoods (an FEP-0837 Offer each)."""
    for here, who, there, key, message in _ACROSS:
        node = nodes[here]
        conv = await answers.answer_remote(node.fed, node.people[who],
                                           nodes[there].listing_uri(key), message)  # fmt: skip
        if key == "jars":  # completed by its author in _exchange_across
            node.exchanges[key] = conv.id


async def _replies_across(nodes: dict[str, SeedNode]) -> None:
    """The authors answer back: a direct message to the other node."""
    for (slug, key), message in _ACROSS_REPLIES.items():
        node = nodes[slug]
        author = node.people[node.posted[key].author_username]
        for conv in await answers.conversations_for_listing(
            node.fed.pool, author, node.posted[key].uid
        ):
            await _reply(node, author.username, conv.id, message)


async def _exchange_across(nodes: dict[str, SeedNode], settle: Settle) -> None:
    """An exchange across nodes: fern reserves her jars for hana (an Accept of hana's
    Offer goes to Old Town), then marks it completed (a direct message tells her). The
    Accept is delivered before the completion, as it would be between people: a late
    Accept would leave hana's side reserved."""
    river = nodes["riverside"]
    fern, uid = river.people["fern"], river.posted["jars"].uid
    (jars,) = await answers.conversations_for_listing(river.fed.pool, fern, uid)
    await answers.reserve(river.fed.pool, river.fed.settings, fern, jars.id)
    await settle()
    await answers.complete(river.fed.pool, river.fed.settings, fern, jars.id)
    river.exchanges["jars"] = jars.id


# what each side of the completed exchanges says: (the writer's node, the listing, the
# writer, the words). Ben lent Cleo his drill on Elm Street; Fern of Riverside gave Hana of
# Old Town her jars, so their thanks travel to the other node.
THANKS = (
    ("elm-street", "drill", "cleo", "Thank you Ben, the shelves are up!"),
    ("elm-street", "drill", "ben", "Cleo brought it back charged. A pleasure."),
    ("old-town", "jars", "hana", "Thank you Fern: twelve jars of quince jelly!"),
    ("riverside", "jars", "fern", "Hana left a jar of jelly on my step."),
)


async def _thanks(nodes: dict[str, SeedNode]) -> None:
    """Each side of the completed exchanges thanks the other (THANKS), in the conversation
    on the writer's own node; the profiles show them, on both nodes for hana and fern."""
    for slug, key, writer, words in THANKS:
        node = nodes[slug]
        await thanks.leave(node.fed.pool, node.fed.settings, node.people[writer],
                           node.exchanges[key], words)  # fmt: skip
