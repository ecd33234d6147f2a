package db_test

import (
	"slices"
	"testing"
	"time"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/db"
	"github.com/kamflow/kamflow/db/dbtest"
)

// TestDealListOrdersFiltersAndWeightedSums: the board's and list view's deal list under each
// order, a page at a time, each filter (team, close month, text in a title or an account's name,
// active), and the pipeline's value weighted by each deal's win probability, in both dialects.
func TestDealListOrdersFiltersAndWeightedSums(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		at := time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)
		for _, a := range []struct{ id, name string }{{"acct-z", "镇海炼化 Zhenhai Refining"}, {"acct-y", "Yangzi Petrochemical"}} {
			if err := d.CreateAccount(ctx, &kamflow.Account{ID: a.id, Name: a.name, Owner: "kam-li", TeamID: "east", CreatedAt: at, UpdatedAt: at}); err != nil {
				t.Fatal(err)
			}
		}
		type spec struct {
			id, account, title, close string
			value                     kamflow.Money
			entered                   time.Duration // before at
			team                      string
		}
		specs := []spec{
			{"l-1", "acct-z", "Compressor overhaul", "2026-07-15", 5_000_000_00, 3 * 24 * time.Hour, "east"},
			{"l-2", "acct-y", "Boiler feed pumps", "2026-08-01", 12_000_000_00, 10 * 24 * time.Hour, "east"},
			{"l-3", "acct-y", "DCS 100% retrofit", "2026-07-31", 800_000_00, 1 * 24 * time.Hour, "east"},
			{"l-4", "acct-z", "Flow meters", "2026-09-10", 300_000_00, 20 * 24 * time.Hour, "west"},
		}
		deals := map[string]*kamflow.Deal{}
		for i, s := range specs {
			deal := newDeal(t, d, s.id, s.account, "kam-li", at.Add(time.Duration(i)*time.Minute))
			deal.Title, deal.ExpectedClose, deal.Value, deal.TeamID = s.title, kamflow.Date(s.close), s.value, s.team
			deal.StageEnteredAt = at.Add(-s.entered)
			deal.Seq++
			project(t, d, deal, nil)
			deals[s.id] = deal
		}
		// l-2 assessed (its probability rises to 20), l-4 in USD; a lost deal is not active.
		apply(t, d, deals["l-2"], assess(kamflow.GradeA), at.Add(time.Hour))
		deals["l-4"].Currency, deals["l-4"].Seq = "USD", deals["l-4"].Seq+1
		project(t, d, deals["l-4"], nil)
		lost := newDeal(t, d, "l-lost", "acct-z", "kam-li", at.Add(time.Hour))
		apply(t, d, lost, kamflow.Command{Kind: kamflow.CmdClose, Actor: kam, Close: &kamflow.CloseInput{Outcome: kamflow.StatusAbandoned, Reason: "no budget"}}, at.Add(2*time.Hour))

		all := &kamflow.Actor{ID: "sys", Role: kamflow.UserSystem}
		ids := func(f kamflow.DealFilter) ([]string, int) {
			t.Helper()
			f.Viewer = all
			got, total, err := d.Deals(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, x := range got {
				out = append(out, x.ID)
			}
			return out, total
		}
		for _, c := range []struct {
			sort kamflow.DealSort
			desc bool
			want []string
		}{
			{kamflow.SortValue, true, []string{"l-2", "l-1", "l-3", "l-4"}},
			{kamflow.SortValue, false, []string{"l-4", "l-3", "l-1", "l-2"}},
			{kamflow.SortClose, false, []string{"l-2", "l-1", "l-3", "l-4"}}, // the assessment set l-2's to 2025-09-30
			{kamflow.SortDays, true, []string{"l-4", "l-2", "l-1", "l-3"}},
			{kamflow.SortProbability, true, []string{"l-2", "l-4", "l-3", "l-1"}}, // ties by id, the same way round
			{kamflow.SortTitle, false, []string{"l-2", "l-1", "l-3", "l-4"}},
		} {
			if got, total := ids(kamflow.DealFilter{Active: true, Sort: c.sort, Desc: c.desc}); !slices.Equal(got, c.want) || total != 4 {
				t.Errorf("sort %s desc=%v: %v (%d), want %v", c.sort, c.desc, got, total, c.want)
			}
		}
		// Pages of two follow the order, and count the whole list.
		p1, total := ids(kamflow.DealFilter{Active: true, Sort: kamflow.SortValue, Desc: true, Page: kamflow.Page{Limit: 2}})
		p2, _ := ids(kamflow.DealFilter{Active: true, Sort: kamflow.SortValue, Desc: true, Page: kamflow.Page{Limit: 2, Offset: 2}})
		if !slices.Equal(append(p1, p2...), []string{"l-2", "l-1", "l-3", "l-4"}) || total != 4 {
			t.Errorf("pages %v %v of %d", p1, p2, total)
		}
		if got, total := ids(kamflow.DealFilter{}); len(got) != 5 || total != 5 {
			t.Errorf("every deal: %v", got)
		}
		from, to, _ := kamflow.ParseMonth("2026-07")
		for name, c := range map[string]struct {
			f    kamflow.DealFilter
			want []string
		}{
			"team":          {kamflow.DealFilter{TeamID: "west"}, []string{"l-4"}},
			"close month":   {kamflow.DealFilter{CloseFrom: from, CloseTo: to}, []string{"l-1", "l-3"}},
			"title":         {kamflow.DealFilter{Text: "PUMPS"}, []string{"l-2"}},
			"account":       {kamflow.DealFilter{Text: "镇海"}, []string{"l-1", "l-4"}},
			"percent sign":  {kamflow.DealFilter{Text: "100%"}, []string{"l-3"}},
			"no wildcard":   {kamflow.DealFilter{Text: "%"}, []string{"l-3"}},
			"with a filter": {kamflow.DealFilter{Text: "zhenhai", Stage: kamflow.Development, TeamID: "east"}, []string{"l-1"}},
		} {
			c.f.Active, c.f.Sort = true, kamflow.SortTitle
			got, _ := ids(c.f)
			slices.Sort(got)
			if !slices.Equal(got, c.want) {
				t.Errorf("%s: %v, want %v", name, got, c.want)
			}
		}

		// The weighted value: each deal's value × its win probability, per currency.
		stages, err := d.Pipeline(ctx, kamflow.DealFilter{Viewer: all})
		if err != nil {
			t.Fatal(err)
		}
		var want kamflow.Money
		for _, id := range []string{"l-1", "l-2", "l-3"} {
			got, _ := d.Deal(ctx, id)
			want += kamflow.Weighted(got.Value, got.WinProbability().Value)
		}
		dev := stages[0]
		if dev.Count != 4 || len(dev.Weighted) != 2 || dev.Weighted[0] != (kamflow.CurrencyTotal{Currency: "CNY", Total: want}) ||
			dev.Weighted[1] != (kamflow.CurrencyTotal{Currency: "USD", Total: kamflow.Weighted(300_000_00, 10)}) {
			t.Fatalf("development column %+v, want CNY weighted %d", dev, want)
		}
		if want != 5_000_000_00/10+12_000_000_00/5+800_000_00/10 {
			t.Errorf("weighted CNY %d: the probabilities are not 10%%, 20%%, 10%%", want)
		}
		total2 := kamflow.TotalOf(stages)
		if total2.Count != 4 || total2.Value[0].Total != 17_800_000_00 || total2.Weighted[1].Total != 30_000_00 {
			t.Errorf("totals %+v", total2)
		}
		// The pipeline takes the list's filters too.
		if got, _ := d.Pipeline(ctx, kamflow.DealFilter{Viewer: all, Text: "pumps"}); got[0].Count != 1 || got[0].Value[0].Total != 12_000_000_00 {
			t.Errorf("pipeline of a text: %+v", got[0])
		}
	})
}

// TestSavedViews: a user's views by page and name; saving a name again replaces its query and
// keeps its id; another user neither sees nor deletes them; a user keeps at most MaxSavedViews.
func TestSavedViews(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		at := time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)
		save := func(id, user, page, name, query string) (*kamflow.SavedView, bool) {
			t.Helper()
			v := &kamflow.SavedView{ID: id, User: user, Page: page, Name: name, Query: query, CreatedAt: at, UpdatedAt: at}
			created, err := d.SaveView(ctx, v)
			if err != nil {
				t.Fatal(err)
			}
			return v, created
		}
		if _, created := save("v1", "kam1", "board", "Stalled east", "stalled=true&team=east"); !created {
			t.Fatal("a new view not created")
		}
		save("v2", "kam1", "list", "Stalled east", "stalled=true")
		save("v3", "kam2", "board", "Mine", "owner=kam2")
		at = at.Add(time.Hour)
		v, created := save("v4", "kam1", "board", "Stalled east", "stalled=true&sort=-value")
		if created || v.ID != "v1" || !v.CreatedAt.Equal(at.Add(-time.Hour)) {
			t.Fatalf("saved again: created=%v %+v", created, v)
		}
		got, err := d.SavedViews(ctx, "kam1")
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].ID != "v1" || got[0].Query != "stalled=true&sort=-value" || !got[0].UpdatedAt.Equal(at) || got[1].Page != "list" {
			t.Fatalf("kam1's views %+v", got)
		}
		wantCode(t, d.DeleteSavedView(ctx, "kam2", "v1"), kamflow.ENOTFOUND)
		if err := d.DeleteSavedView(ctx, "kam1", "v1"); err != nil {
			t.Fatal(err)
		}
		if got, _ := d.SavedViews(ctx, "kam1"); len(got) != 1 {
			t.Fatalf("after the delete: %+v", got)
		}
		for i := range kamflow.MaxSavedViews - 1 {
			save("m"+string(rune('a'+i/26))+string(rune('a'+i%26)), "kam1", "board", "View "+string(rune('a'+i/26))+string(rune('a'+i%26)), "")
		}
		_, err = d.SaveView(ctx, &kamflow.SavedView{ID: "over", User: "kam1", Page: "board", Name: "One too many", CreatedAt: at, UpdatedAt: at})
		wantCode(t, err, kamflow.ECONFLICT)
	})
}
