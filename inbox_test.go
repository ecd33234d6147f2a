package kamflow_test

import (
	"maps"
	"testing"
	"time"

	"github.com/kamflow/kamflow"
)

// TestStalledNoticeParams: the stall and the director's rung store their kind's params, so that
// the notice is told in the reader's language (not from the English Message); the e-mail's
// notice gives the same params.
func TestStalledNoticeParams(t *testing.T) {
	st := machine(t)
	stall := t0.Add(10 * kamflow.Day)
	fx := handle(t, st, kamflow.DealEvent{Kind: kamflow.EvTimer}, stall, kamflow.FxProject, kamflow.FxNotify, kamflow.FxOutbound)
	title := st.Deal.Title
	want := map[string]string{kamflow.NoticeParamTitle: title, kamflow.NoticeParamStage: "development", kamflow.NoticeParamSLA: "10d"}
	n := fx[1].Notifications[0]
	if n.Kind != kamflow.NoticeStalled || !maps.Equal(n.Params, want) {
		t.Errorf("stall notice: kind %q params %v, want %v", n.Kind, n.Params, want)
	}
	if n.Message == "" {
		t.Error("the stall notice lost its English message (the fallback of old readers)")
	}
	if out := fx[2].Notice; out.NoticeKind() != kamflow.NoticeStalled || !maps.Equal(out.NoticeParams(), want) {
		t.Errorf("outbound stall notice: kind %q params %v, want %v", out.NoticeKind(), out.NoticeParams(), want)
	}

	rung := t0.Add(20 * kamflow.Day)
	fx = handle(t, st, kamflow.DealEvent{Kind: kamflow.EvTimer}, rung, kamflow.FxTellDirectors)
	want = map[string]string{kamflow.NoticeParamTitle: title, kamflow.NoticeParamStage: "development", kamflow.NoticeParamSLA: "10d",
		kamflow.NoticeParamOwner: kam.ID, kamflow.NoticeParamStalledFor: "20d"}
	d := fx[0].Directors
	if d.Kind != kamflow.NoticeEscalated || !maps.Equal(d.Params, want) {
		t.Errorf("directors' notice: kind %q params %v, want %v", d.Kind, d.Params, want)
	}
	if out := fx[0].Notice; out.NoticeKind() != kamflow.NoticeEscalated || !maps.Equal(out.NoticeParams(), want) {
		t.Errorf("outbound directors' notice: kind %q params %v, want %v", out.NoticeKind(), out.NoticeParams(), want)
	}
}

// TestDeliveryNoticeParams: a delivery task's notices carry the task, its title, the site and
// what their kind tells.
func TestDeliveryNoticeParams(t *testing.T) {
	now := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	p := &kamflow.DeliveryPlan{DealID: "deal-001", Site: "Baoshan works", Tasks: []kamflow.DeliveryTask{
		{Key: kamflow.TaskInstallation, Assignee: engineer.ID, Due: "2026-04-30", Error: "crane not booked", Runs: 1}}}
	d := &kamflow.Deal{ID: "deal-001", Owner: kam.ID}
	ns := p.OverdueNotices(p.Tasks, d, now)
	if len(ns) != 2 {
		t.Fatalf("overdue notices %+v, want the engineer's and the KAM's", ns)
	}
	want := map[string]string{kamflow.NoticeParamTask: kamflow.TaskInstallation, kamflow.NoticeParamSite: "Baoshan works",
		kamflow.NoticeParamDue: "2026-04-30"}
	for _, n := range ns {
		if n.Kind != kamflow.NoticeTaskOverdue || !maps.Equal(n.Params, want) {
			t.Errorf("overdue notice %+v, want params %v", n, want)
		}
	}
	ns = p.FailedNotices(kamflow.TaskInstallation, kamflow.StepWorkOrder, d, now)
	want = map[string]string{kamflow.NoticeParamTask: kamflow.TaskInstallation, kamflow.NoticeParamSite: "Baoshan works",
		kamflow.NoticeParamStep: kamflow.StepWorkOrder, kamflow.NoticeParamError: "crane not booked"}
	if len(ns) != 2 || !maps.Equal(ns[0].Params, want) {
		t.Errorf("failed notices %+v, want params %v", ns, want)
	}
}
