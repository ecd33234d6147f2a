package db

import (
	"context"
	"fmt"
	"slices"

	"gorm.io/gorm"

	"github.com/kamflow/kamflow"
)

var _ kamflow.TextStore = (*DB)(nil)

// PutTexts stores long texts by their refs (kamflow.TextRef); a text stored already is left as
// it is, so a retried request stores nothing twice.
func (d *DB) PutTexts(ctx context.Context, texts map[string]string) error {
	if len(texts) == 0 {
		return nil
	}
	refs := make([]string, 0, len(texts))
	for r := range texts {
		refs = append(refs, r)
	}
	slices.Sort(refs) // one order for every writer: no deadlock between two inserting the same texts
	err := d.w.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		for _, r := range refs {
			if r != kamflow.TextRef(texts[r]) {
				return fmt.Errorf("db: text %s is not stored under the hash of its body", r)
			}
			if err := tx.Exec("INSERT INTO texts (ref, body) VALUES (?, ?) ON CONFLICT (ref) DO NOTHING", r, texts[r]).Error; err != nil {
				return fmt.Errorf("db: store text %s: %w", r, err)
			}
		}
		return nil
	})
	return err
}

// Texts returns the texts of refs it has, by ref.
func (d *DB) Texts(ctx context.Context, refs []string) (map[string]string, error) {
	out := map[string]string{}
	for start := 0; start < len(refs); start += 500 {
		var rows []struct {
			Ref  string
			Body string
		}
		batch := refs[start:min(start+500, len(refs))]
		if err := d.r.WithContext(ctx).Raw("SELECT ref, body FROM texts WHERE ref IN ?", batch).Scan(&rows).Error; err != nil {
			return nil, fmt.Errorf("db: read texts: %w", err)
		}
		for _, r := range rows {
			out[r.Ref] = r.Body
		}
	}
	return out, nil
}
