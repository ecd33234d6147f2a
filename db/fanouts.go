package db

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/kamflow/kamflow"
)

var _ kamflow.SettingsFanoutStore = (*DB)(nil)

// CountActiveDeals counts the open and won deals.
func (d *DB) CountActiveDeals(ctx context.Context) (int, error) {
	var n int64
	if err := d.r.WithContext(ctx).Raw("SELECT COUNT(*) FROM deals WHERE " + activeStatuses).Scan(&n).Error; err != nil {
		return 0, fmt.Errorf("db: count active deals: %w", err)
	}
	return int(n), nil
}

// ActiveDealIDsAfter lists up to limit active deals whose ID comes after after, by ID (the
// primary key's order, the same on both dialects for the IDs kamflow makes).
func (d *DB) ActiveDealIDsAfter(ctx context.Context, after string, limit int) ([]string, error) {
	if limit <= 0 {
		limit = 100
	}
	var ids []string
	err := d.r.WithContext(ctx).Raw("SELECT id FROM deals WHERE "+activeStatuses+" AND id > ? ORDER BY id LIMIT ?", after, limit).Scan(&ids).Error
	if err != nil {
		return nil, fmt.Errorf("db: list active deals after %q: %w", after, err)
	}
	return ids, nil
}

// fanoutRow is a row of settings_fanouts.
type fanoutRow struct {
	Version    int64
	Status     string
	Total      int
	Told       int
	LastID     string
	StartedAt  time.Time
	UpdatedAt  time.Time
	FinishedAt *time.Time
}

func (r fanoutRow) progress() kamflow.FanoutProgress {
	p := kamflow.FanoutProgress{Version: r.Version, Status: r.Status, Total: r.Total, Told: r.Told,
		StartedAt: utc(r.StartedAt), UpdatedAt: utc(r.UpdatedAt), Cursor: r.LastID}
	if r.FinishedAt != nil {
		t := utc(*r.FinishedAt)
		p.FinishedAt = &t
	}
	return p
}

const fanoutColumns = "SELECT version, status, total, told, last_id, started_at, updated_at, finished_at FROM settings_fanouts"

// BeginFanout records the fan-out of version unless it is recorded already, and the older ones
// still running as superseded: see kamflow.SettingsFanoutStore.
func (d *DB) BeginFanout(ctx context.Context, version int64, total int, now time.Time) (kamflow.FanoutProgress, error) {
	var row []fanoutRow
	err := d.inTx(ctx, "begin a fan-out", func(tx *gorm.DB) error {
		err := tx.Exec(`INSERT INTO settings_fanouts (version, status, total, told, last_id, started_at, updated_at)
			VALUES (?, ?, ?, 0, '', ?, ?) ON CONFLICT (version) DO NOTHING`,
			version, kamflow.FanoutRunning, total, ts(now), ts(now)).Error
		if err != nil {
			return fmt.Errorf("db: begin the fan-out of settings version %d: %w", version, err)
		}
		err = tx.Exec("UPDATE settings_fanouts SET status = ?, updated_at = ?, finished_at = ? WHERE version < ? AND status = ?",
			kamflow.FanoutSuperseded, ts(now), ts(now), version, kamflow.FanoutRunning).Error
		if err != nil {
			return fmt.Errorf("db: supersede the fan-outs before settings version %d: %w", version, err)
		}
		if err := tx.Raw(fanoutColumns+" WHERE version = ?", version).Scan(&row).Error; err != nil {
			return fmt.Errorf("db: read the fan-out of settings version %d: %w", version, err)
		}
		return nil
	})
	if err != nil {
		return kamflow.FanoutProgress{}, err
	}
	if len(row) != 1 {
		return kamflow.FanoutProgress{}, fmt.Errorf("db: the fan-out of settings version %d is not recorded", version)
	}
	return row[0].progress(), nil
}

// FanoutTold records a page of the fan-out of version told; done finishes it.
func (d *DB) FanoutTold(ctx context.Context, version int64, n int, cursor string, done bool, now time.Time) error {
	q := "UPDATE settings_fanouts SET told = told + ?, last_id = ?, updated_at = ?"
	args := []any{n, cursor, ts(now)}
	if done {
		q += ", status = ?, finished_at = ?"
		args = append(args, kamflow.FanoutDone, ts(now))
	}
	q += " WHERE version = ? AND status = ?"
	args = append(args, version, kamflow.FanoutRunning)
	if err := d.w.WithContext(ctx).Exec(q, args...).Error; err != nil {
		return fmt.Errorf("db: record the fan-out of settings version %d: %w", version, err)
	}
	return nil
}

// Fanout reads the fan-out of version.
func (d *DB) Fanout(ctx context.Context, version int64) (kamflow.FanoutProgress, error) {
	var rows []fanoutRow
	if err := d.r.WithContext(ctx).Raw(fanoutColumns+" WHERE version = ?", version).Scan(&rows).Error; err != nil {
		return kamflow.FanoutProgress{}, fmt.Errorf("db: read the fan-out of settings version %d: %w", version, err)
	}
	if len(rows) == 0 {
		return kamflow.FanoutProgress{}, kamflow.Errorf(kamflow.ENOTFOUND, "no fan-out of settings version %d", version)
	}
	return rows[0].progress(), nil
}

// LatestFanout reads the fan-out of the highest version.
func (d *DB) LatestFanout(ctx context.Context) (kamflow.FanoutProgress, bool, error) {
	var rows []fanoutRow
	if err := d.r.WithContext(ctx).Raw(fanoutColumns + " ORDER BY version DESC LIMIT 1").Scan(&rows).Error; err != nil {
		return kamflow.FanoutProgress{}, false, fmt.Errorf("db: read the latest fan-out: %w", err)
	}
	if len(rows) == 0 {
		return kamflow.FanoutProgress{}, false, nil
	}
	return rows[0].progress(), true, nil
}
