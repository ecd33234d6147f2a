package api

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/kamflow/kamflow"
)

// The director's reports: the stalled review, the funnel, time in stage (with forcing and losses)
// and the forecast. Each is JSON, or CSV with ?format=csv (see csv.go). Every figure comes from the
// recorded history (kamflow.ReportStore); every report shows only the deals the signed-in user may
// see.

// maxPeriods bounds a funnel split by month or quarter: three years of months.
const maxPeriods = 36

// reportQuery is what the reports' query strings say: the time zone the dates are read in, the
// period, the team and owner, and the answer's format and language.
type reportQuery struct {
	filter kamflow.ReportFilter
	loc    *time.Location
	from   kamflow.Date
	to     kamflow.Date // inclusive, as the user wrote it
	csv    bool
	zh     bool // Chinese column heads and stage names in CSV
}

// reportQuery reads tz (IANA name, default UTC), from and to (dates, to inclusive), team, owner,
// format (json or csv) and lang (zh-CN or en; default from Accept-Language).
func (s *Server) reportQuery(c echo.Context) (reportQuery, error) {
	me := s.actor(c)
	q := reportQuery{loc: time.UTC, filter: kamflow.ReportFilter{Viewer: &me, TeamID: c.QueryParam("team"), Owner: c.QueryParam("owner")}}
	if tz := c.QueryParam("tz"); tz != "" {
		loc, err := time.LoadLocation(tz)
		if err != nil || tz == "Local" {
			return q, kamflow.Errorf(kamflow.EINVALID, "tz %q is not a time zone such as Asia/Shanghai or UTC", tz).WithDetail("field", "tz")
		}
		q.loc = loc
	}
	for _, p := range []struct {
		name string
		dst  *kamflow.Date
	}{{"from", &q.from}, {"to", &q.to}} {
		if v := c.QueryParam(p.name); v != "" {
			d, err := kamflow.ParseDate(v)
			if err != nil {
				return q, kamflow.Errorf(kamflow.EINVALID, "%s must be a date such as 2026-01-31", p.name).WithDetail("field", p.name)
			}
			*p.dst = d
		}
	}
	if q.from != "" {
		q.filter.From = startOfDay(q.from, q.loc)
	}
	if q.to != "" {
		q.filter.To = kamflow.EndOfDay(q.to, q.loc)
	}
	if !q.filter.From.IsZero() && !q.filter.To.IsZero() && !q.filter.From.Before(q.filter.To) {
		return q, kamflow.Errorf(kamflow.EINVALID, "from (%s) must not be after to (%s)", q.from, q.to).WithDetail("field", "from")
	}
	switch c.QueryParam("format") {
	case "", "json":
	case "csv":
		q.csv = true
	default:
		return q, kamflow.Errorf(kamflow.EINVALID, "format must be json or csv").WithDetail("field", "format")
	}
	q.zh = wantsChinese(c)
	return q, nil
}

func startOfDay(d kamflow.Date, loc *time.Location) time.Time {
	t := d.Time()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
}

// stalledEntry is one deal in the stalled review: its card, why it is stuck (the gate items it
// still lacks) and how far up the escalation ladder it is.
type stalledEntry struct {
	dealSummary
	TeamID        string           `json:"team_id,omitempty"`
	StalledSince  *time.Time       `json:"stalled_since"`
	SLA           kamflow.Duration `json:"sla"`
	DirectorAfter float64          `json:"director_after"`
	DirectorDue   bool             `json:"director_due"`
	Missing       []string         `json:"missing"`
}

// stalledReport is the director's review of the stalled deals, filtered by stage, team and owner:
// each deal, and the counts by stage, owner and team.
func (s *Server) stalledReport(c echo.Context) error {
	q, err := s.reportQuery(c)
	if err != nil {
		return err
	}
	var stage kamflow.Stage
	if v := c.QueryParam("stage"); v != "" {
		if stage, err = kamflow.ParseStage(v); err != nil {
			return err.(*kamflow.Error).WithDetail("field", "stage")
		}
	}
	ctx := c.Request().Context()
	deals, err := s.cfg.Deals.StalledDeals(ctx, q.filter.Viewer)
	if err != nil {
		return err
	}
	esc, err := s.cfg.Escalations.Escalation(ctx)
	if err != nil {
		return err
	}
	deals = slices.DeleteFunc(deals, func(d *kamflow.Deal) bool {
		return (stage != "" && d.Stage != stage) || (q.filter.TeamID != "" && d.TeamID != q.filter.TeamID) ||
			(q.filter.Owner != "" && d.Owner != q.filter.Owner)
	})
	review := kamflow.ReviewStalled(deals, s.cfg.Now(), esc)
	byID := make(map[string]*kamflow.Deal, len(deals))
	for _, d := range deals {
		byID[d.ID] = d
	}
	items := make([]stalledEntry, 0, len(review.Entries))
	for _, en := range review.Entries {
		items = append(items, stalledEntry{dealSummary: s.summary(byID[en.DealID]), TeamID: en.TeamID, StalledSince: en.StalledSince,
			SLA: en.SLA, DirectorAfter: en.DirectorAfter, DirectorDue: en.DirectorDue, Missing: en.Missing})
	}
	if q.csv {
		return s.stalledCSV(c, q, items)
	}
	return c.JSON(http.StatusOK, map[string]any{"items": items, "total": len(items),
		"by_stage": review.ByStage, "by_owner": review.ByOwner, "by_team": review.ByTeam})
}

// funnelPeriod is the funnel of one month or quarter.
type funnelPeriod struct {
	Label  string                `json:"label"` // 2026-03, 2026-Q1
	From   kamflow.Date          `json:"from"`
	To     kamflow.Date          `json:"to"` // inclusive
	Stages []kamflow.FunnelStage `json:"stages"`
}

// funnelReport is the funnel of the deals that entered each stage in the period, and, with
// interval=month or quarter, of each month or quarter of it.
func (s *Server) funnelReport(c echo.Context) error {
	q, err := s.reportQuery(c)
	if err != nil {
		return err
	}
	interval := c.QueryParam("interval")
	var periods []funnelPeriod
	switch interval {
	case "":
	case "month", "quarter":
		if q.from == "" || q.to == "" {
			return kamflow.Errorf(kamflow.EINVALID, "interval=%s needs both from and to", interval).WithDetail("field", "interval")
		}
		if periods, err = splitPeriod(q.from, q.to, interval); err != nil {
			return err
		}
	default:
		return kamflow.Errorf(kamflow.EINVALID, "interval must be month or quarter").WithDetail("field", "interval")
	}
	ctx := c.Request().Context()
	total, err := s.cfg.Reports.Funnel(ctx, q.filter)
	if err != nil {
		return err
	}
	for i := range periods {
		f := q.filter
		f.From, f.To = startOfDay(periods[i].From, q.loc), kamflow.EndOfDay(periods[i].To, q.loc)
		if periods[i].Stages, err = s.cfg.Reports.Funnel(ctx, f); err != nil {
			return err
		}
	}
	if q.csv {
		return s.funnelCSV(c, q, total, periods)
	}
	out := map[string]any{"from": q.from, "to": q.to, "stages": total}
	if interval != "" {
		out["interval"], out["periods"] = interval, periods
	}
	return c.JSON(http.StatusOK, out)
}

// splitPeriod cuts [from, to] (dates, inclusive) at month or quarter boundaries.
func splitPeriod(from, to kamflow.Date, interval string) ([]funnelPeriod, error) {
	months := 1
	if interval == "quarter" {
		months = 3
	}
	start, end := from.Time(), to.Time()
	cur := time.Date(start.Year(), start.Month(), 1, 0, 0, 0, 0, time.UTC)
	if months == 3 {
		cur = time.Date(start.Year(), time.Month((int(start.Month())-1)/3*3+1), 1, 0, 0, 0, 0, time.UTC)
	}
	var out []funnelPeriod
	for !cur.After(end) {
		next := cur.AddDate(0, months, 0)
		p := funnelPeriod{From: kamflow.DateOf(maxTime(cur, start)), To: kamflow.DateOf(minTime(next.AddDate(0, 0, -1), end)),
			Label: cur.Format("2006-01")}
		if months == 3 {
			p.Label = fmt.Sprintf("%d-Q%d", cur.Year(), (int(cur.Month())-1)/3+1)
		}
		out = append(out, p)
		if len(out) > maxPeriods {
			return nil, kamflow.Errorf(kamflow.EINVALID, "the period holds more than %d %ss: choose a shorter period or a longer interval", maxPeriods, interval).WithDetail("field", "interval")
		}
		cur = next
	}
	return out, nil
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// stageTimesReport is the stage analytics of the period: time in stage (the stays that ended in
// it, less time paused), forcing (the deals opened in it) and losses (the deals closed in it).
func (s *Server) stageTimesReport(c echo.Context) error {
	q, err := s.reportQuery(c)
	if err != nil {
		return err
	}
	table := c.QueryParam("table")
	if !slices.Contains([]string{"", "times", "forcing", "losses"}, table) {
		return kamflow.Errorf(kamflow.EINVALID, "table must be times, forcing or losses").WithDetail("field", "table")
	}
	ctx := c.Request().Context()
	times, err := s.cfg.Reports.StageTimes(ctx, q.filter)
	if err != nil {
		return err
	}
	forcing, err := s.cfg.Reports.Forcing(ctx, q.filter)
	if err != nil {
		return err
	}
	losses, err := s.cfg.Reports.Losses(ctx, q.filter)
	if err != nil {
		return err
	}
	if q.csv {
		switch table {
		case "forcing":
			return s.forcingCSV(c, q, forcing)
		case "losses":
			return s.lossesCSV(c, q, losses)
		}
		return s.stageTimesCSV(c, q, times)
	}
	return c.JSON(http.StatusOK, map[string]any{"from": q.from, "to": q.to, "stages": times, "forcing": forcing, "losses": losses})
}

// forecastReport is the weighted pipeline now, or with as_of as it stood at the end of that day
// (in tz).
func (s *Server) forecastReport(c echo.Context) error {
	q, err := s.reportQuery(c)
	if err != nil {
		return err
	}
	if q.from != "" || q.to != "" {
		return kamflow.Errorf(kamflow.EINVALID, "the forecast has no period: use as_of for the pipeline as it stood on a date").WithDetail("field", "from")
	}
	var asOf time.Time
	var asOfDate kamflow.Date
	if v := c.QueryParam("as_of"); v != "" {
		if asOfDate, err = kamflow.ParseDate(v); err != nil {
			return kamflow.Errorf(kamflow.EINVALID, "as_of must be a date such as 2026-01-31").WithDetail("field", "as_of")
		}
		asOf = kamflow.EndOfDay(asOfDate, q.loc)
		if asOf.After(s.cfg.Now()) {
			return kamflow.Errorf(kamflow.EINVALID, "as_of %s has not ended yet: leave it out for the pipeline as it stands", asOfDate).WithDetail("field", "as_of")
		}
	}
	f, err := s.cfg.Reports.Forecast(c.Request().Context(), q.filter, asOf)
	if err != nil {
		return err
	}
	if q.csv {
		return s.forecastCSV(c, q, asOfDate, f)
	}
	out := map[string]any{"by_month": f.ByMonth, "by_owner": f.ByOwner, "total": f.Total}
	if asOfDate != "" {
		out["as_of_date"], out["as_of"] = asOfDate, f.AsOf
	}
	return c.JSON(http.StatusOK, out)
}

// num writes a figure for CSV, as short as it reads exactly.
func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
