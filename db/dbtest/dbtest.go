// Package dbtest gives tests a fresh kamflow database: SQLite in the test's temporary directory, or
// PostgreSQL in a throwaway cluster that the test binary starts on first use and stops at exit.
//
// A package whose tests use Postgres (directly or through Each) should stop the cluster after its
// tests:
//
//	func TestMain(m *testing.M) { dbtest.Main(m) }
//
// Environment:
//
//	KAMFLOW_TEST_DATABASE_URL  use this PostgreSQL server (a URL whose user may CREATE DATABASE)
//	                           instead of starting one
//	KAMFLOW_REQUIRE_POSTGRES=1 fail, rather than skip, a test that needs PostgreSQL when none can
//	                           be had (CI sets it)
//	KAMFLOW_PG_BIN             where initdb and postgres are (default /usr/lib/postgresql/15/bin)
package dbtest

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kamflow/kamflow/db"
)

// Main runs the tests and then stops the PostgreSQL cluster, if one was started. Call it from
// TestMain.
func Main(m *testing.M) {
	code := m.Run()
	Stop()
	os.Exit(code)
}

// SQLite returns a fresh, migrated SQLite database in a file under t.TempDir(), closed when the
// test ends.
func SQLite(t testing.TB) *db.DB {
	t.Helper()
	return Open(t, SQLiteURL(t))
}

// SQLiteURL returns the URL of a SQLite database file under t.TempDir() that does not exist yet.
func SQLiteURL(t testing.TB) string {
	t.Helper()
	return "sqlite:" + filepath.Join(t.TempDir(), "kamflow.db")
}

// Postgres returns a fresh, migrated database of its own on the test PostgreSQL server, closed
// when the test ends. It skips the test when no server can be had, or fails it when
// KAMFLOW_REQUIRE_POSTGRES=1.
func Postgres(t testing.TB) *db.DB {
	t.Helper()
	return Open(t, PostgresURL(t))
}

// Open opens url with db.Open and closes the database when the test ends.
func Open(t testing.TB, url string) *db.DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	d, err := db.Open(ctx, url)
	if err != nil {
		t.Fatalf("dbtest: open %s: %v", redact(url), err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// Each runs fn as the subtests "sqlite" and "postgres", each with a fresh database.
func Each(t *testing.T, fn func(t *testing.T, d *db.DB)) {
	t.Helper()
	t.Run(db.DialectSQLite, func(t *testing.T) { fn(t, SQLite(t)) })
	t.Run(db.DialectPostgres, func(t *testing.T) { fn(t, Postgres(t)) })
}

// EachURL is Each for tests that open the database themselves: fn gets the URL of an empty
// database that nothing has opened yet.
func EachURL(t *testing.T, fn func(t *testing.T, url string)) {
	t.Helper()
	t.Run(db.DialectSQLite, func(t *testing.T) { fn(t, SQLiteURL(t)) })
	t.Run(db.DialectPostgres, func(t *testing.T) { fn(t, PostgresURL(t)) })
}
