-- The handovers of accounts (kamflow.HandoverRecord), each run by its workflow, and the deals each
-- reassigns. Keep in step with ../sqlite/0060_account_handovers.sql.

-- status is running, done, done_with_refusals or conflict (the account was no longer from_owner's
-- when the workflow recorded it: nothing changed, message says why). total counts the deals to
-- reassign, done those now to_owner's, refused those that refused; both are counted in the same
-- transaction as the deal's row, so that they always agree with account_handover_deals.
CREATE TABLE account_handovers (
    id          text PRIMARY KEY,
    account_id  text NOT NULL REFERENCES accounts(id),
    from_owner  text NOT NULL,
    to_owner    text NOT NULL,
    reason      text NOT NULL,
    by_user     text NOT NULL,
    at          timestamptz NOT NULL,
    status      text NOT NULL,
    message     text NOT NULL DEFAULT '',
    total       integer NOT NULL DEFAULT 0,
    done        integer NOT NULL DEFAULT 0,
    refused     integer NOT NULL DEFAULT 0,
    updated_at  timestamptz NOT NULL,
    finished_at timestamptz
);
CREATE INDEX account_handovers_account ON account_handovers (account_id, at);

-- One row per deal to reassign, in the order it was listed (position). status is pending, done or
-- refused; code and message are a refusal's error.
CREATE TABLE account_handover_deals (
    handover_id text NOT NULL REFERENCES account_handovers(id),
    deal_id     text NOT NULL,
    position    integer NOT NULL,
    status      text NOT NULL,
    code        text NOT NULL DEFAULT '',
    message     text NOT NULL DEFAULT '',
    updated_at  timestamptz NOT NULL,
    PRIMARY KEY (handover_id, deal_id)
);
