-- Timelines and streaming for the client API (api/timelines.py, api/streaming.py).
--
-- Every timeline is newest first by status id (one id space, ordered by time: 0024) and
-- paged with max_id/since_id/min_id, so each page is a backwards index scan on status_id
-- that stops after one page, whatever the backlog, or, for a narrow filter (one tag, a few
-- followed people), an index on (filter, status_id) read for that filter alone.

-- a resident's listings (the home timeline of those who follow them)
CREATE INDEX listings_author_status_idx ON listings (author_id, status_id);
-- a category's listings (the tag timeline)
CREATE INDEX listings_category_status_idx ON listings (category, status_id);

-- listings from other nodes, newest first (the public timeline), the listings of one remote
-- person (home: people a resident follows) and of one node (home: its neighbourhood's
-- Group announces every public listing of its node, all of them on the Group's domain)
CREATE INDEX remote_objects_listing_status_idx ON remote_objects (status_id) WHERE is_listing;
CREATE INDEX remote_objects_author_status_idx ON remote_objects (attributed_to, status_id)
    WHERE is_listing;
CREATE INDEX remote_objects_domain_status_idx ON remote_objects (domain, status_id)
    WHERE is_listing;

-- The hashtags of a remote object, as tag timelines match them: lower case, without '#'
-- (Mastodon sends "#Tools", Misskey "tools"). Immutable, so an index can hold it.
CREATE FUNCTION remote_hashtags(document jsonb) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(array_agg(DISTINCT lower(ltrim(t->>'name', '#'))), '{}')
    FROM jsonb_array_elements(
        CASE jsonb_typeof(document->'tag') WHEN 'array' THEN document->'tag'
             WHEN 'object' THEN jsonb_build_array(document->'tag') ELSE '[]'::jsonb END) t
    WHERE jsonb_typeof(t) = 'object' AND t->>'type' = 'Hashtag' AND t ? 'name'
$$;
CREATE INDEX remote_objects_hashtags_idx ON remote_objects USING gin (remote_hashtags(document))
    WHERE is_listing;

-- a resident's messages (the home and direct timelines): their conversations' messages,
-- newest first
CREATE INDEX messages_conversation_status_idx ON messages (conversation_id, status_id);

-- The streaming API: every serve process LISTENs on `commonsfed_statuses` and passes what it
-- hears to its open sockets. A trigger sends it, so every path that creates or deletes a
-- listing (the web, the client API, the inbox, the moderators, account deletion) is heard,
-- and only when its transaction commits. The payload is ids only: each socket renders the
-- status for its own viewer, and checks that they may see it.
CREATE FUNCTION notify_status() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    changed record;
    kind text;
BEGIN
    changed := CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    -- nested, as a record has only its own table's fields
    IF TG_TABLE_NAME = 'remote_objects' THEN
        IF NOT changed.is_listing THEN
            RETURN NULL;  -- notes and replies are no timeline's
        END IF;
    ELSIF TG_TABLE_NAME = 'messages' THEN
        IF changed.kind <> 'message' THEN
            RETURN NULL;  -- the node's own lines ("... deleted their account") are no status
        END IF;
    END IF;
    kind := CASE TG_TABLE_NAME WHEN 'listings' THEN 'local' WHEN 'remote_objects' THEN 'remote'
                 ELSE 'message' END;
    PERFORM pg_notify('commonsfed_statuses', json_build_object(
        'event', CASE WHEN TG_OP = 'DELETE' THEN 'delete' ELSE 'update' END,
        'kind', kind, 'id', changed.status_id)::text);
    RETURN NULL;
END
$$;

CREATE TRIGGER listings_notify_status AFTER INSERT OR DELETE ON listings
    FOR EACH ROW EXECUTE FUNCTION notify_status();
CREATE TRIGGER remote_objects_notify_status AFTER INSERT OR DELETE ON remote_objects
    FOR EACH ROW EXECUTE FUNCTION notify_status();
CREATE TRIGGER messages_notify_status AFTER INSERT ON messages
    FOR EACH ROW EXECUTE FUNCTION notify_status();
