package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/engine"
	"github.com/kamflow/kamflow/workflows"
)

// The replay corpus recorder. TestRecordHistories is a tool, not a test: asked for, it starts the
// embedded Temporal server the way the end-to-end tests do, drives each scenario below through
// the real API (and the Temporal client where the API cannot), waits until each workflow has done
// what its scenario needs, and writes the history of every run of every workflow involved to
// workflows/testdata/<workflow type>/<scenario>-<YYYYMMDD>-<git sha>.json, which
// workflows.TestReplayRecordedHistories replays. It adds files and never overwrites one.
//
//	KAMFLOW_RECORD_HISTORIES=1 go test ./cmd/kamflow -run TestRecordHistories -count=1 -timeout 30m -v
//
// One scenario: -run 'TestRecordHistories/stall-escalation'. KAMFLOW_RECORD_DIR writes elsewhere
// than workflows/testdata; KAMFLOW_RECORD_REV names the revision in the file names (by default
// the working tree's short git sha, "+dirty" when workflows/ has uncommitted changes, or a random
// tag outside git).

var recordHistories = flag.Bool("record", false, "TestRecordHistories: record the workflows' replay corpus into workflows/testdata")

// recordTimeout bounds every wait of the recorder: each names what it waited for when it fails.
const recordTimeout = 90 * time.Second

func TestRecordHistories(t *testing.T) {
	if !*recordHistories && os.Getenv("KAMFLOW_RECORD_HISTORIES") != "1" {
		t.Skip("records the workflows' replay corpus when asked: KAMFLOW_RECORD_HISTORIES=1 go test ./cmd/kamflow -run TestRecordHistories -count=1 -timeout 30m -v (README: Recording workflow histories)")
	}
	r := newRecorder(t)
	for _, s := range []struct {
		name string
		run  func(*testing.T, *recorder)
	}{
		{"six-stages-forced", recordSixStages},
		{"pause-resume", recordPauseResume},
		{"delivery-step-fails", recordStepFails},
		{"deal-continue-as-new", recordDealContinueAsNew},
		{"delivery-continue-as-new", recordDeliveryContinueAsNew},
		{"stall-escalation", recordStallEscalation},
		{"digest", recordDigests},
		{"settings-change", recordSettingsChange},
		{"settings-fanout", recordSettingsFanout},
		{"imports", recordImports},
		{"handover", recordHandover},
	} {
		t.Run(s.name, func(t *testing.T) { s.run(t, r) })
	}
	r.summary(t)
}

// recorder is the running kamflow dev and what the scenarios share.
type recorder struct {
	app     *devApp
	base    string
	fs      *recFieldService
	dir     string // where the histories go
	rev     string // the revision in their names
	date    string // YYYYMMDD
	account string // the account every scenario's deals belong to
	team    string // its team
	cadence []kamflow.Duration

	mu      sync.Mutex
	written []recorded
}

// recorded is one history file written.
type recorded struct {
	path     string
	typ      string
	events   int
	markers  []string
	closedAs string
}

func newRecorder(t *testing.T) *recorder {
	r := &recorder{fs: newRecFieldService(t), date: time.Now().UTC().Format("20060102")}
	r.dir = os.Getenv("KAMFLOW_RECORD_DIR")
	if r.dir == "" {
		r.dir = filepath.Join("..", "..", "workflows", "testdata")
	}
	if st, err := os.Stat(r.dir); err != nil || !st.IsDir() {
		t.Fatalf("the histories go to %s, which is not a directory (KAMFLOW_RECORD_DIR): %v", r.dir, err)
	}
	r.rev = recordRevision(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	app, err := startDev(ctx, quietLogger(), config{dataDir: t.TempDir(), namespace: "default", temporalPort: 0, demoPassword: "demo",
		fieldServiceURL: r.fs.srv.URL, fieldServiceSecret: "recorder"})
	if err != nil {
		t.Fatalf("starting kamflow dev on the embedded Temporal server: %v", err)
	}
	r.app = app
	srv := httptest.NewServer(app.api)
	t.Cleanup(func() { srv.Close(); app.Close() })
	r.base = srv.URL
	// Service visits seconds after a project closes, so that the delivery scenarios run to the
	// end of their service (and their workflows complete).
	r.cadence = []kamflow.Duration{kamflow.Duration(2 * time.Second), kamflow.Duration(4 * time.Second)}
	login(t, r.base, "admin").do("PUT", "/api/v1/settings/service-cadence", map[string]any{"service_cadence": []string{"2s", "4s"}}, 200)
	kam := login(t, r.base, "kam1")
	acct := kam.do("POST", "/api/v1/accounts", map[string]any{"name": "华东石化 East China Petrochemical", "industry": "petrochemical"}, 201)
	r.account = acct["id"].(string)
	r.team, _ = acct["team_id"].(string)
	t.Logf("recording into %s as %s-%s", r.dir, r.date, r.rev)
	return r
}

// recordRevision names the code recorded: KAMFLOW_RECORD_REV, or the short git sha of the working
// tree (with "+dirty" when the workflows have uncommitted changes), or a random tag.
func recordRevision(t *testing.T) string {
	if v := os.Getenv("KAMFLOW_RECORD_REV"); v != "" {
		return v
	}
	out, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		b := make([]byte, 4)
		_, _ = rand.Read(b)
		return "r" + hex.EncodeToString(b)
	}
	rev := strings.TrimSpace(string(out))
	if st, err := exec.Command("git", "status", "--porcelain", "--", "../../workflows/*.go").Output(); err == nil && len(strings.TrimSpace(string(st))) > 0 {
		rev += "+dirty"
	}
	return rev
}

// as is the API client of a demo user, failing t.
func (r *recorder) as(t *testing.T, username string) apiClient { return login(t, r.base, username) }

// awaitState polls cond until it holds, for up to recordTimeout; cond says what it saw, which the
// failure reports.
func awaitState(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(recordTimeout)
	for {
		ok, saw := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s; last seen: %s", recordTimeout, what, saw)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// newDeal opens a deal on the recorder's account as the KAM and returns its API path.
func (r *recorder) newDeal(t *testing.T, kam apiClient, title string) (id, path string) {
	t.Helper()
	d := kam.do("POST", "/api/v1/deals", map[string]any{"account_id": r.account, "title": title, "value": "12000000.00", "currency": "CNY",
		"expected_close": "2027-03-31"}, 201)
	return d["id"].(string), "/api/v1/deals/" + d["id"].(string)
}

var passingScores = func() map[string]int {
	s := map[string]int{}
	for _, f := range []string{"project_level", "funding", "technical_fit", "relationship", "credit", "product", "price", "solution", "service"} {
		s[f] = 4
	}
	return s
}()

// walkToWon takes a deal in development to a signed contract, each stage's key node met (or, with
// force, the entry stage's forced past by the director with a reason), and assigns engineer1.
func walkToWon(t *testing.T, kam, director apiClient, p string, force bool) {
	t.Helper()
	kam.do("PUT", p+"/assessment", map[string]any{"scores": passingScores, "expected_close": "2027-03-31", "likelihood": 75}, 200)
	kam.do("POST", p+"/advance", nil, 200)
	kam.do("POST", p+"/stakeholders", map[string]any{"name": "王工 Wang", "title": "Chief engineer", "role": "insider", "stance": "supporter", "engaged": true}, 200)
	if force {
		// No decision maker yet: the entry stage's key node is not met, and the director forces it.
		kam.do("POST", p+"/advance", nil, 409)
		if d := director.do("POST", p+"/advance", map[string]any{"force": true, "reason": "tender published early"}, 200); d["forced"] != true {
			t.Fatalf("the forced advance: %v", d)
		}
	} else {
		kam.do("POST", p+"/stakeholders", map[string]any{"name": "李总 Li", "title": "Plant director", "role": "decision_maker", "stance": "neutral", "engaged": true}, 200)
		kam.do("POST", p+"/advance", nil, 200)
	}
	kam.do("PUT", p+"/criteria", map[string]any{"criteria": []map[string]any{{"name": "API 610 compliance", "favours": "us"}, {"name": "16-week delivery", "favours": "neutral"}}}, 200)
	kam.do("POST", p+"/proposal", map[string]any{"submitted_on": "2026-12-01", "summary": "Two duty pumps and one standby"}, 200)
	kam.do("POST", p+"/advance", nil, 200)
	kam.do("PUT", p+"/bid", map[string]any{"cost": "10500000.00", "price": "12000000.00", "deadline": "2027-01-15", "submitted": true}, 200)
	director.do("POST", p+"/bid/approve", nil, 200) // a 12.5% margin is under the floor
	kam.do("POST", p+"/advance", nil, 200)
	director.do("POST", p+"/contract/approve", nil, 200)
	if won := kam.do("POST", p+"/contract/sign", map[string]any{"signed_on": "2027-02-01"}, 200); won["status"] != "won" {
		t.Fatalf("after signing the deal is %v", won["status"])
	}
	kam.do("PUT", p+"/engineers", map[string]any{"engineers": []string{"engineer1"}}, 200)
}

// plan reads the deal's delivery plan, nil while there is none.
func plan(t *testing.T, c apiClient, p string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest("GET", c.base+p+"/delivery", nil)
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&out) != nil {
		return nil
	}
	return out
}

// task is the task of the plan with that key.
func task(pl map[string]any, key string) map[string]any {
	if pl == nil {
		return nil
	}
	for _, x := range pl["tasks"].([]any) {
		if tk := x.(map[string]any); tk["key"] == key {
			return tk
		}
	}
	return nil
}

// awaitTask waits until the task's status is one of want.
func awaitTask(t *testing.T, eng apiClient, p, key string, want ...string) map[string]any {
	t.Helper()
	var tk map[string]any
	awaitState(t, fmt.Sprintf("delivery task %s %v", key, want), func() (bool, string) {
		tk = task(plan(t, eng, p), key)
		if tk == nil {
			return false, "no such task yet"
		}
		return slices.Contains(want, fmt.Sprint(tk["status"])), fmt.Sprintf("%v", tk)
	})
	return tk
}

// runTask starts a task as the engineer, waits until its steps are done, and completes it.
func runTask(t *testing.T, eng apiClient, p, key string, complete map[string]any) {
	t.Helper()
	eng.do("POST", p+"/delivery/tasks/"+key+"/start", nil, 200)
	awaitTask(t, eng, p, key, "active")
	if complete == nil {
		complete = map[string]any{"notes": key + " done"}
	}
	eng.do("POST", p+"/delivery/tasks/"+key+"/complete", complete, 200)
}

// finishDelivery runs the plan's training and acceptance test unless done (a pass with a punch
// list, then the item resolved), closes the project, and reports every service visit of the cadence: the deal's
// workflow and then its delivery's complete.
func (r *recorder) finishDelivery(t *testing.T, kam, eng apiClient, dealID, p string, between func()) {
	t.Helper()
	if between == nil {
		between = func() {}
	}
	if tk := task(plan(t, eng, p), "training"); tk["status"] != "done" {
		runTask(t, eng, p, "training", nil)
		between()
	}
	if tk := task(plan(t, eng, p), "acceptance_test"); tk["status"] != "done" {
		runTask(t, eng, p, "acceptance_test", map[string]any{"result": "pass_with_punch_list", "notes": "72h run test passed", "punch_list": []string{"Label the cabinets"}})
	}
	awaitState(t, "the acceptance on the deal", func() (bool, string) {
		a, _ := kam.do("GET", p, nil, 200)["acceptance"].(map[string]any)
		return a != nil && a["result"] == "pass_with_punch_list", fmt.Sprint(a)
	})
	between()
	eng.do("POST", p+"/delivery/punch-list/p1/resolve", nil, 200)
	awaitState(t, "the punch list cleared on the deal", func() (bool, string) {
		a, _ := kam.do("GET", p, nil, 200)["acceptance"].(map[string]any)
		return a != nil && a["open_punch_items"] == nil, fmt.Sprint(a)
	})
	between()
	if done := kam.do("POST", p+"/project/close", nil, 200); done["status"] != "delivered" {
		t.Fatalf("the closed project's deal is %v", done["status"])
	}
	for round := 1; round <= len(r.cadence); round++ {
		var visit map[string]any
		awaitState(t, fmt.Sprintf("service visit %d due", round), func() (bool, string) {
			items := eng.do("GET", "/api/v1/service-visits?assignee=me&deal_id="+dealID, nil, 200)["items"].([]any)
			for _, x := range items {
				if v := x.(map[string]any); v["round"].(float64) == float64(round) && v["status"] == "due" {
					visit = v
					return true, ""
				}
			}
			return false, fmt.Sprint(items)
		})
		between()
		rep := eng.do("POST", "/api/v1/service-visits/"+visit["id"].(string)+"/report", map[string]any{
			"visited_on": visit["due"], "faults_found": round - 1, "faults_unresolved": 0, "satisfaction": "satisfied", "notes": "风机轴承异响，已更换滤芯"}, 200)
		if rep["status"] != "reported" {
			t.Fatalf("reported visit %v", rep)
		}
	}
}

// recordSixStages: a deal walked through all six stages with the entry stage forced by the
// director; its delivery plan (the child workflow) run task by task to the acceptance with a punch
// list, the project closed, and both service visits reported.
func recordSixStages(t *testing.T, r *recorder) {
	kam, director, eng := r.as(t, "kam1"), r.as(t, "director"), r.as(t, "engineer1")
	id, p := r.newDeal(t, kam, "Boiler feed pumps, Line 3")
	kam.do("POST", p+"/advance", nil, 409) // the gate is not met: no trace in the history
	walkToWon(t, kam, director, p, true)
	kam.do("POST", p+"/advance", nil, 200)
	awaitState(t, "the delivery plan", func() (bool, string) { return plan(t, eng, p) != nil, "no plan" })
	for _, key := range []string{"site_survey", "installation", "commissioning"} {
		runTask(t, eng, p, key, nil)
	}
	r.finishDelivery(t, kam, eng, id, p, nil)
	r.record(t, "six-stages-forced", workflows.WorkflowID(id), true)
	r.record(t, "six-stages-forced", workflows.DeliveryWorkflowID(id), true)
}

// recordPauseResume: a deal assessed, paused until a date, resumed by hand, and closed as lost.
func recordPauseResume(t *testing.T, r *recorder) {
	kam := r.as(t, "kam1")
	id, p := r.newDeal(t, kam, "Control valves")
	kam.do("PUT", p+"/assessment", map[string]any{"scores": passingScores, "expected_close": "2027-06-30", "likelihood": 60}, 200)
	resume := kamflow.DateOf(time.Now().UTC().Add(14 * 24 * time.Hour))
	if d := kam.do("POST", p+"/pause", map[string]any{"reason": "the customer's budget review", "resume_on": resume}, 200); d["pause"] == nil {
		t.Fatalf("the paused deal shows no pause: %v", d)
	}
	if d := kam.do("POST", p+"/resume", nil, 200); d["pause"] != nil {
		t.Fatalf("the resumed deal is still paused: %v", d["pause"])
	}
	kam.do("POST", p+"/stakeholders", map[string]any{"name": "Zhao", "role": "insider", "stance": "supporter"}, 200)
	kam.do("POST", p+"/close", map[string]any{"outcome": "lost", "reason": "lost on price", "competitor": "Acme Pumps"}, 200)
	r.record(t, "pause-resume", workflows.WorkflowID(id), true)
}

// recordStepFails: a delivery whose installation fails at its last step (the field-service system
// refuses it) and has its done steps undone in reverse, then is retried and succeeds; whose
// commissioning is cancelled while a step runs (undone the same way) and started again; and which
// then runs to the end of its service.
func recordStepFails(t *testing.T, r *recorder) {
	kam, director, eng := r.as(t, "kam1"), r.as(t, "director"), r.as(t, "engineer1")
	id, p := r.newDeal(t, kam, "Flow meters, tank farm")
	walkToWon(t, kam, director, p, false)
	refuse := id + "/installation/notify_customer/1"
	hold := id + "/commissioning/reserve_parts/1"
	release := r.fs.rule(refuse, fsRule{status: http.StatusUnprocessableEntity, msg: "the customer's contact has left the company"})
	defer release()
	releaseHold := r.fs.rule(hold, fsRule{hold: true})
	defer releaseHold()
	kam.do("POST", p+"/advance", nil, 200)
	awaitState(t, "the delivery plan", func() (bool, string) { return plan(t, eng, p) != nil, "no plan" })
	runTask(t, eng, p, "site_survey", nil)

	eng.do("POST", p+"/delivery/tasks/installation/start", nil, 200)
	failed := awaitTask(t, eng, p, "installation", "failed")
	awaitState(t, "the installation's work order and parts undone", func() (bool, string) {
		return r.fs.undone(id, "installation", "work_order") && r.fs.undone(id, "installation", "reserve_parts"), r.fs.calls(id)
	})
	for _, s := range failed["steps"].([]any) {
		if s := s.(map[string]any); s["key"] == "work_order" && s["status"] != "compensated" {
			t.Fatalf("the failed installation's work order is %v, want compensated: %v", s["status"], failed)
		}
	}
	release()
	eng.do("POST", p+"/delivery/tasks/installation/retry", nil, 200)
	awaitTask(t, eng, p, "installation", "active")
	eng.do("POST", p+"/delivery/tasks/installation/complete", map[string]any{"notes": "installed on the second run"}, 200)

	eng.do("POST", p+"/delivery/tasks/commissioning/start", nil, 200)
	awaitState(t, "the commissioning's parts reservation under way", func() (bool, string) { return r.fs.held(hold), r.fs.calls(id) })
	eng.do("POST", p+"/delivery/tasks/commissioning/cancel", nil, 200)
	releaseHold()
	awaitTask(t, eng, p, "commissioning", "cancelled")
	awaitState(t, "the commissioning's work order undone", func() (bool, string) {
		return r.fs.undone(id, "commissioning", "work_order"), r.fs.calls(id)
	})
	runTask(t, eng, p, "commissioning", nil)
	r.finishDelivery(t, kam, eng, id, p, nil)
	r.record(t, "delivery-step-fails", workflows.WorkflowID(id), true)
	r.record(t, "delivery-step-fails", workflows.DeliveryWorkflowID(id), true)
}

// recordDealContinueAsNew: a deal started with MaxUpdatesPerRun 3 (engine.Client's knob), walked
// through all six stages and its delivery, continuing as new every three changes; every run is
// recorded.
func recordDealContinueAsNew(t *testing.T, r *recorder) {
	kam, director, eng := r.as(t, "kam1"), r.as(t, "director"), r.as(t, "engineer1")
	id := r.createDealWithKnob(t, "Cooling water pumps", 3)
	p := "/api/v1/deals/" + id
	walkToWon(t, kam, director, p, false)
	kam.do("POST", p+"/advance", nil, 200)
	awaitState(t, "the delivery plan", func() (bool, string) { return plan(t, eng, p) != nil, "no plan" })
	for _, key := range []string{"site_survey", "installation", "commissioning"} {
		runTask(t, eng, p, key, nil)
	}
	r.finishDelivery(t, kam, eng, id, p, nil)
	if n := r.record(t, "deal-continue-as-new", workflows.WorkflowID(id), true); n < 3 {
		t.Errorf("the deal ran %d runs, want several: it did not continue as new every 3 changes", n)
	}
	r.record(t, "deal-continue-as-new", workflows.DeliveryWorkflowID(id), true)
}

// createDealWithKnob opens a deal as the API does, through an engine.Client whose deals continue
// as new after max accepted changes.
func (r *recorder) createDealWithKnob(t *testing.T, title string, max int) string {
	t.Helper()
	ctx := t.Context()
	u, err := r.app.db.UserByUsername(ctx, "kam1")
	if err != nil {
		t.Fatal(err)
	}
	settings, err := r.app.db.Settings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	me := kamflow.Actor{ID: u.Username, Role: u.Role, Teams: u.Teams}
	value, err := kamflow.ParseMoney("12000000.00")
	if err != nil {
		t.Fatal(err)
	}
	in := kamflow.NewDealInput{AccountID: r.account, Title: title, Value: value, Currency: "CNY", ExpectedClose: "2027-03-31", TeamID: r.team}
	d, created, err := kamflow.NewDeal(uuid.Must(uuid.NewV7()).String(), in, me, time.Now().UTC(), settings)
	if err != nil {
		t.Fatal(err)
	}
	svc := &engine.Client{Temporal: r.app.client, Escalations: r.app.db, MaxUpdatesPerRun: max}
	out, err := svc.CreateDeal(ctx, d, created, settings)
	if err != nil {
		t.Fatalf("opening a deal with MaxUpdatesPerRun %d: %v", max, err)
	}
	return out.ID
}

// recordDeliveryContinueAsNew: a deal's delivery started (through the Temporal client, before the
// deal enters delivery) with MaxChangesPerRun 6, so that it continues as new between tasks; the
// deal then enters delivery and finds its delivery running. After each task the plan is adjusted
// (a task's title) until the run has continued as new: the legacy delivery workflow cannot
// continue as new while a task's steps run (past its limit it spins until they end), so each run
// does one task (at most 5 changes) and its plan edits. Every run is recorded.
func recordDeliveryContinueAsNew(t *testing.T, r *recorder) {
	kam, director, eng := r.as(t, "kam1"), r.as(t, "director"), r.as(t, "engineer1")
	id, p := r.newDeal(t, kam, "Feed water heaters")
	walkToWon(t, kam, director, p, false)
	ctx := t.Context()
	v, err := r.app.client.QueryWorkflow(ctx, workflows.WorkflowID(id), "", workflows.DealQuery)
	if err != nil {
		t.Fatalf("querying the deal's workflow: %v", err)
	}
	var deal kamflow.Deal
	if err := v.Get(&deal); err != nil {
		t.Fatal(err)
	}
	settings, err := r.app.db.Settings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	deal.Stage = kamflow.Delivery // as the deal will stand when it enters delivery
	deal.DeliveryPlanned = true
	pl := kamflow.PlanDelivery(&deal, time.Now().UTC(), settings)
	did := workflows.DeliveryWorkflowID(id)
	if _, err := r.app.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: did, TaskQueue: workflows.TaskQueue,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE},
		workflows.DeliveryWorkflowName, workflows.DeliveryInput{Plan: *pl, Deal: deal, MaxChangesPerRun: 6}); err != nil {
		t.Fatalf("starting the delivery with MaxChangesPerRun 6: %v", err)
	}
	awaitState(t, "the delivery plan", func() (bool, string) { return plan(t, eng, p) != nil, "no plan" })
	kam.do("POST", p+"/advance", nil, 200)
	pads := 0
	for _, key := range []string{"site_survey", "installation", "commissioning", "training", "acceptance_test"} {
		run := r.awaitIdle(t, did).GetWorkflowExecutionInfo().GetExecution().GetRunId()
		var done map[string]any
		if key == "acceptance_test" {
			done = map[string]any{"result": "pass_with_punch_list", "notes": "72h run test passed", "punch_list": []string{"Label the cabinets"}}
		}
		runTask(t, eng, p, key, done)
		for i := 0; ; i++ {
			d := r.awaitIdle(t, did)
			if d.GetWorkflowExecutionInfo().GetExecution().GetRunId() != run {
				break
			}
			if i == 6 {
				t.Fatalf("the delivery did not continue as new within 6 plan edits after the %s task (MaxChangesPerRun 6)", key)
			}
			pads++
			kam.do("PUT", p+"/delivery", map[string]any{"tasks": planSpec(plan(t, kam, p), fmt.Sprintf("Acceptance test (plan edit %d)", pads))}, 200)
		}
	}
	r.finishDelivery(t, kam, eng, id, p, func() { r.awaitIdle(t, did) })
	r.record(t, "delivery-continue-as-new", workflows.WorkflowID(id), true)
	if n := r.record(t, "delivery-continue-as-new", did, true); n < 3 {
		t.Errorf("the delivery ran %d runs, want several: it did not continue as new every 6 changes", n)
	}
}

// planSpec is the plan's tasks as PUT /deals/{id}/delivery takes them, the acceptance test's title
// set to title.
func planSpec(pl map[string]any, title string) []map[string]any {
	var out []map[string]any
	for _, x := range pl["tasks"].([]any) {
		tk := x.(map[string]any)
		s := map[string]any{"key": tk["key"], "depends_on": tk["depends_on"]}
		for _, f := range []string{"title", "assignee", "due"} {
			if v, ok := tk[f]; ok && v != "" {
				s[f] = v
			}
		}
		if tk["key"] == "acceptance_test" {
			s["title"] = title
		}
		out = append(out, s)
	}
	return out
}

// recordStallEscalation: a two-second development SLA with the director's rung at 1.5× stalls a
// deal (its KAM told) and then escalates it (its directors told); the SLA set back to 30 days
// lifts the stall through the settings signal. The deal then stays open, stalled again by
// nothing. The stalled deal is left for the digest scenario while stalled.
func recordStallEscalation(t *testing.T, r *recorder) {
	kam, director, admin := r.as(t, "kam1"), r.as(t, "director"), r.as(t, "admin")
	restore := r.stageSettings(t, admin, "development")
	admin.do("PUT", "/api/v1/settings/stages/development", map[string]any{"sla": "2s", "director_after": 1.5}, 200)
	id, p := r.newDeal(t, kam, "Cold rolling DCS")
	awaitState(t, "the deal stalled after its 2s SLA", func() (bool, string) {
		d := kam.do("GET", p, nil, 200)
		return d["stalled"] == true, fmt.Sprintf("stalled=%v sla=%v", d["stalled"], d["stage_sla"])
	})
	awaitState(t, "the directors told of the stall at 1.5× the SLA", func() (bool, string) {
		items := director.do("GET", "/api/v1/notifications", nil, 200)["items"].([]any)
		for _, x := range items {
			if n := x.(map[string]any); n["kind"] == kamflow.NoticeEscalated && n["deal_id"] == id {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%d notifications, none escalated for %s", len(items), id)
	})
	r.awaitIdle(t, workflows.WorkflowID(id))
	// The digest scenario runs while the deal is stalled.
	recordDigestsNow(t, r)
	restore()
	awaitState(t, "the stall lifted by the 30-day SLA", func() (bool, string) {
		d := kam.do("GET", p, nil, 200)
		return d["stalled"] == false, fmt.Sprintf("stalled=%v sla=%v", d["stalled"], d["stage_sla"])
	})
	r.record(t, "stall-escalation", workflows.WorkflowID(id), false)
}

// recordDigests: the daily digest run by hand for today, and a run started by its Schedule. (Run
// on its own, the digest has no stalled deal to tell of: the stall scenario runs it while its deal
// is stalled.)
func recordDigests(t *testing.T, r *recorder) {
	r.mu.Lock()
	done := slices.ContainsFunc(r.written, func(x recorded) bool { return x.typ == workflows.DigestWorkflowName })
	r.mu.Unlock()
	if done {
		t.Skip("recorded by the stall scenario, while its deal was stalled")
	}
	recordDigestsNow(t, r)
}

func recordDigestsNow(t *testing.T, r *recorder) {
	t.Helper()
	ctx := t.Context()
	today := kamflow.DateOf(time.Now().In(mustZone(t, workflows.DefaultDigestTimeZone)))
	id := "kamflow-digest-record-" + string(today) + "-" + uuid.NewString()[:8]
	run, err := r.app.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: workflows.TaskQueue},
		workflows.DigestWorkflowName, workflows.DigestInput{Date: today})
	if err != nil {
		t.Fatalf("starting the digest of %s: %v", today, err)
	}
	wctx, cancel := context.WithTimeout(ctx, recordTimeout)
	defer cancel()
	if err := run.Get(wctx, nil); err != nil {
		t.Fatalf("the digest of %s: %v", today, err)
	}
	r.record(t, "digest-by-date", id, true)

	h := r.app.client.ScheduleClient().GetHandle(ctx, engine.DigestScheduleID)
	before, err := h.Describe(ctx)
	if err != nil {
		t.Fatalf("the digest's schedule: %v", err)
	}
	if err := h.Trigger(ctx, client.ScheduleTriggerOptions{}); err != nil {
		t.Fatalf("triggering the digest's schedule: %v", err)
	}
	var sid string
	awaitState(t, "the schedule's triggered run", func() (bool, string) {
		d, err := h.Describe(ctx)
		if err != nil {
			return false, err.Error()
		}
		for _, a := range d.Info.RecentActions {
			if a.StartWorkflowResult != nil && !slices.ContainsFunc(before.Info.RecentActions, func(b client.ScheduleActionResult) bool {
				return b.StartWorkflowResult != nil && b.StartWorkflowResult.WorkflowID == a.StartWorkflowResult.WorkflowID
			}) {
				sid = a.StartWorkflowResult.WorkflowID
				return true, ""
			}
		}
		return false, fmt.Sprintf("%d recent actions", len(d.Info.RecentActions))
	})
	r.record(t, "digest-scheduled", sid, true)
}

func mustZone(t *testing.T, name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// recordSettingsChange: a running deal told of every kind of ladder change: its stage's SLA and
// director's rung, its team's override, the override's reset, and the defaults again.
func recordSettingsChange(t *testing.T, r *recorder) {
	kam, admin := r.as(t, "kam1"), r.as(t, "admin")
	restore := r.stageSettings(t, admin, "development")
	defer restore()
	admin.do("PUT", "/api/v1/settings/stages/development", map[string]any{"sla": "30d"}, 200)
	id, p := r.newDeal(t, kam, "Boiler control retrofit")
	kam.do("POST", p+"/stakeholders", map[string]any{"name": "Sun", "role": "technical_evaluator", "stance": "neutral"}, 200)
	sla := func(want string) {
		t.Helper()
		awaitState(t, "the deal held to an SLA of "+want, func() (bool, string) {
			got := fmt.Sprint(kam.do("GET", p, nil, 200)["stage_sla"])
			return got == want, "stage_sla " + got
		})
	}
	admin.do("PUT", "/api/v1/settings/stages/development", map[string]any{"sla": "20d", "director_after": 3}, 200)
	sla("20d")
	if r.team != "" {
		admin.do("PUT", "/api/v1/settings/stages/development", map[string]any{"team": r.team, "sla": "10d", "director_after": 1.5}, 200)
		sla("10d")
		admin.do("PUT", "/api/v1/settings/stages/development", map[string]any{"team": r.team, "reset": true}, 200)
		sla("20d")
	}
	restore()
	sla("30d")
	r.record(t, "settings-change", workflows.WorkflowID(id), false)
}

// stageSettings returns a func that puts the stage's SLA and director's rung back as they are now.
func (r *recorder) stageSettings(t *testing.T, admin apiClient, stage string) func() {
	t.Helper()
	s := admin.do("GET", "/api/v1/settings", nil, 200)
	sla := s["sla"].(map[string]any)[stage]
	after := 2.0
	esc, _ := s["escalation"].(map[string]any)
	stages, _ := esc["stages"].(map[string]any)
	if st, ok := stages[stage].(map[string]any); ok {
		if v, ok := st["director_after"].(float64); ok && v > 0 {
			after = v
		}
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			admin.do("PUT", "/api/v1/settings/stages/"+stage, map[string]any{"sla": sla, "director_after": after}, 200)
		})
	}
}

// awaitIdle waits until the workflow's current run has nothing under way: closed, or running with
// no workflow task, activity or child start pending, its history the same length twice in a row.
func (r *recorder) awaitIdle(t *testing.T, workflowID string) *workflowservice.DescribeWorkflowExecutionResponse {
	t.Helper()
	var last *workflowservice.DescribeWorkflowExecutionResponse
	var lastLen int64 = -1
	awaitState(t, "workflow "+workflowID+" idle", func() (bool, string) {
		d, err := r.app.client.DescribeWorkflowExecution(t.Context(), workflowID, "")
		if err != nil {
			return false, err.Error()
		}
		info := d.GetWorkflowExecutionInfo()
		saw := fmt.Sprintf("status %v, %d events, %d pending activities, workflow task pending %v, %d pending children",
			info.GetStatus(), info.GetHistoryLength(), len(d.GetPendingActivities()), d.GetPendingWorkflowTask() != nil, len(d.GetPendingChildren()))
		busy := info.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING &&
			(len(d.GetPendingActivities()) > 0 || d.GetPendingWorkflowTask() != nil || slices.ContainsFunc(d.GetPendingChildren(),
				func(c *workflowpb.PendingChildExecutionInfo) bool { return c.GetRunId() == "" }))
		stable := info.GetHistoryLength() == lastLen
		lastLen = info.GetHistoryLength()
		last = d
		if busy || !stable {
			time.Sleep(150 * time.Millisecond)
			return false, saw
		}
		return true, saw
	})
	return last
}

// record waits until the workflow is idle (and, with closed, completed or failed: over), then
// writes the history of each of its runs, oldest first, and returns how many runs it had.
func (r *recorder) record(t *testing.T, scenario, workflowID string, closed bool) int {
	t.Helper()
	ctx := t.Context()
	if closed {
		awaitState(t, "workflow "+workflowID+" closed", func() (bool, string) {
			d, err := r.app.client.DescribeWorkflowExecution(ctx, workflowID, "")
			if err != nil {
				return false, err.Error()
			}
			st := d.GetWorkflowExecutionInfo().GetStatus()
			return st != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, st.String()
		})
	}
	d := r.awaitIdle(t, workflowID)
	// The runs, from the last back to the first: each run's start names the run it continues.
	var runs []*historypb.History
	for runID := d.GetWorkflowExecutionInfo().GetExecution().GetRunId(); runID != ""; {
		h := r.history(t, workflowID, runID)
		runs = append(runs, h)
		runID = h.Events[0].GetWorkflowExecutionStartedEventAttributes().GetContinuedExecutionRunId()
	}
	slices.Reverse(runs)
	for i, h := range runs {
		name := scenario
		if len(runs) > 1 {
			name = fmt.Sprintf("%s-run%d", scenario, i+1)
		}
		r.write(t, name, h)
	}
	return len(runs)
}

func (r *recorder) history(t *testing.T, workflowID, runID string) *historypb.History {
	t.Helper()
	it := r.app.client.GetWorkflowHistory(t.Context(), workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	h := &historypb.History{}
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatalf("reading the history of %s run %s: %v", workflowID, runID, err)
		}
		h.Events = append(h.Events, ev)
	}
	if len(h.Events) == 0 || h.Events[0].GetWorkflowExecutionStartedEventAttributes() == nil {
		t.Fatalf("the history of %s run %s does not open with its start", workflowID, runID)
	}
	return h
}

// write stores one run's history under <dir>/<workflow type>/<name>-<date>-<rev>.json, a file of
// its own (never an existing one), and checks that it replays on the code that made it.
func (r *recorder) write(t *testing.T, name string, h *historypb.History) {
	t.Helper()
	typ := h.Events[0].GetWorkflowExecutionStartedEventAttributes().GetWorkflowType().GetName()
	b, err := protojson.MarshalOptions{Indent: "  "}.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(r.dir, typ)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	base := fmt.Sprintf("%s-%s-%s", name, r.date, r.rev)
	var f *os.File
	for i := 0; f == nil; i++ {
		path := filepath.Join(dir, base+".json")
		if i > 0 {
			path = filepath.Join(dir, fmt.Sprintf("%s-%d.json", base, i+1))
		}
		f, err = os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, fs.ErrExist) {
			continue
		} else if err != nil {
			t.Fatal(err)
		}
	}
	path := f.Name()
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := replayHistoryFile(path); err != nil {
		_ = os.Remove(path) // the file is this run's own: a history that does not replay is not kept
		t.Fatalf("the recorded %s history does not replay on the code that made it: %v", typ, err)
	}
	rec := recorded{path: path, typ: typ, events: len(h.Events), markers: versionMarkers(h), closedAs: closedAs(h)}
	r.mu.Lock()
	r.written = append(r.written, rec)
	r.mu.Unlock()
	t.Logf("wrote %s: %d events, %s, markers %v", path, rec.events, rec.closedAs, rec.markers)
}

// replayHistoryFile replays a recorded history on this build's workflows, as the replay test does.
func replayHistoryFile(path string) error {
	rp := worker.NewWorkflowReplayer()
	rp.RegisterWorkflowWithOptions(workflows.DealWorkflow, workflow.RegisterOptions{Name: workflows.DealWorkflowName})
	rp.RegisterWorkflowWithOptions(workflows.DeliveryWorkflow, workflow.RegisterOptions{Name: workflows.DeliveryWorkflowName})
	rp.RegisterWorkflowWithOptions(workflows.DigestWorkflow, workflow.RegisterOptions{Name: workflows.DigestWorkflowName})
	rp.RegisterWorkflowWithOptions(workflows.SettingsFanoutWorkflow, workflow.RegisterOptions{Name: workflows.SettingsFanoutWorkflowName})
	rp.RegisterWorkflowWithOptions(workflows.ImportWorkflow, workflow.RegisterOptions{Name: workflows.ImportWorkflowName})
	rp.RegisterWorkflowWithOptions(workflows.HandoverWorkflow, workflow.RegisterOptions{Name: workflows.HandoverWorkflowName})
	return rp.ReplayWorkflowHistoryFromJSONFile(tlog.NewStructuredLogger(slog.New(slog.DiscardHandler)), path)
}

// versionMarkers lists the GetVersion markers of a history as change=version.
func versionMarkers(h *historypb.History) []string {
	var out []string
	for _, e := range h.Events {
		m := e.GetMarkerRecordedEventAttributes()
		if m == nil || m.GetMarkerName() != "Version" {
			continue
		}
		var id string
		var v int
		if p := m.GetDetails()["change-id"]; p != nil && len(p.Payloads) > 0 {
			_ = json.Unmarshal(p.Payloads[0].GetData(), &id)
		}
		if p := m.GetDetails()["version"]; p != nil && len(p.Payloads) > 0 {
			_ = json.Unmarshal(p.Payloads[0].GetData(), &v)
		}
		if s := fmt.Sprintf("%s=%d", id, v); !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

// closedAs is how the run ended, or "running".
func closedAs(h *historypb.History) string {
	switch h.Events[len(h.Events)-1].GetEventType() {
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
		return "completed"
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
		return "continued as new"
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
		return "failed"
	}
	return "running"
}

// summary logs what was written, for the README's table.
func (r *recorder) summary(t *testing.T) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	for _, w := range r.written {
		rel, err := filepath.Rel(r.dir, w.path)
		if err != nil {
			rel = w.path
		}
		fmt.Fprintf(&b, "\n  %s (%d events, %s) markers: %s", rel, w.events, w.closedAs, strings.Join(w.markers, ", "))
	}
	t.Logf("recorded %d histories:%s", len(r.written), b.String())
}

// recFieldService is the recorder's field-service system: it answers every delivery step at once
// with a reference, except the steps a scenario set a rule for (by deal/task/step/run): refused
// with a status, or held until the rule is released.
type recFieldService struct {
	srv *httptest.Server

	mu    sync.Mutex
	rules map[string]*fsRule
	log   map[string][]string // by deal: the steps asked, "/undo" for an undo
	holds map[string]bool     // held steps seen
}

type fsRule struct {
	status  int
	msg     string
	hold    bool
	release chan struct{}
}

func newRecFieldService(t *testing.T) *recFieldService {
	f := &recFieldService{rules: map[string]*fsRule{}, log: map[string][]string{}, holds: map[string]bool{}}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var s struct {
			DealID string `json:"deal_id"`
			Task   string `json:"task"`
			Step   string `json:"step"`
			Run    int    `json:"run"`
			Undo   bool   `json:"undo"`
		}
		if err := json.NewDecoder(req.Body).Decode(&s); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		key := fmt.Sprintf("%s/%s/%s/%d", s.DealID, s.Task, s.Step, s.Run)
		f.mu.Lock()
		entry := s.Task + "/" + s.Step
		if s.Undo {
			entry += "/undo"
		}
		f.log[s.DealID] = append(f.log[s.DealID], entry)
		rule := f.rules[key]
		if s.Undo {
			rule = nil
		}
		if rule != nil && rule.hold {
			f.holds[key] = true
		}
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if rule != nil && rule.hold {
			select {
			case <-rule.release:
			case <-req.Context().Done():
				return
			}
		}
		if rule != nil && rule.status != 0 {
			http.Error(w, rule.msg, rule.status)
			return
		}
		fmt.Fprintf(w, `{"ref":"FS-%s-%s-%d"}`, s.Task, s.Step, s.Run)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// rule sets how the step of key (deal/task/step/run) is answered until the returned func is
// called (which is safe to call more than once).
func (f *recFieldService) rule(key string, r fsRule) func() {
	r.release = make(chan struct{})
	f.mu.Lock()
	f.rules[key] = &r
	f.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			f.mu.Lock()
			delete(f.rules, key)
			f.mu.Unlock()
			close(r.release)
		})
	}
}

func (f *recFieldService) held(key string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.holds[key]
}

func (f *recFieldService) undone(deal, task, step string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Contains(f.log[deal], task+"/"+step+"/undo")
}

func (f *recFieldService) calls(deal string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.Join(f.log[deal], ", ")
}
