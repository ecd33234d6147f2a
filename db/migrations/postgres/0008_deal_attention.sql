-- Deals needing attention. Keep in step with ../sqlite/0008_deal_attention.sql.

-- deal_attention lists the deals whose change could not be written to this database for good: the
-- store refused it (reason 'refused') or every retry of the projection failed ('exhausted'). The
-- deal's workflow holds that change and every later one (pending counts them) until an admin has
-- fixed the cause and retried (attempts counts the retries); once they are written the row is
-- deleted and the deal's timeline says so. seq is the deal's sequence number whose projection
-- failed, error why. There is no foreign key to deals: the change that failed may be the deal's
-- very first. title and owner say which deal it is even then (empty: read them from deals).
CREATE TABLE deal_attention (
    deal_id    text PRIMARY KEY,
    title      text NOT NULL DEFAULT '',
    owner      text NOT NULL DEFAULT '',
    seq        bigint NOT NULL,
    pending    integer NOT NULL DEFAULT 0,
    reason     text NOT NULL DEFAULT '',
    error      text NOT NULL,
    attempts   integer NOT NULL DEFAULT 0,
    since      timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
-- The admin's list, the oldest first.
CREATE INDEX deal_attention_since ON deal_attention (since, deal_id);
