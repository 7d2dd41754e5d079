"""Mastodon's scopes: what a token's scopes grant, and what an app may ask for."""

import pytest

from commonsfed.services.errors import ValidationError
from commonsfed.services.oauth import grants, read_scopes


@pytest.mark.parametrize(
    ("held", "needed", "granted"),
    [
        ({"read"}, "read:statuses", True),
        ({"read:statuses"}, "read:statuses", True),
        ({"read:accounts"}, "read:statuses", False),
        ({"write"}, "read:statuses", False),
        ({"follow"}, "write:follows", True),
        ({"follow"}, "read:blocks", True),
        ({"follow"}, "write:statuses", False),
        ({"admin:read"}, "admin:read:accounts", True),
        ({"read"}, "admin:read:accounts", False),
        ({"admin:write"}, "admin:read:accounts", False),
        ({"push"}, "push", True),
    ],
)
def test_grants__top_level_scopes_cover_their_granular_ones(held, needed, granted):
    assert grants(frozenset(held), needed) is granted


def test_read_scopes__space_or_plus_separated_without_repeats():
    assert read_scopes("read write+follow read") == ["read", "write", "follow"]


def test_read_scopes__none_means_read():
    assert read_scopes("") == ["read"]
    assert read_scopes(None) == ["read"]


def test_read_scopes__an_unknown_scope_is_refused_by_name():
    with pytest.raises(ValidationError) as error:
        read_scopes("read admin:everything")
    assert "admin:everything" in str(error.value)
