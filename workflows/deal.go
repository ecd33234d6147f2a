// Package workflows runs each deal as one long-running Temporal workflow, the source of truth for
// its stage. Every change to a deal is a Workflow Update whose validator applies the domain's
// rules to the workflow's state, so a move that misses its key node is rejected synchronously and
// leaves no event in the history. A timer per stage marks the deal stalled when its SLA passes.
//
// The escalation ladder (kamflow.Escalation): when the SLA passes without progress the deal is
// stalled and its KAM told; when DirectorAfter × the SLA passes, the directors of its team are
// told. Progress resets the ladder, a pause stops its clock, a change of SLA or ladder reaches
// deals in flight through a signal. Each notice is stored in-app and delivered by webhook and
// e-mail by activities retried until they succeed; undelivered notices are carried across
// continue-as-new and a deal's workflow ends only once they are delivered.
//
// The package must stay deterministic: no I/O, no wall clock, no goroutines. Side effects live in
// the activities package.
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
)

// Names shared by the workflow and its clients.
const (
	TaskQueue          = "kamflow-deals"
	DealWorkflowName   = "DealWorkflow"
	SnapshotUpdate     = "snapshot" // waits until the deal is projected and returns it
	DealQuery          = "deal"
	SettingsSignal     = "settings"
	SearchAttrStage    = "KamflowStage"
	SearchAttrStatus   = "KamflowStatus"
	workflowIDPrefix   = "deal-"
	projectionAttempts = 0 // unlimited: a projection is retried until the database takes it
)

// EscalationSignal carries a SettingsUpdate: the settings and the escalation ladder together.
const EscalationSignal = "escalation"

// ladderChange is the workflow.GetVersion change of the escalation ladder. A run that reached
// a stall before it (DefaultVersion) keeps the behaviour it had: no director's rung and no
// webhook or e-mail, until it continues as new. It is asked for only where the ladder changes
// what the workflow does (a stalled deal's timer, a stall's notices), so a run that never stalls
// has no marker at all.
const ladderChange = "escalation-ladder"

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
}

// SettingsUpdate is the payload of EscalationSignal: the settings and the escalation ladder, so
// that a deal applies a change of either (its team's SLA, its director's rung) at once.
type SettingsUpdate struct {
	Settings   kamflow.Settings   `json:"settings"`
	Escalation kamflow.Escalation `json:"escalation"`
}

// LadderState is where a deal's escalation ladder stands beyond what the deal itself says (its
// stall).
type LadderState struct {
	// DirectorsToldAt is when the directors were told of the present stall; nil until they are,
	// and again after progress.
	DirectorsToldAt *time.Time `json:"directors_told_at,omitempty"`
}

// dealRun is the state of one run of a deal workflow.
type dealRun struct {
	in       DealInput
	deal     kamflow.Deal
	settings kamflow.Settings
	esc      kamflow.Escalation
	ladder   LadderState
	// ladderVersion is the ladderChange version of this run, asked for once (ladderAsked).
	ladderVersion workflow.Version
	ladderAsked   bool
	// outbound are the deliveries under way.
	outbound []activities.Delivery
	// rearm moves when the time to wake may have moved without an accepted change (a new
	// director's rung), so that the main loop sets its timer again.
	rearm int
	// projected is the Seq last written to the database.
	projected int64
	// changes counts accepted changes in this run; the main loop re-arms its timer when it moves.
	changes int
	// deliveryStarted: the deal's delivery workflow runs (see DeliveryWorkflow).
	deliveryStarted bool
	// mu serialises handlers: each applies its change and waits for the projection before the
	// next one starts, so the database sees changes in order and a handler returns only after the
	// change is readable.
	mu workflow.Mutex
}

// DealWorkflow runs one deal from development to its end. It completes when the deal is final
// (won deals go on through delivery until the project is closed).
func DealWorkflow(ctx workflow.Context, in DealInput) (kamflow.Deal, error) {
	r := &dealRun{in: in, deal: in.Deal, settings: in.Settings, projected: in.ProjectedSeq, deliveryStarted: in.DeliveryStarted,
		mu: workflow.NewMutex(ctx)}
	if in.Escalation != nil {
		r.esc = *in.Escalation
		if in.Created != nil && r.projected < r.deal.Seq {
			// Not projected yet: the deal starts with its team's SLA, as if it had been opened with it.
			r.deal.StageSLA = kamflow.Duration(r.effective().StageSLA(r.deal.Stage))
		}
	}
	if in.Ladder != nil {
		r.ladder = *in.Ladder
	}
	if err := r.register(ctx); err != nil {
		return r.deal, err
	}
	for _, d := range in.Outbound {
		r.send(ctx, d)
	}
	if r.projected < r.deal.Seq {
		var audit *kamflow.AuditEntry
		if in.Created != nil {
			audit = kamflow.CreatedAudit(&r.deal)
		}
		if err := r.locked(ctx, func() error { return r.project(ctx, in.Created, audit) }); err != nil {
			return r.deal, err
		}
	}
	for {
		seen, rearm := r.changes, r.rearm
		wake := r.nextWake(ctx)
		changed := func() bool {
			return r.changes != seen || r.rearm != rearm || r.canSuggested(ctx) || !r.deal.Active()
		}
		fired, err := awaitWake(ctx, wake, changed)
		if err != nil {
			return r.deal, err
		}
		if fired {
			if err := r.locked(ctx, func() error { return r.onTimer(ctx) }); err != nil {
				return r.deal, err
			}
		}
		if !r.deal.Active() || r.canSuggested(ctx) {
			// Let every accepted Update finish (and project) before the run ends.
			if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
				return r.deal, err
			}
			if !r.deal.Active() {
				// The deal is over, but its notices are still delivered: none is ever dropped.
				if err := workflow.Await(ctx, func() bool { return len(r.outbound) == 0 }); err != nil {
					return r.deal, err
				}
				return r.deal, nil
			}
			esc, ladder := r.esc, r.ladder
			next := DealInput{Deal: r.deal, Settings: r.settings, ProjectedSeq: r.projected, MaxUpdatesPerRun: in.MaxUpdatesPerRun,
				Escalation: &esc, Ladder: &ladder, Outbound: slices.Clone(r.outbound), DeliveryStarted: r.deliveryStarted}
			return r.deal, workflow.NewContinueAsNewError(ctx, DealWorkflowName, next)
		}
	}
}

func (r *dealRun) register(ctx workflow.Context) error {
	for _, kind := range kamflow.CommandKinds {
		kind := kind
		err := workflow.SetUpdateHandlerWithOptions(ctx, string(kind),
			func(ctx workflow.Context, cmd kamflow.Command) (kamflow.Deal, error) { return r.handle(ctx, kind, cmd) },
			workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, cmd kamflow.Command) error {
				if cmd.Kind != kind {
					return toAppError(kamflow.Errorf(kamflow.EINVALID, "update %s carries a %q command", kind, cmd.Kind))
				}
				return toAppError(r.deal.Check(cmd, workflow.Now(ctx), r.effective()))
			}})
		if err != nil {
			return err
		}
	}
	err := workflow.SetUpdateHandler(ctx, SnapshotUpdate, func(ctx workflow.Context) (kamflow.Deal, error) {
		err := workflow.Await(ctx, func() bool { return r.projected >= r.deal.Seq })
		return r.deal, err
	})
	if err != nil {
		return err
	}
	if err := workflow.SetQueryHandler(ctx, DealQuery, func() (kamflow.Deal, error) { return r.deal, nil }); err != nil {
		return err
	}
	settings := workflow.GetSignalChannel(ctx, SettingsSignal)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			var s kamflow.Settings
			settings.Receive(ctx, &s)
			_ = r.locked(ctx, func() error { return r.applySettings(ctx, s) })
		}
	})
	acceptance := workflow.GetSignalChannel(ctx, AcceptanceSignal)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			var n AcceptanceNotice
			acceptance.Receive(ctx, &n)
			_ = r.locked(ctx, func() error { return r.applyAcceptance(ctx, n) })
		}
	})
	escalation := workflow.GetSignalChannel(ctx, EscalationSignal)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			var u SettingsUpdate
			escalation.Receive(ctx, &u)
			_ = r.locked(ctx, func() error {
				r.esc = u.Escalation
				r.rearm++ // the director's rung may have moved
				return r.applySettings(ctx, u.Settings)
			})
		}
	})
	return nil
}

// effective is the settings as they apply to the deal: its team's SLA overrides in place.
func (r *dealRun) effective() kamflow.Settings { return r.esc.SettingsFor(r.settings, r.deal.TeamID) }

// directorAfter is the deal's director's rung, as a multiple of its SLA.
func (r *dealRun) directorAfter() float64 { return r.esc.DirectorAfter(r.deal.TeamID, r.deal.Stage) }

// applySettings takes new settings: the deal is held to its stage's new SLA at once (which may
// stall it, or lift its stall), and a ladder whose director's rung now lies ahead starts again.
func (r *dealRun) applySettings(ctx workflow.Context, s kamflow.Settings) error {
	r.settings = s
	now := workflow.Now(ctx)
	if !r.deal.Active() {
		return nil
	}
	changed := r.deal.SetStageSLA(r.effective(), now)
	if r.ladder.DirectorsToldAt != nil {
		if dl := r.deal.DirectorDeadline(r.directorAfter()); !dl.IsZero() && now.Before(dl) {
			r.ladder.DirectorsToldAt = nil
			r.rearm++
		}
	}
	if !changed {
		return nil
	}
	r.changes++
	return r.project(ctx, nil, kamflow.SystemAudit("sla", fmt.Sprintf("SLA of the %s stage set to %s", r.deal.Stage, r.deal.StageSLA), &r.deal, now))
}

// ladderOn reports whether this run has the escalation ladder (see ladderChange).
func (r *dealRun) ladderOn(ctx workflow.Context) bool {
	if !r.ladderAsked {
		r.ladderVersion = workflow.GetVersion(ctx, ladderChange, workflow.DefaultVersion, 1)
		r.ladderAsked = true
	}
	return r.ladderVersion >= 1
}

// handle applies an accepted command. The validator already checked it, but another handler may
// have changed the deal while this one waited for the lock, so Apply checks again.
func (r *dealRun) handle(ctx workflow.Context, kind kamflow.CommandKind, cmd kamflow.Command) (kamflow.Deal, error) {
	var out kamflow.Deal
	err := r.locked(ctx, func() error {
		now := workflow.Now(ctx)
		before := r.deal.Clone()
		fx, err := r.deal.Apply(cmd, now, r.effective())
		if err != nil {
			return toAppError(err)
		}
		if fx.Progress {
			r.ladder.DirectorsToldAt = nil // stage work: the ladder starts again from the bottom
		}
		if !r.deliveryStarted && before.Stage != kamflow.Delivery && r.deal.Stage == kamflow.Delivery &&
			workflow.GetVersion(ctx, deliveryChange, workflow.DefaultVersion, 1) == 1 {
			r.deal.DeliveryPlanned = true // the delivery workflow started below records the acceptance
		}
		r.changes++
		if err := r.project(ctx, fx.Transition, kamflow.DealAudit(cmd, before, &r.deal, now)); err != nil {
			return err
		}
		if err := r.toDelivery(ctx, before, cmd); err != nil {
			return err
		}
		out = r.deal
		return nil
	})
	return out, err
}

// toDelivery starts the deal's delivery workflow when the deal enters delivery, and tells it what
// it needs later: the project closed, the engineers or owner changed, the deal ended.
func (r *dealRun) toDelivery(ctx workflow.Context, before *kamflow.Deal, cmd kamflow.Command) error {
	now := workflow.Now(ctx)
	if !r.deliveryStarted && r.deal.DeliveryPlanned {
		plan := kamflow.PlanDelivery(&r.deal, now, r.settings)
		cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
			WorkflowID:            DeliveryWorkflowID(r.deal.ID),
			ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_ABANDON, // the service outlives the deal's workflow
			WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		})
		f := workflow.ExecuteChildWorkflow(cctx, DeliveryWorkflowName, DeliveryInput{Plan: *plan, Deal: r.deal})
		if err := f.GetChildWorkflowExecution().Get(ctx, nil); err != nil && !temporal.IsWorkflowExecutionAlreadyStartedError(err) {
			return fmt.Errorf("start the delivery of deal %s: %w", r.deal.ID, err)
		}
		r.deliveryStarted = true
		return nil
	}
	if !r.deliveryStarted {
		return nil
	}
	var err error
	switch {
	case cmd.Kind == kamflow.CmdCloseProject:
		err = workflow.SignalExternalWorkflow(ctx, DeliveryWorkflowID(r.deal.ID), "", ProjectClosedSignal, now).Get(ctx, nil)
	case cmd.Kind == kamflow.CmdReassign || cmd.Kind == kamflow.CmdAssignEngineers || !r.deal.Active():
		err = workflow.SignalExternalWorkflow(ctx, DeliveryWorkflowID(r.deal.ID), "", DeliveryDealSignal, r.deal).Get(ctx, nil)
	}
	if err != nil {
		// The delivery has ended (every visit reported) or never ran: nothing is waiting for this.
		workflow.GetLogger(ctx).Warn("the delivery was not told", "deal", r.deal.ID, "command", cmd.Kind, "err", err)
	}
	return nil
}

// applyAcceptance records the outcome of the delivery plan's acceptance test on the deal, under
// the deal's own rules, as the engineer who recorded it.
func (r *dealRun) applyAcceptance(ctx workflow.Context, n AcceptanceNotice) error {
	now := workflow.Now(ctx)
	cmd := kamflow.Command{Kind: kamflow.CmdAcceptance, Actor: n.Actor,
		Acceptance: &kamflow.AcceptanceInput{Result: n.Result, Notes: n.Notes, OpenPunchItems: n.OpenPunchItems, FromPlan: true}}
	if err := r.deal.Check(cmd, now, r.effective()); err != nil {
		workflow.GetLogger(ctx).Warn("acceptance from the delivery refused", "deal", r.deal.ID, "err", err)
		return nil
	}
	before := r.deal.Clone()
	fx, err := r.deal.Apply(cmd, now, r.effective())
	if err != nil {
		return nil
	}
	if fx.Progress {
		r.ladder.DirectorsToldAt = nil
	}
	r.changes++
	return r.project(ctx, fx.Transition, kamflow.DealAudit(cmd, before, &r.deal, now))
}

// onTimer handles the stall deadline or the resume date coming.
func (r *dealRun) onTimer(ctx workflow.Context) error {
	now := workflow.Now(ctx)
	if r.deal.ResumeDue(now) {
		r.changes++
		if err := r.project(ctx, nil, kamflow.SystemAudit("resume", "resumed on the pause's resume date", &r.deal, now)); err != nil {
			return err
		}
	}
	if r.deal.MarkStalled(now) {
		r.changes++
		summary := fmt.Sprintf("stalled: no progress in the %s stage within its SLA of %s", r.deal.Stage, r.deal.StageSLA)
		if err := r.project(ctx, nil, kamflow.SystemAudit("stalled", summary, &r.deal, now)); err != nil {
			return err
		}
		if err := r.notifyStalled(ctx); err != nil {
			return err
		}
	}
	if r.deal.Stalled && r.ladderOn(ctx) && r.ladder.DirectorsToldAt == nil {
		if dl := r.deal.DirectorDeadline(r.directorAfter()); !dl.IsZero() && !now.Before(dl) {
			return r.notifyDirectors(ctx)
		}
	}
	return nil
}

// nextWake is when the workflow must next look at the deal by itself: the stall deadline, the
// director's rung once stalled, or the pause's resume date. Zero when nothing is due.
func (r *dealRun) nextWake(ctx workflow.Context) time.Time {
	if !r.deal.Active() {
		return time.Time{}
	}
	if r.deal.Pause != nil {
		return r.deal.Pause.ResumeOn.Time()
	}
	if r.deal.Stalled {
		if r.ladder.DirectorsToldAt == nil && r.ladderOn(ctx) {
			return r.deal.DirectorDeadline(r.directorAfter())
		}
		return time.Time{}
	}
	return r.deal.StallDeadline()
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

func (r *dealRun) canSuggested(ctx workflow.Context) bool {
	if r.in.MaxUpdatesPerRun > 0 && r.changes >= r.in.MaxUpdatesPerRun {
		return true
	}
	return workflow.GetInfo(ctx).GetContinueAsNewSuggested()
}

func (r *dealRun) locked(ctx workflow.Context, fn func() error) error {
	if err := r.mu.Lock(ctx); err != nil {
		return err
	}
	defer r.mu.Unlock()
	return fn()
}

func activityCtx(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    200 * time.Millisecond,
			BackoffCoefficient: 2,
			MaximumInterval:    time.Minute,
			MaximumAttempts:    projectionAttempts,
		},
	})
}

// project writes the deal as it now stands to the database and updates the search attributes.
func (r *dealRun) project(ctx workflow.Context, t *kamflow.StageTransition, audit *kamflow.AuditEntry) error {
	var a *activities.Activities
	p := kamflow.Projection{Deal: r.deal, Transition: t, Audit: audit}
	if err := workflow.ExecuteActivity(activityCtx(ctx), a.ProjectDeal, p).Get(ctx, nil); err != nil {
		return fmt.Errorf("project deal %s seq %d: %w", r.deal.ID, r.deal.Seq, err)
	}
	r.projected = r.deal.Seq
	return workflow.UpsertTypedSearchAttributes(ctx,
		stageKey.ValueSet(string(r.deal.Stage)), statusKey.ValueSet(string(r.deal.Status)))
}

func (r *dealRun) notifyStalled(ctx workflow.Context) error {
	var a *activities.Activities
	d := r.deal
	n := []kamflow.Notification{{
		UserID: d.Owner, DealID: d.ID, Kind: "stalled",
		Key:       fmt.Sprintf("stalled:%s:%d", d.ID, d.Seq),
		Message:   fmt.Sprintf("%s has made no progress in the %s stage within its SLA of %s", d.Title, d.Stage, d.StageSLA),
		CreatedAt: workflow.Now(ctx),
	}}
	if err := workflow.ExecuteActivity(activityCtx(ctx), a.Notify, n).Get(ctx, nil); err != nil {
		return err
	}
	if r.ladderOn(ctx) {
		r.deliver(ctx, r.notice(ctx, n[0].Key, activities.EventStalled, "kam", []string{d.Owner}, n[0].Message))
	}
	return nil
}

// notifyDirectors climbs the ladder's second rung: the directors of the deal's team are told, in
// the app and outside it.
func (r *dealRun) notifyDirectors(ctx workflow.Context) error {
	var a *activities.Activities
	d := r.deal
	now := workflow.Now(ctx)
	after := r.directorAfter()
	// The time makes the key unique: the same stall may reach the rung twice (raised past now, then
	// passed again) without a change of the deal.
	key := fmt.Sprintf("escalated:%s:%d:%d", d.ID, d.Seq, now.Unix())
	msg := fmt.Sprintf("%s (owner %s) has made no progress in the %s stage for %s, %g× its SLA of %s",
		d.Title, d.Owner, d.Stage, kamflow.Duration(kamflow.DirectorDelay(time.Duration(d.StageSLA), after)), after, d.StageSLA)
	var told []string
	err := workflow.ExecuteActivity(activityCtx(ctx), a.NotifyDirectors,
		activities.DirectorNotice{DealID: d.ID, TeamID: d.TeamID, Key: key, Message: msg, At: now}).Get(ctx, &told)
	if err != nil {
		return err
	}
	r.ladder.DirectorsToldAt = &now
	r.deliver(ctx, r.notice(ctx, key, activities.EventEscalated, "director", told, msg))
	return nil
}

func (r *dealRun) notice(ctx workflow.Context, id, event, level string, to []string, msg string) activities.Notice {
	d := r.deal
	return activities.Notice{
		ID: id, Event: event, Level: level, Recipients: append([]string{}, to...), DealID: d.ID, Title: d.Title,
		AccountID: d.AccountID, Stage: d.Stage, TeamID: d.TeamID, Owner: d.Owner, SLA: d.StageSLA,
		DirectorAfter: r.directorAfter(), StalledSince: d.StalledSince, Message: msg, At: workflow.Now(ctx),
	}
}

// deliver sends the notice by webhook and by e-mail, each on its own, without holding up the deal.
func (r *dealRun) deliver(ctx workflow.Context, n activities.Notice) {
	r.send(ctx, activities.Delivery{Channel: activities.ChannelWebhook, Notice: n})
	r.send(ctx, activities.Delivery{Channel: activities.ChannelEmail, Notice: n})
}

// send runs the delivery's activity in a coroutine of its own, retried until it succeeds: the
// deal's changes go on meanwhile. It stays in r.outbound until delivered.
func (r *dealRun) send(ctx workflow.Context, d activities.Delivery) {
	r.outbound = append(r.outbound, d)
	workflow.Go(ctx, func(ctx workflow.Context) {
		var a *activities.Activities
		fn := a.SendWebhook
		if d.Channel == activities.ChannelEmail {
			fn = a.SendEmail
		}
		if err := workflow.ExecuteActivity(outboundCtx(ctx), fn, d.Notice).Get(ctx, nil); err != nil {
			// Only a non-retryable failure (or a cancellation) ends up here: nothing more to do.
			workflow.GetLogger(ctx).Error("notice not delivered", "delivery", d.Key(), "err", err)
		}
		r.outbound = slices.DeleteFunc(r.outbound, func(x activities.Delivery) bool { return x.Key() == d.Key() })
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
	kamflow.EINVALID: true, kamflow.ENOTFOUND: true, kamflow.EGATENOTMET: true, kamflow.EWRONGSTAGE: true,
	kamflow.ECONFLICT: true, kamflow.EFORBIDDEN: true, kamflow.EUNAUTHORIZED: true,
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
