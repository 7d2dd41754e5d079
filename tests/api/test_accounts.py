"""Accounts through the client API: the profile changed by an app, accounts by id and by
handle, an account's listings as its statuses, the accounts search."""

from __future__ import annotations

import aiohttp
from yarl import URL

from commonsfed.services.api_accounts import group_account
from commonsfed.web.keys import POOL, SETTINGS
from tests.api.conftest import bearer, token_for
from tests.api.schema import check
from tests.builders import photo_bytes, post_listing, register_and_login


async def _id_of(client, username: str) -> int:
    return await client.app[POOL].fetchval("SELECT id FROM accounts WHERE username = $1", username)


async def _patch(client, token: str, **kwargs):
    return await client.patch(
        "/api/v1/accounts/update_credentials", headers=bearer(token), **kwargs
    )


# --- update_credentials ----------------------------------------------------------------------


async def test_update_credentials__a_form_changes_the_profile_and_sends_its_update(
    client, alice_token
):
    # When an app sends a form as Mastodon.py does, fields as fields_attributes[i][...]
    response = await _patch(client, alice_token, data={
        "display_name": "Alice Green", "note": "I mend *bikes*.",
        "fields_attributes[0][name]": "Street", "fields_attributes[0][value]": "Elm Street",
        "fields_attributes[1][name]": "Hours", "fields_attributes[1][value]": "Evenings",
        "bot": "true", "discoverable": "true", "source[privacy]": "public",
    })  # fmt: skip
    # Then the CredentialAccount shows the profile, rendered and as typed
    assert response.status == 200, await response.text()
    body = await response.json()
    check("CredentialAccount", body)
    assert body["display_name"] == "Alice Green"
    assert "<em>bikes</em>" in body["note"]
    assert body["source"]["note"] == "I mend *bikes*."
    assert [(f["name"], f["value"]) for f in body["fields"]] == [
        ("Street", "Elm Street"), ("Hours", "Evenings")]  # fmt: skip
    assert body["bot"] is False  # a resident is a person here
    # and peers get the Update of her Person
    pool = client.app[POOL]
    sent = await pool.fetchval(
        "SELECT count(*) FROM activities WHERE document->>'type' = 'Update' "
        "AND document->'object'->>'name' = 'Alice Green'"
    )
    assert sent == 1


async def test_update_credentials__json_changes_only_what_it_names(client, alice_token):
    await _patch(client, alice_token, data={"display_name": "Alice", "note": "Bikes."})
    # When a JSON body (Elk, Phanpy) names the fields only, as a list
    response = await _patch(client, alice_token, json={
        "fields_attributes": [{"name": "Web", "value": "Plain words"}], "locked": True,
    })  # fmt: skip
    assert response.status == 200, await response.text()
    body = await response.json()
    # Then the rest stays as it was
    assert (body["display_name"], body["source"]["note"]) == ("Alice", "Bikes.")
    assert body["fields"][0]["name"] == "Web"
    assert body["locked"] is True
    locked = await client.app[POOL].fetchval(
        "SELECT manually_approves_followers FROM accounts WHERE username = 'alice'"
    )
    assert locked is True


async def test_update_credentials__json_fields_as_a_dict_by_index(client, alice_token):
    response = await _patch(client, alice_token, json={
        "fields_attributes": {"1": {"name": "B", "value": "2"}, "0": {"name": "A", "value": "1"}},
    })  # fmt: skip
    assert response.status == 200
    assert [f["name"] for f in (await response.json())["fields"]] == ["A", "B"]


async def test_update_credentials__an_avatar_goes_through_the_photo_pipeline(client, alice_token):
    data = aiohttp.FormData()
    data.add_field("avatar", photo_bytes(), filename="me.jpg", content_type="image/jpeg")
    response = await _patch(client, alice_token, data=data)
    assert response.status == 200, await response.text()
    body = await response.json()
    assert body["avatar"].startswith("http://localhost/media/")
    assert (await client.get(URL(body["avatar"]).path)).status == 200


async def test_update_credentials__a_file_that_is_no_image_is_422(client, alice_token):
    data = aiohttp.FormData()
    data.add_field("avatar", b"%PDF-1.4 not a picture", filename="me.jpg")
    response = await _patch(client, alice_token, data=data)
    assert response.status == 422
    body = await response.json()
    assert body["error"].startswith("Validation failed")
    assert "avatar" in body["details"]


async def test_update_credentials__too_long_a_note_is_422_and_changes_nothing(client, alice_token):
    response = await _patch(client, alice_token, data={"display_name": "New", "note": "x" * 501})
    assert response.status == 422
    assert "note" in (await response.json())["details"]
    name = await client.app[POOL].fetchval(
        "SELECT display_name FROM accounts WHERE username = 'alice'"
    )
    assert name != "New"


async def test_update_credentials__too_many_fields_is_422(client, alice_token):
    fields = {}
    for index in range(5):
        fields[f"fields_attributes[{index}][name]"] = f"Name {index}"
        fields[f"fields_attributes[{index}][value]"] = f"Value {index}"
    response = await _patch(client, alice_token, data=fields)
    assert response.status == 422
    assert "fields_attributes" in (await response.json())["details"]


async def test_update_credentials__needs_the_write_accounts_scope(client, alice_token):
    token = await token_for(client.app, "alice", scopes="read")
    response = await _patch(client, token, data={"display_name": "Nope"})
    assert response.status == 403
    assert (await _patch(client, "", data={})).status == 401


# --- one account -----------------------------------------------------------------------------


async def test_get_account__a_resident_with_counts(client, alice_token):
    await post_listing(client, {"title": "Ladder"})
    alice_id = await _id_of(client, "alice")
    response = await client.get(f"/api/v1/accounts/{alice_id}")
    assert response.status == 200
    body = await response.json()
    check("Account", body)
    assert (body["username"], body["statuses_count"], body["group"]) == ("alice", 1, False)
    assert body["noindex"] is False


async def test_get_account__a_suspended_resident_shows_only_that(client, alice_token):
    await _patch(client, alice_token, data={"display_name": "Alice", "note": "Hello"})
    await client.app[POOL].execute(
        "UPDATE accounts SET status = 'suspended' WHERE username = 'alice'"
    )
    response = await client.get(f"/api/v1/accounts/{await _id_of(client, 'alice')}")
    body = await response.json()
    check("Account", body)
    assert body["suspended"] is True
    assert (body["display_name"], body["note"], body["fields"]) == ("", "", [])


async def test_get_account__a_deleted_resident_is_404(client, alice_token):
    await client.app[POOL].execute(
        "UPDATE accounts SET status = 'deleted' WHERE username = 'alice'"
    )
    response = await client.get(f"/api/v1/accounts/{await _id_of(client, 'alice')}")
    assert response.status == 404


async def test_get_account__the_group_is_a_group_account(client):
    group = await group_account(client.app[POOL], client.app[SETTINGS])
    body = await (await client.get(f"/api/v1/accounts/{group.id}")).json()
    check("Account", body)
    assert body["group"] is True
    assert body["acct"] == client.app[SETTINGS].neighbourhood_handle


# --- lookup ----------------------------------------------------------------------------------


async def test_lookup__by_name_and_by_full_handle(client, alice_token):
    for acct in ("alice", "@alice", "alice@localhost"):
        response = await client.get("/api/v1/accounts/lookup", params={"acct": acct})
        assert response.status == 200, acct
        body = await response.json()
        check("Account", body)
        assert body["acct"] == "alice"


async def test_lookup__unknown_or_malformed_is_404(client, alice_token):
    for acct in ("nobody", "", "bob@south.test", "a@b@c"):
        response = await client.get("/api/v1/accounts/lookup", params={"acct": acct})
        assert response.status == 404, acct
        assert response.content_type == "application/json"


# --- an account's statuses -------------------------------------------------------------------


async def _three_listings(client) -> None:
    for title, category in (("Drill", "tools"), ("Apples", "food"), ("Saw", "tools")):
        response = await post_listing(client, {"title": title, "category": category})
        assert response.status == 303


async def test_account_statuses__the_residents_listings_newest_first_with_paging(
    client, alice_token
):
    await _three_listings(client)
    alice_id = await _id_of(client, "alice")
    response = await client.get(f"/api/v1/accounts/{alice_id}/statuses?limit=2")
    assert response.status == 200
    page = await response.json()
    for status in page:
        check("Status", status)
    assert ["Saw" in s["content"] for s in page] == [True, False]
    assert "Apples" in page[1]["content"]
    # the Link header leads to the older page
    next_url = URL(response.headers["Link"].split(";")[0].strip("<>"))
    older = await (await client.get(next_url.path_qs)).json()
    assert ["Drill" in s["content"] for s in older] == [True]
    newer = await (await client.get(
        f"/api/v1/accounts/{alice_id}/statuses?min_id={older[0]['id']}"
    )).json()  # fmt: skip
    assert [s["id"] for s in newer] == [s["id"] for s in page]


async def test_account_statuses__tagged_only_media_and_pinned(client, alice_token):
    await _three_listings(client)
    await post_listing(client, {"title": "Hammer", "category": "tools", "alt_1": "A hammer"},
                       photos=[("photo_1", "h.jpg", photo_bytes())])  # fmt: skip
    alice_id = await _id_of(client, "alice")
    base = f"/api/v1/accounts/{alice_id}/statuses"
    tagged = await (await client.get(f"{base}?tagged=tools")).json()
    assert len(tagged) == 3
    media = await (await client.get(f"{base}?only_media=true&exclude_replies=true")).json()
    assert ["Hammer" in s["content"] for s in media] == [True]
    assert await (await client.get(f"{base}?pinned=true")).json() == []


async def test_account_statuses__the_groups_are_every_listing_here(make_client):
    alice, bob = await make_client(), await make_client()
    await register_and_login(alice, "alice")
    await register_and_login(bob, "bob")
    await post_listing(alice, {"title": "Drill"})
    await post_listing(bob, {"title": "Bread"})
    group = await group_account(alice.app[POOL], alice.app[SETTINGS])
    page = await (await alice.get(f"/api/v1/accounts/{group.id}/statuses")).json()
    assert {s["account"]["username"] for s in page} == {"alice", "bob"}


async def test_account_statuses__unknown_account_is_404(client):
    assert (await client.get("/api/v1/accounts/424242/statuses")).status == 404


# --- search ----------------------------------------------------------------------------------


async def test_accounts_search__by_name_start(make_client):
    alice = await make_client()
    await register_and_login(alice, "alice")
    for name in ("alfred", "bob"):
        await register_and_login(await make_client(), name)
    token = await token_for(alice.app, "alice")
    response = await alice.get("/api/v1/accounts/search?q=al", headers=bearer(token))
    assert response.status == 200
    found = await response.json()
    for account in found:
        check("Account", account)
    assert sorted(a["acct"] for a in found) == ["alfred", "alice"]
    # a LIKE wildcard is a plain character
    assert await (await alice.get("/api/v1/accounts/search?q=%25")).json() == []


async def test_accounts_search__without_q_is_400(client):
    assert (await client.get("/api/v1/accounts/search")).status == 400


async def test_familiar_followers__one_empty_entry_per_id(client, alice_token):
    response = await client.get(
        "/api/v1/accounts/familiar_followers?id[]=1&id[]=2", headers=bearer(alice_token)
    )
    body = await response.json()
    for entry in body:
        check("FamiliarFollowers", entry)
    assert [entry["id"] for entry in body] == ["1", "2"]


async def test_update_credentials__locked_shows_in_the_person_peers_read(client, alice_token):
    response = await _patch(client, alice_token, data={"locked": "true"})
    assert response.status == 200
    actor = await (
        await client.get("/users/alice", headers={"Accept": "application/activity+json"})
    ).json()
    assert actor["manuallyApprovesFollowers"] is True
    update = await client.app[POOL].fetchval(
        "SELECT document->'object'->>'manuallyApprovesFollowers' FROM activities "
        "WHERE document->>'type' = 'Update' ORDER BY id DESC LIMIT 1"
    )
    assert update == "true"


async def test_account_statuses__a_suspended_residents_are_hidden(client, alice_token):
    await _three_listings(client)
    await client.app[POOL].execute(
        "UPDATE accounts SET status = 'suspended' WHERE username = 'alice'"
    )
    alice_id = await _id_of(client, "alice")
    assert await (await client.get(f"/api/v1/accounts/{alice_id}/statuses")).json() == []
