-- Delivery and after-sales service: the projection of each deal's delivery plan and of its service
-- visits, written by the delivery workflows' activity (DB.ProjectDelivery). Keep in step with
-- ../sqlite/0005_delivery.sql.

-- delivery_plans holds a deal's whole kamflow.DeliveryPlan as JSON (data), which is what reads
-- return. seq is the plan's Seq: a write whose plan is not newer than the stored one is skipped,
-- so that a retried or late projection never rolls the plan back. The foreign key holds because a
-- deal reaches delivery only after its row was projected; were a plan to arrive first, its write
-- fails and the activity retries it until the deal's row is there.
CREATE TABLE delivery_plans (
    deal_id    text PRIMARY KEY REFERENCES deals (id),
    seq        bigint NOT NULL,
    data       text NOT NULL,
    updated_at timestamptz NOT NULL
);

-- service_visits has one row per visit of a plan (id "<deal id>-v<round>"), written with the plan
-- that holds it; data is the whole kamflow.ServiceVisit as JSON, the other columns filter and sum.
-- due and visited_on are dates (YYYY-MM-DD, '' when unset); the report's columns stay at their
-- defaults until the visit is reported.
CREATE TABLE service_visits (
    id                text PRIMARY KEY,
    deal_id           text NOT NULL REFERENCES delivery_plans (deal_id),
    account_id        text NOT NULL,
    site              text NOT NULL DEFAULT '',
    round             integer NOT NULL,
    due               text NOT NULL,
    assignee          text NOT NULL DEFAULT '',
    status            text NOT NULL,
    faults_found      integer NOT NULL DEFAULT 0,
    faults_unresolved integer NOT NULL DEFAULT 0,
    satisfaction      text NOT NULL DEFAULT '',
    visited_on        text NOT NULL DEFAULT '',
    reported_at       timestamptz,
    created_at        timestamptz NOT NULL,
    data              text NOT NULL
);
-- The lists read the earliest due first: an engineer's visits (to do: status due), an account's
-- (its service report reads them all) and a deal's.
CREATE INDEX service_visits_assignee ON service_visits (assignee, status, due, id);
CREATE INDEX service_visits_account ON service_visits (account_id, due, id);
CREATE INDEX service_visits_deal ON service_visits (deal_id, due, id);
