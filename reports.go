package kamflow

import (
	"context"
	"math"
	"slices"
	"strings"
	"time"
)

// The director's reports are computed from the recorded history, never estimated:
//
//   - stage_transitions: every move (created, advanced, forced), every win, close and delivery;
//   - deal_versions: the deal as it stood after every accepted change (stage, status, owner, team,
//     value, win probability, expected close, paused...), which gives the time paused and the
//     pipeline as it stood on any past date.
//
// A deal enters a stage with a created (development), advanced or forced transition into it, and
// leaves it at most once: by a move out of it (advanced or forced; for delivery, delivered) or by
// a close (lost, withdrawn, abandoned). A won transition does not end a stage: a won deal goes on
// to delivery.

// ReportFilter selects the deals of a report and its period.
type ReportFilter struct {
	// Viewer limits the deals to those the actor may see now (nil: every deal), by the rules of
	// Actor.CanSeeDeal.
	Viewer *Actor
	// TeamID and Owner select the deals of a team or an owner ("": any): the deal's current team
	// and owner, except in an as-of forecast, where they are the team and owner as of then.
	TeamID string
	Owner  string
	// From and To bound the period [From, To); a zero From is the beginning, a zero To is no end.
	// What the period selects is said by each report.
	From, To time.Time
}

// FunnelStage is one stage of the funnel over a period: the deals that entered the stage in the
// period and what has become of them since (by now). Entered = Advanced + Closed + Open.
type FunnelStage struct {
	Stage   Stage `json:"stage"`
	Entered int   `json:"entered"`
	// Advanced counts those that reached the next stage (for delivery: the project closed after
	// acceptance, delivered); Forced counts those of them forced past the key node.
	Advanced int `json:"advanced"`
	Forced   int `json:"forced"`
	// Closed counts those that ended in the stage (lost, withdrawn, abandoned); Open those still
	// in it.
	Closed int `json:"closed"`
	Open   int `json:"open"`
	// Conversion is Advanced ÷ Entered (0 when none entered), to four decimals.
	Conversion float64 `json:"conversion"`
}

// Funnel completes a funnel's counts: the stages in order, every one present, with Open and
// Conversion computed.
func Funnel(rows []FunnelStage) []FunnelStage {
	out := make([]FunnelStage, len(Stages))
	for i, st := range Stages {
		out[i].Stage = st
	}
	for _, r := range rows {
		if i := r.Stage.Index(); i >= 0 {
			out[i].Entered += r.Entered
			out[i].Advanced += r.Advanced
			out[i].Forced += r.Forced
			out[i].Closed += r.Closed
		}
	}
	for i := range out {
		out[i].Open = out[i].Entered - out[i].Advanced - out[i].Closed
		out[i].Conversion = Ratio(out[i].Advanced, out[i].Entered)
	}
	return out
}

// Ratio is n ÷ d to four decimals, 0 when d is 0.
func Ratio(n, d int) float64 {
	if d == 0 {
		return 0
	}
	return math.Round(float64(n)/float64(d)*10000) / 10000
}

// Stay is one completed stay of a deal in a stage: entered with a move into the stage, left with
// a move out of it or an end.
type Stay struct {
	DealID  string
	Stage   Stage
	Entered time.Time
	Left    time.Time
}

// Interval is a span of time [From, To); a zero To is open-ended (still going on).
type Interval struct {
	From, To time.Time
}

// Overlap is how much of [from, to) iv covers.
func (iv Interval) Overlap(from, to time.Time) time.Duration {
	start, end := iv.From, iv.To
	if start.Before(from) {
		start = from
	}
	if end.IsZero() || end.After(to) {
		end = to
	}
	if !end.After(start) {
		return 0
	}
	return end.Sub(start)
}

// StageTime is the time deals spent in one stage, over their completed stays, without the time
// they were paused. Percentiles are nearest-rank (see Percentile): exact recorded values, never
// interpolated, the same on every database.
type StageTime struct {
	Stage Stage `json:"stage"`
	Stays int   `json:"stays"` // completed stays counted
	// Median (p50) and P90 of the stays' unpaused durations; zero when there are no stays.
	Median time.Duration `json:"-"`
	P90    time.Duration `json:"-"`
	// The same in hours and in days, to two decimals.
	MedianHours float64 `json:"median_hours"`
	P90Hours    float64 `json:"p90_hours"`
	MedianDays  float64 `json:"median_days"`
	P90Days     float64 `json:"p90_days"`
	// Paused is the total time paused taken out of the stays.
	PausedHours float64 `json:"paused_hours"`
}

// Percentile is the p-th percentile (0 < p ≤ 100) of sorted by the nearest-rank method: the
// value at rank ⌈p·n/100⌉ (1-based) of the n values in ascending order. The median is p = 50 (for
// an even n, the lower of the two middle values). Zero for no values.
func Percentile(sorted []time.Duration, p int) time.Duration {
	n := len(sorted)
	if n == 0 || p <= 0 {
		return 0
	}
	rank := (p*n + 99) / 100 // ⌈p·n/100⌉ in integers
	rank = min(max(rank, 1), n)
	return sorted[rank-1]
}

// StageTimes computes the time in stage of stays, taking out of each stay the time its deal was
// paused during it (paused holds each deal's paused intervals, by deal id). Every stage is
// present, in order.
func StageTimes(stays []Stay, paused map[string][]Interval) []StageTime {
	byStage := make([][]time.Duration, len(Stages))
	pausedBy := make([]time.Duration, len(Stages))
	for _, s := range stays {
		i := s.Stage.Index()
		if i < 0 || s.Left.Before(s.Entered) {
			continue
		}
		var p time.Duration
		for _, iv := range paused[s.DealID] {
			p += iv.Overlap(s.Entered, s.Left)
		}
		byStage[i] = append(byStage[i], s.Left.Sub(s.Entered)-p)
		pausedBy[i] += p
	}
	out := make([]StageTime, len(Stages))
	for i, st := range Stages {
		d := byStage[i]
		slices.Sort(d)
		med, p90 := Percentile(d, 50), Percentile(d, 90)
		out[i] = StageTime{Stage: st, Stays: len(d), Median: med, P90: p90,
			MedianHours: hours(med), P90Hours: hours(p90), MedianDays: days(med), P90Days: days(p90),
			PausedHours: hours(pausedBy[i])}
	}
	return out
}

func hours(d time.Duration) float64 { return math.Round(d.Hours()*100) / 100 }
func days(d time.Duration) float64  { return math.Round(float64(d)/float64(Day)*100) / 100 }

// Outcome counts how a set of deals fared: of Deals, Closed have an outcome that decides the sale
// (won, delivered, lost, withdrawn) and Won were won (won or delivered). Abandoned deals are not
// counted as closed: an opportunity dropped at its assessment was never pursued, and counting it
// would lower the rate of the deals that were never forced only because they never started.
type Outcome struct {
	Deals   int     `json:"deals"`
	Closed  int     `json:"closed"`
	Won     int     `json:"won"`
	WinRate float64 `json:"win_rate"` // Won ÷ Closed, to four decimals; 0 when none closed
}

// Finish computes the win rate.
func (o Outcome) Finish() Outcome {
	o.WinRate = Ratio(o.Won, o.Closed)
	return o
}

// StageForcing is the forced advances out of one stage: how many of the moves out of it were
// forced, and how the deals forced out of it fared against those that left it with the gate met.
type StageForcing struct {
	Stage      Stage   `json:"stage"`
	Advances   int     `json:"advances"` // moves out of the stage, forced or not
	Forced     int     `json:"forced"`
	ForcedRate float64 `json:"forced_rate"` // Forced ÷ Advances
	// ForcedOutcome is the later outcome of the deals forced out of the stage; UnforcedOutcome
	// that of the deals that left it with its key node reached.
	ForcedOutcome   Outcome `json:"forced_outcome"`
	UnforcedOutcome Outcome `json:"unforced_outcome"`
}

// ForcingReport shows whether forcing lowers success: the forced-advance rate of each stage and
// the win rate of forced deals (forced at least once) against the deals never forced. The period
// selects the deals opened in it (a cohort).
type ForcingReport struct {
	Stages   []StageForcing `json:"stages"` // every stage but delivery (nothing leaves it by a move), in order
	Forced   Outcome        `json:"forced"`
	Unforced Outcome        `json:"unforced"`
}

// Count is a number of deals with one value of something: a reason, a competitor.
type Count struct {
	Outcome Status `json:"outcome,omitempty"` // for a reason: lost or withdrawn
	// Code is a loss reason's code from the settings' list (Value is the code too; the UI shows its
	// label); "" for reasons in words.
	Code  string `json:"code,omitempty"`
	Value string `json:"value"`
	Count int    `json:"count"`
}

// StageLosses is why deals were lost or withdrawn in one stage, and to whom.
type StageLosses struct {
	Stage     Stage `json:"stage"`
	Lost      int   `json:"lost"`
	Withdrawn int   `json:"withdrawn"`
	// Reasons are the closings' reasons, most frequent first: by code when picked from the list,
	// else by their words regardless of case and spacing ("Price" and " price" are one, shown as
	// written most often); Competitors the
	// winning competitors named ("" when none was named is left out), most frequent first.
	Reasons     []Count `json:"reasons"`
	Competitors []Count `json:"competitors"`
}

// ClosingRow is a number of closes of deals in one stage with one outcome, reason and competitor,
// for the loss report.
type ClosingRow struct {
	Stage      Stage
	Outcome    Status
	ReasonCode string
	Reason     string
	Competitor string
	N          int
}

// Losses groups closings (lost and withdrawn; others are left out) by stage. Every stage is
// present, in order.
func Losses(rows []ClosingRow) []StageLosses {
	out := make([]StageLosses, len(Stages))
	// A reason's key: outcome, and "code:…" or "text:…" (the words folded); its words as written.
	reasons := make([]map[[2]string]int, len(Stages))
	words := make([]map[[2]string]map[string]int, len(Stages))
	comps := make([]map[string]int, len(Stages))
	for i, st := range Stages {
		out[i] = StageLosses{Stage: st, Reasons: []Count{}, Competitors: []Count{}}
		reasons[i], words[i], comps[i] = map[[2]string]int{}, map[[2]string]map[string]int{}, map[string]int{}
	}
	for _, r := range rows {
		i := r.Stage.Index()
		if i < 0 || (r.Outcome != StatusLost && r.Outcome != StatusWithdrawn) {
			continue
		}
		if r.Outcome == StatusLost {
			out[i].Lost += r.N
		} else {
			out[i].Withdrawn += r.N
		}
		key := [2]string{string(r.Outcome), "code:" + r.ReasonCode}
		if r.ReasonCode == "" || r.ReasonCode == LossOther {
			key[1] = "text:" + strings.ToLower(strings.Join(strings.Fields(r.Reason), " "))
			if words[i][key] == nil {
				words[i][key] = map[string]int{}
			}
			words[i][key][r.Reason] += r.N
		}
		reasons[i][key] += r.N
		if c := strings.TrimSpace(r.Competitor); c != "" {
			comps[i][c] += r.N
		}
	}
	for i := range out {
		for k, n := range reasons[i] {
			c := Count{Outcome: Status(k[0]), Count: n}
			if code, ok := strings.CutPrefix(k[1], "code:"); ok {
				c.Code, c.Value = code, code
			} else {
				c.Value = mostWritten(words[i][k])
			}
			out[i].Reasons = append(out[i].Reasons, c)
		}
		for k, n := range comps[i] {
			out[i].Competitors = append(out[i].Competitors, Count{Value: k, Count: n})
		}
		sortCounts(out[i].Reasons)
		sortCounts(out[i].Competitors)
	}
	return out
}

// mostWritten is the way of writing a reason used most often (the first in order of a tie).
func mostWritten(ways map[string]int) string {
	best, n := "", -1
	for w, k := range ways {
		if k > n || (k == n && w < best) {
			best, n = w, k
		}
	}
	return best
}

func sortCounts(c []Count) {
	slices.SortFunc(c, func(a, b Count) int {
		if a.Count != b.Count {
			return b.Count - a.Count
		}
		if a.Value != b.Value {
			return strings.Compare(a.Value, b.Value)
		}
		return strings.Compare(string(a.Outcome), string(b.Outcome))
	})
}

// ForecastRow is one group of the forecast in one currency: its active deals, their value and
// their weighted value (value × win probability).
type ForecastRow struct {
	// Month is the expected close month "YYYY-MM" ("" for deals without an expected close) in
	// the by-month list; Owner is the owner in the by-owner list.
	Month    string `json:"month,omitempty"`
	Owner    string `json:"owner,omitempty"`
	Currency string `json:"currency"`
	Deals    int    `json:"deals"`
	Value    Money  `json:"value"`
	// Weighted is Σ value × win probability ÷ 100 over the group, rounded half up to the minor
	// unit once, at the end: exact.
	Weighted Money `json:"weighted"`
}

// Forecast is the weighted pipeline: the active deals (open or won) by expected close month and
// by owner, and in total, per currency (amounts in different currencies are never added).
type Forecast struct {
	// AsOf is the instant the pipeline is read at: zero for now (the deals as they stand); else
	// each deal as it stood at AsOf (its latest version before it), counting the deals active then.
	AsOf    time.Time     `json:"as_of,omitzero"`
	ByMonth []ForecastRow `json:"by_month"` // by month ("" last), then currency
	ByOwner []ForecastRow `json:"by_owner"` // by owner, then currency
	Total   []ForecastRow `json:"total"`    // by currency
}

// ForecastCell is what the store sums per (currency, month, owner): deals, Σ value and
// Σ value × win probability (in percent points), exactly.
type ForecastCell struct {
	Currency    string
	Month       string
	Owner       string
	Deals       int
	Value       int64
	ValueByProb int64
}

// BuildForecast groups the cells by month, by owner and in total.
func BuildForecast(cells []ForecastCell, asOf time.Time) Forecast {
	type key struct{ month, owner, cur string }
	group := func(k func(ForecastCell) key) []ForecastRow {
		sums := map[key]*ForecastCell{}
		var keys []key
		for _, c := range cells {
			kk := k(c)
			s := sums[kk]
			if s == nil {
				s = &ForecastCell{}
				sums[kk] = s
				keys = append(keys, kk)
			}
			s.Deals += c.Deals
			s.Value += c.Value
			s.ValueByProb += c.ValueByProb
		}
		slices.SortFunc(keys, func(a, b key) int {
			if a.month != b.month {
				switch { // no month last
				case a.month == "":
					return 1
				case b.month == "":
					return -1
				}
				return strings.Compare(a.month, b.month)
			}
			if a.owner != b.owner {
				return strings.Compare(a.owner, b.owner)
			}
			return strings.Compare(a.cur, b.cur)
		})
		out := make([]ForecastRow, 0, len(keys))
		for _, kk := range keys {
			s := sums[kk]
			out = append(out, ForecastRow{Month: kk.month, Owner: kk.owner, Currency: kk.cur, Deals: s.Deals,
				Value: Money(s.Value), Weighted: Money(roundDiv(s.ValueByProb, 100))})
		}
		return out
	}
	return Forecast{
		AsOf:    asOf,
		ByMonth: group(func(c ForecastCell) key { return key{month: c.Month, cur: c.Currency} }),
		ByOwner: group(func(c ForecastCell) key { return key{owner: c.Owner, cur: c.Currency} }),
		Total:   group(func(c ForecastCell) key { return key{cur: c.Currency} }),
	}
}

// roundDiv is n ÷ d rounded half away from zero.
func roundDiv(n, d int64) int64 {
	if n < 0 {
		return -roundDiv(-n, d)
	}
	return (n + d/2) / d
}

// EndOfDay is the end of date d in loc (the first instant of the next day), the instant an as-of
// forecast of d reads the pipeline at. A nil loc is UTC.
func EndOfDay(d Date, loc *time.Location) time.Time {
	if loc == nil {
		loc = time.UTC
	}
	t := d.Time()
	if t.IsZero() {
		return time.Time{}
	}
	return time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, loc)
}

// ReportStore computes the director's reports from the recorded history. Every figure is exact.
type ReportStore interface {
	// Funnel counts, per stage, the deals that entered it in the period and what became of them.
	Funnel(ctx context.Context, f ReportFilter) ([]FunnelStage, error)
	// StageTimes is the time in stage of the stays that ended in the period, less time paused.
	StageTimes(ctx context.Context, f ReportFilter) ([]StageTime, error)
	// Forcing is the forced-advance rate per stage and the win rate of forced and unforced deals,
	// over the deals opened in the period.
	Forcing(ctx context.Context, f ReportFilter) (ForcingReport, error)
	// Losses is the reasons and winning competitors of the deals lost or withdrawn in the period,
	// by the stage they were closed in.
	Losses(ctx context.Context, f ReportFilter) ([]StageLosses, error)
	// Forecast is the weighted pipeline now (zero asOf) or as it stood at asOf; the period of f is
	// not used.
	Forecast(ctx context.Context, f ReportFilter, asOf time.Time) (Forecast, error)
}
