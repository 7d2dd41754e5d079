"""commonsfed: neighbourhood sharing economies on ActivityPub."""

__version__ = "0.1.0"
