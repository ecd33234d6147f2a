package db

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/kamflow/kamflow"
)

var _ kamflow.LoginThrottle = (*DB)(nil)

// sessionRow is a sessions row.
type sessionRow struct {
	ID        string
	TokenHash string
	CSRFToken string `gorm:"column:csrf_token"`
	UserID    string
	CreatedAt time.Time
	ExpiresAt time.Time
	RevokedAt *time.Time
	Address   string
}

// CreateSession stores a new session of an existing user. The caller sets its ID, token hash and
// times (a zero CreatedAt is the current time). An ID or token hash taken is a conflict; an unknown
// user is not_found.
func (d *DB) CreateSession(ctx context.Context, s *kamflow.Session) error {
	if s.ID == "" || s.TokenHash == "" || s.UserID == "" {
		return kamflow.Errorf(kamflow.EINVALID, "session without an id, a token hash or a user")
	}
	if s.CreatedAt.IsZero() {
		s.CreatedAt = time.Now()
	}
	return d.inTx(ctx, "create session", func(tx *gorm.DB) error {
		var n int64
		if err := tx.Raw("SELECT count(*) FROM users WHERE id = ?", s.UserID).Scan(&n).Error; err != nil {
			return fmt.Errorf("db: create session: %w", err)
		}
		if n == 0 {
			return kamflow.Errorf(kamflow.ENOTFOUND, "user %q not found", s.UserID)
		}
		res := tx.Exec(`INSERT INTO sessions (id, token_hash, csrf_token, user_id, created_at, expires_at,
			revoked_at, address) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
			s.ID, s.TokenHash, s.CSRFToken, s.UserID, ts(s.CreatedAt), ts(s.ExpiresAt), nullTS(s.RevokedAt), s.Address)
		if res.Error != nil {
			return fmt.Errorf("db: create session: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return kamflow.Errorf(kamflow.ECONFLICT, "session exists already")
		}
		return nil
	})
}

// SessionByTokenHash returns the session whose token has the given hash, as stored: the caller
// checks ExpiresAt and RevokedAt.
func (d *DB) SessionByTokenHash(ctx context.Context, hash string) (*kamflow.Session, error) {
	var rows []sessionRow
	err := d.r.WithContext(ctx).Raw(`SELECT id, token_hash, csrf_token, user_id, created_at, expires_at,
		revoked_at, address FROM sessions WHERE token_hash = ?`, hash).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("db: read session: %w", err)
	}
	if len(rows) == 0 {
		return nil, kamflow.Errorf(kamflow.ENOTFOUND, "session not found")
	}
	r := rows[0]
	s := &kamflow.Session{ID: r.ID, TokenHash: r.TokenHash, CSRFToken: r.CSRFToken, UserID: r.UserID,
		CreatedAt: utc(r.CreatedAt), ExpiresAt: utc(r.ExpiresAt), Address: r.Address}
	if r.RevokedAt != nil {
		t := utc(*r.RevokedAt)
		s.RevokedAt = &t
	}
	return s, nil
}

// RevokeSession revokes the session at time at. Revoking a revoked session changes nothing (it
// stays revoked since the first time); an unknown session is not_found.
func (d *DB) RevokeSession(ctx context.Context, id string, at time.Time) error {
	return d.inTx(ctx, "revoke session", func(tx *gorm.DB) error {
		res := tx.Exec("UPDATE sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", ts(at), id)
		if res.Error != nil {
			return fmt.Errorf("db: revoke session: %w", res.Error)
		}
		if res.RowsAffected > 0 {
			return nil
		}
		var n int64
		if err := tx.Raw("SELECT count(*) FROM sessions WHERE id = ?", id).Scan(&n).Error; err != nil {
			return fmt.Errorf("db: revoke session: %w", err)
		}
		if n == 0 {
			return kamflow.Errorf(kamflow.ENOTFOUND, "session not found")
		}
		return nil
	})
}

// RevokeUserSessions revokes every session of the user not revoked yet, at time at.
func (d *DB) RevokeUserSessions(ctx context.Context, userID string, at time.Time) error {
	err := d.w.WithContext(ctx).Exec("UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL",
		ts(at), userID).Error
	if err != nil {
		return fmt.Errorf("db: revoke sessions of user %s: %w", userID, err)
	}
	return nil
}

// PurgeSessions deletes the sessions that expired or were revoked before t and returns how many
// it deleted. Something should call this now and then so the table does not grow forever.
func (d *DB) PurgeSessions(ctx context.Context, before time.Time) (int64, error) {
	res := d.w.WithContext(ctx).Exec("DELETE FROM sessions WHERE expires_at < ? OR revoked_at < ?", ts(before), ts(before))
	if res.Error != nil {
		return 0, fmt.Errorf("db: purge sessions: %w", res.Error)
	}
	return res.RowsAffected, nil
}

// RecordLoginFailure records a failed sign-in as username (in any spelling: see
// kamflow.UsernameKey) from address, outside a sign-in (ReserveLogin counts those): for an
// operator's tools and tests that set up a history of failures. A zero at is the current time.
func (d *DB) RecordLoginFailure(ctx context.Context, username, address string, at time.Time) error {
	if at.IsZero() {
		at = time.Now()
	}
	err := d.w.WithContext(ctx).Exec("INSERT INTO login_failures (username_fold, address, at) VALUES (?, ?, ?)",
		kamflow.UsernameKey(username), address, ts(at)).Error
	if err != nil {
		return fmt.Errorf("db: record login failure: %w", err)
	}
	return nil
}

// LoginFailures counts the failed sign-ins since since (inclusive): as username, in any spelling, and
// from address. An empty username or address counts 0: an unknown address is no one's in
// particular, and counting all of them together would lock out everyone behind it.
func (d *DB) LoginFailures(ctx context.Context, username, address string, since time.Time) (byUser, byAddress int, err error) {
	db := d.r.WithContext(ctx)
	var n int64
	if username != "" {
		if err := db.Raw("SELECT count(*) FROM login_failures WHERE username_fold = ? AND at >= ?",
			kamflow.UsernameKey(username), ts(since)).Scan(&n).Error; err != nil {
			return 0, 0, fmt.Errorf("db: count login failures: %w", err)
		}
		byUser = int(n)
	}
	if address != "" {
		if err := db.Raw("SELECT count(*) FROM login_failures WHERE address = ? AND at >= ?",
			address, ts(since)).Scan(&n).Error; err != nil {
			return 0, 0, fmt.Errorf("db: count login failures: %w", err)
		}
		byAddress = int(n)
	}
	return byUser, byAddress, nil
}

// PurgeLoginFailures deletes the failed sign-ins recorded before t and returns how many it deleted.
// Only recent failures count; something should call this now and then.
func (d *DB) PurgeLoginFailures(ctx context.Context, before time.Time) (int64, error) {
	res := d.w.WithContext(ctx).Exec("DELETE FROM login_failures WHERE at < ?", ts(before))
	if res.Error != nil {
		return 0, fmt.Errorf("db: purge login failures: %w", res.Error)
	}
	return res.RowsAffected, nil
}

// The classes of the PostgreSQL advisory locks (the first key of pg_advisory_xact_lock(int, int))
// that ReserveLogin takes on a username and on an address.
const (
	loginLockUser = 0x6b660001
	loginLockAddr = 0x6b660002
)

// ReserveLogin takes a sign-in attempt for username from address at time at, unless the policy
// says it must wait (see kamflow.LoginThrottle). The attempt is a login_failures row from the start,
// deleted by ReleaseLogin when the sign-in succeeds: an attempt whose process dies before it
// knows counts as failed. The decision and the row are one transaction, serialised with every
// other attempt for the same username or from the same address: on PostgreSQL by transaction
// advisory locks on both (always the username's first, so that two attempts never wait for each
// other in a circle), on SQLite by the write lock that BEGIN IMMEDIATE takes — in every process
// on the database alike.
func (d *DB) ReserveLogin(ctx context.Context, username, address string, at time.Time, p kamflow.LoginPolicy) (int64, time.Duration, error) {
	if at.IsZero() {
		at = time.Now()
	}
	key := kamflow.UsernameKey(username)
	var id int64
	var wait time.Duration
	err := d.inTx(ctx, "reserve sign-in", func(tx *gorm.DB) error {
		if d.dialect == DialectPostgres {
			if err := tx.Exec("SELECT pg_advisory_xact_lock(?::int, hashtext(?::text))", loginLockUser, key).Error; err != nil {
				return fmt.Errorf("db: reserve sign-in: lock username: %w", err)
			}
			if address != "" {
				if err := tx.Exec("SELECT pg_advisory_xact_lock(?::int, hashtext(?::text))", loginLockAddr, address).Error; err != nil {
					return fmt.Errorf("db: reserve sign-in: lock address: %w", err)
				}
			}
		}
		c, err := loginCounts(tx, key, address, at, p)
		if err != nil {
			return err
		}
		if wait = p.Wait(c, at); wait > 0 {
			return nil
		}
		var row struct{ ID int64 }
		if err := tx.Raw("INSERT INTO login_failures (username_fold, address, at) VALUES (?, ?, ?) RETURNING id",
			key, address, ts(at)).Scan(&row).Error; err != nil {
			return fmt.Errorf("db: reserve sign-in: %w", err)
		}
		if row.ID == 0 {
			return fmt.Errorf("db: reserve sign-in: no id returned")
		}
		id = row.ID
		return nil
	})
	if err != nil {
		return 0, 0, err
	}
	return id, wait, nil
}

// loginCounts reads, in the reservation's transaction, what its decision rests on.
func loginCounts(tx *gorm.DB, key, address string, at time.Time, p kamflow.LoginPolicy) (kamflow.LoginCounts, error) {
	var c kamflow.LoginCounts
	since := ts(at.Add(-p.Window))
	// nth is the time of the n-th most recent attempt matching cond within the window; zero when
	// there are fewer.
	nth := func(n int, cond string, args ...any) (time.Time, error) {
		if n <= 0 {
			return time.Time{}, nil
		}
		var rows []struct{ At time.Time }
		err := tx.Raw("SELECT at FROM login_failures WHERE "+cond+" AND at > ? ORDER BY at DESC, id DESC LIMIT 1 OFFSET ?",
			append(args, since, n-1)...).Scan(&rows).Error
		if err != nil || len(rows) == 0 {
			return time.Time{}, err
		}
		return utc(rows[0].At), nil
	}
	var err error
	if c.PairNth, err = nth(p.PerPair, "username_fold = ? AND address = ?", key, address); err != nil {
		return c, fmt.Errorf("db: reserve sign-in: count by username and address: %w", err)
	}
	if address != "" {
		if c.AddressNth, err = nth(p.PerAddress, "address = ?", address); err != nil {
			return c, fmt.Errorf("db: reserve sign-in: count by address: %w", err)
		}
	}
	var n int64
	if err := tx.Raw("SELECT count(*) FROM login_failures WHERE username_fold = ? AND at > ?",
		key, ts(at.Add(-p.UserWindow))).Scan(&n).Error; err != nil {
		return c, fmt.Errorf("db: reserve sign-in: count by username: %w", err)
	}
	c.User = int(n)
	if c.User < p.PerUser {
		return c, nil
	}
	var latest []struct{ At time.Time }
	if err := tx.Raw("SELECT at FROM login_failures WHERE username_fold = ? ORDER BY at DESC, id DESC LIMIT 1",
		key).Scan(&latest).Error; err != nil {
		return c, fmt.Errorf("db: reserve sign-in: latest failure: %w", err)
	}
	if len(latest) > 0 {
		c.UserLatest = utc(latest[0].At)
	}
	if address != "" {
		var known int64
		if err := tx.Raw(`SELECT count(*) FROM sessions s JOIN users u ON u.id = s.user_id
			WHERE u.username_fold = ? AND s.address = ? AND s.created_at > ?`,
			key, address, ts(at.Add(-p.KnownFor))).Scan(&known).Error; err != nil {
			return c, fmt.Errorf("db: reserve sign-in: known address: %w", err)
		}
		c.Known = known > 0
	}
	return c, nil
}

// ReleaseLogin deletes the reservation of a sign-in that succeeded. A reservation deleted
// already (purged, released twice) is no error.
func (d *DB) ReleaseLogin(ctx context.Context, reservation int64) error {
	if err := d.w.WithContext(ctx).Exec("DELETE FROM login_failures WHERE id = ?", reservation).Error; err != nil {
		return fmt.Errorf("db: release sign-in: %w", err)
	}
	return nil
}
