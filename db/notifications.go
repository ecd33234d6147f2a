package db

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/kamflow/kamflow"
)

// Notify stores the notifications, in one transaction. One whose Key is stored already is skipped,
// so that a retried delivery does not tell anyone twice. A zero CreatedAt is the current time.
func (d *DB) Notify(ctx context.Context, ns []kamflow.Notification) error {
	if len(ns) == 0 {
		return nil
	}
	now := time.Now()
	return d.inTx(ctx, "store notifications", func(tx *gorm.DB) error {
		for _, n := range ns {
			var key any // NULL: no deduplication (NULLs never collide on the unique index)
			if n.Key != "" {
				key = n.Key
			}
			created := n.CreatedAt
			if created.IsZero() {
				created = now
			}
			err := tx.Exec(`INSERT INTO notifications (user_id, deal_id, kind, "key", message, created_at, read_at)
				VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT ("key") DO NOTHING`,
				n.UserID, n.DealID, n.Kind, key, n.Message, ts(created), nullTS(n.ReadAt)).Error
			if err != nil {
				return fmt.Errorf("db: store notification for %s: %w", n.UserID, err)
			}
		}
		return nil
	})
}

// notificationRow is a notifications row.
type notificationRow struct {
	ID        int64
	UserID    string
	DealID    string
	Kind      string
	Key       *string
	Message   string
	CreatedAt time.Time
	ReadAt    *time.Time
}

// Notifications lists a user's newest notifications, newest first: limit of them (DefaultLimit
// for 0, at most MaxLimit).
func (d *DB) Notifications(ctx context.Context, userID string, limit int) ([]kamflow.Notification, error) {
	limit, _ = limits(kamflow.Page{Limit: limit})
	var rows []notificationRow
	err := d.r.WithContext(ctx).Raw(`SELECT id, user_id, deal_id, kind, "key", message, created_at, read_at
		FROM notifications WHERE user_id = ? ORDER BY created_at DESC, id DESC LIMIT ?`, userID, limit).
		Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("db: list notifications of %s: %w", userID, err)
	}
	out := make([]kamflow.Notification, len(rows))
	for i, r := range rows {
		n := kamflow.Notification{ID: r.ID, UserID: r.UserID, DealID: r.DealID, Kind: r.Kind,
			Message: r.Message, CreatedAt: utc(r.CreatedAt)}
		if r.Key != nil {
			n.Key = *r.Key
		}
		if r.ReadAt != nil {
			t := utc(*r.ReadAt)
			n.ReadAt = &t
		}
		out[i] = n
	}
	return out, nil
}
