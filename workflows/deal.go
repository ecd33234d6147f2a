// Package workflows runs each deal as one long-running Temporal workflow, the source of truth for
// its stage, and a won deal's delivery as its child. The deal's rules and what follows from each
// input live in the domain (kamflow.DealState: Check and Handle); DealWorkflow only feeds it its
// inputs, one at a time in the order they came, and runs the effects it returns as activities,
// signals and a child workflow.
//
// Every change a person makes is a Workflow Update whose validator is the domain's Check, so a
// move that misses its key node is rejected synchronously and leaves no event in the history.
// Work kamflow does by itself comes by paths of its own: the deal's timer (stall, director's rung,
// resume date), the escalation and settings signals, the delivery plan's acceptance and hold
// signals, and kamflow's stale-contact Update; never as a role in a command's payload.
//
// Nothing accepted is lost: every input goes through one queue, and before the run continues as
// new the workflow drains the signal channels, works off the queue and waits until every Update
// handler has finished, again until nothing is left. A change the database refuses for good puts
// the deal in attention: the change is held (with every later one), the admins are told, and an
// admin's retry writes them all in order.
//
// The package must stay deterministic: no I/O, no wall clock, no goroutines (make lint runs
// workflowcheck). Side effects live in the activities package; the Temporal client in engine.
package workflows

import (
	"errors"
	"fmt"
	"slices"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/activities"
	"github.com/kamflow/kamflow/requestid"
)

// Names shared by the workflow and its clients.
const (
	TaskQueue        = "kamflow-deals"
	DealWorkflowName = "DealWorkflow"
	SnapshotUpdate   = "snapshot" // waits until the deal is projected and returns it
	DealQuery        = "deal"
	SettingsSignal   = "settings"
	SearchAttrStage  = "KamflowStage"
	SearchAttrStatus = "KamflowStatus"
	workflowIDPrefix = "deal-"
	// MarkContactUpdate is kamflow's own stale-contact mark (a kamflow.ContactStaleInput): the
	// daily run and a logged interaction send it, never a person.
	MarkContactUpdate = "kamflow.mark_contact"
	// ContinuingAsNew is the error type of an Update refused because the run is about to continue
	// as new: sent again, it reaches the next run.
	ContinuingAsNew = "continuing_as_new"
	// RetryUpdate asks a deal that needs attention to write its held changes (a kamflow.Actor,
	// the admin who asks).
	RetryUpdate = "kamflow.retry_projection"
	// oneQueueChange is the GetVersion of the one-queue state machine, asked at the start of every
	// run: runs started before it (DefaultVersion) go on with legacyDealWorkflow.
	oneQueueChange = "deal-one-queue"
	// projectionAttempts bounds a projection's retries (about three minutes of backoff): past them,
	// or at once for a change the store refuses, the deal needs attention.
	projectionAttempts = 12
)

// EscalationSignal carries a SettingsUpdate: the settings and the escalation ladder together.
const EscalationSignal = "escalation"

// WorkflowID is the workflow ID of a deal.
func WorkflowID(dealID string) string { return workflowIDPrefix + dealID }

var (
	stageKey  = temporal.NewSearchAttributeKeyKeyword(SearchAttrStage)
	statusKey = temporal.NewSearchAttributeKeyKeyword(SearchAttrStatus)
)

// DealInput starts (or continues) a deal's workflow.
type DealInput struct {
	Deal     kamflow.Deal     `json:"deal"`
	Settings kamflow.Settings `json:"settings"`
	// SettingsVersion is the version of Settings and Escalation (kamflow.DealState); 0 when
	// unknown.
	SettingsVersion int64 `json:"settings_version,omitempty"`
	// Created is the deal's first stage-history row, projected by the first run only.
	Created *kamflow.StageTransition `json:"created,omitempty"`
	// ProjectedSeq is the highest Seq the database is known to hold, carried across
	// Continue-As-New so the new run does not project again what is already there.
	ProjectedSeq int64 `json:"projected_seq"`
	// MaxUpdatesPerRun continues as new after this many accepted changes even if the server has
	// not suggested it yet; 0 waits for the server's suggestion. Tests use it.
	MaxUpdatesPerRun int `json:"max_updates_per_run,omitempty"`
	// Escalation is the escalation ladder in force; nil is the default ladder (directors told at
	// kamflow.DefaultDirectorAfter × the SLA, no team overrides). A deal's first run applies its
	// team's SLA override for development before the deal is first projected.
	Escalation *kamflow.Escalation `json:"escalation,omitempty"`
	// Ladder is where the deal's escalation ladder stands, carried across continue-as-new.
	Ladder *LadderState `json:"ladder,omitempty"`
	// Outbound are the notices not yet delivered by webhook or e-mail, carried across
	// continue-as-new; the new run delivers them (a receiver may see one twice, with the same id).
	Outbound []activities.Delivery `json:"outbound,omitempty"`
	// DeliveryStarted is set once the deal's delivery workflow (its child) has started.
	DeliveryStarted bool `json:"delivery_started,omitempty"`
	// Attention and Held carry a deal that needs attention across continue-as-new: why, and the
	// changes not written yet (see kamflow.DealState).
	Attention *kamflow.Attention   `json:"attention,omitempty"`
	Held      []kamflow.Projection `json:"held,omitempty"`
}

// SettingsUpdate is the payload of EscalationSignal: the settings and the escalation ladder, so
// that a deal applies a change of either (its team's SLA, its director's rung) at once.
type SettingsUpdate struct {
	Settings   kamflow.Settings   `json:"settings"`
	Escalation kamflow.Escalation `json:"escalation"`
	// Version is their version: a deal holding it, or a newer one, ignores the update. 0 (an
	// older sender) is applied whatever the deal holds.
	Version int64 `json:"version,omitempty"`
}

// LadderState is where a deal's escalation ladder stands beyond what the deal itself says (its
// stall).
type LadderState struct {
	// DirectorsToldAt is when the directors were told of the present stall; nil until they are,
	// and again after progress.
	DirectorsToldAt *time.Time `json:"directors_told_at,omitempty"`
}

// awaitWake waits until changed holds or the wake time comes (zero: no wake time), and reports
// whether the wake time came first.
func awaitWake(ctx workflow.Context, wake time.Time, changed func() bool) (fired bool, err error) {
	if wake.IsZero() {
		return false, workflow.Await(ctx, changed)
	}
	d := wake.Sub(workflow.Now(ctx))
	if d <= 0 {
		return true, nil
	}
	ok, err := workflow.AwaitWithTimeout(ctx, d, changed)
	return !ok, err
}

// storeCtx retries a deal's store activity (projection, notifications, attention) a bounded number
// of times: a change the store refuses (a non-retryable error) or cannot take within them puts
// the deal in attention rather than holding it, and every change after it, for ever.
func storeCtx(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    200 * time.Millisecond,
			BackoffCoefficient: 2,
			MaximumInterval:    30 * time.Second,
			MaximumAttempts:    projectionAttempts,
		},
	})
}

// outboundCtx retries a webhook or e-mail until it is delivered: a receiver or mail server down
// for a day is retried every ten minutes, and the notice still arrives.
func outboundCtx(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    10 * time.Minute,
			MaximumAttempts:    0, // unlimited
		},
	})
}

// toAppError carries a domain error across Temporal as a non-retryable ApplicationError whose
// type is the error code and whose detail is the error's details; FromError turns it back.
func toAppError(err error) error {
	var e *kamflow.Error
	if err == nil || !errors.As(err, &e) {
		return err
	}
	return temporal.NewApplicationErrorWithOptions(e.Message, e.Code, temporal.ApplicationErrorOptions{
		NonRetryable: true, Details: []any{e.Details},
	})
}

var domainCodes = map[string]bool{
	kamflow.EINVALID: true, kamflow.ENOTFOUND: true, kamflow.EGATENOTMET: true, kamflow.EGATEDEPENDS: true, kamflow.EWRONGSTAGE: true,
	kamflow.ECONFLICT: true, kamflow.EFORBIDDEN: true, kamflow.EUNAUTHORIZED: true, kamflow.EUNAVAILABLE: true,
}

// FromError turns an ApplicationError made by toAppError back into the domain's *Error; other
// errors are returned as they are.
func FromError(err error) error {
	var app *temporal.ApplicationError
	if err == nil || !errors.As(err, &app) || !domainCodes[app.Type()] {
		return err
	}
	e := &kamflow.Error{Code: app.Type(), Message: app.Message()}
	if app.HasDetails() {
		var details map[string]any
		if app.Details(&details) == nil && len(details) > 0 {
			e.Details = details
		}
	}
	return e
}

// DealWorkflow runs one deal from development to its end. It completes when the deal is final
// (won deals go on through delivery until the project is closed) and none of its changes or
// notices is still waiting.
func DealWorkflow(ctx workflow.Context, in DealInput) (kamflow.Deal, error) {
	if workflow.GetVersion(ctx, oneQueueChange, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return legacyDealWorkflow(ctx, in)
	}
	l := &dealLoop{in: in, projected: in.ProjectedSeq,
		settingsCh:   workflow.GetSignalChannel(ctx, SettingsSignal),
		escalationCh: workflow.GetSignalChannel(ctx, EscalationSignal),
		acceptanceCh: workflow.GetSignalChannel(ctx, AcceptanceSignal),
		holdCh:       workflow.GetSignalChannel(ctx, DeliveryHoldSignal),
	}
	l.st = kamflow.DealState{Deal: in.Deal, Settings: in.Settings, SettingsVersion: in.SettingsVersion,
		DeliveryStarted: in.DeliveryStarted, Attention: in.Attention, Held: in.Held}
	if in.Escalation != nil {
		l.st.Escalation = *in.Escalation
	}
	if in.Ladder != nil {
		l.st.DirectorsToldAt = in.Ladder.DirectorsToldAt
	}
	if err := l.register(ctx); err != nil {
		return l.st.Deal, err
	}
	for _, d := range in.Outbound {
		l.send(ctx, d)
	}
	switch {
	case in.Created != nil && l.projected < in.Deal.Seq:
		// The deal's first run: open it under the ladder in force (its team's SLA).
		st, fx := kamflow.OpenDeal(in.Deal, in.Created, in.Settings, l.st.Escalation)
		l.st = *st
		l.st.SettingsVersion = in.SettingsVersion
		l.run(ctx, fx)
	case l.projected < l.st.Deal.Seq && l.st.Attention == nil:
		// A run continued as new before its last change was written (a legacy run only).
		p := kamflow.Projection{Deal: *l.st.Deal.Clone()}
		l.run(ctx, []kamflow.DealEffect{{Kind: kamflow.FxProject, Projection: &p}})
	}
	for {
		// Once the run is to continue as new, new Updates are refused until the next run takes
		// them (the client sends them again): under a steady stream of changes the run would
		// otherwise never find its queue empty and every handler finished.
		l.closing = l.closing || (l.st.Deal.Active() && l.ending(ctx))
		l.drain(ctx)
		if len(l.queue) > 0 {
			next := l.queue[0]
			l.queue = l.queue[1:]
			l.process(ctx, next)
			continue
		}
		if l.ending(ctx) {
			if workflow.AllHandlersFinished(ctx) && !l.signalled() {
				if l.st.Deal.Active() {
					return l.st.Deal, workflow.NewContinueAsNewError(ctx, DealWorkflowName, l.next())
				}
				if len(l.outbound) == 0 && l.st.Attention == nil {
					return l.st.Deal, nil
				}
			}
			// Let every accepted Update finish, and the last notices go out, before the run ends;
			// an input arriving meanwhile is taken first.
			outbound := len(l.outbound)
			err := workflow.Await(ctx, func() bool {
				return len(l.queue) > 0 || l.signalled() || len(l.outbound) != outbound ||
					(workflow.AllHandlersFinished(ctx) && (l.st.Deal.Active() || l.st.Attention == nil && len(l.outbound) == 0))
			})
			if err != nil {
				return l.st.Deal, err
			}
			continue
		}
		fired, err := awaitWake(ctx, l.st.NextWake(), func() bool {
			return len(l.queue) > 0 || l.signalled() || l.ending(ctx)
		})
		if err != nil {
			return l.st.Deal, err
		}
		if fired {
			l.process(ctx, &input{ev: kamflow.DealEvent{Kind: kamflow.EvTimer}})
		}
	}
}

// dealLoop is one run of a deal's workflow.
type dealLoop struct {
	in DealInput
	st kamflow.DealState
	// projected is the Seq last written to the database.
	projected int64
	// queue holds the inputs not taken yet, in the order they came.
	queue []*input
	// changes counts the inputs of this run that changed the deal (MaxUpdatesPerRun).
	changes int
	// closing is set once the run is to continue as new: its validators refuse new Updates with
	// ContinuingAsNew, which engine.Client sends again to the next run.
	closing bool
	// outbound are the notices being delivered by webhook and e-mail.
	outbound []kamflow.OutboundNotice
	// The signal channels, drained into the queue by the loop itself: a signal is taken in the
	// order it came on its channel, and never left behind by a continue-as-new.
	settingsCh, escalationCh, acceptanceCh, holdCh workflow.ReceiveChannel
}

// input is one input in the queue; an Update's handler waits until it is done.
type input struct {
	ev   kamflow.DealEvent
	done bool
	deal kamflow.Deal
	err  error
	// requestID is the ID of the HTTP request that sent an Update (package requestid), carried
	// into the logs and the activities of its change; "" for kamflow's own inputs.
	requestID string
	// span is the Update handler's trace span (TraceSpanKey), the parent of its change's
	// activities; nil without tracing or for kamflow's own inputs.
	span any
}

func (l *dealLoop) enqueue(ev kamflow.DealEvent) *input {
	in := &input{ev: ev}
	l.queue = append(l.queue, in)
	return in
}

// signalled reports whether a signal waits on any channel.
func (l *dealLoop) signalled() bool {
	return l.settingsCh.Len() > 0 || l.escalationCh.Len() > 0 || l.acceptanceCh.Len() > 0 || l.holdCh.Len() > 0
}

// drain moves every signal waiting on the channels into the queue, each with the ID of the
// request behind it (a settings save, a delivery step), for the logs of the change it causes.
func (l *dealLoop) drain(ctx workflow.Context) {
	signalled := func(ev kamflow.DealEvent, signal string) {
		l.enqueue(ev).requestID = requestid.Signalled(ctx, signal)
	}
	for {
		var s kamflow.Settings
		if !l.settingsCh.ReceiveAsync(&s) {
			break
		}
		signalled(kamflow.DealEvent{Kind: kamflow.EvSettings, Settings: &s}, SettingsSignal)
	}
	for {
		var u SettingsUpdate
		if !l.escalationCh.ReceiveAsync(&u) {
			break
		}
		signalled(kamflow.DealEvent{Kind: kamflow.EvSettings, Settings: &u.Settings, Escalation: &u.Escalation, SettingsVersion: u.Version}, EscalationSignal)
	}
	for {
		var n kamflow.AcceptanceNotice
		if !l.acceptanceCh.ReceiveAsync(&n) {
			break
		}
		signalled(kamflow.DealEvent{Kind: kamflow.EvAcceptance, Acceptance: &n}, AcceptanceSignal)
	}
	for {
		var h kamflow.DeliveryHold
		if !l.holdCh.ReceiveAsync(&h) {
			break
		}
		signalled(kamflow.DealEvent{Kind: kamflow.EvDeliveryHold, Hold: &h}, DeliveryHoldSignal)
	}
}

// ending reports whether the run is to end: the deal is over, or it is time to continue as new.
func (l *dealLoop) ending(ctx workflow.Context) bool {
	if !l.st.Deal.Active() {
		return true
	}
	if l.in.MaxUpdatesPerRun > 0 && l.changes >= l.in.MaxUpdatesPerRun {
		return true
	}
	return workflow.GetInfo(ctx).GetContinueAsNewSuggested()
}

// next is the input of the next run.
func (l *dealLoop) next() DealInput {
	esc := l.st.Escalation
	return DealInput{Deal: l.st.Deal, Settings: l.st.Settings, SettingsVersion: l.st.SettingsVersion, ProjectedSeq: l.projected, MaxUpdatesPerRun: l.in.MaxUpdatesPerRun,
		Escalation: &esc, Ladder: &LadderState{DirectorsToldAt: l.st.DirectorsToldAt}, Outbound: slices.Clone(l.outbound),
		DeliveryStarted: l.st.DeliveryStarted, Attention: l.st.Attention, Held: l.st.Held}
}

func (l *dealLoop) register(ctx workflow.Context) error {
	for _, kind := range kamflow.CommandKinds {
		kind := kind
		event := func(cmd kamflow.Command) kamflow.DealEvent {
			return kamflow.DealEvent{Kind: kamflow.EvCommand, Command: &cmd}
		}
		err := workflow.SetUpdateHandlerWithOptions(ctx, string(kind),
			func(ctx workflow.Context, cmd kamflow.Command) (kamflow.Deal, error) { return l.await(ctx, event(cmd)) },
			workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, cmd kamflow.Command) error {
				if cmd.Kind != kind {
					return toAppError(kamflow.Errorf(kamflow.EINVALID, "update %s carries a %q command", kind, cmd.Kind))
				}
				return l.validate(ctx, event(cmd))
			}})
		if err != nil {
			return err
		}
	}
	contact := func(m kamflow.ContactStaleInput) kamflow.DealEvent {
		return kamflow.DealEvent{Kind: kamflow.EvContact, Contact: &m}
	}
	err := workflow.SetUpdateHandlerWithOptions(ctx, MarkContactUpdate,
		func(ctx workflow.Context, m kamflow.ContactStaleInput) (kamflow.Deal, error) {
			return l.await(ctx, contact(m))
		},
		workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, m kamflow.ContactStaleInput) error {
			return l.validate(ctx, contact(m))
		}})
	if err != nil {
		return err
	}
	retry := func(by kamflow.Actor) kamflow.DealEvent { return kamflow.DealEvent{Kind: kamflow.EvRetry, By: &by} }
	err = workflow.SetUpdateHandlerWithOptions(ctx, RetryUpdate,
		func(ctx workflow.Context, by kamflow.Actor) (kamflow.Deal, error) { return l.await(ctx, retry(by)) },
		workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, by kamflow.Actor) error {
			return l.validate(ctx, retry(by))
		}})
	if err != nil {
		return err
	}
	err = workflow.SetUpdateHandler(ctx, SnapshotUpdate, func(ctx workflow.Context) (kamflow.Deal, error) {
		err := workflow.Await(ctx, func() bool { return l.projected >= l.st.Deal.Seq || l.st.Attention != nil })
		if err == nil && l.projected < l.st.Deal.Seq {
			err = toAppError(l.st.AttentionError())
		}
		return *l.st.Deal.Clone(), err
	})
	if err != nil {
		return err
	}
	return workflow.SetQueryHandler(ctx, DealQuery, func() (kamflow.Deal, error) { return l.st.Deal, nil })
}

// validate is every Update's validator: the domain's Check, unless the run is closing.
func (l *dealLoop) validate(ctx workflow.Context, ev kamflow.DealEvent) error {
	if l.closing {
		return temporal.NewApplicationError("the deal's workflow is continuing as new: send the update again", ContinuingAsNew)
	}
	return toAppError(l.st.Check(ev, workflow.Now(ctx)))
}

// await queues an Update's input and waits until the loop has taken it.
func (l *dealLoop) await(ctx workflow.Context, ev kamflow.DealEvent) (kamflow.Deal, error) {
	in := l.enqueue(ev)
	in.requestID = requestid.FromWorkflow(ctx)
	in.span = ctx.Value(TraceSpanKey)
	if err := workflow.Await(ctx, func() bool { return in.done }); err != nil {
		return kamflow.Deal{}, err
	}
	return in.deal, in.err
}

// process takes one input: the domain's Handle decides, and its effects are run here in order. An
// Update's answer is the deal once its change is written (read-your-writes), or why not.
func (l *dealLoop) process(ctx workflow.Context, in *input) {
	defer func() { in.done = true }()
	// The loop runs on the workflow's context: its logs and activities carry the ID of the request
	// that sent this input (none for kamflow's own), not of the one that started the workflow.
	ctx = requestid.WithWorkflow(ctx, in.requestID)
	if in.span != nil {
		ctx = workflow.WithValue(ctx, TraceSpanKey, in.span)
	}
	seq := l.st.Deal.Seq
	workflow.GetLogger(ctx).Debug("deal input taken", "deal", l.st.Deal.ID, "input", in.ev.Kind, "seq", seq)
	fx, err := l.st.Handle(in.ev, workflow.Now(ctx))
	if err != nil {
		if in.ev.Kind != kamflow.EvCommand && in.ev.Kind != kamflow.EvContact && in.ev.Kind != kamflow.EvRetry {
			// kamflow's own input no longer fits the deal (e.g. an acceptance for a deal closed
			// meanwhile): nobody waits for it, and it changes nothing.
			workflow.GetLogger(ctx).Warn("input refused", "deal", l.st.Deal.ID, "input", in.ev.Kind, "err", err)
		}
		in.err = toAppError(err)
		return
	}
	if l.st.Deal.Seq != seq {
		l.changes++
	}
	l.run(ctx, fx)
	in.deal = *l.st.Deal.Clone()
	if l.projected < l.st.Deal.Seq && l.st.Attention != nil {
		in.err = toAppError(l.st.AttentionError())
	}
}

// run runs effects in order.
func (l *dealLoop) run(ctx workflow.Context, fx []kamflow.DealEffect) {
	var a *activities.Activities
	log := workflow.GetLogger(ctx)
	for _, e := range fx {
		switch e.Kind {
		case kamflow.FxProject:
			if err := l.project(ctx, *e.Projection); err != nil {
				l.run(ctx, []kamflow.DealEffect{l.st.ProjectionFailed(*e.Projection, failureMessage(err), failureReason(err), workflow.Now(ctx))})
			}
		case kamflow.FxProjectHeld:
			for len(l.st.Held) > 0 {
				if err := l.project(ctx, l.st.Held[0]); err != nil {
					l.run(ctx, []kamflow.DealEffect{l.st.HoldFailed(failureMessage(err), failureReason(err), workflow.Now(ctx))})
					break
				}
				if done := l.st.HeldWritten(); done != nil {
					l.run(ctx, []kamflow.DealEffect{*done})
				}
			}
		case kamflow.FxRecordAttention:
			if err := workflow.ExecuteActivity(storeCtx(ctx), a.RecordAttention, *e.Attention).Get(ctx, nil); err != nil {
				log.Error("the deal needs attention, and that could not be recorded", "deal", l.st.Deal.ID, "err", err)
			}
		case kamflow.FxClearAttention:
			if err := workflow.ExecuteActivity(storeCtx(ctx), a.ClearAttention, l.st.Deal.ID, workflow.Now(ctx)).Get(ctx, nil); err != nil {
				log.Error("the deal's attention could not be cleared", "deal", l.st.Deal.ID, "err", err)
			}
		case kamflow.FxNotify:
			if err := workflow.ExecuteActivity(storeCtx(ctx), a.Notify, e.Notifications).Get(ctx, nil); err != nil {
				log.Error("notifications not stored", "deal", l.st.Deal.ID, "err", err)
			}
		case kamflow.FxOutbound:
			l.deliver(ctx, *e.Notice)
		case kamflow.FxTellDirectors:
			var told []string
			if err := workflow.ExecuteActivity(storeCtx(ctx), a.NotifyDirectors, *e.Directors).Get(ctx, &told); err != nil {
				log.Error("the directors were not told", "deal", l.st.Deal.ID, "err", err)
				continue
			}
			if e.Notice == nil {
				continue // told in the app only (an approval request); only the ladder's rungs go out
			}
			n := *e.Notice
			n.Recipients = told
			l.deliver(ctx, n)
		case kamflow.FxStartDelivery:
			cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
				WorkflowID:            DeliveryWorkflowID(l.st.Deal.ID),
				ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_ABANDON, // the service outlives the deal's workflow
				WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
			})
			f := workflow.ExecuteChildWorkflow(cctx, DeliveryWorkflowName, DeliveryInput{Plan: *e.Plan, Deal: *l.st.Deal.Clone()})
			if err := f.GetChildWorkflowExecution().Get(ctx, nil); err != nil && !temporal.IsWorkflowExecutionAlreadyStartedError(err) {
				log.Error("the delivery did not start", "deal", l.st.Deal.ID, "err", err)
			}
		case kamflow.FxProjectClosed:
			l.tellDelivery(ctx, ProjectClosedSignal, e.At)
		case kamflow.FxDealChanged:
			l.tellDelivery(ctx, DeliveryDealSignal, *e.Deal)
		}
	}
}

// project writes one projection and, once written, the deal's search attributes.
func (l *dealLoop) project(ctx workflow.Context, p kamflow.Projection) error {
	var a *activities.Activities
	if err := workflow.ExecuteActivity(storeCtx(ctx), a.ProjectDeal, p).Get(ctx, nil); err != nil {
		return fmt.Errorf("project deal %s seq %d: %w", p.Deal.ID, p.Deal.Seq, err)
	}
	l.projected = max(l.projected, p.Deal.Seq)
	return workflow.UpsertTypedSearchAttributes(ctx,
		stageKey.ValueSet(string(p.Deal.Stage)), statusKey.ValueSet(string(p.Deal.Status)))
}

func (l *dealLoop) tellDelivery(ctx workflow.Context, signal string, arg any) {
	err := workflow.SignalExternalWorkflow(ctx, DeliveryWorkflowID(l.st.Deal.ID), "", signal, arg).Get(ctx, nil)
	if err != nil {
		// The delivery has ended (every visit reported): nothing is waiting for this.
		workflow.GetLogger(ctx).Warn("the delivery was not told", "deal", l.st.Deal.ID, "signal", signal, "err", err)
	}
}

// deliver sends the notice by webhook and by e-mail, each on its own, without holding up the deal.
func (l *dealLoop) deliver(ctx workflow.Context, n kamflow.Notice) {
	l.send(ctx, kamflow.OutboundNotice{Channel: kamflow.ChannelWebhook, Notice: n})
	l.send(ctx, kamflow.OutboundNotice{Channel: kamflow.ChannelEmail, Notice: n})
}

// send runs the delivery's activity in a coroutine of its own, retried until it succeeds: the
// deal's inputs go on meanwhile. It stays in l.outbound, carried across continue-as-new, until
// delivered.
func (l *dealLoop) send(ctx workflow.Context, d kamflow.OutboundNotice) {
	l.outbound = append(l.outbound, d)
	workflow.Go(ctx, func(ctx workflow.Context) {
		var a *activities.Activities
		fn := a.SendWebhook
		if d.Channel == kamflow.ChannelEmail {
			fn = a.SendEmail
		}
		if err := workflow.ExecuteActivity(outboundCtx(ctx), fn, d.Notice).Get(ctx, nil); err != nil {
			// Only a non-retryable failure (or a cancellation) ends up here: nothing more to do.
			workflow.GetLogger(ctx).Error("notice not delivered", "delivery", d.Key(), "err", err)
		}
		l.outbound = slices.DeleteFunc(l.outbound, func(x kamflow.OutboundNotice) bool { return x.Key() == d.Key() })
	})
}

// failureReason tells a change the store refused (a non-retryable failure of the activity) from
// one whose retries ran out.
func failureReason(err error) string {
	var app *temporal.ApplicationError
	if errors.As(err, &app) && app.NonRetryable() {
		return kamflow.AttentionRefused
	}
	return kamflow.AttentionExhausted
}
