package kamflow

import (
	"context"
	"fmt"
	"time"
)

// CertificateStore gives the acceptance certificates their numbers.
type CertificateStore interface {
	// CertificateNumber returns the number of the deal's acceptance certificate, giving it one —
	// the next of the year of issued — the first time: the certificate downloaded again carries
	// the same number. Numbers are unique, and sequential without gaps within a year, however
	// many are given at once.
	CertificateNumber(ctx context.Context, dealID string, issued time.Time) (string, error)
}

// CertificateYear is the year a certificate issued at t is numbered in: the year in UTC, so that
// the number does not depend on where it is downloaded.
func CertificateYear(t time.Time) int { return t.UTC().Year() }

// FormatCertificateNumber is the readable number of the seq-th certificate of the year, e.g.
// KF-2026-000123.
func FormatCertificateNumber(year, seq int) string { return fmt.Sprintf("KF-%04d-%06d", year, seq) }
