package db

import (
	"context"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/kamflow/kamflow"
)

// The key-account record's store: settings and value scores, lifecycle histories, handovers,
// contacts (with their deal links), interactions and the account timeline.
//
// Value scores: an account's score depends on the largest gross profit and sales volume of any
// account (kamflow.ScoreValue), so a change of one account's inputs, or of the settings, can move
// every score. A write of one account's inputs scores that account alone while the scale stays
// the one the stored scores were computed under (kept in value_scale), and all accounts when it
// moves, as a change of the settings does; each in its own transaction, after taking scoreLockKey
// (PostgreSQL; a SQLite database has one writer anyway), so that two writes never compute from
// each other's half-done state. Only the rows whose score moved are updated.

// scoreLockKey is the PostgreSQL advisory lock that serialises value-score recomputations. It
// spells "kamscore" in ASCII, apart from migrationLockKey.
const scoreLockKey int64 = 0x6b616d73636f7265

// lockScores takes the value-score lock for the rest of the transaction.
func (d *DB) lockScores(tx *gorm.DB) error {
	if d.dialect != DialectPostgres {
		return nil
	}
	if err := tx.Exec("SELECT pg_advisory_xact_lock(?)", scoreLockKey).Error; err != nil {
		return fmt.Errorf("db: lock the value scores: %w", err)
	}
	return nil
}

// forUpdate is the clause that locks the rows a SELECT reads until the transaction ends: on
// PostgreSQL; a SQLite transaction holds the database's write lock from its start (BEGIN
// IMMEDIATE), so it needs none.
func (d *DB) forUpdate() string {
	if d.dialect == DialectPostgres {
		return " FOR UPDATE"
	}
	return ""
}

// sqlTime reads a timestamp that SQLite may hand over as text: it gives the declared type only of
// a plain column, not of an aggregate, a subquery or a UNION's column, and then returns the text it
// stored. A NULL is the zero time.
type sqlTime struct{ time.Time }

// Scan implements sql.Scanner.
func (t *sqlTime) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		t.Time = time.Time{}
		return nil
	case time.Time:
		t.Time = x.UTC()
		return nil
	case []byte:
		return t.parse(string(x))
	case string:
		return t.parse(x)
	}
	return fmt.Errorf("db: a timestamp of type %T", v)
}

func (t *sqlTime) parse(s string) error {
	for _, layout := range []string{"2006-01-02 15:04:05.999999999-07:00", "2006-01-02 15:04:05.999999999", time.RFC3339Nano} {
		if p, err := time.Parse(layout, s); err == nil {
			t.Time = p.UTC()
			return nil
		}
	}
	return fmt.Errorf("db: %q is not a timestamp", s)
}

// Value implements driver.Valuer, for completeness.
func (t sqlTime) Value() (driver.Value, error) { return t.Time, nil }

// readAccountSettings reads the key-account settings within tx (or from any handle).
func readAccountSettings(tx *gorm.DB) (kamflow.AccountSettings, error) {
	var data []string
	if err := tx.Raw("SELECT data FROM account_settings WHERE id = 1").Scan(&data).Error; err != nil {
		return kamflow.AccountSettings{}, fmt.Errorf("db: read the key-account settings: %w", err)
	}
	s := kamflow.DefaultAccountSettings()
	if len(data) == 0 {
		return s, nil
	}
	// Over the defaults: a setting added after the row was saved keeps its default.
	if err := json.Unmarshal([]byte(data[0]), &s); err != nil {
		return kamflow.AccountSettings{}, fmt.Errorf("db: decode the key-account settings: %w", err)
	}
	return s, nil
}

// AccountSettings returns the saved key-account settings, or the defaults while none are saved.
func (d *DB) AccountSettings(ctx context.Context) (kamflow.AccountSettings, error) {
	return readAccountSettings(d.r.WithContext(ctx))
}

// SaveAccountSettings validates s, saves it in place of the settings before, recomputes every
// account's value score and appends audit (if any), all in one transaction.
func (d *DB) SaveAccountSettings(ctx context.Context, s kamflow.AccountSettings, audit *kamflow.AuditEntry) error {
	if err := s.Validate(); err != nil {
		return err
	}
	data, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("db: encode the key-account settings: %w", err)
	}
	return d.inTx(ctx, "save the key-account settings", func(tx *gorm.DB) error {
		if err := d.lockScores(tx); err != nil {
			return err
		}
		err := tx.Exec(`INSERT INTO account_settings (id, data, updated_at, version) VALUES (1, ?, ?, 2)
			ON CONFLICT (id) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at, version = account_settings.version + 1`,
			string(data), ts(time.Now())).Error
		if err != nil {
			return fmt.Errorf("db: save the key-account settings: %w", err)
		}
		if err := recomputeScores(tx, s); err != nil {
			return err
		}
		return appendAudit(tx, audit)
	})
}

// appendAudit appends e in tx; nil appends nothing.
func appendAudit(tx *gorm.DB, e *kamflow.AuditEntry) error {
	if e == nil {
		return nil
	}
	r, err := newAuditRow(e, time.Now())
	if err != nil {
		return err
	}
	_, err = r.insert(tx)
	return err
}

// scoreRow is the part of an accounts row the value score reads and writes.
type scoreRow struct {
	ID               string
	GrossProfit      int64
	SalesVolume      int64
	MarketingCost    int64
	IndustryPosition int
	CooperationYears int
	Satisfaction     int
	ValueScore       float64
	Segment          string
}

func (r scoreRow) value() kamflow.AccountValue {
	return kamflow.AccountValue{
		GrossProfit: kamflow.Money(r.GrossProfit), SalesVolume: kamflow.Money(r.SalesVolume),
		MarketingCost: kamflow.Money(r.MarketingCost), IndustryPosition: r.IndustryPosition,
		CooperationYears: r.CooperationYears, Satisfaction: r.Satisfaction,
	}
}

// scoreAccount brings the value scores up to date after account id's value inputs changed, under
// s: when the scale (the largest gross profit and sales volume, read by index) is the one the
// stored scores were computed under, only id's score can have moved, and only it is computed;
// otherwise every account's is. The caller holds the score lock.
func scoreAccount(tx *gorm.DB, s kamflow.AccountSettings, id string) error {
	var now, stored []struct {
		MaxGrossProfit int64
		MaxSalesVolume int64
	}
	if err := tx.Raw(`SELECT COALESCE(MAX(gross_profit), 0) AS max_gross_profit, COALESCE(MAX(sales_volume), 0) AS max_sales_volume
		FROM accounts`).Scan(&now).Error; err != nil {
		return fmt.Errorf("db: read the value scale: %w", err)
	}
	if err := tx.Raw("SELECT max_gross_profit, max_sales_volume FROM value_scale WHERE id = 1").Scan(&stored).Error; err != nil {
		return fmt.Errorf("db: read the stored value scale: %w", err)
	}
	if len(now) != 1 || len(stored) != 1 || now[0] != stored[0] {
		return recomputeScores(tx, s)
	}
	var rows []scoreRow
	if err := tx.Raw(`SELECT id, gross_profit, sales_volume, marketing_cost, industry_position, cooperation_years,
		satisfaction, value_score, segment FROM accounts WHERE id = ?`, id).Scan(&rows).Error; err != nil {
		return fmt.Errorf("db: read the value inputs of account %s: %w", id, err)
	}
	scale := kamflow.ValueScale{MaxGrossProfit: kamflow.Money(now[0].MaxGrossProfit), MaxSalesVolume: kamflow.Money(now[0].MaxSalesVolume)}
	for _, r := range rows {
		vs := kamflow.ScoreValue(r.value(), scale, s)
		if vs.Score == r.ValueScore && string(vs.Segment) == r.Segment {
			continue
		}
		if err := tx.Exec("UPDATE accounts SET value_score = ?, segment = ? WHERE id = ?", vs.Score, string(vs.Segment), r.ID).Error; err != nil {
			return fmt.Errorf("db: store the value score of account %s: %w", r.ID, err)
		}
	}
	return nil
}

// recomputeScores computes every account's value score under s, stores those that moved and the
// scale they were computed under. The caller holds the score lock.
func recomputeScores(tx *gorm.DB, s kamflow.AccountSettings) error {
	var rows []scoreRow
	err := tx.Raw(`SELECT id, gross_profit, sales_volume, marketing_cost, industry_position, cooperation_years,
		satisfaction, value_score, segment FROM accounts ORDER BY id`).Scan(&rows).Error
	if err != nil {
		return fmt.Errorf("db: read the value inputs: %w", err)
	}
	values := make([]kamflow.AccountValue, len(rows))
	for i, r := range rows {
		values[i] = r.value()
	}
	scale := kamflow.ScaleOf(values)
	for i, r := range rows {
		vs := kamflow.ScoreValue(values[i], scale, s)
		if vs.Score == r.ValueScore && string(vs.Segment) == r.Segment {
			continue
		}
		if err := tx.Exec("UPDATE accounts SET value_score = ?, segment = ? WHERE id = ?", vs.Score, string(vs.Segment), r.ID).Error; err != nil {
			return fmt.Errorf("db: store the value score of account %s: %w", r.ID, err)
		}
	}
	err = tx.Exec(`INSERT INTO value_scale (id, max_gross_profit, max_sales_volume) VALUES (1, ?, ?)
		ON CONFLICT (id) DO UPDATE SET max_gross_profit = excluded.max_gross_profit, max_sales_volume = excluded.max_sales_volume`,
		int64(scale.MaxGrossProfit), int64(scale.MaxSalesVolume)).Error
	if err != nil {
		return fmt.Errorf("db: store the value scale: %w", err)
	}
	return nil
}

// ValueScale returns the largest gross profit and sales volume of any account.
func (d *DB) ValueScale(ctx context.Context) (kamflow.ValueScale, error) {
	var rows []struct {
		GrossProfit int64
		SalesVolume int64
	}
	err := d.r.WithContext(ctx).Raw(`SELECT COALESCE(MAX(gross_profit), 0) AS gross_profit,
		COALESCE(MAX(sales_volume), 0) AS sales_volume FROM accounts`).Scan(&rows).Error
	if err != nil {
		return kamflow.ValueScale{}, fmt.Errorf("db: read the value scale: %w", err)
	}
	if len(rows) == 0 {
		return kamflow.ValueScale{}, nil
	}
	return kamflow.ValueScale{MaxGrossProfit: kamflow.Money(rows[0].GrossProfit), MaxSalesVolume: kamflow.Money(rows[0].SalesVolume)}, nil
}

// ParetoAccounts lists the gross profit of the accounts viewer may see (nil: all) that have a
// segment (any value input), most profitable first.
func (d *DB) ParetoAccounts(ctx context.Context, viewer *kamflow.Actor) ([]kamflow.ParetoAccount, error) {
	var w where
	accountVisibleTo(&w, viewer)
	w.add("segment <> ''")
	var rows []struct {
		ID          string
		Name        string
		GrossProfit int64
	}
	err := d.r.WithContext(ctx).Raw("SELECT id, name, gross_profit FROM accounts"+w.String()+
		" ORDER BY gross_profit DESC, name_fold, id", w.args...).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("db: read the gross profit of the accounts: %w", err)
	}
	out := make([]kamflow.ParetoAccount, len(rows))
	for i, r := range rows {
		out[i] = kamflow.ParetoAccount{ID: r.ID, Name: r.Name, GrossProfit: kamflow.Money(r.GrossProfit)}
	}
	return out, nil
}

// inChunk is how many values an IN list of one statement holds, well under both drivers' limits
// on parameters.
const inChunk = 500

// chunks splits ids into IN-list-sized pieces.
func chunks(ids []string) [][]string {
	var out [][]string
	for len(ids) > 0 {
		n := min(len(ids), inChunk)
		out = append(out, ids[:n])
		ids = ids[n:]
	}
	return out
}

func anys(ids []string) []any {
	out := make([]any, len(ids))
	for i, id := range ids {
		out[i] = id
	}
	return out
}

// AccountHistories reads what the lifecycles of the given accounts are derived from: each
// account's won deals (won or delivered, with the time of their won transition), its newest deal,
// interaction and reported service visit.
func (d *DB) AccountHistories(ctx context.Context, ids []string) (map[string]kamflow.AccountHistory, error) {
	out := make(map[string]kamflow.AccountHistory, len(ids))
	db := d.r.WithContext(ctx)
	for _, part := range chunks(ids) {
		in, args := inList("d.account_id", len(part)), anys(part)
		var won []struct {
			AccountID string
			ID        string
			Value     int64
			Currency  string
			CreatedAt time.Time
			At        sqlTime // the won transition's; NULL for a deal that never went through one
		}
		err := db.Raw(`SELECT d.account_id, d.id, d.value, d.currency, d.created_at, t.at FROM deals d
			LEFT JOIN stage_transitions t ON t.deal_id = d.id AND t.kind = ?
			WHERE `+in+` AND d.status IN (?, ?)`,
			append(append([]any{kamflow.TransitionWon}, args...), string(kamflow.StatusWon), string(kamflow.StatusDelivered))...).
			Scan(&won).Error
		if err != nil {
			return nil, fmt.Errorf("db: read the won deals of accounts: %w", err)
		}
		for _, w := range won {
			at := w.At.Time
			if at.IsZero() {
				// A deal won without a won transition (one brought in already won, say): its
				// signing date, else its creation.
				if at, err = d.signedOn(ctx, w.ID); err != nil {
					return nil, err
				}
				if at.IsZero() {
					at = utc(w.CreatedAt)
				}
			}
			h := out[w.AccountID]
			h.Won = append(h.Won, kamflow.WonDeal{DealID: w.ID, Value: kamflow.Money(w.Value), Currency: w.Currency, At: at})
			out[w.AccountID] = h
		}
		for _, q := range []struct {
			what string
			sql  string
			set  func(h *kamflow.AccountHistory, t time.Time)
		}{
			{"deals", "SELECT d.account_id, MAX(d.created_at) AS at FROM deals d WHERE " + in + " GROUP BY d.account_id",
				func(h *kamflow.AccountHistory, t time.Time) { h.LastDealAt = t }},
			{"interactions", "SELECT d.account_id, MAX(d.at) AS at FROM interactions d WHERE " + in + " GROUP BY d.account_id",
				func(h *kamflow.AccountHistory, t time.Time) { h.LastInteractionAt = t }},
			{"service visits", "SELECT d.account_id, MAX(d.reported_at) AS at FROM service_visits d WHERE " + in +
				" AND d.reported_at IS NOT NULL GROUP BY d.account_id",
				func(h *kamflow.AccountHistory, t time.Time) { h.LastServiceAt = t }},
		} {
			var rows []struct {
				AccountID string
				At        sqlTime
			}
			if err := db.Raw(q.sql, args...).Scan(&rows).Error; err != nil {
				return nil, fmt.Errorf("db: read the newest %s of accounts: %w", q.what, err)
			}
			for _, r := range rows {
				h := out[r.AccountID]
				q.set(&h, r.At.Time)
				out[r.AccountID] = h
			}
		}
	}
	return out, nil
}

// signedOn is the contract's signing date of a deal (midnight UTC), zero when none is recorded.
func (d *DB) signedOn(ctx context.Context, dealID string) (time.Time, error) {
	deal, err := d.Deal(ctx, dealID)
	if err != nil {
		return time.Time{}, err
	}
	return deal.Contract.SignedOn.Time(), nil
}

// Lifecycles derives the accounts' lifecycles as of now (time.Now() when zero) under the saved
// settings, with their overrides.
func (d *DB) Lifecycles(ctx context.Context, accounts []*kamflow.Account, now time.Time) (map[string]kamflow.Lifecycle, error) {
	if now.IsZero() {
		now = time.Now()
	}
	s, err := d.AccountSettings(ctx)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(accounts))
	for i, a := range accounts {
		ids[i] = a.ID
	}
	hs, err := d.AccountHistories(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[string]kamflow.Lifecycle, len(accounts))
	for _, a := range accounts {
		out[a.ID] = kamflow.ResolveLifecycle(kamflow.DeriveLifecycle(hs[a.ID], now, s), a.LifecycleOverride)
	}
	return out, nil
}

// SetLifecycleOverride sets (nil: removes) the account's lifecycle override and appends audit,
// in one transaction, and returns the account as it now is.
func (d *DB) SetLifecycleOverride(ctx context.Context, accountID string, o *kamflow.LifecycleOverride, updatedAt time.Time, audit *kamflow.AuditEntry) (*kamflow.Account, error) {
	var data any // NULL without an override
	if o != nil {
		b, err := json.Marshal(o)
		if err != nil {
			return nil, fmt.Errorf("db: encode the lifecycle override of account %s: %w", accountID, err)
		}
		data = string(b)
	}
	var out *kamflow.Account
	err := d.inTx(ctx, "set the lifecycle of account "+accountID, func(tx *gorm.DB) error {
		by := ""
		if audit != nil {
			by = audit.Actor
		}
		res := tx.Exec("UPDATE accounts SET lifecycle_override = ?, updated_at = ?, version = version + 1, updated_by = ? WHERE id = ?",
			data, ts(updatedAt), by, accountID)
		if res.Error != nil {
			return fmt.Errorf("db: set the lifecycle of account %s: %w", accountID, res.Error)
		}
		if res.RowsAffected == 0 {
			return kamflow.Errorf(kamflow.ENOTFOUND, "account %q not found", accountID)
		}
		if err := appendAudit(tx, audit); err != nil {
			return err
		}
		var rows []accountRow
		if err := tx.Raw("SELECT "+accountColumns+" FROM accounts WHERE id = ?", accountID).Scan(&rows).Error; err != nil {
			return fmt.Errorf("db: read account %s: %w", accountID, err)
		}
		var err error
		out, err = rows[0].account()
		return err
	})
	return out, err
}

// contactRow is a contacts row.
type contactRow struct {
	ID            string
	AccountID     string
	Name          string
	Title         string
	Department    string
	ReportsTo     string
	Role          string
	Stance        string
	Influence     int
	Relationship  int
	Phone         string
	Email         string
	Notes         string
	LastContactAt *time.Time
	CreatedBy     string
	CreatedAt     time.Time
	UpdatedAt     time.Time
	Version       int64
	UpdatedBy     string
}

const contactColumns = `id, account_id, name, title, department, reports_to, role, stance, influence, relationship,
	phone, email, notes, last_contact_at, created_by, created_at, updated_at, version, updated_by`

func (r contactRow) contact() *kamflow.Contact {
	c := &kamflow.Contact{
		ID: r.ID, AccountID: r.AccountID, Name: r.Name, Title: r.Title, Department: r.Department, ReportsTo: r.ReportsTo,
		Role: kamflow.Role(r.Role), Stance: kamflow.Stance(r.Stance), Influence: r.Influence, Relationship: r.Relationship,
		Phone: r.Phone, Email: r.Email, Notes: r.Notes, Deals: []kamflow.ContactDeal{}, CreatedBy: r.CreatedBy,
		CreatedAt: utc(r.CreatedAt), UpdatedAt: utc(r.UpdatedAt), Version: r.Version, UpdatedBy: r.UpdatedBy,
	}
	if r.LastContactAt != nil {
		t := utc(*r.LastContactAt)
		c.LastContactAt = &t
	}
	return c
}

// withLinks reads the deal links of the contacts (by deal id) into them.
func withLinks(db *gorm.DB, contacts []*kamflow.Contact) error {
	byID := make(map[string]*kamflow.Contact, len(contacts))
	ids := make([]string, len(contacts))
	for i, c := range contacts {
		byID[c.ID], ids[i] = c, c.ID
	}
	for _, part := range chunks(ids) {
		var links []struct {
			ContactID string
			DealID    string
			Stance    string
		}
		err := db.Raw("SELECT contact_id, deal_id, stance FROM contact_deals WHERE "+inList("contact_id", len(part))+
			" ORDER BY contact_id, deal_id", anys(part)...).Scan(&links).Error
		if err != nil {
			return fmt.Errorf("db: read the deals of contacts: %w", err)
		}
		for _, l := range links {
			c := byID[l.ContactID]
			c.Deals = append(c.Deals, kamflow.ContactDeal{DealID: l.DealID, Stance: kamflow.Stance(l.Stance)})
		}
		// The person's part on each deal whose stakeholder they are (db/stakeholders.go).
		var parts []struct {
			ContactID string
			DealID    string
			Role      string
			Stance    string
			Engaged   bool
		}
		err = db.Raw("SELECT contact_id, deal_id, role, stance, engaged FROM deal_stakeholders WHERE "+inList("contact_id", len(part))+
			" ORDER BY contact_id, deal_id", anys(part)...).Scan(&parts).Error
		if err != nil {
			return fmt.Errorf("db: read the deals of contacts: %w", err)
		}
		for _, p := range parts {
			c := byID[p.ContactID]
			c.StakeholderOn = append(c.StakeholderOn, kamflow.ContactStakeholder{DealID: p.DealID, Role: kamflow.Role(p.Role),
				Stance: kamflow.Stance(p.Stance), Engaged: p.Engaged})
		}
	}
	return nil
}

// Contact returns the contact with the given id, with its deal links.
func (d *DB) Contact(ctx context.Context, id string) (*kamflow.Contact, error) {
	db := d.r.WithContext(ctx)
	var rows []contactRow
	if err := db.Raw("SELECT "+contactColumns+" FROM contacts WHERE id = ?", id).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("db: read contact %s: %w", id, err)
	}
	if len(rows) == 0 {
		return nil, kamflow.Errorf(kamflow.ENOTFOUND, "contact %q not found", id)
	}
	c := rows[0].contact()
	if err := withLinks(db, []*kamflow.Contact{c}); err != nil {
		return nil, err
	}
	return c, nil
}

// Contacts lists the account's contacts by name, with their deal links.
func (d *DB) Contacts(ctx context.Context, accountID string) ([]*kamflow.Contact, error) {
	db := d.r.WithContext(ctx)
	var rows []contactRow
	err := db.Raw("SELECT "+contactColumns+" FROM contacts WHERE account_id = ? ORDER BY name_fold, id", accountID).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("db: list the contacts of account %s: %w", accountID, err)
	}
	out := make([]*kamflow.Contact, len(rows))
	for i, r := range rows {
		out[i] = r.contact()
	}
	if err := withLinks(db, out); err != nil {
		return nil, err
	}
	return out, nil
}

// checkContact checks, within tx and with the account locked, that c's account exists, that its
// manager makes no cycle, and that its deals are the account's.
func (d *DB) checkContact(tx *gorm.DB, c *kamflow.Contact) error {
	var found []string
	if err := tx.Raw("SELECT id FROM accounts WHERE id = ?"+d.forUpdate(), c.AccountID).Scan(&found).Error; err != nil {
		return fmt.Errorf("db: read account %s: %w", c.AccountID, err)
	}
	if len(found) == 0 {
		return kamflow.Errorf(kamflow.ENOTFOUND, "account %q not found", c.AccountID)
	}
	if c.ReportsTo != "" {
		var chart []struct {
			ID        string
			ReportsTo string
		}
		if err := tx.Raw("SELECT id, reports_to FROM contacts WHERE account_id = ?", c.AccountID).Scan(&chart).Error; err != nil {
			return fmt.Errorf("db: read the org chart of account %s: %w", c.AccountID, err)
		}
		reportsTo := make(map[string]string, len(chart))
		for _, r := range chart {
			reportsTo[r.ID] = r.ReportsTo
		}
		if err := kamflow.CheckReportsTo(c.ID, c.ReportsTo, reportsTo); err != nil {
			return err
		}
	}
	if len(c.Deals) == 0 {
		return nil
	}
	ids := make([]string, len(c.Deals))
	for i, l := range c.Deals {
		ids[i] = l.DealID
	}
	var rows []struct {
		ID        string
		AccountID string
	}
	if err := tx.Raw("SELECT id, account_id FROM deals WHERE "+inList("id", len(ids)), anys(ids)...).Scan(&rows).Error; err != nil {
		return fmt.Errorf("db: read the deals of contact %s: %w", c.ID, err)
	}
	accountOf := make(map[string]string, len(rows))
	for _, r := range rows {
		accountOf[r.ID] = r.AccountID
	}
	for _, id := range ids {
		if accountOf[id] != c.AccountID {
			return kamflow.Errorf(kamflow.EINVALID, "deal %q is not a deal of this account", id).WithDetail("field", "deals")
		}
	}
	return nil
}

// upsertLinks writes the contact's deal links: new ones added, the stance of known ones set.
func upsertLinks(tx *gorm.DB, c *kamflow.Contact, by string, at time.Time) error {
	for _, l := range c.Deals {
		err := tx.Exec(`INSERT INTO contact_deals (contact_id, deal_id, stance, updated_by, updated_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (contact_id, deal_id) DO UPDATE SET stance = excluded.stance, updated_by = excluded.updated_by,
			updated_at = excluded.updated_at WHERE contact_deals.stance <> excluded.stance`,
			c.ID, l.DealID, string(l.Stance), by, ts(at)).Error
		if err != nil {
			return fmt.Errorf("db: link contact %s to deal %s: %w", c.ID, l.DealID, err)
		}
	}
	return nil
}

// CreateContact stores a new contact and its deal links, and appends audit, in one transaction.
func (d *DB) CreateContact(ctx context.Context, c *kamflow.Contact, audit *kamflow.AuditEntry) error {
	if c.ID == "" {
		return kamflow.Errorf(kamflow.EINVALID, "contact without an id")
	}
	return d.inTx(ctx, "create contact "+c.ID, func(tx *gorm.DB) error {
		if err := d.checkContact(tx, c); err != nil {
			return err
		}
		res := tx.Exec(`INSERT INTO contacts (id, account_id, name, name_fold, title, department, reports_to, role,
			stance, influence, relationship, phone, email, notes, last_contact_at, created_by, created_at, updated_at,
			version, updated_by)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?) ON CONFLICT (id) DO NOTHING`,
			c.ID, c.AccountID, c.Name, fold(c.Name), c.Title, c.Department, c.ReportsTo, string(c.Role), string(c.Stance),
			c.Influence, c.Relationship, c.Phone, c.Email, c.Notes, nullTS(c.LastContactAt), c.CreatedBy,
			ts(c.CreatedAt), ts(c.UpdatedAt), c.CreatedBy)
		if res.Error != nil {
			return fmt.Errorf("db: create contact %s: %w", c.ID, res.Error)
		}
		if res.RowsAffected == 0 {
			return kamflow.Errorf(kamflow.ECONFLICT, "contact %q already exists", c.ID)
		}
		c.Version, c.UpdatedBy = 1, c.CreatedBy
		if err := reindexContacts(tx, c.ID); err != nil {
			return err
		}
		if err := upsertLinks(tx, c, c.CreatedBy, c.UpdatedAt); err != nil {
			return err
		}
		return appendAudit(tx, audit)
	})
}

// UpdateContact overwrites the contact's fields (not its account, creator, creation or last
// contact), adds or updates its deal links, and appends audit, in one transaction. by is who
// changed it, for the links.
func (d *DB) UpdateContact(ctx context.Context, c *kamflow.Contact, audit *kamflow.AuditEntry) error {
	by := ""
	if audit != nil {
		by = audit.Actor
	}
	return d.inTx(ctx, "update contact "+c.ID, func(tx *gorm.DB) error {
		if err := d.checkContact(tx, c); err != nil {
			return err
		}
		res := tx.Exec(`UPDATE contacts SET name = ?, name_fold = ?, title = ?, department = ?, reports_to = ?, role = ?,
			stance = ?, influence = ?, relationship = ?, phone = ?, email = ?, notes = ?, updated_at = ?,
			version = version + 1, updated_by = ? WHERE id = ? AND account_id = ?`,
			c.Name, fold(c.Name), c.Title, c.Department, c.ReportsTo, string(c.Role), string(c.Stance), c.Influence,
			c.Relationship, c.Phone, c.Email, c.Notes, ts(c.UpdatedAt), by, c.ID, c.AccountID)
		if res.Error != nil {
			return fmt.Errorf("db: update contact %s: %w", c.ID, res.Error)
		}
		if res.RowsAffected == 0 {
			return kamflow.Errorf(kamflow.ENOTFOUND, "contact %q not found", c.ID)
		}
		if err := tx.Raw("SELECT version FROM contacts WHERE id = ?", c.ID).Scan(&c.Version).Error; err != nil {
			return fmt.Errorf("db: read the version of contact %s: %w", c.ID, err)
		}
		c.UpdatedBy = by
		if err := reindexContacts(tx, c.ID); err != nil {
			return err
		}
		if err := upsertLinks(tx, c, by, c.UpdatedAt); err != nil {
			return err
		}
		return appendAudit(tx, audit)
	})
}

// PatchContact changes the fields in sets on the contact as stored: the account's row and then
// the contact's are read locked (the order UpdateContact and CreateContact lock them in), the
// contact is checked against e's version, and only the columns of the fields sent are written,
// with the next version, in one transaction — so that two edits of different fields made at once
// both stay. Deal links are added or their stance set, never removed. An edit that changes
// nothing writes nothing and leaves the version.
func (d *DB) PatchContact(ctx context.Context, accountID, id string, in kamflow.ContactInput, e kamflow.Edit,
	audit func(before, after *kamflow.Contact) *kamflow.AuditEntry) (*kamflow.Contact, error) {
	var out *kamflow.Contact
	err := d.inTx(ctx, "patch contact "+id, func(tx *gorm.DB) error {
		var found []string
		if err := tx.Raw("SELECT id FROM accounts WHERE id = ?"+d.forUpdate(), accountID).Scan(&found).Error; err != nil {
			return fmt.Errorf("db: read account %s: %w", accountID, err)
		}
		var rows []contactRow
		if err := tx.Raw("SELECT "+contactColumns+" FROM contacts WHERE id = ? AND account_id = ?"+d.forUpdate(), id, accountID).Scan(&rows).Error; err != nil {
			return fmt.Errorf("db: read contact %s: %w", id, err)
		}
		if len(found) == 0 || len(rows) == 0 {
			return kamflow.Errorf(kamflow.ENOTFOUND, "contact %q not found", id)
		}
		before := rows[0].contact()
		if err := withLinks(tx, []*kamflow.Contact{before}); err != nil {
			return err
		}
		if err := e.Check("contact", before.Version, before.UpdatedBy, before); err != nil {
			return err
		}
		after := *before
		after.Deals = slices.Clone(before.Deals)
		if err := in.ApplyTo(&after); err != nil {
			return err
		}
		same := after.Name == before.Name && after.Title == before.Title && after.Department == before.Department &&
			after.ReportsTo == before.ReportsTo && after.Role == before.Role && after.Stance == before.Stance &&
			after.Influence == before.Influence && after.Relationship == before.Relationship && after.Phone == before.Phone &&
			after.Email == before.Email && after.Notes == before.Notes && slices.Equal(after.Deals, before.Deals)
		if same {
			out = before
			return nil
		}
		if err := d.checkContact(tx, &after); err != nil {
			return err
		}
		after.Version, after.UpdatedBy, after.UpdatedAt = before.Version+1, e.By, utc(ts(e.At))
		var cols columns
		col := cols.add
		cols.edit(after.Version, after.UpdatedBy, ts(e.At))
		col("name", in.Name != nil, after.Name)
		col("name_fold", in.Name != nil, fold(after.Name))
		col("title", in.Title != nil, after.Title)
		col("department", in.Department != nil, after.Department)
		col("reports_to", in.ReportsTo != nil, after.ReportsTo)
		col("role", in.Role != nil, string(after.Role))
		col("stance", in.Stance != nil || after.Stance != before.Stance, string(after.Stance))
		col("influence", in.Influence != nil, after.Influence)
		col("relationship", in.Relationship != nil, after.Relationship)
		col("phone", in.Phone != nil, after.Phone)
		col("email", in.Email != nil, after.Email)
		col("notes", in.Notes != nil, after.Notes)
		if err := cols.update(tx, "contacts", id); err != nil {
			return fmt.Errorf("db: update contact %s: %w", id, err)
		}
		if err := reindexContacts(tx, id); err != nil {
			return err
		}
		if err := upsertLinks(tx, &after, e.By, e.At); err != nil {
			return err
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

// StaleKeyContacts lists the contacts f selects that have gone f.After (by default the settings'
// stale_contact_days) or longer without an interaction (never contacted: since they were added),
// by account and name, each with the open deals it is linked to.
func (d *DB) StaleKeyContacts(ctx context.Context, f kamflow.StaleContactFilter) ([]kamflow.StaleContact, error) {
	now := f.Now
	if now.IsZero() {
		now = time.Now()
	}
	after := f.After
	if after <= 0 {
		s, err := d.AccountSettings(ctx)
		if err != nil {
			return nil, err
		}
		after = s.StaleAfter()
	}
	roles := f.Roles
	if len(roles) == 0 {
		roles = []kamflow.Role{kamflow.RoleInsider, kamflow.RoleDecisionMaker}
	}
	cutoff := ts(now.Add(-after))
	var w where
	rs := make([]string, len(roles))
	for i, r := range roles {
		rs[i] = string(r)
	}
	w.add(inList("role", len(rs)), anys(rs)...)
	w.add("(last_contact_at <= ? OR (last_contact_at IS NULL AND created_at <= ?))", cutoff, cutoff)
	if f.AccountID != "" {
		w.add("account_id = ?", f.AccountID)
	}
	db := d.r.WithContext(ctx)
	var rows []contactRow
	if err := db.Raw("SELECT "+contactColumns+" FROM contacts"+w.String()+" ORDER BY account_id, name_fold, id", w.args...).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("db: list the stale contacts: %w", err)
	}
	contacts := make([]*kamflow.Contact, len(rows))
	ids := make([]string, len(rows))
	for i, r := range rows {
		contacts[i], ids[i] = r.contact(), r.ID
	}
	if err := withLinks(db, contacts); err != nil {
		return nil, err
	}
	open := map[string][]string{}
	for _, part := range chunks(ids) {
		var links []struct {
			ContactID string
			DealID    string
		}
		err := db.Raw(`SELECT cd.contact_id, cd.deal_id FROM contact_deals cd JOIN deals ON deals.id = cd.deal_id
			WHERE deals.status = ? AND `+inList("cd.contact_id", len(part))+` ORDER BY cd.contact_id, cd.deal_id`,
			append([]any{string(kamflow.StatusOpen)}, anys(part)...)...).Scan(&links).Error
		if err != nil {
			return nil, fmt.Errorf("db: read the open deals of stale contacts: %w", err)
		}
		for _, l := range links {
			open[l.ContactID] = append(open[l.ContactID], l.DealID)
		}
	}
	out := []kamflow.StaleContact{}
	for _, c := range contacts {
		if f.WithOpenDeals && len(open[c.ID]) == 0 {
			continue
		}
		deals := open[c.ID]
		if deals == nil {
			deals = []string{}
		}
		out = append(out, kamflow.StaleContact{Contact: *c, DaysSince: c.DaysSinceContact(now), OpenDeals: deals})
	}
	return out, nil
}

// LogInteraction stores the interaction with its people, moves their last contact up to its time
// (never back), links them to its deal, and appends audit, in one transaction. Its people must be
// contacts of its account and its deal a deal of the account.
func (d *DB) LogInteraction(ctx context.Context, it *kamflow.Interaction, audit *kamflow.AuditEntry) error {
	if it.ID == "" {
		return kamflow.Errorf(kamflow.EINVALID, "interaction without an id")
	}
	return d.inTx(ctx, "log interaction "+it.ID, func(tx *gorm.DB) error {
		var found []string
		if err := tx.Raw("SELECT id FROM accounts WHERE id = ?", it.AccountID).Scan(&found).Error; err != nil {
			return fmt.Errorf("db: read account %s: %w", it.AccountID, err)
		}
		if len(found) == 0 {
			return kamflow.Errorf(kamflow.EINVALID, "account %q does not exist", it.AccountID).WithDetail("field", "account_id")
		}
		if it.DealID != "" {
			var accounts []string
			if err := tx.Raw("SELECT account_id FROM deals WHERE id = ?", it.DealID).Scan(&accounts).Error; err != nil {
				return fmt.Errorf("db: read deal %s: %w", it.DealID, err)
			}
			if len(accounts) == 0 || accounts[0] != it.AccountID {
				return kamflow.Errorf(kamflow.EINVALID, "deal %q is not a deal of this account", it.DealID).WithDetail("field", "deal_id")
			}
		}
		if len(it.ContactIDs) > 0 {
			var known []string
			err := tx.Raw("SELECT id FROM contacts WHERE account_id = ? AND "+inList("id", len(it.ContactIDs)),
				append([]any{it.AccountID}, anys(it.ContactIDs)...)...).Scan(&known).Error
			if err != nil {
				return fmt.Errorf("db: read the contacts of interaction %s: %w", it.ID, err)
			}
			for _, id := range it.ContactIDs {
				if !slices.Contains(known, id) {
					return kamflow.Errorf(kamflow.EINVALID, "contact %q is not a contact of this account", id).WithDetail("field", "contact_ids")
				}
			}
		}
		res := tx.Exec(`INSERT INTO interactions (id, account_id, deal_id, kind, at, summary, reaction, reaction_text,
			recorded_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
			it.ID, it.AccountID, it.DealID, string(it.Kind), ts(it.At), it.Summary, string(it.Reaction), it.ReactionText,
			it.RecordedBy, ts(it.CreatedAt))
		if res.Error != nil {
			return fmt.Errorf("db: log interaction %s: %w", it.ID, res.Error)
		}
		if res.RowsAffected == 0 {
			return kamflow.Errorf(kamflow.ECONFLICT, "interaction %q already exists", it.ID)
		}
		for _, id := range it.ContactIDs {
			if err := tx.Exec("INSERT INTO interaction_contacts (interaction_id, contact_id) VALUES (?, ?)", it.ID, id).Error; err != nil {
				return fmt.Errorf("db: log interaction %s with contact %s: %w", it.ID, id, err)
			}
			err := tx.Exec("UPDATE contacts SET last_contact_at = ? WHERE id = ? AND (last_contact_at IS NULL OR last_contact_at < ?)",
				ts(it.At), id, ts(it.At)).Error
			if err != nil {
				return fmt.Errorf("db: last contact of contact %s: %w", id, err)
			}
			if it.DealID != "" {
				err := tx.Exec(`INSERT INTO contact_deals (contact_id, deal_id, stance, updated_by, updated_at)
					VALUES (?, ?, '', ?, ?) ON CONFLICT (contact_id, deal_id) DO NOTHING`, id, it.DealID, it.RecordedBy, ts(it.CreatedAt)).Error
				if err != nil {
					return fmt.Errorf("db: link contact %s to deal %s: %w", id, it.DealID, err)
				}
			}
		}
		return appendAudit(tx, audit)
	})
}

// interactionRow is an interactions row.
type interactionRow struct {
	ID           string
	AccountID    string
	DealID       string
	Kind         string
	At           time.Time
	Summary      string
	Reaction     string
	ReactionText string
	RecordedBy   string
	CreatedAt    time.Time
}

// interactions reads the interactions with the given ids, with their people.
func interactions(db *gorm.DB, ids []string) (map[string]*kamflow.Interaction, error) {
	out := make(map[string]*kamflow.Interaction, len(ids))
	for _, part := range chunks(ids) {
		var rows []interactionRow
		err := db.Raw(`SELECT id, account_id, deal_id, kind, at, summary, reaction, reaction_text, recorded_by, created_at
			FROM interactions WHERE `+inList("id", len(part)), anys(part)...).Scan(&rows).Error
		if err != nil {
			return nil, fmt.Errorf("db: read interactions: %w", err)
		}
		for _, r := range rows {
			out[r.ID] = &kamflow.Interaction{
				ID: r.ID, AccountID: r.AccountID, DealID: r.DealID, ContactIDs: []string{}, Kind: kamflow.InteractionKind(r.Kind),
				At: utc(r.At), Summary: r.Summary, Reaction: kamflow.Reaction(r.Reaction), ReactionText: r.ReactionText,
				RecordedBy: r.RecordedBy, CreatedAt: utc(r.CreatedAt),
			}
		}
		var people []struct {
			InteractionID string
			ContactID     string
		}
		err = db.Raw("SELECT interaction_id, contact_id FROM interaction_contacts WHERE "+inList("interaction_id", len(part))+
			" ORDER BY interaction_id, contact_id", anys(part)...).Scan(&people).Error
		if err != nil {
			return nil, fmt.Errorf("db: read the people of interactions: %w", err)
		}
		for _, p := range people {
			if it := out[p.InteractionID]; it != nil {
				it.ContactIDs = append(it.ContactIDs, p.ContactID)
			}
		}
	}
	return out, nil
}

// AccountTimeline lists the account's interactions and the stage history of its deals, newest
// first (ties: stage moves of a deal newest first, then by id), one page, and counts them. With a
// viewer, only the deals the viewer may see show, and the interactions about no deal or such a
// deal.
func (d *DB) AccountTimeline(ctx context.Context, f kamflow.TimelineFilter) ([]kamflow.TimelineEntry, int, error) {
	var vis where
	dealVisibleTo(&vis, f.Viewer)
	visible := ""
	if len(vis.conds) > 0 {
		visible = " AND " + strings.Join(vis.conds, " AND ")
	}
	// The interactions' branch: about no deal, or a deal the viewer may see.
	ia := []any{f.AccountID}
	iCond := "i.account_id = ?"
	if visible != "" {
		iCond += " AND (i.deal_id = '' OR i.deal_id IN (SELECT deals.id FROM deals WHERE deals.account_id = ?" + visible + "))"
		ia = append(append(ia, f.AccountID), vis.args...)
	}
	sa := append([]any{f.AccountID}, vis.args...)
	sCond := "deals.account_id = ?" + visible
	db := d.r.WithContext(ctx)

	var counts []struct{ N int64 }
	err := db.Raw(`SELECT count(*) AS n FROM interactions i WHERE `+iCond+
		` UNION ALL SELECT count(*) AS n FROM stage_transitions t JOIN deals ON deals.id = t.deal_id WHERE `+sCond,
		append(slices.Clone(ia), sa...)...).Scan(&counts).Error
	if err != nil {
		return nil, 0, fmt.Errorf("db: count the timeline of account %s: %w", f.AccountID, err)
	}
	total := 0
	for _, c := range counts {
		total += int(c.N)
	}

	limit, offset := limits(f.Page)
	var refs []struct {
		Kind   string
		Ref    string
		DealID string
		Seq    int64
		At     sqlTime
	}
	err = db.Raw(`SELECT kind, ref, deal_id, seq, at FROM (
			SELECT 'interaction' AS kind, i.id AS ref, '' AS deal_id, 0 AS seq, i.at AS at FROM interactions i WHERE `+iCond+`
			UNION ALL
			SELECT 'stage' AS kind, '' AS ref, t.deal_id AS deal_id, t.seq AS seq, t.at AS at
			FROM stage_transitions t JOIN deals ON deals.id = t.deal_id WHERE `+sCond+`
		) timeline ORDER BY at DESC, kind, deal_id, seq DESC, ref LIMIT ? OFFSET ?`,
		append(append(slices.Clone(ia), sa...), limit, offset)...).Scan(&refs).Error
	if err != nil {
		return nil, 0, fmt.Errorf("db: read the timeline of account %s: %w", f.AccountID, err)
	}

	var itIDs, dealIDs []string
	for _, r := range refs {
		if r.Kind == kamflow.TimelineInteraction {
			itIDs = append(itIDs, r.Ref)
		} else if !slices.Contains(dealIDs, r.DealID) {
			dealIDs = append(dealIDs, r.DealID)
		}
	}
	its, err := interactions(db, itIDs)
	if err != nil {
		return nil, 0, err
	}
	moves := map[string]map[int64]kamflow.StageTransition{}
	titles := map[string]string{}
	for _, id := range dealIDs {
		h, err := d.StageHistory(ctx, id)
		if err != nil {
			return nil, 0, err
		}
		moves[id] = map[int64]kamflow.StageTransition{}
		for _, t := range h {
			moves[id][t.Seq] = t
		}
	}
	for _, part := range chunks(dealIDs) {
		var rows []struct {
			ID    string
			Title string
		}
		if err := db.Raw("SELECT id, title FROM deals WHERE "+inList("id", len(part)), anys(part)...).Scan(&rows).Error; err != nil {
			return nil, 0, fmt.Errorf("db: read the titles of deals: %w", err)
		}
		for _, r := range rows {
			titles[r.ID] = r.Title
		}
	}
	out := make([]kamflow.TimelineEntry, 0, len(refs))
	for _, r := range refs {
		e := kamflow.TimelineEntry{Kind: r.Kind, At: r.At.Time}
		if r.Kind == kamflow.TimelineInteraction {
			e.Interaction = its[r.Ref]
		} else {
			t := moves[r.DealID][r.Seq]
			e.Transition, e.DealTitle = &t, titles[r.DealID]
		}
		out = append(out, e)
	}
	return out, total, nil
}
