package db

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/kamflow/kamflow"
)

// upsertDeal writes a deal row unless the stored row is as new or newer (by seq): retried and
// reordered projections then never roll a deal back. ON CONFLICT ... DO UPDATE ... WHERE is the
// same in PostgreSQL and SQLite (3.24+).
const upsertDeal = `INSERT INTO deals (id, account_id, title, value, currency, owner, stage, status,
	grade, stalled, forced, win_probability, expected_close, stage_entered_at, last_progress_at,
	stalled_since, seq, created_at, updated_at, data)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET
	account_id = excluded.account_id, title = excluded.title, value = excluded.value,
	currency = excluded.currency, owner = excluded.owner, stage = excluded.stage,
	status = excluded.status, grade = excluded.grade, stalled = excluded.stalled,
	forced = excluded.forced, win_probability = excluded.win_probability,
	expected_close = excluded.expected_close, stage_entered_at = excluded.stage_entered_at,
	last_progress_at = excluded.last_progress_at, stalled_since = excluded.stalled_since,
	seq = excluded.seq, created_at = excluded.created_at, updated_at = excluded.updated_at,
	data = excluded.data
WHERE deals.seq < excluded.seq`

// insertTransition writes a stage-history row once: (deal_id, seq) identifies it.
const insertTransition = `INSERT INTO stage_transitions (deal_id, seq, kind, from_stage, to_stage,
	status, forced, reason, competitor, missing, actor, at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (deal_id, seq) DO NOTHING`

// Project writes p idempotently, in one transaction: the deal row only if it is newer than the
// stored one, the transition (if any) only if not written yet.
func (d *DB) Project(ctx context.Context, p kamflow.Projection) error {
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
	return d.inTx(ctx, "project deal "+deal.ID, func(tx *gorm.DB) error {
		err := tx.Exec(upsertDeal,
			deal.ID, deal.AccountID, deal.Title, int64(deal.Value), deal.Currency, deal.Owner,
			string(deal.Stage), string(deal.Status), string(deal.Grade()), deal.Stalled, deal.Forced,
			deal.WinProbability().Value, string(deal.ExpectedClose), ts(deal.StageEnteredAt),
			ts(deal.LastProgressAt), nullTS(deal.StalledSince), deal.Seq, ts(deal.CreatedAt),
			ts(deal.UpdatedAt), string(data)).Error
		if err != nil {
			return fmt.Errorf("db: project deal %s: %w", deal.ID, err)
		}
		if t == nil {
			return nil
		}
		err = tx.Exec(insertTransition,
			deal.ID, t.Seq, t.Kind, string(t.FromStage), string(t.ToStage), string(t.Status), t.Forced,
			t.Reason, t.Competitor, string(missing), t.Actor, ts(t.At)).Error
		if err != nil {
			return fmt.Errorf("db: project transition %d of deal %s: %w", t.Seq, deal.ID, err)
		}
		return nil
	})
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

func decodeDeals(data []string) ([]*kamflow.Deal, error) {
	deals := make([]*kamflow.Deal, 0, len(data))
	for _, s := range data {
		deal, err := decodeDeal(s)
		if err != nil {
			return nil, err
		}
		deals = append(deals, deal)
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
var activeStatuses = fmt.Sprintf("status IN ('%s', '%s')", kamflow.StatusOpen, kamflow.StatusWon)

// Deals lists the deals f selects, most recently updated first, and counts all of them.
func (d *DB) Deals(ctx context.Context, f kamflow.DealFilter) ([]*kamflow.Deal, int, error) {
	var w where
	if f.AccountID != "" {
		w.add("account_id = ?", f.AccountID)
	}
	if f.Stage != "" {
		w.add("stage = ?", string(f.Stage))
	}
	if f.Status != "" {
		w.add("status = ?", string(f.Status))
	}
	if f.Owner != "" {
		w.add("owner = ?", f.Owner)
	}
	if f.Grade != "" {
		w.add("grade = ?", string(f.Grade))
	}
	if f.Stalled != nil {
		// Literal, not a parameter: SQLite uses the partial index only for a WHERE it can match.
		if *f.Stalled {
			w.add("stalled")
		} else {
			w.add("NOT stalled")
		}
	}
	limit, offset := limits(f.Page)
	db := d.r.WithContext(ctx)
	var total int64
	if err := db.Raw("SELECT count(*) FROM deals"+w.String(), w.args...).Scan(&total).Error; err != nil {
		return nil, 0, fmt.Errorf("db: count deals: %w", err)
	}
	var data []string
	err := db.Raw("SELECT data FROM deals"+w.String()+" ORDER BY updated_at DESC, id LIMIT ? OFFSET ?",
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

// StalledDeals lists the active stalled deals, the longest stalled first.
func (d *DB) StalledDeals(ctx context.Context) ([]*kamflow.Deal, error) {
	var data []string
	err := d.r.WithContext(ctx).Raw("SELECT data FROM deals WHERE stalled AND " + activeStatuses +
		" ORDER BY stalled_since, id").Scan(&data).Error
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
