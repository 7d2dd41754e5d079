"""Queries for deleting a resident's account (services.account_deletion): who must hear of
it, what it wrote that goes, the erasure of the row itself, and of its key afterwards."""

from __future__ import annotations

import asyncpg


async def lock_active(conn: asyncpg.Connection, account_id: int, status: str = "active") -> bool:
    """Lock the account's row for the deletion; False when it is not active (deleted by a
    request that came first), or not in `status` ('suspended': a suspension run out). NO
    KEY UPDATE: rows that refer to the account (an answer written meanwhile) still take
    their key-share lock without waiting for us."""
    return (
        await conn.fetchval(
            "SELECT true FROM accounts WHERE id = $1 AND status = $2 FOR NO KEY UPDATE",
            account_id,
            status,
        )
        or False
    )


async def remote_partners(conn: asyncpg.Connection, account_id: int, actor_uri: str) -> list[str]:
    """Every actor other than the account that knows it by a follow (either way, pending
    too) or by a conversation (a respondent of its listings, the author of a listing it
    answered). Local ones are among them; a caller that wants remote ones filters."""
    rows = await conn.fetch(
        """
        SELECT follower_uri AS uri FROM follows WHERE followed_uri = $2
        UNION SELECT followed_uri FROM follows WHERE follower_uri = $2
        UNION SELECT c.respondent_actor_uri FROM conversations c
              JOIN listings l ON l.id = c.listing_id
              WHERE l.author_id = $1 AND c.respondent_actor_uri IS NOT NULL
        UNION SELECT remote_author_uri FROM conversations
              WHERE respondent_account_id = $1 AND remote_author_uri IS NOT NULL
        ORDER BY uri
        """,
        account_id,
        actor_uri,
    )
    return [row["uri"] for row in rows]


async def erase_activities(conn: asyncpg.Connection, actor_uri: str, object_uris: list[str]) -> int:
    """The activities that carry what the account wrote: its own (Offers, direct messages,
    Creates and Updates of its listings) and anyone's of `object_uris` (the Group's
    Announces of its listings, which embed them); their deliveries still waiting go with
    them. Deletes stay: they carry nothing but ids, and may still be on their way."""
    result = await conn.execute(
        """
        DELETE FROM activities
        WHERE type <> 'Delete' AND (actor_uri = $1 OR object_uri = ANY($2::text[]))
        """,
        actor_uri,
        object_uris,
    )
    return int(result.split()[-1])


async def open_pledges(conn: asyncpg.Connection, account_id: int) -> list[str]:
    """The uids of the open group purchases the account pledged towards."""
    rows = await conn.fetch(
        """
        SELECT l.uid FROM pledges p JOIN listings l ON l.id = p.listing_id
        WHERE p.account_id = $1 AND l.state = 'open' ORDER BY l.id
        """,
        account_id,
    )
    return [row["uid"] for row in rows]


async def forget_exports(conn: asyncpg.Connection, account_id: int) -> list[str]:
    """Its exports, made or being made; the archives' file names, to remove. A worker
    building one now finds its row gone and removes what it wrote (services.export)."""
    rows = await conn.fetch(
        "DELETE FROM exports WHERE account_id = $1 RETURNING filename", account_id
    )
    return [row["filename"] for row in rows if row["filename"]]


async def forget_links(conn: asyncpg.Connection, account_id: int, actor_uri: str) -> None:
    """Follows either way, blocks either way, its notifications and sessions."""
    await conn.execute(
        "DELETE FROM follows WHERE follower_uri = $1 OR followed_uri = $1", actor_uri
    )
    await conn.execute(
        "DELETE FROM actor_blocks WHERE blocker_uri = $1 OR blocked_uri = $1", actor_uri
    )
    await conn.execute("DELETE FROM notifications WHERE account_id = $1", account_id)
    await conn.execute("DELETE FROM account_sessions WHERE account_id = $1", account_id)


async def erase_personal_data(conn: asyncpg.Connection, account_id: int) -> None:
    """Mark the account deleted and erase everything personal on its row; what stays is
    the username (never given out again), the key pair (erased by `erase_spent_keys` once
    the farewell is delivered) and the dates the row was made, approved and deleted.

    Every personal column of `accounts` belongs in this one statement: a column added for
    the profile, the e-mail address or anything else about the person joins it here."""
    await conn.execute(
        """
        UPDATE accounts SET
            status = 'deleted', deleted_at = now(),
            email = NULL, password_hash = NULL, email_confirmed_at = NULL,
            mail_notifications = '{}',
            display_name = '', summary = '', area = '', avatar_filename = NULL,
            role = 'none', manually_approves_followers = false,
            last_seen_at = NULL, limited_at = NULL, suspended_at = NULL
        WHERE id = $1
        """,
        account_id,
    )
    await conn.execute("DELETE FROM profile_fields WHERE account_id = $1", account_id)
    # thanks they wrote and received (public words about and by the person; a remote
    # subject's node drops theirs on the Delete of the Person, federation.thanks)
    await conn.execute(
        "DELETE FROM thanks WHERE writer_account_id = $1 OR subject_account_id = $1", account_id
    )
    # their saved searches, their area and weekly digest (what they look for, and where)
    await conn.execute("DELETE FROM saved_searches WHERE account_id = $1", account_id)
    await conn.execute("DELETE FROM match_preferences WHERE account_id = $1", account_id)
    # the days it asked to borrow (services.loans): about the person, and they free the
    # lenders' calendars
    await conn.execute("DELETE FROM bookings WHERE borrower_account_id = $1", account_id)
    # what moderators told it (account_warnings): about the person, so it goes too
    await conn.execute("DELETE FROM account_warnings WHERE account_id = $1", account_id)
    # links mailed to it, and mail queued or sent to it (each holds its address)
    await conn.execute("DELETE FROM account_tokens WHERE account_id = $1", account_id)
    await conn.execute("DELETE FROM outgoing_mail WHERE account_id = $1", account_id)
    # the addresses that failed to log in as it
    await conn.execute(
        "DELETE FROM login_failures WHERE username = (SELECT username FROM accounts WHERE id = $1)",
        account_id,
    )


async def erase_spent_keys(conn: asyncpg.Connection, base_url: str) -> int:
    """Erase the key pairs of deleted accounts that no delivery waits for any more (each
    one done or given up: a delivery being sent right now is still pending). Returns how
    many were erased."""
    result = await conn.execute(
        """
        UPDATE accounts a SET private_key_pem = NULL, public_key_pem = NULL
        WHERE a.status = 'deleted' AND a.private_key_pem IS NOT NULL
          AND NOT EXISTS (
              SELECT 1 FROM deliveries d JOIN activities act ON act.uri = d.activity_uri
              WHERE d.state = 'pending' AND act.actor_uri = $1 || '/users/' || a.username
          )
        """,
        base_url,
    )
    return int(result.split()[-1])
