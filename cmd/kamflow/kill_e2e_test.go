package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	tlog "go.temporal.io/sdk/log"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/workflows"
)

// The kill tests' sizes: 18,000 accounts, then 2,000 deals in development on them, the first
// handoverDeals of which are on the first account.
const (
	killAccounts      = 18000
	killDeals         = 2000
	handoverDeals     = 50
	workerStopTimeout = 10 * time.Second // the workers' --shutdown-timeout
	serveStopTimeout  = 10 * time.Second // the serves' KAMFLOW_SHUTDOWN_TIMEOUT
	// exitMargin is what a stopping process may take past its shutdown timeout: closing its
	// connections and exiting.
	exitMargin = 3 * time.Second
)

func killAccountName(i int) string { return fmt.Sprintf("Kill Test Account %05d", i) }
func killDealTitle(i int) string   { return fmt.Sprintf("Kill test deal %04d", i) }

// killDealAccount is the account (1-based) of deal i: the first handoverDeals deals are the
// first account's, the others one an account.
func killDealAccount(i int) int { return max(1, i-handoverDeals+1) }

// TestKillEverything runs kamflow as production does — `kamflow worker` and `kamflow serve` as
// processes of their own, on a Temporal server and PostgreSQL — and kills them in the middle of
// what they do, then checks that a user sees every piece of work done exactly once. Its phases
// run one after the other on the same installation:
//
//   - import: 18,000 accounts, then 2,000 deals, each deal by its own workflow; the worker is
//     killed (SIGKILL) mid-run twice and started again each time, and once more is stopped by
//     SIGTERM mid-run, a new one already up as in a rolling update: the stopped one exits 0
//     within its shutdown timeout. Each import's report counts every row imported, once, and
//     the database holds every account and deal once, each deal with its running workflow.
//   - settings: an SLA change of the stage the 2,000 deals are in is in flight when its serve is
//     sent SIGTERM: it is answered 200 and the serve exits 0 within its shutdown timeout. A
//     second change, which supersedes the first while its fan-out runs, is answered and its serve
//     killed at once. Every deal's record ends with the newer SLA.
//   - handover: an account with 50 open deals is handed to another KAM and the serve killed
//     right after the 202: the handover ends done, every deal the new KAM's, in its record and
//     in its workflow.
func TestKillEverything(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server and kamflow processes")
	}
	t0 := time.Now()
	k := &killRun{t: t, s: startStack(t)}
	var err error
	k.tc, err = client.Dial(client.Options{HostPort: k.s.temporal.HostPort(), Logger: tlog.NewStructuredLogger(quietLogger())})
	if err != nil {
		t.Fatal(err)
	}
	defer k.tc.Close()
	k.worker = k.nextWorker()
	var addr string
	k.serve, addr = k.s.startServe("serve 1", "127.0.0.1:0", k.serveEnv())
	k.base = "http://" + addr
	k.serves = 1
	t.Logf("stack up in %s: Temporal at %s, serve at %s", fmtDuration(time.Since(t0)), k.s.temporal.HostPort(), addr)

	for _, phase := range []struct {
		name string
		run  func()
	}{{"import", k.imports}, {"settings", k.settings}, {"handover", k.handover}} {
		t1 := time.Now()
		phase.run()
		t.Logf("phase %s: %s", phase.name, fmtDuration(time.Since(t1)))
		if t.Failed() {
			break
		}
	}
	t.Logf("%d workers and %d serves started in all; %s", k.workers, k.serves, fmtDuration(time.Since(t0)))
}

// killRun is TestKillEverything's installation: the stack, the kamflow processes running now,
// and the test's own Temporal client.
type killRun struct {
	t               *testing.T
	s               *stack
	tc              client.Client
	worker, serve   *proc
	base            string
	workers, serves int
}

func (k *killRun) serveEnv() string { return "KAMFLOW_SHUTDOWN_TIMEOUT=" + serveStopTimeout.String() }

// nextWorker starts one more worker.
func (k *killRun) nextWorker() *proc {
	k.workers++
	return k.s.startWorker(fmt.Sprintf("worker %d", k.workers), "--shutdown-timeout", workerStopTimeout.String())
}

// nextServe starts one more serve, on the address of the first.
func (k *killRun) nextServe() *proc {
	k.serves++
	p, _ := k.s.startServe(fmt.Sprintf("serve %d", k.serves), strings.TrimPrefix(k.base, "http://"), k.serveEnv())
	return p
}

// imports imports the accounts, then the deals, killing and stopping the worker mid-run.
func (k *killRun) imports() {
	t := k.t
	kam := login(t, k.base, "kam1")
	kills := 0
	// Accounts: the worker is killed once rows are committed, if the run is not over by then
	// (its rows are committed a thousand at a time, quickly); the deals' run makes up a kill
	// that the accounts' missed.
	var accounts strings.Builder
	accounts.WriteString("external_id,name\n")
	for i := 1; i <= killAccounts; i++ {
		fmt.Fprintf(&accounts, "KA-%05d,%s\n", i, killAccountName(i))
	}
	t1 := time.Now()
	imp := kam.upload("kind=accounts&dry_run=false", "accounts.csv", []byte(accounts.String()))
	done := k.awaitImport(kam, imp, 5*time.Minute, func(p *kamflow.Import) {
		if kills == 0 && committedSome(p) {
			k.worker.kill()
			kills++
			t.Logf("worker killed during the accounts' run at %d of %d rows", p.Processed, p.Total)
			k.worker = k.nextWorker()
		}
	})
	t.Logf("accounts imported in %s", fmtDuration(time.Since(t1)))
	checkReport(t, done, killAccounts)

	var deals strings.Builder
	deals.WriteString("external_id,account_id,title,value,stage\n")
	for i := 1; i <= killDeals; i++ {
		fmt.Fprintf(&deals, "KD-%04d,KA-%05d,%s,%d,development\n", i, killDealAccount(i), killDealTitle(i), 100000+i)
	}
	t1 = time.Now()
	var terminated time.Time // when the worker stopped by SIGTERM exited
	var stopped *proc        // that worker
	atExit := 0              // the rows processed then
	imp = kam.upload("kind=deals&dry_run=false", "deals.csv", []byte(deals.String()))
	done = k.awaitImport(kam, imp, 8*time.Minute, func(p *kamflow.Import) {
		switch n := p.Processed; {
		case kills < 2 && n >= 200*(kills+1) && committedSome(p):
			k.worker.kill()
			kills++
			t.Logf("worker killed during the deals' run at %d of %d rows, %s into it", n, p.Total, fmtDuration(time.Since(t1)))
			k.worker = k.nextWorker()
		case kills == 2 && terminated.IsZero() && n >= 1000 && committedSome(p):
			// A rolling update: the new worker is up before the old one is told to stop.
			old := k.worker
			k.worker = k.nextWorker()
			code, took := old.terminate(workerStopTimeout + exitMargin + 10*time.Second)
			terminated, stopped = time.Now(), old
			t.Logf("worker stopped by SIGTERM during the deals' run at %d of %d rows, %s into it: exit %d in %s", n, p.Total, fmtDuration(time.Since(t1)), code, fmtDuration(took))
			if code != 0 || took > workerStopTimeout+exitMargin {
				t.Errorf("a worker sent SIGTERM exited %d after %s, want 0 within its shutdown timeout %s", code, fmtDuration(took), workerStopTimeout)
			}
			if !old.has(`msg="worker stopped"`) {
				t.Errorf("the worker sent SIGTERM did not log its stop")
			}
			t.Logf("its stop:\n%s", strings.Join(old.matching("stop"), "\n"))
			if p, err := k.s.db.Import(t.Context(), p.ID); err == nil {
				atExit = p.Processed
			}
		case atExit > 0 && n > atExit:
			// The stopped worker handed its step back: the new one carries on from it at once,
			// not after the step's heartbeat timeout (20 s). A step that did not return within
			// its hand-back time once cancelled (a loaded machine) is not reported, and the
			// worker says so (not_returned): it is retried after its heartbeat timeout instead.
			bound := 15 * time.Second
			if !stopped.has("not_returned=0") {
				bound += 20 * time.Second
				t.Logf("the stopped worker's step did not return in time to be handed back: it is retried after its heartbeat timeout")
			}
			t.Logf("the import carried on %s after the stopped worker exited", fmtDuration(time.Since(terminated)))
			if d := time.Since(terminated); d > bound {
				t.Errorf("the import carried on %s after the worker sent SIGTERM exited, want within %s", fmtDuration(d), bound)
			}
			atExit = 0
		}
	})
	t.Logf("deals imported in %s", fmtDuration(time.Since(t1)))
	if kills != 2 || terminated.IsZero() {
		t.Errorf("the worker was killed %d times and stopped by SIGTERM %v during the imports, want 2 and true: the runs ended too soon", kills, !terminated.IsZero())
	}
	checkReport(t, done, killDeals)
	t1 = time.Now()
	checkImported(t, k.s, k.tc)
	t.Logf("database and workflows checked in %s", fmtDuration(time.Since(t1)))
}

// settings changes the SLA of the deals' stage twice, stopping and killing the serve.
func (k *killRun) settings() {
	t := k.t
	admin := login(t, k.base, "admin")
	before, err := k.s.db.VersionedSettings(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t1 := time.Now()
	// The first change is in flight — saved, its answer waiting on the fan-out (the API waits up
	// to 2 s for it to end) — when its serve is told to stop.
	var first exchange
	var wg sync.WaitGroup
	wg.Go(func() {
		first = admin.send("PUT", "/api/v1/settings/stages/development", map[string]any{"sla": "45d"}, nil)
	})
	poll(t, "the first SLA change saved", time.Minute, 5*time.Millisecond, func() error {
		v, err := k.s.db.VersionedSettings(t.Context())
		if err == nil && v.Version == before.Version {
			err = errNotYet
		}
		return err
	})
	code, took := k.serve.terminate(serveStopTimeout + exitMargin + 10*time.Second)
	wg.Wait()
	t.Logf("serve stopped by SIGTERM with the SLA change in flight: exit %d in %s; the change answered %d %.300s", code, fmtDuration(took), first.status, first.body)
	if first.status != 200 || first.json["deals_to_tell"] != float64(killDeals) {
		t.Fatalf("the change in flight when its serve was sent SIGTERM was answered %d %s, want 200 with %d deals to tell", first.status, first.body, killDeals)
	}
	if code != 0 || took > serveStopTimeout+exitMargin {
		t.Errorf("a serve sent SIGTERM exited %d after %s, want 0 within its shutdown timeout %s", code, fmtDuration(took), serveStopTimeout)
	}
	if !k.serve.has(`msg="HTTP stopped: every request answered"`) {
		t.Errorf("the serve sent SIGTERM did not log its drain")
	}

	// The second change comes while the first one's fan-out runs, and its serve dies as soon as
	// it has answered.
	k.serve = k.nextServe()
	firstVersion := int64(first.json["version"].(float64))
	poll(t, "the first change's fan-out under way", time.Minute, 50*time.Millisecond, func() error {
		p, ok, err := k.s.db.LatestFanout(t.Context())
		switch {
		case err != nil:
			return err
		case !ok || p.Version != firstVersion || p.Told == 0:
			return errNotYet
		case p.Status != kamflow.FanoutRunning:
			return fmt.Errorf("the first change's fan-out is %s already: %+v", p.Status, p)
		}
		return nil
	})
	second := admin.do("PUT", "/api/v1/settings/stages/development", map[string]any{"sla": "50d"}, 200)
	k.serve.kill()
	t.Logf("second SLA change answered %v, its serve killed", second)
	if second["deals_to_tell"] != float64(killDeals) {
		t.Errorf("the second change: %v, want %d deals to tell", second, killDeals)
	}
	k.serve = k.nextServe()

	poll(t, "every deal's record with the newer SLA", 5*time.Minute, time.Second, func() error {
		if n := k.s.count(`SELECT count(*) FROM deals WHERE (data::jsonb)->>'stage_sla' <> '50d'`); n > 0 {
			return fmt.Errorf("%d of %d deals not at 50d: %w", n, killDeals, errNotYet)
		}
		return nil
	})
	t.Logf("every deal at the newer SLA %s after the first change", fmtDuration(time.Since(t1)))
	got := admin.do("GET", "/api/v1/settings", nil, 200)
	if sla, _ := got["sla"].(map[string]any); fmt.Sprint(sla["development"]) != "50d" {
		t.Errorf("GET /settings: the development SLA is %v, want 50d", got["sla"])
	}
	if n := k.s.count(`SELECT count(*) FROM deals`); n != killDeals {
		t.Errorf("%d deals after the SLA changes, want %d", n, killDeals)
	}
}

// handover hands the first account, with its 50 open deals, to kam2, killing the serve after the
// 202.
func (k *killRun) handover() {
	t := k.t
	director := login(t, k.base, "director")
	var acct string
	if err := k.s.db.Gorm().Raw(`SELECT id FROM accounts WHERE name = ?`, killAccountName(1)).Scan(&acct).Error; err != nil || acct == "" {
		t.Fatalf("the account of the handover: %q %v", acct, err)
	}
	var ids []string
	if err := k.s.db.Gorm().Raw(`SELECT id FROM deals WHERE account_id = ? AND status = 'open' AND owner = 'kam1' ORDER BY id`, acct).Scan(&ids).Error; err != nil {
		t.Fatal(err)
	}
	if len(ids) != handoverDeals {
		t.Fatalf("the account holds %d open deals of kam1, want %d", len(ids), handoverDeals)
	}
	t1 := time.Now()
	h := director.do("POST", "/api/v1/accounts/"+acct+"/handover", map[string]any{"owner": "kam2", "reason": "kam1 moves to the north"}, 202)
	k.serve.kill()
	t.Logf("handover answered %v (%v of %v done), serve killed", h["status"], h["done"], h["total"])
	k.serve = k.nextServe()
	var last map[string]any
	poll(t, "the handover done", 3*time.Minute, 200*time.Millisecond, func() error {
		last = director.do("GET", "/api/v1/accounts/"+acct+"/handover", nil, 200)
		switch last["status"] {
		case "pending", "running":
			return fmt.Errorf("%v, %v of %v done: %w", last["status"], last["done"], last["total"], errNotYet)
		}
		return nil
	})
	t.Logf("handover %v in %s", last["status"], fmtDuration(time.Since(t1)))
	if last["id"] != h["id"] || last["status"] != "done" || last["total"] != float64(handoverDeals) || last["done"] != float64(handoverDeals) || last["refused"] != float64(0) {
		t.Errorf("the handover ended %v (id %v) with %v of %v done, %v refused; want %v done with %d of %d done, none refused",
			last["status"], last["id"], last["done"], last["total"], last["refused"], h["id"], handoverDeals, handoverDeals)
	}
	if a := director.do("GET", "/api/v1/accounts/"+acct, nil, 200); a["owner"] != "kam2" {
		t.Errorf("the account's owner is %v after the handover, want kam2", a["owner"])
	}
	kam2 := login(t, k.base, "kam2")
	for _, id := range ids {
		if d := kam2.do("GET", "/api/v1/deals/"+id, nil, 200); d["owner"] != "kam2" {
			t.Errorf("deal %s: its record's owner is %v, want kam2", id, d["owner"])
		}
		var d kamflow.Deal
		v, err := k.tc.QueryWorkflow(t.Context(), workflows.WorkflowID(id), "", workflows.DealQuery)
		if err == nil {
			err = v.Get(&d)
		}
		if err != nil || d.Owner != "kam2" {
			t.Errorf("deal %s: its workflow's owner is %q (%v), want kam2", id, d.Owner, err)
		}
	}
	// Each deal's timeline shows its reassignment once.
	if n := k.s.count(`SELECT count(*) FROM audit_log WHERE action = 'deal.reassign' AND entity_id IN ?`, ids); n != handoverDeals {
		t.Errorf("%d deal.reassign entries on the %d deals' timelines, want one each", n, handoverDeals)
	}
}

// TestShutdownTimeoutSetting: --shutdown-timeout, or KAMFLOW_SHUTDOWN_TIMEOUT, is a Go duration
// above zero, 30 s by default, the flag before the environment; anything else is refused at
// start with what to give instead.
func TestShutdownTimeoutSetting(t *testing.T) {
	t.Setenv("DATABASE_URL", "postgres://kamflow@db/kamflow")
	// A flag refused prints the usage to standard error: not in the test's output.
	devNull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer devNull.Close()
	stderr := os.Stderr
	os.Stderr = devNull
	defer func() { os.Stderr = stderr }()
	for _, c := range []struct {
		env  string
		args []string
		want time.Duration
		err  string
	}{
		{want: 30 * time.Second},
		{env: "45s", want: 45 * time.Second},
		{env: "45s", args: []string{"--shutdown-timeout", "2m"}, want: 2 * time.Minute},
		{env: "soon", args: []string{"--shutdown-timeout", "10s"}, want: 10 * time.Second},
		{env: "soon", err: `KAMFLOW_SHUTDOWN_TIMEOUT="soon" is not a duration: give one such as 30s or 2m`},
		{env: "30", err: `KAMFLOW_SHUTDOWN_TIMEOUT="30" is not a duration`},
		{args: []string{"--shutdown-timeout", "0s"}, err: "--shutdown-timeout 0s: give a duration above zero"},
		{env: "-5s", err: "--shutdown-timeout -5s: give a duration above zero"},
		{args: []string{"--shutdown-timeout", "half a minute"}, err: `invalid value "half a minute" for flag -shutdown-timeout`},
	} {
		t.Setenv("KAMFLOW_SHUTDOWN_TIMEOUT", c.env)
		for _, cmd := range []string{"serve", "worker", "dev"} {
			cfg, err := parseFlags(cmd, c.args, cmd == "dev")
			switch {
			case c.err == "" && err != nil:
				t.Errorf("%s %v with KAMFLOW_SHUTDOWN_TIMEOUT=%q: %v", cmd, c.args, c.env, err)
			case c.err == "" && cfg.shutdownTimeout != c.want:
				t.Errorf("%s %v with KAMFLOW_SHUTDOWN_TIMEOUT=%q: shutdown timeout %s, want %s", cmd, c.args, c.env, cfg.shutdownTimeout, c.want)
			case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
				t.Errorf("%s %v with KAMFLOW_SHUTDOWN_TIMEOUT=%q: error %v, want one saying %q", cmd, c.args, c.env, err, c.err)
			}
		}
	}
}

// committedSome reports whether an import's run has committed rows and has more to commit.
func committedSome(p *kamflow.Import) bool {
	return p.Status == kamflow.ImportRunning && p.Processed > 0 && p.Processed < p.Total
}

// awaitImport follows an import's progress every 50 ms, calling during with each state seen
// until it is over, and returns its report from GET /imports/{id} once done (failing the test if
// it ends otherwise, or is not over within). The progress is read from the imports row that GET
// /imports/{id} answers from, not through the API: the answer also reads every row of the import
// to list the issues, which 20 times a second would slow the run it watches.
func (k *killRun) awaitImport(c apiClient, imp map[string]any, within time.Duration, during func(*kamflow.Import)) map[string]any {
	t := k.t
	t.Helper()
	id := imp["id"].(string)
	deadline := time.Now().Add(within)
	var slowest time.Duration
	defer func() { t.Logf("GET /imports/{id} answered within %s during the run", slowest.Round(time.Millisecond)) }()
	for polls := 0; ; polls++ {
		p, err := k.s.db.Import(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		switch p.Status {
		case kamflow.ImportDone:
			t0 := time.Now()
			rep := c.do("GET", "/api/v1/imports/"+id, nil, 200)
			t.Logf("GET /imports/{id} of the %d-row import answered in %s", p.Total, time.Since(t0).Round(time.Millisecond))
			return rep
		case kamflow.ImportPending, kamflow.ImportRunning:
			during(p)
		default:
			t.Fatalf("import %s ended %s: %v", id, p.Status, c.do("GET", "/api/v1/imports/"+id, nil, 200))
		}
		if polls%40 == 0 { // what the user sees meanwhile, every 2 s
			t0 := time.Now()
			if got := c.do("GET", "/api/v1/imports/"+id, nil, 200); got["processed"].(float64) < float64(p.Processed) {
				t.Errorf("GET /imports/%s says %v rows processed, the run %d already", id, got["processed"], p.Processed)
			}
			slowest = max(slowest, time.Since(t0))
		}
		if time.Now().After(deadline) {
			t.Fatalf("import %s not done within %s: %d of %d rows", id, within, p.Processed, p.Total)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkReport checks an import's report: every one of its rows imported, and nothing else.
func checkReport(t *testing.T, imp map[string]any, rows int) {
	t.Helper()
	want := map[string]float64{"total": float64(rows), "processed": float64(rows), "imported": float64(rows),
		"skipped": 0, "rejected": 0, "held": 0, "not_imported": 0}
	for k, v := range want {
		if imp[k] != v {
			t.Errorf("the %v import's report: %s is %v, want %v (%v)", imp["kind"], k, imp[k], v, imp)
		}
	}
}

// checkImported checks the database and the workflows after the imports: each account and deal
// of the files once, each deal on its account, kam1's, in development with one imported history
// row and one audit entry, and its workflow running.
func checkImported(t *testing.T, s *stack, tc client.Client) {
	t.Helper()
	var accounts []struct{ ID, Name, Owner string }
	if err := s.db.Gorm().Raw(`SELECT id, name, owner FROM accounts`).Scan(&accounts).Error; err != nil {
		t.Fatal(err)
	}
	byName := map[string]string{}
	for _, a := range accounts {
		if _, dup := byName[a.Name]; dup {
			t.Errorf("account %q is in the database twice", a.Name)
		}
		byName[a.Name] = a.ID
		if a.Owner != "kam1" {
			t.Errorf("account %q is %s's, want kam1's, who imported it", a.Name, a.Owner)
		}
	}
	for i := 1; i <= killAccounts; i++ {
		if byName[killAccountName(i)] == "" {
			t.Errorf("account %q of the file is not in the database", killAccountName(i))
		}
	}
	if len(accounts) != killAccounts {
		t.Errorf("%d accounts in the database, want %d", len(accounts), killAccounts)
	}

	var deals []struct{ ID, AccountID, Title, Owner, Stage, Status string }
	if err := s.db.Gorm().Raw(`SELECT id, account_id, title, owner, stage, status FROM deals`).Scan(&deals).Error; err != nil {
		t.Fatal(err)
	}
	byTitle := map[string]string{}
	for _, d := range deals {
		if _, dup := byTitle[d.Title]; dup {
			t.Errorf("deal %q is in the database twice", d.Title)
		}
		byTitle[d.Title] = d.ID
		var i int
		fmt.Sscanf(d.Title, "Kill test deal %d", &i)
		if want := byName[killAccountName(killDealAccount(i))]; d.AccountID != want || d.Owner != "kam1" || d.Stage != "development" || d.Status != "open" {
			t.Errorf("deal %q: account %s, owner %s, %s, %s; want account %s, kam1, development, open", d.Title, d.AccountID, d.Owner, d.Stage, d.Status, want)
		}
	}
	for i := 1; i <= killDeals; i++ {
		if byTitle[killDealTitle(i)] == "" {
			t.Errorf("deal %q of the file is not in the database", killDealTitle(i))
		}
	}
	if len(deals) != killDeals {
		t.Errorf("%d deals in the database, want %d", len(deals), killDeals)
	}
	for _, c := range []struct{ what, query string }{
		{"imported history rows", `SELECT count(*) FROM stage_transitions WHERE kind = 'imported'`},
		{"deals with an imported history row", `SELECT count(DISTINCT deal_id) FROM stage_transitions WHERE kind = 'imported'`},
		{"history rows", `SELECT count(*) FROM stage_transitions`},
		{"deal.create audit entries", `SELECT count(*) FROM audit_log WHERE action = 'deal.create'`},
		{"deals with a deal.create audit entry", `SELECT count(DISTINCT entity_id) FROM audit_log WHERE action = 'deal.create'`},
	} {
		if n := s.count(c.query); n != killDeals {
			t.Errorf("%d %s, want %d", n, c.what, killDeals)
		}
	}
	for _, c := range []struct{ what, query string }{
		{"account.create audit entries", `SELECT count(*) FROM audit_log WHERE action = 'account.create'`},
		{"accounts with an account.create audit entry", `SELECT count(DISTINCT entity_id) FROM audit_log WHERE action = 'account.create'`},
	} {
		if n := s.count(c.query); n != killAccounts {
			t.Errorf("%d %s, want %d", n, c.what, killAccounts)
		}
	}

	// Each deal's workflow runs; one in 20 is asked for its deal too, which it must hold as its
	// record says (a query costs a workflow task on the worker: not all 2,000).
	ids := make(chan int)
	var mu sync.Mutex
	var bad []string
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i := range ids {
				id := deals[i].ID
				var d kamflow.Deal
				desc, err := tc.DescribeWorkflowExecution(context.Background(), workflows.WorkflowID(id), "")
				if err == nil && desc.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
					err = fmt.Errorf("its workflow is %s", desc.GetWorkflowExecutionInfo().GetStatus())
				}
				if err == nil && i%20 == 0 {
					var v converter.EncodedValue
					if v, err = tc.QueryWorkflow(context.Background(), workflows.WorkflowID(id), "", workflows.DealQuery); err == nil {
						err = v.Get(&d)
					}
					if err == nil && (d.ID != id || d.Stage != kamflow.Development || d.Owner != "kam1") {
						err = fmt.Errorf("its workflow holds deal %s, %s, %s", d.ID, d.Stage, d.Owner)
					}
				}
				if err != nil {
					mu.Lock()
					bad = append(bad, fmt.Sprintf("%s: %v", id, err))
					mu.Unlock()
				}
			}
		})
	}
	for i := range deals {
		ids <- i
	}
	close(ids)
	wg.Wait()
	if len(bad) > 0 {
		t.Errorf("%d deals without their running workflow: %v", len(bad), bad[:min(len(bad), 10)])
	}
}
