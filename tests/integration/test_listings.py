"""Listing services on a real PostgreSQL: create, life cycle, expiry, pledges, portions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from commonsfed.services import accounts, listings
from commonsfed.services.errors import NotAllowed, ValidationError
from commonsfed.services.listings import InvalidTransition
from commonsfed.services.photos import Upload, media_dir
from commonsfed.web.keys import POOL
from tests.builders import photo_bytes

GIVE = {
    "purpose": "offer",
    "kind": "give",
    "title": "Apples",
    "category": "food",
    "place": "Elm Street",
}


@pytest.fixture
def pool(client):
    return client.server.app[POOL]


@pytest.fixture
def people(pool, settings):
    async def make(*names: str, admin: bool = False):
        return [
            await accounts.register(
                pool,
                settings,
                username=name,
                email=f"{name}@e.org",
                password="correct horse battery",
                role="admin" if admin else "none",
                by_admin=True,
            )
            for name in names
        ]

    return make


async def post(pool, settings, author, now=None, photos=(), **fields):
    return await listings.create_listing(
        pool, settings, author, {**GIVE, **fields}, list(photos), now=now
    )


async def counts(pool) -> dict[str, int]:
    async with pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT (SELECT count(*) FROM listings) AS listings,"
            " (SELECT count(*) FROM listing_photos) AS photos,"
            " (SELECT count(*) FROM listing_events) AS events"
        )
    return dict(row)


async def events(pool, listing) -> list[tuple[str, str, str | None]]:
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT e.change, e.state, a.username FROM listing_events e"
            " LEFT JOIN accounts a ON a.id = e.actor_id WHERE listing_id = $1 ORDER BY e.id",
            listing.id,
        )
    return [tuple(row) for row in rows]


# --- create --------------------------------------------------------------------------------


async def test_create_listing__stores_it_open_with_a_created_event(pool, settings, people):
    [alice] = await people("alice")

    listing = await post(
        pool, settings, alice, quantity="3", latitude="52.3702", longitude="4.8952"
    )

    assert listing.state == "open" and listing.author_username == "alice"
    assert (listing.quantity, listing.available_quantity) == (3, 3)
    assert (listing.latitude, listing.longitude) == (52.37, 4.9)
    assert len(listing.uid) == 11
    assert await events(pool, listing) == [("created", "open", "alice")]


async def test_create_listing__an_unknown_category_stores_nothing(pool, settings, people):
    [alice] = await people("alice")

    with pytest.raises(ValidationError) as error:
        await post(pool, settings, alice, category="weapons")

    assert error.value.errors == {"category": "Choose a category."}
    assert await counts(pool) == {"listings": 0, "photos": 0, "events": 0}


async def test_create_listing__kind_details_are_stored_as_json(pool, settings, people):
    [alice] = await people("alice")

    listing = await post(pool, settings, alice, kind="lend", loan_days="7", return_by="2099-01-31")

    fetched = await listings.get_listing(pool, listing.uid)
    assert fetched.details == {"loan_days": 7, "return_by": "2099-01-31"}


async def test_create_listing__a_failing_transaction_leaves_no_photo_files(
    pool, settings, people, monkeypatch
):
    [alice] = await people("alice")

    async def broken(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(listings.q, "insert_event", broken)
    with pytest.raises(RuntimeError):
        await post(
            pool,
            settings,
            alice,
            alt_1="Apples in a crate",
            photos=[Upload("photo_1", "a.jpg", photo_bytes())],
        )

    assert await counts(pool) == {"listings": 0, "photos": 0, "events": 0}
    assert list(media_dir(settings).glob("*")) == []


async def test_create_listing__photos_are_written_with_their_rows(pool, settings, people):
    [alice] = await people("alice")

    listing = await post(
        pool,
        settings,
        alice,
        alt_1="Apples in a crate",
        photos=[Upload("photo_1", "a.jpg", photo_bytes(size=(3200, 1600)))],
    )

    [photo] = await listings.listing_photos(pool, listing.id)
    assert (photo.alt, photo.width, photo.height, photo.position) == (
        "Apples in a crate",
        1600,
        800,
        0,
    )
    assert (media_dir(settings) / photo.filename).is_file()


# --- life cycle ----------------------------------------------------------------------------


async def test_change_state__author_moves_along_the_allowed_transitions(pool, settings, people):
    [alice] = await people("alice")
    listing = await post(pool, settings, alice)

    for state in ("reserved", "open", "reserved", "completed"):
        listing = await listings.change_state(pool, settings, alice, listing.uid, state)

    assert listing.state == "completed"
    assert [e[1] for e in await events(pool, listing)] == [
        "open",
        "reserved",
        "open",
        "reserved",
        "completed",
    ]


@pytest.mark.parametrize(
    ("path", "refused"),
    [
        (["completed"], "open"),
        (["completed"], "reserved"),
        (["withdrawn"], "reserved"),
        ([], "expired"),
        ([], "open"),
        ([], "nonsense"),
    ],
)
async def test_change_state__refused_transitions_change_nothing(
    pool, settings, people, path, refused
):
    [alice] = await people("alice")
    listing = await post(pool, settings, alice)
    for state in path:
        listing = await listings.change_state(pool, settings, alice, listing.uid, state)
    before = await events(pool, listing)

    with pytest.raises(InvalidTransition):
        await listings.change_state(pool, settings, alice, listing.uid, refused)

    assert (await listings.get_listing(pool, listing.uid)).state == listing.state
    assert await events(pool, listing) == before


async def test_change_state__another_resident_is_refused_and_nothing_changes(
    pool, settings, people
):
    alice, bob = await people("alice", "bob")
    listing = await post(pool, settings, alice)

    with pytest.raises(NotAllowed):
        await listings.change_state(pool, settings, bob, listing.uid, "withdrawn")

    assert (await listings.get_listing(pool, listing.uid)).state == "open"
    assert len(await events(pool, listing)) == 1


async def test_change_state__an_admin_may_withdraw_anyones_listing(pool, settings, people):
    [alice] = await people("alice")
    [admin] = await people("ada", admin=True)
    listing = await post(pool, settings, alice)

    listing = await listings.change_state(pool, settings, admin, listing.uid, "withdrawn")

    assert listing.state == "withdrawn"
    assert (await events(pool, listing))[-1] == ("state", "withdrawn", "ada")


async def test_change_state__a_withdrawn_listing_reopens_until_its_expiry(pool, settings, people):
    [alice] = await people("alice")
    listing = await post(pool, settings, alice, expires_on=datetime.now(UTC).date().isoformat())
    await listings.change_state(pool, settings, alice, listing.uid, "withdrawn")

    reopened = await listings.change_state(pool, settings, alice, listing.uid, "open")
    await listings.change_state(pool, settings, alice, listing.uid, "withdrawn")
    with pytest.raises(InvalidTransition, match="expiry date"):
        await listings.change_state(pool, settings, alice, listing.uid, "open", now=datetime.now(UTC) + timedelta(days=2)
        )

    assert reopened.state == "open"


async def test_update_listing__by_another_resident_is_refused(pool, settings, people):
    alice, bob = await people("alice", "bob")
    listing = await post(pool, settings, alice)

    with pytest.raises(NotAllowed):
        await listings.update_listing(
            pool, settings, bob, listing.uid, {**GIVE, "title": "Mine"}, []
        )

    assert (await listings.get_listing(pool, listing.uid)).title == "Apples"


async def test_update_listing__a_closed_listing_cannot_be_edited(pool, settings, people):
    [alice] = await people("alice")
    listing = await post(pool, settings, alice)
    await listings.change_state(pool, settings, alice, listing.uid, "completed")

    with pytest.raises(InvalidTransition):
        await listings.update_listing(pool, settings, alice, listing.uid, GIVE, [])


async def test_update_listing__edits_fields_and_records_an_event(pool, settings, people):
    [alice] = await people("alice")
    listing = await post(pool, settings, alice)

    updated = await listings.update_listing(
        pool, settings, alice, listing.uid, {**GIVE, "title": "Pears", "no_expiry": "on"}, []
    )

    assert (updated.title, updated.expires_at) == ("Pears", None)
    assert (await events(pool, listing))[-1] == ("edited", "open", "alice")


# --- expiry --------------------------------------------------------------------------------


async def test_expire_due__expires_open_and_reserved_listings_past_their_date(
    pool, settings, people
):
    [alice] = await people("alice")
    today = datetime.now(UTC).date().isoformat()
    due_open = await post(pool, settings, alice, expires_on=today)
    due_reserved = await post(pool, settings, alice, expires_on=today)
    await listings.change_state(pool, settings, alice, due_reserved.uid, "reserved")
    due_completed = await post(pool, settings, alice, expires_on=today)
    await listings.change_state(pool, settings, alice, due_completed.uid, "completed")
    later = await post(pool, settings, alice)
    standing = await post(pool, settings, alice, no_expiry="on")
    tomorrow_night = datetime.now(UTC) + timedelta(days=1, hours=1)

    expired = await listings.expire_due(pool, settings, tomorrow_night)
    again = await listings.expire_due(pool, settings, tomorrow_night)

    assert (expired, again) == (2, 0)
    states = {
        item.uid: (await listings.get_listing(pool, item.uid)).state
        for item in (due_open, due_reserved, due_completed, later, standing)
    }
    assert states == {
        due_open.uid: "expired",
        due_reserved.uid: "expired",
        due_completed.uid: "completed",
        later.uid: "open",
        standing.uid: "open",
    }
    assert (await events(pool, due_open))[-1] == ("state", "expired", None)


async def test_expire_due__nothing_due_before_the_day_ends(pool, settings, people):
    [alice] = await people("alice")
    await post(pool, settings, alice, expires_on=datetime.now(UTC).date().isoformat())

    assert await listings.expire_due(pool, settings, datetime.now(UTC)) == 0


async def test_expire_due__works_through_more_than_one_batch(pool, settings, people, monkeypatch):
    [alice] = await people("alice")
    monkeypatch.setattr(listings, "EXPIRE_BATCH", 2)
    for _ in range(5):
        await post(pool, settings, alice, expires_on=datetime.now(UTC).date().isoformat())

    assert await listings.expire_due(pool, settings, datetime.now(UTC) + timedelta(days=2)) == 5


# --- group purchases -----------------------------------------------------------------------


GROUP = {"kind": "group_purchase", "target_quantity": "10", "unit": "kg", "category": "food"}


async def test_pledge__sums_towards_the_target_and_beyond(pool, settings, people):
    alice, bob, carol = await people("alice", "bob", "carol")
    deadline = (datetime.now(UTC).date() + timedelta(days=5)).isoformat()
    listing = await post(pool, settings, alice, deadline=deadline, **GROUP)

    first = await listings.pledge(pool, settings, bob, listing.uid, "4")
    changed = await listings.pledge(pool, settings, bob, listing.uid, "6")
    beyond = await listings.pledge(pool, settings, carol, listing.uid, "7")

    assert (first.total, first.reached) == (4, False)
    assert (changed.total, changed.mine) == (6, 6)
    assert (beyond.total, beyond.target, beyond.reached) == (13, 10, True)
    assert (await listings.get_listing(pool, listing.uid)).available_quantity == 0


async def test_pledge__zero_takes_it_back(pool, settings, people):
    alice, bob = await people("alice", "bob")
    deadline = (datetime.now(UTC).date() + timedelta(days=5)).isoformat()
    listing = await post(pool, settings, alice, deadline=deadline, **GROUP)
    await listings.pledge(pool, settings, bob, listing.uid, "4")

    summary = await listings.pledge(pool, settings, bob, listing.uid, "0")

    assert (summary.total, summary.mine) == (0, 0)
    assert (await listings.get_listing(pool, listing.uid)).available_quantity == 10


@pytest.mark.parametrize("quantity", ["-1", "", "lots", "2.5"])
async def test_pledge__bad_quantities_get_a_message(pool, settings, people, quantity):
    alice, bob = await people("alice", "bob")
    deadline = (datetime.now(UTC).date() + timedelta(days=5)).isoformat()
    listing = await post(pool, settings, alice, deadline=deadline, **GROUP)

    with pytest.raises(ValidationError) as error:
        await listings.pledge(pool, settings, bob, listing.uid, quantity)

    assert set(error.value.errors) == {"quantity"}


async def test_pledge__refused_after_the_deadline_on_other_kinds_and_when_closed(
    pool, settings, people
):
    alice, bob = await people("alice", "bob")
    deadline = datetime.now(UTC).date().isoformat()
    group = await post(pool, settings, alice, deadline=deadline, **GROUP)
    give = await post(pool, settings, alice)

    with pytest.raises(InvalidTransition, match="deadline"):
        await listings.pledge(pool, settings, bob, group.uid, "1", now=datetime.now(UTC) + timedelta(days=1))
    with pytest.raises(NotAllowed):
        await listings.pledge(pool, settings, bob, give.uid, "1")
    await listings.change_state(pool, settings, alice, group.uid, "withdrawn")
    with pytest.raises(InvalidTransition):
        await listings.pledge(pool, settings, bob, group.uid, "1")


# --- pay-it-forward ------------------------------------------------------------------------


async def test_claim_portion__falls_to_zero_then_completes(pool, settings, people):
    alice, bob, carol = await people("alice", "bob", "carol")
    listing = await post(pool, settings, alice, kind="pay_it_forward", portions="2")

    after_bob = await listings.claim_portion(pool, settings, bob, listing.uid)
    after_carol = await listings.claim_portion(pool, settings, carol, listing.uid)

    assert after_bob.available_quantity == 1 and after_bob.state == "open"
    assert after_carol.available_quantity == 0 and after_carol.state == "completed"
    assert (await events(pool, listing))[-1] == ("state", "completed", "carol")


async def test_claim_portion__once_per_neighbour_and_not_by_the_author(pool, settings, people):
    alice, bob = await people("alice", "bob")
    listing = await post(pool, settings, alice, kind="pay_it_forward", portions="5")
    await listings.claim_portion(pool, settings, bob, listing.uid)

    with pytest.raises(NotAllowed, match="already"):
        await listings.claim_portion(pool, settings, bob, listing.uid)
    with pytest.raises(NotAllowed, match="your own"):
        await listings.claim_portion(pool, settings, alice, listing.uid)
    assert (await listings.get_listing(pool, listing.uid)).available_quantity == 4


async def test_update_listing__portions_below_those_claimed_are_refused(pool, settings, people):
    alice, bob, carol = await people("alice", "bob", "carol")
    listing = await post(pool, settings, alice, kind="pay_it_forward", portions="5")
    await listings.claim_portion(pool, settings, bob, listing.uid)
    await listings.claim_portion(pool, settings, carol, listing.uid)

    with pytest.raises(ValidationError) as error:
        await listings.update_listing(
            pool,
            settings,
            alice,
            listing.uid,
            {**GIVE, "kind": "pay_it_forward", "portions": "1"},
            [],
        )
    more = await listings.update_listing(
        pool, settings, alice, listing.uid, {**GIVE, "portions": "8"}, []
    )

    assert "2 portions were claimed" in error.value.errors["portions"]
    assert (more.quantity, more.available_quantity) == (8, 6)


# --- categories and search -----------------------------------------------------------------


async def test_categories__the_default_set_is_seeded(pool):
    names = [row["name"] for row in await listings.categories(pool)]

    assert names[:3] == ["Food", "Tools", "Books and media"] and len(names) == 12
    assert "Skills and services" in names and "Space" in names


async def test_categories__admins_add_and_rename_others_cannot(pool, people):
    [bob] = await people("bob")
    [ada] = await people("ada", admin=True)

    slug = await listings.add_category(pool, ada, {"name": "Bicycles & repairs"})
    await listings.rename_category(pool, ada, {"slug": "food", "name": "Food and drink"})
    with pytest.raises(ValidationError, match="exists already"):
        await listings.add_category(pool, ada, {"name": "Tools"})
    with pytest.raises(NotAllowed):
        await listings.add_category(pool, bob, {"name": "Mine"})

    names = {row["slug"]: row["name"] for row in await listings.categories(pool)}
    assert slug == "bicycles_repairs" and names[slug] == "Bicycles & repairs"
    assert names["food"] == "Food and drink"


async def test_search_column__finds_listings_by_words_in_title_and_description(
    pool, settings, people
):
    [alice] = await people("alice")
    await post(pool, settings, alice, title="Cordless drill", description="With two *batteries*")
    await post(pool, settings, alice, title="Apples")

    async with pool.acquire() as conn:
        found = await conn.fetch(
            "SELECT title FROM listings WHERE search @@ plainto_tsquery('simple', $1)", "batteries"
        )

    assert [row["title"] for row in found] == ["Cordless drill"]
