"""Handler tests' common ground: the node is http://localhost (the `settings` fixture) with a
resident alice; remote actors are rows in remote_actors, as the inbox leaves them after
checking a signature. The fixtures are registered in tests/integration/conftest.py.
"""

from __future__ import annotations

from contextlib import AsyncExitStack
from dataclasses import replace
from itertools import count
from pathlib import Path
from typing import Any

import pytest

from commonsfed import signatures
from commonsfed.ap.actors import RemoteActor
from commonsfed.ap.jsonld import AS2, normalise
from commonsfed.db import accounts as accounts_q
from commonsfed.db import actors as actors_q
from commonsfed.db.pool import create_pool
from commonsfed.federation.context import Federation, open_federation
from commonsfed.federation.handlers import handle_activity

DATA = Path(__file__).parent.parent / "data"
ALICE = "http://localhost/users/alice"  # a resident
GROUP = "http://localhost/users/neighbourhood"
BOB = "https://south.example/users/bob"
BERT = "https://south.example/users/bert"  # on bob's server, not bob
CAROL = "https://east.example/users/carol"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
_ids = count(1)


# --- fixtures and builders -----------------------------------------------------------------


@pytest.fixture(scope="module")
def keys() -> tuple[str, str]:
    key = signatures.generate_private_key()
    return signatures.private_key_to_pem(key), signatures.public_key_to_pem(key)


@pytest.fixture
async def make_fed(settings):
    """make_fed(**settings changes) -> a real Federation on the test's database."""
    async with AsyncExitStack() as stack:

        async def make(**changes) -> Federation:
            changed = replace(settings, **changes)
            pool = await create_pool(changed.database_url)
            stack.push_async_callback(pool.close)
            return await stack.enter_async_context(open_federation(changed, pool))

        yield make


@pytest.fixture
async def fed(make_fed, keys) -> Federation:
    federation = await make_fed()
    async with federation.pool.acquire() as conn:
        await add_resident(conn, "alice", keys)
        for uri in (BOB, BERT, CAROL):
            await add_remote_actor(conn, uri)
    return federation


@pytest.fixture
async def db(fed):
    async with fed.pool.acquire() as conn:
        yield conn


async def add_resident(conn, name: str, keys: tuple[str, str], *, by_hand: bool = False):
    await accounts_q.insert_account(
        conn, username=name, email=f"{name}@example.org", password_hash="-", status="active",
        keys=keys,
    )  # fmt: skip
    await conn.execute(
        "UPDATE accounts SET manually_approves_followers = $2 WHERE username = $1", name, by_hand
    )


async def add_remote_actor(conn, uri: str, type: str = "Person") -> RemoteActor:
    host = uri.split("/")[2]
    actor = RemoteActor(
        uri=uri, domain=host, type=type, preferred_username=uri.rsplit("/", 1)[1], name=None,
        inbox=f"{uri}/inbox", shared_inbox=f"https://{host}/inbox", followers=f"{uri}/followers",
        key_id=f"{uri}#main-key", public_key_pem="-----BEGIN PUBLIC KEY-----",
    )  # fmt: skip
    await actors_q.upsert_remote_actor(conn, actor, {"id": uri, "type": type})
    return actor


def activity(kind: str, actor: str, obj: Any, **extra: Any) -> dict[str, Any]:
    """An activity as `actor`'s server sends it, with a fresh id on that server."""
    return {
        "@context": AS2,
        "id": f"{actor}/activities/{next(_ids)}",
        "type": kind,
        "actor": actor,
        "object": obj,
        **extra,
    }


def note(uri: str, author: str, content: str = "<p>Hello</p>", **extra: Any) -> dict[str, Any]:
    return {
        "id": uri, "type": "Note", "attributedTo": author, "content": content,
        "to": [PUBLIC], "published": "2024-05-04T08:00:00Z", **extra,
    }  # fmt: skip


def listing(uri: str, author: str, type: str = "Note") -> dict[str, Any]:
    intent = {"id": f"{uri}#primary", "type": "Intent", "action": "transfer"}
    return {**note(uri, author, "<p>Ladder to lend</p>"), "type": type,
            "purpose": "offer", "publishes": intent}  # fmt: skip


async def handle(fed: Federation, document: dict[str, Any], signer=None) -> str:
    return await handle_activity(fed, normalise(document), signer)


