package db

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/kamflow/kamflow"
)

var _ kamflow.SettingsEditor = (*DB)(nil)

// Settings returns the saved settings, or kamflow.DefaultSettings() while none are saved.
func (d *DB) Settings(ctx context.Context) (kamflow.Settings, error) {
	var data []string
	if err := d.r.WithContext(ctx).Raw("SELECT data FROM settings WHERE id = 1").Scan(&data).Error; err != nil {
		return kamflow.Settings{}, fmt.Errorf("db: read settings: %w", err)
	}
	if len(data) == 0 {
		return kamflow.DefaultSettings(), nil
	}
	var s kamflow.Settings
	if err := json.Unmarshal([]byte(data[0]), &s); err != nil {
		return kamflow.Settings{}, fmt.Errorf("db: decode settings: %w", err)
	}
	return s, nil
}

// SaveSettings validates s and saves it in place of the settings before, at the next version.
// The API changes the settings with EditSettings, which never overwrites a concurrent change.
func (d *DB) SaveSettings(ctx context.Context, s kamflow.Settings, audit ...*kamflow.AuditEntry) error {
	if err := s.Validate(); err != nil {
		return err
	}
	data, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("db: encode settings: %w", err)
	}
	return d.inTx(ctx, "save settings", func(tx *gorm.DB) error {
		err := tx.Exec(`INSERT INTO settings (id, data, updated_at, version) VALUES (1, ?, ?, 2)
			ON CONFLICT (id) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at, version = settings.version + 1`,
			string(data), ts(time.Now())).Error
		if err != nil {
			return fmt.Errorf("db: save settings: %w", err)
		}
		return appendEach(tx, audit)
	})
}

// versionRow is the version columns of a settings row, with its data.
type versionRow struct {
	Data      string
	Version   int64
	UpdatedBy string
	UpdatedAt time.Time
}

// readVersionedSettings reads the settings and the ladder with their version, within tx; with
// lock, the settings row is created (as the defaults) when missing and locked until tx ends, so
// that every change made at once waits for the one before.
func (d *DB) readVersionedSettings(tx *gorm.DB, lock bool) (kamflow.VersionedSettings, error) {
	if lock {
		if err := d.ensureRow(tx, "settings", kamflow.DefaultSettings()); err != nil {
			return kamflow.VersionedSettings{}, err
		}
	}
	q := "SELECT data, version, updated_by, updated_at FROM settings WHERE id = 1"
	if lock {
		q += d.forUpdate()
	}
	var rows []versionRow
	if err := tx.Raw(q).Scan(&rows).Error; err != nil {
		return kamflow.VersionedSettings{}, fmt.Errorf("db: read settings: %w", err)
	}
	out := kamflow.VersionedSettings{Settings: kamflow.DefaultSettings(), Version: 1}
	if len(rows) == 1 {
		var s kamflow.Settings
		if err := json.Unmarshal([]byte(rows[0].Data), &s); err != nil {
			return out, fmt.Errorf("db: decode settings: %w", err)
		}
		out.Settings, out.Version, out.UpdatedBy, out.UpdatedAt = s, rows[0].Version, rows[0].UpdatedBy, utc(rows[0].UpdatedAt)
	}
	var esc []string
	if err := tx.Raw("SELECT data FROM escalation_settings WHERE id = 1").Scan(&esc).Error; err != nil {
		return out, fmt.Errorf("db: read escalation: %w", err)
	}
	if len(esc) == 1 {
		if err := json.Unmarshal([]byte(esc[0]), &out.Escalation); err != nil {
			return out, fmt.Errorf("db: decode escalation: %w", err)
		}
	}
	return out, nil
}

// ensureRow creates table's one row (id 1) with data, at version 1, unless it is there. On
// PostgreSQL a row must exist to be locked: two first changes made at once would otherwise both
// read the defaults.
func (d *DB) ensureRow(tx *gorm.DB, table string, data any) error {
	b, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("db: encode %s: %w", table, err)
	}
	err = tx.Exec(`INSERT INTO `+table+` (id, data, updated_at, version) VALUES (1, ?, ?, 1) ON CONFLICT (id) DO NOTHING`,
		string(b), ts(time.Now())).Error
	if err != nil {
		return fmt.Errorf("db: create %s: %w", table, err)
	}
	return nil
}

// VersionedSettings returns the settings and the ladder with their version.
func (d *DB) VersionedSettings(ctx context.Context) (kamflow.VersionedSettings, error) {
	return d.readVersionedSettings(d.r.WithContext(ctx), false)
}

// EditSettings changes the settings and the ladder as change says, on them as stored and locked:
// see kamflow.SettingsEditor. A change that leaves both as they were writes nothing.
func (d *DB) EditSettings(ctx context.Context, e kamflow.Edit, change func(*kamflow.Settings, *kamflow.Escalation) ([]*kamflow.AuditEntry, error)) (kamflow.VersionedSettings, error) {
	var out kamflow.VersionedSettings
	err := d.inTx(ctx, "edit settings", func(tx *gorm.DB) error {
		cur, err := d.readVersionedSettings(tx, true)
		if err != nil {
			return err
		}
		if err := e.Check("settings", cur.Version, cur.UpdatedBy, cur); err != nil {
			return err
		}
		// change works on copies of its own: cur stays as read.
		sBefore, _ := json.Marshal(cur.Settings)
		eBefore, _ := json.Marshal(cur.Escalation)
		var s kamflow.Settings
		var esc kamflow.Escalation
		if err := json.Unmarshal(sBefore, &s); err != nil {
			return fmt.Errorf("db: copy settings: %w", err)
		}
		if err := json.Unmarshal(eBefore, &esc); err != nil {
			return fmt.Errorf("db: copy escalation: %w", err)
		}
		audit, err := change(&s, &esc)
		if err != nil {
			return err
		}
		if err := s.Validate(); err != nil {
			return err
		}
		if err := esc.Validate(); err != nil {
			return err
		}
		sAfter, err := json.Marshal(s)
		if err != nil {
			return fmt.Errorf("db: encode settings: %w", err)
		}
		eAfter, err := json.Marshal(esc)
		if err != nil {
			return fmt.Errorf("db: encode escalation: %w", err)
		}
		if bytes.Equal(sBefore, sAfter) && bytes.Equal(eBefore, eAfter) {
			out = cur
			return nil
		}
		out = kamflow.VersionedSettings{Settings: s, Escalation: esc, Version: cur.Version + 1, UpdatedBy: e.By, UpdatedAt: utc(ts(e.At))}
		err = tx.Exec("UPDATE settings SET data = ?, version = ?, updated_by = ?, updated_at = ? WHERE id = 1",
			string(sAfter), out.Version, out.UpdatedBy, ts(e.At)).Error
		if err != nil {
			return fmt.Errorf("db: save settings: %w", err)
		}
		if !bytes.Equal(eBefore, eAfter) {
			err := tx.Exec(`INSERT INTO escalation_settings (id, data, updated_at) VALUES (1, ?, ?)
				ON CONFLICT (id) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at`, string(eAfter), ts(e.At)).Error
			if err != nil {
				return fmt.Errorf("db: save escalation: %w", err)
			}
		}
		return appendEach(tx, audit)
	})
	return out, err
}

// readVersionedAccountSettings reads the key-account settings with their version within tx; with
// lock, as readVersionedSettings.
func (d *DB) readVersionedAccountSettings(tx *gorm.DB, lock bool) (kamflow.VersionedAccountSettings, error) {
	if lock {
		if err := d.ensureRow(tx, "account_settings", kamflow.DefaultAccountSettings()); err != nil {
			return kamflow.VersionedAccountSettings{}, err
		}
	}
	q := "SELECT data, version, updated_by, updated_at FROM account_settings WHERE id = 1"
	if lock {
		q += d.forUpdate()
	}
	var rows []versionRow
	if err := tx.Raw(q).Scan(&rows).Error; err != nil {
		return kamflow.VersionedAccountSettings{}, fmt.Errorf("db: read the key-account settings: %w", err)
	}
	out := kamflow.VersionedAccountSettings{AccountSettings: kamflow.DefaultAccountSettings(), Version: 1}
	if len(rows) == 1 {
		// Over the defaults: a setting added after the row was saved keeps its default.
		if err := json.Unmarshal([]byte(rows[0].Data), &out.AccountSettings); err != nil {
			return out, fmt.Errorf("db: decode the key-account settings: %w", err)
		}
		out.Version, out.UpdatedBy, out.UpdatedAt = rows[0].Version, rows[0].UpdatedBy, utc(rows[0].UpdatedAt)
	}
	return out, nil
}

// VersionedAccountSettings returns the key-account settings with their version.
func (d *DB) VersionedAccountSettings(ctx context.Context) (kamflow.VersionedAccountSettings, error) {
	return d.readVersionedAccountSettings(d.r.WithContext(ctx), false)
}

// EditAccountSettings changes the key-account settings as change says, on them as stored and
// locked, recomputes every account's value score and appends the audit entry change returns, in
// one transaction: see kamflow.SettingsEditor. A change that leaves them as they were writes
// nothing.
func (d *DB) EditAccountSettings(ctx context.Context, e kamflow.Edit, change func(*kamflow.AccountSettings) (*kamflow.AuditEntry, error)) (kamflow.VersionedAccountSettings, error) {
	var out kamflow.VersionedAccountSettings
	err := d.inTx(ctx, "edit the key-account settings", func(tx *gorm.DB) error {
		// The score lock first, as every other recomputation takes it.
		if err := d.lockScores(tx); err != nil {
			return err
		}
		cur, err := d.readVersionedAccountSettings(tx, true)
		if err != nil {
			return err
		}
		if err := e.Check("key-account settings", cur.Version, cur.UpdatedBy, cur); err != nil {
			return err
		}
		before, _ := json.Marshal(cur.AccountSettings)
		var s kamflow.AccountSettings
		if err := json.Unmarshal(before, &s); err != nil {
			return fmt.Errorf("db: copy the key-account settings: %w", err)
		}
		audit, err := change(&s)
		if err != nil {
			return err
		}
		if err := s.Validate(); err != nil {
			return err
		}
		after, err := json.Marshal(s)
		if err != nil {
			return fmt.Errorf("db: encode the key-account settings: %w", err)
		}
		if bytes.Equal(before, after) {
			out = cur
			return nil
		}
		out = kamflow.VersionedAccountSettings{AccountSettings: s, Version: cur.Version + 1, UpdatedBy: e.By, UpdatedAt: utc(ts(e.At))}
		err = tx.Exec("UPDATE account_settings SET data = ?, version = ?, updated_by = ?, updated_at = ? WHERE id = 1",
			string(after), out.Version, out.UpdatedBy, ts(e.At)).Error
		if err != nil {
			return fmt.Errorf("db: save the key-account settings: %w", err)
		}
		if err := recomputeScores(tx, s); err != nil {
			return err
		}
		return appendAudit(tx, audit)
	})
	return out, err
}
