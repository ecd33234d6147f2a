package db_test

import (
	"slices"
	"testing"
	"time"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/db"
	"github.com/kamflow/kamflow/db/dbtest"
)

// TestFanoutPaging pages through the active deals by ID after a cursor, leaving out the deals
// that are over, and counts them.
func TestFanoutPaging(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		for _, id := range []string{"d-05", "d-01", "d-03", "d-04", "d-02"} {
			newDeal(t, d, id, "acc-1", "kam-li", t0)
		}
		lost := newDeal(t, d, "d-06", "acc-1", "kam-li", t0)
		lost.Status, lost.Seq = kamflow.StatusLost, lost.Seq+1
		project(t, d, lost, nil)
		newDeal(t, d, "d-07", "acc-1", "kam-li", t0)

		if n, err := d.CountActiveDeals(ctx); err != nil || n != 6 {
			t.Fatalf("count %d %v, want the 6 active deals", n, err)
		}
		var pages [][]string
		for cursor := ""; ; {
			ids, err := d.ActiveDealIDsAfter(ctx, cursor, 2)
			if err != nil {
				t.Fatal(err)
			}
			if len(ids) == 0 {
				break
			}
			pages = append(pages, ids)
			cursor = ids[len(ids)-1]
		}
		want := [][]string{{"d-01", "d-02"}, {"d-03", "d-04"}, {"d-05", "d-07"}}
		if !slices.EqualFunc(pages, want, slices.Equal[[]string]) {
			t.Fatalf("pages %v, want %v", pages, want)
		}
	})
}

// TestFanoutProgress records a fan-out's pages, its end, and its supersession by a newer
// version's; beginning a fan-out recorded already carries on from its cursor.
func TestFanoutProgress(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		if _, ok, err := d.LatestFanout(ctx); err != nil || ok {
			t.Fatalf("latest before any: %v %v", ok, err)
		}
		if _, err := d.Fanout(ctx, 3); kamflow.ErrorCode(err) != kamflow.ENOTFOUND {
			t.Fatalf("no fan-out of 3: %v, want not_found", err)
		}
		p, err := d.BeginFanout(ctx, 3, 5, t0)
		if err != nil || p.Version != 3 || p.Status != kamflow.FanoutRunning || p.Total != 5 || p.Told != 0 || p.Cursor != "" || !p.StartedAt.Equal(t0) {
			t.Fatalf("begun %+v %v", p, err)
		}
		if err := d.FanoutTold(ctx, 3, 2, "d-02", false, t0.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		// Begun again (a run continued, a retried activity): as recorded, the cursor where it was.
		p, err = d.BeginFanout(ctx, 3, 9, t0.Add(2*time.Second))
		if err != nil || p.Total != 5 || p.Told != 2 || p.Cursor != "d-02" || p.Status != kamflow.FanoutRunning || !p.UpdatedAt.Equal(t0.Add(time.Second)) {
			t.Fatalf("begun again %+v %v", p, err)
		}
		// A newer version supersedes the fan-out running; a page of it recorded late changes nothing.
		if _, err := d.BeginFanout(ctx, 4, 5, t0.Add(3*time.Second)); err != nil {
			t.Fatal(err)
		}
		if err := d.FanoutTold(ctx, 3, 2, "d-04", false, t0.Add(4*time.Second)); err != nil {
			t.Fatal(err)
		}
		old, err := d.Fanout(ctx, 3)
		if err != nil || old.Status != kamflow.FanoutSuperseded || old.Told != 2 || old.FinishedAt == nil || !old.FinishedAt.Equal(t0.Add(3*time.Second)) {
			t.Fatalf("superseded %+v %v", old, err)
		}
		if err := d.FanoutTold(ctx, 4, 3, "d-03", false, t0.Add(5*time.Second)); err != nil {
			t.Fatal(err)
		}
		if err := d.FanoutTold(ctx, 4, 2, "d-05", true, t0.Add(6*time.Second)); err != nil {
			t.Fatal(err)
		}
		last, ok, err := d.LatestFanout(ctx)
		if err != nil || !ok || last.Version != 4 || last.Status != kamflow.FanoutDone || last.Told != 5 || last.Cursor != "d-05" ||
			last.FinishedAt == nil || !last.FinishedAt.Equal(t0.Add(6*time.Second)) {
			t.Fatalf("latest %+v %v %v", last, ok, err)
		}
		// An older version begun after a newer one (a late retry) is recorded, never supersedes.
		if _, err := d.BeginFanout(ctx, 2, 5, t0.Add(7*time.Second)); err != nil {
			t.Fatal(err)
		}
		if p, _ := d.Fanout(ctx, 4); p.Status != kamflow.FanoutDone {
			t.Fatalf("version 4 after 2 began: %+v", p)
		}
	})
}
