"""OrderedCollection and its pages, as Mastodon and others page through them."""

from __future__ import annotations

from typing import Any

from commonsfed.ap.jsonld import OUR_CONTEXT

PAGE_SIZE = 20


def collection_to_ap(uri: str, total: int) -> dict[str, Any]:
    document: dict[str, Any] = {
        "@context": OUR_CONTEXT,
        "id": uri,
        "type": "OrderedCollection",
        "totalItems": total,
    }
    if total:
        document["first"] = f"{uri}?page=1"
    return document


def collection_page_to_ap(
    uri: str, page: int, items: list[Any], total: int, page_size: int = PAGE_SIZE
) -> dict[str, Any]:
    document: dict[str, Any] = {
        "@context": OUR_CONTEXT,
        "id": f"{uri}?page={page}",
        "type": "OrderedCollectionPage",
        "partOf": uri,
        "totalItems": total,
        "orderedItems": items,
    }
    if page * page_size < total:
        document["next"] = f"{uri}?page={page + 1}"
    if page > 1:
        document["prev"] = f"{uri}?page={page - 1}"
    return document
