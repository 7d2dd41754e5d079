-- The streaming API's status.update (Mastodon's event for an edited status): a listing whose
-- text, state or quantities changed (its updated_at moves with each), or a remote listing
-- whose document a peer's Update replaced, is heard by every serve process on commit, as
-- new and deleted ones are (migration 0027). The payload is ids only, as there.
CREATE FUNCTION notify_status_edit() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('commonsfed_statuses', json_build_object(
        'event', 'status.update',
        'kind', CASE TG_TABLE_NAME WHEN 'listings' THEN 'local' ELSE 'remote' END,
        'id', NEW.status_id)::text);
    RETURN NULL;
END
$$;

CREATE TRIGGER listings_notify_edit AFTER UPDATE ON listings
    FOR EACH ROW WHEN (OLD.updated_at IS DISTINCT FROM NEW.updated_at)
    EXECUTE FUNCTION notify_status_edit();
CREATE TRIGGER remote_objects_notify_edit AFTER UPDATE ON remote_objects
    FOR EACH ROW WHEN (NEW.is_listing AND OLD.document IS DISTINCT FROM NEW.document)
    EXECUTE FUNCTION notify_status_edit();
