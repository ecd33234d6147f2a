package main

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
)

// gracefulWorker is a Temporal worker that stops within the shutdown timeout and hands back what
// it could not finish. Stopped, the SDK polls no more tasks and waits for those running, up to
// worker.Options.WorkerStopTimeout, then cancels the activities' contexts and returns at once:
// an activity that returns after that is never reported, the process being gone, and Temporal
// runs it again only once its heartbeat timeout or, for one that does not heartbeat, its
// StartToClose timeout (minutes) has passed. So the running activities are cancelled by
// gracefulWorker a little before the SDK's bound (handBack): they return, their attempts are
// reported failed — retryable — and Temporal runs them again at once on another worker, where
// each carries on from what its store says is done.
type gracefulWorker struct {
	worker.Worker
	timeout time.Duration
	cutter  *activityCutter
}

// newGracefulWorker makes the worker of taskQueue; timeout 0 is the SDK's stop, which waits for
// nothing.
func newGracefulWorker(tc client.Client, taskQueue string, timeout time.Duration) *gracefulWorker {
	c := newActivityCutter()
	return &gracefulWorker{
		Worker: worker.New(tc, taskQueue, worker.Options{WorkerStopTimeout: timeout,
			Interceptors: []interceptor.WorkerInterceptor{c}}),
		timeout: timeout,
		cutter:  c,
	}
}

// handBack is how long before the shutdown timeout the running activities are cancelled: the
// time they have to return and be reported, a third of the timeout up to 5 seconds. An import's
// commit, for one, returns once its batch is in: eight deals, each through its workflow.
func (w *gracefulWorker) handBack() time.Duration { return min(5*time.Second, w.timeout/3) }

// Stop stops the worker within the shutdown timeout.
func (w *gracefulWorker) Stop() {
	if w.timeout > 0 {
		t := time.AfterFunc(w.timeout-w.handBack(), w.cutter.cut)
		defer t.Stop()
	}
	w.Worker.Stop()
}

// stopWorker stops w, logging when it begins and ends, and what it handed back.
func stopWorker(logger *slog.Logger, w worker.Worker) {
	g, _ := w.(*gracefulWorker)
	if g != nil {
		logger.Info("stopping the worker: no new tasks; those running have until the shutdown timeout", "timeout", g.timeout)
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
