package db_test

import (
	"testing"
	"time"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/db"
	"github.com/kamflow/kamflow/db/dbtest"
)

// TestPipeline sums the board's columns: active deals per stage, stalled ones, value per
// currency; lost deals and other teams' deals do not count.
func TestPipeline(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		at := time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)
		a := newDeal(t, d, "p-a", "acct-1", "kam1", at)
		newDeal(t, d, "p-b", "acct-1", "kam2", at.Add(time.Minute))
		c := newDeal(t, d, "p-c", "acct-2", "kam1", at.Add(2*time.Minute))
		c.Currency = "USD"
		c.Value = 30_000_00
		c.Seq++
		project(t, d, c, nil)
		a.Stalled, a.Seq = true, a.Seq+1
		project(t, d, a, nil)
		lost := newDeal(t, d, "p-lost", "acct-2", "kam1", at.Add(3*time.Minute))
		apply(t, d, lost, kamflow.Command{Kind: kamflow.CmdClose, Actor: kam, Close: &kamflow.CloseInput{Outcome: kamflow.StatusAbandoned, Reason: "no budget"}}, at.Add(time.Hour))

		viewer := kamflow.Actor{ID: "d1", Role: kamflow.UserDirector, Teams: []string{"east"}}
		got, err := d.Pipeline(ctx, kamflow.DealFilter{Viewer: &viewer})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 6 || got[0].Stage != kamflow.Development || got[5].Stage != kamflow.Delivery {
			t.Fatalf("stages %+v", got)
		}
		dev := got[0]
		if dev.Count != 3 || dev.Stalled != 1 || len(dev.Value) != 2 ||
			dev.Value[0] != (kamflow.CurrencyTotal{Currency: "CNY", Total: 2_500_000_00}) ||
			dev.Value[1] != (kamflow.CurrencyTotal{Currency: "USD", Total: 30_000_00}) {
			t.Fatalf("development column %+v", dev)
		}
		if got[1].Count != 0 || len(got[1].Value) != 0 {
			t.Fatalf("entry column %+v", got[1])
		}
		west := kamflow.Actor{ID: "d2", Role: kamflow.UserDirector, Teams: []string{"west"}}
		if got, _ := d.Pipeline(ctx, kamflow.DealFilter{Viewer: &west}); got[0].Count != 0 {
			t.Fatalf("another team's director sees %d deals", got[0].Count)
		}
		if got, _ := d.Pipeline(ctx, kamflow.DealFilter{Viewer: &viewer, Owner: "kam2"}); got[0].Count != 1 {
			t.Fatalf("owner filter: %d", got[0].Count)
		}
	})
}

// TestDealVersions: every accepted change leaves the deal as it then stood, once, even when
// projections come late or twice; the past is what reports read.
func TestDealVersions(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		at := time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)
		deal := newDeal(t, d, "v-1", "acct-1", "kam1", at)
		first := *deal
		apply(t, d, deal, kamflow.Command{Kind: kamflow.CmdPause, Actor: kam, Pause: &kamflow.PauseInput{Reason: "budget", ResumeOn: "2026-06-01"}}, at.Add(time.Hour))
		project(t, d, &first, nil) // a late duplicate of seq 1
		var rows []struct {
			Seq    int64
			Stage  string
			Paused bool
		}
		if err := d.Gorm().Raw("SELECT seq, stage, paused FROM deal_versions WHERE deal_id = ? ORDER BY seq", "v-1").Scan(&rows).Error; err != nil {
			t.Fatal(err)
		}
		if len(rows) != 2 || rows[0].Paused || !rows[1].Paused || rows[1].Stage != "development" {
			t.Fatalf("versions %+v", rows)
		}
	})
}
