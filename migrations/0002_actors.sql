-- ActivityPub identity: keys for residents and for the node's own actors, the cache of
-- remote actors, follows, and the activities each local actor published.

ALTER TABLE accounts
    ADD COLUMN private_key_pem text,
    ADD COLUMN public_key_pem text,
    ADD COLUMN summary text NOT NULL DEFAULT '',
    ADD COLUMN last_seen_at timestamptz,
    ADD COLUMN deleted_at timestamptz;

ALTER TABLE accounts DROP CONSTRAINT accounts_status_check;
ALTER TABLE accounts ADD CONSTRAINT accounts_status_check
    CHECK (status IN ('pending', 'active', 'suspended', 'deleted'));

-- the instance actor ('instance', an Application at /actor) and the neighbourhood ('group')
CREATE TABLE node_actors (
    role text PRIMARY KEY CHECK (role IN ('instance', 'group')),
    private_key_pem text NOT NULL,
    public_key_pem text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE remote_actors (
    uri text PRIMARY KEY,
    domain text NOT NULL,
    type text NOT NULL,
    preferred_username text,
    name text,
    inbox text NOT NULL,
    shared_inbox text,
    followers text,
    key_id text NOT NULL,
    public_key_pem text NOT NULL,
    document jsonb NOT NULL,
    fetched_at timestamptz NOT NULL DEFAULT now()
);

CREATE UNIQUE INDEX remote_actors_key_id_key ON remote_actors (key_id);
CREATE INDEX remote_actors_handle_idx ON remote_actors (lower(preferred_username), domain);

-- who follows whom, local and remote alike, by actor URI
CREATE TABLE follows (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    follower_uri text NOT NULL,
    followed_uri text NOT NULL,
    state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'accepted')),
    activity_id text,
    created_at timestamptz NOT NULL DEFAULT now(),
    accepted_at timestamptz,
    UNIQUE (follower_uri, followed_uri)
);

CREATE INDEX follows_followed_idx ON follows (followed_uri, state, id);
CREATE INDEX follows_follower_idx ON follows (follower_uri, state, id);

-- activities published by local actors: the outboxes
CREATE TABLE activities (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    uri text NOT NULL UNIQUE,
    actor_uri text NOT NULL,
    type text NOT NULL,
    object_uri text,
    public boolean NOT NULL DEFAULT false,
    document jsonb NOT NULL,
    published_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX activities_outbox_idx ON activities (actor_uri, id) WHERE public;
