package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kamflow/kamflow/workflows"
)

// TestDevKeepsEveryChangeAcrossContinueAsNew sends 300 changes to one deal whose workflow
// continues as new every 10 accepted changes (KAMFLOW_MAX_UPDATES_PER_RUN=10): stakeholders
// recorded and re-recorded, assessments and purchasing criteria, the deal's move from
// development to entry, and the admin's changes of its stage's SLA, which reach the deal by a
// signal. Five are in flight at once, round after round, so changes arrive while a run is ending.
// Every one must be in the deal (each stakeholder as last recorded, the last assessment and
// criteria, the SLA last set), exactly once on its timeline, and the workflow must have run
// several runs.
func TestDevKeepsEveryChangeAcrossContinueAsNew(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server")
	}
	const perRun = 10
	t.Setenv("KAMFLOW_MAX_UPDATES_PER_RUN", fmt.Sprint(perRun))
	app, kam, stop := startTestDev(t, t.TempDir())
	defer stop()
	admin := login(t, kam.base, "admin")
	acct := kam.do("POST", "/api/v1/accounts", map[string]any{"name": "宝钢 Baosteel"}, 201)
	deal := kam.do("POST", "/api/v1/deals", map[string]any{"account_id": acct["id"], "title": "Cold rolling DCS", "value": "3000000", "currency": "CNY"}, 201)
	id := deal["id"].(string)
	p := "/api/v1/deals/" + id

	w := &changeLog{t: t}
	const stakeholderSenders, perSender = 3, 30
	// phase sends one stage's changes from five senders: the admin's SLA changes of the stage
	// (slaDays), the stage's own work (work(i) for i < works), and three KAMs' stakeholders, each
	// sender re-recording three people of its own. They go in rounds: in each, every sender with
	// a change left sends its next one, all five at once; the next round starts when all are
	// answered, back to back: so changes arrive together while a run is ending, the run refuses
	// them meanwhile and the client sends them again to the next run, and each sender's changes
	// are in order (its last one is the one in force).
	phase := func(stage string, slaDays []int, works int, work func(i int) (string, string, any, string)) {
		for round := 0; round < max(len(slaDays), works, perSender); round++ {
			var wg sync.WaitGroup
			if round < len(slaDays) {
				wg.Go(func() {
					sla := fmt.Sprintf("%dd", slaDays[round])
					w.send(admin, "PUT", "/api/v1/settings/stages/"+stage, map[string]any{"sla": sla}, change{kind: "sla", key: stage + " " + sla})
				})
			}
			if round < works {
				wg.Go(func() {
					method, path, body, key := work(round)
					w.send(kam, method, p+path, body, change{kind: strings.TrimPrefix(path, "/"), key: key})
				})
			}
			for g := range stakeholderSenders {
				if round >= perSender {
					break
				}
				wg.Go(func() {
					j := round
					name := fmt.Sprintf("%s stakeholder %d-%d", stage, g, j%3)
					title := fmt.Sprintf("%s title %d-%02d", stage, g, j)
					w.send(kam, "POST", p+"/stakeholders", map[string]any{"name": name, "title": title, "role": "influencer",
						"stance": []string{"supporter", "neutral", "opponent"}[j%3], "influence": 1 + j%5},
						change{kind: "stakeholder", key: title, name: name})
				})
			}
			wg.Wait()
		}
	}
	days := func(from, n int) []int {
		out := make([]int, n)
		for i := range out {
			out[i] = from + i
		}
		return out
	}
	// Development: 30 SLA changes, 30 assessments (likelihood 1 to 30), 90 stakeholder records.
	phase("development", days(40, 30), 30, func(i int) (string, string, any, string) {
		return "PUT", "/assessment", map[string]any{"scores": passingScores, "expected_close": "2027-06-30", "likelihood": i + 1},
			fmt.Sprint(i + 1)
	})
	w.send(kam, "POST", p+"/advance", nil, change{kind: "advance", key: "entry"})
	// Entry: 30 SLA changes, 29 sets of purchasing criteria, 90 stakeholder records.
	phase("entry", days(50, 30), 29, func(i int) (string, string, any, string) {
		name := fmt.Sprintf("Criterion %02d", i)
		return "PUT", "/criteria", map[string]any{"criteria": []map[string]any{{"name": name, "favours": "us"}, {"name": "16-week delivery", "favours": "neutral"}}}, name
	})
	if n := len(w.sent); n != 300 {
		t.Fatalf("the test sent %d changes, want 300", n)
	}
	for _, f := range w.failed {
		t.Errorf("refused: %s", f)
	}

	// The deal has every change: each stakeholder as last recorded, the last criteria and SLA. An
	// SLA change is answered once the deal's workflow is signalled, and applied a moment later.
	var got map[string]any
	deadline := time.Now().Add(time.Minute)
	for got = kam.do("GET", p, nil, 200); fmt.Sprint(got["stage_sla"]) != "79d" && time.Now().Before(deadline); got = kam.do("GET", p, nil, 200) {
		time.Sleep(100 * time.Millisecond)
	}
	if sla := fmt.Sprint(got["stage_sla"]); sla != "79d" {
		t.Errorf("the deal's SLA is %s a minute after the last change, want 79d, the entry SLA set last", sla)
	}
	if got["stage"] != "entry" {
		t.Errorf("the deal is in %v, want entry", got["stage"])
	}
	if c, _ := got["criteria"].([]any); len(c) == 0 || c[0].(map[string]any)["name"] != "Criterion 28" {
		t.Errorf("the deal's criteria are %v, want the last ones sent (Criterion 28)", got["criteria"])
	}
	if a, _ := got["assessment"].(map[string]any); a == nil || a["likelihood"] != float64(30) {
		t.Errorf("the deal's assessment is %v, want the last one sent (likelihood 30)", got["assessment"])
	}
	have := map[string]string{}
	for _, x := range got["stakeholders"].([]any) {
		s := x.(map[string]any)
		have[s["name"].(string)] = fmt.Sprint(s["title"])
	}
	for name, title := range w.lastTitle() {
		if have[name] != title {
			t.Errorf("stakeholder %q has title %q, want %q, the last one recorded", name, have[name], title)
		}
	}
	if len(have) != 2*stakeholderSenders*3 {
		t.Errorf("the deal has %d stakeholders, want %d", len(have), 2*stakeholderSenders*3)
	}

	// The timeline lists every accepted change exactly once, and nothing else but the opening.
	entries := timeline(t, kam, p)
	seen := map[string]int{}
	var unexpected []string
	for _, e := range entries {
		key := timelineKey(e)
		if key == "" {
			if e["action"] != "deal.create" {
				unexpected = append(unexpected, fmt.Sprintf("%v %v", e["action"], e["summary"]))
			}
			continue
		}
		seen[key]++
	}
	var missing, twice []string
	for _, c := range w.sent {
		switch n := seen[c.kind+" "+c.key]; {
		case n == 0:
			missing = append(missing, c.kind+" "+c.key)
		case n > 1:
			twice = append(twice, fmt.Sprintf("%s %s (%d times)", c.kind, c.key, n))
		}
	}
	for key := range seen {
		if !slices.ContainsFunc(w.sent, func(c change) bool { return c.kind+" "+c.key == key }) {
			unexpected = append(unexpected, key)
		}
	}
	sort.Strings(missing)
	sort.Strings(unexpected)
	if len(missing) > 0 {
		t.Errorf("%d of %d changes are not on the deal's timeline (%d entries): %v", len(missing), len(w.sent), len(entries), missing)
	}
	if len(twice) > 0 {
		t.Errorf("%d changes are on the timeline more than once: %v", len(twice), twice)
	}
	if len(unexpected) > 0 {
		t.Errorf("the timeline lists what was not sent: %v", unexpected)
	}

	// The workflow continued as new: count its runs, each run's start naming the run before.
	runs := 0
	d, err := app.client.DescribeWorkflowExecution(t.Context(), workflows.WorkflowID(id), "")
	if err != nil {
		t.Fatal(err)
	}
	for run := d.GetWorkflowExecutionInfo().GetExecution().GetRunId(); run != ""; runs++ {
		it := app.client.GetWorkflowHistory(t.Context(), workflows.WorkflowID(id), run, false, 0)
		ev, err := it.Next()
		if err != nil {
			t.Fatalf("the first event of run %s: %v", run, err)
		}
		run = ev.GetWorkflowExecutionStartedEventAttributes().GetContinuedExecutionRunId()
	}
	t.Logf("300 changes, %d runs, %d timeline entries", runs, len(entries))
	// Under changes back to back a run still ends: once it has taken its perRun changes it refuses
	// new ones (the client sends them again), takes those already accepted and continues as new.
	const minRuns = 15
	if runs < minRuns {
		t.Errorf("the deal's workflow ran %d runs for 300 changes at %d per run, want at least %d", runs, perRun, minRuns)
	}
}

// change is one change the test sent: its kind and the key that finds it on the timeline.
type change struct {
	kind, key string
	name      string // a stakeholder's name
}

// changeLog sends changes from several goroutines and keeps what was sent and what was refused.
type changeLog struct {
	t      *testing.T
	mu     sync.Mutex
	sent   []change
	failed []string
}

var changeClient = &http.Client{Timeout: 2 * time.Minute}

// send makes one request; it does not fail the test (it runs off the test's goroutine) but keeps
// a refusal for the test to report.
func (w *changeLog) send(c apiClient, method, path string, body any, ch change) {
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.base+path, r)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := changeClient.Do(req)
	var status int
	var raw []byte
	if err == nil {
		status = resp.StatusCode
		raw, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.sent = append(w.sent, ch)
	if err != nil || status != 200 {
		w.failed = append(w.failed, fmt.Sprintf("%s %s (%s %s): %d %v %.300s", method, path, ch.kind, ch.key, status, err, raw))
	}
}

// lastTitle is each stakeholder's title as last sent (each is sent by one sender, in order).
func (w *changeLog) lastTitle() map[string]string {
	out := map[string]string{}
	for _, c := range w.sent {
		if c.kind == "stakeholder" {
			out[c.name] = c.key
		}
	}
	return out
}

// timeline reads the deal's whole timeline, page by page.
func timeline(t *testing.T, c apiClient, p string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for {
		page := c.do("GET", fmt.Sprintf("%s/timeline?limit=200&offset=%d", p, len(out)), nil, 200)
		items := page["items"].([]any)
		for _, x := range items {
			out = append(out, x.(map[string]any))
		}
		if len(items) == 0 || len(out) >= int(page["total"].(float64)) {
			return out
		}
	}
}

// timelineKey is the change a timeline entry records, as kind and key of a change, or "".
func timelineKey(e map[string]any) string {
	after, _ := e["after"].(map[string]any)
	summary := fmt.Sprint(e["summary"])
	switch e["action"] {
	case "deal.stakeholder":
		return "stakeholder " + fmt.Sprint(after["title"])
	case "deal.assessment":
		return "assessment " + fmt.Sprint(after["likelihood"])
	case "deal.criteria":
		if list, ok := e["after"].([]any); ok && len(list) > 0 {
			return "criteria " + fmt.Sprint(list[0].(map[string]any)["name"])
		}
	case "deal.advance":
		return "advance " + fmt.Sprint(after["stage"])
	case "deal.sla":
		// "SLA of the development stage set to 40d"
		var stage, sla string
		if _, err := fmt.Sscanf(summary, "SLA of the %s stage set to %s", &stage, &sla); err == nil {
			return "sla " + stage + " " + sla
		}
		return "sla ? " + summary
	}
	return ""
}
