package db

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"

	"github.com/kamflow/kamflow"
)

var _ kamflow.AttentionStore = (*DB)(nil)

// upsertAttention lists a deal needing attention, or updates its row: the deal has needed it since
// its first failure, and keeps its title and owner when the update does not say them.
const upsertAttention = `INSERT INTO deal_attention (deal_id, title, owner, seq, pending, reason, error,
	attempts, since, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (deal_id) DO UPDATE SET
	title = CASE WHEN excluded.title = '' THEN deal_attention.title ELSE excluded.title END,
	owner = CASE WHEN excluded.owner = '' THEN deal_attention.owner ELSE excluded.owner END,
	seq = excluded.seq, pending = excluded.pending, reason = excluded.reason, error = excluded.error,
	attempts = excluded.attempts, updated_at = excluded.updated_at`

// maxNoticeError is how much of the error an admin's notification quotes (the list has it whole).
const maxNoticeError = 500

// RecordAttention lists the deal as needing attention (or updates its row) and, in the same
// transaction, tells every enabled admin in the app (kind kamflow.NoticeAttention, keyed
// "attention:<deal>:<seq>:<username>", so once per deal and Seq however often it is recorded).
// A zero Since is the current time; the row keeps the Since of the deal's first failure.
func (d *DB) RecordAttention(ctx context.Context, a kamflow.Attention) error {
	_, err := d.RecordNewAttention(ctx, a)
	return err
}

// RecordNewAttention is RecordAttention that also reports whether the deal's change a.Seq was not
// listed yet: a new failure, rather than the same one recorded again (a retried activity, a new
// count of pending changes or of attempts).
func (d *DB) RecordNewAttention(ctx context.Context, a kamflow.Attention) (bool, error) {
	if a.DealID == "" {
		return false, kamflow.Errorf(kamflow.EINVALID, "attention without a deal")
	}
	if a.Error == "" {
		a.Error = "unknown error"
	}
	now := time.Now()
	if a.Since.IsZero() {
		a.Since = now
	}
	var fresh bool
	err := d.inTx(ctx, "record attention to deal "+a.DealID, func(tx *gorm.DB) error {
		var seqs []int64
		if err := tx.Raw("SELECT seq FROM deal_attention WHERE deal_id = ?"+d.forUpdate(), a.DealID).Scan(&seqs).Error; err != nil {
			return fmt.Errorf("db: read attention to deal %s: %w", a.DealID, err)
		}
		fresh = len(seqs) == 0 || seqs[0] != a.Seq
		err := tx.Exec(upsertAttention, a.DealID, a.Title, a.Owner, a.Seq, a.Pending, a.Reason, a.Error,
			a.Attempts, ts(a.Since), ts(now)).Error
		if err != nil {
			return fmt.Errorf("db: record attention to deal %s: %w", a.DealID, err)
		}
		title := a.Title
		if title == "" {
			// The row may name it from an earlier record, or the deal's projection from before.
			var titles []string
			if err := tx.Raw(`SELECT CASE WHEN a.title <> '' THEN a.title ELSE COALESCE(d.title, '') END
				FROM deal_attention a LEFT JOIN deals d ON d.id = a.deal_id WHERE a.deal_id = ?`, a.DealID).Scan(&titles).Error; err != nil {
				return fmt.Errorf("db: read the title of deal %s: %w", a.DealID, err)
			}
			if len(titles) == 1 {
				title = titles[0]
			}
		}
		if title == "" {
			title = a.DealID
		}
		var admins []string
		if err := tx.Raw("SELECT username FROM users WHERE role = ? AND NOT disabled ORDER BY username_fold, id",
			string(kamflow.UserAdmin)).Scan(&admins).Error; err != nil {
			return fmt.Errorf("db: list admins: %w", err)
		}
		msg := attentionMessage(title, a.Error)
		params, err := encodeParams(map[string]string{kamflow.NoticeParamTitle: title, "error": noticeCause(a.Error)})
		if err != nil {
			return err
		}
		for _, u := range admins {
			err := tx.Exec(`INSERT INTO notifications (user_id, deal_id, kind, "key", params, message, created_at)
				VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT ("key") DO NOTHING`,
				u, a.DealID, kamflow.NoticeAttention, fmt.Sprintf("attention:%s:%d:%s", a.DealID, a.Seq, u), params, msg, ts(now)).Error
			if err != nil {
				return fmt.Errorf("db: tell %s of deal %s needing attention: %w", u, a.DealID, err)
			}
		}
		return nil
	})
	return fresh, err
}

// noticeCause is the error of a deal needing attention as its notice tells it: on one line, cut
// to maxNoticeError characters.
func noticeCause(cause string) string {
	cause = strings.Join(strings.Fields(cause), " ")
	if utf8.RuneCountInString(cause) > maxNoticeError {
		cause = string([]rune(cause)[:maxNoticeError]) + "…"
	}
	return cause
}

// attentionMessage is the admins' notification of a deal needing attention, in Chinese and then in
// English (as the daily digest's).
func attentionMessage(title, cause string) string {
	cause = noticeCause(cause)
	return fmt.Sprintf("商机「%s」需要处理：其变更无法写入数据库（%s）/ Deal “%s” needs attention: its change could not be written to the database (%s)",
		title, cause, title, cause)
}

// attentionRow is a deal_attention row as read, with the deal's title and owner as projected.
type attentionRow struct {
	DealID    string
	Title     string
	Owner     string
	Seq       int64
	Pending   int
	Reason    string
	Error     string
	Attempts  int
	Since     time.Time
	DealTitle *string
	DealOwner *string
}

func (r attentionRow) attention() kamflow.Attention {
	a := kamflow.Attention{DealID: r.DealID, Title: r.Title, Owner: r.Owner, Seq: r.Seq, Pending: r.Pending,
		Reason: r.Reason, Error: r.Error, Attempts: r.Attempts, Since: utc(r.Since)}
	if a.Title == "" && r.DealTitle != nil {
		a.Title = *r.DealTitle
	}
	if a.Owner == "" && r.DealOwner != nil {
		a.Owner = *r.DealOwner
	}
	return a
}

const attentionColumns = `a.deal_id, a.title, a.owner, a.seq, a.pending, a.reason, a.error, a.attempts, a.since,
	d.title AS deal_title, d.owner AS deal_owner`

// ClearAttention removes the deal from the list, its changes written, and appends to the deal's
// timeline that it is back to normal (actor "kamflow", action "deal.attention_cleared"), in one
// transaction. A deal not listed (cleared already: a retried call) changes nothing.
func (d *DB) ClearAttention(ctx context.Context, dealID string, at time.Time) error {
	if dealID == "" {
		return kamflow.Errorf(kamflow.EINVALID, "attention without a deal")
	}
	if at.IsZero() {
		at = time.Now()
	}
	return d.inTx(ctx, "clear attention to deal "+dealID, func(tx *gorm.DB) error {
		var rows []attentionRow
		lock := ""
		if d.dialect == DialectPostgres {
			lock = " FOR UPDATE OF a" // the deal's row is on the nullable side of the join
		}
		if err := tx.Raw("SELECT "+attentionColumns+" FROM deal_attention a LEFT JOIN deals d ON d.id = a.deal_id WHERE a.deal_id = ?"+lock,
			dealID).Scan(&rows).Error; err != nil {
			return fmt.Errorf("db: read attention to deal %s: %w", dealID, err)
		}
		if len(rows) == 0 {
			return nil
		}
		a := rows[0].attention()
		if err := tx.Exec("DELETE FROM deal_attention WHERE deal_id = ?", dealID).Error; err != nil {
			return fmt.Errorf("db: clear attention to deal %s: %w", dealID, err)
		}
		return appendAudit(tx, &kamflow.AuditEntry{
			At: at, Actor: "kamflow", Action: "deal.attention_cleared", EntityType: "deal", EntityID: dealID, DealID: dealID, Code: "attention_cleared",
			Summary: fmt.Sprintf("the deal's held changes are written (from change %d, after %d retries); it no longer needs attention", a.Seq, a.Attempts),
			Before:  map[string]any{"seq": a.Seq, "pending": a.Pending, "reason": a.Reason, "error": a.Error, "attempts": a.Attempts, "since": a.Since},
			Key:     fmt.Sprintf("deal:%s:attention-cleared:%d:%d", dealID, a.Seq, a.Since.UnixMicro()),
		})
	})
}

// Attentions lists the deals needing attention, the oldest first (by when they first failed).
func (d *DB) Attentions(ctx context.Context) ([]kamflow.Attention, error) {
	var rows []attentionRow
	err := d.r.WithContext(ctx).Raw("SELECT " + attentionColumns +
		" FROM deal_attention a LEFT JOIN deals d ON d.id = a.deal_id ORDER BY a.since, a.deal_id").Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("db: list the deals needing attention: %w", err)
	}
	out := make([]kamflow.Attention, len(rows))
	for i, r := range rows {
		out[i] = r.attention()
	}
	return out, nil
}

// CountAttentions counts the deals needing attention (the metric's gauge reads it at each scrape).
func (d *DB) CountAttentions(ctx context.Context) (int, error) {
	var n int64
	if err := d.r.WithContext(ctx).Raw("SELECT count(*) FROM deal_attention").Scan(&n).Error; err != nil {
		return 0, fmt.Errorf("db: count the deals needing attention: %w", err)
	}
	return int(n), nil
}
