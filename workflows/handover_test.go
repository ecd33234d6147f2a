package workflows_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/activities"
	"github.com/kamflow/kamflow/db"
	"github.com/kamflow/kamflow/db/dbtest"
	"github.com/kamflow/kamflow/workflows"
)

// handoverHarness runs an account's handover workflow on the test environment with its real
// activities, on a SQLite database holding the account and its deals. The deals' workflows are
// their domain states behind a DealService double: a command is handled by the deal's state as
// DealWorkflow handles it and projected to the database, and a request id the deal has taken is
// answered again without taking it twice, as Temporal does with an Update ID.
type handoverHarness struct {
	t        *testing.T
	db       *db.DB
	env      *testsuite.TestWorkflowEnvironment
	director kamflow.Actor
	at       time.Time

	mu    sync.Mutex
	deals map[string]*kamflow.DealState
	taken map[string]map[string]bool // by deal: the request ids it has taken
	sent  map[string][]string        // by deal: the request id of every command sent to it
	takes map[string]int             // by deal: the commands it has taken
	// before, when set, runs as a command reaches a deal (n counts the commands sent to it):
	// an error is the answer, and the deal has not seen the command.
	before func(deal string, n int) error
	// after, when set, runs once the deal has taken a command: an error is the answer instead of
	// the deal's (taken, its answer lost).
	after func(deal string, n int) error
	// delay is how long each command takes; inFlight and maxInFlight count the commands under way.
	delay       time.Duration
	inFlight    int
	maxInFlight int
	// recordHook, when set, runs after each RecordHandover the database has committed (n counts
	// them): an error is the answer instead of the record's.
	recordHook func(n int) error
	records    int
}

var handoverT0 = time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)

// newHandoverHarness seeds account acc-1 of team east, owned by kam1, with n open deals of kam1
// (deal-01…), one open deal of kam3 and one lost deal of kam1: only the n are kam1's to hand over.
func newHandoverHarness(t *testing.T, n int) *handoverHarness {
	h := &handoverHarness{t: t, db: dbtest.SQLite(t), at: handoverT0.Add(24 * time.Hour),
		director: kamflow.Actor{ID: "director", Role: kamflow.UserDirector, Teams: []string{"east"}},
		deals:    map[string]*kamflow.DealState{}, taken: map[string]map[string]bool{}, sent: map[string][]string{}, takes: map[string]int{}}
	ctx := context.Background()
	if err := h.db.CreateAccount(ctx, &kamflow.Account{ID: "acc-1", Name: "Baosteel", Owner: "kam1", TeamID: "east",
		CreatedAt: handoverT0, UpdatedAt: handoverT0}); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		h.newDeal(fmt.Sprintf("deal-%02d", i+1), "kam1")
	}
	h.newDeal("deal-kam3", "kam3")
	h.newDeal("deal-lost", "kam1")
	h.command("deal-lost", kamflow.Command{Kind: kamflow.CmdClose, Actor: kamflow.Actor{ID: "kam1", Role: kamflow.UserKAM, Teams: []string{"east"}},
		Close: &kamflow.CloseInput{Outcome: kamflow.StatusLost, Reason: "lost on price"}})
	h.newEnv()
	return h
}

func (h *handoverHarness) newDeal(id, owner string) {
	h.t.Helper()
	ctx := context.Background()
	v, err := h.db.VersionedSettings(ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	d, created, err := kamflow.NewDeal(id, kamflow.NewDealInput{AccountID: "acc-1", Title: "Cold rolling line " + id, Currency: "CNY",
		Owner: owner, TeamID: "east"}, kamflow.Actor{ID: owner, Role: kamflow.UserKAM, Teams: []string{"east"}}, handoverT0, v.Settings)
	if err != nil {
		h.t.Fatal(err)
	}
	st, _ := kamflow.OpenDeal(*d, created, v.Settings, v.Escalation)
	if err := h.db.Project(ctx, kamflow.Projection{Deal: st.Deal, Transition: created}); err != nil {
		h.t.Fatal(err)
	}
	h.deals[id] = st
}

// command has the deal's state take cmd and projects what it changed; the deal's refusal is
// returned. The caller holds no lock.
func (h *handoverHarness) command(deal string, cmd kamflow.Command) (*kamflow.Deal, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.commandLocked(deal, cmd)
}

func (h *handoverHarness) commandLocked(deal string, cmd kamflow.Command) (*kamflow.Deal, error) {
	st := h.deals[deal]
	if st == nil {
		return nil, kamflow.Errorf(kamflow.ENOTFOUND, "deal %s is not running", deal)
	}
	fx, err := st.Handle(kamflow.DealEvent{Kind: kamflow.EvCommand, Command: &cmd}, h.at.Add(time.Hour))
	if err != nil {
		return nil, err
	}
	for _, e := range fx {
		if e.Kind == kamflow.FxProject {
			if err := h.db.Project(context.Background(), *e.Projection); err != nil {
				h.t.Errorf("projecting deal %s: %v", deal, err)
			}
		}
	}
	return st.Deal.Clone(), nil
}

// dealService is the harness as the deals' workflows: only Execute is used by a handover.
type dealService struct {
	kamflow.DealService
	h *handoverHarness
}

func (s dealService) Execute(_ context.Context, deal string, cmd kamflow.Command, requestID string) (*kamflow.Deal, error) {
	h := s.h
	h.mu.Lock()
	h.sent[deal] = append(h.sent[deal], requestID)
	n := len(h.sent[deal])
	h.inFlight++
	h.maxInFlight = max(h.maxInFlight, h.inFlight)
	before, after := h.before, h.after
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		h.inFlight--
		h.mu.Unlock()
	}()
	time.Sleep(h.delay)
	if before != nil {
		if err := before(deal, n); err != nil {
			return nil, err
		}
	}
	h.mu.Lock()
	var d *kamflow.Deal
	var err error
	if h.taken[deal][requestID] {
		d = h.deals[deal].Deal.Clone() // an Update ID taken already: its answer again
	} else if d, err = h.commandLocked(deal, cmd); err == nil {
		if h.taken[deal] == nil {
			h.taken[deal] = map[string]bool{}
		}
		h.taken[deal][requestID] = true
		h.takes[deal]++
	}
	h.mu.Unlock()
	if err == nil && after != nil {
		if lost := after(deal, n); lost != nil {
			return nil, lost
		}
	}
	return d, err
}

// handoverStore passes every call on to the database, and runs the harness's recordHook after
// each RecordHandover committed.
type handoverStore struct {
	kamflow.HandoverStore
	h *handoverHarness
}

func (s handoverStore) RecordHandover(ctx context.Context, ho kamflow.Handover) (*kamflow.HandoverRecord, error) {
	rec, err := s.HandoverStore.RecordHandover(ctx, ho)
	if err != nil {
		return nil, err
	}
	s.h.mu.Lock()
	s.h.records++
	n, hook := s.h.records, s.h.recordHook
	s.h.mu.Unlock()
	if hook != nil {
		if err := hook(n); err != nil {
			return nil, err
		}
	}
	return rec, nil
}

func (h *handoverHarness) newEnv() {
	var s testsuite.WorkflowTestSuite
	h.env = s.NewTestWorkflowEnvironment()
	// The activities do real database work: on a loaded machine the test suite's default bound
	// (3 s of wall time for a run) is too short for a run of thousands of rows.
	h.env.SetTestTimeout(time.Minute)
	h.env.RegisterWorkflowWithOptions(workflows.HandoverWorkflow, workflow.RegisterOptions{Name: workflows.HandoverWorkflowName})
	h.env.RegisterActivity(&activities.Handovers{Store: handoverStore{h.db, h}, Deals: h.db, Service: dealService{h: h},
		Now: func() time.Time { return h.at.Add(time.Hour) }})
}

// handover is the handover of acc-1 from kam1 to kam2 as the API starts it.
func (h *handoverHarness) handover(id string) kamflow.Handover {
	return kamflow.Handover{ID: id, AccountID: "acc-1", From: "kam1", To: "kam2", Reason: "kam1 moves to the export team",
		By: h.director.ID, At: h.at}
}

// run runs one run of the workflow and returns its result and error.
func (h *handoverHarness) run(in workflows.HandoverRun) (*kamflow.HandoverRecord, error) {
	h.t.Helper()
	h.env.ExecuteWorkflow(workflows.HandoverWorkflowName, in)
	if !h.env.IsWorkflowCompleted() {
		h.t.Fatal("the handover's workflow did not end")
	}
	if err := h.env.GetWorkflowError(); err != nil {
		return nil, err
	}
	var rec *kamflow.HandoverRecord
	if err := h.env.GetWorkflowResult(&rec); err != nil {
		h.t.Fatal(err)
	}
	return rec, nil
}

// runToEnd runs the workflow, and each run it continues as new, to its end.
func (h *handoverHarness) runToEnd(in workflows.HandoverRun) *kamflow.HandoverRecord {
	h.t.Helper()
	rec, err := h.run(in)
	if err != nil {
		h.t.Fatalf("the handover's workflow: %v", err)
	}
	return rec
}

// record reads the handover's record from the database.
func (h *handoverHarness) record(id string) *kamflow.HandoverRecord {
	h.t.Helper()
	rec, err := h.db.Handover(context.Background(), id)
	if err != nil {
		h.t.Fatal(err)
	}
	return rec
}

// owners lists deal:owner as the database has them, for the deals named.
func (h *handoverHarness) owners(deals ...string) string {
	h.t.Helper()
	var out []string
	for _, id := range deals {
		d, err := h.db.Deal(context.Background(), id)
		if err != nil {
			h.t.Fatal(err)
		}
		out = append(out, id+":"+d.Owner)
	}
	return strings.Join(out, " ")
}

// progress is a record's status and counts, and each deal's status (with its refusal's code).
func progress(rec *kamflow.HandoverRecord) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %d/%d refused=%d", rec.Status, rec.Done, rec.Total, rec.Refused)
	for _, d := range rec.Deals {
		fmt.Fprintf(&b, " %s:%s", d.DealID, d.Status)
		if d.Code != "" {
			b.WriteString(":" + d.Code)
		}
	}
	return b.String()
}

// sentOnce checks that every deal named was sent commands only under the handover's request id
// for it, and took exactly one.
func (h *handoverHarness) sentOnce(handoverID string, deals ...string) {
	h.t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, id := range deals {
		want := kamflow.HandoverRequestID(handoverID, id)
		if len(h.sent[id]) == 0 || slices.ContainsFunc(h.sent[id], func(r string) bool { return r != want }) || h.takes[id] != 1 {
			h.t.Errorf("deal %s: request ids %v, %d taken; want only %s, taken once", id, h.sent[id], h.takes[id], want)
		}
	}
}

// TestHandoverReassignsEveryDeal: the account is the new owner's, and so is each open deal the
// previous owner ran on it, each reassigned by its own workflow as the director with the
// handover's reason; the record ends done, and the workflow answers with it. Another KAM's deal
// and a closed deal are left as they are.
func TestHandoverReassignsEveryDeal(t *testing.T) {
	h := newHandoverHarness(t, 5)
	rec := h.runToEnd(workflows.HandoverRun{Handover: h.handover("h-1"), By: h.director})
	want := "done 5/5 refused=0 deal-01:done deal-02:done deal-03:done deal-04:done deal-05:done"
	if got := progress(rec); got != want {
		t.Errorf("the workflow's answer %s\nwant %s", got, want)
	}
	if got := progress(h.record("h-1")); got != want {
		t.Errorf("the record %s\nwant %s", got, want)
	}
	if r := h.record("h-1"); r.FinishedAt == nil || r.From != "kam1" || r.To != "kam2" || r.By != "director" || r.Deals[0].Title == "" {
		t.Errorf("the record %+v", r)
	}
	if got, want := h.owners("deal-01", "deal-02", "deal-03", "deal-04", "deal-05", "deal-kam3", "deal-lost"),
		"deal-01:kam2 deal-02:kam2 deal-03:kam2 deal-04:kam2 deal-05:kam2 deal-kam3:kam3 deal-lost:kam1"; got != want {
		t.Errorf("owners %s\nwant   %s", got, want)
	}
	if a, err := h.db.Account(context.Background(), "acc-1"); err != nil || a.Owner != "kam2" {
		t.Errorf("the account after its handover: %+v, %v", a, err)
	}
	h.sentOnce("h-1", "deal-01", "deal-02", "deal-03", "deal-04", "deal-05")
	if len(h.sent["deal-kam3"])+len(h.sent["deal-lost"]) != 0 {
		t.Errorf("commands sent to deals not to hand over: %v", h.sent)
	}
	entries, _, err := h.db.Audit(context.Background(), kamflow.AuditFilter{EntityType: "deal", EntityID: "deal-03"})
	if err != nil {
		t.Fatal(err)
	}
	var reassigned []string
	for _, e := range entries {
		if e.Actor == "director" {
			reassigned = append(reassigned, e.Summary)
		}
	}
	if len(reassigned) != 1 {
		t.Errorf("deal-03's audit by the director: %q, want its one reassignment", reassigned)
	}
}

// TestHandoverDealRefuses: a deal closed as its command arrives refuses it; the handover ends
// done_with_refusals, that deal listed with the deal's code and message and left to its owner,
// the others done. A deal a director gave to a third KAM while the handover ran keeps that owner,
// listed as a conflict.
func TestHandoverDealRefuses(t *testing.T) {
	h := newHandoverHarness(t, 4)
	h.before = func(deal string, n int) error {
		switch {
		case deal == "deal-01":
			_, err := h.command("deal-04", kamflow.Command{Kind: kamflow.CmdReassign, Actor: h.director,
				Reassign: &kamflow.ReassignInput{Owner: "kam3", Reason: "kam3 knows the plant"}})
			return err
		case deal == "deal-02" && n == 1:
			_, err := h.command("deal-02", kamflow.Command{Kind: kamflow.CmdClose, Actor: kamflow.Actor{ID: "kam1", Role: kamflow.UserKAM, Teams: []string{"east"}},
				Close: &kamflow.CloseInput{Outcome: kamflow.StatusLost, Reason: "the customer cancelled the project"}})
			return err
		}
		return nil
	}
	// One deal at a time, so that deal-04 is given to kam3 before its turn comes.
	rec := h.runToEnd(workflows.HandoverRun{Handover: h.handover("h-1"), By: h.director, Concurrency: 1})
	if got, want := progress(rec), "done_with_refusals 2/4 refused=2 deal-01:done deal-02:refused:wrong_stage deal-03:done deal-04:refused:conflict"; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if m := rec.Deals[1].Message; !strings.Contains(m, "lost") {
		t.Errorf("deal-02's refusal says %q, want the deal's own message (it is lost)", m)
	}
	if m := rec.Deals[3].Message; !strings.Contains(m, "kam3") {
		t.Errorf("deal-04's refusal says %q, want who owns it now", m)
	}
	if got, want := h.owners("deal-01", "deal-02", "deal-03", "deal-04"), "deal-01:kam2 deal-02:kam1 deal-03:kam2 deal-04:kam3"; got != want {
		t.Errorf("owners %s, want %s", got, want)
	}
	if len(h.sent["deal-02"]) != 1 || len(h.sent["deal-04"]) != 0 {
		t.Errorf("deal-02 was sent %d commands (a refusal is not retried), deal-04 %d (none)", len(h.sent["deal-02"]), len(h.sent["deal-04"]))
	}
}

// TestHandoverRetriesUnavailable: a deal whose workflow cannot be reached the first times, and one
// that takes its command but whose answer is lost, are tried again until done, each always with
// the handover's request id for it, so that each deal takes its command once.
func TestHandoverRetriesUnavailable(t *testing.T) {
	h := newHandoverHarness(t, 4)
	h.before = func(deal string, n int) error {
		if deal == "deal-02" && n <= 3 {
			return kamflow.Errorf(kamflow.EUNAVAILABLE, "temporal: the frontend is away")
		}
		return nil
	}
	h.after = func(deal string, n int) error {
		if deal == "deal-03" && n == 1 {
			return errors.New("context deadline exceeded") // taken, the answer lost
		}
		return nil
	}
	rec := h.runToEnd(workflows.HandoverRun{Handover: h.handover("h-1"), By: h.director})
	if got, want := progress(rec), "done 4/4 refused=0 deal-01:done deal-02:done deal-03:done deal-04:done"; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if got, want := h.owners("deal-01", "deal-02", "deal-03", "deal-04"), "deal-01:kam2 deal-02:kam2 deal-03:kam2 deal-04:kam2"; got != want {
		t.Errorf("owners %s, want %s", got, want)
	}
	h.sentOnce("h-1", "deal-01", "deal-02", "deal-03", "deal-04")
	if n := len(h.sent["deal-02"]); n != 4 {
		t.Errorf("deal-02 was sent %d commands, want 4 (3 unanswered, then taken)", n)
	}
}

// TestHandoverGivesUpBounded: a deal that cannot be reached within its step's bound (a day on a
// server; the test environment stops unlimited retries at 10 attempts) is given up, refused as
// unavailable with its last answer for a message, and the handover ends with the others done
// rather than running on.
func TestHandoverGivesUpBounded(t *testing.T) {
	h := newHandoverHarness(t, 2)
	h.before = func(deal string, _ int) error {
		if deal == "deal-01" {
			return kamflow.Errorf(kamflow.EUNAVAILABLE, "deal deal-01 needs attention")
		}
		return nil
	}
	rec := h.runToEnd(workflows.HandoverRun{Handover: h.handover("h-1"), By: h.director})
	if got, want := progress(rec), "done_with_refusals 1/2 refused=1 deal-01:refused:unavailable deal-02:done"; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	t.Logf("deal-01 given up after %d tries: %q", len(h.sent["deal-01"]), rec.Deals[0].Message)
	if m := rec.Deals[0].Message; !strings.Contains(m, "needs attention") || strings.Contains(m, "scheduledEventID") {
		t.Errorf("deal-01's refusal says %q, want the deal's last answer without Temporal's wrapping", m)
	}
}

// TestHandoverConflict: the account changed owner between the request and the workflow's first
// step (another director's handover, run first): the handover is recorded as a conflict naming
// the owner now, and nothing else changes — no deal is sent a command.
func TestHandoverConflict(t *testing.T) {
	h := newHandoverHarness(t, 3)
	first := h.handover("h-0")
	first.To = "kam3"
	if rec := h.runToEnd(workflows.HandoverRun{Handover: first, By: h.director}); rec.Status != kamflow.HandoverDone {
		t.Fatalf("the first handover: %s", progress(rec))
	}
	h.newEnv()
	rec := h.runToEnd(workflows.HandoverRun{Handover: h.handover("h-1"), By: h.director})
	if rec.Status != kamflow.HandoverConflict || rec.Total != 0 || len(rec.Deals) != 0 || !strings.Contains(rec.Message, "kam3") || rec.FinishedAt == nil {
		t.Errorf("the second handover %+v, want a conflict naming kam3", rec)
	}
	if got, want := h.owners("deal-01", "deal-02", "deal-03"), "deal-01:kam3 deal-02:kam3 deal-03:kam3"; got != want {
		t.Errorf("owners %s, want %s", got, want)
	}
	if a, _ := h.db.Account(context.Background(), "acc-1"); a.Owner != "kam3" {
		t.Errorf("the account's owner %s, want kam3", a.Owner)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for deal, ids := range h.sent {
		if slices.ContainsFunc(ids, func(r string) bool { return strings.HasPrefix(r, "handover:h-1:") }) {
			t.Errorf("deal %s was sent the conflicting handover's command: %v", deal, ids)
		}
	}
	if latest, err := h.db.LatestHandover(context.Background(), "acc-1"); err != nil || latest.ID != "h-1" {
		t.Errorf("the account's latest handover %+v, %v: want the conflict, for the account page", latest, err)
	}
}

// TestHandoverConcurrencyBounded: no more than Concurrency deals are sent their command at a time
// (the default of 4 when not set), and more than one is.
func TestHandoverConcurrencyBounded(t *testing.T) {
	for _, c := range []struct{ knob, want int }{{2, 2}, {0, 4}} {
		t.Run(fmt.Sprintf("concurrency=%d", c.knob), func(t *testing.T) {
			h := newHandoverHarness(t, 9)
			h.delay = 30 * time.Millisecond
			rec := h.runToEnd(workflows.HandoverRun{Handover: h.handover("h-1"), By: h.director, Concurrency: c.knob})
			if rec.Status != kamflow.HandoverDone || rec.Done != 9 {
				t.Errorf("the handover %s", progress(rec))
			}
			if h.maxInFlight > c.want || h.maxInFlight < 2 {
				t.Errorf("up to %d commands at a time, want at most %d (and more than one)", h.maxInFlight, c.want)
			}
		})
	}
}

// TestHandoverContinuesAsNew: past DealsPerRun deals the run continues as new with the same
// input, and each next run carries on from the record: every deal is reassigned once, and the
// last run answers with the record done.
func TestHandoverContinuesAsNew(t *testing.T) {
	h := newHandoverHarness(t, 5)
	in := workflows.HandoverRun{Handover: h.handover("h-1"), By: h.director, DealsPerRun: 2, Concurrency: 3}
	var runs []string
	var rec *kamflow.HandoverRecord
	for len(runs) < 5 {
		var err error
		rec, err = h.run(in)
		if err == nil {
			break
		}
		var can *workflow.ContinueAsNewError
		if !errors.As(err, &can) || can.WorkflowType.Name != workflows.HandoverWorkflowName {
			t.Fatalf("run %d ended with %v, want continue-as-new or the record", len(runs)+1, err)
		}
		var next workflows.HandoverRun
		if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
			t.Fatal(err)
		}
		if next.Handover != in.Handover || next.By.ID != in.By.ID || next.DealsPerRun != 2 || next.Concurrency != 3 {
			t.Fatalf("the next run's input %+v, want %+v", next, in)
		}
		runs = append(runs, progress(h.record("h-1")))
		in = next
		h.newEnv()
	}
	if want := []string{
		"running 2/5 refused=0 deal-01:done deal-02:done deal-03:pending deal-04:pending deal-05:pending",
		"running 4/5 refused=0 deal-01:done deal-02:done deal-03:done deal-04:done deal-05:pending",
	}; !slices.Equal(runs, want) {
		t.Errorf("after each run that continued as new:\n%s\nwant\n%s", strings.Join(runs, "\n"), strings.Join(want, "\n"))
	}
	if rec == nil || progress(rec) != "done 5/5 refused=0 deal-01:done deal-02:done deal-03:done deal-04:done deal-05:done" {
		t.Fatalf("the last run's answer %+v", rec)
	}
	h.sentOnce("h-1", "deal-01", "deal-02", "deal-03", "deal-04", "deal-05")
	for id, ids := range h.sent {
		if len(ids) != 1 {
			t.Errorf("deal %s sent %d commands, want 1: no run reassigns a deal another did", id, len(ids))
		}
	}
}

// TestHandoverRecordRetried: the first step's transaction commits but its answer is lost (the
// worker died): the retried step returns the same record, written once — one audit entry — and
// the handover carries on to the end.
func TestHandoverRecordRetried(t *testing.T) {
	h := newHandoverHarness(t, 2)
	var recorded []*kamflow.HandoverRecord
	h.recordHook = func(n int) error {
		rec, err := h.db.Handover(context.Background(), "h-1")
		if err != nil {
			t.Errorf("the record after attempt %d: %v", n, err)
		}
		recorded = append(recorded, rec)
		if n == 1 {
			return errors.New("worker killed after the commit")
		}
		return nil
	}
	rec := h.runToEnd(workflows.HandoverRun{Handover: h.handover("h-1"), By: h.director})
	if progress(rec) != "done 2/2 refused=0 deal-01:done deal-02:done" {
		t.Errorf("the handover %s", progress(rec))
	}
	if len(recorded) != 2 || progress(recorded[0]) != progress(recorded[1]) || !recorded[0].UpdatedAt.Equal(recorded[1].UpdatedAt) {
		t.Fatalf("the record after each attempt: %+v", recorded)
	}
	entries, _, err := h.db.Audit(context.Background(), kamflow.AuditFilter{EntityType: "account", EntityID: "acc-1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Action != "account.handover" {
		t.Errorf("the account's audit %+v, want the one handover", entries)
	}
	h.sentOnce("h-1", "deal-01", "deal-02")
}
