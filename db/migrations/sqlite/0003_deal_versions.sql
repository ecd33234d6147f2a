-- deal_versions keeps the deal as it stood after each accepted change, so that reports can read
-- the pipeline exactly as it was on any past date (as-of forecasts) and time paused can be taken
-- out of time in stage. Append-only, one row per (deal, seq). Keep in step with the PostgreSQL file.
CREATE TABLE deal_versions (
    deal_id         TEXT NOT NULL,
    seq             INTEGER NOT NULL,
    at              TIMESTAMP NOT NULL,
    account_id      TEXT NOT NULL,
    owner           TEXT NOT NULL,
    team_id         TEXT NOT NULL DEFAULT '',
    stage           TEXT NOT NULL,
    status          TEXT NOT NULL,
    grade           TEXT NOT NULL DEFAULT '',
    value           INTEGER NOT NULL,
    currency        TEXT NOT NULL,
    win_probability INTEGER NOT NULL,
    expected_close  TEXT NOT NULL DEFAULT '',
    paused          BOOLEAN NOT NULL DEFAULT 0,
    stalled         BOOLEAN NOT NULL DEFAULT 0,
    forced          BOOLEAN NOT NULL DEFAULT 0,
    PRIMARY KEY (deal_id, seq)
) WITHOUT ROWID;
CREATE INDEX deal_versions_at ON deal_versions (at, deal_id, seq);
