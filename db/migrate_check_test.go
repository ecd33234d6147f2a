package db_test

import (
	"strings"
	"testing"

	"github.com/kamflow/kamflow/db"
	"github.com/kamflow/kamflow/db/dbtest"
)

// TestCheckMigrations: a migrated database passes; one missing a migration fails, naming it; one
// with a migration of a newer kamflow besides passes (this kamflow's are all there).
func TestCheckMigrations(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		if err := d.CheckMigrations(ctx); err != nil {
			t.Fatalf("a migrated database: %v", err)
		}
		if err := d.Gorm().Exec("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)", 9999, "from_the_future", t0).Error; err != nil {
			t.Fatal(err)
		}
		if err := d.CheckMigrations(ctx); err != nil {
			t.Fatalf("with a newer migration besides: %v", err)
		}
		if err := d.Gorm().Exec("DELETE FROM schema_migrations WHERE version = (SELECT MIN(version) FROM schema_migrations)").Error; err != nil {
			t.Fatal(err)
		}
		err := d.CheckMigrations(ctx)
		if err == nil || !strings.Contains(err.Error(), "migration 1 ") {
			t.Fatalf("with migration 1 gone: %v, want an error naming it", err)
		}
	})
}
