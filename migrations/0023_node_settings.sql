-- Settings an admin changes on the web (/admin/settings) while the node runs: its name,
-- description, rules, contact address, registration and federation modes, and whether the
-- Group accepts follows at once. A row exists only for a setting changed there; until then
-- the environment's value (or the flag's) counts, and from then on the row's.
CREATE TABLE node_settings (
    name text PRIMARY KEY,
    value jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by bigint REFERENCES accounts (id) ON DELETE SET NULL
);

-- One row: raised by every change, in the change's transaction. Every serve and worker
-- process compares it with the version it holds (see commonsfed.live_settings), so a change
-- made in one process reaches the others even when its NOTIFY is missed.
CREATE TABLE node_settings_version (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    version bigint NOT NULL DEFAULT 0
);
INSERT INTO node_settings_version DEFAULT VALUES;

-- /admin/federation/unhandled lists what the inbox did not handle, newest first; handled
-- items are kept two weeks (migration 0010's pruning), most of them done.
CREATE INDEX inbox_items_not_handled_idx ON inbox_items (handled_at DESC, id DESC)
    WHERE state IN ('unhandled', 'failed');
