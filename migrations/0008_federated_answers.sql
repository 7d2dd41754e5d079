-- Answers across nodes (issue 5 item 4).
--
-- A conversation is about a local listing (listing_id) or, on the respondent's node, about a
-- listing on another node that a local resident answered (remote_listing_uri). Exactly one
-- side of a conversation is local: a remote listing's conversation always has a local
-- respondent. The remote listing's title, author handle and state are kept on the row, so
-- "my answers" still reads well when the remote object is refreshed or gone.
ALTER TABLE conversations
    ALTER COLUMN listing_id DROP NOT NULL,
    ADD COLUMN remote_listing_uri text CHECK (remote_listing_uri ~ '^https?://'),
    ADD COLUMN remote_author_uri text CHECK (remote_author_uri ~ '^https?://'),
    ADD COLUMN remote_author_handle text CHECK (length(remote_author_handle) <= 300),
    ADD COLUMN remote_listing_title text CHECK (length(remote_listing_title) <= 200),
    ADD COLUMN remote_listing_state text NOT NULL DEFAULT 'open'
        CHECK (remote_listing_state IN ('open', 'reserved', 'completed', 'withdrawn', 'expired')),
    -- how the answer came: our own web pages, an FEP-0837 Offer(Agreement), or a direct
    -- message replying to the listing (Mastodon and friends). The author's decisions go back
    -- to a remote respondent the same way: Accept/Reject for an Offer, a direct message else.
    ADD COLUMN answered_with text NOT NULL DEFAULT 'web'
        CHECK (answered_with IN ('web', 'offer', 'note')),
    -- the finalised Agreement named by the author's Accept (FEP-0837)
    ADD COLUMN agreement_id text,
    ADD CONSTRAINT conversations_one_listing
        CHECK ((listing_id IS NULL) <> (remote_listing_uri IS NULL)),
    ADD CONSTRAINT conversations_remote_listing_shape
        CHECK (remote_listing_uri IS NULL
               OR (respondent_account_id IS NOT NULL AND remote_author_uri IS NOT NULL));

CREATE UNIQUE INDEX conversations_remote_listing_idx
    ON conversations (remote_listing_uri, respondent_account_id)
    WHERE remote_listing_uri IS NOT NULL;

-- the conversation a direct message replies into, by the id of a message it answers
-- (messages.ap_id is unique already); a local listing's remote respondents, for Updates
CREATE INDEX conversations_remote_respondent_idx ON conversations (listing_id)
    WHERE respondent_actor_uri IS NOT NULL;

-- a notification about an answer to a remote listing has no local listing
ALTER TABLE notifications ALTER COLUMN listing_id DROP NOT NULL;
ALTER TABLE notifications ADD CONSTRAINT notifications_about_something
    CHECK (listing_id IS NOT NULL OR conversation_id IS NOT NULL);

-- the Accept an author sent for an Offer, which releasing the reservation undoes
CREATE INDEX activities_accept_object_idx ON activities (object_uri, id) WHERE type = 'Accept';
