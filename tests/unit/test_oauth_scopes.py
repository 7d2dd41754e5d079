"""Mastodon's scopes: what a token's scopes grant, and what an app may ask for."""

import pytest

from commonsfed.i18n import localize
from commonsfed.services.errors import ValidationError
from commonsfed.services.oauth import ALL_SCOPES, grants, read_scopes, scope_words


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


@pytest.mark.parametrize("scope", sorted(ALL_SCOPES))
def test_scope_words__every_scope_is_a_whole_sentence_in_each_language(scope):
    words = scope_words(scope)
    assert words and words != scope
    if not scope.startswith("admin:"):
        # a sentence of its own, not English nouns set into a French frame
        assert localize("fr", words) != localize("en", words)


def test_scope_words__a_scope_the_node_does_not_grant_shows_as_asked():
    assert scope_words("read:everything") == "read:everything"
