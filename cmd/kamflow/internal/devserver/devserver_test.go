package devserver

import (
	"context"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	enums "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// quietLogger shows warnings and errors only, on stderr (not t.Log: the
// server may still log from background goroutines after a test has ended).
func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

func startServer(t *testing.T, opts Options) *Server {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = quietLogger()
	}
	begin := time.Now()
	s, err := Start(t.Context(), opts)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Logf("server started on %s in %v", s.HostPort(), time.Since(begin).Round(time.Millisecond))
	t.Cleanup(func() { _ = s.Stop() })
	return s
}

func stopServer(t *testing.T, s *Server) {
	t.Helper()
	begin := time.Now()
	if err := s.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	t.Logf("server stopped in %v", time.Since(begin).Round(time.Millisecond))
}

func dial(t *testing.T, s *Server) client.Client {
	t.Helper()
	c, err := client.Dial(client.Options{
		HostPort:  s.HostPort(),
		Namespace: s.Namespace(),
		Logger:    sdklog.NewStructuredLogger(quietLogger()),
	})
	if err != nil {
		t.Fatalf("dial %s: %v", s.HostPort(), err)
	}
	return c
}

const taskQueue = "devserver-test"

// greetAfterSignal waits for a "name" signal and greets it.
func greetAfterSignal(ctx workflow.Context) (string, error) {
	var name string
	workflow.GetSignalChannel(ctx, "name").Receive(ctx, &name)
	return "hello " + name, nil
}

func startWorker(t *testing.T, c client.Client) worker.Worker {
	t.Helper()
	w := worker.New(c, taskQueue, worker.Options{})
	w.RegisterWorkflow(greetAfterSignal)
	if err := w.Start(); err != nil {
		t.Fatalf("worker start: %v", err)
	}
	return w
}

// childDirEnv, when set, makes TestWorkflowSurvivesRestart run only the first
// life of the server, in a child process, on the given data dir.
const childDirEnv = "DEVSERVER_TEST_FIRST_LIFE_DIR"

// TestWorkflowSurvivesRestart starts a workflow that waits for a signal, stops
// the server, starts it again on the same data dir and finishes the workflow.
// The first life runs in a child process (this test binary re-executed), as
// with a real `kamflow dev` restart, so nothing can survive in memory.
func TestWorkflowSurvivesRestart(t *testing.T) {
	if dir := os.Getenv(childDirEnv); dir != "" {
		firstLife(t, dir)
		return
	}
	t.Parallel()
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()

	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestWorkflowSurvivesRestart$", "-test.v")
	cmd.Env = append(os.Environ(), childDirEnv+"="+dir)
	out, err := cmd.CombinedOutput()
	t.Logf("first life (child process):\n%s", out)
	if err != nil {
		t.Fatalf("first life failed: %v", err)
	}
	runID, err := os.ReadFile(filepath.Join(dir, "run-id"))
	if err != nil {
		t.Fatal(err)
	}
	restart(ctx, t, dir, string(runID))
}

// TestWorkflowSurvivesRestartInProcess is the same, with both lives in this
// process (as when a caller stops and restarts the server without exiting).
func TestWorkflowSurvivesRestartInProcess(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	runID := firstLife(t, dir)
	restart(ctx, t, dir, runID)
}

// firstLife starts the workflow, waits until a worker has picked it up and
// stops everything. It returns the run ID, also written to dir/run-id.
func firstLife(t *testing.T, dir string) string {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	s1 := startServer(t, Options{DataDir: dir, Namespace: "kamflow"})
	c1 := dial(t, s1)
	w1 := startWorker(t, c1)
	run, err := c1.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "survivor", TaskQueue: taskQueue}, greetAfterSignal)
	if err != nil {
		t.Fatalf("ExecuteWorkflow: %v", err)
	}
	// Wait until the worker has processed the first workflow task, so the
	// workflow is really in progress (not just queued) when the server stops.
	waitForEvent(ctx, t, c1, run, enums.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
	w1.Stop()
	c1.Close()
	stopServer(t, s1)
	if err := os.WriteFile(filepath.Join(dir, "run-id"), []byte(run.GetRunID()), 0o644); err != nil {
		t.Fatal(err)
	}
	return run.GetRunID()
}

// restart starts the server again on dir and checks that the workflow from
// firstLife is still running and can be finished.
func restart(ctx context.Context, t *testing.T, dir, runID string) {
	// Second life on the same data dir (new port).
	s2 := startServer(t, Options{DataDir: dir, Namespace: "kamflow"})
	c2 := dial(t, s2)
	defer c2.Close()
	desc, err := c2.DescribeWorkflowExecution(ctx, "survivor", "")
	if err != nil {
		t.Fatalf("workflow lost after restart: %v", err)
	}
	info := desc.GetWorkflowExecutionInfo()
	if got := info.GetStatus(); got != enums.WORKFLOW_EXECUTION_STATUS_RUNNING {
		t.Fatalf("status after restart = %v, want RUNNING", got)
	}
	if got := info.GetExecution().GetRunId(); got != runID {
		t.Fatalf("run id after restart = %s, want %s", got, runID)
	}

	w2 := startWorker(t, c2)
	defer w2.Stop()
	if err := c2.SignalWorkflow(ctx, "survivor", "", "name", "kamflow"); err != nil {
		t.Fatalf("SignalWorkflow: %v", err)
	}
	var result string
	if err := c2.GetWorkflow(ctx, "survivor", runID).Get(ctx, &result); err != nil {
		t.Fatalf("workflow result: %v", err)
	}
	if result != "hello kamflow" {
		t.Fatalf("result = %q, want %q", result, "hello kamflow")
	}
}

func waitForEvent(ctx context.Context, t *testing.T, c client.Client, run client.WorkflowRun, want enums.EventType) {
	t.Helper()
	for {
		it := c.GetWorkflowHistory(ctx, run.GetID(), run.GetRunID(), false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			ev, err := it.Next()
			if err != nil {
				t.Fatalf("history: %v", err)
			}
			if ev.GetEventType() == want {
				return
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no %v event: %v", want, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func listSearchAttributes(t *testing.T, s *Server) map[string]enums.IndexedValueType {
	t.Helper()
	c := dial(t, s)
	defer c.Close()
	resp, err := c.OperatorService().ListSearchAttributes(t.Context(),
		&operatorservice.ListSearchAttributesRequest{Namespace: s.Namespace()})
	if err != nil {
		t.Fatalf("ListSearchAttributes: %v", err)
	}
	return resp.GetCustomAttributes()
}

func TestSearchAttributes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	attrs := map[string]enums.IndexedValueType{"KamflowStage": enums.INDEXED_VALUE_TYPE_KEYWORD}

	s1 := startServer(t, Options{DataDir: dir, SearchAttributes: attrs})
	if s1.Namespace() != "default" {
		t.Errorf("Namespace() = %q, want default", s1.Namespace())
	}
	if got := listSearchAttributes(t, s1)["KamflowStage"]; got != enums.INDEXED_VALUE_TYPE_KEYWORD {
		t.Fatalf("KamflowStage registered as %v, want Keyword", got)
	}
	stopServer(t, s1)

	// Same attributes again, plus a new one: no error, both registered.
	attrs["KamflowRunCount"] = enums.INDEXED_VALUE_TYPE_INT
	s2 := startServer(t, Options{DataDir: dir, SearchAttributes: attrs})
	got := listSearchAttributes(t, s2)
	for name, typ := range attrs {
		if got[name] != typ {
			t.Errorf("%s registered as %v, want %v (all: %v)", name, got[name], typ, got)
		}
	}
	// And both are usable right away, including the one added on restart.
	c := dial(t, s2)
	stage := temporal.NewSearchAttributeKeyKeyword("KamflowStage")
	runCount := temporal.NewSearchAttributeKeyInt64("KamflowRunCount")
	run, err := c.ExecuteWorkflow(t.Context(), client.StartWorkflowOptions{
		ID:                    "with-search-attributes",
		TaskQueue:             taskQueue,
		TypedSearchAttributes: temporal.NewSearchAttributes(stage.ValueSet("build"), runCount.ValueSet(3)),
	}, greetAfterSignal)
	if err != nil {
		t.Fatalf("ExecuteWorkflow with search attributes: %v", err)
	}
	desc, err := c.DescribeWorkflowExecution(t.Context(), run.GetID(), run.GetRunID())
	if err != nil {
		t.Fatalf("DescribeWorkflowExecution: %v", err)
	}
	indexed := desc.GetWorkflowExecutionInfo().GetSearchAttributes().GetIndexedFields()
	for _, name := range []string{"KamflowStage", "KamflowRunCount"} {
		if _, ok := indexed[name]; !ok {
			t.Errorf("workflow search attributes lack %s: %v", name, indexed)
		}
	}
	c.Close()
	stopServer(t, s2)

	// Same name with another type is refused with a clear error.
	_, err = Start(t.Context(), Options{
		DataDir:          dir,
		Logger:           quietLogger(),
		SearchAttributes: map[string]enums.IndexedValueType{"KamflowStage": enums.INDEXED_VALUE_TYPE_TEXT},
	})
	if err == nil || !strings.Contains(err.Error(), "KamflowStage") {
		t.Fatalf("Start with conflicting search attribute type: err = %v, want an error naming KamflowStage", err)
	}
}

func TestPortInUse(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port

	begin := time.Now()
	s, err := Start(t.Context(), Options{DataDir: t.TempDir(), Port: port, Logger: quietLogger()})
	if err == nil {
		_ = s.Stop()
		t.Fatalf("Start on busy port %d succeeded", port)
	}
	if !strings.Contains(err.Error(), "port") {
		t.Errorf("error does not mention the port: %v", err)
	}
	t.Logf("Start on busy port failed in %v: %v", time.Since(begin).Round(time.Millisecond), err)
}

func TestSameDataDirTwiceInProcess(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	startServer(t, Options{DataDir: dir})
	if s, err := Start(t.Context(), Options{DataDir: dir, Logger: quietLogger()}); err == nil {
		_ = s.Stop()
		t.Fatal("second Start on a data dir in use succeeded")
	}
}
