-- The Mastodon client API: the apps residents authorise, their tokens, and the ids that the
-- API gives accounts and statuses.

-- An app registered with POST /api/v1/apps. Its secret is kept as a SHA-256, like every
-- token: what the database holds cannot be replayed.
CREATE TABLE oauth_apps (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_id text NOT NULL UNIQUE,
    client_secret_hash bytea NOT NULL,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    website text CHECK (length(website) <= 2000),
    -- exact strings, one of which a request's redirect_uri must equal
    redirect_uris text[] NOT NULL,
    scopes text[] NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- A bearer token: for a resident (an authorisation) or for the app alone (client
-- credentials, account_id NULL). A revoked token is deleted.
CREATE TABLE oauth_tokens (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_hash bytea NOT NULL UNIQUE,
    app_id bigint NOT NULL REFERENCES oauth_apps (id) ON DELETE CASCADE,
    account_id bigint REFERENCES accounts (id) ON DELETE CASCADE,
    scopes text[] NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz
);

-- a resident's authorised apps (settings), and their end with the account
CREATE INDEX oauth_tokens_account_idx ON oauth_tokens (account_id) WHERE account_id IS NOT NULL;
CREATE INDEX oauth_tokens_app_idx ON oauth_tokens (app_id);

-- Status ids as Mastodon makes them: the milliseconds of the moment in the high bits, a
-- sequence's low 16 bits below, so that ids sort by time (apps page timelines with
-- max_id/since_id and compare ids) and listings, remote objects and messages share one
-- space. A row keeps the id it was given.
CREATE SEQUENCE status_id_seq;

CREATE FUNCTION status_id(at timestamptz) RETURNS bigint
LANGUAGE sql VOLATILE AS $$
    SELECT ((extract(epoch FROM at) * 1000)::bigint << 16) | (nextval('status_id_seq') & 65535)
$$;

ALTER TABLE listings ADD COLUMN status_id bigint;
UPDATE listings SET status_id = status_id(created_at);
ALTER TABLE listings ALTER COLUMN status_id SET DEFAULT status_id(now()),
    ALTER COLUMN status_id SET NOT NULL;
CREATE UNIQUE INDEX listings_status_id_idx ON listings (status_id);

ALTER TABLE remote_objects ADD COLUMN status_id bigint;
-- by when the node received it, old or new: the order in which its residents could see it
UPDATE remote_objects SET status_id = status_id(received_at);
ALTER TABLE remote_objects ALTER COLUMN status_id SET DEFAULT status_id(now()),
    ALTER COLUMN status_id SET NOT NULL;
CREATE UNIQUE INDEX remote_objects_status_id_idx ON remote_objects (status_id);

ALTER TABLE messages ADD COLUMN status_id bigint;
UPDATE messages SET status_id = status_id(created_at);
ALTER TABLE messages ALTER COLUMN status_id SET DEFAULT status_id(now()),
    ALTER COLUMN status_id SET NOT NULL;
CREATE UNIQUE INDEX messages_status_id_idx ON messages (status_id);

-- Account ids: a resident's is their accounts.id; people on other servers and the node's
-- own actors draw theirs from a sequence that starts at 2^40, so the two never meet.
CREATE SEQUENCE api_account_id_seq START 1099511627776 MINVALUE 1099511627776;

ALTER TABLE remote_actors ADD COLUMN api_id bigint NOT NULL
    DEFAULT nextval('api_account_id_seq');
CREATE UNIQUE INDEX remote_actors_api_id_idx ON remote_actors (api_id);

ALTER TABLE node_actors ADD COLUMN api_id bigint NOT NULL
    DEFAULT nextval('api_account_id_seq');
CREATE UNIQUE INDEX node_actors_api_id_idx ON node_actors (api_id);
