"""Hours across nodes on the wire: an `Offer` of a ValueFlows `EconomicEvent` (action
`transfer`, `resourceQuantity` in om2 hours, `provider` who pays the hours and `receiver` who
gets them), answered with `Accept` or `Reject` (with the reason as `content`). The answers
embed the Offer (with its event's id), so a node tells them from the answers to a listing's
Offer(Agreement) without a lookup. A proposer that gives up waiting for an answer sends an
`Undo` of its Offer, embedded whole the same way. Pure: no database, no network."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from commonsfed.ap.activities import activity_type, host_of, valid_uri
from commonsfed.ap.jsonld import OUR_CONTEXT, as_list, first_id
from commonsfed.ap.remote_listings import content_of, first_dict, html_to_text

EVENT = "EconomicEvent"
HOUR_UNITS = ("hour", "hours", "om2:hour")  # om2's name, and what people write
MAX_REASON = 500


@dataclass(frozen=True)
class HoursOffer:
    offer_id: str
    actor_uri: str
    event_id: str
    provider: str  # pays the hours
    receiver: str  # gets them
    hours: Decimal  # as sent: the receiver checks its range


def hours_offer_to_ap(
    *, offer_id: str, event_id: str, actor_uri: str, to_uri: str, provider: str,
    receiver: str, hours: Decimal,
) -> dict[str, Any]:  # fmt: skip
    return {
        "@context": OUR_CONTEXT,
        "id": offer_id,
        "type": "Offer",
        "actor": actor_uri,
        "to": [to_uri],
        "object": _event(event_id, provider, receiver, hours),
    }


def _event(event_id: str, provider: str, receiver: str, hours: Decimal) -> dict[str, Any]:
    return {
        "id": event_id,
        "type": EVENT,
        "action": "transfer",
        "resourceQuantity": {"hasUnit": "hour", "hasNumericalValue": format(hours, "f")},
        "provider": provider,
        "receiver": receiver,
    }


def hours_offer_from_ap(activity: dict[str, Any]) -> HoursOffer | None:
    """A normalised Offer(EconomicEvent) of hours, or None for anything else (a missing or
    malformed field included: the caller refuses it)."""
    if not isinstance(activity, dict) or activity_type(activity) != "Offer":
        return None
    event = first_dict(activity.get("object"))
    if event is None or activity_type(event) != EVENT:
        return None
    fields = (
        valid_uri(activity.get("id")), valid_uri(first_id(activity.get("actor"))),
        valid_uri(event.get("id")), valid_uri(first_id(event.get("provider"))),
        valid_uri(first_id(event.get("receiver"))),
    )  # fmt: skip
    hours = _hours(event.get("resourceQuantity"))
    if None in fields or hours is None or _short(event.get("action")) != "transfer":
        return None
    return HoursOffer(*fields, hours=hours)  # type: ignore[arg-type]


def _short(value: Any) -> str | None:
    value = first_id(value) if not isinstance(value, str) else value
    if not isinstance(value, str):
        return None
    return value.rsplit("#", 1)[-1].rsplit("/", 1)[-1]


def _hours(value: Any) -> Decimal | None:
    measure = first_dict(value)
    if measure is None or _short(measure.get("hasUnit")) not in HOUR_UNITS:
        return None
    items = as_list(measure.get("hasNumericalValue"))
    item = items[0] if items else None
    item = item.get("@value") if isinstance(item, dict) else item
    if isinstance(item, bool) or not isinstance(item, str | int | float):
        return None
    try:
        hours = Decimal(str(item))
    except InvalidOperation:
        return None
    return hours if hours.is_finite() else None


def hours_answer_to_ap(
    kind: str, *, answer_id: str, actor_uri: str, offer: HoursOffer, reason: str = ""
) -> dict[str, Any]:
    """Accept or Reject of `offer`, embedding it (with its event) so it is recognised."""
    answer: dict[str, Any] = {
        "@context": OUR_CONTEXT,
        "id": answer_id,
        "type": kind,
        "actor": actor_uri,
        "to": [offer.actor_uri],
        "object": _embedded(offer),
    }
    if reason:
        answer["content"] = reason[:MAX_REASON]
    return answer


def _embedded(offer: HoursOffer) -> dict[str, Any]:
    return {
        "id": offer.offer_id,
        "type": "Offer",
        "actor": offer.actor_uri,
        "object": _event(offer.event_id, offer.provider, offer.receiver, offer.hours),
    }


def hours_undo_to_ap(*, undo_id: str, offer: HoursOffer, to_uri: str) -> dict[str, Any]:
    """The proposer's Undo of `offer`, which the other node never answered."""
    return {
        "@context": OUR_CONTEXT,
        "id": undo_id,
        "type": "Undo",
        "actor": offer.actor_uri,
        "to": [to_uri],
        "object": _embedded(offer),
    }


def embedded_offer(activity: dict[str, Any]) -> dict[str, Any] | None:
    """The Offer an Undo, Accept or Reject embeds, or None."""
    return first_dict(activity.get("object"))


@dataclass(frozen=True)
class HoursAnswer:
    kind: str  # Accept | Reject
    answer_id: str
    actor_uri: str
    offer_id: str
    event_id: str
    reason: str


def embeds_hours_offer(activity: dict[str, Any]) -> bool:
    """An Accept, Reject or Undo whose embedded Offer is of an EconomicEvent."""
    offer = first_dict(activity.get("object"))
    event = first_dict(offer.get("object")) if offer else None
    return event is not None and activity_type(event) == EVENT


def hours_answer_from_ap(activity: dict[str, Any]) -> HoursAnswer | None:
    kind = activity_type(activity)
    offer = first_dict(activity.get("object"))
    event = first_dict(offer.get("object")) if offer else None
    if kind not in ("Accept", "Reject") or offer is None or event is None:
        return None
    fields = (
        valid_uri(activity.get("id")), valid_uri(first_id(activity.get("actor"))),
        valid_uri(offer.get("id")), valid_uri(event.get("id")),
    )  # fmt: skip
    if None in fields:
        return None
    text = content_of(activity)
    reason = html_to_text(text)[:MAX_REASON] if text else ""
    return HoursAnswer(kind, *fields, reason=reason)  # type: ignore[arg-type]


def node_of(uri: str) -> str:
    """The node an actor or event lives on: its host (with the port, as domains are)."""
    return host_of(uri) or ""
