-- The fan-outs of the settings to the running deals. Keep in step with
-- ../postgres/0070_settings_fanouts.sql, which explains the columns.

CREATE TABLE settings_fanouts (
    version     INTEGER PRIMARY KEY,
    status      TEXT NOT NULL,
    total       INTEGER NOT NULL,
    told        INTEGER NOT NULL DEFAULT 0,
    last_id     TEXT NOT NULL DEFAULT '',
    started_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL,
    finished_at TIMESTAMP
);
