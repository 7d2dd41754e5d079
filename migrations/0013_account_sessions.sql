-- Where a resident is logged in: one row per session, so they can see their sessions and
-- end them (and a password change ends all but the one that made it). The session cookie
-- carries a random token; only its SHA-256 is kept here, so the table alone logs no one in.
CREATE TABLE account_sessions (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_hash bytea NOT NULL UNIQUE,
    account_id bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    user_agent text NOT NULL DEFAULT '' CHECK (length(user_agent) <= 500),
    address text NOT NULL DEFAULT '' CHECK (length(address) <= 100),
    created_at timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX account_sessions_account_idx ON account_sessions (account_id, last_seen_at DESC);
CREATE INDEX account_sessions_seen_idx ON account_sessions (last_seen_at);
