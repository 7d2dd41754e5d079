"""What federation code needs at hand: settings, pool, HTTP session, the instance actor's key."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import asyncpg
from cryptography.hazmat.primitives.asymmetric import rsa

from commonsfed import signatures
from commonsfed.ap.uris import LocalUris
from commonsfed.config import Settings
from commonsfed.federation.fetch import FetchedDocument, fetch_document
from commonsfed.federation.keys import GROUP, INSTANCE, node_keys
from commonsfed.federation.known import Known
from commonsfed.federation.transport import AddressPolicy, make_client_session, user_agent_for
from commonsfed.live_settings import LiveSettings
from commonsfed.metrics import Metrics


@dataclass(frozen=True)
class Federation:
    # the settings of now: the inbox, mail and export workers refresh them at every tick
    settings: LiveSettings
    pool: asyncpg.Pool
    session: aiohttp.ClientSession
    policy: AddressPolicy
    instance_private_key: rsa.RSAPrivateKey
    # the inbound handler table, when the node's differs from federation.handlers.HANDLERS:
    # the entry points (app, CLI) add handlers that need the services layer, which this
    # layer may not import (see services.answer_inbox)
    handlers: Mapping[tuple[str, str | None], Any] | None = None
    # what the workers count (deliveries, inbox handling): the process's /metrics
    metrics: Metrics = field(default_factory=Metrics)
    # what the inbox worker read for the batch being handled (`federation.known`); None
    # outside a batch
    known: Known | None = None

    @property
    def uris(self) -> LocalUris:
        return LocalUris(self.settings.base_url)

    @property
    def instance_key_id(self) -> str:
        return self.uris.key_id(self.uris.instance_actor)

    async def fetch(self, url: str) -> FetchedDocument:
        """A remote AS2 document, fetched as the node: signed by the instance actor."""
        return await fetch_document(
            self.session,
            self.policy,
            url,
            key_id=self.instance_key_id,
            private_key=self.instance_private_key,
            dev=self.settings.dev,
        )


@asynccontextmanager
async def open_federation(
    settings: Settings | LiveSettings,
    pool: asyncpg.Pool,
    handlers: Mapping[tuple[str, str | None], Any] | None = None,
    metrics: Metrics | None = None,
) -> AsyncIterator[Federation]:
    """The node's one HTTP session and its signing key, closed on the way out; `settings`
    become live ones, read from the database now."""
    settings = LiveSettings.wrap(settings)
    await settings.refresh(pool)
    policy = AddressPolicy.from_settings(settings)
    private_pem, _ = await node_keys(pool, INSTANCE)
    await node_keys(pool, GROUP)  # made now, so deliveries never find the Group without a key
    session = make_client_session(policy, user_agent=user_agent_for(settings))
    try:
        yield Federation(
            settings, pool, session, policy, signatures.private_key_from_pem(private_pem),
            handlers, metrics or Metrics(),
        )
    finally:
        await session.close()
