-- Residents' profiles: display name (accounts.display_name, since 0001), bio (the Markdown
-- they typed, in accounts.summary, since 0002), avatar, the area of the neighbourhood they
-- live in, and up to four fields (label and value; a link verified with rel="me" carries
-- the moment it was verified). And what remote actors show of themselves, kept in the cache.

ALTER TABLE accounts
    ADD COLUMN area text NOT NULL DEFAULT '' CHECK (length(area) <= 100),
    -- the avatar's server-made file name under the data folder's media/ (NULL: none), so
    -- that deleting the account finds the file to remove
    ADD COLUMN avatar_filename text
        CHECK (avatar_filename ~ '^[A-Za-z0-9_-]{22}\.(webp|jpg)$'),
    ADD CONSTRAINT accounts_display_name_length CHECK (length(display_name) <= 50),
    ADD CONSTRAINT accounts_summary_length CHECK (length(summary) <= 500);

CREATE TABLE profile_fields (
    account_id bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    position smallint NOT NULL CHECK (position BETWEEN 0 AND 3),
    label text NOT NULL CHECK (length(label) BETWEEN 1 AND 255),
    value text NOT NULL CHECK (length(value) BETWEEN 1 AND 255),
    -- set when the page the value links to linked back to the profile with rel="me"
    verified_at timestamptz,
    PRIMARY KEY (account_id, position)
);

-- As the remote actor's document said, capped but not sanitised: pages sanitise what they
-- show. fields: [{"name": ..., "value": HTML}], from its PropertyValue attachments.
ALTER TABLE remote_actors
    ADD COLUMN summary text,
    ADD COLUMN icon_url text CHECK (icon_url ~ '^https?://'),
    ADD COLUMN area text,
    ADD COLUMN fields jsonb NOT NULL DEFAULT '[]';
