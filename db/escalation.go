package db

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"

	"github.com/kamflow/kamflow"
)

var (
	_ kamflow.EscalationStore = (*DB)(nil)
	_ kamflow.Directory       = (*DB)(nil)
	_ kamflow.ReportStore     = (*DB)(nil)
	_ kamflow.DigestDirectory = (*DB)(nil)
)

// Escalation returns the saved escalation ladder, or the zero (default) one while none is saved.
func (d *DB) Escalation(ctx context.Context) (kamflow.Escalation, error) {
	var data []string
	if err := d.r.WithContext(ctx).Raw("SELECT data FROM escalation_settings WHERE id = 1").Scan(&data).Error; err != nil {
		return kamflow.Escalation{}, fmt.Errorf("db: read escalation: %w", err)
	}
	var e kamflow.Escalation
	if len(data) == 0 {
		return e, nil
	}
	if err := json.Unmarshal([]byte(data[0]), &e); err != nil {
		return kamflow.Escalation{}, fmt.Errorf("db: decode escalation: %w", err)
	}
	return e, nil
}

// SaveEscalation validates e and saves it in place of the ladder before; the settings, which
// the ladder is edited with, move on to their next version. The API changes the ladder with
// EditSettings, which never overwrites a concurrent change.
func (d *DB) SaveEscalation(ctx context.Context, e kamflow.Escalation, audit ...*kamflow.AuditEntry) error {
	if err := e.Validate(); err != nil {
		return err
	}
	data, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("db: encode escalation: %w", err)
	}
	return d.inTx(ctx, "save escalation", func(tx *gorm.DB) error {
		err := tx.Exec(`INSERT INTO escalation_settings (id, data, updated_at) VALUES (1, ?, ?)
			ON CONFLICT (id) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at`,
			string(data), ts(time.Now())).Error
		if err != nil {
			return fmt.Errorf("db: save escalation: %w", err)
		}
		if err := d.ensureRow(tx, "settings", kamflow.DefaultSettings()); err != nil {
			return err
		}
		if err := tx.Exec("UPDATE settings SET version = version + 1 WHERE id = 1").Error; err != nil {
			return fmt.Errorf("db: save escalation: %w", err)
		}
		return appendEach(tx, audit)
	})
}

// Directors lists the enabled directors who lead team, in username order (regardless of case).
// None for "" (no team).
func (d *DB) Directors(ctx context.Context, team string) ([]*kamflow.User, error) {
	if team == "" {
		return nil, nil
	}
	all, err := d.EnabledDirectors(ctx)
	if err != nil {
		return nil, err
	}
	var out []*kamflow.User
	for _, u := range all {
		if slices.Contains(u.Teams, team) {
			out = append(out, u)
		}
	}
	return out, nil
}

// EnabledDirectors lists every enabled director with the teams they lead, in username order
// (regardless of case): who receives a daily digest.
func (d *DB) EnabledDirectors(ctx context.Context) ([]*kamflow.User, error) {
	// The teams are a JSON array; the directors are few, so a caller after one team's filters
	// them here rather than in SQL, which would differ by dialect.
	var rows []userRow
	err := d.r.WithContext(ctx).Raw("SELECT "+userColumns+" FROM users WHERE role = ? AND NOT disabled ORDER BY username_fold, id",
		string(kamflow.UserDirector)).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("db: list directors: %w", err)
	}
	out := make([]*kamflow.User, 0, len(rows))
	for _, r := range rows {
		u, err := r.user()
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, nil
}

// UserEmails returns the e-mail addresses of the enabled users among usernames (in any case) that
// have one, keyed by the username as given.
func (d *DB) UserEmails(ctx context.Context, usernames []string) (map[string]string, error) {
	out := map[string]string{}
	byFold := map[string][]string{}
	var args []any
	for _, u := range usernames {
		f := fold(u)
		if _, ok := byFold[f]; !ok {
			args = append(args, f)
		}
		byFold[f] = append(byFold[f], u)
	}
	if len(args) == 0 {
		return out, nil
	}
	var rows []struct {
		UsernameFold string
		Email        string
	}
	err := d.r.WithContext(ctx).Raw(`SELECT u.username_fold, e.email FROM users u JOIN user_emails e ON e.user_id = u.id
		WHERE NOT u.disabled AND `+inList("u.username_fold", len(args)), args...).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("db: read e-mail addresses: %w", err)
	}
	for _, r := range rows {
		for _, u := range byFold[r.UsernameFold] {
			out[u] = r.Email
		}
	}
	return out, nil
}

// EmailsByUserID returns the e-mail addresses of those of the users that have one, by user id.
func (d *DB) EmailsByUserID(ctx context.Context, userIDs []string) (map[string]string, error) {
	out := map[string]string{}
	if len(userIDs) == 0 {
		return out, nil
	}
	args := make([]any, len(userIDs))
	for i, id := range userIDs {
		args[i] = id
	}
	var rows []struct {
		UserID string
		Email  string
	}
	if err := d.r.WithContext(ctx).Raw("SELECT user_id, email FROM user_emails WHERE "+inList("user_id", len(args)), args...).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("db: read e-mail addresses: %w", err)
	}
	for _, r := range rows {
		out[r.UserID] = r.Email
	}
	return out, nil
}

// SetUserEmail sets the user's e-mail address, or removes it for "". not_found for no such user.
func (d *DB) SetUserEmail(ctx context.Context, userID, email string) error {
	if email != "" {
		if err := kamflow.ValidateEmail(email); err != nil {
			return err
		}
	}
	return d.inTx(ctx, "set e-mail of user "+userID, func(tx *gorm.DB) error {
		var n int64
		if err := tx.Raw("SELECT count(*) FROM users WHERE id = ?", userID).Scan(&n).Error; err != nil {
			return fmt.Errorf("db: set e-mail of user %s: %w", userID, err)
		}
		if n == 0 {
			return kamflow.Errorf(kamflow.ENOTFOUND, "user %q not found", userID)
		}
		var err error
		if email == "" {
			err = tx.Exec("DELETE FROM user_emails WHERE user_id = ?", userID).Error
		} else {
			err = tx.Exec(`INSERT INTO user_emails (user_id, email, updated_at) VALUES (?, ?, ?)
				ON CONFLICT (user_id) DO UPDATE SET email = excluded.email, updated_at = excluded.updated_at`,
				userID, email, ts(time.Now())).Error
		}
		if err != nil {
			return fmt.Errorf("db: set e-mail of user %s: %w", userID, err)
		}
		return nil
	})
}
