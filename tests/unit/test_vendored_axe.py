"""The vendored axe-core (`make vendor-axe`) is the version the Makefile pins, whole, with
its licence; and a walk's failure names each rule broken and each element that breaks it."""

from __future__ import annotations

import re
from pathlib import Path

from tests.browser.axe import AXE_DIR, AXE_SOURCE, describe

ROOT = Path(__file__).resolve().parents[2]


def test_vendored_axe__is_the_pinned_version_with_its_licence():
    pinned = re.search(r"^AXE := (\S+)$", (ROOT / "Makefile").read_text(), re.M).group(1)
    assert (AXE_DIR / "VERSION").read_text().strip() == pinned
    assert AXE_SOURCE.startswith(f"/*! axe v{pinned}")
    assert "Mozilla Public License" in (AXE_DIR / "LICENSE").read_text()
    assert len(AXE_SOURCE) > 100_000  # the whole engine, not a pointer or a stub


def test_describe__names_each_rule_its_help_and_each_offending_element():
    found = [{"id": "image-alt", "impact": "critical", "help": "Images must have alternate text",
              "nodes": [{"target": "main img.thumb", "summary": "Fix any of the following:\n"
                         "  Element does not have an alt attribute"},
                        {"target": "#photos > img", "summary": ""}]}]  # fmt: skip

    message = describe("alice on /explore", found)

    assert message.splitlines()[:3] == [
        "alice on /explore: 1 accessibility violation(s)",
        "  image-alt (critical): Images must have alternate text",
        "    - main img.thumb",
    ]
    assert "Element does not have an alt attribute" in message
    assert "    - #photos > img" in message
