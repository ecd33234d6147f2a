package api_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/db"
	"github.com/kamflow/kamflow/db/dbtest"
	"github.com/kamflow/kamflow/sheet/sheettest"
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
		e.waitImports()
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

// memWatch samples the heap while an upload is answered: its peak above where it started, and how
// much more memory the process holds from the system after it (what it keeps "for good").
type memWatch struct {
	base       runtime.MemStats
	peak       uint64
	stop, done chan struct{}
}

func watchMemory() *memWatch {
	runtime.GC()
	m := &memWatch{stop: make(chan struct{}), done: make(chan struct{})}
	runtime.ReadMemStats(&m.base)
	m.peak = m.base.HeapAlloc
	go func() {
		defer close(m.done)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			m.peak = max(m.peak, ms.HeapAlloc)
			select {
			case <-m.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return m
}

// end stops sampling: the heap's peak above its start, and the growth of the memory obtained from
// the system, in MB.
func (m *memWatch) end() (peakMB, sysMB float64) {
	close(m.stop)
	<-m.done
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return float64(m.peak-m.base.HeapAlloc) / (1 << 20), (float64(ms.Sys) - float64(m.base.Sys)) / (1 << 20)
}

// BenchmarkImportWideXLSX uploads, in a dry run, the workbook of the finding: 27,000 rows of 1,200
// cells, 1.1 MB deflated and 486 MB unpacked (the benchmark writes it into a temporary directory
// first). It used to take minutes and a gigabyte, and to leave 140 MB of rejected cells in the
// database; it must be refused within 5 s and 200 MB, leaving nothing. It reports the answer's
// time and the heap's peak (runtime.MemStats, sampled every 5 ms), and the growth of the memory
// obtained from the system.
func BenchmarkImportWideXLSX(b *testing.B) {
	d := dbtest.SQLite(b)
	e := newEnv(b, d)
	e.session("kam1")
	path := filepath.Join(b.TempDir(), "wide.xlsx")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if err := sheettest.WideXLSX(f, []string{"name"}, 27_000, 1_200, "1"); err != nil {
		b.Fatal(err)
	}
	f.Close()
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	var worst time.Duration
	var peak, sys float64
	b.ResetTimer()
	for range b.N {
		w := watchMemory()
		start := time.Now()
		res := e.upload("kam1", "kind=accounts&dry_run=true", "wide.xlsx", data)
		took := time.Since(start)
		p, s := w.end()
		worst, peak, sys = max(worst, took), max(peak, p), max(sys, s)
		if reason, _ := lookup(res.json, "error.details.reason"); res.status != 413 || reason != "unpacked_too_large" {
			b.Fatalf("upload: %d %.300s", res.status, res.body)
		}
	}
	b.StopTimer()
	if items, err := d.Imports(context.Background(), kamflow.ImportFilter{}); err != nil || len(items) != 0 {
		b.Errorf("the refused file left %d imports behind (%v)", len(items), err)
	}
	if worst > 5*time.Second || peak > 200 {
		b.Errorf("answered in %v with a heap peak of %.0f MB: the budget is 5 s and 200 MB", worst, peak)
	}
	b.ReportMetric(worst.Seconds(), "s/upload")
	b.ReportMetric(peak, "peak-heap-MB")
	b.ReportMetric(sys, "sys-growth-MB")
	b.ReportMetric(float64(len(data))/(1<<20), "file-MB")
}

// BenchmarkImportXLSXRows uploads, in a dry run, a workbook at the row limit — 100,000 accounts of
// 7 columns, every other one with a formula in its notes — read a row at a time: its time and heap
// follow from its rows, and the dry run keeps the rows of its first 10,000 issues and the cells of
// 100 of them only. It reports the answer's time, the heap's peak and the rows stored.
func BenchmarkImportXLSXRows(b *testing.B) {
	d := dbtest.SQLite(b)
	e := newEnv(b, d)
	e.session("kam1")
	var file bytes.Buffer
	err := sheettest.RowsXLSX(&file, []string{"external_id", "name", "industry", "region", "address", "owner", "notes"}, kamflow.MaxImportRows,
		func(i int) []string {
			notes := "visited in March"
			if i%2 == 1 {
				notes = "=HYPERLINK(\"http://x\")"
			}
			return []string{fmt.Sprintf("CRM-%06d", i), fmt.Sprintf("客户 %06d 有限公司", i), "石化", "华东", "上海市浦东新区 " + fmt.Sprint(i), "kam1", notes}
		})
	if err != nil {
		b.Fatal(err)
	}
	var worst time.Duration
	var peak, sys float64
	stored := 0
	b.ResetTimer()
	for range b.N {
		w := watchMemory()
		start := time.Now()
		res := e.upload("kam1", "kind=accounts&dry_run=true", "rows.xlsx", file.Bytes())
		took := time.Since(start)
		p, s := w.end()
		worst, peak, sys = max(worst, took), max(peak, p), max(sys, s)
		r := decodeReport(b, res)
		if res.status != 201 || r.Total != kamflow.MaxImportRows || r.Rejected != kamflow.MaxImportRows/2 {
			b.Fatalf("upload: %d %s", res.status, r.counts())
		}
		stored = 0
		if err := d.ImportRows(context.Background(), r.ID, "", func(kamflow.ImportRow) error { stored++; return nil }); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(worst.Seconds(), "s/upload")
	b.ReportMetric(peak, "peak-heap-MB")
	b.ReportMetric(sys, "sys-growth-MB")
	b.ReportMetric(float64(file.Len())/(1<<20), "file-MB")
	b.ReportMetric(float64(stored), "rows-stored")
}
