package db

import (
	"context"
	"fmt"

	"gorm.io/gorm"

	"github.com/kamflow/kamflow"
)

// RenameTeam gives a team a new name: not_found for no such team, a conflict when another team
// has the name, in any case.
func (d *DB) RenameTeam(ctx context.Context, id, name string, audit ...*kamflow.AuditEntry) error {
	if name == "" {
		return kamflow.Errorf(kamflow.EINVALID, "a team needs a name").WithDetail("field", "name")
	}
	return d.inTx(ctx, "rename team "+id, func(tx *gorm.DB) error {
		var taken int64
		if err := tx.Raw("SELECT count(*) FROM teams WHERE name_fold = ? AND id <> ?", fold(name), id).Scan(&taken).Error; err != nil {
			return fmt.Errorf("db: rename team %s: %w", id, err)
		}
		if taken > 0 {
			return kamflow.Errorf(kamflow.ECONFLICT, "a team named %q exists already", name).WithDetail("field", "name")
		}
		res := tx.Exec("UPDATE teams SET name = ?, name_fold = ? WHERE id = ?", name, fold(name), id)
		if res.Error != nil {
			return fmt.Errorf("db: rename team %s: %w", id, res.Error)
		}
		if res.RowsAffected == 0 {
			return kamflow.Errorf(kamflow.ENOTFOUND, "no team %q", id)
		}
		return appendEach(tx, audit)
	})
}
