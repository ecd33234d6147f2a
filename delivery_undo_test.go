package kamflow_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kamflow/kamflow"
)

// undoFailedPlan is a plan whose installation failed at its parts with its work order done (WO-7):
// the work order is to be undone.
func undoFailedPlan(t *testing.T) *kamflow.DeliveryPlan {
	t.Helper()
	p := kamflow.NewDeliveryPlan(deliveryDeal(), dt0)
	finish(t, p, "site_survey", nil)
	mustApply(t, p, dcmd(kamflow.DelivStart, "installation"))
	p.StepStarted("installation", "work_order", dt0)
	p.StepDone("installation", "work_order", "WO-7", dt0)
	p.StepStarted("installation", "reserve_parts", dt0)
	p.StepFailed("installation", "reserve_parts", "no stock of 6SE7031", dt0)
	return p
}

func resolveUndo(task, note string, as kamflow.Actor) kamflow.DeliveryCommand {
	return kamflow.DeliveryCommand{Kind: kamflow.DelivResolveUndo, Actor: as, Task: task, Note: note}
}

// How an undo ends: each step's undo done or failed for good, in every order, and where the task
// is left.
func TestDeliveryUndoOutcomes(t *testing.T) {
	type undo struct {
		step string
		fail string // "": undone
	}
	for _, tc := range []struct {
		name   string
		cancel bool // the active task is cancelled (else its parts step failed)
		undos  []undo
		// want: the task's status after the undos, where it heads, and the steps whose undo failed.
		want       kamflow.TaskStatus
		wantTo     kamflow.TaskStatus
		wantFailed []string
	}{
		{name: "failed, undone", undos: []undo{{"work_order", ""}}, want: kamflow.TaskFailed},
		{name: "failed, undo refused", undos: []undo{{"work_order", "409 order invoiced"}},
			want: kamflow.TaskUndoFailed, wantTo: kamflow.TaskFailed, wantFailed: []string{"work_order"}},
		{name: "cancelled, undone", cancel: true, undos: []undo{{"reserve_parts", ""}, {"work_order", ""}}, want: kamflow.TaskCancelled},
		{name: "cancelled, the first undo refused, the second done", cancel: true,
			undos: []undo{{"reserve_parts", "parts shipped"}, {"work_order", ""}},
			want:  kamflow.TaskUndoFailed, wantTo: kamflow.TaskCancelled, wantFailed: []string{"reserve_parts"}},
		{name: "cancelled, the first done, the second refused", cancel: true,
			undos: []undo{{"reserve_parts", ""}, {"work_order", "order closed"}},
			want:  kamflow.TaskUndoFailed, wantTo: kamflow.TaskCancelled, wantFailed: []string{"work_order"}},
		{name: "cancelled, both refused", cancel: true,
			undos: []undo{{"reserve_parts", "parts shipped"}, {"work_order", "order closed"}},
			want:  kamflow.TaskUndoFailed, wantTo: kamflow.TaskCancelled, wantFailed: []string{"reserve_parts", "work_order"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p *kamflow.DeliveryPlan
			if tc.cancel {
				p = kamflow.NewDeliveryPlan(deliveryDeal(), dt0)
				finish(t, p, "site_survey", nil)
				mustApply(t, p, dcmd(kamflow.DelivStart, "installation"))
				runSteps(p, "installation")
				mustApply(t, p, dcmd(kamflow.DelivCancel, "installation"))
			} else {
				p = undoFailedPlan(t)
			}
			task := p.Task("installation")
			for i, u := range tc.undos {
				if todo := task.ToCompensate(); len(todo) == 0 || todo[0] != u.step {
					t.Fatalf("undo %d: to undo %v, want %s first", i, todo, u.step)
				}
				if i < len(tc.undos)-1 && task.Status != kamflow.TaskUndoing {
					t.Fatalf("undo %d: the task is %s while undoing", i, task.Status)
				}
				seq := p.Seq
				if u.fail == "" {
					p.StepCompensated("installation", u.step, dt0)
				} else {
					p.StepUndoFailed("installation", u.step, u.fail, dt0)
				}
				if p.Seq != seq+1 {
					t.Errorf("undo %d: seq %d after %d", i, p.Seq, seq)
				}
			}
			if task.Status != tc.want || task.UndoTo != tc.wantTo {
				t.Fatalf("after the undos: %s (to %q), want %s (to %q)", task.Status, task.UndoTo, tc.want, tc.wantTo)
			}
			var failed []string
			for _, f := range task.UndoFailures {
				failed = append(failed, f.Step)
				if f.Ref == "" || f.Error == "" || !f.At.Equal(dt0) {
					t.Errorf("undo failure %+v", f)
				}
				if s := task.Steps[slices.IndexFunc(task.Steps, func(s kamflow.DeliveryStep) bool { return s.Key == f.Step })]; s.Status != kamflow.StepUndoFailed {
					t.Errorf("step %s is %s", s.Key, s.Status)
				}
			}
			if !slices.Equal(failed, tc.wantFailed) {
				t.Errorf("undo failures %v, want %v", failed, tc.wantFailed)
			}
			wantHeld := []string{}
			if tc.want == kamflow.TaskUndoFailed {
				wantHeld = []string{"installation"}
			}
			if got := p.Hold().UndoFailed; !slices.Equal(got, wantHeld) {
				t.Errorf("hold %v, want %v", got, wantHeld)
			}
			if p.Running() {
				t.Error("a task whose undo ended is not running")
			}
		})
	}
}

// A failure for good of an undo that is not done (a repeat, a late answer) changes nothing.
func TestDeliveryUndoFailedOnlyForDoneSteps(t *testing.T) {
	p := undoFailedPlan(t)
	seq := p.Seq
	p.StepUndoFailed("installation", "reserve_parts", "late", dt0) // failed, never done
	p.StepUndoFailed("installation", "nope", "late", dt0)
	p.StepUndoFailed("commissioning", "work_order", "late", dt0)
	if p.Seq != seq || len(p.Task("installation").UndoFailures) != 0 {
		t.Errorf("seq %d → %d, failures %+v", seq, p.Seq, p.Task("installation").UndoFailures)
	}
}

func TestDeliveryResolveUndo(t *testing.T) {
	p := undoFailedPlan(t)
	p.StepUndoFailed("installation", "work_order", "409 Conflict: order invoiced", dt0)
	task := p.Task("installation")
	director := kamflow.Actor{ID: "dir", Role: kamflow.UserDirector, Teams: []string{"east"}}
	kam := kamflow.Actor{ID: "kam1", Role: kamflow.UserKAM, Teams: []string{"east"}}
	stranger := kamflow.Actor{ID: "eng9", Role: kamflow.UserEngineer, Teams: []string{"east"}}
	d := deliveryDeal()
	for _, tc := range []struct {
		name string
		cmd  kamflow.DeliveryCommand
		code string
		frag string
	}{
		{"no note", resolveUndo("installation", "  ", eng1Actor), kamflow.EINVALID, "note is required"},
		{"a note too long", resolveUndo("installation", strings.Repeat("长", kamflow.MaxNoteLength+1), eng1Actor), kamflow.EINVALID, "longer than 4000"},
		{"no such task", resolveUndo("cabling", "done", eng1Actor), kamflow.ENOTFOUND, "cabling"},
		{"a task whose undo did not fail", resolveUndo("site_survey", "done", eng1Actor), kamflow.EWRONGSTAGE, "only a task whose undo failed"},
	} {
		t.Run(tc.name, func(t *testing.T) { wantErr(t, p.Check(tc.cmd), tc.code, tc.frag) })
	}
	// Who: the deal's engineers and directors; not the KAM, not an engineer of another deal.
	cmd := resolveUndo("installation", "  WO-7 cancelled by hand in the ERP, confirmed by Zhang  ", eng1Actor)
	for _, as := range []kamflow.Actor{eng1Actor, director} {
		c := cmd
		c.Actor = as
		if err := as.AuthorizeDelivery(c, d); err != nil {
			t.Errorf("%s may not resolve: %v", as.ID, err)
		}
	}
	wantErr(t, kam.AuthorizeDelivery(resolveUndo("installation", "x", kam), d), kamflow.EFORBIDDEN, "engineers")
	wantErr(t, stranger.AuthorizeDelivery(resolveUndo("installation", "x", stranger), d), kamflow.ENOTFOUND, "not found")
	// While undo_failed the task is neither retried, cancelled nor started.
	wantErr(t, p.Check(dcmd(kamflow.DelivRetry, "installation")), kamflow.EWRONGSTAGE, "undo_failed")
	wantErr(t, p.Check(dcmd(kamflow.DelivCancel, "installation")), kamflow.EWRONGSTAGE, "resolve_undo")
	wantErr(t, p.Check(dcmd(kamflow.DelivStart, "installation")), kamflow.EWRONGSTAGE, "undo_failed")

	at := dt0.Add(time.Hour)
	if err := p.Apply(cmd, at); err != nil {
		t.Fatal(err)
	}
	if task.Status != kamflow.TaskFailed || task.UndoTo != "" || len(task.UndoFailures) != 0 {
		t.Fatalf("resolved: %s (to %q), failures %+v", task.Status, task.UndoTo, task.UndoFailures)
	}
	if task.Steps[0].Status != kamflow.StepCompensated {
		t.Errorf("the work order's step is %s", task.Steps[0].Status)
	}
	want := kamflow.UndoCleanup{By: "eng1", At: at, Note: "WO-7 cancelled by hand in the ERP, confirmed by Zhang",
		Steps: []kamflow.UndoFailure{{Step: "work_order", Ref: "WO-7", Error: "409 Conflict: order invoiced", At: dt0}}}
	if len(task.Cleanups) != 1 || task.Cleanups[0].By != want.By || !task.Cleanups[0].At.Equal(at) || task.Cleanups[0].Note != want.Note ||
		!slices.Equal(task.Cleanups[0].Steps, want.Steps) {
		t.Errorf("clean-up %+v, want %+v", task.Cleanups, want)
	}
	if got := p.Hold(); len(got.UndoFailed) != 0 || got.UndoFailed == nil {
		t.Errorf("hold after the clean-up: %#v", got)
	}
	// On the timeline, under the engineer's name.
	e := kamflow.DeliveryAudit(cmd, p, at)
	if e.Action != "delivery.resolve_undo" || e.Actor != "eng1" || e.DealID != "d1" ||
		e.Summary != "delivery task installation cleaned up by hand after its failed undo: WO-7 cancelled by hand in the ERP, confirmed by Zhang" {
		t.Errorf("audit %+v", e)
	}
	if c, ok := e.After.(kamflow.UndoCleanup); !ok || c.Note != want.Note {
		t.Errorf("audit after %#v", e.After)
	}
	// Failed again, it is retried; the clean-ups are kept.
	mustApply(t, p, dcmd(kamflow.DelivRetry, "installation"))
	if task.Status != kamflow.TaskRunning || len(task.Cleanups) != 1 {
		t.Errorf("retried: %s, %d clean-ups", task.Status, len(task.Cleanups))
	}
	wantErr(t, p.Check(resolveUndo("installation", "again", eng1Actor)), kamflow.EWRONGSTAGE, "running")
}

// The hold refuses what waits on the clean-up: the certificate, the project's close.
func TestDeliveryHoldCheck(t *testing.T) {
	if err := (kamflow.DeliveryHold{}).Check("the acceptance certificate"); err != nil {
		t.Errorf("no hold: %v", err)
	}
	err := kamflow.DeliveryHold{UndoFailed: []string{"installation", "commissioning"}}.Check("closing the project")
	wantErr(t, err, kamflow.EGATENOTMET, "closing the project waits until the failed undo of installation, commissioning is cleaned up by hand")
	if e := err.(*kamflow.Error); !slices.Equal(e.Details["undo_failed"].([]string), []string{"installation", "commissioning"}) {
		t.Errorf("details %v", e.Details)
	}
	a := kamflow.DeliveryHold{UndoFailed: []string{"installation"}}
	if !a.Same(kamflow.DeliveryHold{UndoFailed: []string{"installation"}}) || a.Same(kamflow.DeliveryHold{}) ||
		!(kamflow.DeliveryHold{}).Same(kamflow.DeliveryHold{UndoFailed: []string{}}) {
		t.Error("Same")
	}
}

// What the delivery tells whom, and the timeline's entry of a failed undo.
func TestDeliveryNotices(t *testing.T) {
	d := deliveryDeal()
	p := undoFailedPlan(t)
	p.Task("installation").Assignee = "eng2"
	if n := p.UndoFailedNotices("installation", d, dt0); n != nil {
		t.Errorf("notices while still undoing: %+v", n)
	}
	p.StepUndoFailed("installation", "work_order", "409 Conflict: order invoiced", dt0)
	notes := p.UndoFailedNotices("installation", d, dt0)
	if len(notes) != 2 || notes[0].UserID != "eng2" || notes[1].UserID != "kam1" || notes[0].Kind != kamflow.NoticeUndoFailed ||
		notes[0].Key != "undo_failed:d1:installation:1:eng2" || notes[1].Key != "undo_failed:d1:installation:1:kam1" ||
		notes[0].Message != "The installation task of Hot strip mill drives could not be undone: clean up by hand work_order WO-7 (409 Conflict: order invoiced), then mark it resolved" {
		t.Errorf("undo_failed notices %+v", notes)
	}
	e := kamflow.UndoFailedAudit(p, "installation", dt0)
	if e.Action != "delivery.undo_failed" || e.Actor != kamflow.SystemActorID && e.Actor != "kamflow" ||
		e.Summary != "delivery task installation could not be undone: clean up by hand work_order WO-7 (409 Conflict: order invoiced)" {
		t.Errorf("audit %+v", e)
	}
	// The engineer is the KAM: told once.
	d.Owner = "eng2"
	if n := p.UndoFailedNotices("installation", d, dt0); len(n) != 1 {
		t.Errorf("%d notices to one person", len(n))
	}
	d.Owner = "kam1"
	failed := p.FailedNotices("installation", "reserve_parts", d, dt0)
	if len(failed) != 2 || failed[0].Key != "failed:d1:installation:1:eng2" || failed[0].Kind != kamflow.NoticeTaskFailed ||
		failed[0].Message != "The installation task of Hot strip mill drives failed at reserve_parts: reserve_parts failed: no stock of 6SE7031" {
		t.Errorf("failure notices %+v", failed)
	}
}

// What the time does to the plan: the overdue tasks told once per due date, the visits created
// when their day comes, and the next wake time.
func TestDeliveryTick(t *testing.T) {
	d := deliveryDeal()
	p := kamflow.NewDeliveryPlan(d, dt0)
	p.Tasks[0].Due = "2026-06-03"
	p.Tasks[1].Due = "2026-06-10"
	if w := p.NextWake(); !w.Equal(time.Date(2026, 6, 4, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("next wake %v", w)
	}
	if changed, notes := p.Tick(d, dt0.Add(24*time.Hour)); changed || notes != nil {
		t.Errorf("a tick before anything is due: %v %+v", changed, notes)
	}
	changed, notes := p.Tick(d, time.Date(2026, 6, 4, 0, 0, 0, 0, time.UTC))
	if !changed || len(notes) != 2 || notes[0].Key != "overdue:d1:site_survey:2026-06-03:eng1" || notes[1].UserID != "kam1" ||
		notes[0].Message != "The site_survey task of Hot strip mill drives was due on 2026-06-03 and is not done" {
		t.Errorf("the overdue tick: %v %+v", changed, notes)
	}
	if changed, _ := p.Tick(d, time.Date(2026, 6, 5, 0, 0, 0, 0, time.UTC)); changed {
		t.Error("an overdue task is told once")
	}
	if w := p.NextWake(); !w.Equal(time.Date(2026, 6, 11, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("next wake %v", w)
	}
	closed := time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)
	p.CloseProject(closed)
	if w := p.NextWake(); !w.Equal(closed.Add(30 * 24 * time.Hour)) {
		t.Errorf("next wake after the close %v", w)
	}
	// A late wake-up creates the missed visits too.
	changed, notes = p.Tick(d, closed.Add(100*24*time.Hour))
	if !changed || len(p.Visits) != 2 || len(notes) != 2 || notes[1].Key != "visit:d1-v2" || notes[1].Kind != kamflow.NoticeServiceVisit {
		t.Errorf("visits %d, notes %+v", len(p.Visits), notes)
	}
	if p.Finished(d) {
		t.Error("finished with visits to come")
	}
	lost := deliveryDeal()
	lost.Status = kamflow.StatusLost
	if !kamflow.NewDeliveryPlan(lost, dt0).Finished(lost) {
		t.Error("a lost deal's delivery is not finished")
	}
}

func TestDeliveryAcceptanceNoticeOf(t *testing.T) {
	p := kamflow.NewDeliveryPlan(deliveryDeal(), dt0)
	for _, k := range []string{"site_survey", "installation", "commissioning", "training"} {
		finish(t, p, k, nil)
	}
	if _, ok := p.AcceptanceNoticeOf(dcmd(kamflow.DelivComplete, "training")); ok {
		t.Error("training's completion tells the deal nothing")
	}
	finish(t, p, "acceptance_test", &kamflow.CompleteInput{Result: kamflow.AcceptancePassPunchList, PunchList: []string{"Labels"}, Notes: "72h"})
	n, ok := p.AcceptanceNoticeOf(dcmd(kamflow.DelivComplete, "acceptance_test"))
	if !ok || n.Result != kamflow.AcceptancePassPunchList || n.OpenPunchItems != 1 || n.Notes != "72h" || n.Actor.ID != "eng1" {
		t.Errorf("notice %+v %v", n, ok)
	}
	if _, ok := p.AcceptanceNoticeOf(resolveUndo("installation", "x", eng1Actor)); ok {
		t.Error("resolve_undo tells the deal nothing of the acceptance")
	}
}

// Clone copies everything and shares nothing: the workflow answers an Update with it while it
// changes the plan on.
func TestDeliveryPlanClone(t *testing.T) {
	p := undoFailedPlan(t)
	p.StepUndoFailed("installation", "work_order", "refused", dt0)
	mustApply(t, p, resolveUndo("installation", "by hand", eng1Actor))
	p.Task("site_survey").Attachments = []kamflow.Attachment{{Name: "photo", Ref: "dms://1"}}
	p.CloseProject(dt0)
	p.DueVisits(deliveryDeal(), dt0.Add(40*24*time.Hour))
	p.Visits[0].Report = &kamflow.VisitReport{VisitedOn: "2026-07-11", ReportedAt: &dt0}
	c := p.Clone()
	before, _ := json.Marshal(p)
	if got, _ := json.Marshal(&c); string(got) != string(before) {
		t.Fatalf("clone\n%s\nwant\n%s", got, before)
	}
	c.Tasks[0].DependsOn = append(c.Tasks[0].DependsOn, "x")
	c.Tasks[1].Steps[0].Status = "x"
	*c.Tasks[1].StartedAt = time.Time{}
	c.Tasks[1].Cleanups[0].Steps[0].Ref = "x"
	c.Tasks[0].Attachments[0].Name = "x"
	c.Visits[0].Report.FaultsFound = 9
	*c.ClosedAt = time.Time{}
	if after, _ := json.Marshal(p); string(after) != string(before) {
		t.Errorf("changing the clone changed the plan:\n%s\nwas\n%s", after, before)
	}
}
