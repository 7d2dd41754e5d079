-- E-mail: the outgoing mail queue, confirmed addresses, single-use links, the residents'
-- choices of notification mail, and the requests that send a mail (counted to throttle them).

-- Outgoing mail, worked by the workers as deliveries are (see services.mail_sending): a row is
-- claimed with a lease (`locked_until`) and a token (`claim`, from queue_claims), retried with
-- backoff until `next_try_at`, and recorded `sent` right after the SMTP server accepted it.
-- A row holds what to say (a template and its context), not the rendered message, so that a
-- notification can be queued from any layer in the transaction of the change it reports.
CREATE TABLE outgoing_mail (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- kept when the account goes: a mail may be about the account's end
    account_id bigint REFERENCES accounts (id) ON DELETE SET NULL,
    recipient text NOT NULL CHECK (length(recipient) BETWEEN 3 AND 254),
    template text NOT NULL CHECK (template ~ '^[a-z_]{1,40}$'),
    context jsonb NOT NULL DEFAULT '{}',
    -- a mail whose link is dead by then (a reset link after its hour) is given up, not sent
    send_before timestamptz,
    state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed')),
    attempts integer NOT NULL DEFAULT 0,
    next_try_at timestamptz NOT NULL DEFAULT now(),
    locked_until timestamptz,
    claim bigint,
    created_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    last_error text
);

CREATE INDEX outgoing_mail_due_idx ON outgoing_mail (next_try_at, id) WHERE state = 'pending';
CREATE INDEX outgoing_mail_finished_idx ON outgoing_mail (finished_at) WHERE state <> 'pending';

-- An address is confirmed when its owner followed the link mailed to it. Accounts made before
-- this migration registered when the node sent no mail at all; they keep working as before
-- (counted as confirmed) rather than being shut out of publishing on the day of an upgrade.
ALTER TABLE accounts ADD COLUMN email_confirmed_at timestamptz;
UPDATE accounts SET email_confirmed_at = created_at;

-- Which notifications a resident also gets by mail; empty for none.
ALTER TABLE accounts ADD COLUMN mail_notifications text[] NOT NULL
    DEFAULT '{answer,decision,message,mention}'
    CHECK (mail_notifications <@ '{answer,decision,message,mention}');

-- Links mailed to a resident: to confirm an address (the account's own, or the one it
-- changes to) or to set a new password. Only the token's SHA-256 is kept; one link per
-- purpose and account, so a new link voids the one before; used links are deleted.
CREATE TABLE account_tokens (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    purpose text NOT NULL CHECK (purpose IN ('confirm_email', 'reset_password')),
    token_hash bytea NOT NULL UNIQUE,
    email text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);

CREATE UNIQUE INDEX account_tokens_purpose_key ON account_tokens (account_id, purpose);
CREATE INDEX account_tokens_expiry_idx ON account_tokens (expires_at);

-- Requests that make the node send a mail (a reset link, a confirmation link), counted per
-- subject (the address asked for, or the account) and per client address to throttle them.
CREATE TABLE mail_requests (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    action text NOT NULL CHECK (action IN ('reset_password', 'confirm_email')),
    subject text NOT NULL,
    address text NOT NULL,
    requested_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX mail_requests_subject_idx ON mail_requests (action, subject, requested_at);
CREATE INDEX mail_requests_address_idx ON mail_requests (action, address, requested_at);
CREATE INDEX mail_requests_time_idx ON mail_requests (requested_at);
CREATE INDEX login_failures_time_idx ON login_failures (failed_at);

-- Keys every process of the node signs with (the web and the workers, on any machine), so
-- they live in the database rather than in one machine's data folder: the unsubscribe links
-- a worker puts in a mail are checked by whichever web process receives them.
CREATE TABLE node_secrets (
    name text PRIMARY KEY,
    secret bytea NOT NULL CHECK (length(secret) >= 32),
    created_at timestamptz NOT NULL DEFAULT now()
);
