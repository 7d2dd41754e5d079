"""The Flag activity: what a forwarded report says, and what is read from one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from commonsfed.ap.reports import MAX_FLAG_OBJECTS, FlagError, flag_from_ap, flag_to_ap

DATA = Path(__file__).parent.parent / "data"
BAD = "https://south.example/users/bad"


def test_flag_to_ap__mastodons_shape_from_the_instance_actor_without_the_reporter():
    flag = flag_to_ap(
        "https://north.example/activities/1", "https://north.example/actor", BAD,
        [BAD, "https://south.example/listings/9", "https://north.example/users/reporter",
         "https://east.example/notes/3"],
        "Scam",
    )  # fmt: skip

    assert flag == {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": "https://north.example/activities/1",
        "type": "Flag",
        "actor": "https://north.example/actor",
        "content": "Scam",
        "object": [BAD, "https://south.example/listings/9"],  # theirs only
    }


def test_flag_from_ap__reads_mastodons_flag():
    flag = flag_from_ap(json.loads((DATA / "mastodon_flag.json").read_text()))

    assert flag.objects == ["https://north.test/users/alice",
                            "https://north.test/listings/01HX3Q9Z8K2M4N6P8R0T2V4X6Z"]  # fmt: skip
    assert flag.content.startswith("Asks for a deposit")


@pytest.mark.parametrize("objects, message", [
    ([], "names nothing"),
    (["not a uri", 3], "names nothing"),
    ([f"https://x.example/{n}" for n in range(MAX_FLAG_OBJECTS + 1)], "at most 100"),
])  # fmt: skip
def test_flag_from_ap__a_flag_naming_nothing_or_too_much_is_refused(objects, message):
    with pytest.raises(FlagError, match=message):
        flag_from_ap({"type": "Flag", "object": objects})
