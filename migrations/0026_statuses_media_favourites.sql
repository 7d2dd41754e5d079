-- Statuses written by apps (the client API): photos uploaded before the status that uses
-- them, favourites (Likes) with ids of their own for paging, bookmarks, and the
-- Idempotency-Key of a posted status.

-- A photo an app uploaded (POST /api/v2/media), already through the photo pipeline and
-- written under media/; it waits for the status that attaches it, and goes with its file
-- after a day if none does (services.jobs). Once attached it belongs to the listing, whose
-- removal takes this row with it (the listing's photos' files go with the listing).
CREATE TABLE media_uploads (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    filename text NOT NULL UNIQUE,
    alt text NOT NULL DEFAULT '' CHECK (length(alt) <= 500),
    width integer NOT NULL CHECK (width > 0),
    height integer NOT NULL CHECK (height > 0),
    listing_id bigint REFERENCES listings (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX media_uploads_account_idx ON media_uploads (account_id, id);
CREATE INDEX media_uploads_unattached_idx ON media_uploads (created_at) WHERE listing_id IS NULL;

-- Likes: a resident's favourites (sent) and other people's (received) share the reactions
-- table; an id of their own pages GET /api/v1/favourites by when each was given, as
-- Mastodon pages it.
ALTER TABLE reactions ADD COLUMN id bigint GENERATED ALWAYS AS IDENTITY;
CREATE UNIQUE INDEX reactions_id_idx ON reactions (id);
CREATE INDEX reactions_actor_idx ON reactions (actor_uri, kind, id);

-- A resident's bookmarks: statuses (listings here or elsewhere) kept for later, never
-- federated.
CREATE TABLE bookmarks (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    status_id bigint NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (account_id, status_id)
);

CREATE INDEX bookmarks_account_idx ON bookmarks (account_id, id);

-- Idempotency-Key: an app that retries a post it is not sure went through gets the status
-- it made, for an hour, as Mastodon keeps them.
CREATE TABLE status_idempotency (
    account_id bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    key text NOT NULL CHECK (length(key) BETWEEN 1 AND 200),
    status_id bigint NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, key)
);

-- A favourite of a resident's listing, local or from another server, notifies them: the
-- liker in actor_uri, the listing in listing_id (which satisfies notifications_about_something).
ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_kind_check CHECK (kind IN (
    'new_answer', 'new_message', 'reserved_for_you', 'offered_to_you',
    'reservation_released', 'declined', 'completed', 'withdrawn', 'near_expiry', 'mention',
    'moderation', 'moderation_warning', 'favourite'));
CREATE INDEX notifications_favourite_idx ON notifications (listing_id, actor_uri)
    WHERE kind = 'favourite';
