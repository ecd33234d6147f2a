package db

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/kamflow/kamflow"
)

// Settings returns the saved settings, or kamflow.DefaultSettings() while none are saved.
func (d *DB) Settings(ctx context.Context) (kamflow.Settings, error) {
	var data []string
	if err := d.r.WithContext(ctx).Raw("SELECT data FROM settings WHERE id = 1").Scan(&data).Error; err != nil {
		return kamflow.Settings{}, fmt.Errorf("db: read settings: %w", err)
	}
	if len(data) == 0 {
		return kamflow.DefaultSettings(), nil
	}
	var s kamflow.Settings
	if err := json.Unmarshal([]byte(data[0]), &s); err != nil {
		return kamflow.Settings{}, fmt.Errorf("db: decode settings: %w", err)
	}
	return s, nil
}

// SaveSettings validates s and saves it in place of the settings before.
func (d *DB) SaveSettings(ctx context.Context, s kamflow.Settings, audit ...*kamflow.AuditEntry) error {
	if err := s.Validate(); err != nil {
		return err
	}
	data, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("db: encode settings: %w", err)
	}
	return d.inTx(ctx, "save settings", func(tx *gorm.DB) error {
		err := tx.Exec(`INSERT INTO settings (id, data, updated_at) VALUES (1, ?, ?)
			ON CONFLICT (id) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at`,
			string(data), ts(time.Now())).Error
		if err != nil {
			return fmt.Errorf("db: save settings: %w", err)
		}
		return appendEach(tx, audit)
	})
}
