package workflows

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/activities"
)

// The delivery workflow as it ran before the one input queue (see DeliveryWorkflow): a run whose
// history lacks the deliveryQueueChange marker was started by this code, and replays and goes on
// on it until its next continue-as-new, which starts the new code. FROZEN: any change to what this
// code does, or to the order of the commands it emits, breaks the replay of those runs. Its own
// rules are its own copies; it shares with the rest of the package only helpers that emit no
// command of their own (awaitWake, failureMessage, toAppError, legacyActivityCtx).

const (
	legacyDelivStepAttempts  = 5
	legacyDelivOverdueNotice = "task_overdue"
	legacyDelivVisitNotice   = "service_visit"
	legacyDelivFailedNotice  = "task_failed"
	legacyDelivMaxRunChanges = 2000
)

type legacyDelivRun struct {
	in        DeliveryInput
	plan      kamflow.DeliveryPlan
	deal      kamflow.Deal
	projected int64
	changes   int
	// cancels stop the running step of a task (by key); running counts the task coroutines.
	cancels map[string]workflow.CancelFunc
	running int
	mu      workflow.Mutex
}

// legacyDeliveryWorkflow is DeliveryWorkflow as it ran before the one input queue.
func legacyDeliveryWorkflow(ctx workflow.Context, in DeliveryInput) (kamflow.DeliveryPlan, error) {
	r := &legacyDelivRun{in: in, plan: in.Plan, deal: in.Deal, projected: in.ProjectedSeq, cancels: map[string]workflow.CancelFunc{},
		mu: workflow.NewMutex(ctx)}
	if r.plan.Visits == nil {
		r.plan.Visits = []*kamflow.ServiceVisit{}
	}
	if err := r.register(ctx); err != nil {
		return r.plan, err
	}
	if r.projected < r.plan.Seq || r.plan.Seq == 0 {
		if r.plan.Seq == 0 {
			r.plan.Seq = 1
		}
		if err := r.locked(ctx, func() error { return r.project(ctx) }); err != nil {
			return r.plan, err
		}
	}
	// A run continued as new only when no task was running; tasks left running or undoing by a
	// run that failed over are picked up again.
	for _, t := range r.plan.Tasks {
		switch t.Status {
		case kamflow.TaskRunning, kamflow.TaskUndoing:
			r.goTask(ctx, t.Key)
		}
	}
	for {
		seen := r.changes
		wake := r.nextWake()
		// Continuing as new waits for the running tasks: woken for it while one runs, the loop
		// spun without yielding (the one change made here since the code was frozen; it issues
		// no command a recorded history holds, and lets a run stuck so go on).
		changed := func() bool { return r.changes != seen || r.finished() || (r.canSuggested(ctx) && r.running == 0) }
		fired, err := awaitWake(ctx, wake, changed)
		if err != nil {
			return r.plan, err
		}
		if fired {
			if err := r.locked(ctx, func() error { return r.onTimer(ctx) }); err != nil {
				return r.plan, err
			}
		}
		if r.finished() {
			if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) && r.running == 0 }); err != nil {
				return r.plan, err
			}
			return r.plan, nil
		}
		if r.canSuggested(ctx) && r.running == 0 {
			if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
				return r.plan, err
			}
			if r.running == 0 {
				next := r.in
				next.Plan, next.Deal, next.ProjectedSeq = r.plan, r.deal, r.projected
				return r.plan, workflow.NewContinueAsNewError(ctx, DeliveryWorkflowName, next)
			}
		}
	}
}

// finished: every visit of the cadence reported, or the deal ended without being delivered.
func (r *legacyDelivRun) finished() bool {
	if r.plan.ServiceDone() {
		return true
	}
	return r.deal.Status.Final() && r.deal.Status != kamflow.StatusDelivered && r.plan.ClosedAt == nil
}

func (r *legacyDelivRun) canSuggested(ctx workflow.Context) bool {
	limit := r.in.MaxChangesPerRun
	if limit == 0 {
		limit = legacyDelivMaxRunChanges
	}
	return r.changes >= limit || workflow.GetInfo(ctx).GetContinueAsNewSuggested()
}

func (r *legacyDelivRun) register(ctx workflow.Context) error {
	err := workflow.SetUpdateHandlerWithOptions(ctx, DeliveryUpdate, r.handle, workflow.UpdateHandlerOptions{
		Validator: func(ctx workflow.Context, cmd kamflow.DeliveryCommand) error {
			if err := cmd.Actor.AuthorizeDelivery(cmd, &r.deal); err != nil {
				return toAppError(err)
			}
			return toAppError(r.plan.Check(cmd))
		}})
	if err != nil {
		return err
	}
	if err := workflow.SetQueryHandler(ctx, DeliveryQuery, func() (kamflow.DeliveryPlan, error) { return r.plan, nil }); err != nil {
		return err
	}
	deals := workflow.GetSignalChannel(ctx, DeliveryDealSignal)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			var d kamflow.Deal
			deals.Receive(ctx, &d)
			r.deal = d
			r.changes++ // wake the main loop: the deal may have ended
		}
	})
	closed := workflow.GetSignalChannel(ctx, ProjectClosedSignal)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			var at time.Time
			closed.Receive(ctx, &at)
			_ = r.locked(ctx, func() error {
				if r.plan.ClosedAt != nil {
					return nil
				}
				r.plan.CloseProject(at)
				r.changes++
				return r.project(ctx)
			})
		}
	})
	return nil
}

// handle applies an accepted change, starts or stops what it calls for, and returns the plan once
// it is projected.
func (r *legacyDelivRun) handle(ctx workflow.Context, cmd kamflow.DeliveryCommand) (kamflow.DeliveryPlan, error) {
	var out kamflow.DeliveryPlan
	err := r.locked(ctx, func() error {
		before := r.plan.Task(cmd.Task)
		var status kamflow.TaskStatus
		if before != nil {
			status = before.Status
		}
		if err := r.plan.Apply(cmd, workflow.Now(ctx)); err != nil {
			return toAppError(err)
		}
		r.changes++
		switch cmd.Kind {
		case kamflow.DelivStart, kamflow.DelivRetry:
			r.goTask(ctx, cmd.Task)
		case kamflow.DelivCancel:
			if cancel, ok := r.cancels[cmd.Task]; ok {
				cancel() // its coroutine undoes the done steps once the running one has stopped
			} else if status != kamflow.TaskRunning {
				r.goTask(ctx, cmd.Task) // an active or failed task: undo its done steps
			}
		}
		if err := r.project(ctx, kamflow.DeliveryAudit(cmd, &r.plan, workflow.Now(ctx))); err != nil {
			return err
		}
		if cmd.Kind == kamflow.DelivResolve || (cmd.Kind == kamflow.DelivComplete && cmd.Task == kamflow.TaskAcceptanceTest) {
			r.tellDeal(ctx, cmd.Actor)
		}
		// A deep copy: the task coroutines change the plan's slices as soon as the lock is free,
		// and the answer must be the plan as projected.
		out = legacyDelivClonePlan(r.plan) //workflowcheck:ignore (a JSON copy of the plan, as before)
		return nil
	})
	return out, err
}

func legacyDelivClonePlan(p kamflow.DeliveryPlan) kamflow.DeliveryPlan {
	b, err := json.Marshal(p)
	if err != nil {
		panic(err) // a plan always encodes: it is the workflow's own state
	}
	var out kamflow.DeliveryPlan
	if err := json.Unmarshal(b, &out); err != nil {
		panic(err)
	}
	return out
}

// tellDeal sends the acceptance's outcome to the deal's workflow. A deal whose workflow has
// ended (the project closed) needs it no more.
func (r *legacyDelivRun) tellDeal(ctx workflow.Context, who kamflow.Actor) {
	result, open := r.plan.Acceptance()
	if result == "" {
		return
	}
	t := r.plan.Task(kamflow.TaskAcceptanceTest)
	n := AcceptanceNotice{Result: result, Notes: t.Notes, OpenPunchItems: open, Actor: who}
	if err := workflow.SignalExternalWorkflow(ctx, WorkflowID(r.plan.DealID), "", AcceptanceSignal, n).Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Warn("the deal was not told of the acceptance", "deal", r.plan.DealID, "err", err)
	}
}

// goTask runs a task's steps (when it is running) and then undoes its done steps (when it is
// undoing), in a coroutine of its own.
func (r *legacyDelivRun) goTask(ctx workflow.Context, key string) {
	r.running++
	workflow.Go(ctx, func(ctx workflow.Context) {
		defer func() { r.running-- }()
		stepCtx, cancel := workflow.WithCancel(ctx)
		r.cancels[key] = cancel
		r.runSteps(ctx, stepCtx, key)
		delete(r.cancels, key)
		r.undoSteps(ctx, key)
	})
}

func (r *legacyDelivRun) stepRequest(key, step string, undo bool) activities.StepRequest {
	t := r.plan.Task(key)
	req := activities.StepRequest{DealID: r.plan.DealID, AccountID: r.plan.AccountID, Site: r.plan.Site, Task: key,
		Step: step, Run: t.Runs, Undo: undo, Assignee: t.Assignee}
	for _, s := range t.Steps {
		if s.Key == step {
			req.Ref = s.Ref
		}
	}
	return req
}

func (r *legacyDelivRun) runSteps(ctx, stepCtx workflow.Context, key string) {
	attempts := r.in.StepAttempts
	if attempts == 0 {
		attempts = legacyDelivStepAttempts
	}
	actx := workflow.WithActivityOptions(stepCtx, workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Minute,
		HeartbeatTimeout:    30 * time.Second,
		// A cancelled step is waited for: if it got through before it heard of the cancellation,
		// its work is recorded and undone with the rest.
		WaitForCancellation: true,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2,
			MaximumInterval: time.Minute, MaximumAttempts: attempts},
	})
	for {
		t := r.plan.Task(key)
		if t == nil {
			return
		}
		step := t.NextStep()
		if step == "" {
			return
		}
		req := r.stepRequest(key, step, false)
		if r.locked(ctx, func() error { r.plan.StepStarted(key, step, workflow.Now(ctx)); return r.project(ctx) }) != nil {
			return
		}
		var a *activities.DeliveryActivities
		var res activities.StepResult
		sctx := actx
		if workflow.GetVersion(ctx, stepIDChange, workflow.DefaultVersion, 1) == 1 {
			// The ID ties the running activity to its step, for the live progress (Client.LiveSteps).
			opts := workflow.GetActivityOptions(actx)
			opts.ActivityID = kamflow.StepActivityID(key, req.Run, step)
			sctx = workflow.WithActivityOptions(actx, opts)
		}
		err := workflow.ExecuteActivity(sctx, a.RunDeliveryStep, req).Get(actx, &res)
		switch {
		case err == nil:
			_ = r.locked(ctx, func() error {
				r.plan.StepDone(key, step, res.Ref, workflow.Now(ctx))
				r.changes++
				return r.project(ctx)
			})
		case temporal.IsCanceledError(err):
			return // the cancellation moved the task on; undoSteps does the rest
		default:
			_ = r.locked(ctx, func() error {
				now := workflow.Now(ctx)
				r.plan.StepFailed(key, step, failureMessage(err), now)
				r.changes++
				if err := r.project(ctx, kamflow.TaskFailedAudit(&r.plan, key, now)); err != nil {
					return err
				}
				return r.notifyFailed(ctx, key, step)
			})
			return
		}
	}
}

// undoSteps undoes a failed or cancelled task's done steps, last first, each retried until it
// succeeds: a work order left open or parts left reserved would be lost to everyone.
func (r *legacyDelivRun) undoSteps(ctx workflow.Context, key string) {
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Minute,
		HeartbeatTimeout:    30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2,
			MaximumInterval: 10 * time.Minute, MaximumAttempts: 0},
	})
	for {
		t := r.plan.Task(key)
		if t == nil || t.Status != kamflow.TaskUndoing {
			return
		}
		todo := t.ToCompensate()
		if len(todo) == 0 {
			return
		}
		step := todo[0]
		var a *activities.DeliveryActivities
		var res activities.StepResult
		if err := workflow.ExecuteActivity(actx, a.RunDeliveryStep, r.stepRequest(key, step, true)).Get(ctx, &res); err != nil {
			// Only a non-retryable refusal gets here: record the step as undone by hand is not
			// possible, so leave the task undoing and say so.
			workflow.GetLogger(ctx).Error("a step could not be undone", "deal", r.plan.DealID, "task", key, "step", step, "err", err)
			_ = r.locked(ctx, func() error {
				t.Error = fmt.Sprintf("%s could not be undone: %s", step, failureMessage(err))
				r.plan.StepCompensated(key, step, workflow.Now(ctx))
				r.changes++
				return r.project(ctx)
			})
			continue
		}
		_ = r.locked(ctx, func() error {
			r.plan.StepCompensated(key, step, workflow.Now(ctx))
			r.changes++
			return r.project(ctx)
		})
	}
}

// nextWake is the next overdue deadline of a task not told yet, or the next visit's day.
func (r *legacyDelivRun) nextWake() time.Time {
	var wake time.Time
	earlier := func(t time.Time) {
		if !t.IsZero() && (wake.IsZero() || t.Before(wake)) {
			wake = t
		}
	}
	for _, t := range r.plan.Tasks {
		if t.Due != "" && t.Open() && t.OverdueNotified != t.Due && r.plan.ClosedAt == nil {
			earlier(kamflow.EndOfDay(t.Due, time.UTC))
		}
	}
	due, _ := r.plan.NextVisitDue()
	earlier(due)
	return wake
}

// onTimer tells the engineers and the KAM of overdue tasks and creates the visits whose day came.
func (r *legacyDelivRun) onTimer(ctx workflow.Context) error {
	now := workflow.Now(ctx)
	var notes []kamflow.Notification
	overdue := r.plan.NoteOverdue(now)
	for _, t := range overdue {
		msg := fmt.Sprintf("The %s task of %s was due on %s and is not done", t.Key, r.plan.Site, t.Due)
		for _, to := range legacyDelivUniq(t.Assignee, r.deal.Owner) {
			notes = append(notes, kamflow.Notification{UserID: to, DealID: r.plan.DealID, Kind: legacyDelivOverdueNotice,
				Key: fmt.Sprintf("overdue:%s:%s:%s:%s", r.plan.DealID, t.Key, t.Due, to), Message: msg, CreatedAt: now,
				Params: legacyDelivParams(&r.plan, &t, kamflow.NoticeParamDue, string(t.Due))})
		}
	}
	visits := r.plan.DueVisits(&r.deal, now)
	for _, v := range visits {
		if v.Assignee != "" {
			notes = append(notes, kamflow.Notification{UserID: v.Assignee, DealID: r.plan.DealID, Kind: legacyDelivVisitNotice,
				Key: "visit:" + v.ID, CreatedAt: now,
				Params:  map[string]string{kamflow.NoticeParamRound: strconv.Itoa(v.Round), kamflow.NoticeParamSite: v.Site},
				Message: fmt.Sprintf("Service visit %d to %s is due: record faults found, faults unresolved and the customer's satisfaction", v.Round, v.Site)})
		}
	}
	if len(overdue) == 0 && len(visits) == 0 {
		return nil
	}
	r.changes++
	if err := r.project(ctx); err != nil {
		return err
	}
	if len(notes) == 0 {
		return nil
	}
	var a *activities.Activities
	return workflow.ExecuteActivity(legacyActivityCtx(ctx), a.Notify, notes).Get(ctx, nil)
}

func (r *legacyDelivRun) notifyFailed(ctx workflow.Context, key, step string) error {
	t := r.plan.Task(key)
	now := workflow.Now(ctx)
	var notes []kamflow.Notification
	for _, to := range legacyDelivUniq(t.Assignee, r.deal.Owner) {
		notes = append(notes, kamflow.Notification{UserID: to, DealID: r.plan.DealID, Kind: legacyDelivFailedNotice,
			Key:     fmt.Sprintf("failed:%s:%s:%d:%s", r.plan.DealID, key, t.Runs, to),
			Message: fmt.Sprintf("The %s task of %s failed at %s: %s", key, r.plan.Site, step, t.Error), CreatedAt: now,
			Params: legacyDelivParams(&r.plan, t, kamflow.NoticeParamStep, step, kamflow.NoticeParamError, t.Error)})
	}
	if len(notes) == 0 {
		return nil
	}
	var a *activities.Activities
	return workflow.ExecuteActivity(legacyActivityCtx(ctx), a.Notify, notes).Get(ctx, nil)
}

func legacyDelivUniq(names ...string) []string {
	var out []string
	for _, n := range names {
		if n != "" && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

func (r *legacyDelivRun) project(ctx workflow.Context, audit ...*kamflow.AuditEntry) error {
	var a *activities.DeliveryActivities
	p := activities.DeliveryProjection{Plan: r.plan}
	if len(audit) > 0 {
		p.Audit = audit[0]
	}
	if err := workflow.ExecuteActivity(legacyActivityCtx(ctx), a.ProjectDelivery, p).Get(ctx, nil); err != nil {
		return fmt.Errorf("project delivery of %s seq %d: %w", r.plan.DealID, r.plan.Seq, err)
	}
	r.projected = r.plan.Seq
	return nil
}

func (r *legacyDelivRun) locked(ctx workflow.Context, fn func() error) error {
	if err := r.mu.Lock(ctx); err != nil {
		return err
	}
	defer r.mu.Unlock()
	return fn()
}

// legacyDelivParams are the params of a task's notice: kamflow.TaskParams and the pairs kv.
func legacyDelivParams(p *kamflow.DeliveryPlan, t *kamflow.DeliveryTask, kv ...string) map[string]string {
	m := kamflow.TaskParams(p, t)
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}
