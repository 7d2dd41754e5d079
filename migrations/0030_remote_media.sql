-- Photos of other nodes' listings, fetched by this node and served from its own media folder
-- (data/media/remote/<key>.<ext>), so a visitor's browser never contacts the other server.
-- `key` is a hash of the remote URL: the file name never carries anything the peer chose.
-- A row with `failed_at` and no file remembers a fetch that failed, so a page view does not
-- ask again before the retry delay (services.remote_media). The scheduled jobs remove rows
-- and files past their expiry, and the least recently used when the cache is over its cap.
CREATE TABLE remote_media (
    key text PRIMARY KEY,
    url text NOT NULL,
    domain text NOT NULL,
    extension text,
    size bigint NOT NULL DEFAULT 0,
    width integer,
    height integer,
    fetched_at timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz NOT NULL DEFAULT now(),
    failed_at timestamptz,
    error text
);

CREATE INDEX remote_media_last_used_idx ON remote_media (last_used_at);
