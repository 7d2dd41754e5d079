"""The answers to a listing on the wire: a Mastodon direct reply, and FEP-0837's
Offer(Agreement) with its Accept and Reject. Pure: no database, no network."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlsplit

from commonsfed.ap.activities import activity_type, valid_uri
from commonsfed.ap.jsonld import OUR_CONTEXT, PUBLIC, as_list, first_id
from commonsfed.ap.listings import (  # fmt: skip
    escape_html,
    om2_quantity,
)
from commonsfed.ap.loan_days import day_of
from commonsfed.ap.projects import need_index
from commonsfed.ap.remote_listings import (
    content_of,
    first_dict,
    html_to_text,  # fmt: skip
    read_measure,
)

# --- answers: a direct reply ---------------------------------------------------------------


def is_direct_reply_to(document: dict[str, Any], listing_uri: str) -> bool:
    """A direct Note replying to the listing: what a Mastodon user's answer looks like."""
    return is_direct(document) and first_id(document.get("inReplyTo")) == listing_uri


def is_direct(document: dict[str, Any]) -> bool:
    """A Note addressed only to actors: no Public, no followers collection. That is what a
    Mastodon user's direct-visibility post looks like (Mastodon also mentions every
    addressee; an addressee it mentions counts as an actor)."""
    if not isinstance(document, dict) or activity_type(document) != "Note":
        return False
    addressees = [
        item
        for key in ("to", "cc", "bto", "bcc", "audience")
        for item in as_list(document.get(key))
    ]
    if not addressees:
        return False
    mentioned = mentioned_actors(document.get("tag"))
    return all(_is_actor_address(first_id(item), mentioned) for item in addressees)


def mentioned_actors(tags: Any) -> set[str]:
    """The hrefs of a document's Mention tags."""
    found = set()
    for tag in as_list(tags):
        if isinstance(tag, dict) and activity_type(tag) == "Mention":
            href = first_id(tag.get("href"))
            if href:
                found.add(href)
    return found


def _is_actor_address(uri: str | None, mentioned: set[str]) -> bool:
    if uri is None or uri in (PUBLIC, "as:Public", "Public"):
        return False
    if uri in mentioned:
        return True
    if valid_uri(uri) is None:
        return False
    # Mastodon, GoToSocial, Misskey, Pleroma name followers collections .../followers;
    # Friendica /followers/<name>.
    return "followers" not in urlsplit(uri).path.split("/")


# --- answers: FEP-0837 Offer(Agreement), Accept, Reject -------------------------------------


@dataclass(frozen=True)
class AgreementOffer:
    """An FEP-0837 `Offer` of an `Agreement` answering a listing."""

    offer_id: str  # the Offer's id: what Accept and Reject name as their object
    actor_uri: str
    listing_uri: str
    intent_uri: str  # the Intent the commitment satisfies: listing + "#primary" (or "#need-<n>")
    quantity: int | float | None  # asked for, in `unit`; None when the Offer does not say
    unit: str | None
    reciprocal_intent_uri: str | None
    reciprocal_quantity: int | float | None
    reciprocal_unit: str | None
    message: str  # plain text, at most MAX_MESSAGE characters


def offer_agreement_from_ap(activity: dict[str, Any]) -> AgreementOffer | None:
    """Read a normalised `Offer` whose object is an `Agreement`. FEP-0837 points the
    Agreement's `stipulates` Commitment at the proposal's primary Intent with `satisfies`
    (or, for a project, at one of its needs: `#need-<n>`); the listing is that Intent's id
    without its fragment. None for anything else."""
    if not isinstance(activity, dict) or activity_type(activity) != "Offer":
        return None
    agreement = first_dict(activity.get("object"))
    offer_id = valid_uri(activity.get("id"))
    actor = valid_uri(first_id(activity.get("actor")))
    if agreement is None or activity_type(agreement) != "Agreement" or not (offer_id and actor):
        return None
    primary = first_dict(agreement.get("stipulates")) or {}
    intent = valid_uri(first_id(primary.get("satisfies")))
    listing, _, fragment = (intent or "").partition("#")
    if intent is None or not (fragment in ("", "primary") or need_index(intent) is not None):
        return None
    unit, quantity = read_measure(primary.get("resourceQuantity"))
    reciprocal = first_dict(agreement.get("stipulatesReciprocal")) or {}
    reciprocal_unit, reciprocal_quantity = read_measure(reciprocal.get("resourceQuantity"))
    message = content_of(activity) or content_of(agreement)
    return AgreementOffer(
        offer_id=offer_id,
        actor_uri=actor,
        listing_uri=listing,
        intent_uri=intent,
        quantity=quantity,
        unit=unit,
        reciprocal_intent_uri=valid_uri(first_id(reciprocal.get("satisfies"))),
        reciprocal_quantity=reciprocal_quantity,
        reciprocal_unit=reciprocal_unit,
        message=html_to_text(message) if message else "",
    )


def offer_agreement_to_ap(
    *,
    activity_id: str,
    actor_uri: str,
    author_uri: str,
    listing_uri: str,
    quantity: int | float = 1,
    unit: str = "one",
    message: str = "",
    reciprocal_quantity: int | float | None = None,
    reciprocal_unit: str = "one",
    days: tuple[date, date] | None = None,
    intent: str = "primary",
) -> dict[str, Any]:
    """`actor_uri` answers the listing `listing_uri` (by `author_uri`) with an FEP-0837
    Offer(Agreement); the message travels as the Offer's `content`. `days` (a loan's pickup
    and return day, both inclusive) go as the Offer's `startTime` and `endTime`: the first
    and the last moment of those days, whose calendar days `offer_days` reads back. `intent`
    is the fragment of the Intent it satisfies: a project's need is `need-<n>`."""
    agreement: dict[str, Any] = {
        "type": "Agreement",
        "stipulates": _commitment(None, f"{listing_uri}#{intent}", quantity, unit),
    }
    if reciprocal_quantity is not None:
        agreement["stipulatesReciprocal"] = _commitment(
            None, listing_uri + "#reciprocal", reciprocal_quantity, reciprocal_unit
        )
    offer = {
        "@context": OUR_CONTEXT,
        "id": activity_id,
        "type": "Offer",
        "actor": actor_uri,
        "to": [author_uri],
        "object": agreement,
    }
    if message.strip():
        offer["content"] = message_html(message)
    if days is not None:
        offer["startTime"] = f"{days[0].isoformat()}T00:00:00Z"
        offer["endTime"] = f"{days[1].isoformat()}T23:59:59Z"
    return offer


def offer_days(activity: dict[str, Any]) -> tuple[date | None, date | None] | None:
    """The days an Offer asks for: the calendar days of its `startTime` and `endTime` as the
    sender wrote them (a loan is booked in days; the sender's day is the one they mean), on
    the Offer or else on its Agreement. None when it names neither; a time that is missing
    or not a date reads as None, for the caller to refuse."""
    agreement = first_dict(activity.get("object")) or {}
    start = activity.get("startTime") or agreement.get("startTime")
    end = activity.get("endTime") or agreement.get("endTime")
    if start is None and end is None:
        return None
    return day_of(start), day_of(end)


def _commitment(
    commitment_id: str | None, satisfies: str, quantity: int | float | None, unit: str | None
) -> dict[str, Any]:
    commitment: dict[str, Any] = {"type": "Commitment", "satisfies": satisfies}
    if commitment_id:
        commitment = {"id": commitment_id, **commitment}
    if quantity is not None:
        commitment["resourceQuantity"] = om2_quantity(unit or "one", quantity)
    return commitment


def message_html(message: str) -> str:
    """Plain text as HTML: paragraphs on blank lines, line breaks kept, all escaped."""
    paragraphs = [part.strip() for part in message.strip().split("\n\n") if part.strip()]
    return "".join(
        "<p>" + "<br>".join(escape_html(line) for line in part.splitlines()) + "</p>"
        for part in paragraphs
    )


def agreement_accept_to_ap(
    *, activity_id: str, actor_uri: str, offer: AgreementOffer, agreement_id: str
) -> dict[str, Any]:
    """The listing's author accepts `offer`: FEP-0837 wants the Offer's id as `object` and
    the finalised Agreement, with ids and the quantities offered, as `result`."""
    agreement: dict[str, Any] = {
        "id": agreement_id,
        "type": "Agreement",
        "stipulates": _commitment(
            agreement_id + "#primary", offer.intent_uri, offer.quantity, offer.unit
        ),
    }
    if offer.reciprocal_intent_uri:
        agreement["stipulatesReciprocal"] = _commitment(
            agreement_id + "#reciprocal",
            offer.reciprocal_intent_uri,
            offer.reciprocal_quantity,
            offer.reciprocal_unit,
        )
    return {
        "@context": OUR_CONTEXT,
        "id": activity_id,
        "type": "Accept",
        "actor": actor_uri,
        "to": [offer.actor_uri],
        "object": offer.offer_id,
        "result": agreement,
    }


def agreement_reject_to_ap(
    *, activity_id: str, actor_uri: str, offer: AgreementOffer, reason: str = ""
) -> dict[str, Any]:
    """The listing's author declines `offer`; FEP-0837 lets `content` say why."""
    reject = {
        "@context": OUR_CONTEXT,
        "id": activity_id,
        "type": "Reject",
        "actor": actor_uri,
        "to": [offer.actor_uri],
        "object": offer.offer_id,
    }
    if reason.strip():
        reject["content"] = message_html(reason)
    return reject


@dataclass(frozen=True)
class AgreementAnswer:
    """A listing author's decision on an Offer(Agreement) we sent."""

    offer_id: str
    actor_uri: str
    accepted: bool
    agreement_id: str | None  # the finalised Agreement's id, on Accept
    reason: str  # plain text, on Reject; may be empty


def agreement_answer_from_ap(activity: dict[str, Any]) -> AgreementAnswer | None:
    """Read a normalised Accept or Reject of an Offer. An Accept must carry the Agreement as
    `result`; an Accept or Reject of anything else (a Follow) is None. Whether `offer_id`
    is an Offer we sent is for the caller to look up."""
    kind = activity_type(activity) if isinstance(activity, dict) else None
    if kind not in ("Accept", "Reject"):
        return None
    target = activity.get("object")
    embedded_offer = isinstance(target, dict)
    offer_id = valid_uri(first_id(target))
    actor = valid_uri(first_id(activity.get("actor")))
    if embedded_offer and activity_type(target) != "Offer" or not (offer_id and actor):
        return None
    result = first_dict(activity.get("result"))
    agreement_id = valid_uri(result.get("id")) if result else None
    if kind == "Accept" and (result is None or activity_type(result) != "Agreement"):
        return None
    content = content_of(activity)
    return AgreementAnswer(
        offer_id=offer_id,
        actor_uri=actor,
        accepted=kind == "Accept",
        agreement_id=agreement_id,
        reason=html_to_text(content) if content else "",
    )
