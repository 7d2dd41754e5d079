-- Cached actors keep only addresses on their own host. An actor's shared inbox or followers
-- collection elsewhere is ignored from now on (set to NULL here), and an actor whose inbox
-- or key lives elsewhere is not usable at all (dropped here; the cache is only a copy, and
-- the actor is fetched again, and checked, when it is next needed).
UPDATE remote_actors SET shared_inbox = NULL
WHERE lower(substring(shared_inbox FROM '^https?://([^/?#]+)')) IS DISTINCT FROM domain;

UPDATE remote_actors SET followers = NULL
WHERE lower(substring(followers FROM '^https?://([^/?#]+)')) IS DISTINCT FROM domain;

DELETE FROM remote_actors
WHERE lower(substring(inbox FROM '^https?://([^/?#]+)')) IS DISTINCT FROM domain
   OR lower(substring(key_id FROM '^https?://([^/?#]+)')) IS DISTINCT FROM domain;

-- A tombstone stands only for the actor who left it: a Delete of an id we never saw, sent
-- by another actor of the same host, may not block the later Create of its real author.
-- So one tombstone per (id, deleting actor), and a Create is ignored only when its own
-- author deleted the id.
ALTER TABLE tombstones DROP CONSTRAINT tombstones_pkey;
ALTER TABLE tombstones ADD PRIMARY KEY (uri, actor_uri);
