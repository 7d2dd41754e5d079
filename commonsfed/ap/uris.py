"""The node's own URIs: one place that knows how local ids are spelled."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

AS_PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


@dataclass(frozen=True)
class LocalUris:
    base: str  # "https://commons.example.org", no trailing slash

    @property
    def host(self) -> str:
        return urlsplit(self.base).netloc

    def user(self, name: str) -> str:
        return f"{self.base}/users/{name}"

    def key_id(self, actor_uri: str) -> str:
        return f"{actor_uri}#main-key"

    def inbox(self, actor_uri: str) -> str:
        return f"{actor_uri}/inbox"

    def outbox(self, actor_uri: str) -> str:
        return f"{actor_uri}/outbox"

    def followers(self, actor_uri: str) -> str:
        return f"{actor_uri}/followers"

    def following(self, actor_uri: str) -> str:
        return f"{actor_uri}/following"

    def featured(self, actor_uri: str) -> str:
        return f"{actor_uri}/collections/featured"

    @property
    def shared_inbox(self) -> str:
        return f"{self.base}/inbox"

    @property
    def instance_actor(self) -> str:
        return f"{self.base}/actor"

    def listing(self, uid: str) -> str:
        return f"{self.base}/listings/{uid}"

    def listing_uid(self, uri: str) -> str | None:
        """'aB3' for https://this.host/listings/aB3, else None."""
        prefix = f"{self.base}/listings/"
        if not uri.startswith(prefix):
            return None
        rest = uri[len(prefix):]
        ok = rest and len(rest) <= 64 and all(c.isalnum() or c in "-_" for c in rest)
        return rest if ok else None

    def message(self, key: str) -> str:
        """A private message's Note id (not served: only its two parties ever see it)."""
        return f"{self.base}/messages/{key}"

    def is_local(self, uri: str) -> bool:
        return urlsplit(uri).netloc.lower() == self.host.lower() and uri.startswith(self.base)

    def local_username(self, uri: str) -> str | None:
        """'alice' for https://this.host/users/alice, else None."""
        prefix = f"{self.base}/users/"
        if not uri.startswith(prefix):
            return None
        rest = uri[len(prefix):]
        return rest if rest and "/" not in rest and "#" not in rest and "?" not in rest else None
