-- Listings removed for good by their author or an admin (issue 5 item 4: Delete with a
-- Tombstone). The row goes, and with it, by cascade, its photos, history, pledges, claims,
-- answers and notifications; what stays is its id, which answers 410 Gone with a Tombstone
-- from then on, so peers that fetch it learn it is gone rather than never was.
CREATE TABLE removed_listings (
    uid text PRIMARY KEY,
    author_username text NOT NULL,
    removed_at timestamptz NOT NULL DEFAULT now()
);
