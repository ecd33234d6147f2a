package db_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/db"
	"github.com/kamflow/kamflow/db/dbtest"
)

// TestCertificateNumbers: a deal's certificate is numbered KF-<year>-<6 digits> the first time
// and keeps its number; numbers run on from 1 within a year and start again in the next.
func TestCertificateNumbers(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		in2026 := time.Date(2026, 12, 31, 23, 0, 0, 0, time.UTC)
		// 07:00 on 1 January in Shanghai is still 2026 in UTC: numbered in 2026.
		shanghai := time.Date(2027, 1, 1, 7, 0, 0, 0, time.FixedZone("CST", 8*3600))
		for i, tt := range []struct {
			deal   string
			issued time.Time
			want   string
		}{
			{"deal-a", in2026, "KF-2026-000001"},
			{"deal-b", in2026, "KF-2026-000002"},
			{"deal-a", in2026.Add(48 * time.Hour), "KF-2026-000001"}, // downloaded again, later
			{"deal-c", shanghai, "KF-2026-000003"},
			{"deal-d", time.Date(2027, 1, 2, 0, 0, 0, 0, time.UTC), "KF-2027-000001"},
			{"deal-b", in2026, "KF-2026-000002"},
		} {
			got, err := d.CertificateNumber(ctx, tt.deal, tt.issued)
			if err != nil || got != tt.want {
				t.Errorf("%d: CertificateNumber(%s) = %q, %v; want %s", i, tt.deal, got, err, tt.want)
			}
		}
		if _, err := d.CertificateNumber(ctx, "", in2026); kamflow.ErrorCode(err) != kamflow.EINVALID {
			t.Errorf("no deal: %v", err)
		}
	})
}

// TestCertificateNumbersConcurrent: certificates numbered at once, some of them the same deal's
// downloaded by several people at once, get one number per deal, 1 to n without gap or repeat.
func TestCertificateNumbersConcurrent(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		issued := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
		const deals, tries = 20, 3
		got := make([][tries]string, deals)
		var wg sync.WaitGroup
		errs := make(chan error, deals*tries)
		for i := range deals {
			for j := range tries {
				wg.Add(1)
				go func() {
					defer wg.Done()
					n, err := d.CertificateNumber(ctx, fmt.Sprintf("deal-%02d", i), issued)
					if err != nil {
						errs <- err
						return
					}
					got[i][j] = n
				}()
			}
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		seen := map[string]int{}
		for i, g := range got {
			for _, n := range g[1:] {
				if n != g[0] {
					t.Errorf("deal %d numbered %v", i, g)
				}
			}
			if other, dup := seen[g[0]]; dup {
				t.Errorf("deals %d and %d both got %s", other, i, g[0])
			}
			seen[g[0]] = i
		}
		for k := 1; k <= deals; k++ {
			if _, ok := seen[kamflow.FormatCertificateNumber(2026, k)]; !ok {
				t.Errorf("no certificate got number %d: %v", k, seen)
			}
		}
	})
}
