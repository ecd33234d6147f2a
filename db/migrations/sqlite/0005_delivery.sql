-- Delivery and after-sales service: the projection of each deal's delivery plan and of its service
-- visits. Keep in step with ../postgres/0005_delivery.sql, which explains the tables.

CREATE TABLE delivery_plans (
    deal_id    TEXT PRIMARY KEY REFERENCES deals (id),
    seq        INTEGER NOT NULL,
    data       TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE service_visits (
    id                TEXT PRIMARY KEY,
    deal_id           TEXT NOT NULL REFERENCES delivery_plans (deal_id),
    account_id        TEXT NOT NULL,
    site              TEXT NOT NULL DEFAULT '',
    round             INTEGER NOT NULL,
    due               TEXT NOT NULL,
    assignee          TEXT NOT NULL DEFAULT '',
    status            TEXT NOT NULL,
    faults_found      INTEGER NOT NULL DEFAULT 0,
    faults_unresolved INTEGER NOT NULL DEFAULT 0,
    satisfaction      TEXT NOT NULL DEFAULT '',
    visited_on        TEXT NOT NULL DEFAULT '',
    reported_at       TIMESTAMP,
    created_at        TIMESTAMP NOT NULL,
    data              TEXT NOT NULL
);
CREATE INDEX service_visits_assignee ON service_visits (assignee, status, due, id);
CREATE INDEX service_visits_account ON service_visits (account_id, due, id);
CREATE INDEX service_visits_deal ON service_visits (deal_id, due, id);
