"""JSON-LD normalisation: bundled contexts, fast and slow paths, hostile input.

Rough costs per document on the development machine (2 shared cores, best of 5 runs;
figures moved by up to 2x between runs):
- fast path (`normalise`, no pyld): 4 us (Follow, Like) to 25-50 us (Mastodon or GoToSocial
  Create with attachments, tags and emoji), nearly all of it the size and depth scan;
- slow path (pyld expand + compact + tidy): 0.6 ms (Follow) to 5-10 ms (the same Mastodon
  Create); Pleroma Create about 4 ms, Lemmy Create about 2.3 ms;
- the first slow document in a process pays about 220 ms more: importing pyld and
  processing the bundled contexts once.
"""

import copy
import json
import socket
import time
from pathlib import Path
from typing import Any

import pytest

from commonsfed.ap import jsonld
from commonsfed.ap.jsonld import (
    AS2,
    BUNDLED_CONTEXTS,
    MAX_DEPTH,
    MAX_NODES,
    OUR_CONTEXT,
    PUBLIC,
    DocumentTooComplexError,
    JsonLdError,
    as_list,
    bundled_context,
    first_id,
    is_fast_path,
    normalise,
    offline_document_loader,
)

DATA = Path(__file__).parent.parent / "data"

# Which path each captured payload takes, and why.
PAYLOAD_PATHS = {
    # Bundled URLs plus inline terms that mean what ours mean.
    "mastodon_create_note.json": True,
    "mastodon_actor.json": True,
    "mastodon_follow.json": True,
    "mastodon_like.json": True,
    "mastodon_delete_actor.json": True,
    "mastodon_flag.json": True,
    "misskey_create_note.json": True,
    "gotosocial_create_note.json": True,
    "fep0837_offer_note.json": True,
    "fep0837_offer_agreement.json": True,
    # Pleroma's litepub context URL is never fetched, so its terms cannot be vouched for.
    "pleroma_create_note.json": False,
    # Lemmy maps `expires` to as:endTime, where security/v1 (also in its context) says
    # sec:expiration: a term with two meanings goes through pyld.
    "lemmy_create_page.json": False,
}


def load(name: str) -> dict[str, Any]:
    return json.loads((DATA / name).read_text())


def fields(doc: dict[str, Any]) -> dict[str, Any]:
    """The fields the handlers read, from an activity or a bare object."""
    obj = doc.get("object")
    node = obj if isinstance(obj, dict) else doc
    publishes = node.get("publishes") if isinstance(node.get("publishes"), dict) else {}
    return {
        "id": doc.get("id"),
        "type": doc.get("type"),
        "actor": doc.get("actor"),
        "to": doc.get("to"),
        "cc": doc.get("cc"),
        "object.id": first_id(obj),
        "object.type": obj.get("type") if isinstance(obj, dict) else None,
        "object.to": node.get("to"),
        "object.cc": node.get("cc"),
        "content": node.get("content"),
        "attributedTo": node.get("attributedTo"),
        "inReplyTo": node.get("inReplyTo"),
        "tag names": [tag.get("name") for tag in as_list(node.get("tag"))],
        "purpose": node.get("purpose"),
        "publishes.action": publishes.get("action"),
        "availableQuantity": publishes.get("availableQuantity"),
    }


# --- captured payloads --------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(PAYLOAD_PATHS))
def test_normalise__fast_and_slow_paths_agree(name: str) -> None:
    doc = load(name)

    assert fields(normalise(doc)) == fields(normalise(doc, force_slow=True))


@pytest.mark.parametrize("name", sorted(PAYLOAD_PATHS))
def test_normalise__keeps_what_the_sender_meant(name: str) -> None:
    doc = load(name)

    assert fields(normalise(doc)) == fields(doc)


@pytest.mark.parametrize(("name", "fast"), sorted(PAYLOAD_PATHS.items()))
def test_is_fast_path__captured_payloads(name: str, fast: bool) -> None:
    assert is_fast_path(load(name)) is fast


@pytest.mark.parametrize("name", sorted(PAYLOAD_PATHS))
def test_normalise__result_carries_our_context(name: str) -> None:
    assert normalise(load(name))["@context"] == OUR_CONTEXT
    assert normalise(load(name), force_slow=True)["@context"] == OUR_CONTEXT


@pytest.mark.parametrize("name", sorted(PAYLOAD_PATHS))
def test_normalise__does_not_change_its_input(name: str) -> None:
    doc = load(name)
    before = copy.deepcopy(doc)

    normalise(doc)
    normalise(doc, force_slow=True)

    assert doc == before


def test_normalise__listing_terms_on_the_slow_path() -> None:
    listing = normalise(load("fep0837_offer_note.json"), force_slow=True)

    assert listing["purpose"] == "offer"
    assert listing["unitBased"] is False
    assert listing["publishes"]["type"] == "Intent"
    assert listing["publishes"]["action"] == "transfer"
    assert listing["publishes"]["availableQuantity"] == {"hasUnit": "one", "hasNumericalValue": "6"}
    assert listing["reciprocal"]["id"].endswith("#reciprocal")
    assert listing["location"]["longitude"] == 2.3522


def test_normalise__agreement_terms_on_the_slow_path() -> None:
    offer = normalise(load("fep0837_offer_agreement.json"), force_slow=True)

    agreement = offer["object"]
    assert agreement["type"] == "Agreement"
    assert agreement["stipulates"]["satisfies"].endswith("#primary")
    assert agreement["stipulatesReciprocal"]["resourceQuantity"]["hasNumericalValue"] == "30"


def test_normalise__peer_terms_keep_their_names_on_the_slow_path() -> None:
    mastodon = normalise(load("mastodon_create_note.json"), force_slow=True)["object"]
    misskey = normalise(load("misskey_create_note.json"), force_slow=True)["object"]
    gotosocial = normalise(load("gotosocial_create_note.json"), force_slow=True)["object"]

    assert mastodon["conversation"].startswith("tag:mastodon.example")
    assert mastodon["attachment"][0]["focalPoint"] == [0.0, 0.25]
    assert mastodon["contentMap"]["en"] == mastodon["content"]
    assert misskey["_misskey_quote"] == misskey["quoteUrl"]
    assert gotosocial["interactionPolicy"]["canLike"]["automaticApproval"] == [PUBLIC]
    assert [tag["type"] for tag in gotosocial["tag"]] == ["Emoji", "Hashtag"]


def test_normalise__undefined_terms_of_an_unfetched_context_keep_their_names() -> None:
    # Given Pleroma's Create, whose litepub context defines directMessage and conversation
    create = normalise(load("pleroma_create_note.json"))

    # Then they come out under their plain names, and {"@language": "und"} does not turn
    # content into a language map
    assert create["directMessage"] is False
    assert create["object"]["conversation"] == create["object"]["context"]
    assert create["object"]["sensitive"] is False
    assert "contentMap" not in create["object"]


def test_normalise__lemmy_expires_is_read_as_end_time() -> None:
    doc = load("lemmy_create_page.json")
    doc["object"]["expires"] = "2024-06-01T00:00:00Z"

    page = normalise(doc)["object"]

    assert page["endTime"] == "2024-06-01T00:00:00Z"
    assert "expires" not in page
    assert page["stickied"] is False
    assert page["language"] == {"identifier": "ko", "name": "한국어"}


# --- contexts and the offline loader ----------------------------------------------------


@pytest.mark.parametrize("url", sorted(BUNDLED_CONTEXTS))
def test_offline_document_loader__answers_bundled_urls(url: str) -> None:
    remote = offline_document_loader(url)

    assert remote["documentUrl"] == url
    assert isinstance(remote["document"]["@context"], dict)
    assert remote["document"]["@context"]


def test_offline_document_loader__as2_variants_share_one_document() -> None:
    variants = [url for url in BUNDLED_CONTEXTS if "activitystreams" in url]

    assert len(variants) == 4
    assert all(bundled_context(url) is bundled_context(AS2) for url in variants)


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example/ctx",
        "https://litepub.social/litepub/context.jsonld",
        "https://pleroma.example/schemas/litepub-0.1.jsonld",
    ],
)
def test_offline_document_loader__unknown_url_is_an_empty_context(url: str) -> None:
    assert offline_document_loader(url)["document"] == {"@context": {}}
    assert bundled_context(url) is None


def test_normalise__unknown_remote_context_is_never_fetched(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given no socket can be opened
    def no_network(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("tried to open a socket")

    monkeypatch.setattr(socket, "socket", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    doc = {
        "@context": [AS2, "https://evil.example/ctx", {"x": {"@id": "https://evil.example/x"}}],
        "id": "https://evil.example/notes/1",
        "type": "Note",
        "content": "hello",
    }

    # When it is normalised (through pyld: the context is unknown)
    assert not is_fast_path(doc)
    note = normalise(doc)

    # Then AS2 terms still read as AS2
    assert note["content"] == "hello"
    assert normalise(load("pleroma_create_note.json"))["object"]["content"]


def test_our_context__takes_the_fast_path_and_expands_offline() -> None:
    doc = {"@context": OUR_CONTEXT, "id": "https://north.test/listings/1", "type": "Note"}

    assert is_fast_path(doc)
    assert normalise(doc, force_slow=True)["id"] == "https://north.test/listings/1"


def test_our_context__agrees_with_the_bundled_term_files() -> None:
    contexts = Path(jsonld.__file__).parent / "contexts"
    files = ("valueflows.json", "fediverse-terms.json")
    bundled = {}
    for name in files:
        bundled.update(json.loads((contexts / name).read_text())["@context"])

    ours = OUR_CONTEXT[2]

    assert {term: bundled[term] for term in ours if term in bundled} == {
        term: ours[term] for term in ours if term in bundled
    }
    assert set(ours) <= set(bundled)


def test_normalise__data_integrity_and_multikey_contexts_work_offline() -> None:
    # An actor with an FEP-521a key and an FEP-8b32 proof, as Mitra sends them
    actor_id = "https://mitra.example/users/a"
    key_id = actor_id + "#ed25519-key"
    doc = {
        "@context": [AS2, jsonld.SECURITY_V1, jsonld.DATA_INTEGRITY_V1, jsonld.MULTIKEY_V1],
        "id": actor_id,
        "type": "Person",
        "assertionMethod": [
            {
                "id": key_id,
                "type": "Multikey",
                "controller": actor_id,
                "publicKeyMultibase": "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2",
            }
        ],
        "proof": {
            "type": "DataIntegrityProof",
            "cryptosuite": "eddsa-jcs-2022",
            "verificationMethod": key_id,
            "proofPurpose": "assertionMethod",
            "proofValue": "z3sXaxjKs4M3BRicwWA9peyNPJvJqxtGsDmpt1jjoHCjgeUf71TRFz56osPS",
            "created": "2023-02-24T23:36:38Z",
        },
    }

    actor = normalise(doc, force_slow=True)

    assert is_fast_path(doc)
    assert actor["assertionMethod"] == doc["assertionMethod"]
    assert actor["proof"] == doc["proof"]


# --- hostile and odd documents ------------------------------------------------------------


def test_normalise__inline_context_mapping_content_elsewhere_is_not_content() -> None:
    doc = {
        "@context": [AS2, {"content": "http://evil.example/content"}],
        "id": "https://evil.example/notes/1",
        "type": "Note",
        "content": "not AS2 content",
    }

    note = normalise(doc)

    assert not is_fast_path(doc)
    assert "content" not in note
    assert note["http://evil.example/content"] == "not AS2 content"


def test_normalise__nested_context_mapping_content_elsewhere_is_not_content() -> None:
    doc = {
        "@context": AS2,
        "type": "Create",
        "object": {
            "@context": {"content": "http://evil.example/content"},
            "type": "Note",
            "content": "not AS2 content",
        },
    }

    note = normalise(doc)["object"]

    assert not is_fast_path(doc)
    assert "content" not in note
    assert "@context" not in note


def test_normalise__redefined_prefix_does_not_reach_as2_terms() -> None:
    doc = {"@context": [AS2, {"as": "http://evil.example/#"}], "type": "Note", "as:summary": "x"}

    note = normalise(doc)

    assert not is_fast_path(doc)
    assert "summary" not in note


def test_normalise__vocab_in_inline_context_takes_the_slow_path() -> None:
    doc = {"@context": [AS2, {"@vocab": "http://evil.example/"}], "type": "Note", "foo": 1}

    note = normalise(doc)

    assert not is_fast_path(doc)
    assert note["http://evil.example/foo"] == 1


def test_normalise__array_container_definition_takes_the_slow_path() -> None:
    doc = {
        "@context": [AS2, {"tag": {"@id": "as:tag", "@container": ["@set"]}}],
        "type": "Note",
        "tag": [{"type": "Hashtag", "name": "#a"}],
    }

    assert not is_fast_path(doc)
    assert normalise(doc)["tag"] == [{"type": "Hashtag", "name": "#a"}]


def test_normalise__protected_term_redefinition_is_refused() -> None:
    doc = {
        "@context": [AS2, jsonld.DATA_INTEGRITY_V1, {"proof": "http://evil.example/proof"}],
        "type": "Note",
    }

    with pytest.raises(JsonLdError, match="protected term"):
        normalise(doc)


def test_normalise__too_many_context_urls_is_refused() -> None:
    doc = {"@context": [f"https://evil.example/{i}" for i in range(12)], "type": "Note"}

    with pytest.raises(JsonLdError, match="context"):
        normalise(doc)


@pytest.mark.parametrize("doc", [[], "a string", None, 42])
def test_normalise__not_an_object_is_refused(doc: Any) -> None:
    with pytest.raises(JsonLdError):
        normalise(doc)


def test_normalise__several_top_level_objects_are_refused() -> None:
    notes = [{"id": f"https://a.example/{i}", "type": "Note"} for i in (1, 2)]
    doc = {"@context": AS2, "@graph": notes}

    with pytest.raises(JsonLdError, match="several"):
        normalise(doc)


def nested(levels: int) -> dict[str, Any]:
    """A document `levels` objects deep, counting the document itself."""
    doc: dict[str, Any] = {"type": "Note"}
    for _ in range(levels - 1):
        doc = {"type": "Note", "inReplyTo": doc}
    return {"@context": AS2, **doc}


def test_normalise__nesting_at_the_limit_is_accepted() -> None:
    assert normalise(nested(MAX_DEPTH), force_slow=True)["type"] == "Note"


@pytest.mark.parametrize("force_slow", [False, True])
def test_normalise__nesting_past_the_limit_is_refused(force_slow: bool) -> None:
    with pytest.raises(DocumentTooComplexError, match="deeper"):
        normalise(nested(MAX_DEPTH + 1), force_slow=force_slow)
    with pytest.raises(DocumentTooComplexError):
        is_fast_path(nested(MAX_DEPTH + 1))


def test_normalise__deep_nesting_inside_the_context_is_refused() -> None:
    context: Any = {}
    for _ in range(MAX_DEPTH):
        context = {"@context": context}

    with pytest.raises(DocumentTooComplexError):
        normalise({"@context": [AS2, context], "type": "Note"})


def test_normalise__too_many_nodes_is_refused() -> None:
    doc = {
        "@context": AS2,
        "type": "Note",
        "to": [f"https://a.example/{i}" for i in range(MAX_NODES)],
    }

    with pytest.raises(DocumentTooComplexError, match="nodes"):
        normalise(doc)


def test_normalise__huge_document_is_refused_quickly_without_pyld(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a million tags and a JSON-LD processor that must not run
    def no_pyld() -> None:
        raise AssertionError("pyld ran on a hostile document")

    monkeypatch.setattr(jsonld, "_pyld", no_pyld)
    doc = {"@context": AS2, "type": "Note", "tag": [{"name": "#x"}] * 1_000_000}

    # When it is normalised, Then it is refused after a few thousand nodes
    started = time.perf_counter()
    with pytest.raises(DocumentTooComplexError):
        normalise(doc, force_slow=True)
    assert time.perf_counter() - started < 1.0


# --- shapes the fast path must match ------------------------------------------------------


@pytest.mark.parametrize("force_slow", [False, True])
def test_normalise__public_collection_is_spelled_in_full(force_slow: bool) -> None:
    doc = {
        "@context": AS2,
        "type": "Create",
        "to": ["Public", "as:Public"],
        "object": {"type": "Note", "cc": "as:Public"},
    }

    create = normalise(doc, force_slow=force_slow)

    assert create["to"] == [PUBLIC, PUBLIC]
    assert create["object"]["cc"] == PUBLIC


def test_normalise__missing_context_counts_as_as2() -> None:
    doc = {"id": "https://a.example/1", "type": "Note", "content": "hi"}

    assert is_fast_path(doc)
    assert normalise(doc, force_slow=True)["content"] == "hi"


def test_normalise__keywords_in_the_body_come_out_as_plain_keys() -> None:
    doc = {"@context": AS2, "@id": "https://a.example/1", "@type": "Note", "to": {"@id": PUBLIC}}

    note = normalise(doc)

    assert not is_fast_path(doc)
    assert note["id"] == "https://a.example/1"
    assert note["type"] == "Note"
    assert note["to"] == PUBLIC


@pytest.mark.parametrize(
    ("to", "tag"),
    [(PUBLIC, {"type": "Hashtag", "name": "#a"}), ([PUBLIC], [{"type": "Hashtag", "name": "#a"}])],
)
def test_normalise__slow_path_keeps_scalars_and_one_element_arrays(to: Any, tag: Any) -> None:
    doc = {"@context": AS2, "type": "Note", "to": to, "tag": tag}

    note = normalise(doc, force_slow=True)

    assert note["to"] == to
    assert note["tag"] == tag


# --- helpers --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, []), ("a", ["a"]), ({"id": "a"}, [{"id": "a"}]), (["a", "b"], ["a", "b"]), ([], [])],
)
def test_as_list__cases(value: Any, expected: list[Any]) -> None:
    assert as_list(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("https://a.example/1", "https://a.example/1"),
        ({"id": "https://a.example/1", "type": "Note"}, "https://a.example/1"),
        ([{"type": "Link"}, "https://a.example/2"], "https://a.example/2"),
        ([{"id": "https://a.example/3"}, "https://a.example/4"], "https://a.example/3"),
        ({"type": "Note"}, None),
        ([], None),
        (42, None),
    ],
)
def test_first_id__cases(value: Any, expected: str | None) -> None:
    assert first_id(value) == expected
