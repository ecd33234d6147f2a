package workflows_test

import (
	"testing"

	"github.com/kamflow/kamflow"
)

// TestEditIsAnUpdate: an edit is the deal's "edit" Update: accepted, it changes the deal and is
// projected with its audit entry (what changed, before and after); refused by the validator (an
// engineer, or a change of nothing) it leaves no trace; a director reassigns the deal.
func TestEditIsAnUpdate(t *testing.T) {
	h := newHarness(t, kamflow.DefaultSettings())
	title, value := "Boiler feed pumps for Lines 3 and 4", kamflow.Money(180000000)
	engineer := kamflow.Actor{ID: "e1", Role: kamflow.UserEngineer, Teams: []string{"east"}}
	var before int
	h.then(func() { before = len(h.rec.projections) })
	h.send(kamflow.Command{Kind: kamflow.CmdEdit, Actor: engineer, Edit: &kamflow.EditInput{Title: &title}}, func(_ kamflow.Deal, err error) {
		if codeOf(err) != kamflow.ENOTFOUND {
			t.Errorf("an engineer not assigned edits: %v", err)
		}
	})
	same := "Boiler feed pumps for Line 3"
	h.send(kamflow.Command{Kind: kamflow.CmdEdit, Actor: kam, Edit: &kamflow.EditInput{Title: &same}}, func(_ kamflow.Deal, err error) {
		if codeOf(err) != kamflow.EINVALID {
			t.Errorf("an edit of nothing: %v", err)
		}
	})
	h.then(func() {
		if n := len(h.rec.projections) - before; n != 0 {
			t.Errorf("refused edits wrote %d projections", n)
		}
	})
	h.send(kamflow.Command{Kind: kamflow.CmdEdit, Actor: kam, Edit: &kamflow.EditInput{Title: &title, Value: &value}}, func(d kamflow.Deal, err error) {
		if err != nil || d.Title != title || d.Value != value || d.Seq != 2 {
			t.Errorf("edit: %v %q %s seq %d", err, d.Title, d.Value, d.Seq)
		}
	})
	h.then(func() {
		p := h.rec.projections[len(h.rec.projections)-1]
		if p.Deal.Title != title || p.Audit == nil || p.Audit.Action != "deal.edit" {
			t.Fatalf("projection of the edit: %+v", p)
		}
		// The entry comes through the activity's encoding: a Money is its string.
		a, _ := p.Audit.After.(map[string]any)
		if a["title"] != title || a["value"] != value.String() {
			t.Errorf("audit after %v", a)
		}
	})
	h.ok(kamflow.Command{Kind: kamflow.CmdReassign, Actor: director, Reassign: &kamflow.ReassignInput{Owner: "kam2"}})
	h.ok(closeLost())
	h.run()
	if d := h.finish(); d.Title != title || d.Owner != "kam2" {
		t.Errorf("final deal %q owner %s", d.Title, d.Owner)
	}
}
