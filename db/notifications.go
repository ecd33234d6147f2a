package db

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/kamflow/kamflow"
)

var _ kamflow.InboxStore = (*DB)(nil)

// encodeParams is how a notification's params are stored: a JSON object, or the empty string for none.
func encodeParams(p map[string]string) (string, error) {
	if len(p) == 0 {
		return "", nil
	}
	b, err := json.Marshal(p)
	if err != nil {
		return "", fmt.Errorf("db: encode notification params: %w", err)
	}
	return string(b), nil
}

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
			params, err := encodeParams(n.Params)
			if err != nil {
				return err
			}
			err = tx.Exec(`INSERT INTO notifications (user_id, deal_id, kind, "key", params, message, created_at, read_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT ("key") DO NOTHING`,
				n.UserID, n.DealID, n.Kind, key, params, n.Message, ts(created), nullTS(n.ReadAt)).Error
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
	Params    string
	Message   string
	CreatedAt time.Time
	ReadAt    *time.Time
}

const notificationColumns = `id, user_id, deal_id, kind, "key", params, message, created_at, read_at`

func (r notificationRow) notification() (kamflow.Notification, error) {
	n := kamflow.Notification{ID: r.ID, UserID: r.UserID, DealID: r.DealID, Kind: r.Kind,
		Message: r.Message, CreatedAt: utc(r.CreatedAt)}
	if r.Key != nil {
		n.Key = *r.Key
	}
	if r.Params != "" {
		if err := json.Unmarshal([]byte(r.Params), &n.Params); err != nil {
			return n, fmt.Errorf("db: decode the params of notification %d: %w", r.ID, err)
		}
	}
	if r.ReadAt != nil {
		t := utc(*r.ReadAt)
		n.ReadAt = &t
	}
	return n, nil
}

func notifications(rows []notificationRow) ([]kamflow.Notification, error) {
	out := make([]kamflow.Notification, len(rows))
	for i, r := range rows {
		n, err := r.notification()
		if err != nil {
			return nil, err
		}
		out[i] = n
	}
	return out, nil
}

// Notifications lists a user's newest notifications, newest first: limit of them (DefaultLimit
// for 0, at most MaxLimit).
func (d *DB) Notifications(ctx context.Context, userID string, limit int) ([]kamflow.Notification, error) {
	limit, _ = limits(kamflow.Page{Limit: limit})
	var rows []notificationRow
	err := d.r.WithContext(ctx).Raw(`SELECT `+notificationColumns+`
		FROM notifications WHERE user_id = ? ORDER BY created_at DESC, id DESC LIMIT ?`, userID, limit).
		Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("db: list notifications of %s: %w", userID, err)
	}
	return notifications(rows)
}

// Inbox lists a page of a user's notifications, newest first, with how many the filter selects
// and how many are unread.
func (d *DB) Inbox(ctx context.Context, f kamflow.InboxFilter) (kamflow.InboxPage, error) {
	limit, offset := limits(f.Page)
	cond := "user_id = ?"
	if f.Unread {
		cond += " AND read_at IS NULL"
	}
	var out kamflow.InboxPage
	// Read in one transaction: the count, the unread count and the page agree.
	err := d.r.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var rows []notificationRow
		if err := tx.Raw(`SELECT `+notificationColumns+` FROM notifications WHERE `+cond+`
			ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`, f.UserID, limit, offset).Scan(&rows).Error; err != nil {
			return err
		}
		var total, unread int64
		if err := tx.Raw("SELECT count(*) FROM notifications WHERE "+cond, f.UserID).Scan(&total).Error; err != nil {
			return err
		}
		if err := tx.Raw("SELECT count(*) FROM notifications WHERE user_id = ? AND read_at IS NULL", f.UserID).Scan(&unread).Error; err != nil {
			return err
		}
		items, err := notifications(rows)
		if err != nil {
			return err
		}
		out = kamflow.InboxPage{Items: items, Total: int(total), Unread: int(unread)}
		return nil
	})
	if err != nil {
		return out, fmt.Errorf("db: inbox of %s: %w", f.UserID, err)
	}
	return out, nil
}

// MarkNotificationRead marks one of the user's notifications read (see kamflow.InboxStore).
func (d *DB) MarkNotificationRead(ctx context.Context, userID string, id int64, at time.Time) (*kamflow.Notification, error) {
	var out *kamflow.Notification
	err := d.inTx(ctx, fmt.Sprintf("mark notification %d read", id), func(tx *gorm.DB) error {
		if err := tx.Exec("UPDATE notifications SET read_at = ? WHERE id = ? AND user_id = ? AND read_at IS NULL",
			ts(at), id, userID).Error; err != nil {
			return fmt.Errorf("db: mark notification %d read: %w", id, err)
		}
		var rows []notificationRow
		if err := tx.Raw("SELECT "+notificationColumns+" FROM notifications WHERE id = ? AND user_id = ?", id, userID).Scan(&rows).Error; err != nil {
			return fmt.Errorf("db: read notification %d: %w", id, err)
		}
		if len(rows) == 0 {
			// Another user's notification is not found either: its existence does not leak.
			return kamflow.Errorf(kamflow.ENOTFOUND, "notification %d not found", id)
		}
		n, err := rows[0].notification()
		out = &n
		return err
	})
	return out, err
}

// MarkAllNotificationsRead marks the user's unread notifications up to upTo read (see
// kamflow.InboxStore).
func (d *DB) MarkAllNotificationsRead(ctx context.Context, userID string, upTo int64, at time.Time) (int, error) {
	q := "UPDATE notifications SET read_at = ? WHERE user_id = ? AND read_at IS NULL"
	args := []any{ts(at), userID}
	if upTo > 0 {
		q += " AND id <= ?"
		args = append(args, upTo)
	}
	res := d.w.WithContext(ctx).Exec(q, args...)
	if res.Error != nil {
		return 0, fmt.Errorf("db: mark the notifications of %s read: %w", userID, res.Error)
	}
	return int(res.RowsAffected), nil
}
