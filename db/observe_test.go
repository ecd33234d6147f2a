package db_test

import (
	"testing"
	"time"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/db"
	"github.com/kamflow/kamflow/db/dbtest"
)

// TestProjectNew says a projection's transition is new once: on its first write, not on a retry,
// and never for a change without one; the open deals are counted by stage, and the imports' rows
// by outcome (none yet).
func TestProjectNew(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		deal, created, err := kamflow.NewDeal("deal-n", kamflow.NewDealInput{
			AccountID: "acc-1", Title: "Boiler controls", Value: 300_000_00, Currency: "CNY", TeamID: "east",
		}, kam, t0, settings)
		if err != nil {
			t.Fatal(err)
		}
		fresh := func(p kamflow.Projection) bool {
			t.Helper()
			f, err := d.ProjectNew(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
		p := kamflow.Projection{Deal: *clone(t, deal), Transition: created}
		if !fresh(p) || fresh(p) {
			t.Fatal("the creation: want new once, then not")
		}
		fx, err := deal.Apply(kamflow.Command{Kind: kamflow.CmdAdvance, Actor: director, Advance: &kamflow.AdvanceInput{Force: true, Reason: "tender announced"}}, t0.Add(time.Minute), settings)
		if err != nil {
			t.Fatal(err)
		}
		moved := &kamflow.Projection{Deal: *clone(t, deal), Transition: fx.Transition}
		if moved.Transition == nil || moved.Transition.Kind != kamflow.TransitionForced {
			t.Fatalf("the forced advance has no forced transition: %+v", fx.Transition)
		}
		if !fresh(*moved) || fresh(*moved) {
			t.Fatal("the forced move: want new once, then not")
		}
		if fresh(kamflow.Projection{Deal: moved.Deal}) {
			t.Fatal("a change without a transition is new")
		}
		open, err := d.CountOpenDeals(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(open) != 1 || open[0].Stage != kamflow.Entry || open[0].Count != 1 || open[0].Stalled != 0 {
			t.Fatalf("open deals %+v, want 1 in entry, none stalled", open)
		}
		rows, err := d.CountImportRows(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 5 || rows["imported"] != 0 {
			t.Fatalf("import rows %v, want the 5 outcomes at 0", rows)
		}
	})
}
