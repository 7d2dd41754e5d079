-- Handlers look activities up by id when a peer answers or undoes one (Accept, Undo).
CREATE INDEX follows_activity_idx ON follows (activity_id) WHERE activity_id IS NOT NULL;
CREATE INDEX actor_blocks_activity_idx ON actor_blocks (activity_uri) WHERE activity_uri IS NOT NULL;
