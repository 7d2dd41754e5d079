-- Listings: offers and requests of the neighbourhood, their photos, the history of their
-- states, and what neighbours pledge (group purchases) or claim (pay-it-forward).

-- slugs are hashtag-safe (letters, digits, _) because categories go out as hashtags, and
-- they never change: admins rename a category's name, not its slug
CREATE TABLE categories (
    slug text PRIMARY KEY CHECK (slug ~ '^[a-z0-9_]{1,30}$'),
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 60),
    position integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now()
);

INSERT INTO categories (slug, name, position) VALUES
    ('food', 'Food', 1),
    ('tools', 'Tools', 2),
    ('books', 'Books and media', 3),
    ('clothes', 'Clothes', 4),
    ('household', 'Furniture and household', 5),
    ('children', 'Children', 6),
    ('electronics', 'Electronics', 7),
    ('garden', 'Garden', 8),
    ('transport', 'Transport', 9),
    ('housing', 'Housing', 10),
    ('skills', 'Skills and services', 11),
    ('space', 'Space', 12);

CREATE TABLE listings (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    uid text NOT NULL UNIQUE CHECK (uid ~ '^[A-Za-z0-9_-]{8,32}$'),
    author_id bigint NOT NULL REFERENCES accounts (id),
    purpose text NOT NULL CHECK (purpose IN ('offer', 'request')),
    kind text NOT NULL CHECK (kind IN ('give', 'lend', 'swap', 'service', 'ride', 'stay',
                                       'group_purchase', 'pay_it_forward', 'shared')),
    title text NOT NULL CHECK (length(title) BETWEEN 1 AND 120),
    description text NOT NULL DEFAULT '' CHECK (length(description) <= 5000),
    category text NOT NULL REFERENCES categories (slug),
    quantity integer CHECK (quantity >= 0),
    available_quantity integer CHECK (available_quantity >= 0),
    place text NOT NULL CHECK (length(place) BETWEEN 1 AND 120),
    -- rough on purpose (2 decimals, about 1 km): nobody's door is published
    latitude double precision CHECK (latitude BETWEEN -90 AND 90),
    longitude double precision CHECK (longitude BETWEEN -180 AND 180),
    available_from timestamptz,
    available_until timestamptz,
    expires_at timestamptz,  -- NULL: a standing offer (a shelf) that never expires
    state text NOT NULL DEFAULT 'open'
        CHECK (state IN ('open', 'reserved', 'completed', 'withdrawn', 'expired')),
    details jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    -- 'simple': no stemming, because a neighbourhood writes in whatever language it speaks
    search tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('simple'::regconfig, title), 'A')
        || setweight(to_tsvector('simple'::regconfig, description), 'B')
    ) STORED,
    CHECK ((latitude IS NULL) = (longitude IS NULL)),
    CHECK (available_until IS NULL OR available_from IS NULL OR available_until >= available_from)
);

-- the neighbourhood page: open listings newest first, filtered by category, kind or purpose
CREATE INDEX listings_state_created_idx ON listings (state, created_at DESC);
CREATE INDEX listings_category_idx ON listings (category, state, created_at DESC);
CREATE INDEX listings_kind_idx ON listings (kind, state, created_at DESC);
CREATE INDEX listings_purpose_idx ON listings (purpose, state, created_at DESC);
CREATE INDEX listings_search_idx ON listings USING gin (search);
CREATE INDEX listings_author_idx ON listings (author_id, created_at DESC);
-- the expiry job only ever looks at listings that can still expire
CREATE INDEX listings_due_idx ON listings (expires_at)
    WHERE state IN ('open', 'reserved') AND expires_at IS NOT NULL;

CREATE TABLE listing_photos (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    listing_id bigint NOT NULL REFERENCES listings (id) ON DELETE CASCADE,
    filename text NOT NULL UNIQUE CHECK (filename ~ '^[A-Za-z0-9_-]{22}\.(webp|jpg)$'),
    alt text NOT NULL CHECK (length(alt) BETWEEN 1 AND 500),
    width integer NOT NULL CHECK (width > 0),
    height integer NOT NULL CHECK (height > 0),
    position smallint NOT NULL CHECK (position BETWEEN 0 AND 3),
    -- deferred, so an edit can renumber the photos in any order within its transaction
    UNIQUE (listing_id, position) DEFERRABLE INITIALLY DEFERRED
);

-- the history of a listing: created, edited, and every change of state, with who and when
-- (actor_id NULL: the node itself, e.g. the expiry job)
CREATE TABLE listing_events (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    listing_id bigint NOT NULL REFERENCES listings (id) ON DELETE CASCADE,
    change text NOT NULL CHECK (change IN ('created', 'edited', 'state')),
    state text NOT NULL
        CHECK (state IN ('open', 'reserved', 'completed', 'withdrawn', 'expired')),
    actor_id bigint REFERENCES accounts (id),
    at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX listing_events_listing_idx ON listing_events (listing_id, at, id);

-- group purchases: one pledge per neighbour, which they may change or take back
CREATE TABLE pledges (
    listing_id bigint NOT NULL REFERENCES listings (id) ON DELETE CASCADE,
    account_id bigint NOT NULL REFERENCES accounts (id),
    quantity integer NOT NULL CHECK (quantity > 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (listing_id, account_id)
);

-- pay-it-forward: one portion per neighbour
CREATE TABLE claims (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    listing_id bigint NOT NULL REFERENCES listings (id) ON DELETE CASCADE,
    account_id bigint NOT NULL REFERENCES accounts (id),
    at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (listing_id, account_id)
);
