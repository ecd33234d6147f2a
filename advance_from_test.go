package kamflow_test

import (
	"testing"

	"github.com/kamflow/kamflow"
)

// TestAdvanceFrom: an advance that names the stage it leaves moves the deal only from that stage;
// sent again once the deal has moved (a retry without an Idempotency-Key), it is a conflict with
// the deal's stage now, forced or not, and changes nothing. A from that is no stage is invalid.
func TestAdvanceFrom(t *testing.T) {
	force := func(from kamflow.Stage) kamflow.Command {
		return kamflow.Command{Kind: kamflow.CmdAdvance, Actor: director,
			Advance: &kamflow.AdvanceInput{Force: true, Reason: "tender published early", From: from}}
	}
	w := newWalker(t)
	w.do(force(kamflow.Development))
	if w.d.Stage != kamflow.Entry || len(w.d.Forces) != 1 {
		t.Fatalf("forced from development: %s, %d forces", w.d.Stage, len(w.d.Forces))
	}
	for range 3 {
		e := w.fail(force(kamflow.Development), kamflow.ECONFLICT)
		if e.Details["stage"] != string(kamflow.Entry) {
			t.Errorf("retried force: details %v", e.Details)
		}
	}
	e := w.fail(kamflow.Command{Kind: kamflow.CmdAdvance, Actor: kam, Advance: &kamflow.AdvanceInput{From: kamflow.Development}}, kamflow.ECONFLICT)
	if e.Details["stage"] != string(kamflow.Entry) {
		t.Errorf("retried advance: details %v", e.Details)
	}
	if e := w.fail(force("tender"), kamflow.EINVALID); e.Details["field"] != "from" {
		t.Errorf("from no stage: details %v", e.Details)
	}
	// The conflict comes before the gate: a move from a stage the deal has left is no move.
	if e := w.fail(kamflow.Command{Kind: kamflow.CmdAdvance, Actor: kam, Advance: &kamflow.AdvanceInput{From: kamflow.Proposal}}, kamflow.ECONFLICT); e.Details["stage"] != string(kamflow.Entry) {
		t.Errorf("advance from a later stage: details %v", e.Details)
	}
	w.do(force(kamflow.Entry))
	if w.d.Stage != kamflow.Proposal || len(w.d.Forces) != 2 {
		t.Errorf("forced from entry: %s, %d forces", w.d.Stage, len(w.d.Forces))
	}
	// Without from, as before: a move from wherever the deal is.
	w.do(force(""))
	if w.d.Stage != kamflow.Bid {
		t.Errorf("forced without from: %s", w.d.Stage)
	}
}
