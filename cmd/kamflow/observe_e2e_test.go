package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/kamflow/kamflow/telemetry"
)

// scrapeMetrics reads url's Prometheus text as series → value.
func scrapeMetrics(t *testing.T, url string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
			out[line[:i]] = v
		}
	}
	return out
}

// TestStageMoveTraceAndMetrics moves a deal a stage on the embedded stack (Temporal server,
// worker, SQLite, API) with traces going to an in-memory exporter: the move is one connected
// trace, from the HTTP request's span through the client's Update, the workflow's handling of it
// and the projection's activity to the SQL statements it ran. The metrics after it: the request
// by its route, the refusal before it by gate item, the move once, the open deals by stage and
// the Temporal SDK's own, on the API's /metrics and on the worker's listener.
func TestStageMoveTraceAndMetrics(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server")
	}
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	defer tp.Shutdown(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	app, err := startDev(ctx, quietLogger(), config{dataDir: t.TempDir(), namespace: "default", temporalPort: 0, demoPassword: "demo",
		tracing: telemetry.New(tp)})
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	srv := httptest.NewServer(app.obs.http(app.api))
	defer srv.Close()
	workerSrv := httptest.NewServer(workerHTTP(app.obs.reg))
	defer workerSrv.Close()

	c := login(t, srv.URL, "kam1")
	acct := c.do("POST", "/api/v1/accounts", map[string]any{"name": "Baowu Steel Zhanjiang"}, 201)
	id := c.do("POST", "/api/v1/deals", map[string]any{"account_id": acct["id"], "title": "Blast furnace TRT retrofit",
		"value": "12000000.00", "currency": "CNY"}, 201)["id"].(string)
	p := "/api/v1/deals/" + id
	before := scrapeMetrics(t, srv.URL+"/metrics")
	c.do("POST", p+"/advance", nil, 409) // assessment_passed and graded are missing
	scores := map[string]int{}
	for _, f := range []string{"project_level", "funding", "technical_fit", "relationship", "credit", "product", "price", "solution", "service"} {
		scores[f] = 4
	}
	c.do("PUT", p+"/assessment", map[string]any{"scores": scores, "expected_close": "2027-03-31", "likelihood": 75}, 200)
	spans.Reset()
	if d := c.do("POST", p+"/advance", nil, 200); d["stage"] != "entry" {
		t.Fatalf("advanced to %v, want entry", d["stage"])
	}

	// The trace of the advance.
	var root sdktrace.ReadOnlySpan
	var got tracetest.SpanStubs
	logSpans := func() {
		for _, s := range spans.GetSpans() {
			t.Logf("span %q trace %s id %s parent %s kind %v", s.Name, s.SpanContext.TraceID(), s.SpanContext.SpanID(), s.Parent.SpanID(), s.SpanKind)
		}
	}
	defer func() {
		if t.Failed() {
			logSpans()
		}
	}()
	eventually(t, "the advance's trace has its activity's database spans", func() bool {
		all := spans.GetSpans()
		root = nil
		for _, s := range all {
			if s.Name == "POST /api/v1/deals/:id/advance" && s.SpanKind == trace.SpanKindServer {
				root = s.Snapshot()
			}
		}
		if root == nil {
			return false
		}
		got = nil
		for _, s := range all {
			if s.SpanContext.TraceID() == root.SpanContext().TraceID() {
				got = append(got, s)
			}
		}
		return hasSpan(got, "RunActivity:ProjectDeal") && dbUnder(got, "RunActivity:ProjectDeal")
	})
	byID := map[trace.SpanID]tracetest.SpanStub{}
	for _, s := range got {
		byID[s.SpanContext.SpanID()] = s
	}
	for _, s := range got {
		if s.SpanContext.SpanID() == root.SpanContext().SpanID() {
			continue
		}
		if _, ok := byID[s.Parent.SpanID()]; !ok {
			t.Errorf("span %q's parent is not in the trace: the trace is not connected", s.Name)
		}
	}
	for _, want := range []string{"UpdateWorkflow:advance", "HandleUpdate:advance", "StartActivity:ProjectDeal", "RunActivity:ProjectDeal"} {
		if !hasSpan(got, want) {
			t.Errorf("no span %q in the advance's trace", want)
		}
	}

	// The metrics after it.
	after := scrapeMetrics(t, srv.URL+"/metrics")
	for series, want := range map[string]float64{
		`kamflow_http_request_duration_seconds_count{method="POST",route="/api/v1/deals/:id/advance",status="200"}`: 1,
		`kamflow_http_request_duration_seconds_count{method="POST",route="/api/v1/deals/:id/advance",status="409"}`: 1,
		`kamflow_gate_refusals_total{item="assessment_passed"}`:                                                     1,
		`kamflow_gate_refusals_total{item="graded"}`:                                                                1,
		`kamflow_stage_moves_total{stage="entry"}`:                                                                  1,
		`kamflow_stage_forced_moves_total{stage="entry"}`:                                                           0,
		`kamflow_deals_open{stage="entry"}`:                                                                         1,
		`kamflow_deals_open{stage="development"}`:                                                                   -1,
	} {
		if d := after[series] - before[series]; d != want {
			t.Errorf("%s moved by %v, want %v", series, d, want)
		}
	}
	temporal := 0
	for s := range after {
		if strings.HasPrefix(s, "temporal_") {
			temporal++
		}
	}
	if temporal == 0 || after[`kamflow_deals_open{stage="entry"}`] != 1 {
		t.Errorf("%d Temporal SDK series on /metrics, want some; open in entry %v", temporal, after[`kamflow_deals_open{stage="entry"}`])
	}
	w := scrapeMetrics(t, workerSrv.URL+"/metrics")
	if w[`kamflow_stage_moves_total{stage="entry"}`] != 1 {
		t.Errorf("the worker's listener: stage moves into entry %v, want 1", w[`kamflow_stage_moves_total{stage="entry"}`])
	}

	// A delivery task's command goes through the delivery workflow's own loop: its projection is
	// in the request's trace too.
	director, eng := login(t, srv.URL, "director"), login(t, srv.URL, "engineer1")
	won := c.do("POST", "/api/v1/deals", map[string]any{"account_id": acct["id"], "title": "Sinter plant waste heat boiler",
		"value": "12000000.00", "currency": "CNY"}, 201)["id"].(string)
	wp := "/api/v1/deals/" + won
	walkToWon(t, c, director, wp, false)
	c.do("POST", wp+"/advance", nil, 200)
	eventually(t, "the delivery plan", func() bool { return plan(t, eng, wp) != nil })
	spans.Reset()
	eng.do("POST", wp+"/delivery/tasks/site_survey/start", nil, 200)
	eventually(t, "the task start's trace has the delivery's projection", func() bool {
		var start trace.TraceID
		for _, s := range spans.GetSpans() {
			if s.Name == "POST /api/v1/deals/:id/delivery/tasks/:key/start" && s.SpanKind == trace.SpanKindServer {
				start = s.SpanContext.TraceID()
			}
		}
		var in tracetest.SpanStubs
		for _, s := range spans.GetSpans() {
			if s.SpanContext.TraceID() == start {
				in = append(in, s)
			}
		}
		return start.IsValid() && hasSpan(in, "RunActivity:ProjectDelivery") && dbUnder(in, "RunActivity:ProjectDelivery")
	})
}

func hasSpan(ss tracetest.SpanStubs, name string) bool {
	for _, s := range ss {
		if s.Name == name {
			return true
		}
	}
	return false
}

// dbUnder reports whether a database span (a client span named "<VERB> sqlite") has the span
// named parent as its parent.
func dbUnder(ss tracetest.SpanStubs, parent string) bool {
	ids := map[trace.SpanID]bool{}
	for _, s := range ss {
		if s.Name == parent {
			ids[s.SpanContext.SpanID()] = true
		}
	}
	for _, s := range ss {
		if strings.HasSuffix(s.Name, " sqlite") && s.SpanKind == trace.SpanKindClient && ids[s.Parent.SpanID()] {
			return true
		}
	}
	return false
}
