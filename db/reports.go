package db

import (
	"context"
	"fmt"
	"time"

	"github.com/kamflow/kamflow"
)

// The reports read the stage history (stage_transitions) and the deals' versions (deal_versions);
// see kamflow.ReportStore. The same statements run on both dialects. What needs arithmetic on
// times (time in stage less time paused, percentiles) is done in Go on the exact recorded
// instants, so that both dialects give the same answer to the microsecond.
//
// The kinds of transition, as SQL lists. The partial indexes of migration 0004 have the same
// lists in their WHERE, which SQLite needs to see in a query to use them.
const (
	// entryKinds are the moves into a stage (to_stage): development by created.
	entryKinds = "IN ('created', 'advanced', 'forced')"
	// closedStatuses decide a sale (abandoned is left out: see kamflow.Outcome); wonStatuses won it.
	closedStatuses = "IN ('won', 'delivered', 'lost', 'withdrawn')"
	wonStatuses    = "IN ('won', 'delivered')"
)

// reportScope is the join to deals and the conditions on it that the viewer, team and owner of f
// need; no join when f selects every deal. dealID is the column of the deal's id in the rows.
func reportScope(f kamflow.ReportFilter, dealID string) (join string, w where) {
	dealVisibleTo(&w, f.Viewer)
	if f.TeamID != "" {
		w.add("deals.team_id = ?", f.TeamID)
	}
	if f.Owner != "" {
		w.add("deals.owner = ?", f.Owner)
	}
	if len(w.conds) > 0 {
		join = " JOIN deals ON deals.id = " + dealID
	}
	return join, w
}

// period adds the conditions of f's period on col.
func period(w *where, f kamflow.ReportFilter, col string) {
	if !f.From.IsZero() {
		w.add(col+" >= ?", ts(f.From))
	}
	if !f.To.IsZero() {
		w.add(col+" < ?", ts(f.To))
	}
}

// Funnel counts, per stage, the deals that entered it in the period [f.From, f.To), and of those
// how many have left it by a move to the next stage (delivery: by the delivery), how many of those
// moves were forced, and how many were closed in it: one pass over the period's transitions into
// a stage, each of which carries how the stay it began ended (exit_kind, kept by Project).
//
// With no period at all, the deals alone answer: a deal enters the stages one after the other and
// never goes back, so a deal now in stage k entered stages 0..k, moved on from 0..k-1 (and from k
// if delivered), and was closed in k if lost, withdrawn or abandoned.
func (d *DB) Funnel(ctx context.Context, f kamflow.ReportFilter) ([]kamflow.FunnelStage, error) {
	if f.From.IsZero() && f.To.IsZero() {
		return d.funnelAllTime(ctx, f)
	}
	join, w := reportScope(f, "e.deal_id")
	w.add("e.kind " + entryKinds)
	period(&w, f, "e.at")
	var rows []kamflow.FunnelStage
	err := d.r.WithContext(ctx).Raw(`SELECT e.to_stage AS stage, count(*) AS entered,
		sum(CASE WHEN e.exit_kind IN ('advanced', 'forced', 'delivered') THEN 1 ELSE 0 END) AS advanced,
		sum(CASE WHEN e.exit_kind = 'forced' THEN 1 ELSE 0 END) AS forced,
		sum(CASE WHEN e.exit_kind = 'closed' THEN 1 ELSE 0 END) AS closed
		FROM stage_transitions e`+join+w.String()+" GROUP BY e.to_stage", w.args...).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("db: funnel: %w", err)
	}
	return kamflow.Funnel(rows), nil
}

// funnelAllTime is the funnel of every deal ever: a deal now in stage k entered stages 0..k, moved
// on from 0..k-1 (and from k if delivered), and was closed in k if lost, withdrawn or abandoned.
func (d *DB) funnelAllTime(ctx context.Context, f kamflow.ReportFilter) ([]kamflow.FunnelStage, error) {
	db := d.r.WithContext(ctx)
	var w where
	dealVisibleTo(&w, f.Viewer)
	if f.TeamID != "" {
		w.add("deals.team_id = ?", f.TeamID)
	}
	if f.Owner != "" {
		w.add("deals.owner = ?", f.Owner)
	}
	var deals []struct {
		Stage  string
		Status string
		N      int
	}
	err := db.Raw("SELECT deals.stage, deals.status, count(*) AS n FROM deals"+w.String()+" GROUP BY deals.stage, deals.status", w.args...).
		Scan(&deals).Error
	if err != nil {
		return nil, fmt.Errorf("db: funnel: %w", err)
	}
	var rows []kamflow.FunnelStage
	for _, x := range deals {
		k := kamflow.Stage(x.Stage).Index()
		status := kamflow.Status(x.Status)
		for i := 0; i <= k; i++ {
			r := kamflow.FunnelStage{Stage: kamflow.Stages[i], Entered: x.N}
			switch {
			case i < k || status == kamflow.StatusDelivered:
				r.Advanced = x.N
			case status.Final():
				r.Closed = x.N
			}
			rows = append(rows, r)
		}
	}
	join, fw := reportScope(f, "f.deal_id")
	fw.add("f.kind = 'forced'")
	var forced []kamflow.FunnelStage
	err = db.Raw("SELECT f.from_stage AS stage, count(*) AS forced FROM stage_transitions f"+join+fw.String()+" GROUP BY f.from_stage", fw.args...).
		Scan(&forced).Error
	if err != nil {
		return nil, fmt.Errorf("db: funnel: forced moves: %w", err)
	}
	return kamflow.Funnel(append(rows, forced...)), nil
}

// StageTimes is the time in stage of the stays that ended in the period: from the move into the
// stage to the way out of it (kept on the move in as exit_at), less the time the deal was paused
// meanwhile. A deal is paused from each version of it with paused set until its next version (the
// resume, or the change that ended the pause).
func (d *DB) StageTimes(ctx context.Context, f kamflow.ReportFilter) ([]kamflow.StageTime, error) {
	db := d.r.WithContext(ctx)
	join, w := reportScope(f, "e.deal_id")
	w.add("e.kind " + entryKinds)
	w.add("e.exit_at IS NOT NULL")
	period(&w, f, "e.exit_at")
	// Scanned by hand rather than by GORM: a year holds hundreds of thousands of stays.
	rows, err := db.Raw(`SELECT e.deal_id, e.to_stage, e.at, e.exit_at FROM stage_transitions e`+join+w.String(), w.args...).Rows()
	if err != nil {
		return nil, fmt.Errorf("db: time in stage: %w", err)
	}
	defer rows.Close()
	var stays []kamflow.Stay
	for rows.Next() {
		var s kamflow.Stay
		if err := rows.Scan(&s.DealID, &s.Stage, &s.Entered, &s.Left); err != nil {
			return nil, fmt.Errorf("db: time in stage: %w", err)
		}
		s.Entered, s.Left = utc(s.Entered), utc(s.Left)
		stays = append(stays, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("db: time in stage: %w", err)
	}
	pjoin, pw := reportScope(f, "v.deal_id")
	pw.add("v.paused")
	var pauses []struct {
		DealID string
		FromAt time.Time
		ToAt   *time.Time
	}
	err = db.Raw(`SELECT v.deal_id, v.at AS from_at,
		(SELECT n.at FROM deal_versions n WHERE n.deal_id = v.deal_id AND n.seq > v.seq ORDER BY n.seq LIMIT 1) AS to_at
		FROM deal_versions v`+pjoin+pw.String(), pw.args...).Scan(&pauses).Error
	if err != nil {
		return nil, fmt.Errorf("db: time in stage: paused versions: %w", err)
	}
	paused := map[string][]kamflow.Interval{}
	for _, p := range pauses {
		iv := kamflow.Interval{From: utc(p.FromAt)}
		if p.ToAt != nil {
			iv.To = utc(*p.ToAt)
		}
		paused[p.DealID] = append(paused[p.DealID], iv)
	}
	return kamflow.StageTimes(stays, paused), nil
}

// Forcing counts, over the deals opened in the period, the moves out of each stage and how many
// were forced, and how the deals fared: per stage, the deals forced out of it against those that
// left it with the key node reached; overall, the deals forced at least once against the others.
func (d *DB) Forcing(ctx context.Context, f kamflow.ReportFilter) (kamflow.ForcingReport, error) {
	db := d.r.WithContext(ctx)
	var w where
	dealVisibleTo(&w, f.Viewer)
	if f.TeamID != "" {
		w.add("deals.team_id = ?", f.TeamID)
	}
	if f.Owner != "" {
		w.add("deals.owner = ?", f.Owner)
	}
	period(&w, f, "deals.created_at")
	sw := where{conds: append([]string{"t.kind IN ('advanced', 'forced')"}, w.conds...), args: w.args}
	var stages []struct {
		Stage          string
		Advances       int
		Forced         int
		ForcedClosed   int
		ForcedWon      int
		UnforcedClosed int
		UnforcedWon    int
	}
	err := db.Raw(`SELECT t.from_stage AS stage, count(*) AS advances,
		sum(CASE WHEN t.kind = 'forced' THEN 1 ELSE 0 END) AS forced,
		sum(CASE WHEN t.kind = 'forced' AND deals.status `+closedStatuses+` THEN 1 ELSE 0 END) AS forced_closed,
		sum(CASE WHEN t.kind = 'forced' AND deals.status `+wonStatuses+` THEN 1 ELSE 0 END) AS forced_won,
		sum(CASE WHEN t.kind = 'advanced' AND deals.status `+closedStatuses+` THEN 1 ELSE 0 END) AS unforced_closed,
		sum(CASE WHEN t.kind = 'advanced' AND deals.status `+wonStatuses+` THEN 1 ELSE 0 END) AS unforced_won
		FROM stage_transitions t JOIN deals ON deals.id = t.deal_id`+sw.String()+" GROUP BY t.from_stage", sw.args...).
		Scan(&stages).Error
	if err != nil {
		return kamflow.ForcingReport{}, fmt.Errorf("db: forcing by stage: %w", err)
	}
	var overall []struct {
		Forced bool
		Deals  int
		Closed int
		Won    int
	}
	err = db.Raw(`SELECT deals.forced, count(*) AS deals,
		sum(CASE WHEN deals.status `+closedStatuses+` THEN 1 ELSE 0 END) AS closed,
		sum(CASE WHEN deals.status `+wonStatuses+` THEN 1 ELSE 0 END) AS won
		FROM deals`+w.String()+" GROUP BY deals.forced", w.args...).Scan(&overall).Error
	if err != nil {
		return kamflow.ForcingReport{}, fmt.Errorf("db: forcing: %w", err)
	}
	var r kamflow.ForcingReport
	for _, st := range kamflow.Stages[:len(kamflow.Stages)-1] {
		r.Stages = append(r.Stages, kamflow.StageForcing{Stage: st})
	}
	for _, s := range stages {
		i := kamflow.Stage(s.Stage).Index()
		if i < 0 || i >= len(r.Stages) {
			continue
		}
		r.Stages[i] = kamflow.StageForcing{
			Stage: kamflow.Stage(s.Stage), Advances: s.Advances, Forced: s.Forced, ForcedRate: kamflow.Ratio(s.Forced, s.Advances),
			ForcedOutcome:   kamflow.Outcome{Deals: s.Forced, Closed: s.ForcedClosed, Won: s.ForcedWon}.Finish(),
			UnforcedOutcome: kamflow.Outcome{Deals: s.Advances - s.Forced, Closed: s.UnforcedClosed, Won: s.UnforcedWon}.Finish(),
		}
	}
	for _, o := range overall {
		out := kamflow.Outcome{Deals: o.Deals, Closed: o.Closed, Won: o.Won}.Finish()
		if o.Forced {
			r.Forced = out
		} else {
			r.Unforced = out
		}
	}
	return r, nil
}

// Losses groups the deals lost or withdrawn in the period (by their closed transition) by the
// stage they were closed in, their reason and the competitor named.
func (d *DB) Losses(ctx context.Context, f kamflow.ReportFilter) ([]kamflow.StageLosses, error) {
	join, w := reportScope(f, "t.deal_id")
	w.add("t.kind = 'closed'")
	w.add("t.status IN ('lost', 'withdrawn')")
	period(&w, f, "t.at")
	var rows []struct {
		Stage      string
		Outcome    string
		ReasonCode string
		Reason     string
		Competitor string
		N          int
	}
	err := d.r.WithContext(ctx).Raw(`SELECT t.from_stage AS stage, t.status AS outcome, t.reason_code, t.reason, t.competitor, count(*) AS n
		FROM stage_transitions t`+join+w.String()+" GROUP BY t.from_stage, t.status, t.reason_code, t.reason, t.competitor", w.args...).
		Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("db: losses: %w", err)
	}
	out := make([]kamflow.ClosingRow, len(rows))
	for i, r := range rows {
		out[i] = kamflow.ClosingRow{Stage: kamflow.Stage(r.Stage), Outcome: kamflow.Status(r.Outcome), ReasonCode: r.ReasonCode, Reason: r.Reason,
			Competitor: r.Competitor, N: r.N}
	}
	return kamflow.Losses(out), nil
}

// Forecast sums the active deals' value and value × win probability by currency, expected close
// month and owner. With a zero asOf it reads the deals as they stand; otherwise each deal's latest
// version before asOf, counting the deals that were active then (and existed: a deal opened later
// has no such version). In an as-of forecast f's team and owner are those of the version (the
// deal's team and owner then); the viewer's visibility is of the deal now.
func (d *DB) Forecast(ctx context.Context, f kamflow.ReportFilter, asOf time.Time) (kamflow.Forecast, error) {
	var (
		q    string
		w    where
		rows []kamflow.ForecastCell
	)
	dealVisibleTo(&w, f.Viewer)
	if asOf.IsZero() {
		if f.TeamID != "" {
			w.add("deals.team_id = ?", f.TeamID)
		}
		if f.Owner != "" {
			w.add("deals.owner = ?", f.Owner)
		}
		w.add("deals.status " + activeIn)
		q = `SELECT deals.currency, substr(deals.expected_close, 1, 7) AS month, deals.owner, count(*) AS deals,
			sum(deals.value) AS value, sum(deals.value * deals.win_probability) AS value_by_prob
			FROM deals` + w.String() + " GROUP BY deals.currency, substr(deals.expected_close, 1, 7), deals.owner"
	} else {
		join := ""
		if len(w.conds) > 0 {
			join = " JOIN deals ON deals.id = v.deal_id"
		}
		if f.TeamID != "" {
			w.add("v.team_id = ?", f.TeamID)
		}
		if f.Owner != "" {
			w.add("v.owner = ?", f.Owner)
		}
		w.add("v.status " + activeIn)
		q = `SELECT v.currency, substr(v.expected_close, 1, 7) AS month, v.owner, count(*) AS deals,
			sum(v.value) AS value, sum(v.value * v.win_probability) AS value_by_prob
			FROM (SELECT deal_id, max(seq) AS seq FROM deal_versions WHERE at < ? GROUP BY deal_id) latest
			JOIN deal_versions v ON v.deal_id = latest.deal_id AND v.seq = latest.seq` + join + w.String() +
			" GROUP BY v.currency, substr(v.expected_close, 1, 7), v.owner"
		w.args = append([]any{ts(asOf)}, w.args...)
	}
	if err := d.r.WithContext(ctx).Raw(q, w.args...).Scan(&rows).Error; err != nil {
		return kamflow.Forecast{}, fmt.Errorf("db: forecast: %w", err)
	}
	if !asOf.IsZero() {
		asOf = ts(asOf)
	}
	return kamflow.BuildForecast(rows, asOf), nil
}
