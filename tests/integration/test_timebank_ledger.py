"""The time bank's ledger on a real PostgreSQL: double entry (every transfer two entries, the
node's accounts summing to zero), the node's limits, and transfers racing over separate
connections."""

from __future__ import annotations

import asyncio
import random
from dataclasses import replace
from decimal import Decimal

import asyncpg
import pytest

from commonsfed.db import timebank as q
from commonsfed.db.pool import create_pool
from commonsfed.services import accounts, timebank
from commonsfed.services.errors import ValidationError
from commonsfed.services.timebank import Limits, Transfer, TransferRefused
from tests.builders import DEFAULT_PASSWORD


@pytest.fixture
async def pool(settings):
    pool = await create_pool(settings.database_url, max_size=20)
    yield pool
    await pool.close()


async def residents(pool, settings, *names):
    made = []
    for name in names:
        made.append(await accounts.register(
            pool, settings, username=name, email=f"{name}@example.org",
            password=DEFAULT_PASSWORD, by_admin=True,
        ))  # fmt: skip
    return made


async def ledger(pool) -> tuple[Decimal, list[tuple[Decimal, Decimal]], int, int]:
    """The sum of every balance, each account's (balance, sum of its entries), and the
    number of transfers and of entries."""
    total = await pool.fetchval("SELECT coalesce(sum(balance), 0) FROM hours_accounts")
    rows = await pool.fetch("""
        SELECT a.balance, coalesce(sum(e.amount), 0) AS entries FROM hours_accounts a
        LEFT JOIN hours_entries e ON e.hours_account_id = a.id GROUP BY a.id
    """)  # fmt: skip
    transfers = await pool.fetchval("SELECT count(*) FROM hours_transfers")
    entries = await pool.fetchval("SELECT count(*) FROM hours_entries")
    return total, [(r["balance"], r["entries"]) for r in rows], transfers, entries


async def test_ledger__sums_to_zero_after_many_transfers(pool, settings):
    people = await residents(pool, settings, "ann", "ben", "cat", "dev", "eve")
    rng = random.Random(15)
    refused = 0
    for _ in range(120):
        payer, payee = rng.sample(people, 2)
        hours = Decimal(rng.choice(["0.25", "1", "1.5", "3", "7.75"]))
        try:
            await timebank.transfer_between(pool, settings, payer, payee, hours)
        except TransferRefused:
            refused += 1

    total, balances, transfers, entries = await ledger(pool)
    assert total == 0
    assert all(balance == summed for balance, summed in balances)
    assert entries == 2 * transfers and transfers + refused == 120
    assert all(-20 <= balance <= 40 for balance, _ in balances)


async def test_ledger__a_transfer_past_the_limit_is_refused_with_nothing_applied(pool, settings):
    ann, ben = await residents(pool, settings, "ann", "ben")
    await timebank.transfer_between(pool, settings, ann, ben, Decimal(18))

    with pytest.raises(TransferRefused) as refused:
        await timebank.transfer_between(pool, settings, ann, ben, Decimal("2.5"))

    assert str(refused.value) == (
        "Refused: @ann would owe more than 20 hours (the balance is -18.00 hours). "
        "Nothing was moved."
    )
    assert await timebank.balance(pool, ann.id) == -18
    assert await timebank.balance(pool, ben.id) == 18
    assert (await ledger(pool))[2:] == (1, 2)


async def test_ledger__the_highest_balance_is_a_limit_too(pool, settings):
    ann, ben, cat, dev = await residents(pool, settings, "ann", "ben", "cat", "dev")
    await timebank.transfer_between(pool, settings, ann, cat, Decimal(20))
    await timebank.transfer_between(pool, settings, ben, cat, Decimal(20))

    with pytest.raises(TransferRefused, match="@cat would hold more than 40 hours"):
        await timebank.transfer_between(pool, settings, dev, cat, Decimal("0.25"))
    tighter = replace(settings, hours_min=-10)
    with pytest.raises(TransferRefused, match="@ann would owe more than 10 hours"):
        await timebank.transfer_between(pool, tighter, ann, ben, Decimal(1))
    # a balance past a tightened limit may still move back towards it
    await timebank.transfer_between(pool, tighter, cat, ann, Decimal(1))
    assert await timebank.balance(pool, ann.id) == -19


def test_parse_hours__refuses_what_is_not_a_number_of_hours():
    assert timebank.parse_hours("1,5") == Decimal("1.5")
    for bad in ("", "0", "-1", "abc", "NaN", "Infinity", "1.255", "101", "1e3"):
        with pytest.raises(ValidationError):
            timebank.parse_hours(bad)


async def _hold_then_post(pool, limits: Limits, first: Transfer, second: Transfer):
    """The first transfer checks its limits and holds its locks; the second starts on a
    connection of its own; only once PostgreSQL shows it waiting for a lock does the
    first commit. The second's outcome."""
    async with pool.acquire() as conn, conn.transaction():
        posting = await timebank.check(conn, limits, first)
        waiting = asyncio.create_task(_alone(pool, limits, second))
        await _until_waiting_for_a_lock(pool, waiting)
        await q.post(conn, posting)
    return await asyncio.gather(waiting, return_exceptions=True)


async def _alone(pool, limits, t: Transfer):
    async with pool.acquire() as conn, conn.transaction():
        return await timebank.transfer(conn, limits, t)


async def _until_waiting_for_a_lock(pool, task, deadline: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline
    while loop.time() < end:
        if task.done():
            pytest.fail(f"the second transfer did not wait for the first: {task.result()!r}")
        waiting = await pool.fetchval("""
            SELECT count(*) FROM pg_stat_activity
            WHERE datname = current_database() AND wait_event_type = 'Lock'
        """)  # fmt: skip
        if waiting:
            return
        await asyncio.sleep(0.01)  # polling PostgreSQL's view, not waiting for a worker
    pytest.fail("the second transfer never waited for a lock")


async def test_ledger__a_second_transfer_waits_and_sees_the_first(pool, settings):
    ann, ben, cat = await residents(pool, settings, "ann", "ben", "cat")
    async with pool.acquire() as conn:
        a, b, c = [await q.resident_account(conn, p.id) for p in (ann, ben, cat)]
    limits = Limits.of(settings)
    await timebank.transfer_between(pool, settings, ann, cat, Decimal(15))

    outcome = await _hold_then_post(
        pool, limits, Transfer(a, b, Decimal(4), "exchange", "@ann", "@ben"),
        Transfer(a, c, Decimal(4), "exchange", "@ann", "@cat"),
    )  # fmt: skip

    assert isinstance(outcome[0], TransferRefused), outcome
    assert await timebank.balance(pool, ann.id) == -19
    assert (await ledger(pool))[0] == 0


async def test_ledger__racing_pairs_of_transfers_exactly_one_of_each_applies(pool, settings):
    """Ten payers at -15 each send two transfers of 4 hours at once, over separate
    connections: each pair would together pass -20, so exactly one of each applies."""
    settings = replace(settings, hours_max=1000)  # the payees may hold what they get
    payers = await residents(pool, settings, *[f"payer{i}" for i in range(10)])
    ben, cat = await residents(pool, settings, "ben", "cat")
    sink = await residents(pool, settings, "sink")
    for payer in payers:
        await timebank.transfer_between(pool, settings, payer, sink[0], Decimal(15))

    async def send(payer, payee):
        try:
            return await timebank.transfer_between(pool, settings, payer, payee, Decimal(4))
        except TransferRefused as exc:
            return exc

    outcomes = await asyncio.gather(*[send(p, payee) for p in payers for payee in (ben, cat)])

    applied = [o for o in outcomes if isinstance(o, int)]
    assert len(applied) == len(payers)
    for payer in payers:
        assert await timebank.balance(pool, payer.id) == -19
    assert (await ledger(pool))[0] == 0


async def test_ledger__a_transfer_not_balanced_is_refused_at_commit(pool, settings):
    """Whatever code writes the ledger, PostgreSQL refuses a transfer that is not two
    entries summing to zero."""
    ann, ben = await residents(pool, settings, "ann", "ben")
    async with pool.acquire() as conn:
        a, b = [await q.resident_account(conn, p.id) for p in (ann, ben)]
        with pytest.raises(asyncpg.CheckViolationError, match="not two entries"):
            async with conn.transaction():
                transfer_id = await conn.fetchval("""
                    INSERT INTO hours_transfers (from_account, to_account, hours, reason)
                    VALUES ($1, $2, 2, 'exchange') RETURNING id
                """, a, b)  # fmt: skip
                await conn.execute("""
                    INSERT INTO hours_entries (transfer_id, hours_account_id, amount,
                                               balance_after)
                    VALUES ($1, $2, -2, -2), ($1, $3, 1, 1)
                """, transfer_id, a, b)  # fmt: skip
    assert (await ledger(pool))[2:] == (0, 0)
