package db

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/kamflow/kamflow"
)

// idempotencyRow is an idempotency_keys row.
type idempotencyRow struct {
	Key         string
	Fingerprint string
	Status      int
	Body        []byte
	CreatedAt   time.Time
}

// IdempotentResponse returns the answer stored under key; nil, nil when there is none.
func (d *DB) IdempotentResponse(ctx context.Context, key string) (*kamflow.IdempotentResponse, error) {
	return d.readIdempotent(d.r.WithContext(ctx), key)
}

func (d *DB) readIdempotent(db *gorm.DB, key string) (*kamflow.IdempotentResponse, error) {
	var rows []idempotencyRow
	err := db.Raw(`SELECT "key", fingerprint, status, body, created_at
		FROM idempotency_keys WHERE "key" = ?`, key).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("db: read idempotency key: %w", err)
	}
	if len(rows) == 0 {
		return nil, nil
	}
	r := rows[0]
	if len(r.Body) == 0 {
		r.Body = nil // SQLite reads an empty blob as nil, PostgreSQL as empty: answer alike
	}
	return &kamflow.IdempotentResponse{Key: r.Key, Fingerprint: r.Fingerprint, Status: r.Status,
		Body: r.Body, CreatedAt: utc(r.CreatedAt)}, nil
}

// SaveIdempotentResponse stores r under its key, in place of a claim (status 0). The first answer
// stored under a key stays: a second save is a no-op, so two racing requests with one key cannot
// overwrite each other's answer, and the caller can read back which one won. A zero CreatedAt is
// the current time.
func (d *DB) SaveIdempotentResponse(ctx context.Context, r *kamflow.IdempotentResponse) error {
	if r == nil || r.Key == "" {
		return kamflow.Errorf(kamflow.EINVALID, "idempotent response without a key")
	}
	if r.Status == 0 {
		return kamflow.Errorf(kamflow.EINVALID, "idempotent response without a status")
	}
	created := r.CreatedAt
	if created.IsZero() {
		created = time.Now()
	}
	body := r.Body
	if body == nil {
		body = []byte{} // the column is NOT NULL
	}
	err := d.w.WithContext(ctx).Exec(`INSERT INTO idempotency_keys ("key", fingerprint, status, body, created_at)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT ("key") DO UPDATE SET fingerprint = excluded.fingerprint, status = excluded.status,
		body = excluded.body, created_at = excluded.created_at WHERE idempotency_keys.status = 0`,
		r.Key, r.Fingerprint, r.Status, body, ts(created)).Error
	if err != nil {
		return fmt.Errorf("db: save idempotency key: %w", err)
	}
	return nil
}

// ClaimIdempotencyKey claims c.Key for the request c before it is answered: see
// kamflow.IdempotencyStore. The claim is a row of status 0 whose body is c's token.
func (d *DB) ClaimIdempotencyKey(ctx context.Context, c *kamflow.IdempotentResponse, staleBefore time.Time) (*kamflow.IdempotentResponse, error) {
	if c == nil || c.Key == "" || len(c.Body) == 0 {
		return nil, kamflow.Errorf(kamflow.EINVALID, "idempotency claim without a key or a token")
	}
	db := d.w.WithContext(ctx)
	// A claim released between the insert and the read leaves nothing to read: claim again.
	for range 3 {
		res := db.Exec(`INSERT INTO idempotency_keys ("key", fingerprint, status, body, created_at)
			VALUES (?, ?, 0, ?, ?) ON CONFLICT ("key") DO NOTHING`, c.Key, c.Fingerprint, c.Body, ts(c.CreatedAt))
		if res.Error != nil {
			return nil, fmt.Errorf("db: claim idempotency key: %w", res.Error)
		}
		if res.RowsAffected == 1 {
			return nil, nil
		}
		// The same request's claim left by a server that stopped answering it is taken over.
		res = db.Exec(`UPDATE idempotency_keys SET body = ?, created_at = ?
			WHERE "key" = ? AND status = 0 AND fingerprint = ? AND created_at < ?`,
			c.Body, ts(c.CreatedAt), c.Key, c.Fingerprint, ts(staleBefore))
		if res.Error != nil {
			return nil, fmt.Errorf("db: claim idempotency key: %w", res.Error)
		}
		if res.RowsAffected == 1 {
			return nil, nil
		}
		prev, err := d.readIdempotent(db, c.Key)
		if err != nil || prev != nil {
			return prev, err
		}
	}
	return nil, kamflow.Errorf(kamflow.EINPROGRESS, "the request with this Idempotency-Key is being answered")
}

// ReleaseIdempotencyKey deletes the claim under key with this token.
func (d *DB) ReleaseIdempotencyKey(ctx context.Context, key string, token []byte) error {
	err := d.w.WithContext(ctx).Exec(`DELETE FROM idempotency_keys WHERE "key" = ? AND status = 0 AND body = ?`, key, token).Error
	if err != nil {
		return fmt.Errorf("db: release idempotency key: %w", err)
	}
	return nil
}

// PurgeIdempotentResponses deletes the answers stored before t and returns how many it deleted.
// Keys are meant to be retried within hours; something should call this now and then so the table
// does not grow forever.
func (d *DB) PurgeIdempotentResponses(ctx context.Context, before time.Time) (int64, error) {
	res := d.w.WithContext(ctx).Exec("DELETE FROM idempotency_keys WHERE created_at < ?", ts(before))
	if res.Error != nil {
		return 0, fmt.Errorf("db: purge idempotency keys: %w", res.Error)
	}
	return res.RowsAffected, nil
}
