-- "Ending soon" on /explore and the category pages: open listings with an end (the earlier
-- of the end of their availability and their expiry) soonest first. A partial index on
-- exactly that set keeps the sort a short forward index scan that stops after one page.
CREATE INDEX listings_open_ending_idx ON listings ((least(available_until, expires_at)), id)
    WHERE state IN ('open', 'reserved') AND least(available_until, expires_at) IS NOT NULL;
