package kamflow_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kamflow/kamflow"
)

// machine opens a deal in the state machine with the default settings and an escalation ladder
// that gives team-east a 10-day development SLA.
func machine(t *testing.T) *kamflow.DealState {
	t.Helper()
	s := kamflow.DefaultSettings()
	d, created, err := kamflow.NewDeal("deal-001", newDealInput(), kam, t0, s)
	if err != nil {
		t.Fatal(err)
	}
	d.Engineers = []string{engineer.ID}
	esc := kamflow.Escalation{Teams: map[string]map[kamflow.Stage]kamflow.TeamEscalation{
		"team-east": {kamflow.Development: {SLA: kamflow.Duration(10 * kamflow.Day)}}}}
	st, fx := kamflow.OpenDeal(*d, created, s, esc)
	if len(fx) != 1 || fx[0].Kind != kamflow.FxProject || fx[0].Projection.Transition != created ||
		fx[0].Projection.Audit.Action != "deal.create" {
		t.Fatalf("opening effects %+v", fx)
	}
	if got := time.Duration(fx[0].Projection.Deal.StageSLA); got != 10*kamflow.Day {
		t.Fatalf("a team-east deal opens with its team's SLA, got %v", got)
	}
	return st
}

func kinds(fx []kamflow.DealEffect) []kamflow.DealEffectKind {
	out := make([]kamflow.DealEffectKind, len(fx))
	for i, e := range fx {
		out[i] = e.Kind
	}
	return out
}

func handle(t *testing.T, st *kamflow.DealState, ev kamflow.DealEvent, at time.Time, want ...kamflow.DealEffectKind) []kamflow.DealEffect {
	t.Helper()
	if err := st.Check(ev, at); err != nil {
		t.Fatalf("Check %s: %v", ev.Kind, err)
	}
	fx, err := st.Handle(ev, at)
	if err != nil {
		t.Fatalf("Handle %s: %v", ev.Kind, err)
	}
	if !slices.Equal(kinds(fx), want) {
		t.Fatalf("%s: effects %v, want %v", ev.Kind, kinds(fx), want)
	}
	return fx
}

func command(c kamflow.Command) kamflow.DealEvent {
	return kamflow.DealEvent{Kind: kamflow.EvCommand, Command: &c}
}

// TestMachineFailsClosed: a command with no role, an unknown role, kamflow's own role in a
// payload, or from outside the deal's team is refused before anything else.
func TestMachineFailsClosed(t *testing.T) {
	st := machine(t)
	forceCmd := force("the customer asked for it")
	reassign := kamflow.Command{Kind: kamflow.CmdReassign, Reassign: &kamflow.ReassignInput{Owner: "kam.zhang"}}
	tests := []struct {
		name  string
		actor kamflow.Actor
		cmd   kamflow.Command
		code  string
		msg   string
	}{
		{"no role forces", kamflow.Actor{ID: "someone"}, forceCmd, kamflow.EFORBIDDEN, "no role"},
		{"no role reassigns", kamflow.Actor{ID: "someone", Teams: []string{"team-east"}}, reassign, kamflow.EFORBIDDEN, "no role"},
		{"system in a payload forces", kamflow.Actor{ID: "kamflow", Role: kamflow.UserSystem}, forceCmd, kamflow.EFORBIDDEN, "never comes as a command"},
		{"system in a payload reassigns", kamflow.Actor{ID: "kamflow", Role: kamflow.UserSystem}, reassign, kamflow.EFORBIDDEN, "never comes as a command"},
		{"unknown role", kamflow.Actor{ID: "x", Role: "superuser", Teams: []string{"team-east"}}, forceCmd, kamflow.EFORBIDDEN, "not a role"},
		{"director with no team", kamflow.Actor{ID: "dir.wang", Role: kamflow.UserDirector}, forceCmd, kamflow.ENOTFOUND, "not found"},
		{"director of another team", kamflow.Actor{ID: "dir.chen", Role: kamflow.UserDirector, Teams: []string{"team-west"}}, reassign, kamflow.ENOTFOUND, "not found"},
		{"owner outside the deal's team", kamflow.Actor{ID: kam.ID, Role: kamflow.UserKAM}, advance(), kamflow.EFORBIDDEN, "team"},
		{"admin", kamflow.Actor{ID: "root", Role: kamflow.UserAdmin}, advance(), kamflow.ENOTFOUND, "not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.cmd
			c.Actor = tt.actor
			before := st.Deal.Seq
			err := st.Check(command(c), t0)
			e := asError(t, err, tt.code)
			if !strings.Contains(e.Message, tt.msg) {
				t.Errorf("message %q, want it to say %q", e.Message, tt.msg)
			}
			if _, err := st.Handle(command(c), t0); kamflow.ErrorCode(err) != tt.code {
				t.Errorf("Handle let it through: %v", err)
			}
			if st.Deal.Seq != before {
				t.Errorf("a refused command changed the deal")
			}
		})
	}
	// The same commands from the deal's team are taken.
	c := reassign
	c.Actor = director
	handle(t, st, command(c), t0.Add(time.Hour), kamflow.FxProject)
	if st.Deal.Owner != "kam.zhang" {
		t.Fatalf("owner %s", st.Deal.Owner)
	}
}

// TestMachineOwnInputs: kamflow's own inputs come by their own paths; a person cannot send them
// as commands.
func TestMachineOwnInputs(t *testing.T) {
	st := dealInState(t, kamflow.Entry)
	c := person("Wang Gong", kamflow.RoleInsider, kamflow.StanceSupporter, true)
	handle(t, st, command(c), t0.Add(time.Hour), kamflow.FxProject)

	mark := kamflow.ContactStaleInput{Name: "wang gong", Stale: true, Days: 90}
	asPerson := kamflow.Command{Kind: kamflow.CmdContactStale, Actor: director, ContactStale: &mark}
	asError(t, st.Check(command(asPerson), t0), kamflow.EFORBIDDEN)
	fx := handle(t, st, kamflow.DealEvent{Kind: kamflow.EvContact, Contact: &mark}, t0.Add(2*time.Hour), kamflow.FxProject)
	if a := fx[0].Projection.Audit; a.Actor != kamflow.SystemActorID || a.Action != "deal.contact_stale" {
		t.Errorf("the mark's audit entry %+v", a)
	}
	if !st.Deal.Stakeholders[0].Stale {
		t.Errorf("not marked stale")
	}
	_, err := st.Handle(kamflow.DealEvent{Kind: kamflow.EvContact, Contact: &mark}, t0.Add(3*time.Hour))
	asError(t, err, kamflow.ECONFLICT)
	asError(t, st.Check(kamflow.DealEvent{Kind: "teleport"}, t0), kamflow.EINVALID)
}

// dealInState walks a machine's deal to stage st, each key node reached, a day per command.
func dealInState(t *testing.T, st kamflow.Stage) *kamflow.DealState {
	t.Helper()
	m := machine(t)
	at := t0
	for _, s := range kamflow.Stages {
		if s == st {
			return m
		}
		for _, c := range append(fullEvidence(s), advance()) {
			at = at.Add(kamflow.Day)
			if _, err := m.Handle(command(c), at); err != nil {
				t.Fatalf("%s in %s: %v", c.Kind, s, err)
			}
		}
	}
	t.Fatalf("no stage %s", st)
	return nil
}

// TestMachineClock: the stall, the director's rung and the resume date, with NextWake telling the
// workflow when to look.
func TestMachineClock(t *testing.T) {
	st := machine(t)
	stall := t0.Add(10 * kamflow.Day)
	if !st.NextWake().Equal(stall) {
		t.Fatalf("wake %v, want the team SLA's deadline %v", st.NextWake(), stall)
	}
	handle(t, st, kamflow.DealEvent{Kind: kamflow.EvTimer}, stall.Add(-time.Second)) // early: nothing
	fx := handle(t, st, kamflow.DealEvent{Kind: kamflow.EvTimer}, stall, kamflow.FxProject, kamflow.FxNotify, kamflow.FxOutbound)
	if !st.Deal.Stalled || fx[0].Projection.Audit.Action != "deal.stalled" {
		t.Fatalf("not stalled: %+v", fx[0].Projection.Audit)
	}
	if n := fx[1].Notifications; len(n) != 1 || n[0].UserID != kam.ID || n[0].Kind != kamflow.NoticeStalled {
		t.Errorf("KAM not told: %+v", n)
	}
	if n := fx[2].Notice; n.Event != kamflow.EventStalled || !slices.Equal(n.Recipients, []string{kam.ID}) {
		t.Errorf("outbound notice %+v", n)
	}
	rung := t0.Add(20 * kamflow.Day) // the default rung: twice the SLA
	if !st.NextWake().Equal(rung) {
		t.Fatalf("wake %v, want the director's rung %v", st.NextWake(), rung)
	}
	fx = handle(t, st, kamflow.DealEvent{Kind: kamflow.EvTimer}, rung, kamflow.FxTellDirectors)
	if d := fx[0].Directors; d.TeamID != "team-east" || fx[0].Notice.Event != kamflow.EventEscalated {
		t.Errorf("directors' notice %+v %+v", d, fx[0].Notice)
	}
	if !st.NextWake().IsZero() {
		t.Errorf("nothing more is due, yet wake at %v", st.NextWake())
	}
	handle(t, st, kamflow.DealEvent{Kind: kamflow.EvTimer}, rung.Add(time.Hour)) // told once

	// Progress starts the ladder again; a pause stops the clock until its resume date.
	handle(t, st, command(assess(walkScores(), "2026-08-31", 60, "")), rung.Add(2*time.Hour), kamflow.FxProject)
	if st.Deal.Stalled || st.DirectorsToldAt != nil {
		t.Fatalf("progress kept the stall or the rung")
	}
	handle(t, st, command(pause("customer shutdown", kamflow.DateOf(rung.Add(5*kamflow.Day)))), rung.Add(3*time.Hour), kamflow.FxProject)
	resume := kamflow.Date(kamflow.DateOf(rung.Add(5 * kamflow.Day))).Time()
	if !st.NextWake().Equal(resume) {
		t.Fatalf("paused: wake %v, want the resume date %v", st.NextWake(), resume)
	}
	fx = handle(t, st, kamflow.DealEvent{Kind: kamflow.EvTimer}, resume, kamflow.FxProject)
	if st.Deal.Pause != nil || fx[0].Projection.Audit.Action != "deal.resume" {
		t.Errorf("not resumed on its date")
	}
}

// TestMachineSettings: a settings change reaches the deal with its team's override in place, and
// a director's rung moved ahead is climbed again.
func TestMachineSettings(t *testing.T) {
	st := machine(t)
	s := kamflow.DefaultSettings()
	s.SLA = map[kamflow.Stage]kamflow.Duration{kamflow.Development: kamflow.Duration(3 * kamflow.Day)}
	// The team's override (10 days) still applies: nothing changes for this deal.
	handle(t, st, kamflow.DealEvent{Kind: kamflow.EvSettings, Settings: &s}, t0.Add(time.Hour))
	// The ladder without the override: the deal is held to the stage's 3 days at once.
	esc := kamflow.Escalation{}
	fx := handle(t, st, kamflow.DealEvent{Kind: kamflow.EvSettings, Settings: &s, Escalation: &esc}, t0.Add(2*time.Hour), kamflow.FxProject)
	if time.Duration(st.Deal.StageSLA) != 3*kamflow.Day || fx[0].Projection.Audit.Action != "deal.sla" {
		t.Fatalf("SLA %v, audit %+v", st.Deal.StageSLA, fx[0].Projection.Audit)
	}
	handle(t, st, kamflow.DealEvent{Kind: kamflow.EvTimer}, t0.Add(3*kamflow.Day), kamflow.FxProject, kamflow.FxNotify, kamflow.FxOutbound)
	handle(t, st, kamflow.DealEvent{Kind: kamflow.EvTimer}, t0.Add(6*kamflow.Day), kamflow.FxTellDirectors)
	// The rung raised past now: the directors are told again once it passes.
	esc.Stages = map[kamflow.Stage]kamflow.StageEscalation{kamflow.Development: {DirectorAfter: 4}}
	handle(t, st, kamflow.DealEvent{Kind: kamflow.EvSettings, Settings: &s, Escalation: &esc}, t0.Add(7*kamflow.Day))
	if st.DirectorsToldAt != nil || !st.NextWake().Equal(t0.Add(12*kamflow.Day)) {
		t.Fatalf("rung not started again: told %v, wake %v", st.DirectorsToldAt, st.NextWake())
	}
}

// TestMachineSettingsVersions: a deal keeps the version of the settings it holds, and a settings
// input at or below it changes nothing — the older of two changes whose messages crossed, or one
// told twice. Version 0 (an older sender) is applied as before, and leaves the version alone.
func TestMachineSettingsVersions(t *testing.T) {
	st := machine(t)
	st.SettingsVersion = 4 // opened under version 4
	esc := kamflow.Escalation{}
	sla := func(days int) *kamflow.Settings {
		s := kamflow.DefaultSettings()
		s.SLA = map[kamflow.Stage]kamflow.Duration{kamflow.Development: kamflow.Duration(time.Duration(days) * kamflow.Day)}
		return &s
	}
	ev := func(days int, version int64) kamflow.DealEvent {
		return kamflow.DealEvent{Kind: kamflow.EvSettings, Settings: sla(days), Escalation: &esc, SettingsVersion: version}
	}
	at := t0.Add(time.Hour)
	handle(t, st, ev(5, 4), at) // the version the deal opened with: nothing
	if time.Duration(st.Deal.StageSLA) != 10*kamflow.Day || st.SettingsVersion != 4 {
		t.Fatalf("version 4 told again changed the deal: SLA %v, version %d", st.Deal.StageSLA, st.SettingsVersion)
	}
	handle(t, st, ev(7, 6), at, kamflow.FxProject)
	handle(t, st, ev(5, 5), at) // the older change, arriving after the newer
	if time.Duration(st.Deal.StageSLA) != 7*kamflow.Day || st.SettingsVersion != 6 {
		t.Fatalf("after versions 6 then 5: SLA %v, version %d; want 7d at version 6", st.Deal.StageSLA, st.SettingsVersion)
	}
	handle(t, st, ev(7, 6), at) // told twice
	handle(t, st, ev(9, 0), at, kamflow.FxProject)
	if time.Duration(st.Deal.StageSLA) != 9*kamflow.Day || st.SettingsVersion != 6 {
		t.Fatalf("an unversioned change: SLA %v, version %d; want 9d, the version left at 6", st.Deal.StageSLA, st.SettingsVersion)
	}
	handle(t, st, ev(8, 7), at, kamflow.FxProject)
	if time.Duration(st.Deal.StageSLA) != 8*kamflow.Day || st.SettingsVersion != 7 {
		t.Fatalf("version 7: SLA %v, version %d", st.Deal.StageSLA, st.SettingsVersion)
	}
}

// TestMachineDelivery: entering delivery starts the plan; its acceptance and its hold come back
// as the plan's own inputs; closing the project tells the plan.
func TestMachineDelivery(t *testing.T) {
	st := dealInState(t, kamflow.Negotiation)
	at := t0.Add(100 * kamflow.Day)
	for _, c := range fullEvidence(kamflow.Negotiation) {
		handle(t, st, command(c), at, kamflow.FxProject)
	}
	fx := handle(t, st, command(advance()), at, kamflow.FxProject, kamflow.FxStartDelivery)
	if !st.Deal.DeliveryPlanned || !st.DeliveryStarted || fx[1].Plan.DealID != st.Deal.ID {
		t.Fatalf("delivery not started: %+v", fx[1].Plan)
	}
	// The acceptance is the plan's to record: a person's acceptance command is refused.
	asError(t, st.Check(command(acceptance(kamflow.AcceptancePass)), at), kamflow.EWRONGSTAGE)
	n := kamflow.AcceptanceNotice{Result: kamflow.AcceptancePass, Actor: engineer}
	fx = handle(t, st, kamflow.DealEvent{Kind: kamflow.EvAcceptance, Acceptance: &n}, at, kamflow.FxProject)
	if st.Deal.Acceptance == nil || fx[0].Projection.Audit.Actor != engineer.ID {
		t.Fatalf("acceptance %+v", st.Deal.Acceptance)
	}
	// A task whose undo failed holds the project open until it is cleaned up.
	hold := kamflow.DeliveryHold{UndoFailed: []string{"work_order"}}
	handle(t, st, kamflow.DealEvent{Kind: kamflow.EvDeliveryHold, Hold: &hold}, at, kamflow.FxProject)
	e := asError(t, st.Check(command(simple(kamflow.CmdCloseProject, engineer)), at), kamflow.EGATENOTMET)
	if !strings.Contains(e.Message, "work_order") {
		t.Errorf("message %q", e.Message)
	}
	handle(t, st, kamflow.DealEvent{Kind: kamflow.EvDeliveryHold, Hold: &hold}, at) // told twice: nothing new
	handle(t, st, kamflow.DealEvent{Kind: kamflow.EvDeliveryHold, Hold: &kamflow.DeliveryHold{}}, at, kamflow.FxProject)
	fx = handle(t, st, command(simple(kamflow.CmdCloseProject, engineer)), at, kamflow.FxProject, kamflow.FxProjectClosed)
	if st.Deal.Status != kamflow.StatusDelivered || !fx[1].At.Equal(at) {
		t.Fatalf("status %s", st.Deal.Status)
	}
	if !st.NextWake().IsZero() {
		t.Errorf("a delivered deal wakes at %v", st.NextWake())
	}
}

// TestMachineAttention: a change the store could not take holds the deal: new commands are
// refused, kamflow's own inputs are held behind it, and an admin's retry writes them in order.
func TestMachineAttention(t *testing.T) {
	st := machine(t)
	fx := handle(t, st, command(assess(walkScores(), "2026-08-31", 60, "")), t0.Add(time.Hour), kamflow.FxProject)
	e := st.ProjectionFailed(*fx[0].Projection, "value too long", kamflow.AttentionRefused, t0.Add(2*time.Hour))
	if e.Kind != kamflow.FxRecordAttention || e.Attention.Seq != st.Deal.Seq || e.Attention.Reason != kamflow.AttentionRefused || e.Attention.Pending != 1 {
		t.Fatalf("attention %+v", e.Attention)
	}
	err := asError(t, st.Check(command(person("Wang Gong", kamflow.RoleInsider, kamflow.StanceSupporter, true)), t0), kamflow.EUNAVAILABLE)
	if err.Details["attention"] != true || !strings.Contains(err.Message, "value too long") {
		t.Errorf("refusal %+v", err)
	}
	// The stall still happens, and is held behind the failed change.
	fx = handle(t, st, kamflow.DealEvent{Kind: kamflow.EvTimer}, t0.Add(11*kamflow.Day), kamflow.FxRecordAttention, kamflow.FxNotify, kamflow.FxOutbound)
	if fx[0].Attention.Pending != 2 || len(st.Held) != 2 || st.Held[1].Audit.Action != "deal.stalled" {
		t.Fatalf("held %d, attention %+v", len(st.Held), fx[0].Attention)
	}
	asError(t, st.Check(kamflow.DealEvent{Kind: kamflow.EvRetry, By: &director}, t0), kamflow.EFORBIDDEN)
	admin := kamflow.Actor{ID: "root", Role: kamflow.UserAdmin}
	handle(t, st, kamflow.DealEvent{Kind: kamflow.EvRetry, By: &admin}, t0.Add(12*kamflow.Day), kamflow.FxProjectHeld)
	if st.Attention.Attempts != 1 {
		t.Errorf("attempts %d", st.Attention.Attempts)
	}
	// The first write fails again; then both go through, oldest first.
	again := st.HoldFailed("still too long", kamflow.AttentionRefused, t0.Add(12*kamflow.Day))
	if again.Attention.Error != "still too long" || len(st.Held) != 2 {
		t.Fatalf("after a failed retry %+v", again.Attention)
	}
	if st.Held[0].Deal.Seq >= st.Held[1].Deal.Seq {
		t.Fatalf("held out of order: %d, %d", st.Held[0].Deal.Seq, st.Held[1].Deal.Seq)
	}
	if e := st.HeldWritten(); e != nil || st.Attention == nil {
		t.Fatalf("cleared with one still held")
	}
	if e := st.HeldWritten(); e == nil || e.Kind != kamflow.FxClearAttention || st.Attention != nil || len(st.Held) != 0 {
		t.Fatalf("not cleared: %+v", e)
	}
	asError(t, st.Check(kamflow.DealEvent{Kind: kamflow.EvRetry, By: &admin}, t0), kamflow.ECONFLICT)
	handle(t, st, command(assess(walkScores(), "2026-08-31", 70, "")), t0.Add(13*kamflow.Day), kamflow.FxProject)
}

// TestMachineBudget: a deal's record stays far below Temporal's payload limit: stakeholders are
// capped, and a change that would take the record past its budget is refused, naming it, before
// anything is recorded.
func TestMachineBudget(t *testing.T) {
	st := dealInState(t, kamflow.Entry)
	at := t0.Add(30 * kamflow.Day)
	notes := strings.Repeat("长", 4000) // 12 KB of UTF-8 each
	var refused *kamflow.Error
	for i := 0; i < kamflow.MaxStakeholders && refused == nil; i++ {
		c := kamflow.Command{Kind: kamflow.CmdStakeholder, Actor: kam, Stakeholder: &kamflow.Stakeholder{
			Name: fmt.Sprintf("Person %02d", i), Role: kamflow.RoleInfluencer, Stance: kamflow.StanceNeutral, Influence: 2, Notes: notes}}
		if err := st.Check(command(c), at); err != nil {
			refused = asError(t, err, kamflow.ETOOLARGE)
			break
		}
		handle(t, st, command(c), at, kamflow.FxProject)
	}
	if refused == nil || refused.Details["limit"] != kamflow.DealBudget || !strings.Contains(refused.Message, "256 KiB") {
		t.Fatalf("never refused, or without its budget: %+v", refused)
	}
	if n := st.Deal.EncodedSize(); n > kamflow.DealBudget {
		t.Fatalf("the record grew to %d bytes", n)
	}
	// Short stakeholders still fit, up to the cap.
	st = dealInState(t, kamflow.Entry)
	for i := 0; i < kamflow.MaxStakeholders; i++ {
		handle(t, st, command(person(fmt.Sprintf("P%02d", i), kamflow.RoleUser, kamflow.StanceNeutral, false)), at, kamflow.FxProject)
	}
	e := asError(t, st.Check(command(person("One more", kamflow.RoleUser, kamflow.StanceNeutral, false)), at), kamflow.EINVALID)
	checkField(t, e, "stakeholders")
	handle(t, st, command(person("P07", kamflow.RoleInsider, kamflow.StanceSupporter, true)), at, kamflow.FxProject) // an update still fits
}
