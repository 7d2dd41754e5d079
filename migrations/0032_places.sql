-- The neighbourhood's named places (the bakery corner, the library, the station), which an
-- admin keeps at /admin/places. A resident picks one in the listing form instead of typing
-- coordinates, and /explore measures "within N km" from one. A listing copies the place's
-- name and coordinates when it is written, so renaming, moving or removing a place later
-- leaves what a listing said alone (and what went out to other nodes stays true).
CREATE TABLE places (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 120),
    -- rounded as listings round theirs (two decimals, about a kilometre): never a door
    latitude double precision NOT NULL CHECK (latitude BETWEEN -90 AND 90),
    longitude double precision NOT NULL CHECK (longitude BETWEEN -180 AND 180),
    position integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now()
);
-- one "Library", whatever its case: two places that read alike would confuse the list
CREATE UNIQUE INDEX places_name_key ON places (lower(name));
CREATE INDEX places_order_idx ON places (position, lower(name));

-- A place's changes are in the moderation log (target_kind 'place', target its name).
ALTER TABLE moderation_log DROP CONSTRAINT moderation_log_target_kind_check;
ALTER TABLE moderation_log ADD CONSTRAINT moderation_log_target_kind_check
    CHECK (target_kind IN ('account', 'remote_actor', 'listing', 'message', 'report',
                           'domain', 'setting', 'place'));
