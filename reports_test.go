package kamflow_test

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/kamflow/kamflow"
)

func durations(hours ...int) []time.Duration {
	out := make([]time.Duration, len(hours))
	for i, h := range hours {
		out[i] = time.Duration(h) * time.Hour
	}
	return out
}

// TestPercentile: nearest rank, ⌈p·n/100⌉ of the sorted values.
func TestPercentile(t *testing.T) {
	for _, c := range []struct {
		values []time.Duration
		p      int
		want   time.Duration
	}{
		{nil, 50, 0},
		{durations(7), 50, 7 * time.Hour},
		{durations(7), 90, 7 * time.Hour},
		{durations(1, 2), 50, 1 * time.Hour}, // rank 1: the lower middle, not 1.5
		{durations(1, 2, 3, 4), 50, 2 * time.Hour},
		{durations(1, 2, 3, 4, 5), 50, 3 * time.Hour},
		{durations(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 90, 9 * time.Hour},         // rank 9
		{durations(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11), 90, 10 * time.Hour},    // rank ⌈9.9⌉ = 10
		{durations(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11), 100, 11 * time.Hour},   // the largest
		{durations(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11), 1, 1 * time.Hour},      // rank ⌈0.11⌉ = 1
		{durations(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12), 50, 6 * time.Hour}, // rank 6
	} {
		if got := kamflow.Percentile(c.values, c.p); got != c.want {
			t.Errorf("p%d of %v = %s, want %s", c.p, c.values, got, c.want)
		}
	}
}

func TestOverlap(t *testing.T) {
	h := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Hour) }
	for _, c := range []struct {
		iv       kamflow.Interval
		from, to int
		want     int
	}{
		{kamflow.Interval{From: h(2), To: h(5)}, 0, 10, 3},
		{kamflow.Interval{From: h(2), To: h(5)}, 3, 10, 2},
		{kamflow.Interval{From: h(2), To: h(5)}, 0, 4, 2},
		{kamflow.Interval{From: h(2), To: h(5)}, 5, 10, 0},
		{kamflow.Interval{From: h(2)}, 0, 10, 8}, // still paused: up to the end of the stay
		{kamflow.Interval{From: h(12)}, 0, 10, 0},
	} {
		if got := c.iv.Overlap(h(c.from), h(c.to)); got != time.Duration(c.want)*time.Hour {
			t.Errorf("%+v over [%d, %d): %s", c.iv, c.from, c.to, got)
		}
	}
}

func TestStageTimesLessPauses(t *testing.T) {
	h := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Hour) }
	stays := []kamflow.Stay{
		{DealID: "a", Stage: kamflow.Entry, Entered: h(0), Left: h(100)}, // paused 30h in it: 70
		{DealID: "b", Stage: kamflow.Entry, Entered: h(0), Left: h(50)},  // paused [-5, 5) and [40, 45): 5 + 5 in it: 40
		{DealID: "c", Stage: kamflow.Entry, Entered: h(10), Left: h(20)}, // 10
		{DealID: "a", Stage: kamflow.Bid, Entered: h(100), Left: h(124)}, // 24
		{DealID: "x", Stage: "tender", Entered: h(0), Left: h(1)},        // not a stage: left out
	}
	paused := map[string][]kamflow.Interval{
		"a": {{From: h(10), To: h(30)}, {From: h(60), To: h(70)}},
		"b": {{From: h(-5), To: h(5)}, {From: h(40), To: h(45)}},
	}
	got := kamflow.StageTimes(stays, paused)
	var rows []string
	for _, s := range got {
		rows = append(rows, fmt.Sprintf("%s %d %s %s %.2f %.2f %.2f", s.Stage, s.Stays, s.Median, s.P90, s.MedianDays, s.P90Hours, s.PausedHours))
	}
	want := []string{
		"development 0 0s 0s 0.00 0.00 0.00",
		"entry 3 40h0m0s 70h0m0s 1.67 70.00 40.00", // 10 40 70: p50 rank 2, p90 rank 3
		"proposal 0 0s 0s 0.00 0.00 0.00",
		"bid 1 24h0m0s 24h0m0s 1.00 24.00 0.00",
		"negotiation 0 0s 0s 0.00 0.00 0.00",
		"delivery 0 0s 0s 0.00 0.00 0.00",
	}
	if !reflect.DeepEqual(rows, want) {
		t.Errorf("stage times\n got  %v\n want %v", rows, want)
	}
}

func TestFunnelAndLosses(t *testing.T) {
	f := kamflow.Funnel([]kamflow.FunnelStage{
		{Stage: kamflow.Entry, Entered: 3, Advanced: 1, Closed: 1},
		{Stage: kamflow.Entry, Forced: 1},
		{Stage: "tender", Entered: 9},
	})
	if len(f) != 6 || f[1] != (kamflow.FunnelStage{Stage: kamflow.Entry, Entered: 3, Advanced: 1, Forced: 1, Closed: 1, Open: 1, Conversion: 0.3333}) ||
		f[0] != (kamflow.FunnelStage{Stage: kamflow.Development}) {
		t.Errorf("funnel %+v", f)
	}
	l := kamflow.Losses([]kamflow.ClosingRow{
		{Stage: kamflow.Bid, Outcome: kamflow.StatusLost, Reason: "price", Competitor: "Acme", N: 2},
		{Stage: kamflow.Bid, Outcome: kamflow.StatusLost, Reason: "price", Competitor: "Beta", N: 1},
		{Stage: kamflow.Bid, Outcome: kamflow.StatusWithdrawn, Reason: "criteria", N: 3},
		{Stage: kamflow.Development, Outcome: kamflow.StatusAbandoned, Reason: "no budget", N: 4},
	})
	b := l[3]
	if b.Lost != 3 || b.Withdrawn != 3 || len(l[0].Reasons) != 0 ||
		!reflect.DeepEqual(b.Reasons, []kamflow.Count{{Outcome: kamflow.StatusWithdrawn, Value: "criteria", Count: 3}, {Outcome: kamflow.StatusLost, Value: "price", Count: 3}}) ||
		!reflect.DeepEqual(b.Competitors, []kamflow.Count{{Value: "Acme", Count: 2}, {Value: "Beta", Count: 1}}) {
		t.Errorf("bid losses %+v", b)
	}
}

func TestBuildForecast(t *testing.T) {
	f := kamflow.BuildForecast([]kamflow.ForecastCell{
		{Currency: "CNY", Month: "2026-05", Owner: "kam.li", Deals: 1, Value: 1_00, ValueByProb: 1_00 * 35},
		{Currency: "CNY", Month: "2026-05", Owner: "kam.zhou", Deals: 2, Value: 3_33, ValueByProb: 3_33 * 10},
		{Currency: "CNY", Month: "", Owner: "kam.li", Deals: 1, Value: 10_00, ValueByProb: 10_00 * 50},
		{Currency: "USD", Month: "2026-04", Owner: "kam.li", Deals: 1, Value: 5, ValueByProb: 5 * 50},
	}, time.Time{})
	row := func(r kamflow.ForecastRow) string {
		return fmt.Sprintf("%s|%s|%s|%d|%s|%s", r.Month, r.Owner, r.Currency, r.Deals, r.Value, r.Weighted)
	}
	var got []string
	for _, r := range f.ByMonth {
		got = append(got, row(r))
	}
	for _, r := range f.ByOwner {
		got = append(got, row(r))
	}
	for _, r := range f.Total {
		got = append(got, row(r))
	}
	want := []string{
		"2026-04||USD|1|0.05|0.03", // 2.5 cents rounds half up to 3
		"2026-05||CNY|3|4.33|0.68", // (3500 + 3330) / 100 = 68.3 → 68
		"||CNY|1|10.00|5.00",       // no expected close: last
		"|kam.li|CNY|2|11.00|5.35",
		"|kam.li|USD|1|0.05|0.03",
		"|kam.zhou|CNY|2|3.33|0.33", // 33.3 → 33
		"||CNY|4|14.33|5.68",        // (3500 + 3330 + 50000) / 100 = 568.3 → 568
		"||USD|1|0.05|0.03",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("forecast\n got  %v\n want %v", got, want)
	}
	shanghai := time.FixedZone("CST", 8*3600)
	if got := kamflow.EndOfDay("2026-03-31", shanghai); !got.Equal(time.Date(2026, 3, 31, 16, 0, 0, 0, time.UTC)) {
		t.Errorf("end of 2026-03-31 in UTC+8: %s", got.UTC())
	}
	if !kamflow.EndOfDay("", nil).IsZero() {
		t.Error("end of no date")
	}
}
