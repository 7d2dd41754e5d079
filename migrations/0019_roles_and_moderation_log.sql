-- Roles and the moderation log: the ground every moderation and administration tool stands on.
--
-- A resident's role: 'admin' changes settings and federation and does what a moderator does;
-- 'moderator' acts on reports and accounts; 'none' is everyone else. `is_admin` stays as a
-- column computed from the role, so queries that read it keep their meaning.
ALTER TABLE accounts ADD COLUMN role text NOT NULL DEFAULT 'none'
    CHECK (role IN ('none', 'moderator', 'admin'));
UPDATE accounts SET role = 'admin' WHERE is_admin;
ALTER TABLE accounts DROP COLUMN is_admin;
ALTER TABLE accounts ADD COLUMN is_admin boolean GENERATED ALWAYS AS (role = 'admin') STORED;

-- Every moderation or administration action: who did it, when, what, to what, and why. Rows
-- are only ever added; the moderator's name is kept beside the id so the line still reads
-- after the moderator's own account is deleted. A NULL moderator is the node itself (a
-- suspension that ran out its 30 days, for one).
CREATE TABLE moderation_log (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    moderator_id bigint REFERENCES accounts (id) ON DELETE SET NULL,
    moderator_name text NOT NULL DEFAULT '',
    action text NOT NULL CHECK (action ~ '^[a-z_]+$'),
    -- what the action was about: an account (its username), a remote actor or a listing or a
    -- report (its id or uri), a domain, or a setting (its name)
    target_kind text NOT NULL
        CHECK (target_kind IN ('account', 'remote_actor', 'listing', 'message', 'report',
                               'domain', 'setting')),
    target text NOT NULL,
    reason text NOT NULL DEFAULT '',
    details jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX moderation_log_time_idx ON moderation_log (created_at DESC, id DESC);
CREATE INDEX moderation_log_target_idx ON moderation_log (target_kind, target, created_at DESC);

-- Domain blocks as Mastodon keeps them (and exports them as CSV): a severity ('limit' hides
-- the domain's content from public places, 'suspend' refuses everything from it, 'none' only
-- applies the two rejections), whether its media and its reports are refused, a comment shown
-- on /about, and whether /about shows the domain half-hidden. These apply to policy 'block'.
ALTER TABLE domain_policies
    ADD COLUMN severity text NOT NULL DEFAULT 'suspend'
        CHECK (severity IN ('limit', 'suspend', 'none')),
    ADD COLUMN reject_media boolean NOT NULL DEFAULT false,
    ADD COLUMN reject_reports boolean NOT NULL DEFAULT false,
    ADD COLUMN public_comment text NOT NULL DEFAULT '',
    ADD COLUMN obfuscate boolean NOT NULL DEFAULT false;
