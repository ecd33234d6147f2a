package db

import (
	"context"
	"fmt"

	"gorm.io/gorm"

	"github.com/kamflow/kamflow"
)

// Use installs a GORM plugin (the tracing of package telemetry) on every connection pool of the
// database. A nil plugin installs nothing.
func (d *DB) Use(p gorm.Plugin) error {
	if p == nil {
		return nil
	}
	if err := d.w.Use(p); err != nil {
		return fmt.Errorf("db: plugin %s: %w", p.Name(), err)
	}
	if d.r != d.w {
		if err := d.r.Use(p); err != nil {
			return fmt.Errorf("db: plugin %s: %w", p.Name(), err)
		}
	}
	return nil
}

// CountOpenDeals counts the open deals by stage, and the stalled ones among them (Count and
// Stalled of each summary; the stages without an open deal are left out). For the metrics.
func (d *DB) CountOpenDeals(ctx context.Context) ([]kamflow.StageSummary, error) {
	var rows []struct {
		Stage   string
		N       int64
		Stalled int64
	}
	err := d.r.WithContext(ctx).Raw(`SELECT stage, count(*) AS n, coalesce(sum(CASE WHEN stalled THEN 1 ELSE 0 END), 0) AS stalled
		FROM deals WHERE status = ? GROUP BY stage`, string(kamflow.StatusOpen)).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("db: count the open deals: %w", err)
	}
	out := make([]kamflow.StageSummary, 0, len(rows))
	for _, r := range rows {
		out = append(out, kamflow.StageSummary{Stage: kamflow.Stage(r.Stage), Count: int(r.N), Stalled: int(r.Stalled)})
	}
	return out, nil
}

// CountImportRows adds up the rows of every import by outcome, as the imports record them:
// imported, skipped, rejected, held and not_imported. For the metrics.
func (d *DB) CountImportRows(ctx context.Context) (map[string]int, error) {
	var r struct{ Imported, Skipped, Rejected, Held, NotImported int64 }
	err := d.r.WithContext(ctx).Raw(`SELECT coalesce(sum(imported), 0) AS imported, coalesce(sum(skipped), 0) AS skipped,
		coalesce(sum(rejected), 0) AS rejected, coalesce(sum(held), 0) AS held, coalesce(sum(not_imported), 0) AS not_imported
		FROM imports`).Scan(&r).Error
	if err != nil {
		return nil, fmt.Errorf("db: count the imports' rows: %w", err)
	}
	return map[string]int{"imported": int(r.Imported), "skipped": int(r.Skipped), "rejected": int(r.Rejected),
		"held": int(r.Held), "not_imported": int(r.NotImported)}, nil
}
