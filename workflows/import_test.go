package workflows_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/activities"
	"github.com/kamflow/kamflow/db"
	"github.com/kamflow/kamflow/db/dbtest"
	"github.com/kamflow/kamflow/importer"
	"github.com/kamflow/kamflow/workflows"
)

// importHarness runs an import's workflow on the test environment with its real activities, on a
// SQLite database; its store passes every call on to the database, and afterBatch, when set, runs
// after each batch of accounts the database committed (n counts them), returning an error to
// report instead of the commit's success (a worker that died before its activity's answer).
type importHarness struct {
	t   *testing.T
	db  *db.DB
	env *testsuite.TestWorkflowEnvironment
	kam kamflow.Actor

	mu         sync.Mutex
	batches    int
	afterBatch func(n int) error
}

type hookedStore struct {
	kamflow.ImportStore
	h *importHarness
}

func (s hookedStore) ImportAccounts(ctx context.Context, importID string, batch []kamflow.ImportedAccount, actor string, now time.Time) error {
	if err := s.ImportStore.ImportAccounts(ctx, importID, batch, actor, now); err != nil {
		return err
	}
	s.h.mu.Lock()
	s.h.batches++
	n, hook := s.h.batches, s.h.afterBatch
	s.h.mu.Unlock()
	if hook != nil {
		return hook(n)
	}
	return nil
}

func newImportHarness(t *testing.T) *importHarness {
	h := &importHarness{t: t, db: dbtest.SQLite(t), kam: kamflow.Actor{ID: "kam1", Role: kamflow.UserKAM, Teams: []string{"east"}}}
	ctx := context.Background()
	if err := h.db.CreateTeam(ctx, &kamflow.Team{ID: "east", Name: "East", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := h.db.CreateUser(ctx, &kamflow.User{ID: "user-kam1", Username: "kam1", Name: "Li", Role: kamflow.UserKAM, Teams: []string{"east"},
		CreatedAt: time.Now(), UpdatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	newImportHarnessOn(h)
	return h
}

// upload stores a pending import of n accounts (and one bad row, line 2) as a request does.
func (h *importHarness) upload(id string, n int) {
	h.t.Helper()
	var b strings.Builder
	b.WriteString("name,industry\n=bad,steel\n")
	for i := range n {
		fmt.Fprintf(&b, "Account %05d,steel\n", i)
	}
	now := time.Now().UTC()
	imp := &kamflow.Import{ID: id, Kind: kamflow.ImportAccounts, Status: kamflow.ImportPending, FileName: "a.csv", Format: "csv",
		Columns: []kamflow.ImportColumn{{Column: "name", Field: "name"}, {Column: "industry", Field: "industry"}}, TeamID: "east",
		CreatedBy: "kam1", Total: n + 1, CreatedAt: now, UpdatedAt: now}
	if err := h.db.CreateImport(context.Background(), imp, []byte(b.String())); err != nil {
		h.t.Fatal(err)
	}
}

func (h *importHarness) run(id string) {
	h.t.Helper()
	h.env.ExecuteWorkflow(workflows.ImportWorkflowName, workflows.ImportInput{ImportID: id, By: h.kam})
	if !h.env.IsWorkflowCompleted() {
		h.t.Fatal("the import's workflow did not end")
	}
	if err := h.env.GetWorkflowError(); err != nil {
		h.t.Fatal(err)
	}
}

// counts is the import's counts and status, and the accounts and audit entries the database has.
func (h *importHarness) counts(id string) string {
	h.t.Helper()
	ctx := context.Background()
	imp, err := h.db.Import(ctx, id)
	if err != nil {
		h.t.Fatal(err)
	}
	keys, err := h.db.TeamAccounts(ctx, "east")
	if err != nil {
		h.t.Fatal(err)
	}
	_, audited, err := h.db.Audit(ctx, kamflow.AuditFilter{EntityType: "account"})
	if err != nil {
		h.t.Fatal(err)
	}
	return fmt.Sprintf("%s processed=%d imported=%d skipped=%d rejected=%d not_imported=%d accounts=%d audited=%d",
		imp.Status, imp.Processed, imp.Imported, imp.Skipped, imp.Rejected, imp.NotImported, len(keys), audited)
}

// TestImportWorkflowPlansCommitsFinishes: the file's rows are planned (the bad row rejected), the
// accounts committed in batches and the import done, with its audit entry.
func TestImportWorkflowPlansCommitsFinishes(t *testing.T) {
	h := newImportHarness(t)
	h.upload("imp-1", 2500)
	h.run("imp-1")
	if got, want := h.counts("imp-1"), "done processed=2501 imported=2500 skipped=0 rejected=1 not_imported=0 accounts=2500 audited=2500"; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if h.batches != 3 {
		t.Errorf("%d batches, want 3", h.batches)
	}
	entries, _, _ := h.db.Audit(context.Background(), kamflow.AuditFilter{EntityType: "import", EntityID: "imp-1"})
	if len(entries) != 1 || entries[0].Action != "import.done" {
		t.Errorf("the import's audit: %+v", entries)
	}
	// Started again (a retried request), the run finds its work done and changes nothing.
	newImportHarnessOn(h)
	h.run("imp-1")
	if got, want := h.counts("imp-1"), "done processed=2501 imported=2500 skipped=0 rejected=1 not_imported=0 accounts=2500 audited=2500"; got != want {
		t.Errorf("run again: %s", got)
	}
}

// newImportHarnessOn gives h a new test environment, on its database.
func newImportHarnessOn(h *importHarness) {
	var s testsuite.WorkflowTestSuite
	h.env = s.NewTestWorkflowEnvironment()
	// The activities do real database work: on a loaded machine the test suite's default bound
	// (3 s of wall time for a run) is too short for a run of thousands of rows.
	h.env.SetTestTimeout(time.Minute)
	h.env.RegisterWorkflowWithOptions(workflows.ImportWorkflow, workflow.RegisterOptions{Name: workflows.ImportWorkflowName})
	h.env.RegisterActivity(&activities.Imports{Wait: time.Second, Importer: &importer.Importer{Imports: hookedStore{h.db, h}, Users: h.db,
		Settings: h.db, Deals: h.db, Audit: h.db, Poll: 5 * time.Millisecond}})
}

// TestImportWorkflowNeverStored: a run whose import never comes (its request died before storing
// it) ends quietly with nothing done.
func TestImportWorkflowNeverStored(t *testing.T) {
	h := newImportHarness(t)
	h.run("imp-ghost")
	if _, err := h.db.Import(context.Background(), "imp-ghost"); kamflow.ErrorCode(err) != kamflow.ENOTFOUND {
		t.Errorf("the ghost import: %v", err)
	}
}

// TestImportWorkflowCancelMidCommit: cancelled after its first batch, the run stops there: the
// batch's accounts stay, the other rows are not_imported (in the rejected file, with their cells)
// and the import is cancelled.
func TestImportWorkflowCancelMidCommit(t *testing.T) {
	h := newImportHarness(t)
	h.upload("imp-c", 2500)
	h.afterBatch = func(n int) error {
		if n == 1 {
			h.env.SignalWorkflow(workflows.ImportCancelSignal, nil)
			time.Sleep(500 * time.Millisecond) // the cancel reaches the activity before its next batch
		}
		return nil
	}
	h.run("imp-c")
	if got, want := h.counts("imp-c"), "cancelled processed=2501 imported=1000 skipped=0 rejected=1 not_imported=1500 accounts=1000 audited=1000"; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	var first kamflow.ImportRow
	n := 0
	if err := h.db.ImportRows(context.Background(), "imp-c", kamflow.OutcomeNotImported, func(r kamflow.ImportRow) error {
		if n == 0 {
			first = r
		}
		n++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if n != 1500 || first.Line != 1003 || len(first.Cells) != 2 || first.Cells[0] != "Account 01000" || first.Issues[0].Code != kamflow.IssueCancelled {
		t.Errorf("%d not imported rows, the first %+v", n, first)
	}
}

// TestImportWorkflowRetryResumes: the commit's worker dies twice — once after a batch committed
// but before its activity answered, once with the database away — and each retry carries on from
// what the database says is done: every row is counted once, no account twice.
func TestImportWorkflowRetryResumes(t *testing.T) {
	h := newImportHarness(t)
	h.upload("imp-r", 3500)
	h.afterBatch = func(n int) error {
		switch n {
		case 2:
			return errors.New("worker killed after the commit") // committed, answer lost
		case 3:
			return kamflow.Errorf(kamflow.EUNAVAILABLE, "the database is away")
		}
		return nil
	}
	h.run("imp-r")
	if got, want := h.counts("imp-r"), "done processed=3501 imported=3500 skipped=0 rejected=1 not_imported=0 accounts=3500 audited=3500"; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if h.batches != 4 {
		t.Errorf("%d batches committed, want 4 (each batch once)", h.batches)
	}
}
