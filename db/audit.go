package db

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/kamflow/kamflow"
)

// The audit trail is append-only: this file has an INSERT and SELECTs and nothing else, and the
// audit_log table's triggers refuse UPDATE and DELETE (and TRUNCATE on PostgreSQL) from anyone.

// auditRow is an audit_log row about to be written.
type auditRow struct {
	e             *kamflow.AuditEntry // ID is set once written
	at            time.Time
	key           any    // NULL for no key
	before, after any    // JSON text, or NULL
	params        string // JSON object, or '' for none
}

// newAuditRow checks e and encodes it. A zero At is now.
func newAuditRow(e *kamflow.AuditEntry, now time.Time) (*auditRow, error) {
	if e.Action == "" || e.EntityType == "" {
		return nil, kamflow.Errorf(kamflow.EINVALID, "audit entry without an action or an entity type")
	}
	r := &auditRow{e: e, at: e.At}
	if r.at.IsZero() {
		r.at = now
	}
	if e.Key != "" {
		r.key = e.Key
	}
	var err error
	if r.before, err = auditJSON(e.Before); err != nil {
		return nil, fmt.Errorf("db: encode audit entry %s: %w", e.Action, err)
	}
	if r.after, err = auditJSON(e.After); err != nil {
		return nil, fmt.Errorf("db: encode audit entry %s: %w", e.Action, err)
	}
	if len(e.Params) > 0 {
		b, err := json.Marshal(e.Params)
		if err != nil {
			return nil, fmt.Errorf("db: encode audit entry %s's params: %w", e.Action, err)
		}
		r.params = string(b)
	}
	return r, nil
}

// auditJSON encodes a before or after value; nil (also a nil pointer, map or slice in an any)
// is NULL.
func auditJSON(v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	if string(b) == "null" {
		return nil, nil
	}
	return string(b), nil
}

// insert appends the row unless an entry with its key is stored, and sets the entry's ID to the
// stored entry's. It reports whether it appended.
func (r *auditRow) insert(tx *gorm.DB) (bool, error) {
	e := r.e
	var ids []int64
	// An entry without a text writes no code and params: the Go steps of migrations older than
	// 0130 (which added those columns) append such entries to the audit_log of their time.
	q := tx.Raw(`INSERT INTO audit_log (at, actor, action, entity_type, entity_id, deal_id, summary,
		"before", "after", "key") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT ("key") DO NOTHING RETURNING id`,
		ts(r.at), e.Actor, e.Action, e.EntityType, e.EntityID, e.DealID, e.Summary, r.before, r.after, r.key)
	if e.Code != "" || r.params != "" {
		q = tx.Raw(`INSERT INTO audit_log (at, actor, action, entity_type, entity_id, deal_id, summary,
		code, params, "before", "after", "key") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT ("key") DO NOTHING RETURNING id`,
			ts(r.at), e.Actor, e.Action, e.EntityType, e.EntityID, e.DealID, e.Summary, e.Code, r.params, r.before, r.after, r.key)
	}
	err := q.Scan(&ids).Error
	if err != nil {
		return false, fmt.Errorf("db: append audit entry %s of %s %s: %w", e.Action, e.EntityType, e.EntityID, err)
	}
	if len(ids) == 1 {
		e.ID = ids[0]
		return true, nil
	}
	// Stored already under the key.
	if err := tx.Raw(`SELECT id FROM audit_log WHERE "key" = ?`, r.key).Scan(&ids).Error; err != nil {
		return false, fmt.Errorf("db: read audit entry %v: %w", r.key, err)
	}
	if len(ids) == 1 {
		e.ID = ids[0]
	}
	return false, nil
}

// AppendAudit appends e to the audit trail and sets e.ID. An entry whose Key is stored already is
// not appended again (e.ID is then the stored entry's); an entry without a Key always is. A zero
// At is the current time.
func (d *DB) AppendAudit(ctx context.Context, e *kamflow.AuditEntry) error {
	if e == nil {
		return kamflow.Errorf(kamflow.EINVALID, "no audit entry")
	}
	r, err := newAuditRow(e, time.Now())
	if err != nil {
		return err
	}
	return d.inTx(ctx, "append audit entry", func(tx *gorm.DB) error {
		if _, err := r.insert(tx); err != nil {
			return err
		}
		if e.At.IsZero() {
			e.At = utc(r.at)
		}
		return nil
	})
}

// auditReadRow is an audit_log row as read.
type auditReadRow struct {
	ID         int64
	At         time.Time
	Actor      string
	Action     string
	EntityType string
	EntityID   string
	DealID     string
	Summary    string
	Code       string
	Params     string
	Before     *string
	After      *string
	Key        *string
}

// Audit lists the entries f selects, the newest (last appended) first, and counts all of them.
// Before and After come back as generic JSON values (map[string]any, []any, float64, string,
// bool), whatever type they were appended as.
func (d *DB) Audit(ctx context.Context, f kamflow.AuditFilter) ([]kamflow.AuditEntry, int, error) {
	var w where
	auditVisibleTo(&w, f.Viewer)
	if f.DealID != "" {
		w.add("deal_id = ?", f.DealID)
	}
	if f.EntityType != "" {
		w.add("entity_type = ?", f.EntityType)
	}
	if f.EntityID != "" {
		w.add("entity_id = ?", f.EntityID)
	}
	if f.Actor != "" {
		w.add("actor = ?", f.Actor)
	}
	if len(f.Actions) > 0 {
		args := make([]any, len(f.Actions))
		for i, a := range f.Actions {
			args[i] = a
		}
		w.add(inList("action", len(f.Actions)), args...)
	}
	limit, offset := limits(f.Page)
	db := d.r.WithContext(ctx)
	var total int64
	if err := db.Raw("SELECT count(*) FROM audit_log"+w.String(), w.args...).Scan(&total).Error; err != nil {
		return nil, 0, fmt.Errorf("db: count audit entries: %w", err)
	}
	var rows []auditReadRow
	err := db.Raw(`SELECT id, at, actor, action, entity_type, entity_id, deal_id, summary, code, params, "before", "after", "key"
		FROM audit_log`+w.String()+" ORDER BY id DESC LIMIT ? OFFSET ?", append(w.args, limit, offset)...).
		Scan(&rows).Error
	if err != nil {
		return nil, 0, fmt.Errorf("db: list audit entries: %w", err)
	}
	out := make([]kamflow.AuditEntry, len(rows))
	for i, r := range rows {
		e := kamflow.AuditEntry{ID: r.ID, At: utc(r.At), Actor: r.Actor, Action: r.Action,
			EntityType: r.EntityType, EntityID: r.EntityID, DealID: r.DealID, Summary: r.Summary, Code: r.Code}
		if r.Key != nil {
			e.Key = *r.Key
		}
		if r.Params != "" {
			if err := json.Unmarshal([]byte(r.Params), &e.Params); err != nil {
				return nil, 0, fmt.Errorf("db: decode audit entry %d's params: %w", r.ID, err)
			}
		}
		for _, v := range []struct {
			src *string
			dst *any
		}{{r.Before, &e.Before}, {r.After, &e.After}} {
			if v.src == nil {
				continue
			}
			if err := json.Unmarshal([]byte(*v.src), v.dst); err != nil {
				return nil, 0, fmt.Errorf("db: decode audit entry %d: %w", r.ID, err)
			}
		}
		out[i] = e
	}
	return out, int(total), nil
}

// appendEach appends the entries (nil ones are skipped) in the caller's transaction, so that a
// change and its audit entry are stored together or not at all.
func appendEach(tx *gorm.DB, entries []*kamflow.AuditEntry) error {
	for _, e := range entries {
		if err := appendAudit(tx, e); err != nil {
			return err
		}
	}
	return nil
}
