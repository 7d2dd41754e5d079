"""Profiles on the wire: a resident's Person as valid JSON-LD that Mastodon reads, and what is
kept (capped, never trusted) of a remote actor's profile."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pyld import jsonld

from commonsfed.ap.actors import LocalActor, actor_from_ap, actor_to_ap
from commonsfed.ap.jsonld import PUBLIC, normalise, offline_document_loader
from commonsfed.ap.profiles import (
    MAX_REMOTE_FIELD_CHARS,
    MAX_REMOTE_FIELDS,
    Profile,
    field_link,
    field_to_ap,
    profile_from_ap,
    update_actor_to_ap,
)
from commonsfed.ap.uris import LocalUris

MASTODON = json.loads((Path(__file__).parent.parent / "data" / "mastodon_actor.json").read_text())
URIS = LocalUris("https://north.test")
ALICE = URIS.user("alice")
SCHEMA = "http://schema.org#"
AS = "https://www.w3.org/ns/activitystreams#"


def resident(**profile) -> LocalActor:
    return LocalActor(
        uri=ALICE, type="Person", username="alice", name="Alice Liddell",
        summary="<p>I lend <strong>ladders</strong>.</p>", public_key_pem="PEM", url=ALICE,
        published=datetime(2030, 1, 2, tzinfo=UTC), profile=Profile(**profile),
    )  # fmt: skip


def expanded(document: dict) -> dict:
    (node,) = jsonld.expand(document, {"documentLoader": offline_document_loader})
    return node


# --- a resident's Person -----------------------------------------------------------------------


def test_actor_to_ap__carries_avatar_fields_and_area_as_mastodon_reads_them():
    document = actor_to_ap(resident(
        icon_url="https://north.test/media/abc.webp", icon_media_type="image/webp",
        area="Elm Street, north end",
        fields=(field_to_ap("Pronouns", "she/her"), field_to_ap("Web", "https://alice.example/")),
    ), URIS)  # fmt: skip

    assert document["name"] == "Alice Liddell"
    assert document["summary"] == "<p>I lend <strong>ladders</strong>.</p>"
    assert document["icon"] == {
        "type": "Image", "url": "https://north.test/media/abc.webp", "mediaType": "image/webp"}
    assert document["attachment"] == [
        {"type": "PropertyValue", "name": "Pronouns", "value": "she/her"},
        {"type": "PropertyValue", "name": "Web", "value":
            '<a href="https://alice.example/" target="_blank" '
            'rel="me nofollow noopener noreferrer" translate="no">alice.example/</a>'},
    ]  # fmt: skip
    assert document["location"] == {"type": "Place", "name": "Elm Street, north end"}


def test_actor_to_ap__a_profile_is_valid_json_ld_with_schema_org_terms():
    document = actor_to_ap(resident(
        icon_url="https://north.test/media/abc.webp", area="Elm Street",
        fields=(field_to_ap("Pronouns", "she/her"),),
    ), URIS)  # fmt: skip

    node = expanded(document)

    (field,) = node[AS + "attachment"]
    assert field["@type"] == [SCHEMA + "PropertyValue"]
    assert field[SCHEMA + "value"] == [{"@value": "she/her"}]
    assert field[AS + "name"] == [{"@value": "Pronouns"}]
    assert node[AS + "icon"][0][AS + "url"] == [{"@id": "https://north.test/media/abc.webp"}]
    assert node[AS + "location"][0]["@type"] == [AS + "Place"]


def test_actor_to_ap__reads_back_the_same_on_the_fast_and_the_slow_path():
    document = actor_to_ap(resident(
        icon_url="https://north.test/media/abc.webp", area="Elm Street",
        fields=(field_to_ap("Web", "https://alice.example/"),),
    ), URIS)  # fmt: skip

    for doc in (normalise(document), normalise(document, force_slow=True)):
        actor = actor_from_ap(doc)
        assert actor.summary == document["summary"]
        assert actor.profile == profile_from_ap(document)
        assert actor.profile.fields[0].name == "Web" and actor.profile.area == "Elm Street"


def test_actor_to_ap__without_a_profile_nothing_is_added():
    document = actor_to_ap(resident(), URIS)

    assert not {"icon", "attachment", "location"} & document.keys()


def test_update_actor_to_ap__public_to_followers_and_blind_copies_apart():
    document = actor_to_ap(resident(), URIS)

    update = update_actor_to_ap(document, "https://north.test/activities/1",
                                cc=[f"{ALICE}/followers"], bcc=["https://south.test/users/bob"])

    assert update["type"] == "Update" and update["actor"] == ALICE
    assert update["object"]["id"] == ALICE and "@context" not in update["object"]
    assert update["to"] == [PUBLIC] and update["cc"] == [f"{ALICE}/followers"]
    assert update["bcc"] == ["https://south.test/users/bob"]


# --- field values ------------------------------------------------------------------------------


def test_field_to_ap__plain_text_is_escaped_never_a_link():
    field = field_to_ap("<b>Me</b>", '<a href="https://evil.example">click</a> & more')

    assert field.name == "<b>Me</b>"  # plain text, which readers escape
    assert field.value == "&lt;a href=&quot;https://evil.example&quot;&gt;click&lt;/a&gt; &amp; more"


@pytest.mark.parametrize(
    "value",
    ["javascript:alert(1)", "https://user:secret@alice.example/", "https://alice.example/a b",
     "https://аlice.example/", "ftp://alice.example/", "alice.example", "https://", "mailto:a@b.c"],
)  # fmt: skip
def test_field_link__only_a_plain_http_url_is_a_link(value):
    assert field_link(value) is None
    assert "<a" not in field_to_ap("Web", value).value


def test_field_link__http_and_https_urls_are_links():
    assert field_link("https://alice.example/about?x=1") == "https://alice.example/about?x=1"
    assert field_link("http://alice.example") == "http://alice.example"


# --- a remote actor's profile ------------------------------------------------------------------


@pytest.mark.parametrize("slow", [False, True], ids=["fast path", "slow path"])
def test_profile_from_ap__reads_mastodons_captured_actor(slow):
    actor = actor_from_ap(normalise(MASTODON, force_slow=slow))

    assert actor.summary == "<p>Gardener, fixer of bicycles.</p>"
    assert actor.profile.icon_url == MASTODON["icon"]["url"]
    assert actor.profile.icon_media_type == "image/png"
    (field,) = actor.profile.fields
    assert field.name == "Garden" and 'href="https://garden.example"' in field.value


def test_profile_from_ap__leaves_out_what_is_malformed_and_keeps_the_actor():
    document = {
        **MASTODON,
        "summary": ["not", "a string"],
        "icon": [{"type": "Image", "url": "javascript:alert(1)"},
                 {"type": "Image", "url": {"type": "Link", "href": "https://cdn.example/a.png"}}],
        "attachment": [
            {"type": "IdentityProof", "name": "keybase", "signatureValue": "x"},
            {"type": "PropertyValue", "name": 42, "value": "number as name"},
            {"type": "PropertyValue", "name": "Long", "value": "x" * 100_000},
            "https://not-an-object.example",
        ],
        "location": "somewhere",
    }  # fmt: skip

    actor = actor_from_ap(document)

    assert actor.summary is None
    assert actor.profile.icon_url == "https://cdn.example/a.png"
    assert [field.name for field in actor.profile.fields] == ["Long"]
    assert len(actor.profile.fields[0].value) == MAX_REMOTE_FIELD_CHARS
    assert actor.profile.area == ""


def test_profile_from_ap__keeps_at_most_sixteen_fields():
    many = [{"type": "PropertyValue", "name": f"F{i}", "value": "v"} for i in range(500)]

    profile = profile_from_ap({**MASTODON, "attachment": many})

    assert len(profile.fields) == MAX_REMOTE_FIELDS == 16
