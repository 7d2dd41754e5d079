-- Notifications and conversations in the client API: follows notify, an app can dismiss a
-- notification or hide a conversation without touching the web pages, and each new
-- notification is announced for the streaming API.

-- Someone followed a resident, or asked to (a resident who approves followers by hand):
-- actor_uri names the follower, local or remote.
ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_kind_check CHECK (kind IN (
    'new_answer', 'new_message', 'reserved_for_you', 'offered_to_you',
    'reservation_released', 'declined', 'completed', 'withdrawn', 'near_expiry', 'mention',
    'moderation', 'moderation_warning', 'favourite', 'follow', 'follow_request'));
ALTER TABLE notifications ADD CONSTRAINT notifications_follow_shape
    CHECK (kind NOT IN ('follow', 'follow_request') OR actor_uri IS NOT NULL);

-- A notification about an actor (a follow) is about something too. Other migrations extend
-- this constraint for their kinds as well, so it is rebuilt from what it says now, plus
-- the actor, rather than written out again (which would drop their part).
DO $$
DECLARE
    current text;
BEGIN
    SELECT pg_get_constraintdef(oid) INTO current FROM pg_constraint
    WHERE conrelid = 'notifications'::regclass AND conname = 'notifications_about_something';
    ALTER TABLE notifications DROP CONSTRAINT notifications_about_something;
    EXECUTE format(
        'ALTER TABLE notifications ADD CONSTRAINT notifications_about_something CHECK ((%s) OR actor_uri IS NOT NULL)',
        substring(current FROM '^CHECK \((.*)\)$'));
END $$;

-- Dismissed through the API (Mastodon's dismiss and clear): gone from the apps' lists, still
-- on the web's /notifications page, which is the resident's full record.
ALTER TABLE notifications ADD COLUMN dismissed_at timestamptz;

-- the apps' list: a resident's notifications by id, newest first
CREATE INDEX notifications_api_idx ON notifications (account_id, id DESC)
    WHERE dismissed_at IS NULL;

-- A conversation a resident removed from their apps' list (DELETE /api/v1/conversations/:id):
-- hidden while its last message is the one it had then; a new message brings it back, as
-- Mastodon brings back a conversation.
CREATE TABLE api_hidden_conversations (
    account_id bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    conversation_id bigint NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    up_to_status_id bigint NOT NULL,
    PRIMARY KEY (account_id, conversation_id)
);

-- Every new notification is announced on the channel 'api_notifications' with the payload
-- {"id": <notification id>, "account_id": <the resident's id>}, sent when the inserting
-- transaction commits (and never if it rolls back): the streaming API LISTENs and sends
-- the resident's apps a `notification` event.
CREATE FUNCTION notifications_announce() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('api_notifications',
                      jsonb_build_object('id', NEW.id, 'account_id', NEW.account_id)::text);
    RETURN NULL;
END
$$;

CREATE TRIGGER notifications_announce AFTER INSERT ON notifications
    FOR EACH ROW EXECUTE FUNCTION notifications_announce();
