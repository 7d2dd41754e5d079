-- The federation engine: durable inbox and delivery queues, hosts that fail, domain
-- policy, and what remote actors tell us (objects, likes, announces, reports, blocks).

-- every verified activity that reached an inbox, stored once, handled by a worker
CREATE TABLE inbox_items (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    activity_id text NOT NULL UNIQUE,
    actor_uri text NOT NULL,
    activity jsonb NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    state text NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'done', 'unhandled', 'failed')),
    attempts integer NOT NULL DEFAULT 0,
    next_try_at timestamptz NOT NULL DEFAULT now(),
    locked_until timestamptz,
    handled_at timestamptz,
    error text
);

CREATE INDEX inbox_items_due_idx ON inbox_items (next_try_at, id) WHERE state = 'pending';
CREATE INDEX inbox_items_state_idx ON inbox_items (state) WHERE state <> 'done';

-- one row per (activity, inbox): what the delivery workers send
CREATE TABLE deliveries (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    activity_uri text NOT NULL REFERENCES activities (uri) ON DELETE CASCADE,
    inbox text NOT NULL,
    host text NOT NULL,
    state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'failed')),
    attempts integer NOT NULL DEFAULT 0,
    next_try_at timestamptz NOT NULL DEFAULT now(),
    locked_until timestamptz,
    last_status integer,
    last_error text,
    created_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    UNIQUE (activity_uri, inbox)
);

CREATE INDEX deliveries_due_idx ON deliveries (next_try_at, id) WHERE state = 'pending';
CREATE INDEX deliveries_host_idx ON deliveries (host, state);

-- hosts whose deliveries keep failing are parked for a while and probed, not hammered
CREATE TABLE hosts (
    host text PRIMARY KEY,
    consecutive_failures integer NOT NULL DEFAULT 0,
    failing_since timestamptz,
    parked_until timestamptz,
    last_success_at timestamptz,
    last_error text
);

-- the admin's decisions: 'block' in open federation, 'allow' in allow-list federation
CREATE TABLE domain_policies (
    domain text PRIMARY KEY,
    policy text NOT NULL CHECK (policy IN ('block', 'allow')),
    note text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now()
);

-- notes and listings from other servers
CREATE TABLE remote_objects (
    uri text PRIMARY KEY,
    type text NOT NULL,
    attributed_to text NOT NULL,
    domain text NOT NULL,
    in_reply_to text,
    is_listing boolean NOT NULL DEFAULT false,
    document jsonb NOT NULL,
    published_at timestamptz,
    updated_at timestamptz,
    received_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX remote_objects_author_idx ON remote_objects (attributed_to);
CREATE INDEX remote_objects_reply_idx ON remote_objects (in_reply_to) WHERE in_reply_to IS NOT NULL;

-- ids deleted before (or after) we saw them: a late Create of one of these is ignored
CREATE TABLE tombstones (
    uri text PRIMARY KEY,
    actor_uri text NOT NULL,
    deleted_at timestamptz NOT NULL DEFAULT now()
);

-- Likes and Announces of local or remote objects
CREATE TABLE reactions (
    activity_uri text PRIMARY KEY,
    kind text NOT NULL CHECK (kind IN ('Like', 'Announce')),
    actor_uri text NOT NULL,
    object_uri text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (kind, actor_uri, object_uri)
);

CREATE INDEX reactions_object_idx ON reactions (object_uri, kind);

-- Flags, for the admins
CREATE TABLE reports (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    activity_uri text NOT NULL UNIQUE,
    reporter_uri text NOT NULL,
    target_uris text[] NOT NULL,
    content text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    resolved_at timestamptz
);

-- a remote actor blocked a local one (or the other way round)
CREATE TABLE actor_blocks (
    blocker_uri text NOT NULL,
    blocked_uri text NOT NULL,
    activity_uri text,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (blocker_uri, blocked_uri)
);

-- a resident who approves each follower by hand (Mastodon's "locked" account)
ALTER TABLE accounts ADD COLUMN manually_approves_followers boolean NOT NULL DEFAULT false;
