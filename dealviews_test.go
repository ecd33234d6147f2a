package kamflow_test

import (
	"testing"

	"github.com/kamflow/kamflow"
)

// TestWeighted: value × probability / 100, to the nearest minor unit, whatever the amount.
func TestWeighted(t *testing.T) {
	for _, c := range []struct {
		v    kamflow.Money
		p    int
		want kamflow.Money
	}{
		{1_250_000_00, 10, 125_000_00}, {99, 50, 50}, {1, 49, 0}, {12_345, 35, 4_321}, {5, 0, 0}, {5, 100, 5},
		{9_000_000_000_000_000_000, 50, 4_500_000_000_000_000_000},
	} {
		if got := kamflow.Weighted(c.v, c.p); got != c.want {
			t.Errorf("Weighted(%d, %d) = %d, want %d", c.v, c.p, got, c.want)
		}
	}
}

// TestDealListParameters: the list's sort and close month, and what a saved view may hold.
func TestDealListParameters(t *testing.T) {
	if s, desc, err := kamflow.ParseDealSort("-value"); err != nil || s != kamflow.SortValue || !desc {
		t.Errorf("-value: %v %v %v", s, desc, err)
	}
	if s, desc, _ := kamflow.ParseDealSort(""); s != kamflow.SortUpdated || !desc {
		t.Errorf("the default order: %v %v", s, desc)
	}
	if _, _, err := kamflow.ParseDealSort("owner"); kamflow.ErrorCode(err) != kamflow.EINVALID {
		t.Errorf("owner: %v", err)
	}
	if from, to, err := kamflow.ParseMonth("2026-12"); err != nil || from != "2026-12-01" || to != "2027-01-01" {
		t.Errorf("2026-12: %v %v %v", from, to, err)
	}
	v := kamflow.SavedView{Name: "  Stalled east ", Page: kamflow.ViewBoard, Query: "?stalled=true&team=east"}
	if err := v.Validate(); err != nil || v.Name != "Stalled east" || v.Query != "stalled=true&team=east" {
		t.Errorf("%+v: %v", v, err)
	}
	for _, bad := range []kamflow.SavedView{{Name: "", Page: "board"}, {Name: "x", Page: "deal"}, {Name: "x", Page: "list", Query: "limit=1"}, {Name: "x", Page: "list", Query: "q=%zz"}} {
		if err := bad.Validate(); kamflow.ErrorCode(err) != kamflow.EINVALID {
			t.Errorf("%+v: %v", bad, err)
		}
	}
	tot := kamflow.TotalOf([]kamflow.StageSummary{
		{Count: 2, Value: []kamflow.CurrencyTotal{{Currency: "USD", Total: 5}}, Weighted: []kamflow.CurrencyTotal{{Currency: "USD", Total: 1}}},
		{Count: 1, Stalled: 1, Value: []kamflow.CurrencyTotal{{Currency: "CNY", Total: 7}, {Currency: "USD", Total: 1}}},
	})
	if tot.Count != 3 || tot.Stalled != 1 || len(tot.Value) != 2 || tot.Value[0] != (kamflow.CurrencyTotal{Currency: "CNY", Total: 7}) || tot.Value[1].Total != 6 {
		t.Errorf("totals %+v", tot)
	}
}
