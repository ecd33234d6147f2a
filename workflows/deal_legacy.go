package workflows

// The deal workflow as it ran before the one-queue state machine (oneQueueChange): every run
// started before that change goes on with this code until it continues as new, so that its
// history replays. It is frozen: change nothing here but what the compiler asks for. Its
// shortcomings are why it was replaced — signals applied in coroutines of their own, so one that
// arrives in the same workflow task as a continue-as-new can be lost; projections retried
// without limit under the deal's lock.

import (
	"fmt"
	"slices"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/activities"
)

// ladderChange is the workflow.GetVersion change of the escalation ladder. A run that reached
// a stall before it (DefaultVersion) keeps the behaviour it had: no director's rung and no
// webhook or e-mail, until it continues as new. It is asked for only where the ladder changes
// what the workflow does (a stalled deal's timer, a stall's notices), so a run that never stalls
// has no marker at all.
const ladderChange = "escalation-ladder"

// legacyActivityCtx retries an activity until it succeeds, as the legacy runs did.
func legacyActivityCtx(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    200 * time.Millisecond,
			BackoffCoefficient: 2,
			MaximumInterval:    time.Minute,
			MaximumAttempts:    0, // unlimited
		},
	})
}

// legacyDealRun is the state of one run of a deal workflow.
type legacyDealRun struct {
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
func legacyDealWorkflow(ctx workflow.Context, in DealInput) (kamflow.Deal, error) {
	r := &legacyDealRun{in: in, deal: in.Deal, settings: in.Settings, projected: in.ProjectedSeq, deliveryStarted: in.DeliveryStarted,
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

func (r *legacyDealRun) register(ctx workflow.Context) error {
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
	// kamflow's own stale-contact mark came as a "contact_stale" command with the role system
	// before; that role is refused now, so a legacy run takes the mark by the new Update too.
	// Registering a handler records nothing in the history: old histories replay unchanged.
	mark := func(m kamflow.ContactStaleInput) kamflow.DealEvent {
		return kamflow.DealEvent{Kind: kamflow.EvContact, Contact: &m}
	}
	state := func() *kamflow.DealState {
		return &kamflow.DealState{Deal: *r.deal.Clone(), Settings: r.settings, Escalation: r.esc}
	}
	err := workflow.SetUpdateHandlerWithOptions(ctx, MarkContactUpdate,
		func(ctx workflow.Context, m kamflow.ContactStaleInput) (kamflow.Deal, error) {
			var out kamflow.Deal
			err := r.locked(ctx, func() error {
				st := state()
				fx, err := st.Handle(mark(m), workflow.Now(ctx))
				if err != nil {
					return toAppError(err)
				}
				r.deal = st.Deal
				r.changes++
				if err := r.project(ctx, nil, fx[0].Projection.Audit); err != nil {
					return err
				}
				out = r.deal
				return nil
			})
			return out, err
		},
		workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, m kamflow.ContactStaleInput) error {
			return toAppError(state().Check(mark(m), workflow.Now(ctx)))
		}})
	if err != nil {
		return err
	}
	err = workflow.SetUpdateHandler(ctx, SnapshotUpdate, func(ctx workflow.Context) (kamflow.Deal, error) {
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
func (r *legacyDealRun) effective() kamflow.Settings {
	return r.esc.SettingsFor(r.settings, r.deal.TeamID)
}

// directorAfter is the deal's director's rung, as a multiple of its SLA.
func (r *legacyDealRun) directorAfter() float64 {
	return r.esc.DirectorAfter(r.deal.TeamID, r.deal.Stage)
}

// applySettings takes new settings: the deal is held to its stage's new SLA at once (which may
// stall it, or lift its stall), and a ladder whose director's rung now lies ahead starts again.
func (r *legacyDealRun) applySettings(ctx workflow.Context, s kamflow.Settings) error {
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
func (r *legacyDealRun) ladderOn(ctx workflow.Context) bool {
	if !r.ladderAsked {
		r.ladderVersion = workflow.GetVersion(ctx, ladderChange, workflow.DefaultVersion, 1)
		r.ladderAsked = true
	}
	return r.ladderVersion >= 1
}

// handle applies an accepted command. The validator already checked it, but another handler may
// have changed the deal while this one waited for the lock, so Apply checks again.
func (r *legacyDealRun) handle(ctx workflow.Context, kind kamflow.CommandKind, cmd kamflow.Command) (kamflow.Deal, error) {
	var out kamflow.Deal
	err := r.locked(ctx, func() error {
		now := workflow.Now(ctx)
		before := r.deal.Clone()
		fx, err := r.deal.ApplyRules(cmd, now, r.effective())
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
func (r *legacyDealRun) toDelivery(ctx workflow.Context, before *kamflow.Deal, cmd kamflow.Command) error {
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
func (r *legacyDealRun) applyAcceptance(ctx workflow.Context, n AcceptanceNotice) error {
	now := workflow.Now(ctx)
	cmd := kamflow.Command{Kind: kamflow.CmdAcceptance, Actor: n.Actor,
		Acceptance: &kamflow.AcceptanceInput{Result: n.Result, Notes: n.Notes, OpenPunchItems: n.OpenPunchItems, FromPlan: true}}
	if err := r.deal.CheckRules(cmd, now, r.effective()); err != nil {
		workflow.GetLogger(ctx).Warn("acceptance from the delivery refused", "deal", r.deal.ID, "err", err)
		return nil
	}
	before := r.deal.Clone()
	fx, err := r.deal.ApplyRules(cmd, now, r.effective())
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
func (r *legacyDealRun) onTimer(ctx workflow.Context) error {
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
func (r *legacyDealRun) nextWake(ctx workflow.Context) time.Time {
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

func (r *legacyDealRun) canSuggested(ctx workflow.Context) bool {
	if r.in.MaxUpdatesPerRun > 0 && r.changes >= r.in.MaxUpdatesPerRun {
		return true
	}
	return workflow.GetInfo(ctx).GetContinueAsNewSuggested()
}

func (r *legacyDealRun) locked(ctx workflow.Context, fn func() error) error {
	if err := r.mu.Lock(ctx); err != nil {
		return err
	}
	defer r.mu.Unlock()
	return fn()
}

// project writes the deal as it now stands to the database and updates the search attributes.
func (r *legacyDealRun) project(ctx workflow.Context, t *kamflow.StageTransition, audit *kamflow.AuditEntry) error {
	var a *activities.Activities
	p := kamflow.Projection{Deal: r.deal, Transition: t, Audit: audit}
	if err := workflow.ExecuteActivity(legacyActivityCtx(ctx), a.ProjectDeal, p).Get(ctx, nil); err != nil {
		return fmt.Errorf("project deal %s seq %d: %w", r.deal.ID, r.deal.Seq, err)
	}
	r.projected = r.deal.Seq
	return workflow.UpsertTypedSearchAttributes(ctx,
		stageKey.ValueSet(string(r.deal.Stage)), statusKey.ValueSet(string(r.deal.Status)))
}

func (r *legacyDealRun) notifyStalled(ctx workflow.Context) error {
	var a *activities.Activities
	d := r.deal
	n := []kamflow.Notification{{
		UserID: d.Owner, DealID: d.ID, Kind: "stalled",
		Key:       fmt.Sprintf("stalled:%s:%d", d.ID, d.Seq),
		Params:    kamflow.StalledParams(&d),
		Message:   fmt.Sprintf("%s has made no progress in the %s stage within its SLA of %s", d.Title, d.Stage, d.StageSLA),
		CreatedAt: workflow.Now(ctx),
	}}
	if err := workflow.ExecuteActivity(legacyActivityCtx(ctx), a.Notify, n).Get(ctx, nil); err != nil {
		return err
	}
	if r.ladderOn(ctx) {
		r.deliver(ctx, r.notice(ctx, n[0].Key, activities.EventStalled, "kam", []string{d.Owner}, n[0].Message))
	}
	return nil
}

// notifyDirectors climbs the ladder's second rung: the directors of the deal's team are told, in
// the app and outside it.
func (r *legacyDealRun) notifyDirectors(ctx workflow.Context) error {
	var a *activities.Activities
	d := r.deal
	now := workflow.Now(ctx)
	after := r.directorAfter()
	// The time makes the key unique: the same stall may reach the rung twice (raised past now, then
	// passed again) without a change of the deal.
	key := fmt.Sprintf("escalated:%s:%d:%d", d.ID, d.Seq, now.Unix())
	stalledFor := kamflow.Duration(kamflow.DirectorDelay(time.Duration(d.StageSLA), after))
	msg := fmt.Sprintf("%s (owner %s) has made no progress in the %s stage for %s, %g× its SLA of %s",
		d.Title, d.Owner, d.Stage, stalledFor, after, d.StageSLA)
	var told []string
	err := workflow.ExecuteActivity(legacyActivityCtx(ctx), a.NotifyDirectors,
		activities.DirectorNotice{DealID: d.ID, TeamID: d.TeamID, Key: key, Message: msg, At: now,
			Kind: kamflow.NoticeEscalated, Params: kamflow.EscalatedParams(&d, stalledFor)}).Get(ctx, &told)
	if err != nil {
		return err
	}
	r.ladder.DirectorsToldAt = &now
	r.deliver(ctx, r.notice(ctx, key, activities.EventEscalated, "director", told, msg))
	return nil
}

func (r *legacyDealRun) notice(ctx workflow.Context, id, event, level string, to []string, msg string) activities.Notice {
	d := r.deal
	return activities.Notice{
		ID: id, Event: event, Level: level, Recipients: append([]string{}, to...), DealID: d.ID, Title: d.Title,
		AccountID: d.AccountID, Stage: d.Stage, TeamID: d.TeamID, Owner: d.Owner, SLA: d.StageSLA,
		DirectorAfter: r.directorAfter(), StalledSince: d.StalledSince, Message: msg, At: workflow.Now(ctx),
	}
}

// deliver sends the notice by webhook and by e-mail, each on its own, without holding up the deal.
func (r *legacyDealRun) deliver(ctx workflow.Context, n activities.Notice) {
	r.send(ctx, activities.Delivery{Channel: activities.ChannelWebhook, Notice: n})
	r.send(ctx, activities.Delivery{Channel: activities.ChannelEmail, Notice: n})
}

// send runs the delivery's activity in a coroutine of its own, retried until it succeeds: the
// deal's changes go on meanwhile. It stays in r.outbound until delivered.
func (r *legacyDealRun) send(ctx workflow.Context, d activities.Delivery) {
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
