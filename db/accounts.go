package db

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/kamflow/kamflow"
)

// accountRow is an accounts row.
type accountRow struct {
	ID        string
	Name      string
	Industry  string
	Region    string
	Address   string
	Owner     string
	TeamID    string
	Notes     string
	CreatedAt time.Time
	UpdatedAt time.Time
}

func (r accountRow) account() *kamflow.Account {
	return &kamflow.Account{
		ID: r.ID, Name: r.Name, Industry: r.Industry, Region: r.Region, Address: r.Address,
		Owner: r.Owner, TeamID: r.TeamID, Notes: r.Notes, CreatedAt: utc(r.CreatedAt), UpdatedAt: utc(r.UpdatedAt),
	}
}

const accountColumns = "id, name, industry, region, address, owner, team_id, notes, created_at, updated_at"

// fold is the case-insensitive form of a name, stored in name_fold and compared to queries.
func fold(s string) string { return strings.ToLower(s) }

// CreateAccount stores a new account. The caller sets its ID and timestamps; an ID already taken
// is a conflict.
func (d *DB) CreateAccount(ctx context.Context, a *kamflow.Account) error {
	if a.ID == "" {
		return kamflow.Errorf(kamflow.EINVALID, "account without an id")
	}
	// DO NOTHING rather than catching the unique violation: a failed statement would abort a
	// surrounding PostgreSQL transaction, and the drivers report the violation differently.
	res := d.w.WithContext(ctx).Exec(`INSERT INTO accounts (id, name, name_fold, industry, region,
		address, owner, team_id, notes, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO NOTHING`,
		a.ID, a.Name, fold(a.Name), a.Industry, a.Region, a.Address, a.Owner, a.TeamID, a.Notes,
		ts(a.CreatedAt), ts(a.UpdatedAt))
	if res.Error != nil {
		return fmt.Errorf("db: create account %s: %w", a.ID, res.Error)
	}
	if res.RowsAffected == 0 {
		return kamflow.Errorf(kamflow.ECONFLICT, "account %q already exists", a.ID)
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
	return rows[0].account(), nil
}

// Accounts lists the accounts f selects in name order, and counts all of them. With a Viewer,
// only the accounts the viewer may see are listed and counted: a KAM's (owned or of their teams),
// a director's (of their teams), an engineer's (of the deals they are assigned to).
func (d *DB) Accounts(ctx context.Context, f kamflow.AccountFilter) ([]*kamflow.Account, int, error) {
	var w where
	accountVisibleTo(&w, f.Viewer)
	if f.Owner != "" {
		w.add("owner = ?", f.Owner)
	}
	if q := strings.TrimSpace(f.Query); q != "" {
		w.add(`name_fold LIKE ? ESCAPE '\'`, likePattern(fold(q)))
	}
	limit, offset := limits(f.Page)
	db := d.r.WithContext(ctx)
	var total int64
	if err := db.Raw("SELECT count(*) FROM accounts"+w.String(), w.args...).Scan(&total).Error; err != nil {
		return nil, 0, fmt.Errorf("db: count accounts: %w", err)
	}
	var rows []accountRow
	err := db.Raw("SELECT "+accountColumns+" FROM accounts"+w.String()+" ORDER BY name_fold, id LIMIT ? OFFSET ?",
		append(w.args, limit, offset)...).Scan(&rows).Error
	if err != nil {
		return nil, 0, fmt.Errorf("db: list accounts: %w", err)
	}
	out := make([]*kamflow.Account, len(rows))
	for i, r := range rows {
		out[i] = r.account()
	}
	return out, int(total), nil
}

// UpdateAccount overwrites the stored account with a (all fields but ID and CreatedAt).
func (d *DB) UpdateAccount(ctx context.Context, a *kamflow.Account) error {
	res := d.w.WithContext(ctx).Exec(`UPDATE accounts SET name = ?, name_fold = ?, industry = ?,
		region = ?, address = ?, owner = ?, team_id = ?, notes = ?, updated_at = ? WHERE id = ?`,
		a.Name, fold(a.Name), a.Industry, a.Region, a.Address, a.Owner, a.TeamID, a.Notes, ts(a.UpdatedAt), a.ID)
	if res.Error != nil {
		return fmt.Errorf("db: update account %s: %w", a.ID, res.Error)
	}
	if res.RowsAffected == 0 {
		return kamflow.Errorf(kamflow.ENOTFOUND, "account %q not found", a.ID)
	}
	return nil
}
