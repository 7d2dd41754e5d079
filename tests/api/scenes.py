"""Scenes for the notifications and conversations tests: residents with a browser and a
token each, a listing, answers written on the web, and the same across two nodes."""

from __future__ import annotations

from dataclasses import dataclass

from yarl import URL

from commonsfed.db import accounts as accounts_q
from commonsfed.models import Account
from commonsfed.services import accounts, answers, follows, listings
from commonsfed.web.keys import POOL, SETTINGS
from tests.api.conftest import bearer, token_for
from tests.builders import DEFAULT_PASSWORD, post_form, post_listing, register_and_login
from tests.nodes import settle


@dataclass
class Person:
    name: str
    browser: object  # a test client logged in as them
    token: str

    async def get(self, path: str, **kwargs):
        return await self.browser.get(path, headers=bearer(self.token), **kwargs)

    async def post(self, path: str, **kwargs):
        return await self.browser.post(path, headers=bearer(self.token), **kwargs)

    async def delete(self, path: str):
        return await self.browser.delete(path, headers=bearer(self.token))

    async def json(self, path: str, **kwargs):
        response = await self.get(path, **kwargs)
        assert response.status == 200, await response.text()
        return await response.json()

    async def account(self) -> Account:
        async with self.browser.app[POOL].acquire() as conn:
            return await accounts_q.get_by_username(conn, self.name)


async def people(make_client, *names: str) -> list[Person]:
    """A resident for each name, each with a browser of their own and a token."""
    found = []
    for name in names:
        browser = await make_client()
        await register_and_login(browser, name)
        found.append(Person(name, browser, await token_for(browser.app, name)))
    return found


async def listing(person: Person, title: str) -> str:
    """`person` posts an offer on the web; its uid."""
    response = await post_listing(person.browser, {"title": title})
    assert response.status == 303, await response.text()
    return URL(response.headers["Location"]).path.rpartition("/")[2]


async def answer(person: Person, uid: str, message: str) -> int:
    """`person` answers the listing `uid` on the web; the conversation's id."""
    response = await post_form(person.browser, f"/listings/{uid}/answers", {"message": message},
                               form_path=f"/listings/{uid}/answers", allow_redirects=False)  # fmt: skip
    assert response.status == 303, await response.text()
    return int(response.headers["Location"].rsplit("/", 1)[1])


async def reply(person: Person, conversation_id: int, message: str) -> None:
    app = person.browser.app
    await answers.reply(app[POOL], app[SETTINGS], await person.account(), conversation_id,
                        message)  # fmt: skip


async def status_of_message(person: Person, body: str) -> int:
    return await person.browser.app[POOL].fetchval(
        "SELECT status_id FROM messages WHERE body = $1", body
    )


async def status_of_listing(person: Person, uid: str) -> int:
    return await person.browser.app[POOL].fetchval(
        "SELECT status_id FROM listings WHERE uid = $1", uid
    )


# --- two nodes -------------------------------------------------------------------------------


@dataclass
class Network:
    north: object
    south: object
    alice: Account  # on north
    bob: Account  # on south
    uid: str  # alice's listing


async def network(start_nodes) -> Network:
    """north and south, south's neighbourhood following north's; alice on north with a
    listing that south has; bob on south."""
    north, south = await start_nodes(2)
    await follows.federate(south.federation, "north.test")
    await settle(north, south)
    alice = await accounts.register(
        north.federation.pool, north.settings, username="alice", email="alice@example.org",
        password=DEFAULT_PASSWORD, by_admin=True)  # fmt: skip
    bob = await accounts.register(
        south.federation.pool, south.settings, username="bob", email="bob@example.org",
        password=DEFAULT_PASSWORD, by_admin=True)  # fmt: skip
    drill = await listings.create_listing(
        north.federation.pool, north.settings, alice,
        {"purpose": "offer", "kind": "lend", "title": "Cordless drill", "category": "tools",
         "place": "Elm Street", "loan_days": "7"}, [])  # fmt: skip
    await settle(north, south)
    return Network(north, south, alice, bob, drill.uid)


async def node_get(node, token: str, path: str):
    response = await node.client.get(path, headers=bearer(token))
    assert response.status == 200, await response.text()
    return response, await response.json()
