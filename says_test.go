package kamflow_test

import (
	"encoding/json"
	"maps"
	"slices"
	"testing"

	"github.com/kamflow/kamflow"
)

// checkSays checks that a text is registered in texts with exactly the params it carries (so
// that the UI's dictionaries, checked against the same registry, can say it) and, for a timeline
// entry, under its action.
func checkSays(t *testing.T, where string, texts map[string][]string, code string, p kamflow.Params) {
	t.Helper()
	want, ok := texts[code]
	if !ok {
		t.Errorf("%s: code %q is not registered", where, code)
		return
	}
	if got, reg := slices.Sorted(maps.Keys(p)), slices.Sorted(slices.Values(want)); !slices.Equal(got, reg) {
		t.Errorf("%s: code %q has params %v, registered %v", where, code, got, want)
	}
	if changes, ok := p["changes"].([]kamflow.Text); ok {
		for _, c := range changes {
			if kamflow.TimelineActions[c.Code] != "" {
				t.Errorf("%s: change %q is an entry's text, not a part", where, c.Code)
			}
			checkSays(t, where+" change", texts, c.Code, c.Params)
		}
	}
}

func checkEntry(t *testing.T, e *kamflow.AuditEntry) {
	t.Helper()
	if e.Code == "" {
		t.Errorf("%s (%q): no code", e.Action, e.Summary)
		return
	}
	if a := kamflow.TimelineActions[e.Code]; a != e.Action {
		t.Errorf("%s: code %q is registered under the action %q", e.Action, e.Code, a)
	}
	checkSays(t, e.Action, kamflow.TimelineTexts, e.Code, e.Params)
}

func cloneDeal(t *testing.T, d *kamflow.Deal) *kamflow.Deal {
	t.Helper()
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	var out kamflow.Deal
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return &out
}

// TestEverythingKamflowSaysHasACode walks a deal through its life and checks that every timeline
// entry, key-node detail and win-probability step it produces is a registered code with exactly
// the registered params.
func TestEverythingKamflowSaysHasACode(t *testing.T) {
	w := newWalker(t)
	seen := map[string]bool{}
	check := func() {
		for _, st := range kamflow.Stages {
			for _, it := range w.d.GateOf(st).Items {
				checkSays(t, "gate "+it.Key, kamflow.GateTexts, it.Code, it.Params)
			}
		}
		for _, f := range w.d.WinProbability().Factors {
			checkSays(t, "probability", kamflow.ProbabilityTexts, f.Key, f.Params)
		}
	}
	run := func(cmds ...kamflow.Command) {
		t.Helper()
		for _, c := range cmds {
			before := cloneDeal(t, w.d)
			w.do(c)
			e := kamflow.DealAudit(c, before, w.d, w.now)
			checkEntry(t, e)
			seen[e.Code] = true
			check()
		}
	}
	created := kamflow.CreatedAudit(w.d)
	checkEntry(t, created)
	check()
	title, value := "DCS retrofit, phase 2", kamflow.Money(900000000)
	run(kamflow.Command{Kind: kamflow.CmdEdit, Actor: kam, Edit: &kamflow.EditInput{Title: &title, Value: &value}})
	run(fullEvidence(kamflow.Development)...)
	run(advance())
	run(fullEvidence(kamflow.Entry)...)
	// kamflow marks stakeholders stale by itself (DealState.Handle), never by a command.
	for _, stale := range []bool{true, false} {
		c := kamflow.Command{Kind: kamflow.CmdContactStale, ContactStale: &kamflow.ContactStaleInput{Name: "Liu Yang", Stale: stale, Days: 90}}
		e := kamflow.DealAudit(c, w.d, w.d, w.now)
		checkEntry(t, e)
		seen[e.Code] = true
	}
	run(advance())
	run(criteriaMix(0, 1, 2))
	run(force("the tender is out next week"))
	run(bid(660000000, 760000000, false), bid(660000000, 760000000, true))
	run(simple(kamflow.CmdApproveMargin, director), advance())
	run(pause("customer's budget review", dateIn(60)), simple(kamflow.CmdResume, kam))
	run(simple(kamflow.CmdApproveContract, director), sign("2026-06-30"), advance())
	run(kamflow.Command{Kind: kamflow.CmdAssignEngineers, Actor: director, Engineers: []string{engineer.ID}})
	run(acceptance(kamflow.AcceptancePassPunchList))
	for _, code := range []string{"create", "edit", "assessment_passed", "advanced", "forced", "stakeholder", "contact_stale",
		"contact_fresh", "criteria", "bid_recorded", "bid_submitted", "approve_margin", "paused", "resumed",
		"approve_contract", "sign_contract", "engineers", "acceptance"} {
		if !seen[code] && created.Code != code {
			t.Errorf("the walk wrote no %q entry", code)
		}
	}

	// What kamflow does by itself says it from the action and the deal.
	for _, action := range []string{"stalled", "sla", "resume", "delivery_hold"} {
		checkEntry(t, kamflow.SystemAudit(action, "", w.d, w.now))
	}
	w.d.UndoFailed = []string{"commissioning"}
	checkEntry(t, kamflow.SystemAudit("delivery_hold", "", w.d, w.now))

	lost := dealIn(t, kamflow.Bid)
	before := cloneDeal(t, lost.d)
	c := closeAs(kamflow.StatusLost, "price 8% over the winner's", "Honeywell")
	lost.do(c)
	checkEntry(t, kamflow.DealAudit(c, before, lost.d, lost.now))

	imported := newWalker(t)
	imported.d.Imported = &kamflow.DealImport{ImportID: "imp-1", Line: 7, Stage: kamflow.Bid}
	checkEntry(t, kamflow.CreatedAudit(imported.d))
	for _, it := range imported.d.GateOf(kamflow.Entry).Items {
		checkSays(t, "imported gate", kamflow.GateTexts, it.Code, it.Params)
	}
}

// TestTextRegistriesAgree: every timeline code has an action or is a part of an edit, and every
// action named is one that writes entries.
func TestTextRegistriesAgree(t *testing.T) {
	for code := range kamflow.TimelineTexts {
		if _, ok := kamflow.TimelineActions[code]; !ok {
			t.Errorf("timeline code %q has no action", code)
		}
	}
	for code := range kamflow.TimelineActions {
		if _, ok := kamflow.TimelineTexts[code]; !ok {
			t.Errorf("action of the unknown code %q", code)
		}
	}
}
