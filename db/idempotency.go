package db

import (
	"context"
	"fmt"
	"time"

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
	var rows []idempotencyRow
	err := d.r.WithContext(ctx).Raw(`SELECT "key", fingerprint, status, body, created_at
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

// SaveIdempotentResponse stores r under its key. The first answer stored under a key stays: a
// second save is a no-op, so two racing requests with one key cannot overwrite each other's
// answer, and the caller can read back which one won. A zero CreatedAt is the current time.
func (d *DB) SaveIdempotentResponse(ctx context.Context, r *kamflow.IdempotentResponse) error {
	if r == nil || r.Key == "" {
		return kamflow.Errorf(kamflow.EINVALID, "idempotent response without a key")
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
		VALUES (?, ?, ?, ?, ?) ON CONFLICT ("key") DO NOTHING`,
		r.Key, r.Fingerprint, r.Status, body, ts(created)).Error
	if err != nil {
		return fmt.Errorf("db: save idempotency key: %w", err)
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
