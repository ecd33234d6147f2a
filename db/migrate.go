package db

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
)

// The schema's history is the files migrations/<dialect>/NNNN_name.sql: version NNNN, applied in
// version order. Both dialects list the same versions under the same names; only their SQL
// differs. A released migration is never edited: a change of schema is a new file in both
// directories.
//
//go:embed migrations
var migrationFiles embed.FS

// migration is one step of the schema.
type migration struct {
	Version int64
	Name    string
	SQL     string
}

// migrationLockKey is the PostgreSQL advisory lock that serialises migrations, so that processes
// starting together on one database do not both migrate. Any constant works as long as nothing
// else on the server uses it; this one spells "kamflow" in ASCII.
const migrationLockKey int64 = 0x6b616d666c6f77

// goSteps are the migrations' steps that SQL cannot say, by version: each runs right after its
// migration's SQL, in the same transaction, on both dialects.
var goSteps = map[int64]func(tx *gorm.DB) error{
	// Every stakeholder already stored becomes (or is matched onto) a contact of the account by
	// the contacts import's rule: db/stakeholders.go.
	120: backfillStakeholders,
	// Every account, contact, deal and delivery task already stored is indexed for search:
	// db/search.go.
	140: backfillSearch,
}

// schemaMigrationsDDL creates the table that records the applied migrations.
var schemaMigrationsDDL = map[string]string{
	DialectPostgres: `CREATE TABLE IF NOT EXISTS schema_migrations (
		version bigint PRIMARY KEY,
		name text NOT NULL,
		applied_at timestamptz NOT NULL)`,
	DialectSQLite: `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY,
		name TEXT NOT NULL,
		applied_at TIMESTAMP NOT NULL)`,
}

// loadMigrations returns the migrations of a dialect in version order. It checks every dialect's
// list, so that a migration added for one dialect only fails every Open, not just the other
// dialect's.
func loadMigrations(dialect string) ([]migration, error) {
	all := map[string][]migration{}
	for _, dl := range []string{DialectPostgres, DialectSQLite} {
		ms, err := readMigrations(dl)
		if err != nil {
			return nil, err
		}
		all[dl] = ms
	}
	pg, lite := all[DialectPostgres], all[DialectSQLite]
	if len(pg) != len(lite) {
		return nil, fmt.Errorf("db: %d postgres migrations but %d sqlite migrations", len(pg), len(lite))
	}
	for i := range pg {
		if pg[i].Version != lite[i].Version || pg[i].Name != lite[i].Name {
			return nil, fmt.Errorf("db: migration %d_%s (postgres) does not match %d_%s (sqlite)",
				pg[i].Version, pg[i].Name, lite[i].Version, lite[i].Name)
		}
	}
	ms, ok := all[dialect]
	if !ok || len(ms) == 0 {
		return nil, fmt.Errorf("db: no migrations for dialect %q", dialect)
	}
	return ms, nil
}

func readMigrations(dialect string) ([]migration, error) {
	dir := path.Join("migrations", dialect)
	entries, err := fs.ReadDir(migrationFiles, dir)
	if err != nil {
		return nil, fmt.Errorf("db: read migrations: %w", err)
	}
	var ms []migration
	for _, e := range entries {
		base, ok := strings.CutSuffix(e.Name(), ".sql")
		if !ok || e.IsDir() {
			return nil, fmt.Errorf("db: unexpected file %s/%s among the migrations", dir, e.Name())
		}
		num, name, ok := strings.Cut(base, "_")
		v, err := strconv.ParseInt(num, 10, 64)
		if !ok || err != nil || v <= 0 || name == "" {
			return nil, fmt.Errorf("db: migration file %s/%s is not named NNNN_name.sql", dir, e.Name())
		}
		body, err := migrationFiles.ReadFile(path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("db: read migration: %w", err)
		}
		ms = append(ms, migration{Version: v, Name: name, SQL: string(body)})
	}
	slices.SortFunc(ms, func(a, b migration) int { return int(a.Version - b.Version) })
	for i := 1; i < len(ms); i++ {
		if ms[i].Version == ms[i-1].Version {
			return nil, fmt.Errorf("db: two %s migrations have version %d", dialect, ms[i].Version)
		}
	}
	return ms, nil
}

// ErrSchemaTooNew is returned (wrapped) by Open when the database was migrated by a newer kamflow
// than this one: running on a schema it does not know could corrupt data.
var ErrSchemaTooNew = errors.New("database schema is newer than this kamflow")

// migrate applies the pending migrations, each in a transaction of its own.
func (d *DB) migrate(ctx context.Context) error { return d.migrateTo(ctx, 0) }

// migrateTo applies the pending migrations up to version upTo (0: all of them). Only tests stop
// short, to check that a later migration carries over the data of an earlier schema.
func (d *DB) migrateTo(ctx context.Context, upTo int64) error {
	ms, err := loadMigrations(d.dialect)
	if err != nil {
		return err
	}
	if upTo > 0 {
		ms = slices.DeleteFunc(ms, func(m migration) bool { return m.Version > upTo })
		if len(ms) == 0 {
			return fmt.Errorf("db: no migration up to version %d", upTo)
		}
	}
	for {
		done, err := d.migrateNext(ctx, ms)
		if err != nil || done {
			return err
		}
	}
}

// migrateNext applies the first pending migration; done reports that none was pending. Finding the
// pending migration and applying it happen in one transaction that holds the migration lock (the
// advisory lock on PostgreSQL, SQLite's write lock via BEGIN IMMEDIATE), so a migration that
// another process applied meanwhile is seen as applied, never run twice.
func (d *DB) migrateNext(ctx context.Context, ms []migration) (done bool, err error) {
	err = d.inTx(ctx, "migrate", func(tx *gorm.DB) error {
		if d.dialect == DialectPostgres {
			if err := tx.Exec("SELECT pg_advisory_xact_lock(?)", migrationLockKey).Error; err != nil {
				return fmt.Errorf("db: take the migration lock: %w", err)
			}
		}
		if err := tx.Exec(schemaMigrationsDDL[d.dialect]).Error; err != nil {
			return fmt.Errorf("db: create schema_migrations: %w", err)
		}
		var applied []struct {
			Version int64
			Name    string
		}
		if err := tx.Raw("SELECT version, name FROM schema_migrations ORDER BY version").Scan(&applied).Error; err != nil {
			return fmt.Errorf("db: read schema_migrations: %w", err)
		}
		known := map[int64]string{}
		for _, m := range ms {
			known[m.Version] = m.Name
		}
		have := map[int64]bool{}
		for _, a := range applied {
			name, ok := known[a.Version]
			switch {
			case !ok && a.Version > ms[len(ms)-1].Version:
				return fmt.Errorf("db: %w: the database has migration %d (%s), this binary knows up to %d; run a kamflow at least as new as the one that migrated it",
					ErrSchemaTooNew, a.Version, a.Name, ms[len(ms)-1].Version)
			case !ok:
				return fmt.Errorf("db: the database has migration %d (%s), which this kamflow does not know", a.Version, a.Name)
			case name != a.Name:
				return fmt.Errorf("db: the database's migration %d is %q but this kamflow's is %q", a.Version, a.Name, name)
			}
			have[a.Version] = true
		}
		i := slices.IndexFunc(ms, func(m migration) bool { return !have[m.Version] })
		if i < 0 {
			done = true
			return nil
		}
		m := ms[i]
		// Straight to the driver: GORM would read "?" and "@name" in the SQL as placeholders,
		// and PostgreSQL has operators spelled "?".
		if _, err := tx.Statement.ConnPool.ExecContext(ctx, m.SQL); err != nil {
			return fmt.Errorf("db: migration %d (%s): %w", m.Version, m.Name, err)
		}
		if step := goSteps[m.Version]; step != nil {
			if err := step(tx); err != nil {
				return fmt.Errorf("db: migration %d (%s): %w", m.Version, m.Name, err)
			}
		}
		err := tx.Exec("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
			m.Version, m.Name, ts(time.Now())).Error
		if err != nil {
			return fmt.Errorf("db: record migration %d (%s): %w", m.Version, m.Name, err)
		}
		return nil
	})
	return done, err
}

// CheckMigrations reports whether every migration this kamflow knows is applied to the database,
// for the readiness probes: nil when they all are (and when a newer kamflow applied more), an
// error naming the first one missing otherwise. Open applies them, so a running process finds
// them missing only when its schema was taken back from under it (a restored backup).
func (d *DB) CheckMigrations(ctx context.Context) error {
	ms, err := loadMigrations(d.dialect)
	if err != nil {
		return err
	}
	var applied []int64
	if err := d.r.WithContext(ctx).Raw("SELECT version FROM schema_migrations").Scan(&applied).Error; err != nil {
		return fmt.Errorf("db: read schema_migrations: %w", err)
	}
	have := make(map[int64]bool, len(applied))
	for _, v := range applied {
		have[v] = true
	}
	for _, m := range ms {
		if !have[m.Version] {
			return fmt.Errorf("db: migration %d (%s) is not applied (%d of %d are)", m.Version, m.Name, len(applied), len(ms))
		}
	}
	return nil
}
