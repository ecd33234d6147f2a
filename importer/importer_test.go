package importer_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/db"
	"github.com/kamflow/kamflow/db/dbtest"
	"github.com/kamflow/kamflow/importer"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

var (
	ctx = context.Background()
	kam = kamflow.Actor{ID: "kam1", Role: kamflow.UserKAM, Teams: []string{"east"}}
)

// deals is the deals' service as far as an import uses it: a deal's start projects it (its
// workflow's first write), a start of an ID taken is a conflict. lose, when set, is the error of
// the start of that deal after it was projected: the worker died before the start's answer.
type deals struct {
	kamflow.DealService // the other methods: not used
	d                   *db.DB
	mu                  sync.Mutex
	lose                map[string]error
}

func (s *deals) CreateDeal(ctx context.Context, d *kamflow.Deal, created *kamflow.StageTransition, _ kamflow.Settings) (*kamflow.Deal, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.d.Deal(ctx, d.ID); err == nil {
		return nil, kamflow.Errorf(kamflow.ECONFLICT, "deal %s exists already", d.ID)
	}
	if err := s.d.Project(ctx, kamflow.Projection{Deal: *d, Transition: created}); err != nil {
		return nil, err
	}
	if err := s.lose[d.Title]; err != nil {
		delete(s.lose, d.Title)
		return nil, err
	}
	return d, nil
}

func setup(t *testing.T, d *db.DB) (*importer.Importer, *deals) {
	t.Helper()
	if err := d.CreateTeam(ctx, &kamflow.Team{ID: "east", Name: "East", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := d.CreateUser(ctx, &kamflow.User{ID: "user-kam1", Username: "kam1", Name: "Li", Role: kamflow.UserKAM, Teams: []string{"east"},
		CreatedAt: time.Now(), UpdatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	svc := &deals{d: d, lose: map[string]error{}}
	return &importer.Importer{Imports: d, Users: d, Settings: d, Service: svc, Deals: d, Audit: d}, svc
}

func upload(t *testing.T, d *db.DB, id string, kind kamflow.ImportKind, file string, total int) {
	t.Helper()
	h, err := kamflow.MapImportHeader(kind, strings.Split(strings.SplitN(file, "\n", 2)[0], ","))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	imp := &kamflow.Import{ID: id, Kind: kind, Status: kamflow.ImportPending, FileName: id + ".csv", Format: "csv", Columns: h.Columns,
		TeamID: "east", CreatedBy: "kam1", Total: total, CreatedAt: now, UpdatedAt: now}
	if err := d.CreateImport(ctx, imp, []byte(file)); err != nil {
		t.Fatal(err)
	}
}

func counts(t *testing.T, d *db.DB, id string) string {
	t.Helper()
	imp, err := d.Import(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%s processed=%d imported=%d skipped=%d rejected=%d not_imported=%d", imp.Status, imp.Processed, imp.Imported,
		imp.Skipped, imp.Rejected, imp.NotImported)
}

// TestResumeAfterPartialCommit: a run's process dies after its first batch of accounts; the
// commit run again (elsewhere) carries on from the rows still pending, and the plan run again
// does nothing: every row is counted once and no account is created twice.
func TestResumeAfterPartialCommit(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		i, _ := setup(t, d)
		var b strings.Builder
		b.WriteString("name\n")
		for n := range 2300 {
			fmt.Fprintf(&b, "Account %05d\n", n)
		}
		upload(t, d, "imp-a", kamflow.ImportAccounts, b.String(), 2300)
		p, err := i.Plan(ctx, "imp-a", importer.RunFirst, kam)
		if err != nil || p.Status != kamflow.ImportRunning || !p.Pending {
			t.Fatalf("plan: %+v %v", p, err)
		}
		// The process dies after the first batch: its context ends there.
		dying, die := context.WithCancel(ctx)
		err = i.Commit(dying, "imp-a", kam, die)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("the dying commit: %v", err)
		}
		if got := counts(t, d, "imp-a"); got != "running processed=1000 imported=1000 skipped=0 rejected=0 not_imported=0" {
			t.Errorf("after the first batch: %s", got)
		}
		// Taken up again: planned already, then the rest.
		if p, err := i.Plan(ctx, "imp-a", importer.RunFirst, kam); err != nil || !p.Pending {
			t.Fatalf("plan again: %+v %v", p, err)
		}
		if err := i.Commit(ctx, "imp-a", kam, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := i.Finish(ctx, "imp-a", importer.RunFirst, kam, importer.FinishInput{}); err != nil {
			t.Fatal(err)
		}
		if got := counts(t, d, "imp-a"); got != "done processed=2300 imported=2300 skipped=0 rejected=0 not_imported=0" {
			t.Errorf("resumed: %s", got)
		}
		keys, _ := d.TeamAccounts(ctx, "east")
		_, audited, _ := d.Audit(ctx, kamflow.AuditFilter{EntityType: "account"})
		if len(keys) != 2300 || audited != 2300 {
			t.Errorf("%d accounts, %d audit entries, want 2300 each", len(keys), audited)
		}
		// The rows a kamflow import would not import: none.
		n := 0
		d.ImportRows(ctx, "imp-a", "", func(kamflow.ImportRow) error { n++; return nil })
		if n != 0 {
			t.Errorf("%d rows kept, want none", n)
		}
	})
}

// TestResumeDealStartedNotRecorded: a deal's workflow was started but the worker died before its
// row was recorded; the commit run again finds the deal's ID taken, reads the deal, and counts it
// imported, since its import mark is this row's. A deal of the same ID from another import is
// skipped.
func TestResumeDealStartedNotRecorded(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		i, svc := setup(t, d)
		upload(t, d, "imp-a", kamflow.ImportAccounts, "name\nACME\n", 1)
		if _, err := i.Plan(ctx, "imp-a", importer.RunFirst, kam); err != nil {
			t.Fatal(err)
		}
		if err := i.Commit(ctx, "imp-a", kam, nil); err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		b.WriteString("account,title,value,stage\n")
		for n := range 20 {
			fmt.Fprintf(&b, "ACME,Deal %02d,%d,development\n", n, n+1)
		}
		file := b.String()
		upload(t, d, "imp-d", kamflow.ImportDeals, file, 20)
		// Another run of the same file, planned at the same time, will find its deals taken.
		upload(t, d, "imp-d2", kamflow.ImportDeals, file, 20)
		for _, id := range []string{"imp-d", "imp-d2"} {
			if _, err := i.Plan(ctx, id, importer.RunFirst, kam); err != nil {
				t.Fatal(err)
			}
		}
		svc.lose["Deal 09"] = kamflow.Errorf(kamflow.EUNAVAILABLE, "the worker died")
		if err := i.Commit(ctx, "imp-d", kam, nil); kamflow.ErrorCode(err) != kamflow.EUNAVAILABLE {
			t.Fatalf("the dying commit: %v", err)
		}
		// The starts that ended are settled (how many depends on the timing); Deal 09's row is pending.
		if imp, _ := d.Import(ctx, "imp-d"); imp.Status != kamflow.ImportRunning || imp.Processed >= 20 || imp.Imported != imp.Processed {
			t.Errorf("after the death: %+v", imp.Progress())
		}
		if rows, _ := d.PendingImportRows(ctx, "imp-d", 0, 100); len(rows) == 0 || rows[0].Line > 11 {
			t.Errorf("pending after the death: %+v", rows)
		}
		if err := i.Commit(ctx, "imp-d", kam, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := i.Finish(ctx, "imp-d", importer.RunFirst, kam, importer.FinishInput{}); err != nil {
			t.Fatal(err)
		}
		if got := counts(t, d, "imp-d"); got != "done processed=20 imported=20 skipped=0 rejected=0 not_imported=0" {
			t.Errorf("resumed: %s", got)
		}
		if err := i.Commit(ctx, "imp-d2", kam, nil); err != nil {
			t.Fatal(err)
		}
		if got := counts(t, d, "imp-d2"); got != "running processed=20 imported=0 skipped=20 rejected=0 not_imported=0" {
			t.Errorf("the other run: %s", got)
		}
		list, err := d.TeamDeals(ctx, "east")
		if err != nil || len(list) != 20 {
			t.Errorf("%d deals, want 20 (%v)", len(list), err)
		}
	})
}

// TestCancelledRestNotImported: a run cancelled before its commit ends with every row to import
// not_imported, their cells kept for the rejected file.
func TestCancelledRestNotImported(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		i, _ := setup(t, d)
		upload(t, d, "imp-c", kamflow.ImportAccounts, "name,industry\nACME,steel\n=x,steel\nBeta,power\n", 3)
		if _, err := i.Plan(ctx, "imp-c", importer.RunFirst, kam); err != nil {
			t.Fatal(err)
		}
		if _, err := i.Finish(ctx, "imp-c", importer.RunFirst, kam, importer.FinishInput{Cancelled: true}); err != nil {
			t.Fatal(err)
		}
		if got := counts(t, d, "imp-c"); got != "cancelled processed=3 imported=0 skipped=0 rejected=1 not_imported=2" {
			t.Errorf("cancelled: %s", got)
		}
		var rows []string
		d.ImportRows(ctx, "imp-c", "", func(r kamflow.ImportRow) error {
			rows = append(rows, fmt.Sprintf("%d %s %q %s", r.Line, r.Outcome, r.Cells, r.Issues[0].Code))
			return nil
		})
		if got := strings.Join(rows, "\n"); got != "2 not_imported [\"ACME\" \"steel\"] cancelled\n3 rejected [\"=x\" \"steel\"] formula\n4 not_imported [\"Beta\" \"power\"] cancelled" {
			t.Errorf("rows:\n%s", got)
		}
	})
}
