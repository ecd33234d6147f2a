package main

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
)

// gracefulWorker is kamflow's Temporal worker: it stops within the shutdown timeout, finishing
// what it can and handing back the rest. It is two SDK workers on the task queue, one for the
// workflows and one for the activities, because the SDK's own stop would not do:
//
//   - it stops the workflow tasks first, then waits for the activities; but kamflow's activities
//     wait on workflows (an import's commit, a handover's step, the settings fan-out send their
//     Updates and Signals to deals' workflows, most of them cached here and so given their next
//     task here): a stopped workflow worker holds each such task for the sticky timeout (5 s), and
//     the activities cannot finish. So the activities stop first, the workflows after.
//   - past its WorkerStopTimeout it cancels the activities' contexts and returns at once: one that
//     returns after that is never reported, the process being gone, and Temporal runs it again
//     only once its heartbeat timeout or, for one that does not heartbeat, its StartToClose
//     timeout (minutes) has passed. So the activities still running are cancelled a little before
//     that (handBack): they return, their attempts are reported failed — retryable — and Temporal
//     runs them again at once on another worker, where each carries on from what its store says
//     is done.
type gracefulWorker struct {
	worker.Worker // the workflows': its Register methods of workflows and Nexus services are this one's
	activities    worker.Worker
	timeout       time.Duration
	cutter        *activityCutter
}

var _ worker.Worker = (*gracefulWorker)(nil)

// newGracefulWorker makes the worker of taskQueue; timeout 0 is the SDK's stop, which waits for
// nothing.
func newGracefulWorker(tc client.Client, taskQueue string, timeout time.Duration) *gracefulWorker {
	w := &gracefulWorker{timeout: timeout, cutter: newActivityCutter()}
	finish, _ := w.budget()
	w.Worker = worker.New(tc, taskQueue, workflowWorkerOptions(finish))
	w.activities = worker.New(tc, taskQueue, worker.Options{DisableWorkflowWorker: true, WorkerStopTimeout: timeout - finish,
		Interceptors: []interceptor.WorkerInterceptor{w.cutter}})
	return w
}

// workflowWorkerOptions are the options of the workflow tasks' worker. No local activity runs in
// kamflow's workflows: it takes workflow tasks only. Its pollers scale (autoscaling poller
// behaviour), and so keep polling the task queue itself: the SDK's default (a simple maximum of
// two pollers) sends every poll to the worker's sticky queue while that queue has a backlog, and
// a busy worker's always has one (its cached deals' next tasks). The first task of every new
// workflow — a deal's, a delivery's started by a deal that entered delivery — is on the task
// queue itself, and waited there for minutes: the cluster test's 100 deals saw their delivery
// plans 25 s to over 2 min after the advance to delivery, until the restarted workers (their
// caches empty) took them at once.
func workflowWorkerOptions(finish time.Duration) worker.Options {
	return worker.Options{LocalActivityWorkerOnly: true, WorkerStopTimeout: finish,
		WorkflowTaskPollerBehavior: worker.NewPollerBehaviorAutoscaling(worker.PollerBehaviorAutoscalingOptions{})}
}

// budget splits the shutdown timeout: the activities have all but finish + handBack to finish by
// themselves, then handBack to return once cancelled (a third of what is left, up to 5 s: an
// import's commit, for one, returns once its batch is in, eight deals each through its
// workflow); the workflow tasks under way have the last finish (a tenth, up to 2 s).
func (w *gracefulWorker) budget() (finish, handBack time.Duration) {
	finish = min(2*time.Second, w.timeout/10)
	return finish, min(5*time.Second, (w.timeout-finish)/3)
}

func (w *gracefulWorker) Start() error {
	if err := w.Worker.Start(); err != nil {
		return err
	}
	if err := w.activities.Start(); err != nil {
		w.Worker.Stop()
		return err
	}
	return nil
}

func (w *gracefulWorker) Run(interruptCh <-chan any) error {
	if err := w.Start(); err != nil {
		return err
	}
	<-interruptCh
	w.Stop()
	return nil
}

// Stop stops the worker within the shutdown timeout: the activities, then the workflows.
func (w *gracefulWorker) Stop() {
	if w.timeout > 0 {
		finish, handBack := w.budget()
		t := time.AfterFunc(w.timeout-finish-handBack, w.cutter.cut)
		defer t.Stop()
	}
	w.activities.Stop()
	w.Worker.Stop()
}

func (w *gracefulWorker) RegisterActivity(a any) { w.activities.RegisterActivity(a) }
func (w *gracefulWorker) RegisterActivityWithOptions(a any, o activity.RegisterOptions) {
	w.activities.RegisterActivityWithOptions(a, o)
}
func (w *gracefulWorker) RegisterDynamicActivity(a any, o activity.DynamicRegisterOptions) {
	w.activities.RegisterDynamicActivity(a, o)
}

// stopWorker stops w, logging when it begins and ends, and what it handed back.
func stopWorker(logger *slog.Logger, w worker.Worker) {
	g, _ := w.(*gracefulWorker)
	if g != nil {
		logger.Info("stopping the worker: no new activities; those running have until the shutdown timeout", "timeout", g.timeout)
	} else {
		logger.Info("stopping the worker")
	}
	t0 := time.Now()
	w.Stop()
	if g != nil && g.cutter.cutCount.Load() > 0 {
		// Those not returned yet are not reported: Temporal runs them again after their
		// heartbeat timeout, or their StartToClose timeout.
		logger.Warn("activities still running near the shutdown timeout were cancelled, to run again on another worker",
			"activities", g.cutter.cutCount.Load(), "not_returned", g.cutter.running.Load())
	}
	logger.Info("worker stopped", "took", time.Since(t0).Round(time.Millisecond))
}

// errWorkerStopping is the cause of an activity's context cancelled by a stopping worker.
var errWorkerStopping = errors.New("the worker stopped before the activity finished: it runs again on another worker")

// activityCutter is the worker interceptor that can cancel every running activity at once.
type activityCutter struct {
	interceptor.WorkerInterceptorBase
	ctx      context.Context // done once cut
	cancel   context.CancelCauseFunc
	running  atomic.Int64
	cutCount atomic.Int64 // activities that were running when cut
}

func newActivityCutter() *activityCutter {
	c := &activityCutter{}
	c.ctx, c.cancel = context.WithCancelCause(context.Background())
	return c
}

func (c *activityCutter) cut() {
	c.cutCount.Store(c.running.Load())
	c.cancel(errWorkerStopping)
}

func (c *activityCutter) InterceptActivity(ctx context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	return &cutActivity{ActivityInboundInterceptorBase: interceptor.ActivityInboundInterceptorBase{Next: next}, c: c}
}

type cutActivity struct {
	interceptor.ActivityInboundInterceptorBase
	c *activityCutter
}

// ExecuteActivity runs the activity on a context that the cut cancels too. An activity that fails
// once cut fails with a retryable error saying so, whatever its own error: its next attempt is
// not this worker's.
func (a *cutActivity) ExecuteActivity(ctx context.Context, in *interceptor.ExecuteActivityInput) (any, error) {
	a.c.running.Add(1)
	defer a.c.running.Add(-1)
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	defer context.AfterFunc(a.c.ctx, func() { cancel(errWorkerStopping) })()
	out, err := a.Next.ExecuteActivity(ctx, in)
	if err != nil && errors.Is(context.Cause(ctx), errWorkerStopping) {
		// Benign: the SDK logs it at DEBUG and counts no failure; the attempt is retried.
		err = temporal.NewApplicationErrorWithOptions(errWorkerStopping.Error(), "worker_stopping",
			temporal.ApplicationErrorOptions{Cause: err, Category: temporal.ApplicationErrorCategoryBenign})
	}
	return out, err
}
