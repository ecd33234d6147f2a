package api_test

import (
	"bytes"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/kamflow/kamflow/db"
	"github.com/kamflow/kamflow/db/dbtest"
)

// BenchmarkImport50k imports a file of 50,000 accounts through the API into PostgreSQL — the
// upload, reading and checking every row, and the background run committing them in batches —
// and reports rows per second from the upload to the last commit (target: 2,000). While it runs,
// a client polls GET /imports/{id} as the UI does: progress_reads counts the distinct progress
// values it saw. SQLite runs it with KAMFLOW_BENCH_SQLITE=1.
func BenchmarkImport50k(b *testing.B) {
	const rows = 50_000
	var d *db.DB
	if os.Getenv("KAMFLOW_BENCH_SQLITE") == "1" {
		d = dbtest.SQLite(b)
	} else {
		d = dbtest.Postgres(b)
	}
	e := newEnv(b, d)
	e.session("kam1")
	var total time.Duration
	seen := 0
	for i := range b.N {
		var file bytes.Buffer
		file.WriteString("客户编号,客户名称,行业,地区,负责人,备注\r\n")
		for r := range rows {
			owner := "kam1"
			if r%3 == 0 {
				owner = "kam2"
			}
			fmt.Fprintf(&file, "R%d-%06d,客户 %d-%06d 有限公司,石化,华东,%s,第 %d 行\r\n", i, r, i, r, owner, r+2)
		}
		start := time.Now()
		res := e.upload("kam1", "kind=accounts&dry_run=false", "50k.csv", file.Bytes())
		if res.status != 201 {
			b.Fatalf("upload: %d %.300s", res.status, res.body)
		}
		loc := res.header.Get("Location")
		progress := map[string]bool{}
		var mu sync.Mutex
		stop := make(chan struct{})
		var polled sync.WaitGroup
		polled.Add(1)
		go func() {
			defer polled.Done()
			for {
				select {
				case <-stop:
					return
				case <-time.After(50 * time.Millisecond):
				}
				r := e.serve(request{method: "GET", path: loc, as: "kam1"})
				p, _ := lookup(r.json, "processed")
				mu.Lock()
				progress[fmt.Sprint(p)] = true
				mu.Unlock()
			}
		}()
		e.srv.WaitImports()
		total += time.Since(start)
		close(stop)
		polled.Wait()
		seen += len(progress)
		done := e.serve(request{method: "GET", path: loc, as: "kam1"})
		if st, _ := lookup(done.json, "status"); st != "done" {
			b.Fatalf("import: %.300s", done.body)
		}
		if n, _ := lookup(done.json, "imported"); n != float64(rows) {
			b.Fatalf("imported %v of %d", n, rows)
		}
	}
	b.ReportMetric(float64(rows*b.N)/total.Seconds(), "rows/s")
	b.ReportMetric(float64(seen)/float64(b.N), "progress_reads")
}
