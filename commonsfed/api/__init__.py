"""The Mastodon client API, OAuth and streaming: thin JSON handlers beside web/, calling the
same services. Entities are built in api/entities.py; requests are authenticated by bearer
token only (never by the web session's cookie), which is why they need no CSRF token."""
