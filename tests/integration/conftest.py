"""Fixtures shared by the integration tests: residents with browsers of their own; a
Federation on the test's database for the handler tests (remote.py); and a node that
delivers to a peer we do not run, for the delivery tests (sinks.py); and an SMTP server on
loopback with a node that mails through it, for the mail tests (smtp.py)."""

import pytest

from commonsfed.services import accounts
from commonsfed.web.keys import POOL
from tests.builders import register_and_login
from tests.integration.own_postgres import own_cluster, own_postgres  # noqa: F401  (fixtures)
from tests.integration.remote import db, fed, keys, make_fed  # noqa: F401  (fixtures)
from tests.integration.sinks import sink, world  # noqa: F401  (fixtures)
from tests.integration.smtp import mail_node, smtp  # noqa: F401  (fixtures)


@pytest.fixture
def make_resident(make_client):
    """make_resident(name) -> a client (a browser of its own) logged in as a new resident."""

    async def make(name: str):
        client = await make_client()
        await register_and_login(client, name)
        return client

    return make


# --- the people of the administration tests: ada the admin, mo a moderator, rex a resident,
# each logged in with a browser of their own, on one node


@pytest.fixture
async def ada(make_resident):
    """The node's admin, logged in."""
    client = await make_resident("ada")
    await accounts.set_role(client.server.app[POOL], "ada", "admin")
    return client


@pytest.fixture
async def mo(make_resident, ada):
    """A moderator, logged in, whom ada appointed (the moderation log has the line)."""
    client = await make_resident("mo")
    pool = ada.server.app[POOL]
    admin = await accounts.get_by_username(pool, "ada")
    await accounts.set_role(pool, "mo", "moderator", by=admin)
    return client


@pytest.fixture
async def rex(make_resident, mo):
    """A resident with no role, logged in."""
    return await make_resident("rex")


@pytest.fixture
def pool(ada):
    """The admin's node's pool."""
    return ada.server.app[POOL]


# --- neighbours: alice, bob, carol and dan, each logged in with a browser of their own,
# registered in that order (a test that names carol has alice and bob too)


@pytest.fixture
async def alice(make_resident):
    return await make_resident("alice")


@pytest.fixture
async def bob(make_resident, alice):
    return await make_resident("bob")


@pytest.fixture
async def carol(make_resident, bob):
    return await make_resident("carol")


@pytest.fixture
async def dan(make_resident, carol):
    return await make_resident("dan")
