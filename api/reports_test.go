package api_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/db"
	"github.com/kamflow/kamflow/db/dbtest"
)

// seedReports records a small history with known answers, each change at its own time:
//
//	alpha  kam1 (east) 1,000,000.00  created T0, assessed T0+2d, entry T0+10d, proposal T0+20d
//	beta   kam2 (east) 2,000,000.00  created T0, assessment failed T0+1d, forced to entry by d1
//	                                 T0+4d, lost in entry T0+6d ("价格太高", to Siemens)
//	gamma  kam3 (west)   500,000.00  created T0+1d, stays in development: stalled at T0+31d
//
// and leaves the clock at T0+40d. It records the deals' win probabilities as of the end of
// 2026-03-05 (T0+3d) under "p:<name>", for the as-of forecast.
func seedReports(t *testing.T, e *testEnv) {
	t.Helper()
	at := func(days int) { e.clock.Set(T0.Add(time.Duration(days) * kamflow.Day)) }
	deal := func(name, acct, owner, title, value string) string {
		body := fmt.Sprintf(`{"account_id":"{%s}","title":%q,"value":%q,"currency":"CNY"}`, acct, title, value)
		e.vars[name] = e.must(201, "POST", "/api/v1/deals", owner, body)["id"].(string)
		return "/api/v1/deals/" + e.vars[name]
	}
	e.vars["east"] = e.must(201, "POST", "/api/v1/accounts", "kam1", `{"name":"Baowu Steel Zhanjiang"}`)["id"].(string)
	e.vars["west"] = e.must(201, "POST", "/api/v1/accounts", "kam3", `{"name":"Xinjiang Zhongtai Chemical"}`)["id"].(string)
	at(0)
	alpha := deal("alpha", "east", "kam1", "Alpha radar gauging", "1000000.00")
	beta := deal("beta", "east", "kam2", `=HYPERLINK("http://evil.example","Beta")`, "2000000.00")
	at(1)
	e.must(200, "PUT", beta+"/assessment", "kam2", assessFail)
	gamma := deal("gamma", "west", "kam3", "=1+2 Gamma analysers", "500000.00")
	at(2)
	e.must(200, "PUT", alpha+"/assessment", "kam1", assessPass)
	at(3)
	for _, d := range []struct{ name, path, as string }{{"alpha", alpha, "kam1"}, {"beta", beta, "kam2"}} {
		e.vars["p:"+d.name] = fmt.Sprint(e.must(200, "GET", d.path, d.as, "")["win_probability"])
	}
	at(4)
	e.must(200, "POST", beta+"/advance", "d1", `{"force":true,"reason":"The customer's board asked us to bid anyway"}`)
	at(6)
	e.must(200, "POST", beta+"/close", "kam2", `{"outcome":"lost","reason":"价格太高","competitor":"Siemens"}`)
	at(10)
	e.must(200, "POST", alpha+"/advance", "kam1", "")
	at(12)
	e.must(200, "POST", alpha+"/stakeholders", "kam1", insider)
	e.must(200, "POST", alpha+"/stakeholders", "kam1", decider)
	at(20)
	e.must(200, "POST", alpha+"/advance", "kam1", "")
	e.vars["p:alpha:now"] = fmt.Sprint(e.must(200, "GET", alpha, "kam1", "")["win_probability"])
	at(31)
	if err := e.svc.runTimers(t.Context()); err != nil {
		t.Fatal(err)
	}
	at(40)
	if d := e.must(200, "GET", gamma, "kam3", ""); d["stalled"] != true {
		t.Fatalf("gamma is not stalled: %v", d)
	}
}

// weighted is value × p ÷ 100 for a value in yuan and a win probability in percent, as a Money
// string: exact, in fen, rounded half up.
func weighted(yuan int64, p ...string) string {
	var fen int64
	for _, s := range p {
		var n int64
		fmt.Sscan(s, &n)
		fen += yuan * 100 * n
	}
	return kamflow.Money((fen + 50) / 100).String()
}

func TestReports(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		seedReports(t, e)
		for _, sc := range reportsScenarios(e) {
			t.Run(sc.name, func(t *testing.T) { e.run(t, sc) })
		}
	})
}

func reportsScenarios(e *testEnv) []scenario {
	bad := func(name, path, field string) scenario {
		return scenario{name: name, method: "GET", path: path, as: "d1", status: 400, code: "invalid",
			want: map[string]any{"error.details.field": field}}
	}
	settings := func(name, stage, body string, status int, code string, want map[string]any) scenario {
		return scenario{name: name, method: "PUT", path: "/api/v1/settings/stages/" + stage, as: "admin",
			body: body, status: status, code: code, want: want}
	}
	stage := func(i int, entered, advanced, forced, closed, open int, conv float64) map[string]any {
		p := fmt.Sprintf("stages.%d.", i)
		return map[string]any{p + "entered": entered, p + "advanced": advanced, p + "forced": forced,
			p + "closed": closed, p + "open": open, p + "conversion": conv}
	}
	merge := func(ms ...map[string]any) map[string]any {
		out := map[string]any{}
		for _, m := range ms {
			for k, v := range m {
				out[k] = v
			}
		}
		return out
	}
	return []scenario{
		// The funnel of all time, as d1 (team east: alpha and beta).
		{name: "funnel of all time", method: "GET", path: "/api/v1/reports/funnel", as: "d1", status: 200,
			want: merge(map[string]any{"stages": length(6), "stages.0.stage": "development", "from": "", "to": ""},
				stage(0, 2, 2, 1, 0, 0, 1), stage(1, 2, 1, 0, 1, 0, 0.5), stage(2, 1, 0, 0, 0, 1, 0), stage(3, 0, 0, 0, 0, 0, 0))},
		{name: "funnel of a KAM of the other team", method: "GET", path: "/api/v1/reports/funnel", as: "kam3", status: 200,
			want: merge(stage(0, 1, 0, 0, 0, 1, 0), stage(1, 0, 0, 0, 0, 0, 0))},
		{name: "funnel of one owner", method: "GET", path: "/api/v1/reports/funnel?owner=kam2", as: "d1", status: 200,
			want: merge(stage(0, 1, 1, 1, 0, 0, 1), stage(1, 1, 0, 0, 1, 0, 0), stage(2, 0, 0, 0, 0, 0, 0))},
		{name: "funnel of a period", method: "GET", path: "/api/v1/reports/funnel?from=2026-03-12&to=2026-03-31", as: "d1", status: 200,
			want: merge(map[string]any{"from": "2026-03-12", "to": "2026-03-31"}, stage(0, 0, 0, 0, 0, 0, 0), stage(1, 1, 1, 0, 0, 0, 1), stage(2, 1, 0, 0, 0, 1, 0))},
		// alpha reached proposal at 2026-03-22 09:00 UTC: 17:00 in Shanghai, on the 22nd; 02:00 on the 22nd in Los Angeles.
		{name: "funnel period ends in the time zone", method: "GET", path: "/api/v1/reports/funnel?from=2026-03-12&to=2026-03-21&tz=Asia/Shanghai", as: "d1", status: 200,
			want: merge(stage(1, 1, 1, 0, 0, 0, 1), stage(2, 0, 0, 0, 0, 0, 0))},
		{name: "funnel period in another time zone", method: "GET", path: "/api/v1/reports/funnel?from=2026-03-22&to=2026-03-22&tz=America/Los_Angeles", as: "d1", status: 200,
			want: merge(stage(1, 0, 0, 0, 0, 0, 0), stage(2, 1, 0, 0, 0, 1, 0))},
		{name: "funnel by month", method: "GET", path: "/api/v1/reports/funnel?from=2026-03-01&to=2026-04-30&interval=month", as: "d1", status: 200,
			want: map[string]any{"interval": "month", "periods": length(2), "periods.0.label": "2026-03", "periods.0.from": "2026-03-01",
				"periods.0.to": "2026-03-31", "periods.0.stages.0.entered": 2, "periods.0.stages.1.entered": 2, "periods.0.stages.2.entered": 1,
				"periods.1.label": "2026-04", "periods.1.to": "2026-04-30", "periods.1.stages.0.entered": 0, "stages.0.entered": 2}},
		{name: "funnel by quarter", method: "GET", path: "/api/v1/reports/funnel?from=2026-02-15&to=2026-07-01&interval=quarter", as: "d1", status: 200,
			want: map[string]any{"periods": length(3), "periods.0.label": "2026-Q1", "periods.0.from": "2026-02-15", "periods.0.to": "2026-03-31",
				"periods.1.label": "2026-Q2", "periods.2.label": "2026-Q3", "periods.2.to": "2026-07-01", "periods.0.stages.0.entered": 2}},
		{name: "funnel as CSV", method: "GET", path: "/api/v1/reports/funnel?format=csv", as: "d1", status: 200,
			header: map[string]string{"Content-Type": "text/csv; charset=utf-8", "Content-Disposition": `attachment; filename="kamflow-funnel.csv"`},
			check: csvIs([][]string{
				{"period", "stage", "entered", "advanced", "forced", "closed", "open", "conversion"},
				{"all", "development", "2", "2", "1", "0", "0", "1"},
				{"all", "entry", "2", "1", "0", "1", "0", "0.5"},
				{"all", "proposal", "1", "0", "0", "0", "1", "0"},
				{"all", "bid", "0", "0", "0", "0", "0", "0"},
				{"all", "negotiation", "0", "0", "0", "0", "0", "0"},
				{"all", "delivery", "0", "0", "0", "0", "0", "0"},
			})},
		{name: "funnel as CSV in Chinese", method: "GET", path: "/api/v1/reports/funnel?format=csv", as: "d1", status: 200,
			headers: map[string]string{"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"},
			check:   csvStarts([]string{"期间", "阶段", "进入", "推进", "强推", "关闭", "在途", "转化率"}, []string{"全部", "开发", "2", "2", "1", "0", "0", "1"})},

		// Time in stage, forcing and losses.
		{name: "stage times", method: "GET", path: "/api/v1/reports/stage-times", as: "d1", status: 200,
			want: map[string]any{"stages": length(6),
				"stages.0.stays": 2, "stages.0.median_days": 4, "stages.0.p90_days": 10, "stages.0.median_hours": 96, "stages.0.paused_hours": 0,
				"stages.1.stays": 2, "stages.1.median_days": 2, "stages.1.p90_days": 10,
				"stages.2.stays": 0, "stages.2.median_days": 0,
				"forcing.stages": length(5), "forcing.stages.0.advances": 2, "forcing.stages.0.forced": 1, "forcing.stages.0.forced_rate": 0.5,
				"forcing.stages.0.forced_outcome.closed": 1, "forcing.stages.0.forced_outcome.won": 0,
				"forcing.forced.deals": 1, "forcing.forced.closed": 1, "forcing.forced.win_rate": 0,
				"forcing.unforced.deals": 1, "forcing.unforced.closed": 0,
				"losses": length(6), "losses.1.stage": "entry", "losses.1.lost": 1, "losses.1.withdrawn": 0,
				"losses.1.reasons.0.value": "价格太高", "losses.1.reasons.0.outcome": "lost", "losses.1.reasons.0.count": 1,
				"losses.1.competitors.0.value": "Siemens", "losses.0.lost": 0, "losses.0.reasons": length(0)}},
		{name: "stage times of a period with no stay ending", method: "GET", path: "/api/v1/reports/stage-times?from=2026-03-23", as: "d1", status: 200,
			want: map[string]any{"stages.0.stays": 0, "stages.1.stays": 0, "losses.1.lost": 0, "forcing.forced.deals": 0}},
		{name: "stage times as CSV", method: "GET", path: "/api/v1/reports/stage-times?format=csv&lang=en", as: "d1", status: 200,
			check: csvStarts([]string{"stage", "stays", "median_days", "p90_days", "median_hours", "p90_hours", "paused_hours"},
				[]string{"development", "2", "4", "10", "96", "240", "0"})},
		{name: "losses as CSV", method: "GET", path: "/api/v1/reports/stage-times?format=csv&table=losses&lang=zh-CN", as: "d1", status: 200,
			check: csvIs([][]string{{"阶段", "类别", "结果", "内容", "数量"}, {"切入", "原因", "丢单", "价格太高", "1"}, {"切入", "赢单对手", "", "Siemens", "1"}})},
		{name: "forcing as CSV", method: "GET", path: "/api/v1/reports/stage-times?format=csv&table=forcing", as: "d1", status: 200,
			check: csvStarts([]string{"stage", "advances", "forced", "forced_rate", "forced_closed", "forced_won", "forced_win_rate", "unforced_closed", "unforced_won", "unforced_win_rate"},
				[]string{"development", "2", "1", "0.5", "1", "0", "0", "0", "0", "0"})},

		// The forecast now: alpha alone is active in east.
		{name: "forecast now", method: "GET", path: "/api/v1/reports/forecast", as: "d1", status: 200,
			want: map[string]any{"as_of": absent, "as_of_date": absent, "total": length(1), "total.0.currency": "CNY", "total.0.deals": 1,
				"total.0.value": "1000000.00", "total.0.weighted": weighted(1000000, e.vars["p:alpha:now"]),
				"by_month": length(1), "by_month.0.month": "2026-07", "by_owner.0.owner": "kam1"}},
		// As it stood at the end of 2026-03-05: alpha assessed, beta not yet forced nor lost.
		{name: "forecast as of a past date", method: "GET", path: "/api/v1/reports/forecast?as_of=2026-03-05", as: "d1", status: 200,
			want: map[string]any{"as_of_date": "2026-03-05", "as_of": "2026-03-06T00:00:00Z", "total.0.deals": 2, "total.0.value": "3000000.00",
				"by_owner": length(2), "by_owner.0.owner": "kam1", "by_owner.1.owner": "kam2",
				"by_owner.1.weighted": weighted(2000000, e.vars["p:beta"])},
			check: func(t *testing.T, e *testEnv, r *response) {
				// The total is one rounding of the sum, which here equals the sum of the parts' roundings.
				got, _ := lookup(r.json, "total.0.weighted")
				a, b := mustMoney(t, weighted(1000000, e.vars["p:alpha"])), mustMoney(t, weighted(2000000, e.vars["p:beta"]))
				if got != (a + b).String() {
					t.Errorf("weighted total %v, want %s", got, (a + b).String())
				}
			}},
		{name: "forecast as of before anything", method: "GET", path: "/api/v1/reports/forecast?as_of=2026-03-01&tz=Asia/Shanghai", as: "d1", status: 200,
			want: map[string]any{"as_of": "2026-03-01T16:00:00Z", "total": length(0), "by_month": length(0), "by_owner": length(0)}},
		{name: "forecast as CSV", method: "GET", path: "/api/v1/reports/forecast?format=csv&as_of=2026-03-05", as: "d1", status: 200,
			check: csvStarts([]string{"as_of", "group", "key", "currency", "deals", "value", "weighted"},
				[]string{"2026-03-05", "month", "2026-07", "CNY", "1", "1000000.00", weighted(1000000, e.vars["p:alpha"])})},

		// The stalled review: gamma, in west.
		{name: "stalled review of the west", method: "GET", path: "/api/v1/reports/stalled", as: "d2", status: 200,
			want: map[string]any{"total": 1, "items.0.id": "{gamma}", "items.0.team_id": "west", "items.0.owner": "kam3",
				"items.0.sla": "30d", "items.0.days_over_sla": 9, "items.0.director_after": 2, "items.0.director_due": false,
				"items.0.missing": []string{"assessment_passed", "graded"},
				"by_stage":        length(6), "by_stage.0.key": "development", "by_stage.0.deals": 1, "by_stage.1.deals": 0,
				"by_owner": length(1), "by_owner.0.key": "kam3", "by_owner.0.max_days_over_sla": 9, "by_team.0.key": "west"}},
		{name: "stalled review of the east", method: "GET", path: "/api/v1/reports/stalled", as: "d1", status: 200,
			want: map[string]any{"total": 0, "items": length(0), "by_owner": length(0), "by_stage": length(6)}},
		{name: "stalled review of another stage", method: "GET", path: "/api/v1/reports/stalled?stage=bid", as: "d2", status: 200,
			want: map[string]any{"total": 0}},
		{name: "stalled review as CSV guards formulas", method: "GET", path: "/api/v1/reports/stalled?format=csv", as: "d2", status: 200,
			check: func(t *testing.T, e *testEnv, r *response) {
				rows := readCSV(t, r.body)
				if len(rows) != 2 || rows[1][1] != "'=1+2 Gamma analysers" || rows[1][10] != "9" || rows[1][12] != "assessment_passed graded" {
					t.Errorf("stalled CSV %q", rows)
				}
			}},

		// The escalation ladder, set for the stage and then for the team.
		settings("director's rung of a stage", "development", `{"director_after":1.2}`, 200, "",
			map[string]any{"stage": "development", "sla": "30d", "director_after": 1.2, "teams": length(0)}),
		{name: "director's rung reached the review", method: "GET", path: "/api/v1/reports/stalled", as: "d2", status: 200,
			want: map[string]any{"items.0.director_after": 1.2, "items.0.director_due": true, "by_stage.0.director_due": 1}},
		settings("team's SLA", "development", `{"team":"west","sla":"45d"}`, 200, "",
			map[string]any{"sla": "30d", "teams.west.sla": "45d", "teams.west.director_after": absent}),
		{name: "team's SLA reached its deal", method: "GET", path: "/api/v1/deals/{gamma}", as: "kam3", status: 200,
			want: map[string]any{"stage_sla": "45d", "stalled": false}},
		{name: "team's SLA left the other team alone", method: "GET", path: "/api/v1/settings", as: "d1", status: 200,
			want: map[string]any{"sla.development": "30d", "escalation.stages.development.director_after": 1.2,
				"escalation.teams.west.development.sla": "45d"}},
		settings("team's rung", "development", `{"team":"west","director_after":3}`, 200, "",
			map[string]any{"teams.west.sla": "45d", "teams.west.director_after": 3}),
		settings("team's override removed", "development", `{"team":"west","reset":true}`, 200, "",
			map[string]any{"teams": length(0)}),
		{name: "the stage's SLA back on the team's deal", method: "GET", path: "/api/v1/deals/{gamma}", as: "kam3", status: 200,
			want: map[string]any{"stage_sla": "30d"}},
		settings("director's rung back to the default", "development", `{"director_after":0}`, 200, "",
			map[string]any{"director_after": 2}),
		settings("rung below the SLA", "development", `{"director_after":0.5}`, 400, "invalid", map[string]any{"error.details.field": "director_after"}),
		settings("rung too far", "development", `{"director_after":21}`, 400, "invalid", map[string]any{"error.details.field": "director_after"}),
		settings("rung as text", "development", `{"director_after":"2"}`, 400, "invalid", nil),
		settings("unknown team", "development", `{"team":"mars","sla":"10d"}`, 400, "invalid", map[string]any{"error.details.field": "team"}),
		settings("reset without a team", "development", `{"reset":true}`, 400, "invalid", map[string]any{"error.details.field": "team"}),
		settings("reset with an SLA", "development", `{"team":"west","reset":true,"sla":"3d"}`, 400, "invalid", map[string]any{"error.details.field": "reset"}),
		settings("negative team SLA", "development", `{"team":"west","sla":"-3d"}`, 400, "invalid", nil),
		{name: "the ladder's changes are audited", method: "GET", path: "/api/v1/audit?entity_type=settings", as: "admin", status: 200,
			contains: []string{"Escalation of the development stage for team west changed", "settings.escalation"}},

		// Bad report queries.
		bad("from not a date", "/api/v1/reports/funnel?from=2026-13-01", "from"),
		bad("to not a date", "/api/v1/reports/funnel?to=yesterday", "to"),
		bad("from after to", "/api/v1/reports/funnel?from=2026-04-01&to=2026-03-01", "from"),
		bad("unknown time zone", "/api/v1/reports/funnel?tz=Mars/Olympus", "tz"),
		bad("format xml", "/api/v1/reports/funnel?format=xml", "format"),
		bad("interval week", "/api/v1/reports/funnel?interval=week&from=2026-01-01&to=2026-02-01", "interval"),
		bad("interval without a period", "/api/v1/reports/funnel?interval=month", "interval"),
		bad("too many months", "/api/v1/reports/funnel?interval=month&from=2020-01-01&to=2026-01-01", "interval"),
		bad("forecast of a day not over", "/api/v1/reports/forecast?as_of=2026-04-11", "as_of"),
		bad("forecast as of no date", "/api/v1/reports/forecast?as_of=soon", "as_of"),
		bad("forecast with a period", "/api/v1/reports/forecast?from=2026-01-01", "from"),
		bad("unknown CSV table", "/api/v1/reports/stage-times?table=everything", "table"),
		bad("stalled in an unknown stage", "/api/v1/reports/stalled?stage=launch", "stage"),
		{name: "reports are not for engineers", method: "GET", path: "/api/v1/reports/forecast", as: "e1", status: 403, code: "forbidden"},

		// Users' e-mail addresses, for the ladder's e-mails.
		{name: "set a user's e-mail", method: "PATCH", path: "/api/v1/users/user-kam1", as: "admin", body: `{"email":"li.ming@example.com"}`,
			status: 200, want: map[string]any{"email": "li.ming@example.com", "username": "kam1"}},
		{name: "a user's e-mail is shown", method: "GET", path: "/api/v1/users/user-kam1", as: "admin", status: 200,
			want: map[string]any{"email": "li.ming@example.com"}},
		{name: "a user's e-mail in the list", method: "GET", path: "/api/v1/users", as: "admin", status: 200,
			contains: []string{`"email":"li.ming@example.com"`}},
		{name: "an address with a display name", method: "PATCH", path: "/api/v1/users/user-kam1", as: "admin", body: `{"email":"Li Ming <li.ming@example.com>"}`,
			status: 400, code: "invalid", want: map[string]any{"error.details.field": "email"}},
		{name: "a bad address changes nothing else", method: "PATCH", path: "/api/v1/users/user-kam1", as: "admin", body: `{"name":"Li","email":"nope"}`,
			status: 400, code: "invalid", after: func(e *testEnv) {
				if u, _ := e.db.User(context.Background(), "user-kam1"); u.Name == "Li" {
					e.t.Errorf("the name changed despite the bad address")
				}
			}},
		{name: "remove a user's e-mail", method: "PATCH", path: "/api/v1/users/user-kam1", as: "admin", body: `{"email":""}`,
			status: 200, want: map[string]any{"email": absent}},
		{name: "new user with an e-mail", method: "POST", path: "/api/v1/users", as: "admin",
			body:   `{"username":"d3","role":"director","teams":["west"],"email":"wang.fang@example.com","password":"` + testPassword + `"}`,
			status: 201, want: map[string]any{"email": "wang.fang@example.com", "role": "director"}},
	}
}

func mustMoney(t *testing.T, s string) kamflow.Money {
	t.Helper()
	m, err := kamflow.ParseMoney(s)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// readCSV checks the answer is UTF-8 CSV with a byte-order mark and reads it.
func readCSV(t *testing.T, body []byte) [][]string {
	t.Helper()
	rest, ok := bytes.CutPrefix(body, []byte("\ufeff"))
	if !ok {
		t.Fatalf("CSV without a byte-order mark: %.80q", body)
	}
	if !bytes.Contains(rest, []byte("\r\n")) {
		t.Errorf("CSV lines do not end in CRLF")
	}
	rows, err := csv.NewReader(bytes.NewReader(rest)).ReadAll()
	if err != nil {
		t.Fatalf("not CSV: %v: %.200q", err, rest)
	}
	return rows
}

func csvIs(want [][]string) func(*testing.T, *testEnv, *response) {
	return func(t *testing.T, _ *testEnv, r *response) {
		if got := readCSV(t, r.body); !slices.EqualFunc(got, want, slices.Equal) {
			t.Errorf("CSV\n%q\nwant\n%q", got, want)
		}
	}
}

func csvStarts(head, first []string) func(*testing.T, *testEnv, *response) {
	return func(t *testing.T, _ *testEnv, r *response) {
		got := readCSV(t, r.body)
		if len(got) < 2 || !slices.Equal(got[0], head) || !slices.Equal(got[1], first) {
			t.Errorf("CSV starts %q, want %q, %q", got[:min(len(got), 2)], strings.Join(head, ","), strings.Join(first, ","))
		}
	}
}
