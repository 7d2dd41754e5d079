"""Fixtures shared by the integration tests: residents with browsers of their own; a
Federation on the test's database for the handler tests (remote.py); and a node that
delivers to a peer we do not run, for the delivery tests (sinks.py); and an SMTP server on
loopback with a node that mails through it, for the mail tests (smtp.py)."""

import pytest

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
