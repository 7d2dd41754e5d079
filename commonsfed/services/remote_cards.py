"""Cards of remote listings dressed for a page: their neighbourhood's name instead of a host,
and their first photo from this node's cache (services.remote_media) instead of the other
server's address."""

from __future__ import annotations

from dataclasses import replace

from commonsfed.federation.context import Federation
from commonsfed.services import neighbourhoods, remote_media
from commonsfed.services.search import Card


async def dress(fed: Federation, cards: list[Card]) -> list[Card]:
    """`cards`, the remote ones with their neighbourhood's name and cached thumbnail."""
    remote = [card for card in cards if card.origin is not None and card.uri is not None]
    if not remote:
        return cards
    async with fed.pool.acquire() as conn:
        names = await neighbourhoods.names_of(conn, {card.origin for card in remote})
    firsts = {card.uri: card.remote_photo for card in remote if card.remote_photo is not None}
    thumbs = await remote_media.thumbnails(fed, firsts) if firsts else {}
    return [_dressed(card, names, thumbs) if card.origin is not None else card for card in cards]


def _dressed(card: Card, names: dict[str, str], thumbs: dict) -> Card:
    card = replace(card, origin_name=names.get(card.origin or ""))
    thumb = thumbs.get(card.uri)
    if thumb is None:
        return card
    return replace(card, photo_cached=thumb.src, photo_alt=thumb.alt, photo_width=thumb.width,
                   photo_height=thumb.height)  # fmt: skip
