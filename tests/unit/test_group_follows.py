"""The Group's follow policy as a setting, and what the admin page reads of another node's
NodeInfo (which the other node writes as it likes)."""

from __future__ import annotations

import pytest

from commonsfed.config import ConfigError, load_settings
from commonsfed.federation.fetch import FetchError
from commonsfed.federation.nodeinfo import NodeSummary, nodeinfo_href, summary_from_nodeinfo


def test_group_follows__auto_unless_set():
    assert load_settings({}, {"dev": True}).group_follows == "auto"
    assert load_settings({"COMMONSFED_GROUP_FOLLOWS": "Manual"}, {"dev": True}).group_follows \
        == "manual"
    assert load_settings({"COMMONSFED_GROUP_FOLLOWS": "manual"},
                         {"dev": True, "group_follows": "auto"}).group_follows == "auto"


def test_group_follows__a_bad_value_names_the_setting():
    with pytest.raises(ConfigError) as error:
        load_settings({"COMMONSFED_GROUP_FOLLOWS": "sometimes"}, {"dev": True})

    assert error.value.setting == "COMMONSFED_GROUP_FOLLOWS"
    assert "must be one of auto, manual" in str(error.value)


def test_summary_from_nodeinfo__mastodons_shape():
    document = {
        "version": "2.0", "software": {"name": "mastodon", "version": "4.3.2"},
        "usage": {"users": {"total": 1234, "activeMonth": 200}},
        "metadata": {"nodeName": "Elm Street Social", "nodeDescription": "Our street's server."},
    }  # fmt: skip

    assert summary_from_nodeinfo(document) == NodeSummary(
        "Elm Street Social", "Our street's server.", "mastodon 4.3.2", 1234)


@pytest.mark.parametrize("document", [
    {},
    {"metadata": "x", "software": [], "usage": {"users": 5}},
    {"usage": {"users": {"total": True}}},
    {"usage": {"users": {"total": -1}}},
    {"usage": {"users": {"total": "12"}}},
    {"metadata": {"nodeName": 7, "nodeDescription": ["a"]}},
])  # fmt: skip
def test_summary_from_nodeinfo__what_is_not_as_expected_is_left_out(document):
    assert summary_from_nodeinfo(document) == NodeSummary("", "", "", None)


def test_summary_from_nodeinfo__long_text_is_cut():
    summary = summary_from_nodeinfo({"metadata": {"nodeName": "n" * 10_000,
                                                  "nodeDescription": "d" * 10_000}})

    assert len(summary.name) == 2000 and len(summary.description) == 2000


def test_nodeinfo_href__only_on_the_nodes_own_domain():
    links = {"links": [
        {"rel": "http://nodeinfo.diaspora.software/ns/schema/2.1",
         "href": "http://169.254.169.254/nodeinfo/2.1"},
        {"rel": "http://nodeinfo.diaspora.software/ns/schema/2.0",
         "href": "http://south.test/nodeinfo/2.0"},
    ]}  # fmt: skip

    assert nodeinfo_href(links, "south.test") == "http://south.test/nodeinfo/2.0"
    with pytest.raises(FetchError):
        nodeinfo_href(links, "north.test")
