-- Reports: residents report a listing, a message or a person (here or elsewhere), and Flags
-- from other servers become reports too (the `reports` table of 0003 held only those).
--
-- A report is about one thing (`about`): the person reported (`target_actor_uri`, on this
-- node or another) and, for a listing or a message, that thing. What it said when reported
-- is kept in `quoted` (a listing's title, a message's text), so the moderators still read
-- it after the author removed it. A local listing is named by its uid, which outlives its
-- removal (removed_listings). Notes, resolutions, forwards and actions are lines of the
-- moderation log (target_kind 'report', target the report's id).
ALTER TABLE reports
    ALTER COLUMN activity_uri DROP NOT NULL,  -- a resident's report came in no activity
    ADD COLUMN category text NOT NULL DEFAULT 'other'
        CHECK (category IN ('spam', 'scam', 'harassment', 'illegal', 'other')),
    ADD COLUMN reporter_account_id bigint REFERENCES accounts (id),
    ADD COLUMN about text NOT NULL DEFAULT 'person'
        CHECK (about IN ('listing', 'message', 'person')),
    ADD COLUMN target_actor_uri text CHECK (target_actor_uri ~ '^https?://'),
    ADD COLUMN listing_uid text,
    ADD COLUMN remote_listing_uri text CHECK (remote_listing_uri ~ '^https?://'),
    ADD COLUMN message_id bigint REFERENCES messages (id) ON DELETE SET NULL,
    ADD COLUMN quoted text NOT NULL DEFAULT '' CHECK (length(quoted) <= 5000),
    ADD COLUMN forwarded_at timestamptz,
    ADD CONSTRAINT reports_content_length CHECK (length(content) <= 10000);

-- the queue: open reports newest first, resolved ones by when
CREATE INDEX reports_open_idx ON reports (created_at DESC, id DESC) WHERE resolved_at IS NULL;
CREATE INDEX reports_resolved_idx ON reports (resolved_at DESC, id DESC)
    WHERE resolved_at IS NOT NULL;
-- a resident's recent reports, for the throttle
CREATE INDEX reports_reporter_idx ON reports (reporter_account_id, created_at)
    WHERE reporter_account_id IS NOT NULL;

-- A notice from the moderators (a listing removed, with why): the notification points at the
-- moderation log's line, which holds the action, the reason and what it was about, since the
-- thing itself may be gone.
ALTER TABLE notifications
    ADD COLUMN moderation_entry_id bigint REFERENCES moderation_log (id) ON DELETE CASCADE;
ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_kind_check CHECK (kind IN (
    'new_answer', 'new_message', 'reserved_for_you', 'offered_to_you',
    'reservation_released', 'declined', 'completed', 'withdrawn', 'near_expiry', 'mention',
    'moderation'));
ALTER TABLE notifications DROP CONSTRAINT notifications_about_something;
ALTER TABLE notifications ADD CONSTRAINT notifications_about_something
    CHECK (listing_id IS NOT NULL OR conversation_id IS NOT NULL OR object_uri IS NOT NULL
           OR moderation_entry_id IS NOT NULL);
ALTER TABLE notifications ADD CONSTRAINT notifications_moderation_shape
    CHECK ((kind = 'moderation') = (moderation_entry_id IS NOT NULL));
