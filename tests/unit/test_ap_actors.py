"""Remote actor documents: what is kept, and every address checked against the actor's host."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from commonsfed.ap.actors import ActorError, actor_from_ap

MASTODON = json.loads((Path(__file__).parent.parent / "data" / "mastodon_actor.json").read_text())
ALICE = MASTODON["id"]  # https://mastodon.example/users/alice


def changed(**changes) -> dict:
    return {**MASTODON, **changes}


def test_actor_from_ap__a_mastodon_actor_keeps_every_address():
    actor = actor_from_ap(MASTODON)

    assert actor.uri == ALICE and actor.domain == "mastodon.example"
    assert actor.inbox == f"{ALICE}/inbox"
    assert actor.shared_inbox == "https://mastodon.example/inbox"
    assert actor.followers == f"{ALICE}/followers"
    assert actor.key_id == f"{ALICE}#main-key"


def test_actor_from_ap__host_is_compared_without_case():
    uri = "https://Mastodon.Example/users/alice"
    actor = actor_from_ap(changed(id=uri, publicKey={**MASTODON["publicKey"], "owner": uri}))

    assert actor.domain == "mastodon.example" and actor.shared_inbox is not None


@pytest.mark.parametrize(
    "elsewhere",
    ["https://victim.example/inbox", "https://mastodon.example.victim.example/inbox",
     "https://mastodon.example:8443/inbox", "ftp://mastodon.example/inbox", "/inbox"],
)  # fmt: skip
def test_actor_from_ap__a_shared_inbox_elsewhere_is_ignored(elsewhere):
    actor = actor_from_ap(changed(endpoints={"sharedInbox": elsewhere}))

    assert actor.shared_inbox is None and actor.inbox == f"{ALICE}/inbox"


def test_actor_from_ap__followers_elsewhere_are_ignored():
    actor = actor_from_ap(changed(followers="https://victim.example/users/v/followers"))

    assert actor.followers is None


def test_actor_from_ap__an_inbox_elsewhere_makes_the_actor_unusable():
    with pytest.raises(ActorError, match="inbox on another host"):
        actor_from_ap(changed(inbox="https://victim.example/inbox"))


@pytest.mark.parametrize(
    "key",
    [{"id": "https://victim.example/users/v#main-key"},
     {"id": "https://victim.example/users/v#main-key", "owner": ALICE},
     {"owner": "https://mastodon.example/users/bob"}],
)  # fmt: skip
def test_actor_from_ap__a_key_elsewhere_or_of_another_owner_is_refused(key):
    with pytest.raises(ActorError, match="no public key on its own host that it owns"):
        actor_from_ap(changed(publicKey={**MASTODON["publicKey"], **key}))


def test_actor_from_ap__of_several_keys_the_one_on_its_host_is_taken():
    own = MASTODON["publicKey"]
    foreign = {**own, "id": "https://victim.example/users/v#main-key"}

    actor = actor_from_ap(changed(publicKey=[foreign, own]))

    assert actor.key_id == own["id"]


@pytest.mark.parametrize("uri", ["urn:uuid:1234", "mastodon.example/users/alice", "http://[x"])
def test_actor_from_ap__an_id_that_is_not_an_http_url_is_refused(uri):
    with pytest.raises(ActorError):
        actor_from_ap(changed(id=uri))
