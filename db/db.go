// Package db is kamflow's relational store: the accounts, the queryable projection of the deals
// (the deals' workflows own the deals; this package only follows them), their stage history, the
// audit trail, users, teams and sessions, notifications, settings and stored answers to idempotent
// requests. It implements the store interfaces of the domain package on PostgreSQL (production)
// and SQLite (single-node setups and tests) through GORM, with SQL written by hand so that both
// dialects run the same statements.
//
// The lists of deals and accounts filter by what their viewer may see (visibility.go), in SQL,
// so that their pages and totals hold exactly what kamflow.Actor.CanSeeDeal would let through.
//
// The schema is versioned: the migrations under migrations/<dialect> run on Open, each once and in
// its own transaction (see migrate.go).
//
// Errors are either a domain *kamflow.Error (not_found, conflict, invalid) or an error prefixed
// "db: " wrapping the driver's; the API shows a client only the former.
package db

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/glebarez/sqlite"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/kamflow/kamflow"
)

// The dialects Open understands, as returned by (*DB).Dialect.
const (
	DialectPostgres = "postgres"
	DialectSQLite   = "sqlite"
)

// DB is an open kamflow database. It is safe for concurrent use.
type DB struct {
	dialect string
	// w runs every write; r runs reads outside a transaction. They are the same pool except on a
	// SQLite file, where w is a single connection: SQLite admits one writer at a time, and queuing
	// writers in Go (which honours contexts) beats having them spin on SQLITE_BUSY, while WAL lets
	// the readers of r proceed during a write.
	w, r *gorm.DB
}

// Compile-time checks that DB is every store the domain needs.
var (
	_ kamflow.AccountStore      = (*DB)(nil)
	_ kamflow.DealStore         = (*DB)(nil)
	_ kamflow.NotificationStore = (*DB)(nil)
	_ kamflow.SettingsStore     = (*DB)(nil)
	_ kamflow.IdempotencyStore  = (*DB)(nil)
	_ kamflow.UserStore         = (*DB)(nil)
	_ kamflow.SessionStore      = (*DB)(nil)
	_ kamflow.AuditStore        = (*DB)(nil)
)

// Open connects to the database at url and brings its schema up to date. url is one of
//
//	postgres://user:pass@host:5432/kamflow?sslmode=disable   (or postgresql://)
//	sqlite:path/to/kamflow.db                                (or sqlite:///abs/path.db)
//	path/to/kamflow.db                                       (a plain path is SQLite)
//	sqlite::memory:                                          (a private in-memory database)
//
// A SQLite path may carry extra driver parameters after "?" (modernc syntax, e.g.
// "?_pragma=cache_size(-20000)"); they are added to the ones Open sets.
func Open(ctx context.Context, url string) (*DB, error) {
	d, err := connect(ctx, url)
	if err != nil {
		return nil, err
	}
	if err := d.migrate(ctx); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// connect opens the database at url without migrating it.
func connect(ctx context.Context, url string) (*DB, error) {
	switch {
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		return openPostgres(ctx, url)
	default:
		return openSQLite(url)
	}
}

func gormConfig() *gorm.Config {
	return &gorm.Config{
		// Every statement here is explicit SQL; GORM's implicit transactions around its own
		// create/update helpers are never needed.
		SkipDefaultTransaction: true,
		// Errors are returned to the caller, who decides what to log. GORM's logger would print
		// SQL with its arguments (customer data) to stdout.
		Logger: logger.Discard,
	}
}

func openPostgres(ctx context.Context, url string) (*DB, error) {
	cfg := gormConfig()
	cfg.DisableAutomaticPing = true // GORM's ping ignores ctx; ours below does not
	g, err := gorm.Open(postgres.Open(url), cfg)
	if err != nil {
		return nil, fmt.Errorf("db: connect to postgres: %w", err)
	}
	sqlDB, err := g.DB()
	if err != nil {
		return nil, fmt.Errorf("db: connect to postgres: %w", err)
	}
	if err := sqlDB.PingContext(ctx); err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("db: connect to postgres: %w", err)
	}
	sqlDB.SetMaxOpenConns(25)
	sqlDB.SetMaxIdleConns(10)
	sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	return &DB{dialect: DialectPostgres, w: g, r: g}, nil
}

// sqliteParams are the driver parameters of every SQLite connection. Times are written in UTC in
// SQLite's own format, so that text order is time order (the ORDER BYs rely on it) and the
// columns declared TIMESTAMP read back as time.Time.
const sqliteParams = "_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_time_format=sqlite&_timezone=UTC"

func openSQLite(url string) (*DB, error) {
	path := strings.TrimPrefix(strings.TrimPrefix(url, "sqlite://"), "sqlite:")
	path, extra, _ := strings.Cut(path, "?")
	if path == "" {
		return nil, errors.New("db: empty SQLite path")
	}
	if extra != "" {
		extra = "&" + extra
	}
	if path == ":memory:" {
		// Every connection to ":memory:" gets a database of its own, so there must be exactly
		// one connection, kept forever.
		g, err := openSQLitePool(path+"?"+sqliteParams+"&_txlock=immediate"+extra, 1)
		if err != nil {
			return nil, err
		}
		return &DB{dialect: DialectSQLite, w: g, r: g}, nil
	}
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("db: create directory for SQLite database: %w", err)
		}
	}
	// BEGIN IMMEDIATE takes the write lock when a transaction starts; a deferred transaction that
	// reads first and then writes could fail with SQLITE_BUSY when another process (or a
	// migration of another process) got the lock in between, which busy_timeout does not cover.
	w, err := openSQLiteWriter(path + "?" + sqliteParams + "&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate" + extra)
	if err != nil {
		return nil, err
	}
	r, err := openSQLitePool(path+"?"+sqliteParams+"&_pragma=query_only(1)"+extra, max(4, runtime.NumCPU()))
	if err != nil {
		closeGorm(w)
		return nil, err
	}
	return &DB{dialect: DialectSQLite, w: w, r: r}, nil
}

// openSQLiteWriter opens the writing connection, retrying while the database is busy: switching a
// new database to WAL needs an exclusive lock, for which SQLite does not wait (busy_timeout does
// not apply), so processes opening a fresh file together would otherwise fail.
func openSQLiteWriter(dsn string) (*gorm.DB, error) {
	deadline := time.Now().Add(10 * time.Second)
	for wait := 5 * time.Millisecond; ; wait = min(2*wait, 250*time.Millisecond) {
		g, err := openSQLitePool(dsn, 1)
		var e *msqlite.Error
		if err == nil || !errors.As(err, &e) || e.Code()&0xff != sqlite3.SQLITE_BUSY || time.Now().After(deadline) {
			return g, err
		}
		time.Sleep(wait)
	}
}

func openSQLitePool(dsn string, conns int) (*gorm.DB, error) {
	g, err := gorm.Open(sqlite.Open(dsn), gormConfig())
	if err != nil {
		return nil, fmt.Errorf("db: open SQLite database: %w", err)
	}
	sqlDB, err := g.DB()
	if err != nil {
		return nil, fmt.Errorf("db: open SQLite database: %w", err)
	}
	sqlDB.SetMaxOpenConns(conns)
	sqlDB.SetMaxIdleConns(conns)
	sqlDB.SetConnMaxLifetime(0)
	sqlDB.SetConnMaxIdleTime(0)
	return g, nil
}

func closeGorm(g *gorm.DB) error {
	sqlDB, err := g.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}

// Close closes the database's connections.
func (d *DB) Close() error {
	err := closeGorm(d.w)
	if d.r != d.w {
		err = errors.Join(err, closeGorm(d.r))
	}
	if err != nil {
		return fmt.Errorf("db: close: %w", err)
	}
	return nil
}

// Dialect is DialectPostgres or DialectSQLite.
func (d *DB) Dialect() string { return d.dialect }

// Gorm returns the GORM handle that writes, for tests, benchmarks and tools that need SQL the
// store does not offer. Application code uses the store methods.
func (d *DB) Gorm() *gorm.DB { return d.w }

// Ping checks that the database answers, for health checks.
func (d *DB) Ping(ctx context.Context) error {
	sqlDB, err := d.r.DB()
	if err == nil {
		err = sqlDB.PingContext(ctx)
	}
	if err != nil {
		return fmt.Errorf("db: ping: %w", err)
	}
	return nil
}

// inTx runs fn in a write transaction. An error from fn is returned as it is (fn says what
// failed); a failure to begin or commit is wrapped as a failure of what.
func (d *DB) inTx(ctx context.Context, what string, fn func(tx *gorm.DB) error) error {
	var fnErr error
	err := d.w.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		fnErr = fn(tx)
		return fnErr
	})
	if err != nil && fnErr == nil {
		return fmt.Errorf("db: %s: %w", what, err)
	}
	return err
}

// Page limits.
const (
	DefaultLimit = 50
	MaxLimit     = 200
)

// limits normalises a requested page: the default for no limit, at most MaxLimit, no negative
// offset.
func limits(p kamflow.Page) (limit, offset int) {
	limit, offset = p.Limit, p.Offset
	if limit <= 0 {
		limit = DefaultLimit
	}
	if limit > MaxLimit {
		limit = MaxLimit
	}
	if offset < 0 {
		offset = 0
	}
	return limit, offset
}

// ts is how a time is stored: in UTC and to the microsecond, the precision of PostgreSQL, so that
// both dialects store and order the same value.
func ts(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// nullTS is ts for an optional time; nil is NULL.
func nullTS(t *time.Time) any {
	if t == nil {
		return nil
	}
	return ts(*t)
}

// utc normalises a time read back: PostgreSQL returns the session's zone.
func utc(t time.Time) time.Time { return t.UTC() }

// likePattern returns a LIKE pattern (to use with ESCAPE '\') matching s anywhere.
func likePattern(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(s) + "%"
}
