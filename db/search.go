package db

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	"gorm.io/gorm"

	"github.com/kamflow/kamflow"
)

// The search index (migration 0140; the rules are kamflow.SearchQuery's, in search.go):
//
//	search_entries  one row per account, contact, deal and delivery task: what a result shows
//	                (title, detail), the deal and account its visibility follows, its folded
//	                fields (body, their names in names) and when the record changed
//	search_terms    (term, kind, id): the terms of each entry (kamflow.SearchTerms), whose
//	                primary key answers a prefix of any length by a range scan
//	substrings      PostgreSQL: a pg_trgm GIN index on search_entries.body; SQLite: the FTS5
//	                table search_text (trigram tokenizer) over it, kept by triggers
//
// Every write of a record rewrites its entry in the same transaction (reindex*, called by the
// writes of accounts, contacts, deal projections and delivery plans), from the rows as they then
// are, so that a search right after a write finds it; the entry of a record whose fields did not
// change only has its time moved. Migration 0140's Go step indexes what was stored before.
//
// A query looks up (for each of the two visibility groups: deals and tasks by the deal,
// accounts and contacts by the account)
//
//  1. the entries with a term the query is a prefix of, in term order (so the exact terms come
//     first), at most searchCandidates of them that the viewer may see;
//  2. for a query of three or more characters with a Latin letter or a digit in it (a query of
//     Chinese characters alone is answered whole by the terms, which hold every tail of a run of
//     them; and PostgreSQL's pg_trgm, under the C locale, finds no trigrams in them), the entries
//     whose body holds the query anywhere, at most searchCandidates of them;
//
// then ranks them in Go (kamflow.SearchRank) and keeps the best. Both lookups are bounded, so a
// query matching half the database answers as fast as a rare one: what is cut off is a part
// match (step 2) or a prefix match of a term later in order, never an exact one unless more than
// searchCandidates visible records share the exact term.

// searchCandidates bounds each lookup of a query (see above).
const searchCandidates = 200

// searchChunk is how many records one statement of the index reads or writes.
const searchChunk = 300

// searchEntry is one row of search_entries with its terms.
type searchEntry struct {
	Kind      string
	ID        string
	DealID    string
	AccountID string
	Title     string
	Detail    string
	Names     string
	Body      string
	UpdatedAt time.Time
	terms     []string
}

// newSearchEntry makes the entry of a record with these fields.
func newSearchEntry(kind kamflow.SearchKind, id, dealID, accountID, title, detail string, updated time.Time, fields []kamflow.SearchField) searchEntry {
	var names []string
	for _, f := range fields {
		if kamflow.SearchText([]kamflow.SearchField{f}) != "" {
			names = append(names, f.Name)
		}
	}
	return searchEntry{
		Kind: string(kind), ID: id, DealID: dealID, AccountID: accountID, Title: title, Detail: detail,
		Names: strings.Join(names, "\n"), Body: kamflow.SearchText(fields), UpdatedAt: ts(updated),
		terms: kamflow.SearchTerms(fields),
	}
}

// fields are the entry's folded fields again, for ranking.
func (e *searchEntry) fields() []kamflow.SearchField {
	names, texts := strings.Split(e.Names, "\n"), strings.Split(e.Body, "\n")
	out := make([]kamflow.SearchField, 0, len(texts))
	for i, t := range texts {
		name := ""
		if i < len(names) {
			name = names[i]
		}
		out = append(out, kamflow.SearchField{Name: name, Text: t})
	}
	return out
}

// same reports whether e and o show and match alike (their times aside).
func (e *searchEntry) same(o *searchEntry) bool {
	return e.DealID == o.DealID && e.AccountID == o.AccountID && e.Title == o.Title && e.Detail == o.Detail &&
		e.Names == o.Names && e.Body == o.Body
}

// eachChunk calls fn with the ids searchChunk at a time.
func eachChunk(ids []string, fn func(part []string) error) error {
	for start := 0; start < len(ids); start += searchChunk {
		if err := fn(ids[start:min(len(ids), start+searchChunk)]); err != nil {
			return err
		}
	}
	return nil
}

// reindexAccounts rewrites the entries of the accounts ids as they are stored.
func reindexAccounts(tx *gorm.DB, ids ...string) error {
	return eachChunk(ids, func(part []string) error {
		var rows []struct {
			ID, Name  string
			UpdatedAt time.Time
		}
		if err := tx.Raw("SELECT id, name, updated_at FROM accounts WHERE "+inList("id", len(part)), anys(part)...).Scan(&rows).Error; err != nil {
			return fmt.Errorf("db: index accounts: %w", err)
		}
		entries := make([]searchEntry, 0, len(rows))
		for _, r := range rows {
			entries = append(entries, newSearchEntry(kamflow.SearchAccount, r.ID, "", r.ID, r.Name, "", r.UpdatedAt,
				[]kamflow.SearchField{{Name: "name", Text: r.Name}, {Name: "id", Text: r.ID}}))
		}
		return writeSearch(tx, kamflow.SearchAccount, "id", part, entries)
	})
}

// reindexContacts rewrites the entries of the contacts ids as they are stored.
func reindexContacts(tx *gorm.DB, ids ...string) error {
	return eachChunk(ids, func(part []string) error {
		var rows []struct {
			ID, AccountID, Name, Title, Phone, Email string
			UpdatedAt                                time.Time
		}
		err := tx.Raw("SELECT id, account_id, name, title, phone, email, updated_at FROM contacts WHERE "+inList("id", len(part)),
			anys(part)...).Scan(&rows).Error
		if err != nil {
			return fmt.Errorf("db: index contacts: %w", err)
		}
		entries := make([]searchEntry, 0, len(rows))
		for _, r := range rows {
			entries = append(entries, newSearchEntry(kamflow.SearchContact, r.ID, "", r.AccountID, r.Name, r.Title, r.UpdatedAt,
				[]kamflow.SearchField{{Name: "name", Text: r.Name}, {Name: "title", Text: r.Title}, {Name: "phone", Text: r.Phone},
					{Name: "email", Text: r.Email}, {Name: "id", Text: r.ID}}))
		}
		return writeSearch(tx, kamflow.SearchContact, "id", part, entries)
	})
}

// reindexDeals rewrites the entries of the deals ids as they are stored.
func reindexDeals(tx *gorm.DB, ids ...string) error {
	return eachChunk(ids, func(part []string) error {
		var rows []struct {
			ID, AccountID, Title string
			UpdatedAt            time.Time
		}
		err := tx.Raw("SELECT id, account_id, title, updated_at FROM deals WHERE "+inList("id", len(part)), anys(part)...).Scan(&rows).Error
		if err != nil {
			return fmt.Errorf("db: index deals: %w", err)
		}
		entries := make([]searchEntry, 0, len(rows))
		for _, r := range rows {
			entries = append(entries, newSearchEntry(kamflow.SearchDeal, r.ID, r.ID, r.AccountID, r.Title, "", r.UpdatedAt,
				[]kamflow.SearchField{{Name: "title", Text: r.Title}, {Name: "id", Text: r.ID}}))
		}
		return writeSearch(tx, kamflow.SearchDeal, "id", part, entries)
	})
}

// reindexProjectedDeal rewrites the entries of a deal Project took and of its stakeholders'
// contacts.
func reindexProjectedDeal(tx *gorm.DB, dealID string) error {
	if err := reindexDeals(tx, dealID); err != nil {
		return err
	}
	var contacts []string
	if err := tx.Raw("SELECT contact_id FROM deal_stakeholders WHERE deal_id = ?", dealID).Scan(&contacts).Error; err != nil {
		return fmt.Errorf("db: index the stakeholders of deal %s: %w", dealID, err)
	}
	return reindexContacts(tx, contacts...)
}

// taskEntryID is a delivery task's entry ID: its key is only unique within its deal's plan.
func taskEntryID(dealID, key string) string { return dealID + "/" + key }

// reindexTasks rewrites the entries of the delivery tasks of the deals dealIDs as their plans are
// stored: a task is found by its title (its key's words when it has none) and its key.
func reindexTasks(tx *gorm.DB, dealIDs ...string) error {
	return eachChunk(dealIDs, func(part []string) error {
		var rows []struct {
			DealID, Data string
		}
		err := tx.Raw("SELECT deal_id, data FROM delivery_plans WHERE "+inList("deal_id", len(part)), anys(part)...).Scan(&rows).Error
		if err != nil {
			return fmt.Errorf("db: index delivery tasks: %w", err)
		}
		var entries []searchEntry
		for _, r := range rows {
			var p kamflow.DeliveryPlan
			if err := json.Unmarshal([]byte(r.Data), &p); err != nil {
				return fmt.Errorf("db: index the delivery tasks of deal %s: %w", r.DealID, err)
			}
			for _, t := range p.Tasks {
				name := t.Title
				if name == "" {
					name = strings.ReplaceAll(t.Key, "_", " ")
				}
				entries = append(entries, newSearchEntry(kamflow.SearchTask, taskEntryID(r.DealID, t.Key), r.DealID, p.AccountID,
					t.Title, t.Key, p.UpdatedAt, []kamflow.SearchField{{Name: "title", Text: name}, {Name: "id", Text: t.Key}}))
			}
		}
		return writeSearch(tx, kamflow.SearchTask, "deal_id", part, entries)
	})
}

// writeSearch makes the entries of kind whose col (id, or deal_id for tasks) is one of scope
// those given: an entry that neither shows nor matches otherwise only has its time moved, the
// others are replaced, and those of scope not given are removed.
func writeSearch(tx *gorm.DB, kind kamflow.SearchKind, col string, scope []string, entries []searchEntry) error {
	var old []searchEntry
	err := tx.Raw(`SELECT kind, id, deal_id, account_id, title, detail, names, body, updated_at FROM search_entries
		WHERE kind = ? AND `+inList(col, len(scope)), append([]any{string(kind)}, anys(scope)...)...).Scan(&old).Error
	if err != nil {
		return fmt.Errorf("db: read the search index: %w", err)
	}
	had := make(map[string]*searchEntry, len(old))
	for i := range old {
		had[old[i].ID] = &old[i]
	}
	var gone []string
	var fresh []searchEntry
	for _, e := range entries {
		o := had[e.ID]
		delete(had, e.ID)
		switch {
		case o == nil:
			fresh = append(fresh, e)
		case !o.same(&e):
			gone = append(gone, e.ID)
			fresh = append(fresh, e)
		case !o.UpdatedAt.Equal(e.UpdatedAt):
			err := tx.Exec("UPDATE search_entries SET updated_at = ? WHERE kind = ? AND id = ?", e.UpdatedAt, e.Kind, e.ID).Error
			if err != nil {
				return fmt.Errorf("db: write the search index: %w", err)
			}
		}
	}
	for id := range had {
		gone = append(gone, id)
	}
	if len(gone) > 0 {
		args := append([]any{string(kind)}, anys(gone)...)
		if err := tx.Exec("DELETE FROM search_terms WHERE kind = ? AND "+inList("id", len(gone)), args...).Error; err != nil {
			return fmt.Errorf("db: write the search index: %w", err)
		}
		if err := tx.Exec("DELETE FROM search_entries WHERE kind = ? AND "+inList("id", len(gone)), args...).Error; err != nil {
			return fmt.Errorf("db: write the search index: %w", err)
		}
	}
	return insertSearch(tx, fresh)
}

// insertSearch inserts entries (none of which is stored) and their terms.
func insertSearch(tx *gorm.DB, entries []searchEntry) error {
	for start := 0; start < len(entries); start += searchChunk {
		part := entries[start:min(len(entries), start+searchChunk)]
		var sql strings.Builder
		sql.WriteString("INSERT INTO search_entries (kind, id, deal_id, account_id, title, detail, names, body, updated_at) VALUES ")
		args := make([]any, 0, 9*len(part))
		for i, e := range part {
			if i > 0 {
				sql.WriteString(", ")
			}
			sql.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?)")
			args = append(args, e.Kind, e.ID, e.DealID, e.AccountID, e.Title, e.Detail, e.Names, e.Body, e.UpdatedAt)
		}
		if err := tx.Exec(sql.String(), args...).Error; err != nil {
			return fmt.Errorf("db: write the search index: %w", err)
		}
	}
	var terms []any
	flush := func() error {
		if len(terms) == 0 {
			return nil
		}
		sql := "INSERT INTO search_terms (term, kind, id) VALUES " +
			strings.TrimSuffix(strings.Repeat("(?, ?, ?), ", len(terms)/3), ", ")
		err := tx.Exec(sql, terms...).Error
		terms = terms[:0]
		if err != nil {
			return fmt.Errorf("db: write the search terms: %w", err)
		}
		return nil
	}
	for _, e := range entries {
		for _, t := range e.terms {
			terms = append(terms, t, e.Kind, e.ID)
			if len(terms) >= 3*1000 {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	}
	return flush()
}

// backfillSearch is migration 140's Go step: it indexes every account, contact, deal and
// delivery plan already stored, a page at a time.
func backfillSearch(tx *gorm.DB) error {
	for _, t := range []struct {
		table, col string
		index      func(tx *gorm.DB, ids ...string) error
	}{
		{"accounts", "id", reindexAccounts},
		{"contacts", "id", reindexContacts},
		{"deals", "id", reindexDeals},
		{"delivery_plans", "deal_id", reindexTasks},
	} {
		last := ""
		for {
			var ids []string
			err := tx.Raw("SELECT "+t.col+" FROM "+t.table+" WHERE "+t.col+" > ? ORDER BY "+t.col+" LIMIT ?", last, 2000).Scan(&ids).Error
			if err != nil {
				return fmt.Errorf("db: index %s: %w", t.table, err)
			}
			if len(ids) == 0 {
				break
			}
			if err := t.index(tx, ids...); err != nil {
				return err
			}
			last = ids[len(ids)-1]
		}
	}
	return nil
}

// RebuildSearch indexes every record again, in one transaction. Nothing needs it (every write
// keeps the index); the tests compare its result with the index the writes kept.
func (d *DB) RebuildSearch(ctx context.Context) error {
	return d.inTx(ctx, "rebuild the search index", backfillSearch)
}

// searchRow is a candidate as a lookup reads it.
type searchRow struct {
	Kind, ID, DealID, AccountID, Title, Detail, Names, Body string
	UpdatedAt                                               time.Time
	DealTitle, AccountName                                  string
}

// searchCols are the columns of a lookup, its tables named se, deals (deal group only) and accounts.
const (
	searchEntryCols = "se.kind, se.id, se.deal_id, se.account_id, se.title, se.detail, se.names, se.body, se.updated_at"
	searchDealFrom  = " JOIN deals ON deals.id = se.deal_id LEFT JOIN accounts ON accounts.id = deals.account_id"
	searchAcctFrom  = " JOIN accounts ON accounts.id = se.account_id"
)

// Search answers q (see the comment at the top of this file and kamflow.SearchQuery).
func (d *DB) Search(ctx context.Context, q kamflow.SearchQuery) ([]kamflow.SearchResult, error) {
	text := kamflow.SearchFold(q.Text)
	if r := []rune(text); len(r) > kamflow.SearchMaxQuery {
		text = strings.TrimSpace(string(r[:kamflow.SearchMaxQuery]))
	}
	if text == "" {
		return []kamflow.SearchResult{}, nil
	}
	limit := q.Limit
	if limit <= 0 {
		limit = kamflow.SearchDefaultLimit
	}
	limit = min(limit, kamflow.SearchMaxLimit)
	kinds := q.Kinds
	if len(kinds) == 0 {
		kinds = kamflow.SearchKinds
	}
	pick := func(of ...kamflow.SearchKind) []any {
		var out []any
		for _, k := range of {
			if slices.Contains(kinds, k) {
				out = append(out, string(k))
			}
		}
		return out
	}
	parts := searchParts(text)
	found := map[string]*searchRow{}
	db := d.r.WithContext(ctx)
	for _, g := range []struct {
		kinds []any
		from  string
		cols  string
		vis   func(w *where, v *kamflow.Actor)
	}{
		{pick(kamflow.SearchDeal, kamflow.SearchTask), searchDealFrom, "deals.title AS deal_title, COALESCE(accounts.name, '') AS account_name", dealVisibleTo},
		{pick(kamflow.SearchAccount, kamflow.SearchContact), searchAcctFrom, "'' AS deal_title, accounts.name AS account_name", accountVisibleTo},
	} {
		if len(g.kinds) == 0 {
			continue
		}
		var lookups []func() (string, []any)
		lookups = append(lookups, func() (string, []any) {
			w := &where{}
			w.add("t.term >= ? AND t.term < ?", text, text+"\U0010FFFF")
			w.add(inList("t.kind", len(g.kinds)), g.kinds...)
			g.vis(w, q.Viewer)
			return "SELECT " + searchEntryCols + ", " + g.cols + " FROM search_terms t JOIN search_entries se ON se.kind = t.kind AND se.id = t.id" +
				g.from + w.String() + " ORDER BY t.term LIMIT ?", append(w.args, searchCandidates)
		})
		if parts {
			lookups = append(lookups, func() (string, []any) {
				w := &where{}
				from := "search_entries se"
				if d.dialect == DialectSQLite {
					from = "search_text JOIN search_entries se ON se.seq = search_text.rowid"
					w.add("search_text MATCH ?", `"`+strings.ReplaceAll(text, `"`, `""`)+`"`)
				} else {
					w.add(`se.body LIKE ? ESCAPE '\'`, likePattern(text))
				}
				w.add(inList("se.kind", len(g.kinds)), g.kinds...)
				g.vis(w, q.Viewer)
				return "SELECT " + searchEntryCols + ", " + g.cols + " FROM " + from + g.from + w.String() + " LIMIT ?",
					append(w.args, searchCandidates)
			})
		}
		for _, l := range lookups {
			sql, args := l()
			var rows []searchRow
			if err := db.Raw(sql, args...).Scan(&rows).Error; err != nil {
				return nil, fmt.Errorf("db: search: %w", err)
			}
			for i := range rows {
				found[rows[i].Kind+"\x00"+rows[i].ID] = &rows[i]
			}
		}
	}
	out := make([]kamflow.SearchResult, 0, len(found))
	for _, r := range found {
		e := searchEntry{Names: r.Names, Body: r.Body}
		rank, field, ok := kamflow.SearchRank(e.fields(), text)
		if !ok {
			continue
		}
		res := kamflow.SearchResult{
			Kind: kamflow.SearchKind(r.Kind), ID: r.ID, Title: r.Title, DealID: r.DealID, AccountID: r.AccountID,
			Field: field, Rank: rank, UpdatedAt: utc(r.UpdatedAt),
		}
		switch res.Kind {
		case kamflow.SearchContact:
			res.Detail, res.Context = r.Detail, r.AccountName
		case kamflow.SearchDeal:
			res.Context = r.AccountName
		case kamflow.SearchTask:
			res.ID, res.Context = r.Detail, r.DealTitle // the entry's detail is the task's key
		}
		out = append(out, res)
	}
	slices.SortFunc(out, func(a, b kamflow.SearchResult) int {
		return cmp.Or(cmp.Compare(a.Rank, b.Rank), b.UpdatedAt.Compare(a.UpdatedAt),
			cmp.Compare(slices.Index(kamflow.SearchKinds, a.Kind), slices.Index(kamflow.SearchKinds, b.Kind)),
			cmp.Compare(a.DealID+"/"+a.ID, b.DealID+"/"+b.ID))
	})
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// searchParts reports whether the folded query text is also looked up as a part of the fields:
// three characters or more, one of them a Latin letter or a digit (see the top of this file).
func searchParts(text string) bool {
	if len([]rune(text)) < 3 {
		return false
	}
	return strings.ContainsFunc(text, func(r rune) bool { return r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)) })
}
