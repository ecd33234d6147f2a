-- The pipeline as people work from it (issue 16): the views each user saved by name, and the
-- indexes of the deal list's orders. Keep in step with ../postgres/0160_saved_views.sql, which
-- explains both.
CREATE TABLE saved_views (
    id         TEXT PRIMARY KEY,
    username   TEXT NOT NULL,
    page       TEXT NOT NULL,
    name       TEXT NOT NULL,
    query      TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (username, page, name)
);
CREATE INDEX deals_active_value ON deals (value, id) WHERE status IN ('open', 'won');
CREATE INDEX deals_active_close ON deals (expected_close, id) WHERE status IN ('open', 'won');
CREATE INDEX deals_active_probability ON deals (win_probability, id) WHERE status IN ('open', 'won');
CREATE INDEX deals_active_entered ON deals (stage_entered_at, id) WHERE status IN ('open', 'won');
CREATE INDEX deals_active_title ON deals (title, id) WHERE status IN ('open', 'won');
CREATE INDEX deals_stage_active_value ON deals (stage, value, id) WHERE status IN ('open', 'won');
