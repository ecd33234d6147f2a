-- Stage analytics, the escalation ladder's configuration and users' e-mail addresses. Keep in
-- step with ../sqlite/0004_reports_escalation.sql.

-- How each stay in a stage ended, kept on the row that began it (a created, advanced or forced
-- transition into the stage): the kind of the transition out of the stage (advanced, forced,
-- delivered, closed) and when, or '' and NULL while the deal is still in it. Project writes them
-- with the transition out (or, for a transition in projected late, from the one out already
-- there); here they are filled in for the history so far. With them the funnel and time in stage
-- read one range of one index instead of joining the stage history with itself.
ALTER TABLE stage_transitions ADD COLUMN exit_kind text NOT NULL DEFAULT '';
ALTER TABLE stage_transitions ADD COLUMN exit_at timestamptz;
UPDATE stage_transitions AS e SET exit_kind = x.kind, exit_at = x.at
    FROM stage_transitions AS x
    WHERE x.deal_id = e.deal_id AND x.from_stage = e.to_stage
      AND x.kind IN ('advanced', 'forced', 'delivered', 'closed')
      AND e.kind IN ('created', 'advanced', 'forced');

-- The funnel: the stays begun in a period, with how they ended. (kind, and paused below, are last
-- in the indexes for SQLite, which reads only an index that has every column the query names.)
CREATE INDEX stage_transitions_entries ON stage_transitions (at, to_stage, exit_kind, deal_id, kind)
    WHERE kind IN ('created', 'advanced', 'forced');
-- The forced moves (few), by the stage forced out of: the funnel of all time.
CREATE INDEX stage_transitions_forced ON stage_transitions (from_stage, deal_id) WHERE kind = 'forced';
-- Time in stage: the stays ended in a period.
CREATE INDEX stage_transitions_stays ON stage_transitions (exit_at, to_stage, at, deal_id, kind)
    WHERE kind IN ('created', 'advanced', 'forced') AND exit_at IS NOT NULL;
-- The reports' joins to the deals (visibility, team, owner, stage, status) read only this index.
CREATE INDEX deals_reports ON deals (id, stage, status, team_id, owner);
-- The versions in which a deal was paused (few): time paused comes out of time in stage.
CREATE INDEX deal_versions_paused ON deal_versions (deal_id, seq, at, paused) WHERE paused;
-- The forcing report reads the deals opened in a period.
CREATE INDEX deals_created ON deals (created_at, id);

-- The escalation ladder (kamflow.Escalation as JSON): per stage, when directors are told; per team,
-- overrides. Apart from settings, whose JSON the API serves as it is.
CREATE TABLE escalation_settings (
    id         integer PRIMARY KEY CHECK (id = 1),
    data       text NOT NULL,
    updated_at timestamptz NOT NULL
);

-- Users' e-mail addresses, for notices by e-mail. A table of its own: the users table (and the
-- User the API serves) is left as it is.
CREATE TABLE user_emails (
    user_id    text PRIMARY KEY REFERENCES users (id),
    email      text NOT NULL,
    updated_at timestamptz NOT NULL
);
