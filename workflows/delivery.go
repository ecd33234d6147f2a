package workflows

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/activities"
	"github.com/kamflow/kamflow/requestid"
)

// The delivery workflow (DeliveryWorkflow, ID delivery-<deal id>) is a child of the deal's
// workflow, started when the deal enters delivery. It holds the deal's kamflow.DeliveryPlan:
//
//   - Every change is an Update ("delivery", a kamflow.DeliveryCommand) whose validator checks the
//     actor's rights and the plan's rules, so a refused change leaves no trace.
//   - Starting a task runs its steps as activities, one after the other, with timeouts, retries
//     and heartbeats; a step that fails for good has the task's done steps undone in reverse
//     (saga), and so does a cancellation. Each step's outcome is projected as it comes: the plan
//     in the database shows the task's progress live.
//   - An undo is retried for a day at most (DeliveryInput.UndoTimeout); one that fails for good
//     leaves its task undo_failed, tells the task's engineer and the deal's KAM what to clean up by
//     hand, and tells the deal (signal DeliveryHoldSignal) that its project cannot close until an
//     engineer resolves it (resolve_undo).
//   - Completing the acceptance test, and resolving its punch items, tell the deal's workflow
//     (signal AcceptanceSignal), whose Update rules decide the accepted gate item.
//   - Tasks past their due date tell their engineer and the deal's KAM, once per due date.
//   - When the deal's project closes (signal ProjectClosedSignal), the follow-up cadence creates
//     each service visit when its day comes, with a durable timer (no cron scan). The workflow
//     ends once every visit of the cadence is reported.
//
// One input path: the Update, both signals, the timer and every step's outcome become inputs of
// one queue, which the workflow's main loop alone takes in order. It applies each to the plan by
// the domain's rules (kamflow.DeliveryPlan) and runs what they call for: the projection, the
// notifications, the signals to the deal, the next step's activity. No signal has a coroutine of
// its own: the main loop reads the channels (ReceiveAsync) and waits on their Len, so before it
// continues as new it takes in everything that came, answers every Update, and only then goes,
// with nothing left behind.
//
// A run started before this code (its history lacks the deliveryQueueChange marker) goes on as
// it was written (legacyDeliveryWorkflow, delivery_legacy.go) until its next continue-as-new.
//
// The child outlives its parent (ParentClosePolicy abandon): the deal's workflow ends when its
// project closes, the service goes on for a year.

// Names of the delivery workflow and its messages.
const (
	DeliveryWorkflowName = "DeliveryWorkflow"
	DeliveryUpdate       = "delivery" // a kamflow.DeliveryCommand; returns the plan
	DeliveryQuery        = "delivery"
	DeliveryDealSignal   = "deal"           // a kamflow.Deal: the deal as it now stands
	ProjectClosedSignal  = "project_closed" // a time.Time: when the project was closed
	AcceptanceSignal     = "acceptance"     // to the deal: an AcceptanceNotice
	// DeliveryHoldSignal, to the deal: a kamflow.DeliveryHold, sent whenever the set of the plan's
	// undo_failed tasks changes (the whole set each time; empty once every one is resolved).
	DeliveryHoldSignal = "delivery_hold"
	deliveryPrefix     = "delivery-"
	deliveryChange     = "delivery-plan"    // GetVersion of starting the child (the deal's workflow)
	stepIDChange       = "step-activity-id" // GetVersion of the steps' activity IDs (legacy runs)
	// deliveryQueueChange is the GetVersion, asked first thing in a run, of the one input queue.
	deliveryQueueChange   = "delivery-one-queue"
	defaultStepAttempts   = 5
	defaultUndoTimeout    = 24 * time.Hour
	maxDeliveryRunChanges = 2000
)

// DeliveryWorkflowID is the workflow ID of a deal's delivery.
func DeliveryWorkflowID(dealID string) string { return deliveryPrefix + dealID }

// DeliveryInput starts (or continues) a delivery workflow.
type DeliveryInput struct {
	Plan kamflow.DeliveryPlan `json:"plan"`
	// Deal is the deal as the delivery knows it: who may see and work on it.
	Deal kamflow.Deal `json:"deal"`
	// ProjectedSeq is the plan's Seq the database is known to hold.
	ProjectedSeq int64 `json:"projected_seq"`
	// StepAttempts bounds the attempts of a step before it fails for good (0: 5).
	StepAttempts int32 `json:"step_attempts,omitempty"`
	// UndoTimeout bounds how long a step's undo is retried before it fails for good and its task is
	// undo_failed (0: a day); UndoAttempts bounds its attempts too (0: as many as fit).
	UndoTimeout  kamflow.Duration `json:"undo_timeout,omitempty"`
	UndoAttempts int32            `json:"undo_attempts,omitempty"`
	// MaxChangesPerRun continues as new after this many changes (0: when the server suggests).
	MaxChangesPerRun int `json:"max_changes_per_run,omitempty"`
	// Held is the hold the deal was last told (DeliveryHoldSignal).
	Held []string `json:"held,omitempty"`
}

// AcceptanceNotice tells the deal the acceptance test's outcome (kamflow's).
type AcceptanceNotice = kamflow.AcceptanceNotice

// DeliveryWorkflow runs a deal's delivery and after-sales service.
func DeliveryWorkflow(ctx workflow.Context, in DeliveryInput) (kamflow.DeliveryPlan, error) {
	if workflow.GetVersion(ctx, deliveryQueueChange, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return legacyDeliveryWorkflow(ctx, in)
	}
	r := &deliveryRun{in: in, plan: in.Plan, deal: in.Deal, projected: in.ProjectedSeq, held: kamflow.DeliveryHold{UndoFailed: in.Held}}
	if r.plan.Visits == nil {
		r.plan.Visits = []*kamflow.ServiceVisit{}
	}
	return r.run(ctx)
}

// delivKind is what an input of the queue is.
type delivKind int

const (
	delivUpdate delivKind = iota // a delivery command (the Update)
	delivDeal                    // the deal as it now stands (DeliveryDealSignal)
	delivClosed                  // the project closed (ProjectClosedSignal)
	delivTimer                   // the plan's wake time came
	delivStep                    // a step's activity (or its undo's) ended
)

// delivInput is one input of the queue.
type delivInput struct {
	kind  delivKind
	cmd   kamflow.DeliveryCommand
	reply *delivReply
	deal  kamflow.Deal
	at    time.Time
	step  *delivStepCall
	// requestID is the ID of the HTTP request that sent an Update (package requestid), carried
	// into the logs and the activities of its change; span is the Update handler's trace span
	// (TraceSpanKey), the parent of its change's activities, as in the deal loop.
	requestID string
	span      any
}

// delivReply is the answer to an Update, filled in by the main loop.
type delivReply struct {
	done bool
	plan kamflow.DeliveryPlan
	err  error
}

// delivStepCall is a step's activity (or its undo's) in flight.
type delivStepCall struct {
	task   string
	step   string
	run    int
	undo   bool
	future workflow.Future
	cancel workflow.CancelFunc
	// cancelled: the task was cancelled while the step ran; its outcome, unless it got through,
	// is the cancellation's.
	cancelled bool
	// queued: the activity ended and its outcome waits in the queue.
	queued bool
	// What the activity answered, once it ended.
	ref string
	err error
}

// deliveryRun is a run of the delivery workflow. Only the main loop (run) changes it; the Update
// handler only queues its command and waits for the answer.
type deliveryRun struct {
	in        DeliveryInput
	plan      kamflow.DeliveryPlan
	deal      kamflow.Deal
	projected int64
	changes   int
	held      kamflow.DeliveryHold
	queue     []delivInput
	// flight are the step activities in flight, in the order they were started, until their
	// outcome is taken in (a task has at most one).
	flight []*delivStepCall
	deals  workflow.ReceiveChannel
	closed workflow.ReceiveChannel
	// The timer of the plan's next wake time.
	timer       workflow.Future
	timerAt     time.Time
	cancelTimer workflow.CancelFunc
}

func (r *deliveryRun) run(ctx workflow.Context) (kamflow.DeliveryPlan, error) {
	if err := r.register(ctx); err != nil {
		return r.plan, err
	}
	if r.projected < r.plan.Seq || r.plan.Seq == 0 {
		if r.plan.Seq == 0 {
			r.plan.Seq = 1
		}
		if err := r.project(ctx, nil); err != nil {
			return r.plan, err
		}
	}
	if err := r.tellHold(ctx); err != nil {
		return r.plan, err
	}
	// A run continues as new only when no step is in flight; tasks left running or undoing by a
	// run that failed over go on.
	for _, t := range r.plan.Tasks {
		if t.Status == kamflow.TaskRunning || t.Status == kamflow.TaskUndoing {
			if err := r.advance(ctx, t.Key); err != nil {
				return r.plan, err
			}
		}
	}
	for {
		if err := r.drain(ctx); err != nil {
			return r.plan, err
		}
		if len(r.flight) == 0 && (r.plan.Finished(&r.deal) || r.canSuggested(ctx)) {
			// Nothing may be left behind: every input taken in, every Update answered.
			if !r.pending() && workflow.AllHandlersFinished(ctx) {
				if r.plan.Finished(&r.deal) {
					return r.plan, nil
				}
				next := r.in
				next.Plan, next.Deal, next.ProjectedSeq, next.Held = r.plan, r.deal, r.projected, r.held.UndoFailed
				return r.plan, workflow.NewContinueAsNewError(ctx, DeliveryWorkflowName, next)
			}
			if err := workflow.Await(ctx, func() bool { return r.pending() || workflow.AllHandlersFinished(ctx) }); err != nil {
				return r.plan, err
			}
			continue
		}
		r.arm(ctx)
		if err := workflow.Await(ctx, func() bool {
			return r.pending() || (len(r.flight) == 0 && r.canSuggested(ctx))
		}); err != nil {
			return r.plan, err
		}
	}
}

func (r *deliveryRun) register(ctx workflow.Context) error {
	err := workflow.SetUpdateHandlerWithOptions(ctx, DeliveryUpdate, r.update, workflow.UpdateHandlerOptions{
		Validator: func(ctx workflow.Context, cmd kamflow.DeliveryCommand) error {
			if err := cmd.Actor.AuthorizeDelivery(cmd, &r.deal); err != nil {
				return deliveryError(err)
			}
			return deliveryError(r.plan.Check(cmd))
		}})
	if err != nil {
		return err
	}
	if err := workflow.SetQueryHandler(ctx, DeliveryQuery, func() (kamflow.DeliveryPlan, error) { return r.plan, nil }); err != nil {
		return err
	}
	r.deals = workflow.GetSignalChannel(ctx, DeliveryDealSignal)
	r.closed = workflow.GetSignalChannel(ctx, ProjectClosedSignal)
	return nil
}

// update queues an accepted command behind what came before it and waits for the main loop's
// answer: the plan as projected after the change.
func (r *deliveryRun) update(ctx workflow.Context, cmd kamflow.DeliveryCommand) (kamflow.DeliveryPlan, error) {
	r.receive(ctx) // the signals that came first go first
	reply := &delivReply{}
	r.queue = append(r.queue, delivInput{kind: delivUpdate, cmd: cmd, reply: reply, requestID: requestid.FromWorkflow(ctx),
		span: ctx.Value(TraceSpanKey)})
	if err := workflow.Await(ctx, func() bool { return reply.done }); err != nil {
		return kamflow.DeliveryPlan{}, err
	}
	return reply.plan, reply.err
}

// receive moves what came in into the queue, in order: the signals, the steps' activities that
// ended (in the order they were started) and the timer.
func (r *deliveryRun) receive(ctx workflow.Context) {
	for {
		var d kamflow.Deal
		if !r.deals.ReceiveAsync(&d) {
			break
		}
		r.queue = append(r.queue, delivInput{kind: delivDeal, deal: d})
	}
	for {
		var at time.Time
		if !r.closed.ReceiveAsync(&at) {
			break
		}
		r.queue = append(r.queue, delivInput{kind: delivClosed, at: at})
	}
	for _, c := range r.flight {
		if c.queued || !c.future.IsReady() {
			continue
		}
		var res activities.StepResult
		c.err = c.future.Get(ctx, &res)
		c.ref, c.queued = res.Ref, true
		r.queue = append(r.queue, delivInput{kind: delivStep, step: c})
	}
	if r.timer != nil && r.timer.IsReady() {
		err := r.timer.Get(ctx, nil)
		r.timer, r.cancelTimer, r.timerAt = nil, nil, time.Time{}
		if err == nil {
			r.queue = append(r.queue, delivInput{kind: delivTimer})
		}
	}
}

// pending reports whether an input waits to be taken in.
func (r *deliveryRun) pending() bool {
	if len(r.queue) > 0 || r.deals.Len() > 0 || r.closed.Len() > 0 || (r.timer != nil && r.timer.IsReady()) {
		return true
	}
	for _, c := range r.flight {
		if !c.queued && c.future.IsReady() {
			return true
		}
	}
	return false
}

// drain takes in every input, in order, until none is left.
func (r *deliveryRun) drain(ctx workflow.Context) error {
	for {
		r.receive(ctx)
		if len(r.queue) == 0 {
			return nil
		}
		in := r.queue[0]
		r.queue = r.queue[1:]
		if err := r.take(ctx, in); err != nil {
			return err
		}
		if err := r.tellHold(ctx); err != nil {
			return err
		}
	}
}

// take applies one input and runs its effects.
func (r *deliveryRun) take(ctx workflow.Context, in delivInput) error {
	// The loop runs on the workflow's context: what an input starts carries the ID of the request
	// that sent it (none for kamflow's own inputs), not of the one that started the workflow.
	ctx = requestid.WithWorkflow(ctx, in.requestID)
	if in.span != nil {
		ctx = workflow.WithValue(ctx, TraceSpanKey, in.span)
	}
	switch in.kind {
	case delivUpdate:
		return r.command(ctx, in.cmd, in.reply)
	case delivDeal:
		r.deal = in.deal
		r.changes++ // the deal may have ended
		return nil
	case delivClosed:
		if r.plan.ClosedAt != nil {
			return nil
		}
		r.plan.CloseProject(in.at)
		r.changes++
		return r.project(ctx, nil)
	case delivTimer:
		now := workflow.Now(ctx)
		changed, notes := r.plan.Tick(&r.deal, now)
		if !changed {
			return nil
		}
		r.changes++
		if err := r.project(ctx, nil); err != nil {
			return err
		}
		return r.notify(ctx, notes)
	case delivStep:
		return r.stepEnded(ctx, in.step)
	}
	return nil
}

// command applies an accepted command, answers it with the plan as projected, and starts or stops
// what it calls for.
func (r *deliveryRun) command(ctx workflow.Context, cmd kamflow.DeliveryCommand, reply *delivReply) error {
	defer func() { reply.done = true }()
	now := workflow.Now(ctx)
	if err := r.plan.Apply(cmd, now); err != nil {
		// Accepted by the validator, but an input taken in before it changed the plan.
		reply.err = deliveryError(err)
		return nil
	}
	r.changes++
	if err := r.project(ctx, kamflow.DeliveryAudit(cmd, &r.plan, now)); err != nil {
		reply.err = err
		return err
	}
	if n, ok := r.plan.AcceptanceNoticeOf(cmd); ok {
		// A deal whose workflow has ended (the project closed) needs it no more.
		if err := workflow.SignalExternalWorkflow(ctx, WorkflowID(r.plan.DealID), "", AcceptanceSignal, n).Get(ctx, nil); err != nil {
			workflow.GetLogger(ctx).Warn("the deal was not told of the acceptance", "deal", r.plan.DealID, "err", err)
		}
	}
	// A deep copy: the plan changes on as soon as the main loop takes the next input, and the
	// answer must be the plan as projected.
	reply.plan = r.plan.Clone()
	if cmd.Kind == kamflow.DelivCancel {
		if c := r.inFlight(cmd.Task); c != nil && !c.undo {
			// The running step is stopped; its outcome, when it is taken in, moves the task on to
			// its undo.
			c.cancelled = true
			c.cancel()
			return nil
		}
	}
	switch cmd.Kind {
	case kamflow.DelivStart, kamflow.DelivRetry, kamflow.DelivCancel:
		return r.advance(ctx, cmd.Task)
	}
	return nil
}

func (r *deliveryRun) inFlight(task string) *delivStepCall {
	for _, c := range r.flight {
		if c.task == task {
			return c
		}
	}
	return nil
}

// advance starts what a task calls for when none of its steps is in flight (not even one of an
// earlier run, still being stopped): its next step while it runs, its next undo while it is
// undoing.
func (r *deliveryRun) advance(ctx workflow.Context, key string) error {
	t := r.plan.Task(key)
	if t == nil || r.inFlight(key) != nil {
		return nil
	}
	switch t.Status {
	case kamflow.TaskRunning:
		step := t.NextStep()
		if step == "" {
			return nil
		}
		r.plan.StepStarted(key, step, workflow.Now(ctx))
		if err := r.project(ctx, nil); err != nil {
			return err
		}
		r.start(ctx, key, step, false)
	case kamflow.TaskUndoing:
		if todo := t.ToCompensate(); len(todo) > 0 {
			r.start(ctx, key, todo[0], true)
		}
	}
	return nil
}

// start runs a step (or its undo) of a task's current run as an activity. A step is tried
// StepAttempts times; an undo, for UndoTimeout: a work order left open or parts left reserved
// would be lost to everyone, but a field-service system that stays away must not leave the task
// undoing for ever.
func (r *deliveryRun) start(ctx workflow.Context, key, step string, undo bool) {
	t := r.plan.Task(key)
	req := activities.StepRequest{DealID: r.plan.DealID, AccountID: r.plan.AccountID, Site: r.plan.Site, Task: key,
		Step: step, Run: t.Runs, Undo: undo, Assignee: t.Assignee}
	for _, s := range t.Steps {
		if s.Key == step {
			req.Ref = s.Ref
		}
	}
	var opts workflow.ActivityOptions
	if undo {
		opts = workflow.ActivityOptions{
			ActivityID:             "undo/" + key + "/" + strconv.Itoa(t.Runs) + "/" + step,
			StartToCloseTimeout:    2 * time.Minute,
			ScheduleToCloseTimeout: r.undoTimeout(),
			HeartbeatTimeout:       30 * time.Second,
			RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2,
				MaximumInterval: 10 * time.Minute, MaximumAttempts: r.in.UndoAttempts},
		}
	} else {
		attempts := r.in.StepAttempts
		if attempts == 0 {
			attempts = defaultStepAttempts
		}
		opts = workflow.ActivityOptions{
			// The ID ties the running activity to its step, for the live progress (LiveSteps).
			ActivityID:          kamflow.StepActivityID(key, t.Runs, step),
			StartToCloseTimeout: 2 * time.Minute,
			HeartbeatTimeout:    30 * time.Second,
			// A cancelled step is waited for: if it got through before it heard of the
			// cancellation, its work is recorded and undone with the rest.
			WaitForCancellation: true,
			RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2,
				MaximumInterval: time.Minute, MaximumAttempts: attempts},
		}
	}
	actx, cancel := workflow.WithCancel(ctx)
	actx = workflow.WithActivityOptions(actx, opts)
	var a *activities.DeliveryActivities
	f := workflow.ExecuteActivity(actx, a.RunDeliveryStep, req)
	r.flight = append(r.flight, &delivStepCall{task: key, step: step, run: t.Runs, undo: undo, future: f, cancel: cancel})
}

// stepEnded records a step's (or an undo's) outcome and goes on with its task.
func (r *deliveryRun) stepEnded(ctx workflow.Context, c *delivStepCall) error {
	for i, f := range r.flight {
		if f == c {
			r.flight = append(r.flight[:i], r.flight[i+1:]...)
			break
		}
	}
	c.cancel() // (releases the context; the activity has ended)
	t := r.plan.Task(c.task)
	if t == nil {
		return nil
	}
	if t.Runs != c.run {
		// The task was cancelled and started again while this step was being stopped: the new run
		// waited for it (advance) and goes on now.
		if !c.undo && c.err == nil {
			workflow.GetLogger(ctx).Error("a step of an earlier run got through after its task was started again: its work is not undone",
				"deal", r.plan.DealID, "task", c.task, "run", c.run, "step", c.step, "ref", c.ref)
		}
		return r.advance(ctx, c.task)
	}
	now := workflow.Now(ctx)
	was := t.Status
	switch {
	case !c.undo && c.err == nil:
		r.plan.StepDone(c.task, c.step, c.ref, now)
		r.changes++
		if err := r.project(ctx, nil); err != nil {
			return err
		}
	case !c.undo && (c.cancelled || temporal.IsCanceledError(c.err)):
		// The cancellation moved the task on; its undo follows.
	case !c.undo:
		r.plan.StepFailed(c.task, c.step, failureMessage(c.err), now)
		r.changes++
		audit := kamflow.TaskFailedAudit(&r.plan, c.task, now)
		if err := r.project(ctx, audit); err != nil {
			return err
		}
		if err := r.notify(ctx, r.plan.FailedNotices(c.task, c.step, &r.deal, now)); err != nil {
			return err
		}
	default:
		if c.err == nil {
			r.plan.StepCompensated(c.task, c.step, now)
		} else {
			msg := failureMessage(c.err)
			if app := (*temporal.ApplicationError)(nil); !errors.As(c.err, &app) || !app.NonRetryable() {
				// Not refused: the undo was retried until its time (or its attempts) ran out.
				msg = fmt.Sprintf("not undone within %s: %s", kamflow.Duration(r.undoTimeout()), msg)
			}
			workflow.GetLogger(ctx).Error("a step could not be undone", "deal", r.plan.DealID, "task", c.task, "step", c.step, "err", c.err)
			r.plan.StepUndoFailed(c.task, c.step, msg, now)
		}
		r.changes++
		// Once its last undo has ended, a task with a failed one is undo_failed: the timeline says
		// what to clean up by hand, and its engineer and the KAM are told.
		failed := was != kamflow.TaskUndoFailed && t.Status == kamflow.TaskUndoFailed
		var audit *kamflow.AuditEntry
		if failed {
			audit = kamflow.UndoFailedAudit(&r.plan, c.task, now)
		}
		if err := r.project(ctx, audit); err != nil {
			return err
		}
		if failed {
			if err := r.notify(ctx, r.plan.UndoFailedNotices(c.task, &r.deal, now)); err != nil {
				return err
			}
		}
	}
	return r.advance(ctx, c.task)
}

func (r *deliveryRun) undoTimeout() time.Duration {
	if r.in.UndoTimeout > 0 {
		return time.Duration(r.in.UndoTimeout)
	}
	return defaultUndoTimeout
}

// tellHold tells the deal's workflow the plan's undo_failed tasks whenever they change. A deal
// whose workflow has ended needs it no more.
func (r *deliveryRun) tellHold(ctx workflow.Context) error {
	h := r.plan.Hold()
	if h.Same(r.held) {
		return nil
	}
	if err := workflow.SignalExternalWorkflow(ctx, WorkflowID(r.plan.DealID), "", DeliveryHoldSignal, h).Get(ctx, nil); err != nil {
		if temporal.IsCanceledError(err) {
			return err
		}
		workflow.GetLogger(ctx).Warn("the deal was not told of the delivery's hold", "deal", r.plan.DealID, "err", err)
	}
	r.held = h
	return nil
}

// arm sets the timer of the plan's next wake time, when it changed.
func (r *deliveryRun) arm(ctx workflow.Context) {
	wake := r.plan.NextWake()
	if wake.Equal(r.timerAt) && (r.timer != nil || wake.IsZero()) {
		return
	}
	if r.cancelTimer != nil {
		r.cancelTimer()
	}
	r.timer, r.cancelTimer, r.timerAt = nil, nil, wake
	if wake.IsZero() {
		return
	}
	d := wake.Sub(workflow.Now(ctx))
	if d <= 0 {
		r.queue = append(r.queue, delivInput{kind: delivTimer})
		r.timerAt = time.Time{}
		return
	}
	tctx, cancel := workflow.WithCancel(ctx)
	r.timer, r.cancelTimer = workflow.NewTimer(tctx, d), cancel
}

func (r *deliveryRun) canSuggested(ctx workflow.Context) bool {
	limit := r.in.MaxChangesPerRun
	if limit == 0 {
		limit = maxDeliveryRunChanges
	}
	return r.changes >= limit || workflow.GetInfo(ctx).GetContinueAsNewSuggested()
}

func (r *deliveryRun) project(ctx workflow.Context, audit *kamflow.AuditEntry) error {
	var a *activities.DeliveryActivities
	p := activities.DeliveryProjection{Plan: r.plan, Audit: audit}
	if err := workflow.ExecuteActivity(deliveryStoreCtx(ctx), a.ProjectDelivery, p).Get(ctx, nil); err != nil {
		return fmt.Errorf("project delivery of %s seq %d: %w", r.plan.DealID, r.plan.Seq, err)
	}
	r.projected = r.plan.Seq
	return nil
}

func (r *deliveryRun) notify(ctx workflow.Context, notes []kamflow.Notification) error {
	if len(notes) == 0 {
		return nil
	}
	var a *activities.Activities
	return workflow.ExecuteActivity(deliveryStoreCtx(ctx), a.Notify, notes).Get(ctx, nil)
}

// deliveryStoreCtx retries a store activity of the delivery (its projection, its notifications)
// until it succeeds.
func deliveryStoreCtx(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: 200 * time.Millisecond, BackoffCoefficient: 2,
			MaximumInterval: time.Minute, MaximumAttempts: 0},
	})
}

// deliveryError carries a domain error across Temporal as a non-retryable ApplicationError whose
// type is the error code (FromError turns it back).
func deliveryError(err error) error {
	var e *kamflow.Error
	if err == nil || !errors.As(err, &e) {
		return err
	}
	return temporal.NewApplicationErrorWithOptions(e.Message, e.Code, temporal.ApplicationErrorOptions{
		NonRetryable: true, Details: []any{e.Details},
	})
}

// failureMessage is what a step's failure says, without Temporal's wrapping.
func failureMessage(err error) string {
	var app *temporal.ApplicationError
	for e := err; e != nil; {
		if a, ok := e.(*temporal.ApplicationError); ok {
			app = a
		}
		u, ok := e.(interface{ Unwrap() error })
		if !ok {
			break
		}
		e = u.Unwrap()
	}
	if app != nil {
		return app.Message()
	}
	return err.Error()
}
