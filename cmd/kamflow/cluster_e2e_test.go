//go:build cluster

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/db/dbtest"
	"github.com/kamflow/kamflow/engine"
	"github.com/kamflow/kamflow/workflows"
)

// TestCluster is kamflow as production runs it, all on loopback: PostgreSQL; the official
// Temporal server as a process of its own on PostgreSQL persistence and visibility
// (cluster_temporal_test.go); two `kamflow worker` and two `kamflow serve` processes. Through
// both serves in turn it drives deals concurrently through the six stages and their delivery plan
// to delivered, as a client behind a load balancer would (each change sent with an
// Idempotency-Key, sent again to the other serve when its serve does not answer), while it
// SIGKILLs one worker and one serve mid-run and starts them again, and then restarts every kamflow
// process one at a time (SIGTERM, exit 0 within its shutdown timeout, started again, ready on
// /readyz). Meanwhile a few deals wait in the proposal stage, whose SLA is short: their stall and
// escalation timers fire after the kill, on the workers then running. At the end: every change
// answered 2xx is in its deal (record, history and timeline), every deal's projection equals its
// workflow's state, no workflow has a task stuck, and the stall notices are there.
//
// It runs twice: in plaintext with 100 deals (KAMFLOW_CLUSTER_DEALS), then with mutual TLS on the
// Temporal frontend (certificates made by the test, kamflow given TEMPORAL_TLS_CA, _CERT, _KEY and
// _SERVER_NAME) with fewer (KAMFLOW_CLUSTER_TLS_DEALS, 20). `make e2e-cluster` runs it.
func TestCluster(t *testing.T) {
	f := findTemporal(t)
	t.Run("plaintext", func(t *testing.T) {
		runCluster(t, f, clusterPlan{name: "pt", deals: envInt(t, "KAMFLOW_CLUSTER_DEALS", 100), stallDeals: max(2, envInt(t, "KAMFLOW_CLUSTER_DEALS", 100)/10)})
	})
	t.Run("tls", func(t *testing.T) {
		runCluster(t, f, clusterPlan{name: "tls", deals: envInt(t, "KAMFLOW_CLUSTER_TLS_DEALS", 20), stallDeals: max(2, envInt(t, "KAMFLOW_CLUSTER_TLS_DEALS", 20)/10), tls: true})
	})
}

func envInt(t *testing.T, key string, def int) int {
	v := os.Getenv(key)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q: give a number above zero", key, v)
	}
	return n
}

// clusterPlan is one run's size.
type clusterPlan struct {
	name       string // in the deals' titles and keys
	deals      int    // walked to delivered
	stallDeals int    // left in the proposal stage to stall
	tls        bool
}

const (
	// clusterSLA is the proposal stage's SLA in the run: long enough for the walked deals to pass
	// through proposal before it (under load, a few seconds), short enough for the waiting deals'
	// timers to fire within the run; the directors are told at 1.5× it.
	clusterSLA         = 30 * time.Second
	clusterEscalation  = 1.5
	clusterWalkTimeout = 8 * time.Minute // one deal's walk, claims of a killed serve included
	// clusterServeStopTimeout is the serves' KAMFLOW_SHUTDOWN_TIMEOUT here: kamflow's default
	// (30 s, Kubernetes' grace period too). A stopping serve waits for its Updates under way, and on
	// this loaded 2-core machine a Temporal Update took up to 20 s (the server's "Slow gRPC call"):
	// with 10 s a serve of the rolling restart cut one and exited 1.
	clusterServeStopTimeout = defaultShutdownTimeout
)

// clusterRun is one run's installation and what it saw.
type clusterRun struct {
	t    *testing.T
	plan clusterPlan
	tc   *temporalCluster
	s    *stack

	mu          sync.Mutex
	workers     [2]*proc
	workerAddrs [2]string
	serves      [2]*proc
	serveAddrs  [2]string
	starts      map[string]int // processes started, by kind
	procs       []*proc        // every one, for their output when the test fails
	events      []string       // kills and restarts, as they happened
	accepted    []acceptedChange
	tokens      map[string]string

	rr                                           atomic.Int64
	requests, answered2xx, failovers, claimWaits atomic.Int64
	unavailable, stepsDone                       atomic.Int64
	t0, killedWorkerAt                           time.Time
}

// acceptedChange is a change answered 2xx: its deal, what it was, and its Idempotency-Key.
type acceptedChange struct{ deal, kind, key string }

func runCluster(t *testing.T, f temporalFiles, plan clusterPlan) {
	t0 := time.Now()
	r := &clusterRun{t: t, plan: plan, starts: map[string]int{}, tokens: map[string]string{}}
	r.tc = startTemporal(t, f, plan.tls)
	r.procs = append(r.procs, r.tc.proc)
	t.Cleanup(r.keepOutput)
	r.s = &stack{t: t, dbURL: dbtest.PostgresURL(t), temporalAddr: r.tc.addr, namespace: clusterNamespace, connEnv: r.tc.connEnv}
	r.s.openDB(t.Context())
	t1 := time.Now()
	for i := range 2 { // one after the other: the first registers the search attributes
		r.startWorker(i)
	}
	for i := range 2 {
		r.startServe(i)
	}
	t.Logf("two workers and two serves up in %s (workers' probes at %v, serves at %v)", fmtDuration(time.Since(t1)), r.workerAddrs, r.serveAddrs)
	r.checkSearchAttributes()
	for _, u := range []string{"kam1", "director", "engineer1", "admin"} {
		a := r.call("", "POST", "/api/v1/auth/login", map[string]any{"username": u, "password": "demo"}, "")
		if a.status != 200 {
			t.Fatalf("login %s: %d %s", u, a.status, a.body)
		}
		r.tokens[u] = a.json["token"].(string)
	}
	if a := r.call("admin", "PUT", "/api/v1/settings/stages/proposal", map[string]any{"sla": clusterSLA.String(), "director_after": clusterEscalation}, plan.name+"-sla"); a.status != 200 {
		t.Fatalf("the proposal stage's SLA: %d %s", a.status, a.body)
	}

	r.t0 = time.Now()
	walks := r.walkAll()
	t.Logf("%s deals walked in %s", plan.name, fmtDuration(time.Since(r.t0)))
	if t.Failed() {
		return
	}
	t2 := time.Now()
	r.check(walks)
	t.Logf("checked in %s", fmtDuration(time.Since(t2)))
	r.mu.Lock()
	t.Logf("RESULT %s: TLS %v; Temporal up in %s; %d deals to delivered and %d left to stall; %d changes answered 2xx, %d HTTP requests sent (%d answered 2xx), %d resent to the other serve for want of an answer, %d waits on a claim of a killed serve, %d answers 503 sent again; %d worker and %d serve processes started; walk %s; run in all %s\n%s",
		plan.name, plan.tls, fmtDuration(r.tc.started), plan.deals, plan.stallDeals, len(r.accepted), r.requests.Load(), r.answered2xx.Load(),
		r.failovers.Load(), r.claimWaits.Load(), r.unavailable.Load(), r.starts["worker"], r.starts["serve"], walkStats(walks),
		fmtDuration(time.Since(t0)), strings.Join(r.events, "\n"))
	r.mu.Unlock()
}

var workerProbesUp = regexp.MustCompile(`msg="HTTP listening" what="worker metrics and probes" addr=(\S+)`)

// keepOutput writes, when the test failed, the whole output of every process it started into a
// directory that outlives the test, and says where.
func (r *clusterRun) keepOutput() {
	if !r.t.Failed() {
		return
	}
	dir, err := os.MkdirTemp("", "kamflow-cluster-"+r.plan.name+"-")
	if err != nil {
		r.t.Log(err)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range r.procs {
		p.mu.Lock()
		out := strings.Join(p.lines, "\n")
		p.mu.Unlock()
		if err := os.WriteFile(filepath.Join(dir, strings.ReplaceAll(p.name, " ", "-")+".log"), []byte(out), 0o644); err != nil {
			r.t.Log(err)
		}
	}
	r.t.Logf("the processes' output is in %s", dir)
}

// event notes a kill or restart, with when it came in the run.
func (r *clusterRun) event(format string, args ...any) {
	msg := fmt.Sprintf("%7s  ", fmtDuration(time.Since(r.t0))) + fmt.Sprintf(format, args...)
	r.mu.Lock()
	r.events = append(r.events, msg)
	r.mu.Unlock()
	r.t.Log(msg)
}

// startWorker starts worker i (again) and waits until its /readyz answers 200.
func (r *clusterRun) startWorker(i int) {
	r.t.Helper()
	r.mu.Lock()
	r.starts["worker"]++
	name := fmt.Sprintf("worker %c%d", 'A'+i, r.starts["worker"])
	r.mu.Unlock()
	p := r.s.startWorker(name, "--shutdown-timeout", workerStopTimeout.String())
	r.mu.Lock()
	r.procs = append(r.procs, p)
	r.mu.Unlock()
	addr := p.waitLine(workerProbesUp, startupWait)[1]
	r.awaitReady(name, addr)
	r.mu.Lock()
	r.workers[i], r.workerAddrs[i] = p, addr
	r.mu.Unlock()
}

// startServe starts serve i (again, on its address) and waits until its /readyz answers 200.
func (r *clusterRun) startServe(i int) {
	r.t.Helper()
	r.mu.Lock()
	r.starts["serve"]++
	name := fmt.Sprintf("serve %c%d", 'A'+i, r.starts["serve"])
	addr := r.serveAddrs[i]
	r.mu.Unlock()
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	p, got := r.s.startServe(name, addr, "KAMFLOW_SHUTDOWN_TIMEOUT="+clusterServeStopTimeout.String())
	r.mu.Lock()
	r.procs = append(r.procs, p)
	r.mu.Unlock()
	r.awaitReady(name, got)
	r.mu.Lock()
	r.serves[i], r.serveAddrs[i] = p, got
	r.mu.Unlock()
}

func (r *clusterRun) awaitReady(name, addr string) {
	r.t.Helper()
	poll(r.t, name+" ready", time.Minute, 100*time.Millisecond, func() error {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err != nil {
			return err
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("%d %s", resp.StatusCode, body)
		}
		return nil
	})
}

// checkSearchAttributes: the first worker registered kamflow's search attributes on the
// cluster's SQL visibility, through the operator service.
func (r *clusterRun) checkSearchAttributes() {
	r.t.Helper()
	have, err := r.tc.client.OperatorService().ListSearchAttributes(r.t.Context(), &operatorservice.ListSearchAttributesRequest{Namespace: clusterNamespace})
	if err != nil {
		r.t.Fatal(err)
	}
	for name, typ := range engine.SearchAttributes {
		if got, ok := have.GetCustomAttributes()[name]; !ok || got != typ {
			r.t.Errorf("search attribute %s: %v (registered %v), want %v", name, got, ok, typ)
		}
	}
}

// answer is what a serve answered.
type answer struct {
	status int
	body   []byte
	json   map[string]any
}

func (a answer) code() string {
	e, _ := a.json["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

var clusterHTTP = &http.Client{Timeout: 3 * time.Minute}

// call sends a request as user ("" for none) with an Idempotency-Key (key, "" for none) to the
// serves in turn, as a client behind a load balancer: a request that gets no answer (its serve
// is down, or died answering) goes to the other serve; 409 in_progress (a claim on the key by a
// serve that died answering, held until it expires) and 503 (the deal service did not answer in
// time) are sent again after a moment, with the same key. It returns the first other answer.
func (r *clusterRun) call(user, method, path string, body any, key string) answer {
	var raw []byte
	if body != nil {
		raw, _ = json.Marshal(body)
	}
	n := r.rr.Add(1)
	deadline := time.Now().Add(clusterWalkTimeout)
	for attempt := int64(0); ; attempt++ {
		r.mu.Lock()
		base := "http://" + r.serveAddrs[(n+attempt)%2]
		token := r.tokens[user]
		r.mu.Unlock()
		req, _ := http.NewRequest(method, base+path, bytes.NewReader(raw))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		if key != "" {
			req.Header.Set("Idempotency-Key", key)
		}
		r.requests.Add(1)
		resp, err := clusterHTTP.Do(req)
		if err != nil {
			if time.Now().After(deadline) {
				return answer{body: []byte(err.Error())}
			}
			r.failovers.Add(1)
			time.Sleep(100 * time.Millisecond)
			continue
		}
		a := answer{status: resp.StatusCode}
		a.body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		json.Unmarshal(a.body, &a.json)
		retry := false
		switch {
		case a.status == 409 && a.code() == "in_progress":
			r.claimWaits.Add(1)
			retry = true
		case a.status == 503:
			r.unavailable.Add(1)
			retry = true
		case a.status >= 200 && a.status < 300:
			r.answered2xx.Add(1)
		}
		if !retry || time.Now().After(deadline) {
			return a
		}
		time.Sleep(time.Second)
	}
}

// walkErr ends a deal's walk: a step answered otherwise than it should.
type walkErr struct{ msg string }

// dealWalk is one deal's way through the stages.
type dealWalk struct {
	r        *clusterRun
	i        int
	stall    bool // left in proposal
	id, p    string
	n        int // steps sent
	took     time.Duration
	inFlight string // the step under way, for a walk that does not end
}

func (w *dealWalk) fail(format string, args ...any) {
	panic(walkErr{fmt.Sprintf("deal %d (%s): ", w.i, w.id) + fmt.Sprintf(format, args...)})
}

// step sends one change as user and wants status; answered so, it is an accepted change, of
// the kind of the audit entry it leaves.
func (w *dealWalk) step(user, kind, method, path string, body any, status int) map[string]any {
	w.n++
	key := fmt.Sprintf("%s-%03d-%02d-%s", w.r.plan.name, w.i, w.n, strings.NewReplacer(".", "-", "_", "-").Replace(kind))
	w.inFlight = key
	a := w.r.call(user, method, "/api/v1/deals"+w.p+path, body, key)
	if a.status != status {
		w.fail("%s %s: %d %.400s, want %d", method, path, a.status, a.body, status)
	}
	if w.id == "" {
		w.id, _ = a.json["id"].(string)
		w.p = "/" + w.id
	}
	w.r.mu.Lock()
	w.r.accepted = append(w.r.accepted, acceptedChange{deal: w.id, kind: kind, key: key})
	w.r.mu.Unlock()
	w.r.stepsDone.Add(1)
	return a.json
}

// get reads as user, wanting 200.
func (w *dealWalk) get(user, path string) map[string]any {
	a := w.r.call(user, "GET", "/api/v1/deals"+w.p+path, nil, "")
	if a.status != 200 {
		w.fail("GET %s: %d %.400s", path, a.status, a.body)
	}
	return a.json
}

// await polls cond every 200 ms until it holds.
func (w *dealWalk) await(what string, cond func() (bool, string)) {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		ok, saw := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			w.fail("%s: not within 2m; saw %s", what, saw)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// walkSteps is the number of changes a walk to delivered sends.
const walkSteps = 27

// walk takes a new deal through the six stages (each stage's key node met) and its delivery plan
// to delivered; a stall deal stops in proposal.
func (w *dealWalk) walk(account string) {
	t0 := time.Now()
	w.step("kam1", "deal.create", "POST", "", map[string]any{"account_id": account, "title": fmt.Sprintf("Cluster %s deal %03d", w.r.plan.name, w.i),
		"value": "12000000.00", "currency": "CNY", "expected_close": "2027-03-31"}, 201)
	w.step("kam1", "deal.assessment", "PUT", "/assessment", map[string]any{"scores": passingScores, "expected_close": "2027-03-31", "likelihood": 50 + w.i%40}, 200)
	advance := func(from, to string) {
		if d := w.step("kam1", "deal.advance", "POST", "/advance", map[string]any{"from": from}, 200); d["stage"] != to {
			w.fail("advanced from %s to %v, want %s", from, d["stage"], to)
		}
	}
	advance("development", "entry")
	w.step("kam1", "deal.stakeholder", "POST", "/stakeholders", map[string]any{"name": "王工 Wang", "title": "Chief engineer", "role": "insider", "stance": "supporter", "engaged": true}, 200)
	w.step("kam1", "deal.stakeholder", "POST", "/stakeholders", map[string]any{"name": "李总 Li", "title": "Plant director", "role": "decision_maker", "stance": "neutral", "engaged": true}, 200)
	advance("entry", "proposal")
	if w.stall {
		w.took = time.Since(t0)
		return
	}
	w.step("kam1", "deal.criteria", "PUT", "/criteria", map[string]any{"criteria": []map[string]any{{"name": "API 610 compliance", "favours": "us"}, {"name": "16-week delivery", "favours": "neutral"}}}, 200)
	w.step("kam1", "deal.proposal", "POST", "/proposal", map[string]any{"submitted_on": "2026-12-01", "summary": "Two duty pumps and one standby"}, 200)
	advance("proposal", "bid")
	w.step("kam1", "deal.bid", "PUT", "/bid", map[string]any{"cost": "10500000.00", "price": "12000000.00", "deadline": "2027-01-15", "submitted": true}, 200)
	w.step("director", "deal.approve_margin", "POST", "/bid/approve", nil, 200) // a 12.5% margin is under the floor
	advance("bid", "negotiation")
	w.step("director", "deal.approve_contract", "POST", "/contract/approve", nil, 200)
	if d := w.step("kam1", "deal.sign_contract", "POST", "/contract/sign", map[string]any{"signed_on": "2027-02-01"}, 200); d["status"] != "won" {
		w.fail("signed, the deal is %v", d["status"])
	}
	w.step("kam1", "deal.assign_engineers", "PUT", "/engineers", map[string]any{"engineers": []string{"engineer1"}}, 200)
	advance("negotiation", "delivery")
	taskStatus := func(key string) (string, string) {
		a := w.r.call("engineer1", "GET", "/api/v1/deals"+w.p+"/delivery", nil, "")
		if a.status != 200 {
			return "", fmt.Sprintf("%d %.200s", a.status, a.body)
		}
		tasks, _ := a.json["tasks"].([]any)
		for _, x := range tasks {
			if tk, _ := x.(map[string]any); tk["key"] == key {
				return fmt.Sprint(tk["status"]), ""
			}
		}
		return "", fmt.Sprintf("%d tasks, none %s", len(tasks), key)
	}
	for _, key := range []string{"site_survey", "installation", "commissioning", "training", "acceptance_test"} {
		w.await("the task "+key+" ready to start", func() (bool, string) { s, saw := taskStatus(key); return s != "", saw })
		w.step("engineer1", "delivery.start", "POST", "/delivery/tasks/"+key+"/start", nil, 200)
		w.await("the task "+key+" active", func() (bool, string) { s, saw := taskStatus(key); return s == "active", s + saw })
		body := map[string]any{"notes": key + " done"}
		if key == "acceptance_test" {
			body = map[string]any{"result": "pass", "notes": "72h run test passed"}
		}
		w.step("engineer1", "delivery.complete", "POST", "/delivery/tasks/"+key+"/complete", body, 200)
	}
	w.await("the acceptance on the deal", func() (bool, string) {
		a, _ := w.get("kam1", "")["acceptance"].(map[string]any)
		return a != nil && a["result"] == "pass", fmt.Sprint(a)
	})
	if d := w.step("kam1", "deal.close_project", "POST", "/project/close", nil, 200); d["status"] != "delivered" {
		w.fail("the closed project's deal is %v", d["status"])
	}
	w.took = time.Since(t0)
}

// walkAll walks the deals, all at once, and runs the kills and restarts meanwhile: one worker
// killed once the stall deals wait in proposal, one serve killed at 40% of the walked deals'
// changes, every process restarted in turn from 60%.
func (r *clusterRun) walkAll() []*dealWalk {
	t := r.t
	var accounts []string
	for i := range (r.plan.deals + r.plan.stallDeals + 9) / 10 {
		a := r.call("kam1", "POST", "/api/v1/accounts", map[string]any{"name": fmt.Sprintf("Cluster %s account %02d", r.plan.name, i)}, fmt.Sprintf("%s-account-%02d", r.plan.name, i))
		if a.status != 201 {
			t.Fatalf("account: %d %s", a.status, a.body)
		}
		accounts = append(accounts, a.json["id"].(string))
	}
	var walks []*dealWalk
	for i := range r.plan.deals + r.plan.stallDeals {
		walks = append(walks, &dealWalk{r: r, i: i, stall: i >= r.plan.deals})
	}
	var stallsIn sync.WaitGroup
	stallsIn.Add(r.plan.stallDeals)
	var wg sync.WaitGroup
	errs := make(chan string, len(walks))
	// The stall deals first: they are in proposal early, their timers firing mid-run.
	order := append(slices.Clone(walks[r.plan.deals:]), walks[:r.plan.deals]...)
	for _, w := range order {
		// All under way within a few seconds, not all in the same instant: 110 deal creations
		// at once saturate a small machine's Temporal past the API's command timeout.
		time.Sleep(25 * time.Millisecond)
		wg.Go(func() {
			defer func() {
				if w.stall {
					stallsIn.Done()
				}
				if e := recover(); e != nil {
					we, ok := e.(walkErr)
					if !ok {
						panic(e)
					}
					errs <- we.msg
				}
			}()
			w.walk(accounts[w.i/10])
		})
	}
	walked := make(chan struct{})
	go func() { wg.Wait(); close(walked) }()

	// The kills and restarts, from the test's goroutine.
	total := int64(r.plan.deals*walkSteps + r.plan.stallDeals*6)
	at := func(frac float64) {
		for r.stepsDone.Load() < int64(frac*float64(total)) {
			select {
			case <-walked:
				t.Errorf("the deals were walked before %.0f%% of their changes: the kills and restarts came too late", frac*100)
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	progress := func() string { return fmt.Sprintf("%d of %d changes", r.stepsDone.Load(), total) }
	stallsIn.Wait()
	r.event("the %d stall deals wait in proposal (SLA %s); %s", r.plan.stallDeals, clusterSLA, progress())
	r.mu.Lock()
	victim := r.workers[0]
	r.mu.Unlock()
	victim.kill()
	r.killedWorkerAt = time.Now()
	r.event("worker A SIGKILLed; %s", progress())
	r.startWorker(0)
	r.event("worker A started again and ready")
	at(0.4)
	r.mu.Lock()
	victim = r.serves[1]
	r.mu.Unlock()
	victim.kill()
	r.event("serve B SIGKILLed; %s", progress())
	r.startServe(1)
	r.event("serve B started again and ready")
	at(0.6)
	r.event("rolling restart; %s", progress())
	for _, p := range []struct {
		kind string
		i    int
	}{{"worker", 0}, {"worker", 1}, {"serve", 0}, {"serve", 1}} {
		r.mu.Lock()
		old, within := r.workers[p.i], workerStopTimeout
		if p.kind == "serve" {
			old, within = r.serves[p.i], clusterServeStopTimeout
		}
		r.mu.Unlock()
		code, took := old.terminate(within + exitMargin + 10*time.Second)
		if code != 0 || took > within+exitMargin {
			t.Errorf("%s sent SIGTERM exited %d after %s, want 0 within its shutdown timeout %s", old.name, code, fmtDuration(took), within)
		}
		if p.kind == "worker" {
			r.startWorker(p.i)
		} else {
			r.startServe(p.i)
		}
		r.event("%s stopped by SIGTERM (exit %d in %s), started again and ready; %s", old.name, code, fmtDuration(took), progress())
	}
	r.event("rolling restart done")
	select {
	case <-walked:
	case <-time.After(clusterWalkTimeout + time.Minute):
		var stuck []string
		for _, w := range walks {
			if w.took == 0 {
				stuck = append(stuck, fmt.Sprintf("%d %s at %s", w.i, w.id, w.inFlight))
			}
		}
		t.Fatalf("the walks did not end: %v", stuck)
	}
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	return walks
}

// walkStats are the walks' durations, median and slowest.
func walkStats(walks []*dealWalk) string {
	var d []time.Duration
	for _, w := range walks {
		if !w.stall {
			d = append(d, w.took)
		}
	}
	slices.Sort(d)
	if len(d) == 0 {
		return "none"
	}
	return fmt.Sprintf("median %s, slowest %s", fmtDuration(d[len(d)/2]), fmtDuration(d[len(d)-1]))
}

// check checks what the run left.
func (r *clusterRun) check(walks []*dealWalk) {
	r.checkAccepted(walks)
	r.checkProjections(walks)
	r.checkNoTaskStuck()
	r.checkStalls(walks)
}

// checkAccepted: each change answered 2xx is in its deal. The walked deals are delivered, with
// one history row for each stage they entered and their delivery; each change's audit entry is
// on its deal's timeline once.
func (r *clusterRun) checkAccepted(walks []*dealWalk) {
	t := r.t
	byDeal := map[string][]acceptedChange{}
	for _, c := range r.accepted {
		byDeal[c.deal] = append(byDeal[c.deal], c)
	}
	for _, w := range walks {
		if got := len(byDeal[w.id]); w.stall && got != 6 || !w.stall && got != walkSteps {
			t.Errorf("deal %d (%s): %d changes answered 2xx, want %d", w.i, w.id, got, map[bool]int{true: 6, false: walkSteps}[w.stall])
		}
		d, err := r.s.db.Deal(t.Context(), w.id)
		if err != nil {
			t.Errorf("deal %d: %v", w.i, err)
			continue
		}
		wantStage, wantStatus := kamflow.Delivery, kamflow.StatusDelivered
		if w.stall {
			wantStage, wantStatus = kamflow.Proposal, kamflow.StatusOpen
		}
		if d.Stage != wantStage || d.Status != wantStatus || len(d.Stakeholders) != 2 || d.Assessment == nil || d.Assessment.Likelihood != 50+w.i%40 {
			t.Errorf("deal %d (%s): %s %s, %d stakeholders, assessment %+v; want %s %s, the two stakeholders and likelihood %d",
				w.i, w.id, d.Stage, d.Status, len(d.Stakeholders), d.Assessment, wantStage, wantStatus, 50+w.i%40)
		}
		// The history: created, then each move once.
		var moves []string
		if err := r.s.db.Gorm().Raw(`SELECT kind || ' ' || to_stage FROM stage_transitions WHERE deal_id = ? ORDER BY seq`, w.id).Scan(&moves).Error; err != nil {
			t.Fatal(err)
		}
		if want := map[bool]int{true: 3, false: 8}[w.stall]; len(moves) != want || len(moves) != len(slices.Compact(slices.Clone(moves))) {
			t.Errorf("deal %d (%s): history %v, want %d rows, none twice", w.i, w.id, moves, want)
		}
		// Each accepted change's audit entry, once.
		var entries []string
		if err := r.s.db.Gorm().Raw(`SELECT action FROM audit_log WHERE entity_id = ? ORDER BY id`, w.id).Scan(&entries).Error; err != nil {
			t.Fatal(err)
		}
		if w.i == 0 {
			t.Logf("deal 0's history %v and audit entries %v", moves, entries)
		}
		// Beside them, a walked deal's acceptance (which the acceptance test's completion
		// records on the deal) once, and a stall deal's stall; a walked deal may have stalled
		// too, if it was held in proposal past the SLA (by a claim of the killed serve).
		var want, other []string
		for _, c := range byDeal[w.id] {
			want = append(want, c.kind)
		}
		for _, e := range entries {
			if e == "deal.acceptance" || e == "deal.stalled" {
				other = append(other, e)
			}
		}
		entries = slices.DeleteFunc(entries, func(e string) bool { return e == "deal.acceptance" || e == "deal.stalled" })
		if !slices.Equal(sortedCopy(entries), sortedCopy(want)) {
			t.Errorf("deal %d (%s): audit entries %v, want %v, one for each change answered 2xx", w.i, w.id, entries, want)
		}
		if w.stall && !slices.Equal(other, []string{"deal.stalled"}) || !w.stall && !slices.Contains(other, "deal.acceptance") || len(other) > 2 {
			t.Errorf("deal %d (%s): audit entries %v beside the changes answered 2xx", w.i, w.id, other)
		}
	}
}

func sortedCopy(s []string) []string { s = slices.Clone(s); slices.Sort(s); return s }

// checkProjections: every deal's record in the database is the deal its workflow holds.
func (r *clusterRun) checkProjections(walks []*dealWalk) {
	t := r.t
	var bad []string
	for _, w := range walks {
		v, err := r.tc.client.QueryWorkflow(t.Context(), workflows.WorkflowID(w.id), "", workflows.DealQuery)
		var inWorkflow kamflow.Deal
		if err == nil {
			err = v.Get(&inWorkflow)
		}
		if err != nil {
			bad = append(bad, fmt.Sprintf("%s: query: %v", w.id, err))
			continue
		}
		inDB, err := r.s.db.Deal(t.Context(), w.id)
		if err != nil {
			bad = append(bad, fmt.Sprintf("%s: %v", w.id, err))
			continue
		}
		a, _ := json.Marshal(inWorkflow)
		b, _ := json.Marshal(inDB)
		if !bytes.Equal(a, b) {
			bad = append(bad, fmt.Sprintf("%s: workflow %s\ndatabase %s", w.id, a, b))
		}
	}
	if len(bad) > 0 {
		t.Errorf("%d of %d deals' records differ from their workflows: %s", len(bad), len(walks), strings.Join(bad[:min(3, len(bad))], "\n"))
	}
}

// checkNoTaskStuck describes every workflow of the namespace, open and closed: none failed or
// timed out, and within a minute every open one has no workflow task pending for more than
// 5 s and no activity retrying past its third attempt.
func (r *clusterRun) checkNoTaskStuck() {
	t := r.t
	ctx := t.Context()
	list := func(query string) []*workflowservice.ListWorkflowExecutionsResponse {
		var pages []*workflowservice.ListWorkflowExecutionsResponse
		var token []byte
		for {
			resp, err := r.tc.client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: clusterNamespace, Query: query, NextPageToken: token, PageSize: 1000})
			if err != nil {
				t.Fatalf("list workflows %q: %v", query, err)
			}
			pages = append(pages, resp)
			if token = resp.GetNextPageToken(); len(token) == 0 {
				return pages
			}
		}
	}
	for _, p := range list(`ExecutionStatus = 'Failed' OR ExecutionStatus = 'TimedOut' OR ExecutionStatus = 'Terminated'`) {
		for _, e := range p.GetExecutions() {
			t.Errorf("workflow %s (%s) ended %s", e.GetExecution().GetWorkflowId(), e.GetType().GetName(), e.GetStatus())
		}
	}
	var stuck []string
	open := 0
	poll(t, "every workflow's tasks done", time.Minute, time.Second, func() error {
		stuck, open = nil, 0
		for _, p := range list(`ExecutionStatus = 'Running'`) {
			for _, e := range p.GetExecutions() {
				open++
				d, err := r.tc.client.DescribeWorkflowExecution(ctx, e.GetExecution().GetWorkflowId(), "")
				if err != nil {
					return err
				}
				if d.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
					continue // it ended, or continued as new, since the list
				}
				id := e.GetExecution().GetWorkflowId()
				if wt := d.GetPendingWorkflowTask(); wt != nil && time.Since(wt.GetScheduledTime().AsTime()) > 5*time.Second {
					stuck = append(stuck, fmt.Sprintf("%s: workflow task %s since %s, attempt %d", id, wt.GetState(), wt.GetScheduledTime().AsTime().Format(time.TimeOnly), wt.GetAttempt()))
				}
				for _, a := range d.GetPendingActivities() {
					if a.GetAttempt() > 3 {
						stuck = append(stuck, fmt.Sprintf("%s: activity %s attempt %d, %s: %s", id, a.GetActivityType().GetName(), a.GetAttempt(), a.GetState(), a.GetLastFailure().GetMessage()))
					}
				}
			}
		}
		if len(stuck) > 0 {
			return fmt.Errorf("%d stuck: %v: %w", len(stuck), stuck[:min(5, len(stuck))], errNotYet)
		}
		return nil
	})
	t.Logf("%d open workflows described, none with a task stuck", open)
}

// checkStalls: each deal left in proposal passed its SLA after the worker was killed: stalled in
// its record, its KAM told, and its directors at 1.5× the SLA; the timers fired on the workers
// running then.
func (r *clusterRun) checkStalls(walks []*dealWalk) {
	t := r.t
	var ids []string
	for _, w := range walks {
		if w.stall {
			ids = append(ids, w.id)
		}
	}
	var first, last time.Time
	poll(t, "the stall deals stalled and escalated", 2*time.Minute, time.Second, func() error {
		var rows []struct {
			DealID, Kind string
			N            int
			First, Last  time.Time
		}
		if err := r.s.db.Gorm().Raw(`SELECT deal_id, kind, count(*) AS n, min(created_at) AS first, max(created_at) AS last FROM notifications
			WHERE deal_id IN ? AND kind IN ? GROUP BY deal_id, kind`, ids, []string{kamflow.NoticeStalled, kamflow.NoticeEscalated}).Scan(&rows).Error; err != nil {
			return err
		}
		got := map[string]int{}
		for _, x := range rows {
			got[x.Kind]++
			if first.IsZero() || x.First.Before(first) {
				first = x.First
			}
			if x.Last.After(last) {
				last = x.Last
			}
		}
		stalled := r.s.count(`SELECT count(*) FROM deals WHERE id IN ? AND stalled`, ids)
		if got[kamflow.NoticeStalled] != len(ids) || got[kamflow.NoticeEscalated] != len(ids) || stalled != len(ids) {
			return fmt.Errorf("%d of %d deals stalled, %d with their KAM told, %d with their directors told: %w", stalled, len(ids), got[kamflow.NoticeStalled], got[kamflow.NoticeEscalated], errNotYet)
		}
		return nil
	})
	if first.Before(r.killedWorkerAt) {
		t.Errorf("a stall notice came %s into the run, before the worker was killed (%s): the SLA is too short to show the timers firing on the workers after it",
			fmtDuration(first.Sub(r.t0)), fmtDuration(r.killedWorkerAt.Sub(r.t0)))
	}
	if !t.Failed() {
		t.Logf("the %d stall deals stalled and escalated: notices from %s to %s into the run", len(ids), fmtDuration(first.Sub(r.t0)), fmtDuration(last.Sub(r.t0)))
	}
}
