package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kamflow/kamflow/cmd/kamflow/internal/devserver"
	"github.com/kamflow/kamflow/db"
	"github.com/kamflow/kamflow/db/dbtest"
	"github.com/kamflow/kamflow/engine"
)

// The tests that kill things run `kamflow serve` and `kamflow worker` as processes of their own,
// as production does: the test binary runs itself again with runAsKamflow set, and TestMain then
// runs main with the arguments instead of the tests. The test process hosts what outlives them:
// the embedded Temporal server and the PostgreSQL database.
const runAsKamflow = "KAMFLOW_TEST_RUN_AS_KAMFLOW"

// runKamflowIfAsked runs main, and exits, in a process started by startProc; it returns at once
// in the test binary itself.
func runKamflowIfAsked() {
	if os.Getenv(runAsKamflow) != "1" {
		return
	}
	// A test binary that dies (a panic, its -timeout) cannot kill its processes: each ends
	// itself once its parent is gone, rather than run on against nothing.
	go func(parent int) {
		for range time.Tick(time.Second) {
			if os.Getppid() != parent {
				os.Exit(3)
			}
		}
	}(os.Getppid())
	main() // os.Args is [test binary, command, flags…], as main expects
	os.Exit(0)
}

// proc is one kamflow process started by a test: its output is kept, line by line, to wait on
// and to show when the test fails.
type proc struct {
	t    *testing.T
	name string
	cmd  *exec.Cmd

	mu    sync.Mutex
	lines []string
	grew  chan struct{} // closed and replaced when a line comes

	exited chan struct{} // closed once the process has exited and its output is read
	state  *os.ProcessState
}

// startProc starts the test binary as `kamflow args…` with env added to the test's environment.
// The process is killed, if still running, when the test ends; its last lines are logged then
// when the test failed.
func startProc(t *testing.T, name string, env []string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(append(os.Environ(), runAsKamflow+"=1"), env...)
	return startCmd(t, name, cmd)
}

// startCmd starts cmd (another program: the cluster test's Temporal server) as startProc does
// the test binary, its output kept and the process killed when the test ends.
func startCmd(t *testing.T, name string, cmd *exec.Cmd) *proc {
	t.Helper()
	p := &proc{t: t, name: name, cmd: cmd, grew: make(chan struct{}), exited: make(chan struct{})}
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stderr = p.cmd.Stdout
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.read(out)
		p.cmd.Wait()
		p.state = p.cmd.ProcessState
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			p.cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			p.mu.Lock()
			tail := p.lines[max(0, len(p.lines)-40):]
			p.mu.Unlock()
			t.Logf("last lines of %s (%s):\n%s", name, p.state, strings.Join(tail, "\n"))
		}
	})
	return p
}

func (p *proc) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		p.mu.Lock()
		p.lines = append(p.lines, sc.Text())
		close(p.grew)
		p.grew = make(chan struct{})
		p.mu.Unlock()
	}
}

// waitLine waits up to timeout for a line of the output matching re, and returns its submatches.
// It fails the test when the process exits first or the time passes.
func (p *proc) waitLine(re *regexp.Regexp, timeout time.Duration) []string {
	p.t.Helper()
	deadline := time.After(timeout)
	for seen := 0; ; {
		p.mu.Lock()
		lines, grew := p.lines, p.grew
		p.mu.Unlock()
		for ; seen < len(lines); seen++ {
			if m := re.FindStringSubmatch(lines[seen]); m != nil {
				return m
			}
		}
		select {
		case <-grew:
		case <-p.exited:
			p.mu.Lock()
			done := seen >= len(p.lines)
			p.mu.Unlock()
			if done {
				p.t.Fatalf("%s exited (%s) before logging %q", p.name, p.state, re)
			}
		case <-deadline:
			p.t.Fatalf("%s did not log %q within %s", p.name, re, timeout)
		}
	}
}

// matching is the lines of the output so far that contain s.
func (p *proc) matching(s string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, l := range p.lines {
		if strings.Contains(l, s) {
			out = append(out, l)
		}
	}
	return out
}

// has reports whether a line of the output so far contains s.
func (p *proc) has(s string) bool { return len(p.matching(s)) > 0 }

// kill ends the process with SIGKILL, as a crash or an OOM kill would, and waits for it to be gone.
func (p *proc) kill() {
	p.t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		p.t.Fatalf("SIGKILL %s: %v", p.name, err)
	}
	<-p.exited
}

// terminate sends SIGTERM, as an orchestrator stopping the process does, and returns how it
// exited and how long it took, failing the test when it is still running after within.
func (p *proc) terminate(within time.Duration) (exitCode int, took time.Duration) {
	p.t.Helper()
	t0 := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		p.t.Fatalf("SIGTERM %s: %v", p.name, err)
	}
	select {
	case <-p.exited:
	case <-time.After(within):
		p.t.Fatalf("%s still running %s after SIGTERM", p.name, within)
	}
	return p.state.ExitCode(), time.Since(t0)
}

// stack is what the processes run against: the embedded Temporal server (or, in the cluster
// test, a Temporal cluster of its own) and a PostgreSQL database of the test's, with the demo
// users in it. The test opens the database too, to check what the processes left there.
type stack struct {
	t        *testing.T
	temporal *devserver.Server // nil on a Temporal cluster
	dbURL    string
	db       *db.DB
	// temporalAddr and namespace are where the processes find Temporal; connEnv how they
	// connect to it (TEMPORAL_TLS_…), none for the embedded server.
	temporalAddr, namespace string
	connEnv                 []string
}

func startStack(t *testing.T) *stack {
	t.Helper()
	s := &stack{t: t, dbURL: dbtest.PostgresURL(t)}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var err error
	s.temporal, err = devserver.Start(ctx, devserver.Options{DataDir: t.TempDir(), Port: 0,
		SearchAttributes: engine.SearchAttributes, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	// Registered before the processes' cleanups, so run after them: the server outlives them.
	t.Cleanup(func() {
		if err := s.temporal.Stop(); err != nil {
			t.Logf("stopping the Temporal server: %v", err)
		}
	})
	s.temporalAddr, s.namespace = s.temporal.HostPort(), "default"
	s.openDB(ctx)
	return s
}

// openDB opens the stack's database and adds the demo users to it.
func (s *stack) openDB(ctx context.Context) {
	t := s.t
	t.Helper()
	s.db = dbtest.Open(t, s.dbURL)
	// Production creates its users with `kamflow user add`; these tests sign in as the demo ones.
	if err := ensureDemoUsers(ctx, quietLogger(), s.db, "demo"); err != nil {
		t.Fatal(err)
	}
}

// env is what every kamflow process of the stack is started with.
func (s *stack) env(extra ...string) []string {
	env := append([]string{"DATABASE_URL=" + s.dbURL, "TEMPORAL_ADDRESS=" + s.temporalAddr,
		"TEMPORAL_NAMESPACE=" + s.namespace, "KAMFLOW_LOG_LEVEL=info",
		"KAMFLOW_WORKER_ADDR=127.0.0.1:0"}, s.connEnv...) // a worker's metrics and probes: a free port each
	return append(env, extra...)
}

var (
	workerUp    = regexp.MustCompile(`msg="kamflow worker is up"`)
	httpUp      = regexp.MustCompile(`msg="HTTP listening" addr=(\S+)`)
	startupWait = 2 * time.Minute
)

// startWorker starts a `kamflow worker` and waits until it polls its task queue.
func (s *stack) startWorker(name string, args ...string) *proc {
	s.t.Helper()
	p := startProc(s.t, name, s.env(), append([]string{"worker"}, args...)...)
	p.waitLine(workerUp, startupWait)
	return p
}

// startServe starts a `kamflow serve` on addr (127.0.0.1:0 for a free port) and returns it with
// the address it listens on once it does.
func (s *stack) startServe(name, addr string, env ...string) (*proc, string) {
	s.t.Helper()
	p := startProc(s.t, name, s.env(env...), "serve", "--addr", addr)
	return p, p.waitLine(httpUp, startupWait)[1]
}

// errNotYet is what a poll returns while the state it waits for has not come.
var errNotYet = errors.New("not yet")

// poll calls check every interval until it returns nil, failing the test with check's last error
// when within has passed.
func poll(t *testing.T, what string, within, interval time.Duration, check func() error) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s: %v", what, within, err)
		}
		time.Sleep(interval)
	}
}

// count runs a SELECT count(…) query on the stack's database.
func (s *stack) count(query string, args ...any) int {
	s.t.Helper()
	var n int
	if err := s.db.Gorm().Raw(query, args...).Scan(&n).Error; err != nil {
		s.t.Fatalf("%s: %v", query, err)
	}
	return n
}

func fmtDuration(d time.Duration) string { return fmt.Sprint(d.Round(100 * time.Millisecond)) }
