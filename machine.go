package kamflow

import (
	"fmt"
	"slices"
	"time"
)

// The deal's state machine. Everything a deal does lives here once: how each input changes the
// deal, and what must happen because of it (the effects). The deal's workflow is a loop that
// feeds the inputs in one at a time, in the order they came, and runs the effects; the API's
// tests drive the same machine in process. Nothing here does I/O, reads a clock or starts work:
// the caller passes the time and runs the effects.
//
// An input is either a person's command (a Workflow Update, checked against the actor's rights)
// or work kamflow does by itself: the deal's own timer, a settings or escalation change, the
// delivery plan's acceptance outcome and hold, a stale-contact mark. Those are told apart by the
// path they come by (their own signal or Update, never a role in a payload): DealEvent.Kind.

// DealState is all a deal's workflow holds: the deal and what it is held to.
type DealState struct {
	Deal       Deal       `json:"deal"`
	Settings   Settings   `json:"settings"`
	Escalation Escalation `json:"escalation"`
	// SettingsVersion is the version of the settings (VersionedSettings.Version) the deal holds;
	// 0 when unknown (a deal opened before versions were told). A settings input at or below it is
	// ignored: a fan-out's message that crosses a newer one changes nothing.
	SettingsVersion int64 `json:"settings_version,omitempty"`
	// DirectorsToldAt is when the directors were told of the present stall; nil until they are,
	// and again after progress.
	DirectorsToldAt *time.Time `json:"directors_told_at,omitempty"`
	// DeliveryStarted is set once the deal's delivery plan has been started.
	DeliveryStarted bool `json:"delivery_started,omitempty"`
	// Attention is set while a change of the deal could not be written to the store for good;
	// Held are the projections not written yet, oldest first. New commands are refused meanwhile
	// and kamflow's own inputs are held too, so that the store gets every change, in order, once
	// an admin retries.
	Attention *Attention   `json:"attention,omitempty"`
	Held      []Projection `json:"held,omitempty"`
}

// Effective is the settings as they apply to the deal: its team's SLA overrides in place.
func (s *DealState) Effective() Settings { return s.Escalation.SettingsFor(s.Settings, s.Deal.TeamID) }

// DirectorAfter is the deal's director's rung, as a multiple of its SLA.
func (s *DealState) DirectorAfter() float64 {
	return s.Escalation.DirectorAfter(s.Deal.TeamID, s.Deal.Stage)
}

// DealEventKind says where an input to a deal comes from.
type DealEventKind string

// The inputs of a deal.
const (
	EvCommand      DealEventKind = "command"       // a person's command (Command)
	EvContact      DealEventKind = "contact"       // kamflow marks a stakeholder stale or fresh (Contact)
	EvSettings     DealEventKind = "settings"      // the settings (and maybe the escalation ladder) changed
	EvAcceptance   DealEventKind = "acceptance"    // the delivery plan's acceptance outcome (Acceptance)
	EvDeliveryHold DealEventKind = "delivery_hold" // the delivery plan's tasks whose undo failed (Hold)
	EvTimer        DealEventKind = "timer"         // the deal's own timer: stall, director's rung, resume date
	EvRetry        DealEventKind = "retry"         // an admin asks for the held changes to be written (By)
)

// DealEvent is one input to a deal; Kind says which field is set.
type DealEvent struct {
	Kind    DealEventKind      `json:"kind"`
	Command *Command           `json:"command,omitempty"`
	Contact *ContactStaleInput `json:"contact,omitempty"`
	// Settings with EvSettings; Escalation, when set with it, is the new ladder, and
	// SettingsVersion their version (0 from an older sender: applied whatever the deal holds).
	Settings        *Settings         `json:"settings,omitempty"`
	Escalation      *Escalation       `json:"escalation,omitempty"`
	SettingsVersion int64             `json:"settings_version,omitempty"`
	Acceptance      *AcceptanceNotice `json:"acceptance,omitempty"`
	Hold            *DeliveryHold     `json:"hold,omitempty"`
	By              *Actor            `json:"by,omitempty"`
}

// DealEffectKind names what a deal's input calls for.
type DealEffectKind string

// The effects of a deal's inputs.
const (
	FxProject         DealEffectKind = "project"          // write Projection to the store
	FxProjectHeld     DealEffectKind = "project_held"     // write the held projections, in order (HeldWritten, HoldFailed)
	FxRecordAttention DealEffectKind = "record_attention" // list the deal as needing attention (Attention) and tell the admins
	FxClearAttention  DealEffectKind = "clear_attention"  // the deal needs attention no more
	FxNotify          DealEffectKind = "notify"           // store in-app Notifications
	FxOutbound        DealEffectKind = "outbound"         // deliver Notice by webhook and by e-mail
	FxTellDirectors   DealEffectKind = "tell_directors"   // tell the team's directors (Directors), then deliver Notice to them
	FxStartDelivery   DealEffectKind = "start_delivery"   // start the deal's delivery plan (Plan)
	FxProjectClosed   DealEffectKind = "project_closed"   // tell the delivery plan the project closed, at At
	FxDealChanged     DealEffectKind = "deal_changed"     // tell the delivery plan the deal as it now stands (Deal)
)

// DealEffect is one thing the runner of the machine must do, in the order given.
type DealEffect struct {
	Kind          DealEffectKind  `json:"kind"`
	Projection    *Projection     `json:"projection,omitempty"`
	Attention     *Attention      `json:"attention,omitempty"`
	Notifications []Notification  `json:"notifications,omitempty"`
	Notice        *Notice         `json:"notice,omitempty"`
	Directors     *DirectorNotice `json:"directors,omitempty"`
	Plan          *DeliveryPlan   `json:"plan,omitempty"`
	Deal          *Deal           `json:"deal,omitempty"`
	At            time.Time       `json:"at,omitempty"`
}

// OpenDeal is a deal's first state: the deal as NewDeal made it, under the settings and ladder in
// force (its team's SLA for the first stage), and the effects of opening it: its first
// projection, with the stage-history row created.
func OpenDeal(d Deal, created *StageTransition, s Settings, e Escalation) (*DealState, []DealEffect) {
	st := &DealState{Deal: d, Settings: s, Escalation: e}
	st.Deal.StageSLA = Duration(st.Effective().StageSLA(st.Deal.Stage))
	return st, st.project(created, CreatedAudit(&st.Deal))
}

// Check decides whether ev may be taken as the deal now stands, without changing anything: the
// Update validator. A person's command is checked against the actor's rights (Deal.Check), and
// refused while the deal needs attention; kamflow's own inputs against the deal's rules only.
func (s *DealState) Check(ev DealEvent, now time.Time) error {
	switch ev.Kind {
	case EvCommand:
		if ev.Command == nil {
			return Errorf(EINVALID, "the command is missing")
		}
		if err := ev.Command.Actor.Authorize(*ev.Command, &s.Deal); err != nil {
			return err
		}
		if s.Attention != nil {
			return s.AttentionError()
		}
		if err := s.Deal.Check(*ev.Command, now, s.Effective()); err != nil {
			return err
		}
		return s.withinBudget(*ev.Command, now)
	case EvContact:
		if ev.Contact == nil {
			return Errorf(EINVALID, "the stakeholder's mark is missing")
		}
		return s.Deal.CheckRules(s.contactCommand(*ev.Contact), now, s.Effective())
	case EvRetry:
		if ev.By == nil || ev.By.Role != UserAdmin {
			return Errorf(EFORBIDDEN, "only an admin can retry writing a deal's changes")
		}
		if s.Attention == nil {
			return Errorf(ECONFLICT, "deal %s needs no attention: its changes are all written", s.Deal.ID)
		}
		return nil
	case EvSettings:
		if ev.Settings == nil {
			return Errorf(EINVALID, "the settings are missing")
		}
		return nil
	case EvAcceptance:
		if ev.Acceptance == nil {
			return Errorf(EINVALID, "the acceptance is missing")
		}
		return s.Deal.CheckRules(acceptanceCommand(*ev.Acceptance), now, s.Effective())
	case EvDeliveryHold:
		if ev.Hold == nil {
			return Errorf(EINVALID, "the delivery hold is missing")
		}
		return nil
	case EvTimer:
		return nil
	}
	return Errorf(EINVALID, "a deal takes no %q input", ev.Kind)
}

// AttentionError is what a change to a deal that needs attention is answered: it is held, not lost.
// DealBudget bounds a deal's record as its workflow holds it, encoded: far below Temporal's
// payload limit (2 MiB), since every change's Update answer and projection carry the whole deal.
// A change that would take the deal past it is refused (too_large), naming the budget.
const DealBudget = 256 << 10

// withinBudget refuses a command that would take the deal past DealBudget: the command is tried
// on a copy of the deal.
func (s *DealState) withinBudget(cmd Command, now time.Time) error {
	c := s.Deal.Clone()
	if _, err := c.ApplyRules(cmd, now, s.Effective()); err != nil {
		return err
	}
	if n := c.EncodedSize(); n > DealBudget {
		return Errorf(ETOOLARGE, "the deal's record would be %d KiB, over its budget of %d KiB: shorten notes or record fewer stakeholders or criteria",
			(n+1023)/1024, DealBudget/1024).WithDetail("limit", DealBudget).WithDetail("size", n)
	}
	return nil
}

func (s *DealState) AttentionError() *Error {
	return Errorf(EUNAVAILABLE, "deal %s needs attention: its change %d could not be saved (%s); an admin has been told, and the deal takes changes again once they have retried",
		s.Deal.ID, s.Attention.Seq, s.Attention.Error).WithDetail("attention", true)
}

// contactCommand is kamflow's stale-contact mark as the deal's rules see it.
func (s *DealState) contactCommand(in ContactStaleInput) Command {
	return Command{Kind: CmdContactStale, Actor: Actor{ID: SystemActorID}, ContactStale: &in}
}

func acceptanceCommand(n AcceptanceNotice) Command {
	return Command{Kind: CmdAcceptance, Actor: Actor{ID: n.Actor.ID, Role: n.Actor.Role, Teams: n.Actor.Teams},
		Acceptance: &AcceptanceInput{Result: n.Result, Notes: n.Notes, OpenPunchItems: n.OpenPunchItems, FromPlan: true}}
}

// SystemActorID is who kamflow's own changes are recorded as, on the timeline and in the audit.
const SystemActorID = "kamflow"

// Handle takes one input at time now: it changes the state and returns what must be done because
// of it, in order. An input it refuses (see Check: the deal may have changed since its validator
// ran) changes nothing and returns the refusal.
func (s *DealState) Handle(ev DealEvent, now time.Time) ([]DealEffect, error) {
	if err := s.Check(ev, now); err != nil {
		return nil, err
	}
	switch ev.Kind {
	case EvCommand:
		return s.apply(*ev.Command, now, true)
	case EvContact:
		return s.apply(s.contactCommand(*ev.Contact), now, false)
	case EvAcceptance:
		return s.apply(acceptanceCommand(*ev.Acceptance), now, false)
	case EvSettings:
		if ev.SettingsVersion > 0 && ev.SettingsVersion <= s.SettingsVersion {
			return nil, nil // the deal holds these settings, or newer ones, already
		}
		return s.settingsChanged(*ev.Settings, ev.Escalation, ev.SettingsVersion, now), nil
	case EvDeliveryHold:
		return s.holdChanged(ev.Hold.UndoFailed, now), nil
	case EvTimer:
		return s.timer(now), nil
	case EvRetry:
		s.Attention.Attempts++
		return []DealEffect{{Kind: FxProjectHeld}}, nil
	}
	return nil, nil
}

// apply applies a command: a person's (authorized) or kamflow's own (checked against the rules).
func (s *DealState) apply(cmd Command, now time.Time, person bool) ([]DealEffect, error) {
	before := s.Deal.Clone()
	var fx Effects
	var err error
	if person {
		fx, err = s.Deal.Apply(cmd, now, s.Effective())
	} else {
		fx, err = s.Deal.ApplyRules(cmd, now, s.Effective())
	}
	if err != nil {
		return nil, err
	}
	if fx.Progress {
		s.DirectorsToldAt = nil // stage work: the ladder starts again from the bottom
	}
	if !s.DeliveryStarted && before.Stage != Delivery && s.Deal.Stage == Delivery {
		s.Deal.DeliveryPlanned = true // the delivery plan started below records the acceptance
	}
	out := s.project(fx.Transition, DealAudit(cmd, before, &s.Deal, now))
	if person {
		out = append(out, s.approvalEffects(cmd, fx.Answered, now)...)
	}
	switch {
	case !s.DeliveryStarted && s.Deal.DeliveryPlanned:
		s.DeliveryStarted = true
		out = append(out, DealEffect{Kind: FxStartDelivery, Plan: PlanDelivery(&s.Deal, now, s.Settings)})
	case !s.DeliveryStarted:
	case cmd.Kind == CmdCloseProject:
		out = append(out, DealEffect{Kind: FxProjectClosed, At: now})
	case cmd.Kind == CmdReassign || cmd.Kind == CmdAssignEngineers || cmd.Kind == CmdEdit || !s.Deal.Active():
		out = append(out, DealEffect{Kind: FxDealChanged, Deal: s.Deal.Clone()})
	}
	return out, nil
}

// settingsChanged holds the deal to new settings (and ladder) at once: its stage's new SLA may
// stall it or lift its stall, and a director's rung now ahead starts that rung again.
// A version of 0 leaves the deal's version as it is.
func (s *DealState) settingsChanged(set Settings, esc *Escalation, version int64, now time.Time) []DealEffect {
	s.Settings = set
	s.SettingsVersion = max(s.SettingsVersion, version)
	if esc != nil {
		s.Escalation = *esc
	}
	if !s.Deal.Active() {
		return nil
	}
	changed := s.Deal.SetStageSLA(s.Effective(), now)
	if s.DirectorsToldAt != nil {
		if dl := s.Deal.DirectorDeadline(s.DirectorAfter()); !dl.IsZero() && now.Before(dl) {
			s.DirectorsToldAt = nil
		}
	}
	if !changed {
		return nil
	}
	return s.project(nil, SystemAudit("sla", fmt.Sprintf("SLA of the %s stage set to %s", s.Deal.Stage, s.Deal.StageSLA), &s.Deal, now))
}

// holdChanged records the delivery tasks whose undo failed, as the plan now tells them.
func (s *DealState) holdChanged(tasks []string, now time.Time) []DealEffect {
	tasks = slices.Clone(tasks)
	slices.Sort(tasks)
	tasks = slices.Compact(tasks)
	if slices.Equal(tasks, s.Deal.UndoFailed) || (len(tasks) == 0 && len(s.Deal.UndoFailed) == 0) {
		return nil
	}
	s.Deal.UndoFailed = tasks
	if len(tasks) == 0 {
		s.Deal.UndoFailed = nil
	}
	s.Deal.Seq++
	s.Deal.UpdatedAt = now
	summary := "every delivery task's undo is cleaned up: the project may close"
	if len(tasks) > 0 {
		summary = fmt.Sprintf("delivery tasks to clean up by hand before the project closes: %v", tasks)
	}
	return s.project(nil, SystemAudit("delivery_hold", summary, &s.Deal, now))
}

// timer does what the deal's own clock calls for at now: the pause's resume date, the stall, the
// director's rung. Nothing when nothing is due.
func (s *DealState) timer(now time.Time) []DealEffect {
	d := &s.Deal
	var out []DealEffect
	if !d.Active() {
		return nil
	}
	if d.ResumeDue(now) {
		out = append(out, s.project(nil, SystemAudit("resume", "resumed on the pause's resume date", d, now))...)
	}
	if d.MarkStalled(now) {
		summary := fmt.Sprintf("stalled: no progress in the %s stage within its SLA of %s", d.Stage, d.StageSLA)
		out = append(out, s.project(nil, SystemAudit("stalled", summary, d, now))...)
		key := fmt.Sprintf("stalled:%s:%d", d.ID, d.Seq)
		msg := fmt.Sprintf("%s has made no progress in the %s stage within its SLA of %s", d.Title, d.Stage, d.StageSLA)
		out = append(out,
			DealEffect{Kind: FxNotify, Notifications: []Notification{{UserID: d.Owner, DealID: d.ID, Kind: NoticeStalled, Key: key,
				Params: StalledParams(d), Message: msg, CreatedAt: now}}},
			DealEffect{Kind: FxOutbound, Notice: s.notice(key, EventStalled, "kam", []string{d.Owner}, msg, now)})
	}
	if d.Stalled && s.DirectorsToldAt == nil {
		if dl := d.DirectorDeadline(s.DirectorAfter()); !dl.IsZero() && !now.Before(dl) {
			after := s.DirectorAfter()
			// The time makes the key unique: the same stall may reach the rung twice (raised past
			// now, then passed again) without a change of the deal.
			key := fmt.Sprintf("escalated:%s:%d:%d", d.ID, d.Seq, now.Unix())
			stalledFor := Duration(DirectorDelay(time.Duration(d.StageSLA), after))
			msg := fmt.Sprintf("%s (owner %s) has made no progress in the %s stage for %s, %g× its SLA of %s",
				d.Title, d.Owner, d.Stage, stalledFor, after, d.StageSLA)
			t := now
			s.DirectorsToldAt = &t
			out = append(out, DealEffect{Kind: FxTellDirectors,
				Directors: &DirectorNotice{DealID: d.ID, TeamID: d.TeamID, Key: key, Message: msg, At: now,
					Kind: NoticeEscalated, Params: EscalatedParams(d, stalledFor)},
				Notice: s.notice(key, EventEscalated, "director", nil, msg, now)})
		}
	}
	return out
}

// NextWake is when the deal must next be looked at by its own clock (EvTimer): the stall
// deadline, the director's rung once stalled, or the pause's resume date. Zero when nothing is due.
func (s *DealState) NextWake() time.Time {
	d := &s.Deal
	switch {
	case !d.Active():
		return time.Time{}
	case d.Pause != nil:
		return d.Pause.ResumeOn.Time()
	case d.Stalled && s.DirectorsToldAt == nil:
		return d.DirectorDeadline(s.DirectorAfter())
	case d.Stalled:
		return time.Time{}
	}
	return d.StallDeadline()
}

func (s *DealState) notice(id, event, level string, to []string, msg string, now time.Time) *Notice {
	d := &s.Deal
	return &Notice{ID: id, Event: event, Level: level, Recipients: slices.Clone(to), DealID: d.ID, Title: d.Title,
		AccountID: d.AccountID, Stage: d.Stage, TeamID: d.TeamID, Owner: d.Owner, SLA: d.StageSLA,
		DirectorAfter: s.DirectorAfter(), StalledSince: d.StalledSince, Message: msg, At: now}
}

// project is the effect of writing the deal as it now stands — or, while the deal needs
// attention, holding the write behind the others (and saying so to the admins' list).
func (s *DealState) project(t *StageTransition, audit *AuditEntry) []DealEffect {
	p := Projection{Deal: *s.Deal.Clone(), Transition: t, Audit: audit}
	if s.Attention == nil {
		return []DealEffect{{Kind: FxProject, Projection: &p}}
	}
	s.Held = append(s.Held, p)
	s.Attention.Pending = len(s.Held)
	a := *s.Attention
	return []DealEffect{{Kind: FxRecordAttention, Attention: &a}}
}

// ProjectionFailed records that p could not be written for good, at now, and why (reason is
// AttentionRefused or AttentionExhausted): the deal needs attention from now on, p is held, and
// the admins are to be told (the effect returned).
func (s *DealState) ProjectionFailed(p Projection, cause, reason string, now time.Time) DealEffect {
	s.Held = append([]Projection{p}, s.Held...)
	s.Attention = &Attention{DealID: s.Deal.ID, Title: s.Deal.Title, Owner: s.Deal.Owner, Seq: p.Deal.Seq,
		Pending: len(s.Held), Error: cause, Reason: reason, Since: now}
	a := *s.Attention
	return DealEffect{Kind: FxRecordAttention, Attention: &a}
}

// HeldWritten records that the oldest held projection was written. Once none is held the deal
// needs attention no more: the effect returned (FxClearAttention) says so; until then it is nil.
func (s *DealState) HeldWritten() *DealEffect {
	if len(s.Held) > 0 {
		s.Held = s.Held[1:]
	}
	if len(s.Held) > 0 || s.Attention == nil {
		return nil
	}
	s.Attention, s.Held = nil, nil
	return &DealEffect{Kind: FxClearAttention}
}

// HoldFailed records that writing the oldest held projection failed again, at now: the deal
// still needs attention, with the new cause and reason.
func (s *DealState) HoldFailed(cause, reason string, now time.Time) DealEffect {
	if s.Attention == nil {
		s.Attention = &Attention{DealID: s.Deal.ID, Title: s.Deal.Title, Owner: s.Deal.Owner, Since: now}
	}
	if len(s.Held) > 0 {
		s.Attention.Seq = s.Held[0].Deal.Seq
	}
	s.Attention.Error, s.Attention.Reason, s.Attention.Pending = cause, reason, len(s.Held)
	a := *s.Attention
	return DealEffect{Kind: FxRecordAttention, Attention: &a}
}
