-- The pipeline as people work from it (issue 16). Keep in step with
-- ../sqlite/0160_saved_views.sql.

-- saved_views are the board and list views a user saved by name (kamflow.SavedView): the page
-- (board or list) and the query string of its URL, which holds the filters and the order. A
-- user's name is unique per page; saving under it again replaces the view.
CREATE TABLE saved_views (
    id         text PRIMARY KEY,
    username   text NOT NULL,
    page       text NOT NULL,
    name       text NOT NULL,
    query      text NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    UNIQUE (username, page, name)
);

-- The deal list's orders over the active deals (the board's and the list view's deals): each a
-- sort column and the id, read forwards or backwards, so that a page of the list under any order
-- is read from an index rather than sorted. The deals of one stage by value, the board's column
-- under its most used order, have one of their own. A list of all deals in the default order
-- keeps deals_updated.
CREATE INDEX deals_active_value ON deals (value, id) WHERE status IN ('open', 'won');
CREATE INDEX deals_active_close ON deals (expected_close, id) WHERE status IN ('open', 'won');
CREATE INDEX deals_active_probability ON deals (win_probability, id) WHERE status IN ('open', 'won');
CREATE INDEX deals_active_entered ON deals (stage_entered_at, id) WHERE status IN ('open', 'won');
CREATE INDEX deals_active_title ON deals (title, id) WHERE status IN ('open', 'won');
CREATE INDEX deals_stage_active_value ON deals (stage, value, id) WHERE status IN ('open', 'won');
