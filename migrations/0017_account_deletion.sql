-- A resident deletes their account (services/account_deletion.py).
--
-- The row stays as a tombstone, status 'deleted': its username is never given out again
-- (the unique index on lower(username) sees it), and its id still anchors what others keep
-- (history lines, portions claimed). Everything personal on it is erased, so the e-mail
-- address and the password hash may now be NULL, but only on a deleted account.
ALTER TABLE accounts
    ALTER COLUMN email DROP NOT NULL,
    ALTER COLUMN password_hash DROP NOT NULL,
    ADD CONSTRAINT accounts_erased_only_when_deleted
        CHECK (status = 'deleted' OR (email IS NOT NULL AND password_hash IS NOT NULL));

-- A deleted account keeps its key pair until its farewell (the Deletes of its listings and
-- of itself) has been delivered or given up, since deliveries are signed when they are
-- sent; the scheduled job then erases it, and looks only at these rows.
CREATE INDEX accounts_farewell_keys_idx ON accounts (id)
    WHERE status = 'deleted' AND private_key_pem IS NOT NULL;

-- A conversation whose other party deleted their account is closed: nobody writes in it
-- any more, and a system line in it says why.
ALTER TABLE conversations ADD COLUMN closed_at timestamptz;

-- Messages are written by a person, local or remote, or (kind 'system') by the node itself:
-- a line such as "@bob deleted their account", which has no sender.
ALTER TABLE messages
    ADD COLUMN kind text NOT NULL DEFAULT 'message' CHECK (kind IN ('message', 'system'));
ALTER TABLE messages DROP CONSTRAINT messages_check;
ALTER TABLE messages ADD CONSTRAINT messages_sender_check CHECK (
    CASE WHEN kind = 'system' THEN sender_account_id IS NULL AND sender_actor_uri IS NULL
         ELSE (sender_account_id IS NULL) <> (sender_actor_uri IS NULL) END);

-- "every message of one remote sender", when that sender deletes themselves
CREATE INDEX messages_sender_actor_idx ON messages (sender_actor_uri)
    WHERE sender_actor_uri IS NOT NULL;

-- a remote actor's conversations here, when that actor deletes themselves (Mastodon sends
-- such a Delete to every server that knew the account, so it comes often)
CREATE INDEX conversations_respondent_actor_idx ON conversations (respondent_actor_uri)
    WHERE respondent_actor_uri IS NOT NULL;
CREATE INDEX conversations_remote_author_idx ON conversations (remote_author_uri)
    WHERE remote_author_uri IS NOT NULL;
