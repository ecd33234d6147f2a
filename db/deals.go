package db

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"
	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/kamflow/kamflow"
)

// upsertDeal writes a deal row unless the stored row is as new or newer (by seq): retried and
// reordered projections then never roll a deal back. ON CONFLICT ... DO UPDATE ... WHERE is the
// same in PostgreSQL and SQLite (3.24+).
const upsertDeal = `INSERT INTO deals (id, account_id, title, value, currency, owner, team_id, stage,
	status, grade, stalled, forced, win_probability, expected_close, stage_entered_at,
	last_progress_at, stalled_since, seq, created_at, updated_at, data)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET
	account_id = excluded.account_id, title = excluded.title, value = excluded.value,
	currency = excluded.currency, owner = excluded.owner, team_id = excluded.team_id,
	stage = excluded.stage, status = excluded.status, grade = excluded.grade, stalled = excluded.stalled,
	forced = excluded.forced, win_probability = excluded.win_probability,
	expected_close = excluded.expected_close, stage_entered_at = excluded.stage_entered_at,
	last_progress_at = excluded.last_progress_at, stalled_since = excluded.stalled_since,
	seq = excluded.seq, created_at = excluded.created_at, updated_at = excluded.updated_at,
	data = excluded.data
WHERE deals.seq < excluded.seq`

// insertTransition writes a stage-history row once: (deal_id, seq) identifies it.
const insertTransition = `INSERT INTO stage_transitions (deal_id, seq, kind, from_stage, to_stage,
	status, forced, reason, competitor, missing, actor, at, reason_code)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (deal_id, seq) DO NOTHING`

// exitStay records on the transition into a stage how the deal's stay there ended: the
// transition out of it (a move on, a close, the delivery). Both are written by Project, so the
// funnel and time in stage need no join of the stage history with itself.
const exitStay = `UPDATE stage_transitions SET exit_kind = ?, exit_at = ?
	WHERE deal_id = ? AND to_stage = ? AND kind IN ('created', 'advanced', 'forced')`

// enterStay is exitStay for a transition into a stage projected after the transition out of it (a
// late retry): it takes how the stay ended from the transition out, if there is one.
const enterStay = `UPDATE stage_transitions SET
	exit_kind = (SELECT x.kind FROM stage_transitions x WHERE x.deal_id = ? AND x.from_stage = ?
		AND x.kind IN ('advanced', 'forced', 'delivered', 'closed')),
	exit_at = (SELECT x.at FROM stage_transitions x WHERE x.deal_id = ? AND x.from_stage = ?
		AND x.kind IN ('advanced', 'forced', 'delivered', 'closed'))
	WHERE deal_id = ? AND seq = ? AND EXISTS (SELECT 1 FROM stage_transitions x WHERE x.deal_id = ?
		AND x.from_stage = ? AND x.kind IN ('advanced', 'forced', 'delivered', 'closed'))`

// Which transitions begin a stay, and which end one.
var (
	entryKind = map[string]bool{kamflow.TransitionCreated: true, kamflow.TransitionAdvanced: true, kamflow.TransitionForced: true}
	exitKind  = map[string]bool{kamflow.TransitionAdvanced: true, kamflow.TransitionForced: true,
		kamflow.TransitionDelivered: true, kamflow.TransitionClosed: true}
)

const insertVersion = `INSERT INTO deal_versions (deal_id, seq, at, account_id, owner, team_id,
	stage, status, grade, value, currency, win_probability, expected_close, paused, stalled, forced)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (deal_id, seq) DO NOTHING`

// Project writes p idempotently, in one transaction: the deal row (and with it the deal's
// engineers) only if it is newer than the stored one, the transition (if any) only if not written
// yet, and the audit entry (if any) only if no entry with its key is stored yet. The audit entry
// is written even when the deal row is not (a retry after a later change was projected), so that
// no accepted change lacks its entry.
//
// An audit entry without a key gets the key the domain gives a deal's changes, "deal:<id>:<seq>"
// of p.Deal: AuditEntry.Key is not part of the entry's JSON, so a projection that travelled as
// JSON (as an activity's input does) arrives without it. An entry without a DealID, an entity or
// an action is taken to be about p.Deal; one about another deal is invalid.
func (d *DB) Project(ctx context.Context, p kamflow.Projection) error {
	return d.project(ctx, p, new(bool))
}

// ProjectNew is Project, and reports whether p's transition is a new one, written now: false
// for a projection without a transition, or whose transition an earlier try wrote. A retried
// projection's move is so counted once.
func (d *DB) ProjectNew(ctx context.Context, p kamflow.Projection) (fresh bool, err error) {
	if err := d.project(ctx, p, &fresh); err != nil {
		return false, err
	}
	return fresh, nil
}

func (d *DB) project(ctx context.Context, p kamflow.Projection, fresh *bool) error {
	deal := p.Deal
	if deal.ID == "" {
		return kamflow.Errorf(kamflow.EINVALID, "projection of a deal without an id")
	}
	t := p.Transition
	if t != nil && t.DealID != "" && t.DealID != deal.ID {
		return kamflow.Errorf(kamflow.EINVALID, "transition of deal %q projected with deal %q", t.DealID, deal.ID)
	}
	data, err := json.Marshal(&deal)
	if err != nil {
		return fmt.Errorf("db: encode deal %s: %w", deal.ID, err)
	}
	var missing []byte
	if t != nil {
		if missing, err = json.Marshal(nonNil(t.Missing)); err != nil {
			return fmt.Errorf("db: encode transition of deal %s: %w", deal.ID, err)
		}
	}
	var audit *auditRow
	if p.Audit != nil {
		e := *p.Audit // the caller's entry stays as it is
		if e.DealID == "" {
			e.DealID = deal.ID
		}
		if e.DealID != deal.ID {
			return kamflow.Errorf(kamflow.EINVALID, "audit entry of deal %q projected with deal %q", e.DealID, deal.ID)
		}
		if e.Key == "" {
			e.Key = fmt.Sprintf("deal:%s:%d", deal.ID, deal.Seq)
		}
		// A projection must not fail for good (its workflow would retry it forever): an entry
		// that does not say what it is about is about the deal.
		if e.EntityType == "" {
			e.EntityType, e.EntityID = "deal", deal.ID
		}
		if e.Action == "" {
			e.Action = "deal.change"
		}
		if audit, err = newAuditRow(&e, time.Now()); err != nil {
			return err
		}
	}
	err = d.inTx(ctx, "project deal "+deal.ID, func(tx *gorm.DB) error {
		// The upsert comes first: it locks the deal's row (on PostgreSQL even when the seq guard
		// skips the update), so projections of one deal run one after the other from here on.
		res := tx.Exec(upsertDeal,
			deal.ID, deal.AccountID, deal.Title, int64(deal.Value), deal.Currency, deal.Owner,
			deal.TeamID, string(deal.Stage), string(deal.Status), string(deal.Grade()), deal.Stalled,
			deal.Forced, deal.WinProbability().Value, string(deal.ExpectedClose), ts(deal.StageEnteredAt),
			ts(deal.LastProgressAt), nullTS(deal.StalledSince), deal.Seq, ts(deal.CreatedAt),
			ts(deal.UpdatedAt), string(data))
		if res.Error != nil {
			return fmt.Errorf("db: project deal %s: %w", deal.ID, res.Error)
		}
		// Both dialects count a row the seq guard left alone as unaffected.
		if res.RowsAffected > 0 {
			if err := replaceEngineers(tx, deal.ID, deal.Engineers); err != nil {
				return err
			}
			if err := linkStakeholders(tx, &deal); err != nil {
				return err
			}
			// The deal's search entry, and those of the contacts its stakeholders are (which
			// linkStakeholders may have made).
			if err := reindexProjectedDeal(tx, deal.ID); err != nil {
				return err
			}
		}
		// The version is written whether or not the seq guard took the row: a late projection
		// still fills in its place in the deal's past.
		err := tx.Exec(insertVersion,
			deal.ID, deal.Seq, ts(deal.UpdatedAt), deal.AccountID, deal.Owner, deal.TeamID,
			string(deal.Stage), string(deal.Status), string(deal.Grade()), int64(deal.Value), deal.Currency,
			deal.WinProbability().Value, string(deal.ExpectedClose), deal.Pause != nil, deal.Stalled, deal.Forced).Error
		if err != nil {
			return fmt.Errorf("db: project version %d of deal %s: %w", deal.Seq, deal.ID, err)
		}
		if t != nil {
			res := tx.Exec(insertTransition,
				deal.ID, t.Seq, t.Kind, string(t.FromStage), string(t.ToStage), string(t.Status), t.Forced,
				t.Reason, t.Competitor, string(missing), t.Actor, ts(t.At), t.ReasonCode)
			*fresh = res.Error == nil && res.RowsAffected > 0
			if err := res.Error; err != nil {
				return fmt.Errorf("db: project transition %d of deal %s: %w", t.Seq, deal.ID, err)
			}
			if exitKind[t.Kind] {
				if err := tx.Exec(exitStay, t.Kind, ts(t.At), deal.ID, string(t.FromStage)).Error; err != nil {
					return fmt.Errorf("db: project transition %d of deal %s: end of the stay in %s: %w", t.Seq, deal.ID, t.FromStage, err)
				}
			}
			if entryKind[t.Kind] {
				st := string(t.ToStage)
				if err := tx.Exec(enterStay, deal.ID, st, deal.ID, st, deal.ID, t.Seq, deal.ID, st).Error; err != nil {
					return fmt.Errorf("db: project transition %d of deal %s: stay in %s: %w", t.Seq, deal.ID, st, err)
				}
			}
		}
		if audit != nil {
			if _, err := audit.insert(tx); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil && refused(err) {
		// No retry can write it: the deal's workflow stops retrying and asks for attention.
		return kamflow.Errorf(kamflow.EINVALID, "the database refused change %d of deal %s: %v", deal.Seq, deal.ID, err)
	}
	return err
}

// refused reports whether err is the database refusing the data, which no retry of the same write
// can get past: on PostgreSQL a data exception (SQLSTATE class 22: a value too long or out of
// range, text it cannot store) or an integrity constraint's violation (class 23: a check, a
// foreign key, NOT NULL, a trigger raising one) — except a unique violation, which a write racing
// another can meet and its retry get past; on SQLite a constraint's violation (a trigger's
// RAISE(ABORT) among them; one writer at a time, so none is a race), a string or blob too big, a
// datatype mismatch. A lost connection, a timeout, a serialization failure or a deadlock is not:
// a retry may well succeed.
func refused(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		if pe.Code == "23505" {
			return false
		}
		return strings.HasPrefix(pe.Code, "22") || strings.HasPrefix(pe.Code, "23")
	}
	var se *msqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_CONSTRAINT, sqlite3.SQLITE_TOOBIG, sqlite3.SQLITE_MISMATCH:
			return true
		}
	}
	return false
}

// replaceEngineers makes the deal's deal_engineers rows the given engineers.
func replaceEngineers(tx *gorm.DB, dealID string, engineers []string) error {
	if err := tx.Exec("DELETE FROM deal_engineers WHERE deal_id = ?", dealID).Error; err != nil {
		return fmt.Errorf("db: project engineers of deal %s: %w", dealID, err)
	}
	var (
		rows []string
		args []any
		seen = map[string]bool{}
	)
	for _, e := range engineers {
		if e == "" || seen[e] {
			continue
		}
		seen[e] = true
		rows = append(rows, "(?, ?)")
		args = append(args, dealID, e)
	}
	if len(rows) == 0 {
		return nil
	}
	err := tx.Exec("INSERT INTO deal_engineers (deal_id, username) VALUES "+strings.Join(rows, ", "), args...).Error
	if err != nil {
		return fmt.Errorf("db: project engineers of deal %s: %w", dealID, err)
	}
	return nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// Deal returns the deal with the given id.
func (d *DB) Deal(ctx context.Context, id string) (*kamflow.Deal, error) {
	var data []string
	if err := d.r.WithContext(ctx).Raw("SELECT data FROM deals WHERE id = ?", id).Scan(&data).Error; err != nil {
		return nil, fmt.Errorf("db: read deal %s: %w", id, err)
	}
	if len(data) == 0 {
		return nil, kamflow.Errorf(kamflow.ENOTFOUND, "deal %q not found", id)
	}
	return decodeDeal(data[0])
}

func decodeDeal(data string) (*kamflow.Deal, error) {
	var deal kamflow.Deal
	if err := json.Unmarshal([]byte(data), &deal); err != nil {
		return nil, fmt.Errorf("db: decode deal: %w", err)
	}
	return &deal, nil
}

// parallelDecode is the number of deals from which decodeDeals spreads the work over the CPUs:
// decoding is most of the time of a long list (the stalled review of a large installation: some
// 20 µs a deal), and a few hundred deals are worth a goroutine each CPU.
const parallelDecode = 256

func decodeDeals(data []string) ([]*kamflow.Deal, error) {
	deals := make([]*kamflow.Deal, len(data))
	workers := min(runtime.GOMAXPROCS(0), len(data)/parallelDecode+1)
	if workers <= 1 {
		for i, s := range data {
			deal, err := decodeDeal(s)
			if err != nil {
				return nil, err
			}
			deals[i] = deal
		}
		return deals, nil
	}
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Worker w decodes every workers-th deal, so that each gets a fair share of the list.
			for i := w; i < len(data); i += workers {
				deal, err := decodeDeal(data[i])
				if err != nil {
					errs[w] = err
					return
				}
				deals[i] = deal
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return deals, nil
}

// where collects the conditions and arguments of a query.
type where struct {
	conds []string
	args  []any
}

func (w *where) add(cond string, args ...any) {
	w.conds = append(w.conds, cond)
	w.args = append(w.args, args...)
}

func (w *where) String() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// activeStatuses is the SQL condition for the deals on which work can still be done. It lists
// the statuses (rather than excluding the final ones) so that an index on status can serve it.
var activeStatuses = "status " + activeIn

// activeIn is the test of activeStatuses.
var activeIn = fmt.Sprintf("IN ('%s', '%s')", kamflow.StatusOpen, kamflow.StatusWon)

// Deals lists the deals f selects in f's order (the most recently updated first by default),
// and counts all of them. With a Viewer, only the deals the viewer may see are listed and counted.
func (d *DB) Deals(ctx context.Context, f kamflow.DealFilter) ([]*kamflow.Deal, int, error) {
	w := dealWhere(f)
	if f.Status != "" {
		w.add("status = ?", string(f.Status))
	} else if f.Active {
		w.add(activeStatuses) // literal: SQLite uses the partial deals_active_* indexes only for it
	}
	limit, offset := limits(f.Page)
	db := d.r.WithContext(ctx)
	var total int64
	if err := db.Raw("SELECT count(*) FROM deals"+w.String(), w.args...).Scan(&total).Error; err != nil {
		return nil, 0, fmt.Errorf("db: count deals: %w", err)
	}
	// The page's ids first, then their rows: a filter whose rows are not in the order of one index
	// (a KAM's owner OR team, a director's several teams) is sorted, and SQLite's sorter would
	// carry every candidate's JSON (thousands of them) where it now carries the sort key and id.
	order := dealOrder(f.Sort, f.Desc)
	var data []string
	err := db.Raw("SELECT data FROM deals WHERE id IN (SELECT id FROM deals"+w.String()+
		" ORDER BY "+order+" LIMIT ? OFFSET ?) ORDER BY "+order,
		append(w.args, limit, offset)...).Scan(&data).Error
	if err != nil {
		return nil, 0, fmt.Errorf("db: list deals: %w", err)
	}
	deals, err := decodeDeals(data)
	if err != nil {
		return nil, 0, err
	}
	return deals, int(total), nil
}

// stageOrder is the stages in order as SQL, for the stage sort.
var stageOrder = func() string {
	var b strings.Builder
	b.WriteString("CASE stage")
	for i, st := range kamflow.Stages {
		fmt.Fprintf(&b, " WHEN '%s' THEN %d", st, i)
	}
	b.WriteString(" ELSE 99 END")
	return b.String()
}()

// dealOrder is the ORDER BY of a sort: its column, then the id in the same direction, so that a
// page never overlaps the next and an index on (column, id) serves both directions. Days in stage
// are the stage's entry time the other way round (the longest stay entered first).
func dealOrder(s kamflow.DealSort, desc bool) string {
	col := map[kamflow.DealSort]string{
		kamflow.SortValue: "value", kamflow.SortClose: "expected_close", kamflow.SortProbability: "win_probability",
		kamflow.SortTitle: "title", kamflow.SortStage: stageOrder, kamflow.SortDays: "stage_entered_at",
	}[s]
	if col == "" {
		col = "updated_at"
	}
	if s == "" {
		desc = true // the zero value: the most recently updated first
	}
	if s == kamflow.SortDays {
		desc = !desc
	}
	if col == "updated_at" {
		// The order of deals_updated (updated_at DESC, id), forwards or backwards.
		if desc {
			return "updated_at DESC, id"
		}
		return "updated_at ASC, id DESC"
	}
	dir := " ASC"
	if desc {
		dir = " DESC"
	}
	return col + dir + ", id" + dir
}

// Pipeline sums the active deals matching f by stage and currency, with their value weighted by
// each deal's win probability (kamflow.Weighted of the sum of the deals of one probability).
func (d *DB) Pipeline(ctx context.Context, f kamflow.DealFilter) ([]kamflow.StageSummary, error) {
	w := dealWhere(f)
	w.add(activeStatuses)
	var rows []struct {
		Stage          string
		Currency       string
		WinProbability int
		N              int
		Stalled        int
		Total          int64
	}
	err := d.r.WithContext(ctx).Raw("SELECT stage, currency, win_probability, count(*) AS n, "+
		"sum(CASE WHEN stalled THEN 1 ELSE 0 END) AS stalled, sum(value) AS total FROM deals"+w.String()+
		" GROUP BY stage, currency, win_probability ORDER BY stage, currency", w.args...).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("db: pipeline: %w", err)
	}
	out := make([]kamflow.StageSummary, len(kamflow.Stages))
	for i, st := range kamflow.Stages {
		out[i] = kamflow.StageSummary{Stage: st, Value: []kamflow.CurrencyTotal{}, Weighted: []kamflow.CurrencyTotal{}}
	}
	for _, r := range rows {
		i := kamflow.Stage(r.Stage).Index()
		if i < 0 {
			continue
		}
		out[i].Count += r.N
		out[i].Stalled += r.Stalled
		out[i].Value = kamflow.AddTotal(out[i].Value, r.Currency, kamflow.Money(r.Total))
		out[i].Weighted = kamflow.AddTotal(out[i].Weighted, r.Currency, kamflow.Weighted(kamflow.Money(r.Total), r.WinProbability))
	}
	return out, nil
}

// dealWhere is the WHERE of a deal filter, less its status and paging.
func dealWhere(f kamflow.DealFilter) where {
	var w where
	dealVisibleTo(&w, f.Viewer)
	if f.AccountID != "" {
		w.add("account_id = ?", f.AccountID)
	}
	if f.Stage != "" {
		w.add("stage = ?", string(f.Stage))
	}
	if f.Owner != "" {
		w.add("owner = ?", f.Owner)
	}
	if f.Grade != "" {
		w.add("grade = ?", string(f.Grade))
	}
	if f.TeamID != "" {
		w.add("team_id = ?", f.TeamID)
	}
	if f.CloseFrom != "" {
		w.add("expected_close >= ?", string(f.CloseFrom))
	}
	if f.CloseTo != "" {
		w.add("expected_close < ?", string(f.CloseTo))
	}
	if f.Text != "" {
		// Titles and account names as the accounts list folds them (accounts.go).
		p := likePattern(fold(f.Text))
		w.add(`(lower(title) LIKE ? ESCAPE '\' OR account_id IN (SELECT id FROM accounts WHERE name_fold LIKE ? ESCAPE '\'))`, p, p)
	}
	if f.Stalled != nil {
		// Literal, not a parameter: SQLite uses the partial index only for a WHERE it can match.
		if *f.Stalled {
			w.add("stalled")
		} else {
			w.add("NOT stalled")
		}
	}
	return w
}

// transitionRow is a stage_transitions row.
type transitionRow struct {
	DealID     string
	Seq        int64
	Kind       string
	FromStage  string
	ToStage    string
	Status     string
	Forced     bool
	Reason     string
	Competitor string
	Missing    string
	Actor      string
	At         time.Time
}

// StageHistory lists a deal's stage transitions in order; none for an unknown deal.
func (d *DB) StageHistory(ctx context.Context, dealID string) ([]kamflow.StageTransition, error) {
	var rows []transitionRow
	err := d.r.WithContext(ctx).Raw(`SELECT deal_id, seq, kind, from_stage, to_stage, status, forced,
		reason, competitor, missing, actor, at FROM stage_transitions WHERE deal_id = ? ORDER BY seq`, dealID).
		Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("db: read stage history of deal %s: %w", dealID, err)
	}
	out := make([]kamflow.StageTransition, len(rows))
	for i, r := range rows {
		var missing []string
		if err := json.Unmarshal([]byte(r.Missing), &missing); err != nil {
			return nil, fmt.Errorf("db: decode transition %d of deal %s: %w", r.Seq, dealID, err)
		}
		if len(missing) == 0 {
			missing = nil
		}
		out[i] = kamflow.StageTransition{
			DealID: r.DealID, Seq: r.Seq, Kind: r.Kind, FromStage: kamflow.Stage(r.FromStage),
			ToStage: kamflow.Stage(r.ToStage), Status: kamflow.Status(r.Status), Forced: r.Forced,
			Reason: r.Reason, Competitor: r.Competitor, Missing: missing, Actor: r.Actor, At: utc(r.At),
		}
	}
	return out, nil
}

// StalledDeals lists the active stalled deals that viewer may see (every one for nil), the longest
// stalled first.
func (d *DB) StalledDeals(ctx context.Context, viewer *kamflow.Actor) ([]*kamflow.Deal, error) {
	// Literal stalled: SQLite uses the partial index only for a WHERE it can match. "status || ''"
	// (the status, but no column an index has) keeps SQLite from reading the thousands of active
	// deals through deals_status_updated rather than the few stalled ones through the partial
	// deals_stalled_since, which also has them in order; PostgreSQL picks the latter anyway.
	w := where{conds: []string{"stalled", "status || '' " + activeIn}}
	dealVisibleTo(&w, viewer)
	var data []string
	err := d.r.WithContext(ctx).Raw("SELECT data FROM deals"+w.String()+" ORDER BY stalled_since, id", w.args...).
		Scan(&data).Error
	if err != nil {
		return nil, fmt.Errorf("db: list stalled deals: %w", err)
	}
	return decodeDeals(data)
}

// ActiveDealIDs lists the ids of the active deals in stage st, or in every stage for "", in id
// order.
func (d *DB) ActiveDealIDs(ctx context.Context, st kamflow.Stage) ([]string, error) {
	w := where{conds: []string{activeStatuses}}
	if st != "" {
		w.add("stage = ?", string(st))
	}
	var ids []string
	if err := d.r.WithContext(ctx).Raw("SELECT id FROM deals"+w.String()+" ORDER BY id", w.args...).Scan(&ids).Error; err != nil {
		return nil, fmt.Errorf("db: list active deals: %w", err)
	}
	return ids, nil
}
