package api_test

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/api"
	"github.com/kamflow/kamflow/db"
	"github.com/kamflow/kamflow/db/dbtest"
	"github.com/kamflow/kamflow/metrics"
)

// scrape reads GET /metrics (without credentials) as series → value, each series written as the
// exposition writes it: name{label="value",…}, labels in name order.
func scrape(t *testing.T, e *testEnv) map[string]float64 {
	t.Helper()
	res := e.serve(request{method: "GET", path: "/metrics"})
	if res.status != 200 {
		t.Fatalf("GET /metrics: %d %s", res.status, res.body)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(res.body))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

// TestMetricsAfterTraffic sends the API real requests (the fake deal service on a real database)
// and reads /metrics after them: the requests by route template, method and status, the gate
// refusals by item, the open and stalled deals by stage and the imports' rows move as they should.
func TestMetricsAfterTraffic(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, func(c *api.Config) { c.Metrics = metrics.New(d) })
		before := scrape(t, e)
		for _, st := range kamflow.Stages {
			for _, m := range []string{"kamflow_deals_open", "kamflow_deals_stalled"} {
				if v, ok := before[fmt.Sprintf("%s{stage=%q}", m, st)]; !ok || v != 0 {
					t.Errorf("%s{stage=%q} before any deal: %v (present %v), want 0", m, st, v, ok)
				}
			}
		}
		for _, o := range []string{"imported", "skipped", "rejected", "held", "not_imported"} {
			if v, ok := before[fmt.Sprintf("kamflow_import_rows{outcome=%q}", o)]; !ok || v != 0 {
				t.Errorf("kamflow_import_rows{outcome=%q} before any import: %v (present %v), want 0", o, v, ok)
			}
		}

		acct := e.must(201, "POST", "/api/v1/accounts", "kam1", `{"name":"Baowu Steel Zhanjiang"}`)["id"].(string)
		deal := func(title string) string {
			return "/api/v1/deals/" + e.must(201, "POST", "/api/v1/deals", "kam1",
				fmt.Sprintf(`{"account_id":%q,"title":%q,"value":"1000000.00","currency":"CNY"}`, acct, title))["id"].(string)
		}
		moved, kept := deal("Blast furnace TRT retrofit"), deal("Sinter plant dedusting")
		e.must(200, "PUT", moved+"/assessment", "kam1", assessPass)
		e.must(200, "POST", moved+"/advance", "kam1", "")
		e.must(200, "GET", moved, "kam1", "")
		// The deal in entry has none of its gate: the advance is refused, naming the items.
		refused := e.serve(request{method: "POST", path: moved + "/advance", as: "kam1"})
		if refused.status != 409 {
			t.Fatalf("advance past an unmet gate: %d %s, want 409", refused.status, refused.body)
		}
		missing, _ := lookup(refused.json, "error.details.missing")
		items, _ := missing.([]any)
		if len(items) == 0 {
			t.Fatalf("the refusal names no missing item: %s", refused.body)
		}
		e.serve(request{method: "GET", path: "/api/v1/no/such/route", as: "kam1"})

		after := scrape(t, e)
		delta := func(series string) float64 { return after[series] - before[series] }
		for series, want := range map[string]float64{
			`kamflow_http_request_duration_seconds_count{method="POST",route="/api/v1/deals/:id/advance",status="200"}`:   1,
			`kamflow_http_request_duration_seconds_count{method="POST",route="/api/v1/deals/:id/advance",status="409"}`:   1,
			`kamflow_http_request_duration_seconds_count{method="POST",route="/api/v1/deals",status="201"}`:               2,
			`kamflow_http_request_duration_seconds_count{method="PUT",route="/api/v1/deals/:id/assessment",status="200"}`: 1,
			`kamflow_http_request_duration_seconds_count{method="GET",route="/api/v1/deals/:id",status="200"}`:            1,
			`kamflow_http_request_duration_seconds_count{method="GET",route="/api/v1/*",status="404"}`:                    1,
			`kamflow_deals_open{stage="development"}`:                                                                     1,
			`kamflow_deals_open{stage="entry"}`:    1,
			`kamflow_deals_stalled{stage="entry"}`: 0,
		} {
			if got := delta(series); got != want {
				t.Errorf("%s moved by %v, want %v", series, got, want)
			}
		}
		// The histogram is one of latencies: its sum moved, and every request is in +Inf.
		if s := `kamflow_http_request_duration_seconds_sum{method="POST",route="/api/v1/deals/:id/advance",status="200"}`; delta(s) <= 0 {
			t.Errorf("%s did not move", s)
		}
		for _, it := range items {
			if s := fmt.Sprintf("kamflow_gate_refusals_total{item=%q}", it); delta(s) != 1 {
				t.Errorf("%s moved by %v, want 1", s, delta(s))
			}
		}
		// No raw path is a route: the deal's ID is in no series.
		for series := range after {
			if strings.Contains(series, strings.TrimPrefix(kept, "/api/v1/deals/")) || strings.Contains(series, "no/such") {
				t.Errorf("a raw path is a label: %s", series)
			}
		}

		// Past the SLA, the deals' timers fire: both are stalled in their stages.
		e.clock.Set(T0.Add(365 * kamflow.Day))
		if err := e.svc.runTimers(t.Context()); err != nil {
			t.Fatal(err)
		}
		stalled := scrape(t, e)
		for _, st := range []string{"development", "entry"} {
			if s := fmt.Sprintf("kamflow_deals_stalled{stage=%q}", st); stalled[s] != 1 {
				t.Errorf("%s = %v after the SLA, want 1", s, stalled[s])
			}
		}
	})
}
