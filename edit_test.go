package kamflow_test

import (
	"strings"
	"testing"

	"github.com/kamflow/kamflow"
)

func edit(by kamflow.Actor, in kamflow.EditInput) kamflow.Command {
	return kamflow.Command{Kind: kamflow.CmdEdit, Actor: by, Edit: &in}
}

func ptr[T any](v T) *T { return &v }

// TestEditChangesOnlyWhatItNames: an edit sets the fields it carries and leaves the others; it
// is not stage work (the stall clock and the stage stay), and its audit entry records exactly
// the fields that changed, before and after.
func TestEditChangesOnlyWhatItNames(t *testing.T) {
	w := newWalker(t)
	before := w.d.Clone()
	fx := w.do(edit(kam, kamflow.EditInput{Title: ptr("  Cold-rolling line DCS and MES  "), Value: ptr(kamflow.Money(950000000))}))
	if fx.Progress || fx.Transition != nil {
		t.Errorf("an edit is no stage work: %+v", fx)
	}
	d := w.d
	if d.Title != "Cold-rolling line DCS and MES" || d.Value != 950000000 || d.Currency != "CNY" || d.ExpectedClose != "2026-08-31" {
		t.Errorf("edited deal: %q %s %s %s", d.Title, d.Value, d.Currency, d.ExpectedClose)
	}
	if !d.LastProgressAt.Equal(before.LastProgressAt) || d.Stage != before.Stage || d.Seq != before.Seq+1 {
		t.Errorf("an edit moved the stall clock, the stage or Seq by other than one: %v %s %d", d.LastProgressAt, d.Stage, d.Seq)
	}
	e := kamflow.DealAudit(edit(kam, kamflow.EditInput{}), before, d, w.now)
	b, a := e.Before.(map[string]any), e.After.(map[string]any)
	if b["title"] != before.Title || a["title"] != d.Title || a["value"] != d.Value || b["value"] != before.Value || a["currency"] != "CNY" {
		t.Errorf("audit before %v after %v", b, a)
	}
	if _, ok := a["expected_close"]; ok {
		t.Errorf("audit names a field that did not change: %v", a)
	}
	if f, _ := a["fields"].([]string); strings.Join(f, ",") != "title,value,currency" {
		t.Errorf("audit fields %v", a["fields"])
	}
	if e.Action != "deal.edit" || !strings.Contains(e.Summary, "title “Cold-rolling line DCS retrofit” → “Cold-rolling line DCS and MES”") ||
		!strings.Contains(e.Summary, "value 8000000.00 CNY → 9500000.00 CNY") {
		t.Errorf("audit %s: %s", e.Action, e.Summary)
	}

	// Expected close, currency and notes; then notes cleared.
	w.do(edit(director, kamflow.EditInput{ExpectedClose: ptr(kamflow.Date("2026-10-15")), Currency: ptr("USD"), Notes: ptr("Customer's budget moves to Q4")}))
	if d.ExpectedClose != "2026-10-15" || d.Currency != "USD" || d.Notes != "Customer's budget moves to Q4" {
		t.Errorf("edited deal: %s %s %q", d.ExpectedClose, d.Currency, d.Notes)
	}
	w.do(edit(kam, kamflow.EditInput{Notes: ptr("")}))
	if d.Notes != "" {
		t.Errorf("notes not cleared: %q", d.Notes)
	}
}

// TestEditRefusals: a wrong value, currency, date or title is invalid with the field named; an
// edit that changes nothing is refused (no empty timeline entry); once a bid is recorded its
// currency is fixed; engineers and admins do not edit deals; a closed deal is final.
func TestEditRefusals(t *testing.T) {
	w := newWalker(t)
	for _, tt := range []struct {
		name  string
		in    kamflow.EditInput
		field string
	}{
		{"blank title", kamflow.EditInput{Title: ptr("   ")}, "title"},
		{"long title", kamflow.EditInput{Title: ptr(long(201))}, "title"},
		{"negative value", kamflow.EditInput{Value: ptr(kamflow.Money(-1))}, "value"},
		{"huge value", kamflow.EditInput{Value: ptr(kamflow.MaxMoney + 1)}, "value"},
		{"currency", kamflow.EditInput{Currency: ptr("RMB")}, "currency"},
		{"date", kamflow.EditInput{ExpectedClose: ptr(kamflow.Date("2026-02-30"))}, "expected_close"},
		{"no date", kamflow.EditInput{ExpectedClose: ptr(kamflow.Date(""))}, "expected_close"},
		{"long notes", kamflow.EditInput{Notes: ptr(long(4001))}, "notes"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			checkField(t, w.fail(edit(kam, tt.in), kamflow.EINVALID), tt.field)
		})
	}
	e := w.fail(edit(kam, kamflow.EditInput{Title: ptr(w.d.Title), Value: ptr(w.d.Value)}), kamflow.EINVALID)
	if e.Details["reason"] != "unchanged" {
		t.Errorf("an edit that changes nothing: %v", e)
	}
	w.fail(kamflow.Command{Kind: kamflow.CmdEdit, Actor: kam}, kamflow.EINVALID)
	w.fail(edit(engineer, kamflow.EditInput{Title: ptr("Other")}), kamflow.EFORBIDDEN)
	w.fail(edit(kamflow.Actor{ID: "kam.zhou", Role: kamflow.UserKAM, Teams: []string{"team-west"}}, kamflow.EditInput{Title: ptr("Other")}), kamflow.ENOTFOUND)

	b := dealIn(t, kamflow.Bid)
	b.do(bid(6000000, 8000000, true))
	e = b.fail(edit(kam, kamflow.EditInput{Currency: ptr("USD")}), kamflow.EINVALID)
	if e.Details["field"] != "currency" || e.Details["reason"] != "bid_recorded" {
		t.Errorf("currency after a bid: %v", e)
	}
	b.do(edit(kam, kamflow.EditInput{Currency: ptr("CNY"), Value: ptr(kamflow.Money(8000000))})) // the same currency is no change of it

	w.do(closeAs(kamflow.StatusAbandoned, "No funding", ""))
	w.fail(edit(kam, kamflow.EditInput{Title: ptr("Other")}), kamflow.EWRONGSTAGE)
}

// TestEditNotesAsLongText: the notes move out of the command as a long text, the deal keeps the
// ref, and the people reading the deal get the text back.
func TestEditNotesAsLongText(t *testing.T) {
	w := newWalker(t)
	cmd := edit(kam, kamflow.EditInput{Notes: ptr("宝钢的预算在第四季度批下来")})
	texts, err := cmd.MoveTexts()
	if err != nil || len(texts) != 1 || *cmd.Edit.Notes != "" || cmd.Edit.NotesRef == "" {
		t.Fatalf("MoveTexts: %v %v %+v", texts, err, cmd.Edit)
	}
	w.do(cmd)
	if w.d.NotesRef != cmd.Edit.NotesRef || w.d.Notes != "" {
		t.Fatalf("deal notes %q ref %q", w.d.Notes, w.d.NotesRef)
	}
	if refs := w.d.TextRefs(); len(refs) != 1 || refs[0] != w.d.NotesRef {
		t.Errorf("TextRefs %v", refs)
	}
	view := w.d.Clone()
	view.FillTexts(texts)
	if view.Notes != "宝钢的预算在第四季度批下来" {
		t.Errorf("FillTexts: %q", view.Notes)
	}
	// The same notes again are no change.
	again := edit(kam, kamflow.EditInput{Notes: ptr("宝钢的预算在第四季度批下来")})
	if _, err := again.MoveTexts(); err != nil {
		t.Fatal(err)
	}
	w.fail(again, kamflow.EINVALID)
}

// TestMayOwnAndDeliver: who may be given a deal and who may deliver it.
func TestMayOwnAndDeliver(t *testing.T) {
	d := newWalker(t).d
	u := func(name string, role kamflow.UserRole, disabled bool, teams ...string) *kamflow.User {
		return &kamflow.User{Username: name, Role: role, Disabled: disabled, Teams: teams}
	}
	for _, tt := range []struct {
		u             *kamflow.User
		own, delivers bool
	}{
		{u("kam.zhang", kamflow.UserKAM, false, "team-east"), true, false},
		{u("kam.zhou", kamflow.UserKAM, false, "team-west"), false, false},
		{u("kam.old", kamflow.UserKAM, true, "team-east"), false, false},
		{u("dir.wang", kamflow.UserDirector, false, "team-east"), false, false},
		{u("eng.zhao", kamflow.UserEngineer, false, "team-east"), false, true},
		{u("eng.west", kamflow.UserEngineer, false, "team-west"), false, false},
		{u("eng.gone", kamflow.UserEngineer, true, "team-east"), false, false},
		{nil, false, false},
	} {
		if got := d.MayOwn(tt.u); got != tt.own {
			t.Errorf("MayOwn(%+v) = %v", tt.u, got)
		}
		if got := d.MayDeliver(tt.u); got != tt.delivers {
			t.Errorf("MayDeliver(%+v) = %v", tt.u, got)
		}
	}
}
