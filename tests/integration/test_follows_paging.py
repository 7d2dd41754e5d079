"""The follows page pages each of its lists on its own, 100 people at a time, newest first."""

from __future__ import annotations

import re

from commonsfed.web.keys import POOL

ALICE = "http://localhost/users/alice"
PERSON_RE = re.compile(r'<span class="person">@(\w+)@peer\.test</span>')


async def add_followers(pool, count: int, state: str, prefix: str) -> None:
    async with pool.acquire() as conn:
        for n in range(count):
            uri = f"https://peer.test/users/{prefix}{n:03d}"
            await conn.execute(
                "INSERT INTO remote_actors (uri, domain, type, preferred_username, inbox,"
                " key_id, public_key_pem, document) VALUES ($1, 'peer.test', 'Person', $2,"
                " $1 || '/inbox', $1 || '#main-key', '-', '{}')", uri, f"{prefix}{n:03d}")
            await conn.execute(
                "INSERT INTO follows (follower_uri, followed_uri, state) VALUES ($1, $2, $3)",
                uri, ALICE, state)


async def test_follows__followers_are_paged_and_requests_listed_apart(resident):
    pool = resident.server.app[POOL]
    await add_followers(pool, 130, "accepted", "f")
    await add_followers(pool, 3, "pending", "r")

    first = await (await resident.get("/follows")).text()
    names = PERSON_RE.findall(first)
    older = re.search(r'href="/follows\?followers_before=(\d+)" rel="next"', first)

    requests = [name for name in names if name.startswith("r")]
    followers = [name for name in names if name.startswith("f")]
    assert requests == ["r002", "r001", "r000"]
    assert followers == [f"f{n:03d}" for n in range(129, 29, -1)]  # the newest 100
    assert older is not None and "requests_before" not in first
    second = await (await resident.get(f"/follows?followers_before={older.group(1)}")).text()
    assert [n for n in PERSON_RE.findall(second) if n.startswith("f")] == [
        f"f{n:03d}" for n in range(29, -1, -1)]
    assert "followers_before" not in second


async def test_follows__a_bad_cursor_shows_the_first_page(resident):
    pool = resident.server.app[POOL]
    await add_followers(pool, 2, "accepted", "f")

    for cursor in ("abc", "-1", "9" * 40):
        page = await (await resident.get(f"/follows?followers_before={cursor}")).text()
        assert PERSON_RE.findall(page) == ["f001", "f000"]
