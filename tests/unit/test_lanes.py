"""A host's turns: one delivery at a time, handed off to another connection when slow,
never more at once than the client allows a host; a batch's order for signing."""

from __future__ import annotations

import asyncio

from commonsfed.federation.lanes import Lane, round_robin


async def until_in_flight(lane: Lane, count: int, seconds: float = 5) -> bool:
    deadline = asyncio.get_running_loop().time() + seconds
    while lane.in_flight != count:
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.005)
    return True


async def test_lane__slow_turns_hand_off_until_most_are_in_flight():
    # Given six deliveries to a host that answers none of them
    lane = Lane(most=3, hand_off=0.01)
    answer = asyncio.Event()

    async def send() -> None:
        async with lane.turn():
            await answer.wait()

    sends = [asyncio.create_task(send()) for _ in range(6)]

    # When their turns come: each slow one hands off to the next
    assert await until_in_flight(lane, 3)
    await asyncio.sleep(0.1)  # ten hand-offs' time: the rest still wait

    # Then three are in flight and no more, and the rest go as answers come
    assert lane.in_flight == 3
    answer.set()
    await asyncio.gather(*sends)
    assert lane.in_flight == 0


async def test_lane__quick_turns_go_one_at_a_time():
    lane = Lane(most=3, hand_off=60)
    seen: list[int] = []

    async def send() -> None:
        async with lane.turn():
            seen.append(lane.in_flight)
            await asyncio.sleep(0)

    await asyncio.gather(*(send() for _ in range(5)))

    assert seen == [1, 1, 1, 1, 1]


def test_round_robin__the_first_of_every_host_first():
    assert round_robin([["a1", "a2", "a3"], ["b1"], ["c1", "c2"]]) == [
        "a1", "b1", "c1", "a2", "c2", "a3",
    ]  # fmt: skip
