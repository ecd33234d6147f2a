package workflows_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/activities"
	"github.com/kamflow/kamflow/internal/logtest"
	"github.com/kamflow/kamflow/requestid"
	"github.com/kamflow/kamflow/workflows"
)

type headerMap map[string]*commonpb.Payload

func (h headerMap) Set(k string, v *commonpb.Payload) { h[k] = v }

// updateRequestIDs stands in for the header of an Update, which the test environment does not
// send: each Update's handler sees the request ID "upd-<its name>", as requestid.Propagator
// would extract from the header engine.Client's Update carries.
type updateRequestIDs struct {
	interceptor.WorkerInterceptorBase
}

func (*updateRequestIDs) InterceptWorkflow(_ workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	i := &updateRequestIDsInbound{}
	i.Next = next
	return i
}

type updateRequestIDsInbound struct {
	interceptor.WorkflowInboundInterceptorBase
}

func (i *updateRequestIDsInbound) ExecuteUpdate(ctx workflow.Context, in *interceptor.UpdateInput) (any, error) {
	return i.Next.ExecuteUpdate(requestid.WithWorkflow(ctx, "upd-"+in.Name), in)
}

// HandleSignal does the same for a signal, whose header the test environment does not send
// either: "sig-<its name>". It must come before requestid.Interceptor in the worker's list.
func (i *updateRequestIDsInbound) HandleSignal(ctx workflow.Context, in *interceptor.HandleSignalInput) error {
	return i.Next.HandleSignal(requestid.WithWorkflow(ctx, "sig-"+in.SignalName), in)
}

// TestRequestIDInDealLogs: the ID of the request that started a deal is in the logs of the
// workflow and of the activity that project its opening; the ID of the request behind an Update
// or a signal (a settings save's fan-out) is in the logs of the change it caused (the
// workflow's, as the loop takes it, and the projecting activity's), and no other request's ID is.
func TestRequestIDInDealLogs(t *testing.T) {
	var sink logtest.Sink
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(log.NewStructuredLogger(slog.New(slog.NewJSONHandler(&sink, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	env := suite.NewTestWorkflowEnvironment()
	env.SetStartTime(start)
	env.SetContextPropagators([]workflow.ContextPropagator{requestid.Propagator()})
	env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{&updateRequestIDs{}, requestid.Interceptor()}})
	hdr := headerMap{}
	if err := requestid.Propagator().Inject(requestid.With(context.Background(), "req-create"), hdr); err != nil {
		t.Fatal(err)
	}
	env.SetHeader(&commonpb.Header{Fields: hdr})
	rec := &recorder{}
	env.RegisterWorkflowWithOptions(workflows.DealWorkflow, workflow.RegisterOptions{Name: workflows.DealWorkflowName})
	env.RegisterActivity(&activities.Activities{Deals: rec, Notifications: rec})
	mockDelivery(env)
	s := kamflow.DefaultSettings()
	d, created, err := kamflow.NewDeal("d1", kamflow.NewDealInput{
		AccountID: "a1", Title: "Boiler feed pumps for Line 3", Value: 120000000, Currency: "CNY", TeamID: "east",
	}, kamflow.Actor{ID: "kam1"}, start, s)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, env: env, rec: rec, in: workflows.DealInput{Deal: *d, Settings: s, Created: created}}
	h.ok(assess(4))
	h.then(func() {
		s := kamflow.DefaultSettings()
		s.SLA = map[kamflow.Stage]kamflow.Duration{kamflow.Development: kamflow.Duration(7 * kamflow.Day)}
		h.env.SignalWorkflow(workflows.EscalationSignal, workflows.SettingsUpdate{Settings: s, Version: 2})
	})
	h.ok(closeLost())
	h.at(h.clock+time.Hour, func() {}) // a wake-up after the close, with no request behind it
	h.run()
	h.finish()

	// seen[msg] lists the request IDs of the lines with that message ("" for none).
	seen := map[string][]string{}
	for _, l := range sink.Lines(t) {
		msg, _ := l["msg"].(string)
		id, _ := l[requestid.LogKey].(string)
		seen[msg] = append(seen[msg], id)
	}
	want := map[string][]string{
		// the opening's projection, then one per change
		"deal projected":   {"req-create", "upd-" + string(kamflow.CmdAssessment), "sig-" + workflows.EscalationSignal, "upd-" + string(kamflow.CmdClose)},
		"deal input taken": {"upd-" + string(kamflow.CmdAssessment), "sig-" + workflows.EscalationSignal, "upd-" + string(kamflow.CmdClose)},
	}
	for msg, ids := range want {
		if strings.Join(seen[msg], ",") != strings.Join(ids, ",") {
			t.Errorf("%q logged with request IDs %q, want %q", msg, seen[msg], ids)
		}
	}
}
