-- The search index (db/search.go explains it; kamflow.SearchQuery the rules). Keep in step with
-- ../sqlite/0140_search.sql. The entries of the records already stored are written by this
-- migration's Go step (db/migrate.go, goSteps), in the same transaction.
--
-- pg_trgm ships with PostgreSQL (contrib) and is a trusted extension: the database's owner may
-- create it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- search_entries has one row per account, contact, deal and delivery task (id: the deal's id, a
-- slash and the task's key). deal_id and account_id are what the entry's visibility follows (the
-- deal for deals and tasks, the account for accounts and contacts); title and detail are what a
-- result shows; body is the searchable fields folded (kamflow.SearchText), one a line, and names
-- their names, one a line; updated_at is when the record changed (the ranking's tie-break).
CREATE TABLE search_entries (
    kind       text NOT NULL,
    id         text NOT NULL,
    deal_id    text NOT NULL DEFAULT '',
    account_id text NOT NULL DEFAULT '',
    title      text NOT NULL,
    detail     text NOT NULL DEFAULT '',
    names      text NOT NULL,
    body       text NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (kind, id)
);
CREATE INDEX search_entries_deal ON search_entries (deal_id, kind);
-- A part of a field anywhere, for queries of three characters or more: LIKE '%…%' on the trigrams.
CREATE INDEX search_entries_body ON search_entries USING gin (body gin_trgm_ops);

-- search_terms are the entries' terms (kamflow.SearchTerms): a prefix of any length, one or two
-- Chinese characters too, is a range of the primary key. The C collation orders by code point,
-- so that a prefix's range is [prefix, prefix || U+10FFFF).
CREATE TABLE search_terms (
    term text COLLATE "C" NOT NULL,
    kind text NOT NULL,
    id   text NOT NULL,
    PRIMARY KEY (term, kind, id)
);
CREATE INDEX search_terms_entry ON search_terms (kind, id);
