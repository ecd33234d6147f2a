-- The fan-outs of the settings to the running deals (kamflow.FanoutProgress): one row per
-- settings version told. Keep in step with ../sqlite/0070_settings_fanouts.sql.

-- total is the active deals counted when the fan-out began, told how many have been told so far,
-- last_id the last deal ID told (the deals are told in ID order): a fan-out interrupted carries on
-- after it. status is running, done or superseded (a newer version's fan-out tells every deal).
CREATE TABLE settings_fanouts (
    version     bigint PRIMARY KEY,
    status      text NOT NULL,
    total       integer NOT NULL,
    told        integer NOT NULL DEFAULT 0,
    last_id     text NOT NULL DEFAULT '',
    started_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    finished_at timestamptz
);
