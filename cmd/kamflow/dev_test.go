package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/kamflow/kamflow/engine"
)

// api is a tiny JSON client for the tests.
type apiClient struct {
	t     *testing.T
	base  string
	token string
}

// login signs in as a demo user and returns a client that acts as them.
func login(t *testing.T, base, username string) apiClient {
	t.Helper()
	out := apiClient{t: t, base: base}.do("POST", "/api/v1/auth/login", map[string]any{"username": username, "password": "demo"}, 200)
	return apiClient{t: t, base: base, token: out["token"].(string)}
}

func (c apiClient) do(method, path string, body any, wantStatus int) map[string]any {
	c.t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.base+path, r)
	req.Header.Set("Content-Type", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != wantStatus {
		c.t.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, wantStatus, raw)
	}
	out := map[string]any{}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			c.t.Fatalf("%s %s: bad JSON %s", method, path, raw)
		}
	}
	return out
}

func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func startTestDev(t *testing.T, dir string) (*devApp, apiClient, func()) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	app, err := startDev(ctx, quietLogger(), config{dataDir: dir, namespace: "default", temporalPort: 0, demoPassword: "demo"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(app.api)
	stop := func() { srv.Close(); app.Close() }
	return app, login(t, srv.URL, "kam1"), stop
}

// TestDevWalksADealAndSurvivesRestart is the README's walkthrough on the real thing: the embedded
// Temporal server persisted to disk, the worker, SQLite and the API. A deal goes through all six
// stages; an unmet gate is refused with the missing keys; a forced advance is recorded and cuts
// the win probability; a stage SLA passes and the deal shows as stalled; and after a restart on
// the same data directory, nothing is lost and the deals still move.
func TestDevWalksADealAndSurvivesRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server")
	}
	dir := t.TempDir()
	_, c, stop := startTestDev(t, dir)
	defer func() { stop() }()
	// Service visits a few seconds after the close, so that the first one comes during the test.
	login(t, c.base, "admin").do("PUT", "/api/v1/settings/service-cadence", map[string]any{"service_cadence": []string{"3s", "1h"}}, 200)

	acct := c.do("POST", "/api/v1/accounts", map[string]any{"name": "华东石化 East China Petrochemical", "industry": "petrochemical"}, 201)
	deal := c.do("POST", "/api/v1/deals", map[string]any{
		"account_id": acct["id"], "title": "Boiler feed pumps, Line 3", "value": "12000000.00", "currency": "CNY", "expected_close": "2027-03-31",
	}, 201)
	id := deal["id"].(string)
	p := "/api/v1/deals/" + id
	if deal["stage"] != "development" || deal["status"] != "open" {
		t.Fatalf("new deal: %v %v", deal["stage"], deal["status"])
	}

	refused := c.do("POST", p+"/advance", nil, 409)
	e := refused["error"].(map[string]any)
	if e["code"] != "gate_not_met" || fmt.Sprint(e["details"].(map[string]any)["missing"]) != "[assessment_passed graded]" {
		t.Fatalf("advance with unmet gate: %v", refused)
	}

	scores := map[string]int{}
	for _, f := range []string{"project_level", "funding", "technical_fit", "relationship", "credit", "product", "price", "solution", "service"} {
		scores[f] = 4
	}
	a := c.do("PUT", p+"/assessment", map[string]any{"scores": scores, "expected_close": "2027-03-31", "likelihood": 75}, 200)
	if a["assessment"].(map[string]any)["passed"] != true || a["grade"] == "" {
		t.Fatalf("assessment: %v", a["assessment"])
	}
	step := func(method, path string, body any) map[string]any { return c.do(method, p+path, body, 200) }
	step("POST", "/advance", nil)
	step("POST", "/stakeholders", map[string]any{"name": "王工 Wang", "title": "Chief engineer", "role": "insider", "stance": "supporter", "engaged": true})
	step("POST", "/stakeholders", map[string]any{"name": "李总 Li", "title": "Plant director", "role": "decision_maker", "stance": "neutral", "engaged": true})
	step("POST", "/advance", nil)
	step("PUT", "/criteria", map[string]any{"criteria": []map[string]any{{"name": "API 610 compliance", "favours": "us"}, {"name": "16-week delivery", "favours": "neutral"}}})
	step("POST", "/proposal", map[string]any{"submitted_on": "2026-12-01", "summary": "Two duty pumps and one standby"})
	step("POST", "/advance", nil)
	bid := step("PUT", "/bid", map[string]any{"cost": "10500000.00", "price": "12000000.00", "deadline": "2027-01-15", "submitted": true})
	if bid["gate"].(map[string]any)["met"] != false {
		t.Fatal("a 12.5% margin must wait for a director's approval")
	}
	director := login(t, c.base, "director")
	c.do("POST", p+"/bid/approve", nil, 403) // a KAM may not approve a margin below the floor
	director.do("POST", p+"/bid/approve", nil, 200)
	step("POST", "/advance", nil)
	director.do("POST", p+"/contract/approve", nil, 200)
	won := step("POST", "/contract/sign", map[string]any{"signed_on": "2027-02-01"})
	if won["status"] != "won" || won["win_probability"].(float64) != 100 {
		t.Fatalf("after signing: %v %v", won["status"], won["win_probability"])
	}
	// Delivery: the engineer runs the plan's tasks; the acceptance test decides the acceptance.
	step("PUT", "/engineers", map[string]any{"engineers": []string{"engineer1"}})
	step("POST", "/advance", nil)
	done := walkDelivery(t, c, login(t, c.base, "engineer1"), id)
	if done["status"] != "delivered" || done["stage"] != "delivery" {
		t.Fatalf("closed project: %v %v", done["status"], done["stage"])
	}
	c.do("POST", p+"/advance", nil, 422) // nothing more to do on a delivered deal
	hist := c.do("GET", p+"/history", nil, 200)["items"].([]any)
	if len(hist) != 8 {
		t.Fatalf("history has %d rows, want 8: %v", len(hist), hist)
	}

	// A second deal is forced past an unmet gate by a director.
	d2 := c.do("POST", "/api/v1/deals", map[string]any{"account_id": acct["id"], "title": "Control valves", "value": "800000", "currency": "CNY"}, 201)
	p2 := "/api/v1/deals/" + d2["id"].(string)
	c.do("PUT", p2+"/assessment", map[string]any{"scores": scores, "expected_close": "2027-06-30", "likelihood": 60}, 200)
	c.do("POST", p2+"/advance", nil, 200)
	before := c.do("GET", p2, nil, 200)["win_probability"].(float64)
	// A KAM may not force; the refusal leaves no trace in the deal's history.
	c.do("POST", p2+"/advance", map[string]any{"force": true, "reason": "tender published early"}, 403)
	if h := c.do("GET", p2+"/history", nil, 200)["items"].([]any); len(h) != 2 {
		t.Fatalf("a refused force left %d history rows, want 2", len(h))
	}
	forced := director.do("POST", p2+"/advance", map[string]any{"force": true, "reason": "tender published early"}, 200)
	if forced["stage"] != "proposal" || forced["forced"] != true || forced["win_probability"].(float64) >= before {
		t.Fatalf("forced: stage %v forced %v probability %v (before %v)", forced["stage"], forced["forced"], forced["win_probability"], before)
	}
	h2 := c.do("GET", p2+"/history", nil, 200)["items"].([]any)
	last := h2[len(h2)-1].(map[string]any)
	if last["forced"] != true || last["actor"] != "director" || last["reason"] != "tender published early" {
		t.Fatalf("forced move in history: %v", last)
	}

	// A two-second SLA (set by the admin) stalls a third deal.
	login(t, c.base, "admin").do("PUT", "/api/v1/settings/stages/development", map[string]any{"sla": "2s"}, 200)
	d3 := c.do("POST", "/api/v1/deals", map[string]any{"account_id": acct["id"], "title": "Flow meters", "value": "300000", "currency": "CNY"}, 201)
	p3 := "/api/v1/deals/" + d3["id"].(string)
	deadline := time.Now().Add(30 * time.Second)
	for c.do("GET", p3, nil, 200)["stalled"] != true {
		if time.Now().After(deadline) {
			t.Fatal("deal not stalled 30s after a 2s SLA")
		}
		time.Sleep(200 * time.Millisecond)
	}
	stalled := c.do("GET", "/api/v1/reports/stalled", nil, 200)["items"].([]any)
	if len(stalled) != 1 || stalled[0].(map[string]any)["id"] != d3["id"] {
		t.Fatalf("stalled report: %v", stalled)
	}
	// The notice is delivered by an activity just after the stall is recorded: wait for it.
	for len(c.do("GET", "/api/v1/notifications", nil, 200)["items"].([]any)) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the KAM got no stall notification")
		}
		time.Sleep(200 * time.Millisecond)
	}

	// Restart on the same data directory.
	stop()
	_, c, stop = startTestDev(t, dir)
	got := c.do("GET", p, nil, 200)
	if got["status"] != "delivered" {
		t.Fatalf("after restart the walked deal is %v", got["status"])
	}
	if h := c.do("GET", p+"/history", nil, 200)["items"].([]any); len(h) != 8 {
		t.Fatalf("after restart the history has %d rows", len(h))
	}
	// The forced deal's workflow is still running and takes work.
	after := c.do("POST", p2+"/stakeholders", map[string]any{"name": "Zhao", "role": "insider", "stance": "supporter"}, 200)
	if after["stage"] != "proposal" || after["forced"] != true {
		t.Fatalf("after restart the forced deal is %v forced=%v", after["stage"], after["forced"])
	}
}

// eventually polls cond for up to 30 seconds: what the workflows do after an answer (a task's
// steps, the acceptance reaching the deal, a visit's timer) takes a moment.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 30s", what)
		}
		time.Sleep(150 * time.Millisecond)
	}
}

// walkDelivery takes a deal that just entered delivery from its signed contract to its first
// service visit, through the API as the engineer (and the KAM to close the project): every task
// of the plan started (its steps run by activities) and completed, the acceptance passed with a
// punch list that holds the project open until resolved, the certificate downloaded, the project
// closed, and the first follow-up visit reported when its timer comes. It returns the closed deal.
func walkDelivery(t *testing.T, kam, eng apiClient, id string) map[string]any {
	t.Helper()
	p := "/api/v1/deals/" + id
	var plan map[string]any
	eventually(t, "the delivery plan", func() bool {
		req, _ := http.NewRequest("GET", eng.base+p+"/delivery", nil)
		req.Header.Set("Authorization", "Bearer "+eng.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		return resp.StatusCode == 200 && json.NewDecoder(resp.Body).Decode(&plan) == nil
	})
	if n := len(plan["tasks"].([]any)); n != 5 {
		t.Fatalf("plan with %d tasks", n)
	}
	status := func(key string) string {
		for _, x := range eng.do("GET", p+"/delivery", nil, 200)["tasks"].([]any) {
			if tk := x.(map[string]any); tk["key"] == key {
				return tk["status"].(string)
			}
		}
		return ""
	}
	eng.do("POST", p+"/delivery/tasks/installation/start", nil, 409) // the site survey comes first
	kam.do("POST", p+"/delivery/tasks/site_survey/start", nil, 403)  // engineers run the tasks
	for _, key := range []string{"site_survey", "installation", "commissioning", "training", "acceptance_test"} {
		eng.do("POST", p+"/delivery/tasks/"+key+"/start", nil, 200)
		eventually(t, key+" active", func() bool { return status(key) == "active" })
		body := map[string]any{"notes": key + " done"}
		if key == "acceptance_test" {
			body = map[string]any{"result": "pass_with_punch_list", "notes": "72h run test passed", "punch_list": []string{"Label the cabinets"}}
		}
		eng.do("POST", p+"/delivery/tasks/"+key+"/complete", body, 200)
	}
	eventually(t, "the acceptance on the deal", func() bool {
		a, _ := kam.do("GET", p, nil, 200)["acceptance"].(map[string]any)
		return a != nil && a["result"] == "pass_with_punch_list"
	})
	kam.do("POST", p+"/project/close", nil, 409) // the punch list is open
	eng.do("POST", p+"/delivery/punch-list/p1/resolve", nil, 200)
	eventually(t, "the punch list cleared on the deal", func() bool {
		a, _ := kam.do("GET", p, nil, 200)["acceptance"].(map[string]any)
		return a != nil && a["open_punch_items"] == nil
	})
	req, _ := http.NewRequest("GET", eng.base+p+"/acceptance/certificate.pdf", nil)
	req.Header.Set("Authorization", "Bearer "+eng.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	pdf, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Fatalf("certificate: %d %.40q", resp.StatusCode, pdf)
	}
	done := kam.do("POST", p+"/project/close", nil, 200)
	var visits []any
	eventually(t, "the first service visit", func() bool {
		visits = eng.do("GET", "/api/v1/service-visits?assignee=me&deal_id="+id, nil, 200)["items"].([]any)
		return len(visits) == 1
	})
	v := visits[0].(map[string]any)
	if v["round"].(float64) != 1 || v["status"] != "due" || v["assignee"] != "engineer1" {
		t.Fatalf("first visit %v", v)
	}
	rep := eng.do("POST", "/api/v1/service-visits/"+v["id"].(string)+"/report", map[string]any{
		"visited_on": v["due"], "faults_found": 1, "faults_unresolved": 0, "satisfaction": "satisfied", "notes": "风机轴承异响，已更换滤芯"}, 200)
	if rep["status"] != "reported" {
		t.Fatalf("reported visit %v", rep)
	}
	sr := kam.do("GET", "/api/v1/accounts/"+plan["account_id"].(string)+"/service-report", nil, 200)
	if sr["sites_visited"].(float64) != 1 || sr["sites_with_faults"].(float64) != 1 || sr["satisfaction_rate"].(float64) != 1 {
		t.Fatalf("service report %v", sr)
	}
	return done
}

// TestDevSchedulesTheDailyDigest: dev mode schedules the directors' daily digest (08:00 in Shanghai
// by default); a run of it gives the director an in-app digest of their team's stalled deal; a
// restart leaves the schedule as it was.
func TestDevSchedulesTheDailyDigest(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server")
	}
	dir := t.TempDir()
	app, c, stop := startTestDev(t, dir)
	defer func() { stop() }()
	// Service visits a few seconds after the close, so that the first one comes during the test.
	login(t, c.base, "admin").do("PUT", "/api/v1/settings/service-cadence", map[string]any{"service_cadence": []string{"3s", "1h"}}, 200)
	describe := func() *client.ScheduleDescription {
		t.Helper()
		d, err := app.client.ScheduleClient().GetHandle(t.Context(), engine.DigestScheduleID).Describe(t.Context())
		if err != nil {
			t.Fatalf("the daily digest's schedule: %v", err)
		}
		return d
	}
	d := describe()
	if cal := d.Schedule.Spec.Calendars; d.Schedule.Spec.TimeZoneName != "Asia/Shanghai" || len(cal) != 1 ||
		cal[0].Hour[0].Start != 8 || cal[0].Minute[0].Start != 0 {
		t.Fatalf("the digest's schedule: %+v", d.Schedule.Spec)
	}

	// A two-second development SLA stalls a deal of the director's team.
	login(t, c.base, "admin").do("PUT", "/api/v1/settings/stages/development", map[string]any{"sla": "2s"}, 200)
	acct := c.do("POST", "/api/v1/accounts", map[string]any{"name": "宝钢 Baosteel"}, 201)
	deal := c.do("POST", "/api/v1/deals", map[string]any{"account_id": acct["id"], "title": "Cold rolling DCS", "value": "300000", "currency": "CNY"}, 201)
	deadline := time.Now().Add(30 * time.Second)
	for c.do("GET", "/api/v1/deals/"+deal["id"].(string), nil, 200)["stalled"] != true {
		if time.Now().After(deadline) {
			t.Fatal("deal not stalled 30s after a 2s SLA")
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err := app.client.ScheduleClient().GetHandle(t.Context(), engine.DigestScheduleID).Trigger(t.Context(), client.ScheduleTriggerOptions{}); err != nil {
		t.Fatal(err)
	}
	director := login(t, c.base, "director")
	for digest := false; !digest; time.Sleep(200 * time.Millisecond) {
		for _, n := range director.do("GET", "/api/v1/notifications", nil, 200)["items"].([]any) {
			if n := n.(map[string]any); n["kind"] == "digest" {
				digest = true
				if !strings.Contains(n["message"].(string), ": 1 stalled deal, 0 approvals waiting") {
					t.Errorf("the director's digest: %v", n)
				}
			}
		}
		if !digest && time.Now().After(deadline) {
			t.Fatal("no digest for the director after the schedule was triggered")
		}
	}

	d = describe()
	stop()
	app, _, stop = startTestDev(t, dir)
	if again := describe(); !again.Info.LastUpdateAt.Equal(d.Info.LastUpdateAt) || again.Info.NumActions != 1 {
		t.Errorf("the digest's schedule after a restart: updated %v (was %v), %d actions",
			again.Info.LastUpdateAt, d.Info.LastUpdateAt, again.Info.NumActions)
	}
}
