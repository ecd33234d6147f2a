-- Long texts of deals (a stakeholder's or criterion's notes, a proposal's summary), by the hash of
-- their content (kamflow.TextRef): the deal's record refers to them, the database keeps them.
CREATE TABLE texts (
    ref TEXT PRIMARY KEY,
    body TEXT NOT NULL
);
