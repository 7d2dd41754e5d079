"""What the other side of an answer is told: a local party gets a notification (and its
mail, if they chose mail for its kind); a remote respondent hears of the same change the way
they answered (see services.answers' docstring); and everyone still in line when a listing
closes.

Decisions:
- A listing completed, withdrawn or expired tells everyone whose answer is still in line
  (waiting, offered, or holding a reservation that did not complete): `listing_closed`. Their
  conversations keep their state (the listing may be opened again, and then the line is
  theirs again); the pages show them closed from the listing's state.
- A remote respondent who answered with a direct message (a Mastodon user) gets one more
  direct message saying the listing closed; one who sent an FEP-0837 Offer gets the
  listing's Update, blind-copied (services.listing_federation), from which a commonsfed node
  closes the conversation on its side and tells them (federation.answers).
"""

from __future__ import annotations

from commonsfed.ap import agreements
from commonsfed.ap.activities import undo_to_ap
from commonsfed.ap.uris import LocalUris
from commonsfed.config import Settings
from commonsfed.db import accounts as accounts_q
from commonsfed.db import activities as activities_q
from commonsfed.db import answers as q
from commonsfed.db.answers import STILL_IN_LINE, Conversation
from commonsfed.federation import outbox
from commonsfed.federation.answers import notify, send_message
from commonsfed.i18n import Text, localize
from commonsfed.i18n import gettext_noop as N_
from commonsfed.models import Account
from commonsfed.services.listing_federation import listing_url

# what a respondent who answered with a direct message is told, in the author's name and so
# in the author's language (as their listings go out: services.listing_federation)
TOLD = {
    "reserved_for_you": N_(
        "I have reserved “%(title)s” for you. Let us arrange the handover here."
    ),
    "offered_to_you": N_(
        "“%(title)s” is free again and you are next in line. Reply here if you still want it."
    ),
    "reservation_released": N_(
        "I have released the reservation of “%(title)s”; you are in line again."
    ),
    "declined": N_("Sorry: I have declined your answer to “%(title)s”."),
    "completed": N_("“%(title)s” is marked as completed with you. Thank you!"),
}


async def _in_authors_language(conn, settings: Settings, conv: Conversation, message: str) -> str:
    """`message` (a marked template with %(title)s) in the language of the listing's author."""
    author = await accounts_q.get_account(conn, conv.author_id) if conv.author_id else None
    language = (author.language if author else None) or settings.language
    return localize(language, Text(message, title=conv.listing_title))


async def tell_respondent(conn, settings: Settings, conv: Conversation, kind: str) -> None:
    """A local respondent gets a notification; a remote one an activity (see the module
    docstring)."""
    if conv.respondent_actor_uri is None:
        await notify(conn, conv.respondent_account_id, kind, conv)
        return
    author = LocalUris(settings.base_url).user(conv.author_username)
    if conv.answered_with == "offer" and kind in ("reserved_for_you", "declined"):
        await _decide_offer(conn, settings, conv, author, accepted=kind == "reserved_for_you")
    elif conv.answered_with == "offer" and kind == "reservation_released":
        accept = await activities_q.latest_accept_of(conn, conv.ap_id)
        if accept is not None:
            undo = undo_to_ap(author, accept, settings, new_id=outbox.new_activity_id)
            await outbox.publish(conn, settings, undo)
    elif kind in TOLD:
        if conv.answered_with == "offer" and kind == "completed" and conv.state != "reserved":
            # completed without a reservation first: the Accept makes the agreement that
            # the listing's Update then completes on their node
            await _decide_offer(conn, settings, conv, author, accepted=True)
        body = await _in_authors_language(conn, settings, conv, TOLD[kind])
        await send(conn, settings, conv, author, conv.respondent_actor_uri, body, sender_id=None)


async def _decide_offer(
    conn, settings: Settings, conv: Conversation, author: str, *, accepted: bool
) -> None:
    listing = listing_url(settings, conv.listing_uid)
    offer = agreements.AgreementOffer(
        offer_id=conv.ap_id,
        actor_uri=conv.respondent_actor_uri,
        listing_uri=listing,
        intent_uri=listing + "#primary",
        quantity=None,
        unit=None,
        reciprocal_intent_uri=None,
        reciprocal_quantity=None,
        reciprocal_unit=None,
        message="",
    )
    activity_id = outbox.new_activity_id(settings)
    if accepted:
        agreement = f"{listing}/agreements/{conv.id}"
        decision = agreements.agreement_accept_to_ap(
            activity_id=activity_id, actor_uri=author, offer=offer, agreement_id=agreement
        )
        await q.set_agreement(conn, conv.id, agreement)
    else:
        decision = agreements.agreement_reject_to_ap(
            activity_id=activity_id, actor_uri=author, offer=offer
        )
    await outbox.publish(conn, settings, decision)


async def send(
    conn,
    settings: Settings,
    conv: Conversation,
    sender_uri: str,
    recipient_uri: str,
    body: str,
    *,
    sender_id: int | None,
) -> None:
    """A direct message to the remote side of `conv`, kept in the conversation too (the
    author's automatic notes are not: the respondent's node shows them as they arrive)."""
    listing = conv.remote_listing_uri or listing_url(settings, conv.listing_uid)
    in_reply_to = await q.last_message_ap_id(conn, conv.id) or conv.ap_id or listing
    note_id = await send_message(
        conn,
        settings,
        sender_uri=sender_uri,
        recipient_uri=recipient_uri,
        body=body,
        in_reply_to=in_reply_to,
        listing_uri=listing,
    )
    if sender_id is not None:
        await q.insert_message(conn, conv.id, sender_id, body, ap_id=note_id)


async def tell_other_side(
    conn, settings: Settings, conv: Conversation, sender: Account, kind: str
) -> None:
    if sender.id == conv.author_id:
        await tell_respondent(conn, settings, conv, kind)
    else:
        await notify(conn, conv.author_id, kind, conv)


# --- a listing closes ----------------------------------------------------------------------


# one sentence per state, as French agrees the state with the listing (« annonce »)
CLOSED_TOLD = {
    "completed": N_(
        "“%(title)s” is completed now and takes no more answers. Thank you for your interest."
    ),
    "withdrawn": N_(
        "“%(title)s” is withdrawn now and takes no more answers. Thank you for your interest."
    ),
    "expired": N_(
        "“%(title)s” is expired now and takes no more answers. Thank you for your interest."
    ),
}
CLOSED_OTHERWISE = N_(
    "“%(title)s” is closed now and takes no more answers. Thank you for your interest."
)


async def tell_line_closed(
    conn, settings: Settings, listing_id: int, chosen_id: int | None = None
) -> int:
    """The listing closed: each answer still in line, but the chosen one's (`chosen_id`, the
    one it completed with), is told. In the caller's transaction, after the listing's new
    state is written. Returns how many were told."""
    told = 0
    for conv in await q.listing_conversations(conn, listing_id):
        if conv.id == chosen_id or conv.state not in STILL_IN_LINE or conv.closed_at:
            continue
        await _tell_closed(conn, settings, conv)
        told += 1
    return told


async def _tell_closed(conn, settings: Settings, conv: Conversation) -> None:
    if conv.respondent_actor_uri is None:
        await notify(conn, conv.respondent_account_id, "listing_closed", conv)
    elif conv.answered_with != "offer":  # an Offer's node learns it from the Update
        author = LocalUris(settings.base_url).user(conv.author_username)
        told = CLOSED_TOLD.get(conv.listing_state, CLOSED_OTHERWISE)
        body = await _in_authors_language(conn, settings, conv, told)
        await send(conn, settings, conv, author, conv.respondent_actor_uri, body, sender_id=None)
