-- Matches and alerts: a new listing finds the open listings of the other side that match it
-- (a request its offers, an offer its requests), residents save searches and hear of new
-- listings that match them, and a weekly digest mails the new listings near a resident.

-- Trigram similarity of titles ranks the matches ("Cordless drill" before "Drill bits"
-- for "cordless drill"), beside full text ranking of 0005's `search` column. PostgreSQL
-- ships pg_trgm in its contrib modules, but the embedded PostgreSQL of the `pgserver`
-- package (0.1.4) has none of them: there, matches rank by words alone (db.matching asks
-- which it has).
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm') THEN
        CREATE EXTENSION IF NOT EXISTS pg_trgm;
    END IF;
END $$;

-- The open listings of one category, kind and purpose: a match's candidates, whose words
-- are then checked (0005's GIN on `search` is no narrower for a common word).
CREATE INDEX listings_match_idx ON listings (category, kind, purpose) WHERE state = 'open';

-- What matched a listing here, for its author's page: another listing here, or one from a
-- federated neighbourhood (remote_objects.uri; not a foreign key, as the cache may be pruned
-- while this stays). Both sides of a local match have a row, so each author sees the other.
CREATE TABLE listing_matches (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    listing_id bigint NOT NULL REFERENCES listings (id) ON DELETE CASCADE,
    matched_id bigint REFERENCES listings (id) ON DELETE CASCADE,
    matched_uri text CHECK (matched_uri ~ '^https?://' AND length(matched_uri) <= 2048),
    matched_title text NOT NULL DEFAULT '' CHECK (length(matched_title) <= 200),
    score real NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((matched_id IS NULL) <> (matched_uri IS NULL))
);
CREATE UNIQUE INDEX listing_matches_local_key ON listing_matches (listing_id, matched_id)
    WHERE matched_id IS NOT NULL;
CREATE UNIQUE INDEX listing_matches_remote_key ON listing_matches (listing_id, matched_uri)
    WHERE matched_uri IS NOT NULL;
-- a listing removed takes the rows that name it (ON DELETE CASCADE reads this index)
CREATE INDEX listing_matches_matched_idx ON listing_matches (matched_id)
    WHERE matched_id IS NOT NULL;

-- A resident's saved searches: /explore's filters, kept. Empty arrays: any kind, any
-- category; no centre: anywhere.
CREATE TABLE saved_searches (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    words text NOT NULL DEFAULT '' CHECK (length(words) <= 200),
    -- read once here rather than for every new listing; as /explore reads its words
    query tsquery GENERATED ALWAYS AS (websearch_to_tsquery('simple'::regconfig, words)) STORED,
    purpose text CHECK (purpose IN ('offer', 'request')),
    kinds text[] NOT NULL DEFAULT '{}' CHECK (kinds <@ '{give,lend,swap,service,ride,stay,group_purchase,pay_it_forward,shared}'),
    categories text[] NOT NULL DEFAULT '{}' CHECK (cardinality(categories) <= 20),
    latitude double precision CHECK (latitude BETWEEN -90 AND 90),
    longitude double precision CHECK (longitude BETWEEN -180 AND 180),
    km real CHECK (km > 0 AND km <= 100),
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((latitude IS NULL) = (longitude IS NULL) AND (latitude IS NULL) = (km IS NULL))
);
CREATE INDEX saved_searches_account_idx ON saved_searches (account_id, id);

-- A resident's area (a named place's point, copied as listings copy theirs) and their
-- weekly digest: the new listings of their chosen categories (none: all) within digest_km.
CREATE TABLE match_preferences (
    account_id bigint PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    latitude double precision CHECK (latitude BETWEEN -90 AND 90),
    longitude double precision CHECK (longitude BETWEEN -180 AND 180),
    digest boolean NOT NULL DEFAULT false,
    digest_categories text[] NOT NULL DEFAULT '{}',
    digest_km real NOT NULL DEFAULT 5 CHECK (digest_km > 0 AND digest_km <= 100),
    digest_sent_at timestamptz,
    CHECK ((latitude IS NULL) = (longitude IS NULL))
);
CREATE INDEX match_preferences_digest_idx ON match_preferences (digest_sent_at NULLS FIRST)
    WHERE digest;

-- Remote listings not yet matched: a row per listing that reaches us (by a Create, an
-- Announce or a search), written by a trigger in the transaction that stores it, whatever
-- the path; the scheduled jobs match them and delete the rows.
CREATE TABLE remote_match_queue (
    uri text PRIMARY KEY,
    queued_at timestamptz NOT NULL DEFAULT now()
);
CREATE FUNCTION queue_remote_listing_match() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO remote_match_queue (uri) VALUES (NEW.uri) ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;
CREATE TRIGGER remote_objects_match_queue AFTER INSERT ON remote_objects
    FOR EACH ROW WHEN (NEW.is_listing) EXECUTE FUNCTION queue_remote_listing_match();

-- Notifications: `listing_match`, a new listing matches one of the resident's; and
-- `saved_search_match`, a new listing matches one of their saved searches. Either names the
-- new listing: listing_id when it is here, else object_uri (its remote id) with object_url
-- (its page here) and body (its title). One notice per resident and listing.
ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_kind_check CHECK (kind IN (
    'new_answer', 'new_message', 'reserved_for_you', 'offered_to_you',
    'reservation_released', 'declined', 'completed', 'withdrawn', 'near_expiry', 'mention',
    'moderation', 'moderation_warning', 'favourite', 'follow', 'follow_request',
    'listing_closed', 'new_pledge', 'listing_match', 'saved_search_match'));
CREATE UNIQUE INDEX notifications_match_idx ON notifications (account_id, listing_id)
    WHERE kind IN ('listing_match', 'saved_search_match') AND listing_id IS NOT NULL;

-- Mail about matches is a choice of its own (services.mail).
ALTER TABLE accounts DROP CONSTRAINT accounts_mail_notifications_check;
ALTER TABLE accounts ADD CONSTRAINT accounts_mail_notifications_check
    CHECK (mail_notifications <@ '{answer,decision,message,mention,match}');
