"""Fixtures the federation tests share: the Mastodon stand-in with north.test beside it
(test_mastodon_user.py), and north and south with residents answering across them
(test_answers_across_nodes.py)."""

from tests.federation.test_answers_across_nodes import network  # noqa: F401  (fixture)
from tests.federation.test_mastodon_user import mastodon, north  # noqa: F401  (fixtures)
