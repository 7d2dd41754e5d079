"""A node in Berlin: the days and times residents type and read are Berlin's, stored in UTC."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from commonsfed.config import Settings
from commonsfed.services import accounts, listing_federation, listing_forms, listings, search
from commonsfed.services.errors import ValidationError
from commonsfed.services.listing_forms import IN_THE_FUTURE
from commonsfed.web.keys import POOL
from tests.builders import post_listing, register_and_login

BERLIN = "Europe/Berlin"
GIVE = {"purpose": "offer", "kind": "give", "title": "Apples", "category": "food",
        "place": "Elm Street"}
RIDE = {"purpose": "offer", "kind": "ride", "title": "To the lake", "category": "food",
        "place": "Elm Street", "origin": "Elm Street", "destination": "Lake",
        "departure": "2030-06-30T08:15", "seats": "3"}
NOON = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def berlin(settings) -> Settings:
    return replace(settings, timezone=BERLIN)


@pytest.fixture
async def client(make_client):
    return await make_client(timezone=BERLIN)


@pytest.fixture
def pool(client):
    return client.server.app[POOL]


@pytest.fixture
async def alice(pool, berlin):
    return await accounts.register(
        pool, berlin, username="alice", email="alice@e.org",
        password="correct horse battery", by_admin=True,
    )


async def post(pool, settings, author, now=NOON, **fields):
    return await listings.create_listing(
        pool, settings, author, {**GIVE, **fields}, [], now=now
    )


# --- days ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "ends_utc"),
    [
        ("2030-06-30", datetime(2030, 6, 30, 22, 0, tzinfo=UTC)),  # summer: CEST, UTC+2
        ("2030-12-15", datetime(2030, 12, 15, 23, 0, tzinfo=UTC)),  # winter: CET, UTC+1
    ],
)
async def test_create_listing__expiry_day_ends_at_midnight_in_berlin(
    pool, berlin, alice, day, ends_utc
):
    listing = await post(pool, berlin, alice, expires_on=day)

    assert listing.expires_at == ends_utc
    assert listing_forms.last_day(listing.expires_at, berlin.tz).isoformat() == day


async def test_expire_due__open_a_minute_before_berlin_midnight_expired_at_it(
    pool, berlin, alice
):
    # Given a listing whose last day is 30 June, on a node in Berlin
    listing = await post(pool, berlin, alice, expires_on="2030-06-30")
    midnight = datetime(2030, 6, 30, 22, 0, tzinfo=UTC)  # 1 July 00:00 CEST

    # When the job runs a minute before midnight, then at midnight
    before = await listings.expire_due(pool, berlin, now=midnight - timedelta(minutes=1))
    still = await listings.get_listing(pool, listing.uid)
    at = await listings.expire_due(pool, berlin, now=midnight)

    # Then it is still open at 23:59 and expired at 00:00, Berlin time
    assert before == 0 and still.state == "open"
    assert at == 1 and (await listings.get_listing(pool, listing.uid)).state == "expired"


async def test_create_listing__availability_days_are_berlin_days(pool, berlin, alice):
    listing = await post(pool, berlin, alice, available_from="2030-06-10",
                         available_until="2030-06-12")

    assert listing.available_from == datetime(2030, 6, 9, 22, 0, tzinfo=UTC)
    assert listing.available_until == datetime(2030, 6, 12, 22, 0, tzinfo=UTC)
    values = listing_forms.form_values(listing, berlin.tz)
    assert (values["available_from"], values["available_until"]) == ("2030-06-10", "2030-06-12")


async def test_create_listing__today_in_berlin_after_local_midnight(pool, settings, berlin, alice):
    # 30 June 22:30 UTC is already 1 July 00:30 in Berlin
    just_after_midnight = datetime(2030, 6, 30, 22, 30, tzinfo=UTC)

    today = await post(pool, berlin, alice, now=just_after_midnight, expires_on="2030-07-01")
    with pytest.raises(ValidationError) as refused:
        await post(pool, berlin, alice, now=just_after_midnight, expires_on="2030-06-30")
    in_utc = await post(pool, settings, alice, now=just_after_midnight, expires_on="2030-06-30")

    assert today.expires_at == datetime(2030, 7, 1, 22, 0, tzinfo=UTC)
    assert refused.value.errors == {"expires_on": IN_THE_FUTURE}
    assert in_utc.expires_at == datetime(2030, 7, 1, 0, 0, tzinfo=UTC)  # UTC: still 30 June


async def test_create_listing__default_expiry_counts_from_the_berlin_day(pool, berlin, alice):
    listing = await post(pool, berlin, alice, now=datetime(2030, 6, 30, 22, 30, tzinfo=UTC))

    # today is 1 July in Berlin: 30 days on, the listing's last day is 31 July
    assert listing_forms.last_day(listing.expires_at, berlin.tz).isoformat() == "2030-07-31"


async def test_pledge__deadline_ends_at_berlin_midnight(pool, berlin, alice):
    bob = await accounts.register(pool, berlin, username="bob", email="bob@e.org",
                                  password="correct horse battery", by_admin=True)
    group = await post(pool, berlin, alice, kind="group_purchase", target_quantity="10",
                       unit="kg", deadline="2030-06-30", expires_on="2030-07-05")
    midnight = datetime(2030, 6, 30, 22, 0, tzinfo=UTC)

    summary = await listings.pledge(pool, berlin, bob, group.uid, "2",
                                    now=midnight - timedelta(minutes=1))
    with pytest.raises(listings.InvalidTransition):
        await listings.pledge(pool, berlin, bob, group.uid, "3", now=midnight)

    assert summary.mine == 2


# --- a ride's time -------------------------------------------------------------------------


async def test_ride__departure_is_berlin_time_stored_in_utc_and_shown_in_berlin(client, pool):
    # Given a resident of a Berlin node
    await register_and_login(client, "alice")

    # When she offers a ride leaving at 08:15 (a datetime-local: no zone)
    response = await post_listing(client, RIDE)
    assert response.status == 303, await response.text()
    uid = response.headers["Location"].rsplit("/", 1)[1]

    # Then it is stored as 06:15 UTC, her page says 08:15, and the edit form offers 08:15
    listing = await listings.get_listing(pool, uid)
    assert datetime.fromisoformat(listing.details["departure"]) == datetime(
        2030, 6, 30, 6, 15, tzinfo=UTC
    )
    page = await (await client.get(f"/listings/{uid}")).text()
    assert "Sunday, June 30, 2030, 08:15" in page  # in words, in Berlin time
    edit = await (await client.get(f"/listings/{uid}/edit")).text()
    assert 'value="2030-06-30T08:15"' in edit
    # and the form says whose time it reads, as it is: Berlin's, not UTC
    assert "Date and time, in the neighbourhood's time (Europe/Berlin)." in edit


async def test_ride__note_content_says_berlin_time_with_the_zone(pool, berlin, alice):
    ride = await post(pool, berlin, alice, **RIDE)

    note = await listing_federation.listing_document(pool, berlin, ride.uid)

    assert "Leaving: 30 June 2030, 08:15 CEST" in note["content"]
    assert note["startTime"] == "2030-06-30T06:15:00Z"  # the wire keeps the moment in UTC


async def test_listing_page__days_are_berlin_days(client, pool, berlin):
    # (the web form checks against the real clock: an expiry must be within a year)
    today = datetime.now(berlin.tz).date()
    first, last = today + timedelta(days=10), today + timedelta(days=20)
    await register_and_login(client, "alice")
    response = await post_listing(client, {"available_from": first.isoformat(),
                                           "expires_on": last.isoformat()})
    assert response.status == 303, await response.text()
    uid = response.headers["Location"].rsplit("/", 1)[1]

    page = await (await client.get(f"/listings/{uid}")).text()

    # stored as the UTC evening before (22:00 or 23:00), shown as the days she chose
    listing = await listings.get_listing(pool, uid)
    assert listing.available_from.astimezone(UTC).date() == first - timedelta(days=1)
    for day in (first, last):  # in words: "Thursday, December 24" (and the year if not this)
        assert f'<time datetime="{day}">{day:%A}, {day:%B} {day.day}' in page


async def test_new_form__prefills_the_expiry_from_the_local_day(make_client):
    # Kiritimati is UTC+14: its day is ahead of UTC's for most of every UTC day
    kiritimati = await make_client(timezone="Pacific/Kiritimati")
    await register_and_login(kiritimati, "alice")

    page = await (await kiritimati.get("/listings/new?purpose=offer&kind=give")).text()

    local_today = datetime.now(ZoneInfo("Pacific/Kiritimati")).date()
    assert f'value="{(local_today + listing_forms.DEFAULT_EXPIRY).isoformat()}"' in page


def test_age__old_dates_are_the_local_day():
    # 23:30 UTC on 1 March is already 2 March in Berlin
    posted = datetime(2030, 3, 1, 23, 30, tzinfo=UTC)
    later = posted + timedelta(days=40)

    assert search.age(posted, later) == "on 1 March 2030"
    assert search.age(posted, later, tz=ZoneInfo(BERLIN)) == "on 2 March 2030"
