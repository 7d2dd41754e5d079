"""Reports on the wire: the `Flag` activity, in Mastodon's shape.

Mastodon sends a report to the reported account's server as a Flag from its instance actor
(never from the person who reported, whom the other server has no need to know), with
`object` the reported account followed by the reported statuses, and the comment as
`content`; it carries no addressing, and goes to the reported account's (shared) inbox.
GoToSocial and Misskey send and read the same shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from commonsfed.ap.activities import same_host, valid_uri
from commonsfed.ap.jsonld import AS2, as_list, first_id

MAX_FLAG_OBJECTS = 100  # what a Flag may name; Mastodon's reports name far fewer
MAX_FLAG_CONTENT = 10_000  # characters of comment kept


def flag_to_ap(
    activity_id: str, instance_actor: str, reported_actor: str, objects: list[str], comment: str
) -> dict[str, Any]:
    """A report forwarded to `reported_actor`'s server: only the objects on that server are
    named (theirs to judge), and nothing names who reported."""
    named = [uri for uri in objects if uri != reported_actor and same_host(uri, reported_actor)]
    return {
        "@context": AS2,
        "id": activity_id,
        "type": "Flag",
        "actor": instance_actor,
        "content": comment,
        "object": [reported_actor, *named],
    }


@dataclass(frozen=True)
class Flag:
    objects: list[str]  # the URIs named, in order (Mastodon: the account first)
    content: str


class FlagError(ValueError):
    """The Flag cannot be read as a report."""


def flag_from_ap(activity: dict[str, Any]) -> Flag:
    objects = [
        uri for item in as_list(activity.get("object"))
        if (uri := valid_uri(first_id(item))) is not None
    ]  # fmt: skip
    if len(objects) > MAX_FLAG_OBJECTS:
        raise FlagError(f"a Flag may name at most {MAX_FLAG_OBJECTS} things")
    if not objects:
        raise FlagError("the Flag names nothing")
    content = activity.get("content")
    return Flag(objects, content[:MAX_FLAG_CONTENT] if isinstance(content, str) else "")
