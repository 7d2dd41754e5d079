-- A resident's exports: one archive of their account (profile, listings with photos,
-- answers, conversations, their ActivityPub actor and outbox), built by the workers and kept
-- for a week to download. A queue like the others (see federation/claims.py): a lease kept
-- by a heartbeat while an archive is built, and a claim token that fences.
CREATE TABLE exports (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'failed')),
    filename text UNIQUE CHECK (filename ~ '^[A-Za-z0-9_-]{22}\.zip$'),
    size bigint CHECK (size >= 0),
    attempts integer NOT NULL DEFAULT 0,
    next_try_at timestamptz NOT NULL DEFAULT now(),
    locked_until timestamptz,
    claim bigint,
    error text,
    created_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz
);

CREATE INDEX exports_account_idx ON exports (account_id, created_at DESC);
-- one archive in the making per resident, however often they press the button
CREATE UNIQUE INDEX exports_one_pending_idx ON exports (account_id) WHERE state = 'pending';
CREATE INDEX exports_due_idx ON exports (next_try_at) WHERE state = 'pending';
