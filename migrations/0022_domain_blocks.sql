-- Domain blocks act by their severity (see federation.policy), and the admin decides which
-- other nodes' Groups join ours (COMMONSFED_GROUP_FOLLOWS=manual).
--
-- What another node says of itself in its NodeInfo (name, description, number of users), as
-- the admin sees it beside a node that asks to follow our Group. Kept so that the page does
-- not fetch it again on every view; `error` says why the last fetch failed, if it did.
CREATE TABLE node_infos (
    domain text PRIMARY KEY,
    name text NOT NULL DEFAULT '',
    description text NOT NULL DEFAULT '',
    software text NOT NULL DEFAULT '',
    users bigint,
    error text,
    fetched_at timestamptz NOT NULL DEFAULT now()
);

-- Suspending a domain drops the notes and listings it sent: found by their domain.
CREATE INDEX remote_objects_domain_idx ON remote_objects (domain);
