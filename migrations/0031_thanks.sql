-- Thanks: after a completed exchange, each side of the conversation may leave one short
-- public thanks to the other, shown on the thanked person's profile. One side of a thanks is
-- always a resident of this node: a writer here thanking someone (here or elsewhere), or a
-- remote writer thanking a resident here (received as a Note, see federation/thanks.py).
CREATE TABLE thanks (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    conversation_id bigint NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    writer_account_id bigint REFERENCES accounts (id) ON DELETE CASCADE,
    writer_actor_uri text CHECK (writer_actor_uri ~ '^https?://'),
    subject_account_id bigint REFERENCES accounts (id) ON DELETE CASCADE,
    subject_actor_uri text CHECK (subject_actor_uri ~ '^https?://'),
    body text NOT NULL CHECK (char_length(body) BETWEEN 1 AND 500),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz,
    -- the Note it travels as: ours for a local writer, the sender's for a remote one
    ap_id text NOT NULL UNIQUE,
    CHECK ((writer_account_id IS NULL) <> (writer_actor_uri IS NULL)),
    CHECK ((subject_account_id IS NULL) <> (subject_actor_uri IS NULL)),
    CHECK (writer_account_id IS NOT NULL OR subject_account_id IS NOT NULL),
    UNIQUE (conversation_id, writer_account_id),
    UNIQUE (conversation_id, writer_actor_uri)
);

-- a profile's thanks, newest first
CREATE INDEX thanks_subject_idx ON thanks (subject_account_id, created_at DESC, id DESC)
    WHERE subject_account_id IS NOT NULL;
