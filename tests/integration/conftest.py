"""Fixtures of the handler tests (see remote.py): a Federation on the test's database."""

from tests.integration.remote import db, fed, keys, make_fed  # noqa: F401  (fixtures)
