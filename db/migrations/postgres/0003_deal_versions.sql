-- deal_versions keeps the deal as it stood after each accepted change, so that reports can read
-- the pipeline exactly as it was on any past date (as-of forecasts) and time paused can be taken
-- out of time in stage. Append-only, one row per (deal, seq). Keep in step with the SQLite file.
CREATE TABLE deal_versions (
    deal_id         text NOT NULL,
    seq             bigint NOT NULL,
    at              timestamptz NOT NULL,
    account_id      text NOT NULL,
    owner           text NOT NULL,
    team_id         text NOT NULL DEFAULT '',
    stage           text NOT NULL,
    status          text NOT NULL,
    grade           text NOT NULL DEFAULT '',
    value           bigint NOT NULL,
    currency        text NOT NULL,
    win_probability integer NOT NULL,
    expected_close  text NOT NULL DEFAULT '',
    paused          boolean NOT NULL DEFAULT false,
    stalled         boolean NOT NULL DEFAULT false,
    forced          boolean NOT NULL DEFAULT false,
    PRIMARY KEY (deal_id, seq)
);
CREATE INDEX deal_versions_at ON deal_versions (at, deal_id, seq);
