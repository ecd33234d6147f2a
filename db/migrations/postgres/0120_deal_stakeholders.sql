-- One buying center per account: each stakeholder of a deal is one of the account's contacts.
-- Keep in step with ../sqlite/0120_deal_stakeholders.sql.

-- deal_stakeholders are a deal's stakeholders (kamflow.Deal.Stakeholders) linked to the contacts
-- they are, kept in step with the deal row by Project (db/stakeholders.go). name_fold is the
-- stakeholder's name on the deal as kamflow.NormName folds it: a deal's record from before
-- stakeholders were contacts names them only, and is mapped onto its contacts by it. role, stance
-- and engaged are the person's on this deal, for the account's buying center across its deals.
-- The rows of the deals already stored, each stakeholder matched onto an existing contact of the
-- account by the contacts import's rule (kamflow.SamePerson) or made a new contact, are written by
-- this migration's Go step (db/migrate.go, goSteps), in the same transaction.
CREATE TABLE deal_stakeholders (
    deal_id    text NOT NULL,
    contact_id text NOT NULL REFERENCES contacts (id),
    name_fold  text NOT NULL,
    role       text NOT NULL,
    stance     text NOT NULL,
    engaged    boolean NOT NULL DEFAULT false,
    PRIMARY KEY (deal_id, contact_id)
);
-- A contact's deals, for the account's buying center.
CREATE INDEX deal_stakeholders_contact ON deal_stakeholders (contact_id, deal_id);
