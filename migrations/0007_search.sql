-- Finding listings: the neighbourhood page, its filters and its feeds (issue 5 item 5, item 7).
--
-- The page only ever shows listings that are still open (open or reserved), newest first,
-- paged by keyset on (created_at, id). Partial indexes on exactly that set keep each filter
-- a short backwards index scan that stops after one page, however many closed listings
-- pile up. Ascending columns: PostgreSQL reads them backwards for DESC, and a row
-- comparison (created_at, id) < ($1, $2) becomes an index condition.
CREATE INDEX listings_open_recent_idx ON listings (created_at, id)
    WHERE state IN ('open', 'reserved');
CREATE INDEX listings_open_category_idx ON listings (category, created_at, id)
    WHERE state IN ('open', 'reserved');
CREATE INDEX listings_open_kind_idx ON listings (kind, created_at, id)
    WHERE state IN ('open', 'reserved');
CREATE INDEX listings_open_purpose_idx ON listings (purpose, created_at, id)
    WHERE state IN ('open', 'reserved');

-- "near a place" by name: the words of the place text, matched by prefix ("elm" finds
-- "Corner of Elm Street"). Full text rather than pg_trgm, which the embedded PostgreSQL
-- (pgserver) does not ship. Stored, not an expression index: a prefix match rechecks every
-- row it finds, and recomputing to_tsvector for 7,500 rows of a common street took 35 ms.
ALTER TABLE listings ADD COLUMN place_search tsvector
    GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, place)) STORED;
CREATE INDEX listings_open_place_idx ON listings USING gin (place_search)
    WHERE state IN ('open', 'reserved');

-- "near a place" by rough coordinates: a bounding box (no PostGIS)
CREATE INDEX listings_open_coordinates_idx ON listings (latitude, longitude)
    WHERE state IN ('open', 'reserved') AND latitude IS NOT NULL;

-- the 0005 indexes on (category|kind|purpose, state, created_at DESC) served this page
-- before; the partial ones above replace them, and nothing else filters on those columns
DROP INDEX listings_category_idx;
DROP INDEX listings_kind_idx;
DROP INDEX listings_purpose_idx;

-- listings from federated neighbourhoods, newest first by when they were published (never
-- later than when they reached us, so a peer's clock cannot pin its listings to the top); uri byte by byte, as
-- the merge with local listings in Python compares it
CREATE INDEX remote_objects_listings_idx ON remote_objects
    ((least(coalesce(published_at, received_at), received_at)), uri COLLATE "C")
    WHERE is_listing;
