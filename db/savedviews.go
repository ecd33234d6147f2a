package db

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/kamflow/kamflow"
)

// The users' saved board and list views (kamflow.SavedViewStore), in saved_views.

type savedViewRow struct {
	ID        string
	Username  string
	Page      string
	Name      string
	Query     string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// SavedViews lists the user's views by page and name.
func (d *DB) SavedViews(ctx context.Context, user string) ([]kamflow.SavedView, error) {
	var rows []savedViewRow
	err := d.r.WithContext(ctx).Raw(`SELECT id, username, page, name, query, created_at, updated_at
		FROM saved_views WHERE username = ? ORDER BY page, name, id`, user).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("db: saved views of %s: %w", user, err)
	}
	out := make([]kamflow.SavedView, len(rows))
	for i, r := range rows {
		out[i] = kamflow.SavedView{ID: r.ID, User: r.Username, Page: r.Page, Name: r.Name, Query: r.Query,
			CreatedAt: utc(r.CreatedAt), UpdatedAt: utc(r.UpdatedAt)}
	}
	return out, nil
}

// SaveView stores v, or replaces the query of the user's view of the same page and name.
func (d *DB) SaveView(ctx context.Context, v *kamflow.SavedView) (bool, error) {
	if v.ID == "" || v.User == "" {
		return false, kamflow.Errorf(kamflow.EINVALID, "saved view without an id or a user")
	}
	created := false
	err := d.inTx(ctx, "save view of "+v.User, func(tx *gorm.DB) error {
		var old []savedViewRow
		if err := tx.Raw(`SELECT id, created_at FROM saved_views WHERE username = ? AND page = ? AND name = ?`,
			v.User, v.Page, v.Name).Scan(&old).Error; err != nil {
			return fmt.Errorf("db: save view: %w", err)
		}
		if len(old) > 0 {
			v.ID, v.CreatedAt = old[0].ID, utc(old[0].CreatedAt)
			if err := tx.Exec(`UPDATE saved_views SET query = ?, updated_at = ? WHERE id = ?`,
				v.Query, ts(v.UpdatedAt), v.ID).Error; err != nil {
				return fmt.Errorf("db: save view %s: %w", v.ID, err)
			}
			return nil
		}
		var n int64
		if err := tx.Raw(`SELECT count(*) FROM saved_views WHERE username = ?`, v.User).Scan(&n).Error; err != nil {
			return fmt.Errorf("db: save view: %w", err)
		}
		if n >= kamflow.MaxSavedViews {
			return kamflow.Errorf(kamflow.ECONFLICT, "at most %d saved views a user; delete one first", kamflow.MaxSavedViews)
		}
		err := tx.Exec(`INSERT INTO saved_views (id, username, page, name, query, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, v.ID, v.User, v.Page, v.Name, v.Query, ts(v.CreatedAt), ts(v.UpdatedAt)).Error
		if isUniqueViolation(err) {
			// Saved at the same moment by another request of the user's: theirs stands.
			return kamflow.Errorf(kamflow.ECONFLICT, "a view named %q was saved meanwhile", v.Name).WithDetail("field", "name")
		}
		if err != nil {
			return fmt.Errorf("db: save view: %w", err)
		}
		created = true
		return nil
	})
	return created, err
}

// DeleteSavedView removes the user's view with the id.
func (d *DB) DeleteSavedView(ctx context.Context, user, id string) error {
	res := d.w.WithContext(ctx).Exec(`DELETE FROM saved_views WHERE id = ? AND username = ?`, id, user)
	if res.Error != nil {
		return fmt.Errorf("db: delete saved view %s: %w", id, res.Error)
	}
	if res.RowsAffected == 0 {
		return kamflow.Errorf(kamflow.ENOTFOUND, "saved view %q not found", id)
	}
	return nil
}
