-- OAuth's authorization codes, and the client API's reading positions (markers).

-- A code from the authorize page, exchanged once at /oauth/token for a token. Kept as a
-- SHA-256 like every secret; bound to what was authorised: the app, the resident, the
-- exact redirect_uri, the scopes and the PKCE challenge (S256, or none when the app sent
-- none). A used code keeps its row (used_at) so that a second use is known as such, and
-- the token it gave (token_id), which a second use ends: the code was seen by someone else.
CREATE TABLE oauth_codes (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code_hash bytea NOT NULL UNIQUE,
    app_id bigint NOT NULL REFERENCES oauth_apps (id) ON DELETE CASCADE,
    account_id bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    redirect_uri text NOT NULL,
    scopes text[] NOT NULL,
    code_challenge text,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at timestamptz,
    token_id bigint REFERENCES oauth_tokens (id) ON DELETE SET NULL
);

CREATE INDEX oauth_codes_expires_idx ON oauth_codes (expires_at);

-- Where a resident stopped reading a timeline (Mastodon's markers: home, notifications),
-- so that an app on another device starts there.
CREATE TABLE api_markers (
    account_id bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    timeline text NOT NULL CHECK (timeline IN ('home', 'notifications')),
    last_read_id text NOT NULL CHECK (length(last_read_id) BETWEEN 1 AND 40),
    version integer NOT NULL DEFAULT 1,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, timeline)
);
