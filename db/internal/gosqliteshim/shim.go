// Package sqlite stands in for github.com/glebarez/go-sqlite, the database/sql driver that the
// GORM dialector github.com/glebarez/sqlite was written against.
//
// That driver is a fork of modernc.org/sqlite, and both register themselves with database/sql
// under the name "sqlite". kamflow links modernc.org/sqlite already, through the embedded Temporal
// server's SQLite persistence, so linking the fork as well would panic at start-up ("Register
// called twice for driver sqlite"). The dialector only needs the driver's error type from this
// package; pointing it at modernc's keeps one SQLite engine in the binary and one registration.
package sqlite

import msqlite "modernc.org/sqlite"

// Error is the SQLite error the dialector inspects to translate constraint violations.
type Error = msqlite.Error
