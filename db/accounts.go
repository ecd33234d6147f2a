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

// accountRow is an accounts row.
type accountRow struct {
	ID                string
	Name              string
	Industry          string
	Region            string
	Address           string
	Owner             string
	TeamID            string
	Notes             string
	Profile           string
	GrossProfit       int64
	SalesVolume       int64
	MarketingCost     int64
	IndustryPosition  int
	CooperationYears  int
	Satisfaction      int
	ValueScore        float64
	Segment           string
	LifecycleOverride *string
	CreatedAt         time.Time
	UpdatedAt         time.Time
	Version           int64
	UpdatedBy         string
}

func (r accountRow) account() (*kamflow.Account, error) {
	a := &kamflow.Account{
		ID: r.ID, Name: r.Name, Industry: r.Industry, Region: r.Region, Address: r.Address,
		Owner: r.Owner, TeamID: r.TeamID, Notes: r.Notes,
		Value: kamflow.AccountValue{
			GrossProfit: kamflow.Money(r.GrossProfit), SalesVolume: kamflow.Money(r.SalesVolume),
			MarketingCost: kamflow.Money(r.MarketingCost), IndustryPosition: r.IndustryPosition,
			CooperationYears: r.CooperationYears, Satisfaction: r.Satisfaction,
		},
		ValueScore: r.ValueScore, Segment: kamflow.Segment(r.Segment),
		CreatedAt: utc(r.CreatedAt), UpdatedAt: utc(r.UpdatedAt), Version: r.Version, UpdatedBy: r.UpdatedBy,
	}
	if r.Profile != "" {
		if err := json.Unmarshal([]byte(r.Profile), &a.Profile); err != nil {
			return nil, fmt.Errorf("db: decode the profile of account %s: %w", r.ID, err)
		}
	}
	if r.LifecycleOverride != nil {
		a.LifecycleOverride = &kamflow.LifecycleOverride{}
		if err := json.Unmarshal([]byte(*r.LifecycleOverride), a.LifecycleOverride); err != nil {
			return nil, fmt.Errorf("db: decode the lifecycle override of account %s: %w", r.ID, err)
		}
		a.LifecycleOverride.At = utc(a.LifecycleOverride.At)
	}
	return a, nil
}

func accountsOf(rows []accountRow) ([]*kamflow.Account, error) {
	out := make([]*kamflow.Account, len(rows))
	for i, r := range rows {
		a, err := r.account()
		if err != nil {
			return nil, err
		}
		out[i] = a
	}
	return out, nil
}

const accountColumns = `id, name, industry, region, address, owner, team_id, notes, profile, gross_profit,
	sales_volume, marketing_cost, industry_position, cooperation_years, satisfaction, value_score, segment,
	lifecycle_override, created_at, updated_at, version, updated_by`

// fold is the case-insensitive form of a name, stored in name_fold and compared to queries.
func fold(s string) string { return strings.ToLower(s) }

// CreateAccount stores a new account, at version 1 by a.UpdatedBy. The caller sets its ID and
// timestamps; an ID already taken is a conflict. The value score is computed here (a's ValueScore and Segment are set to it); an
// account created with value inputs may change the scale, so every account's score is
// recomputed.
func (d *DB) CreateAccount(ctx context.Context, a *kamflow.Account, audit ...*kamflow.AuditEntry) error {
	if a.ID == "" {
		return kamflow.Errorf(kamflow.EINVALID, "account without an id")
	}
	profile, err := json.Marshal(a.Profile)
	if err != nil {
		return fmt.Errorf("db: encode the profile of account %s: %w", a.ID, err)
	}
	return d.inTx(ctx, "create account "+a.ID, func(tx *gorm.DB) error {
		if err := d.lockScores(tx); err != nil {
			return err
		}
		// DO NOTHING rather than catching the unique violation: a failed statement would abort a
		// surrounding PostgreSQL transaction, and the drivers report the violation differently.
		v := a.Value
		res := tx.Exec(`INSERT INTO accounts (id, name, name_fold, industry, region, address, owner, team_id,
			notes, profile, gross_profit, sales_volume, marketing_cost, industry_position, cooperation_years,
			satisfaction, created_at, updated_at, version, updated_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?)
			ON CONFLICT (id) DO NOTHING`,
			a.ID, a.Name, fold(a.Name), a.Industry, a.Region, a.Address, a.Owner, a.TeamID, a.Notes, string(profile),
			int64(v.GrossProfit), int64(v.SalesVolume), int64(v.MarketingCost), v.IndustryPosition, v.CooperationYears,
			v.Satisfaction, ts(a.CreatedAt), ts(a.UpdatedAt), a.UpdatedBy)
		if res.Error != nil {
			return fmt.Errorf("db: create account %s: %w", a.ID, res.Error)
		}
		if res.RowsAffected == 0 {
			return kamflow.Errorf(kamflow.ECONFLICT, "account %q already exists", a.ID)
		}
		a.Version = 1
		if err := reindexAccounts(tx, a.ID); err != nil {
			return err
		}
		if err := appendEach(tx, audit); err != nil {
			return err
		}
		a.ValueScore, a.Segment = 0, ""
		if v.Empty() {
			return nil // scores 0 without a segment, and changes no one's scale
		}
		return d.rescore(tx, a)
	})
}

// rescore brings the value scores up to date after a's inputs changed (scoreAccount) and sets a's.
func (d *DB) rescore(tx *gorm.DB, a *kamflow.Account) error {
	s, err := readAccountSettings(tx)
	if err != nil {
		return err
	}
	if err := scoreAccount(tx, s, a.ID); err != nil {
		return err
	}
	var rows []struct {
		ValueScore float64
		Segment    string
	}
	if err := tx.Raw("SELECT value_score, segment FROM accounts WHERE id = ?", a.ID).Scan(&rows).Error; err != nil {
		return fmt.Errorf("db: read the value score of account %s: %w", a.ID, err)
	}
	if len(rows) == 1 {
		a.ValueScore, a.Segment = rows[0].ValueScore, kamflow.Segment(rows[0].Segment)
	}
	return nil
}

// Account returns the account with the given id.
func (d *DB) Account(ctx context.Context, id string) (*kamflow.Account, error) {
	var rows []accountRow
	err := d.r.WithContext(ctx).Raw("SELECT "+accountColumns+" FROM accounts WHERE id = ?", id).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("db: read account %s: %w", id, err)
	}
	if len(rows) == 0 {
		return nil, kamflow.Errorf(kamflow.ENOTFOUND, "account %q not found", id)
	}
	return rows[0].account()
}

// Accounts lists the accounts f selects, by name or by value score, and counts all of them. With
// a Viewer, only the accounts the viewer may see are listed and counted: a KAM's (owned or of
// their teams), a director's (of their teams), an engineer's (of the deals they are assigned to).
//
// The lifecycle is derived on read (a year without business puts an account in decline without
// any write), so a lifecycle filter is applied to the accounts the SQL selects, in Go, and the
// page cut after it: one pass over the viewer's accounts, a few thousand at most.
func (d *DB) Accounts(ctx context.Context, f kamflow.AccountFilter) ([]*kamflow.Account, int, error) {
	var w where
	accountVisibleTo(&w, f.Viewer)
	if f.Owner != "" {
		w.add("owner = ?", f.Owner)
	}
	if q := strings.TrimSpace(f.Query); q != "" {
		w.add(`name_fold LIKE ? ESCAPE '\'`, likePattern(fold(q)))
	}
	if f.Segment != "" {
		w.add("segment = ?", string(f.Segment))
	}
	order := " ORDER BY name_fold, id"
	switch f.Sort {
	case "", kamflow.AccountsByName:
	case kamflow.AccountsByValue:
		order = " ORDER BY value_score DESC, name_fold, id"
	default:
		return nil, 0, kamflow.Errorf(kamflow.EINVALID, "unknown order %q (want name or value_score)", f.Sort).WithDetail("field", "sort")
	}
	limit, offset := limits(f.Page)
	db := d.r.WithContext(ctx)
	if f.Lifecycle != "" {
		var rows []accountRow
		if err := db.Raw("SELECT "+accountColumns+" FROM accounts"+w.String()+order, w.args...).Scan(&rows).Error; err != nil {
			return nil, 0, fmt.Errorf("db: list accounts: %w", err)
		}
		all, err := accountsOf(rows)
		if err != nil {
			return nil, 0, err
		}
		lcs, err := d.Lifecycles(ctx, all, f.Now)
		if err != nil {
			return nil, 0, err
		}
		var match []*kamflow.Account
		for _, a := range all {
			if lcs[a.ID].Phase == f.Lifecycle {
				match = append(match, a)
			}
		}
		out := []*kamflow.Account{}
		if offset < len(match) {
			out = match[offset:min(len(match), offset+limit)]
		}
		return out, len(match), nil
	}
	var total int64
	if err := db.Raw("SELECT count(*) FROM accounts"+w.String(), w.args...).Scan(&total).Error; err != nil {
		return nil, 0, fmt.Errorf("db: count accounts: %w", err)
	}
	var rows []accountRow
	err := db.Raw("SELECT "+accountColumns+" FROM accounts"+w.String()+order+" LIMIT ? OFFSET ?",
		append(w.args, limit, offset)...).Scan(&rows).Error
	if err != nil {
		return nil, 0, fmt.Errorf("db: list accounts: %w", err)
	}
	out, err := accountsOf(rows)
	if err != nil {
		return nil, 0, err
	}
	return out, int(total), nil
}

// UpdateAccount overwrites the stored account with a: all fields but its ID, creation time,
// value score, lifecycle override and version, which moves on by one (a gets it). When the value inputs changed, every account's value score
// is recomputed (the change may move the scale); a gets its stored score either way.
func (d *DB) UpdateAccount(ctx context.Context, a *kamflow.Account, audit ...*kamflow.AuditEntry) error {
	profile, err := json.Marshal(a.Profile)
	if err != nil {
		return fmt.Errorf("db: encode the profile of account %s: %w", a.ID, err)
	}
	return d.inTx(ctx, "update account "+a.ID, func(tx *gorm.DB) error {
		// The lock comes before the read, so that the inputs compared are those no other
		// recomputation is about to change.
		if err := d.lockScores(tx); err != nil {
			return err
		}
		var old []scoreRow
		err := tx.Raw(`SELECT id, gross_profit, sales_volume, marketing_cost, industry_position, cooperation_years,
			satisfaction, value_score, segment FROM accounts WHERE id = ?`, a.ID).Scan(&old).Error
		if err != nil {
			return fmt.Errorf("db: read account %s: %w", a.ID, err)
		}
		if len(old) == 0 {
			return kamflow.Errorf(kamflow.ENOTFOUND, "account %q not found", a.ID)
		}
		v := a.Value
		res := tx.Exec(`UPDATE accounts SET name = ?, name_fold = ?, industry = ?, region = ?, address = ?,
			owner = ?, team_id = ?, notes = ?, profile = ?, gross_profit = ?, sales_volume = ?, marketing_cost = ?,
			industry_position = ?, cooperation_years = ?, satisfaction = ?, updated_at = ?, version = version + 1,
			updated_by = ? WHERE id = ?`,
			a.Name, fold(a.Name), a.Industry, a.Region, a.Address, a.Owner, a.TeamID, a.Notes, string(profile),
			int64(v.GrossProfit), int64(v.SalesVolume), int64(v.MarketingCost), v.IndustryPosition, v.CooperationYears,
			v.Satisfaction, ts(a.UpdatedAt), a.UpdatedBy, a.ID)
		if res.Error != nil {
			return fmt.Errorf("db: update account %s: %w", a.ID, res.Error)
		}
		if res.RowsAffected == 0 {
			return kamflow.Errorf(kamflow.ENOTFOUND, "account %q not found", a.ID)
		}
		if err := tx.Raw("SELECT version FROM accounts WHERE id = ?", a.ID).Scan(&a.Version).Error; err != nil {
			return fmt.Errorf("db: read the version of account %s: %w", a.ID, err)
		}
		if err := reindexAccounts(tx, a.ID); err != nil {
			return err
		}
		if err := appendEach(tx, audit); err != nil {
			return err
		}
		if old[0].value() == v {
			a.ValueScore, a.Segment = old[0].ValueScore, kamflow.Segment(old[0].Segment)
			return nil
		}
		return d.rescore(tx, a)
	})
}

// PatchAccount changes the fields in sets on the account as stored: the row is read locked,
// checked against e's version, and only the columns of the fields sent are written, with the
// next version, in one transaction — so that two edits of different fields made at once both
// stay, and an edit never writes back an owner a handover has changed meanwhile. The owner is
// not a field of an edit (a handover changes it). An edit that changes nothing writes nothing
// and leaves the version. A change of the value inputs recomputes the value scores.
func (d *DB) PatchAccount(ctx context.Context, id string, in kamflow.AccountInput, e kamflow.Edit,
	audit func(before, after *kamflow.Account) *kamflow.AuditEntry) (*kamflow.Account, error) {
	if in.Owner != nil {
		return nil, kamflow.Errorf(kamflow.EINVALID, "the owner changes by a handover, not by an edit").WithDetail("field", "owner")
	}
	var out *kamflow.Account
	err := d.inTx(ctx, "patch account "+id, func(tx *gorm.DB) error {
		if in.Value != nil {
			// Before the read, as in UpdateAccount: the inputs compared are those no other
			// recomputation is about to change.
			if err := d.lockScores(tx); err != nil {
				return err
			}
		}
		var rows []accountRow
		if err := tx.Raw("SELECT "+accountColumns+" FROM accounts WHERE id = ?"+d.forUpdate(), id).Scan(&rows).Error; err != nil {
			return fmt.Errorf("db: read account %s: %w", id, err)
		}
		if len(rows) == 0 {
			return kamflow.Errorf(kamflow.ENOTFOUND, "account %q not found", id)
		}
		before, err := rows[0].account()
		if err != nil {
			return err
		}
		if err := e.Check("account", before.Version, before.UpdatedBy, before); err != nil {
			return err
		}
		after := *before
		if err := in.ApplyTo(&after); err != nil {
			return err
		}
		if after.Name == before.Name && after.Industry == before.Industry && after.Region == before.Region &&
			after.Address == before.Address && after.Notes == before.Notes && after.Profile == before.Profile && after.Value == before.Value {
			out = before
			return nil
		}
		after.Version, after.UpdatedBy, after.UpdatedAt = before.Version+1, e.By, utc(ts(e.At))
		var cols columns
		col := cols.add
		cols.edit(after.Version, after.UpdatedBy, ts(e.At))
		col("name", in.Name != nil, after.Name)
		col("name_fold", in.Name != nil, fold(after.Name))
		col("industry", in.Industry != nil, after.Industry)
		col("region", in.Region != nil, after.Region)
		col("address", in.Address != nil, after.Address)
		col("notes", in.Notes != nil, after.Notes)
		if in.Profile != nil {
			profile, err := json.Marshal(after.Profile)
			if err != nil {
				return fmt.Errorf("db: encode the profile of account %s: %w", id, err)
			}
			col("profile", true, string(profile))
		}
		if v := in.Value; v != nil {
			col("gross_profit", v.GrossProfit != nil, int64(after.Value.GrossProfit))
			col("sales_volume", v.SalesVolume != nil, int64(after.Value.SalesVolume))
			col("marketing_cost", v.MarketingCost != nil, int64(after.Value.MarketingCost))
			col("industry_position", v.IndustryPosition != nil, after.Value.IndustryPosition)
			col("cooperation_years", v.CooperationYears != nil, after.Value.CooperationYears)
			col("satisfaction", v.Satisfaction != nil, after.Value.Satisfaction)
		}
		if err := cols.update(tx, "accounts", id); err != nil {
			return fmt.Errorf("db: update account %s: %w", id, err)
		}
		if err := reindexAccounts(tx, id); err != nil {
			return err
		}
		if after.Value != before.Value {
			if err := d.rescore(tx, &after); err != nil {
				return err
			}
		}
		if audit != nil {
			if err := appendAudit(tx, audit(before, &after)); err != nil {
				return err
			}
		}
		out = &after
		return nil
	})
	return out, err
}
