package kamflow_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kamflow/kamflow"
)

// yuan is an amount in whole yuan.
func yuan(n int64) kamflow.Money { return kamflow.Money(n * 100) }

// The value scores below are worked by hand with the default weights (gross profit 30, sales
// volume 20, marketing cost 10, industry position 15, cooperation 10, satisfaction 15; sum 100)
// against a scale of 4,000,000 gross profit and 10,000,000 sales volume.
func TestScoreValue(t *testing.T) {
	def := kamflow.DefaultAccountSettings()
	scale := kamflow.ValueScale{MaxGrossProfit: yuan(4_000_000), MaxSalesVolume: yuan(10_000_000)}
	type points = []float64 // per factor, in kamflow.ValueFactors order
	for _, c := range []struct {
		name     string
		v        kamflow.AccountValue
		scale    *kamflow.ValueScale // nil: the 4,000,000 / 10,000,000 one
		settings func(*kamflow.AccountSettings)
		score    float64
		segment  kamflow.Segment
		points   points
	}{{
		// 0.5·30 + 1·20 + (1 − 0.1/0.2)·10 + ¾·15 + ½·10 + 1·15 = 15+20+5+11.25+5+15 = 71.25 → 71.3
		name: "strategic",
		v: kamflow.AccountValue{GrossProfit: yuan(2_000_000), SalesVolume: yuan(10_000_000), MarketingCost: yuan(1_000_000),
			IndustryPosition: 4, CooperationYears: 5, Satisfaction: 5},
		score: 71.3, segment: kamflow.SegmentStrategic, points: points{15, 20, 5, 11.25, 5, 15},
	}, {
		// 0.1·30 + 0.2·20 + (1 − 0.15/0.2)·10 + ¼·15 + 0.1·10 + ¾·15 = 3+4+2.5+3.75+1+11.25 = 25.5
		name: "general",
		v: kamflow.AccountValue{GrossProfit: yuan(400_000), SalesVolume: yuan(2_000_000), MarketingCost: yuan(300_000),
			IndustryPosition: 2, CooperationYears: 1, Satisfaction: 4},
		score: 25.5, segment: kamflow.SegmentGeneral, points: points{3, 4, 2.5, 3.75, 1, 11.25},
	}, {
		name: "no input: no segment", score: 0, segment: "", points: points{0, 0, 0, 0, 0, 0},
	}, {
		// No sales: the marketing cost scores nothing; 20 years are capped at the full 10.
		name:  "future value only",
		v:     kamflow.AccountValue{IndustryPosition: 5, CooperationYears: 20, Satisfaction: 5},
		score: 40, segment: kamflow.SegmentGeneral, points: points{0, 0, 0, 15, 10, 15},
	}, {
		// A marketing cost over the ceiling (25% of sales) scores 0, not less.
		name:  "marketing cost over the ceiling",
		v:     kamflow.AccountValue{GrossProfit: yuan(4_000_000), SalesVolume: yuan(10_000_000), MarketingCost: yuan(2_500_000)},
		score: 50, segment: kamflow.SegmentGeneral, points: points{30, 20, 0, 0, 0, 0},
	}, {
		// An account bigger than the scale (a stale scale) scores at most full marks.
		name:  "over the scale",
		v:     kamflow.AccountValue{GrossProfit: yuan(8_000_000), SalesVolume: yuan(20_000_000)},
		score: 60, segment: kamflow.SegmentStrategic, points: points{30, 20, 10, 0, 0, 0},
	}, {
		name:  "empty scale",
		v:     kamflow.AccountValue{GrossProfit: yuan(1000), SalesVolume: yuan(5000)},
		scale: &kamflow.ValueScale{}, score: 10, segment: kamflow.SegmentGeneral, points: points{0, 0, 10, 0, 0, 0},
	}, {
		// Weights count by their ratio: gross profit alone, at the scale's top, is 100.
		name: "profit only, at the threshold of 100",
		v:    kamflow.AccountValue{GrossProfit: yuan(4_000_000)},
		settings: func(s *kamflow.AccountSettings) {
			s.Weights = map[kamflow.ValueFactor]float64{kamflow.ValueGrossProfit: 2}
			s.StrategicThreshold = 100
		},
		score: 100, segment: kamflow.SegmentStrategic, points: points{100, 0, 0, 0, 0, 0},
	}, {
		// A third of the top profit, weighing 60 of 75: 100·60·⅓ ÷ 75 = 26.67 → 26.7, strategic
		// from 20. Satisfaction weighs but is not judged; the factors left out weigh nothing.
		name: "third of the profit, threshold 20",
		v:    kamflow.AccountValue{GrossProfit: yuan(1_000_000)},
		settings: func(s *kamflow.AccountSettings) {
			s.Weights = map[kamflow.ValueFactor]float64{kamflow.ValueGrossProfit: 60, kamflow.ValueSatisfaction: 15, kamflow.ValueSalesVolume: 0}
			s.StrategicThreshold = 20
		},
		scale: &kamflow.ValueScale{MaxGrossProfit: yuan(3_000_000)},
		score: 26.7, segment: kamflow.SegmentStrategic, points: points{26.67, 0, 0, 0, 0, 0},
	}} {
		t.Run(c.name, func(t *testing.T) {
			s := kamflow.DefaultAccountSettings()
			if c.settings != nil {
				c.settings(&s)
			}
			sc := scale
			if c.scale != nil {
				sc = *c.scale
			}
			got := kamflow.ScoreValue(c.v, sc, s)
			if got.Score != c.score || got.Segment != c.segment || got.Threshold != s.StrategicThreshold {
				t.Errorf("score %v %q (threshold %v), want %v %q", got.Score, got.Segment, got.Threshold, c.score, c.segment)
			}
			var pts points
			for i, f := range got.Factors {
				if f.Factor != kamflow.ValueFactors[i] || f.Weight != s.Weights[f.Factor] {
					t.Errorf("factor %d: %+v", i, f)
				}
				pts = append(pts, f.Points)
			}
			if !slices.Equal(pts, c.points) {
				t.Errorf("points %v, want %v", pts, c.points)
			}
			if (got.Care == nil) != (c.segment == "") || got.Care != nil && *got.Care != kamflow.SegmentCare[c.segment] {
				t.Errorf("care %+v for segment %q", got.Care, c.segment)
			}
		})
	}
	if got := kamflow.ScoreValue(kamflow.AccountValue{SalesVolume: yuan(1)}, scale, def).Factors[1].Score; got != 0 {
		t.Errorf("a sliver of the scale scores %v, want 0 at four decimals", got)
	}
}

func TestScaleOf(t *testing.T) {
	got := kamflow.ScaleOf([]kamflow.AccountValue{
		{GrossProfit: yuan(5), SalesVolume: yuan(100)}, {GrossProfit: yuan(9), SalesVolume: yuan(50)}, {},
	})
	if got != (kamflow.ValueScale{MaxGrossProfit: yuan(9), MaxSalesVolume: yuan(100)}) {
		t.Errorf("scale %+v", got)
	}
}

func TestAccountSettings(t *testing.T) {
	def := kamflow.DefaultAccountSettings()
	if err := def.Validate(); err != nil {
		t.Fatalf("the defaults do not validate: %v", err)
	}
	if def.StaleAfter() != 90*kamflow.Day {
		t.Errorf("stale after %v, want 90 days", def.StaleAfter())
	}
	f := func(v float64) *float64 { return &v }
	n := func(v int) *int { return &v }
	got, err := kamflow.AccountSettingsInput{
		Weights: map[kamflow.ValueFactor]float64{kamflow.ValueSatisfaction: 25}, StrategicThreshold: f(55), StaleContactDays: n(60),
	}.Apply(def)
	if err != nil {
		t.Fatal(err)
	}
	if got.Weights[kamflow.ValueSatisfaction] != 25 || got.Weights[kamflow.ValueGrossProfit] != 30 || got.StrategicThreshold != 55 ||
		got.StaleContactDays != 60 || got.DormantMonths != 12 {
		t.Errorf("applied: %+v", got)
	}
	if def.Weights[kamflow.ValueSatisfaction] != 15 {
		t.Error("Apply changed the settings it was given")
	}
	for name, in := range map[string]kamflow.AccountSettingsInput{
		"negative weight": {Weights: map[kamflow.ValueFactor]float64{kamflow.ValueSalesVolume: -1}},
		"weight over 100": {Weights: map[kamflow.ValueFactor]float64{kamflow.ValueSalesVolume: 101}},
		"unknown factor":  {Weights: map[kamflow.ValueFactor]float64{"headcount": 5}},
		"all weights zero": {Weights: map[kamflow.ValueFactor]float64{kamflow.ValueGrossProfit: 0, kamflow.ValueSalesVolume: 0,
			kamflow.ValueMarketingCost: 0, kamflow.ValueIndustryPosition: 0, kamflow.ValueCooperation: 0, kamflow.ValueSatisfaction: 0}},
		"threshold 0":       {StrategicThreshold: f(0)},
		"threshold 100.5":   {StrategicThreshold: f(100.5)},
		"stale days 0":      {StaleContactDays: n(0)},
		"full years 0":      {FullCooperationYears: n(0)},
		"window 21 years":   {RepeatWindowYears: n(21)},
		"dormant 121 month": {DormantMonths: n(121)},
	} {
		if _, err := in.Apply(def); kamflow.ErrorCode(err) != kamflow.EINVALID {
			t.Errorf("%s: error %v, want invalid", name, err)
		}
	}
}

func TestAccountValueInput(t *testing.T) {
	n := func(v int) *int { return &v }
	m := yuan(250_000)
	v := kamflow.AccountValue{SalesVolume: yuan(1)}
	if err := (kamflow.AccountValueInput{GrossProfit: &m, Satisfaction: n(4)}).ApplyTo(&v); err != nil {
		t.Fatal(err)
	}
	if v != (kamflow.AccountValue{GrossProfit: m, SalesVolume: yuan(1), Satisfaction: 4}) {
		t.Errorf("value %+v", v)
	}
	for _, in := range []kamflow.AccountValueInput{{Satisfaction: n(6)}, {IndustryPosition: n(-1)}, {CooperationYears: n(201)}} {
		if err := in.ApplyTo(&v); kamflow.ErrorCode(err) != kamflow.EINVALID {
			t.Errorf("%+v: error %v, want invalid", in, err)
		}
	}
	var in kamflow.AccountInput
	if err := json.Unmarshal([]byte(`{"value":{"gross_profit":"-5"}}`), &in); kamflow.ErrorCode(err) != kamflow.EINVALID {
		t.Errorf("a negative gross profit: %v", err)
	}
	long := strings.Repeat("x", 4001)
	a := kamflow.Account{Name: "Baowu"}
	if err := (kamflow.AccountInput{Profile: &kamflow.AccountProfileInput{Market: &long}}).ApplyTo(&a); kamflow.ErrorCode(err) != kamflow.EINVALID {
		t.Errorf("a market text of 4001 characters: %v", err)
	}
	mk := "  Steel output down 3%, exports up  "
	if err := (kamflow.AccountInput{Profile: &kamflow.AccountProfileInput{Market: &mk}}).ApplyTo(&a); err != nil || a.Profile.Market != strings.TrimSpace(mk) {
		t.Errorf("profile %+v, %v", a.Profile, err)
	}
}

func TestPareto(t *testing.T) {
	// Ten accounts; the top two (a fifth) bring 800 of 1,000.
	profits := []int64{3, 500, 10, 100, 20, 300, 50, 10, 5, 2}
	var in []kamflow.ParetoAccount
	for i, p := range profits {
		in = append(in, kamflow.ParetoAccount{ID: string(rune('a' + i)), Name: "Account " + string(rune('A'+i)), GrossProfit: yuan(p)})
	}
	v := kamflow.Pareto(in)
	if v.Accounts != 10 || v.TotalGrossProfit != yuan(1000) || v.TopAccounts != 2 || v.TopShare != 0.8 {
		t.Fatalf("view %+v", v)
	}
	var ids []string
	var shares []float64
	for _, p := range v.Points {
		ids = append(ids, p.AccountID)
		shares = append(shares, p.ProfitShare)
	}
	// c and h both have 10: by name.
	if want := []string{"b", "f", "d", "g", "e", "c", "h", "i", "a", "j"}; !slices.Equal(ids, want) {
		t.Errorf("order %v, want %v", ids, want)
	}
	if want := []float64{0.5, 0.8, 0.9, 0.95, 0.97, 0.98, 0.99, 0.995, 0.998, 1}; !slices.Equal(shares, want) {
		t.Errorf("cumulative shares %v, want %v", shares, want)
	}
	if p := v.Points[2]; p.Rank != 3 || p.AccountShare != 0.3 {
		t.Errorf("third point %+v", p)
	}

	for _, c := range []struct {
		n, top int
	}{{1, 1}, {4, 1}, {5, 1}, {6, 2}, {11, 3}} {
		in := make([]kamflow.ParetoAccount, c.n)
		for i := range in {
			in[i] = kamflow.ParetoAccount{ID: string(rune('a' + i))}
		}
		if v := kamflow.Pareto(in); v.TopAccounts != c.top || v.TopShare != 0 {
			t.Errorf("%d accounts: top %d (share %v), want %d (0: no profit)", c.n, v.TopAccounts, v.TopShare, c.top)
		}
	}
	if v := kamflow.Pareto(nil); v.Accounts != 0 || v.TopAccounts != 0 || len(v.Points) != 0 {
		t.Errorf("no accounts: %+v", v)
	}
}

func TestDeriveLifecycle(t *testing.T) {
	now := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	day := func(s string) time.Time {
		d, err := time.Parse(time.DateOnly, s)
		if err != nil {
			t.Fatal(err)
		}
		return d.Add(10 * time.Hour)
	}
	won := func(id, on string, value int64, currency string) kamflow.WonDeal {
		return kamflow.WonDeal{DealID: id, At: day(on), Value: yuan(value), Currency: currency}
	}
	for _, c := range []struct {
		name    string
		h       kamflow.AccountHistory
		phase   kamflow.Phase
		rung    kamflow.LoyaltyRung
		reason  string
		window  int
		falling bool
	}{
		{"nothing yet", kamflow.AccountHistory{}, kamflow.PhaseExploration, kamflow.RungProspect, kamflow.ReasonNoWonDeal, 0, false},
		{"a prospect gone quiet stays in exploration", kamflow.AccountHistory{LastDealAt: day("2023-01-05")},
			kamflow.PhaseExploration, kamflow.RungProspect, kamflow.ReasonNoWonDeal, 0, false},
		{"one won", kamflow.AccountHistory{Won: []kamflow.WonDeal{won("d1", "2026-01-15", 1_000_000, "CNY")}},
			kamflow.PhaseFormation, kamflow.RungFirstTimeBuyer, kamflow.ReasonOneWonDeal, 1, false},
		{"two won within three years", kamflow.AccountHistory{Won: []kamflow.WonDeal{
			won("d2", "2026-02-01", 1_000_000, "CNY"), won("d1", "2023-06-02", 1_000_000, "CNY")}},
			kamflow.PhaseStability, kamflow.RungRepeatBuyer, kamflow.ReasonRepeatWins, 2, false},
		{"two won, one just outside the window", kamflow.AccountHistory{Won: []kamflow.WonDeal{
			won("d1", "2023-05-31", 1_000_000, "CNY"), won("d2", "2026-02-01", 1_000_000, "CNY")}},
			kamflow.PhaseFormation, kamflow.RungRepeatBuyer, kamflow.ReasonWinsSpreadOut, 1, false},
		{"one won, nothing for over a year", kamflow.AccountHistory{Won: []kamflow.WonDeal{won("d1", "2025-05-31", 1_000_000, "CNY")}},
			kamflow.PhaseDecline, kamflow.RungFirstTimeBuyer, kamflow.ReasonDormant, 1, false},
		{"one won, a call within the year", kamflow.AccountHistory{Won: []kamflow.WonDeal{won("d1", "2024-03-01", 1_000_000, "CNY")},
			LastInteractionAt: day("2025-06-01")},
			kamflow.PhaseFormation, kamflow.RungFirstTimeBuyer, kamflow.ReasonOneWonDeal, 1, false},
		{"one won, a service visit within the year", kamflow.AccountHistory{Won: []kamflow.WonDeal{won("d1", "2024-03-01", 1_000_000, "CNY")},
			LastServiceAt: day("2026-05-20")},
			kamflow.PhaseFormation, kamflow.RungFirstTimeBuyer, kamflow.ReasonOneWonDeal, 1, false},
		{"repeat buyer gone quiet", kamflow.AccountHistory{Won: []kamflow.WonDeal{
			won("d1", "2024-01-10", 1_000_000, "CNY"), won("d2", "2024-09-10", 1_000_000, "CNY")}, LastDealAt: day("2025-04-01")},
			kamflow.PhaseDecline, kamflow.RungRepeatBuyer, kamflow.ReasonDormant, 2, false},
		{"three won, each smaller", kamflow.AccountHistory{Won: []kamflow.WonDeal{
			won("d3", "2026-03-01", 5_000_000, "CNY"), won("d1", "2024-06-01", 10_000_000, "CNY"), won("d2", "2025-04-01", 8_000_000, "CNY")}},
			kamflow.PhaseDecline, kamflow.RungRepeatBuyer, kamflow.ReasonFallingValue, 3, true},
		{"three won, the last as big as the one before", kamflow.AccountHistory{Won: []kamflow.WonDeal{
			won("d1", "2024-06-01", 10_000_000, "CNY"), won("d2", "2025-04-01", 8_000_000, "CNY"), won("d3", "2026-03-01", 8_000_000, "CNY")}},
			kamflow.PhaseStability, kamflow.RungRepeatBuyer, kamflow.ReasonRepeatWins, 3, false},
		{"three won, smaller but in different currencies", kamflow.AccountHistory{Won: []kamflow.WonDeal{
			won("d1", "2024-06-01", 10_000_000, "CNY"), won("d2", "2025-04-01", 8_000_000, "USD"), won("d3", "2026-03-01", 5_000_000, "CNY")}},
			kamflow.PhaseStability, kamflow.RungRepeatBuyer, kamflow.ReasonRepeatWins, 3, false},
		{"the last three falling after an earlier rise", kamflow.AccountHistory{Won: []kamflow.WonDeal{
			won("d1", "2022-01-01", 1_000_000, "CNY"), won("d2", "2023-01-01", 9_000_000, "CNY"), won("d3", "2024-01-01", 7_000_000, "CNY"),
			won("d4", "2026-01-01", 2_000_000, "CNY")}},
			kamflow.PhaseDecline, kamflow.RungRepeatBuyer, kamflow.ReasonFallingValue, 2, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := kamflow.DeriveLifecycle(c.h, now, kamflow.DefaultAccountSettings())
			if d.Phase != c.phase || d.Rung != c.rung || d.Reason != c.reason || d.WonInWindow != c.window ||
				d.Falling != c.falling || d.WonDeals != len(c.h.Won) || d.Detail == "" {
				t.Errorf("derived %+v, want %s %s (%s), %d in the window, falling %v", d, c.phase, c.rung, c.reason, c.window, c.falling)
			}
		})
	}

	// The last activity is the newest of everything.
	h := kamflow.AccountHistory{Won: []kamflow.WonDeal{won("d1", "2025-01-01", 1, "CNY")}, LastDealAt: day("2025-02-01"),
		LastInteractionAt: day("2025-07-01"), LastServiceAt: day("2025-03-01")}
	if d := kamflow.DeriveLifecycle(h, now, kamflow.DefaultAccountSettings()); d.LastActivityAt == nil || !d.LastActivityAt.Equal(day("2025-07-01")) {
		t.Errorf("last activity %v", d.LastActivityAt)
	}
	// Shorter windows from the settings.
	s := kamflow.DefaultAccountSettings()
	s.DormantMonths, s.RepeatWindowYears = 3, 1
	h = kamflow.AccountHistory{Won: []kamflow.WonDeal{won("d1", "2025-01-10", 1, "CNY"), won("d2", "2026-02-01", 1, "CNY")}}
	if d := kamflow.DeriveLifecycle(h, now, s); d.Phase != kamflow.PhaseDecline || d.Reason != kamflow.ReasonDormant {
		t.Errorf("three months of silence: %+v", d)
	}
	h.LastInteractionAt = day("2026-04-01")
	if d := kamflow.DeriveLifecycle(h, now, s); d.Phase != kamflow.PhaseFormation || d.Reason != kamflow.ReasonWinsSpreadOut {
		t.Errorf("wins 13 months apart with a one-year window: %+v", d)
	}
}

func TestResolveLifecycle(t *testing.T) {
	d := kamflow.LifecycleDerivation{Phase: kamflow.PhaseFormation, Rung: kamflow.RungFirstTimeBuyer, Reason: kamflow.ReasonOneWonDeal}
	l := kamflow.ResolveLifecycle(d, nil)
	if l.Phase != kamflow.PhaseFormation || l.Rung != kamflow.RungFirstTimeBuyer || l.Override != nil ||
		l.MarketingMix.Primary != kamflow.MarketingRelationship || l.MarketingMix.Secondary != kamflow.MarketingBrand {
		t.Errorf("derived only: %+v", l)
	}
	o, err := kamflow.LifecycleInput{Rung: kamflow.RungAdvocate, Reason: " Recommended us to the Zhanjiang site "}.Override("kam1", t0)
	if err != nil {
		t.Fatal(err)
	}
	l = kamflow.ResolveLifecycle(d, o)
	if l.Phase != kamflow.PhaseFormation || l.Rung != kamflow.RungAdvocate || o.Reason != "Recommended us to the Zhanjiang site" || o.By != "kam1" {
		t.Errorf("rung set by hand: %+v", l)
	}
	o, _ = kamflow.LifecycleInput{Phase: kamflow.PhaseStability, Rung: kamflow.RungPartner, Reason: "Joint development"}.Override("d1", t0)
	if l := kamflow.ResolveLifecycle(d, o); l.Phase != kamflow.PhaseStability || l.Rung != kamflow.RungPartner ||
		l.MarketingMix.Primary != kamflow.MarketingBrand || l.Derived.Phase != kamflow.PhaseFormation {
		t.Errorf("both set by hand: %+v", l)
	}
	if o, err := (kamflow.LifecycleInput{Reason: "back to the record"}).Override("kam1", t0); o != nil || err != nil {
		t.Errorf("neither phase nor rung: %+v, %v (want no override)", o, err)
	}
	for _, in := range []kamflow.LifecycleInput{
		{Phase: kamflow.PhaseDecline}, {Phase: "retired", Reason: "x"}, {Rung: "fan", Reason: "x"},
		{Rung: kamflow.RungPartner, Reason: strings.Repeat("x", 1001)},
	} {
		if _, err := in.Override("kam1", t0); kamflow.ErrorCode(err) != kamflow.EINVALID {
			t.Errorf("%+v: error %v, want invalid", in, err)
		}
	}
	// Every phase has its marketing mix in both languages.
	for _, p := range kamflow.Phases {
		m := kamflow.PhaseMarketingMix[p]
		if m.Primary == "" || m.Advice.ZH == "" || m.Advice.EN == "" {
			t.Errorf("phase %s: marketing mix %+v", p, m)
		}
	}
	for _, s := range kamflow.Segments {
		if c := kamflow.SegmentCare[s]; c.ZH == "" || c.EN == "" {
			t.Errorf("segment %s: care %+v", s, c)
		}
	}
}

func TestContactStale(t *testing.T) {
	created := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	never := &kamflow.Contact{CreatedAt: created}
	met := created.Add(40 * kamflow.Day)
	seen := &kamflow.Contact{CreatedAt: created, LastContactAt: &met}
	after := kamflow.DefaultAccountSettings().StaleAfter()
	for _, c := range []struct {
		name  string
		c     *kamflow.Contact
		now   time.Time
		stale bool
		days  int
	}{
		{"never contacted, 89 days old", never, created.Add(89 * kamflow.Day), false, 89},
		{"never contacted, a second short of 90 days", never, created.Add(90*kamflow.Day - time.Second), false, 89},
		{"never contacted, 90 days old", never, created.Add(90 * kamflow.Day), true, 90},
		{"met 89 days ago", seen, met.Add(89 * kamflow.Day), false, 89},
		{"met 90 days ago", seen, met.Add(90 * kamflow.Day), true, 90},
		{"met 200 days ago", seen, met.Add(200 * kamflow.Day), true, 200},
		{"clock behind the meeting", seen, met.Add(-time.Hour), false, 0},
	} {
		if got := c.c.Stale(c.now, after); got != c.stale {
			t.Errorf("%s: stale %v, want %v", c.name, got, c.stale)
		}
		if got := c.c.DaysSinceContact(c.now); got != c.days {
			t.Errorf("%s: %d days, want %d", c.name, got, c.days)
		}
	}
	if seen.Stale(met.Add(30*kamflow.Day), 30*kamflow.Day) != true {
		t.Error("a 30-day setting does not apply")
	}
}

func TestCheckReportsTo(t *testing.T) {
	// The org chart: gm ← cto ← chief ← engineer; buyer ← gm. (x ← y: y reports to x.)
	chart := map[string]string{"gm": "", "cto": "gm", "chief": "cto", "engineer": "chief", "buyer": "gm"}
	for _, c := range []struct {
		id, manager string
		ok          bool
	}{
		{"engineer", "", true},
		{"engineer", "cto", true},
		{"buyer", "chief", true},
		{"new", "engineer", true}, // a new contact cannot close a loop
		{"gm", "buyer", false},    // gm → buyer → gm
		{"gm", "engineer", false}, // gm → engineer → chief → cto → gm
		{"cto", "chief", false},
		{"chief", "chief", false}, // themselves
		{"chief", "nobody", false},
		{"new", "nobody", false},
	} {
		err := kamflow.CheckReportsTo(c.id, c.manager, chart)
		if (err == nil) != c.ok || err != nil && kamflow.ErrorCode(err) != kamflow.EINVALID {
			t.Errorf("%s reports to %q: error %v, want ok %v", c.id, c.manager, err, c.ok)
		}
	}
	err := kamflow.CheckReportsTo("gm", "engineer", chart)
	if e := err.(*kamflow.Error); e.Details["field"] != "reports_to" || !slices.Equal(e.Details["cycle"].([]string), []string{"gm", "engineer", "chief", "cto", "gm"}) {
		t.Errorf("cycle details %v", e.Details)
	}
	// A cycle already in the data (which the check prevents) does not hang it.
	loop := map[string]string{"a": "b", "b": "a", "c": ""}
	if err := kamflow.CheckReportsTo("c", "a", loop); err != nil {
		t.Errorf("an unrelated stored loop: %v", err)
	}
}

func TestContactInput(t *testing.T) {
	s := func(v string) *string { return &v }
	role := kamflow.RoleInsider
	c := &kamflow.Contact{}
	err := kamflow.ContactInput{Name: s(" 王工 "), Title: s("Chief engineer"), Role: &role, Influence: new(int),
		Deals: []kamflow.ContactDeal{{DealID: "d1", Stance: kamflow.StanceOpponent}, {DealID: "d2"}}}.ApplyTo(c)
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "王工" || c.Stance != kamflow.StanceNeutral || c.Role != kamflow.RoleInsider || len(c.Deals) != 2 {
		t.Errorf("contact %+v", c)
	}
	if c.StanceOn("d1") != kamflow.StanceOpponent || c.StanceOn("d2") != kamflow.StanceNeutral || c.StanceOn("d9") != kamflow.StanceNeutral {
		t.Errorf("stances on the deals: %+v", c.Deals)
	}
	sup := kamflow.StanceSupporter
	if err := (kamflow.ContactInput{Stance: &sup, Deals: []kamflow.ContactDeal{{DealID: "d1"}}}).ApplyTo(c); err != nil {
		t.Fatal(err)
	}
	if c.StanceOn("d1") != kamflow.StanceSupporter || len(c.Deals) != 2 {
		t.Errorf("the override of d1 cleared: %+v", c.Deals)
	}
	boss := kamflow.Role("boss")
	bad := kamflow.Stance("hostile")
	for name, in := range map[string]kamflow.ContactInput{
		"blank name":        {Name: s("  ")},
		"unknown role":      {Role: &boss},
		"unknown stance":    {Stance: &bad},
		"influence 6":       {Influence: func() *int { v := 6; return &v }()},
		"relationship -1":   {Relationship: func() *int { v := -1; return &v }()},
		"deal without id":   {Deals: []kamflow.ContactDeal{{DealID: " "}}},
		"deal stance wrong": {Deals: []kamflow.ContactDeal{{DealID: "d1", Stance: bad}}},
	} {
		c := &kamflow.Contact{Name: "x"}
		if err := in.ApplyTo(c); kamflow.ErrorCode(err) != kamflow.EINVALID {
			t.Errorf("%s: error %v, want invalid", name, err)
		}
	}
}

func TestInteractionInput(t *testing.T) {
	ok := kamflow.InteractionInput{AccountID: " a1 ", DealID: "d1", ContactIDs: []string{"c1", " c2", "c1"}, Kind: kamflow.InteractionDemo,
		Summary: "Demo of the SIL2 overfill protection", Reaction: kamflow.ReactionPositive, ReactionText: "Asked for a quote"}
	it, err := ok.Interaction("kam1", t0)
	if err != nil {
		t.Fatal(err)
	}
	if it.AccountID != "a1" || !it.At.Equal(t0) || !slices.Equal(it.ContactIDs, []string{"c1", "c2"}) || it.RecordedBy != "kam1" {
		t.Errorf("interaction %+v", it)
	}
	earlier := t0.Add(-48 * time.Hour)
	ok.At = &earlier
	if it, _ := ok.Interaction("kam1", t0); !it.At.Equal(earlier) || !it.CreatedAt.Equal(t0) {
		t.Errorf("logged late: %+v", it)
	}
	future := t0.Add(time.Hour)
	ancient := time.Date(1999, 12, 31, 0, 0, 0, 0, time.UTC)
	for name, change := range map[string]func(*kamflow.InteractionInput){
		"no account":       func(in *kamflow.InteractionInput) { in.AccountID = "" },
		"unknown kind":     func(in *kamflow.InteractionInput) { in.Kind = "lunch" },
		"no reaction":      func(in *kamflow.InteractionInput) { in.Reaction = "" },
		"no summary":       func(in *kamflow.InteractionInput) { in.Summary = " " },
		"in the future":    func(in *kamflow.InteractionInput) { in.At = &future },
		"before 2000":      func(in *kamflow.InteractionInput) { in.At = &ancient },
		"blank contact id": func(in *kamflow.InteractionInput) { in.ContactIDs = []string{""} },
		"too many people":  func(in *kamflow.InteractionInput) { in.ContactIDs = make([]string, 51) },
	} {
		in := ok
		change(&in)
		if _, err := in.Interaction("kam1", t0); kamflow.ErrorCode(err) != kamflow.EINVALID {
			t.Errorf("%s: error %v, want invalid", name, err)
		}
	}
}
