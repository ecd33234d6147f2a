-- The search index. Keep in step with ../postgres/0140_search.sql, which explains the tables; the
-- entries of the records already stored are written by this migration's Go step (db/migrate.go,
-- goSteps). seq is the entry's rowid for the FTS5 table, declared so that VACUUM keeps it.
CREATE TABLE search_entries (
    seq        INTEGER PRIMARY KEY,
    kind       TEXT NOT NULL,
    id         TEXT NOT NULL,
    deal_id    TEXT NOT NULL DEFAULT '',
    account_id TEXT NOT NULL DEFAULT '',
    title      TEXT NOT NULL,
    detail     TEXT NOT NULL DEFAULT '',
    names      TEXT NOT NULL,
    body       TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX search_entries_key ON search_entries (kind, id);
CREATE INDEX search_entries_deal ON search_entries (deal_id, kind);

-- A part of a field anywhere, for queries of three characters or more: FTS5's trigram tokenizer
-- over the entries' bodies (an external-content table, kept by the triggers below).
CREATE VIRTUAL TABLE search_text USING fts5 (body, content = 'search_entries', content_rowid = 'seq', tokenize = 'trigram');
CREATE TRIGGER search_entries_ai AFTER INSERT ON search_entries BEGIN
    INSERT INTO search_text (rowid, body) VALUES (new.seq, new.body);
END;
CREATE TRIGGER search_entries_ad AFTER DELETE ON search_entries BEGIN
    INSERT INTO search_text (search_text, rowid, body) VALUES ('delete', old.seq, old.body);
END;
CREATE TRIGGER search_entries_au AFTER UPDATE OF body ON search_entries BEGIN
    INSERT INTO search_text (search_text, rowid, body) VALUES ('delete', old.seq, old.body);
    INSERT INTO search_text (rowid, body) VALUES (new.seq, new.body);
END;

-- The entries' terms: a prefix of any length is a range of the primary key (BINARY: code point
-- order).
CREATE TABLE search_terms (
    term TEXT NOT NULL,
    kind TEXT NOT NULL,
    id   TEXT NOT NULL,
    PRIMARY KEY (term, kind, id)
) WITHOUT ROWID;
CREATE INDEX search_terms_entry ON search_terms (kind, id);
