package db

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/kamflow/kamflow"
)

var _ kamflow.CertificateStore = (*DB)(nil)

// errNumbered is an allocation that found its deal numbered by another meanwhile: its
// transaction rolls back (giving its sequence number back) and the other's number is read.
var errNumbered = errors.New("db: certificate numbered meanwhile")

// CertificateNumber returns the deal's certificate number, allocating the year's next one the
// first time (see migrations/postgres/0100_certificates.sql). On PostgreSQL the year's counter
// row is locked by the increment until the transaction ends, so that allocations of a year take
// their turns; on SQLite every write does.
func (d *DB) CertificateNumber(ctx context.Context, dealID string, issued time.Time) (string, error) {
	if dealID == "" {
		return "", kamflow.Errorf(kamflow.EINVALID, "a certificate number needs a deal")
	}
	if n, err := d.certificateNumber(d.r.WithContext(ctx), dealID); err != nil || n != "" {
		return n, err
	}
	year := kamflow.CertificateYear(issued)
	var number string
	err := d.w.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var seq []int
		err := tx.Raw(`INSERT INTO certificate_years (year, last_seq) VALUES (?, 1)
			ON CONFLICT (year) DO UPDATE SET last_seq = certificate_years.last_seq + 1
			RETURNING last_seq`, year).Scan(&seq).Error
		if err != nil {
			return fmt.Errorf("db: allocate certificate number: %w", err)
		}
		if len(seq) != 1 {
			return fmt.Errorf("db: allocate certificate number: %d rows", len(seq))
		}
		number = kamflow.FormatCertificateNumber(year, seq[0])
		res := tx.Exec(`INSERT INTO certificates (deal_id, year, seq, number, created_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (deal_id) DO NOTHING`, dealID, year, seq[0], number, ts(time.Now()))
		if res.Error != nil {
			return fmt.Errorf("db: store certificate number: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return errNumbered
		}
		return nil
	})
	if errors.Is(err, errNumbered) {
		return d.certificateNumber(d.w.WithContext(ctx), dealID)
	}
	if err != nil {
		return "", err
	}
	return number, nil
}

func (d *DB) certificateNumber(db *gorm.DB, dealID string) (string, error) {
	var n []string
	if err := db.Raw("SELECT number FROM certificates WHERE deal_id = ?", dealID).Scan(&n).Error; err != nil {
		return "", fmt.Errorf("db: read certificate number: %w", err)
	}
	if len(n) == 0 {
		return "", nil
	}
	return n[0], nil
}
