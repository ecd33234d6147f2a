package kamflow_test

import (
	"math"
	"testing"
	"time"

	"github.com/kamflow/kamflow"
)

func TestLadderResolution(t *testing.T) {
	s := kamflow.DefaultSettings()
	s.SLA[kamflow.Bid] = kamflow.Duration(10 * kamflow.Day)
	e := kamflow.Escalation{
		Stages: map[kamflow.Stage]kamflow.StageEscalation{kamflow.Bid: {DirectorAfter: 1.5}, kamflow.Entry: {DirectorAfter: 3}},
		Teams: map[string]map[kamflow.Stage]kamflow.TeamEscalation{
			"east": {kamflow.Bid: {SLA: kamflow.Duration(4 * kamflow.Day)}, kamflow.Entry: {DirectorAfter: 1.25}},
		},
	}
	for _, c := range []struct {
		team       string
		st         kamflow.Stage
		sla        time.Duration
		after      float64
		src, asrc  string
		directorAt time.Duration
	}{
		{"east", kamflow.Bid, 4 * kamflow.Day, 1.5, "team", "stage", 6 * kamflow.Day},                  // team SLA, stage rung
		{"east", kamflow.Entry, 45 * kamflow.Day, 1.25, "stage", "team", 56*kamflow.Day + 6*time.Hour}, // stage SLA, team rung
		{"west", kamflow.Bid, 10 * kamflow.Day, 1.5, "stage", "stage", 15 * kamflow.Day},
		{"", kamflow.Proposal, 30 * kamflow.Day, 2, "stage", "default", 60 * kamflow.Day},
	} {
		l := e.Resolve(s, c.team, c.st)
		if time.Duration(l.SLA) != c.sla || l.DirectorAfter != c.after || l.SLASource != c.src || l.DirectorSource != c.asrc || l.DirectorDelay() != c.directorAt {
			t.Errorf("%s/%s: %+v (director after %s)", c.team, c.st, l, l.DirectorDelay())
		}
		if got := e.SettingsFor(s, c.team).StageSLA(c.st); got != c.sla {
			t.Errorf("%s/%s: effective SLA %s, want %s", c.team, c.st, got, c.sla)
		}
	}
	if s.SLA[kamflow.Bid] != kamflow.Duration(10*kamflow.Day) {
		t.Error("SettingsFor changed the settings it was given")
	}
	var none kamflow.Escalation
	if l := none.Resolve(s, "east", kamflow.Bid); l.DirectorAfter != kamflow.DefaultDirectorAfter || l.DirectorDelay() != 20*kamflow.Day {
		t.Errorf("default ladder %+v", l)
	}
}

func TestEscalationValidate(t *testing.T) {
	ok := kamflow.Escalation{Stages: map[kamflow.Stage]kamflow.StageEscalation{kamflow.Bid: {DirectorAfter: 1}},
		Teams: map[string]map[kamflow.Stage]kamflow.TeamEscalation{"east": {kamflow.Bid: {SLA: kamflow.Duration(time.Hour)}}}}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, e := range map[string]kamflow.Escalation{
		"below 1":       {Stages: map[kamflow.Stage]kamflow.StageEscalation{kamflow.Bid: {DirectorAfter: 0.9}}},
		"NaN":           {Stages: map[kamflow.Stage]kamflow.StageEscalation{kamflow.Bid: {DirectorAfter: math.NaN()}}},
		"too far":       {Stages: map[kamflow.Stage]kamflow.StageEscalation{kamflow.Bid: {DirectorAfter: 21}}},
		"unknown stage": {Stages: map[kamflow.Stage]kamflow.StageEscalation{"tender": {DirectorAfter: 2}}},
		"negative SLA":  {Teams: map[string]map[kamflow.Stage]kamflow.TeamEscalation{"east": {kamflow.Bid: {SLA: -1}}}},
		"no team":       {Teams: map[string]map[kamflow.Stage]kamflow.TeamEscalation{"": {kamflow.Bid: {DirectorAfter: 2}}}},
		"team rung":     {Teams: map[string]map[kamflow.Stage]kamflow.TeamEscalation{"east": {kamflow.Bid: {DirectorAfter: 0.5}}}},
	} {
		if err := e.Validate(); kamflow.ErrorCode(err) != kamflow.EINVALID {
			t.Errorf("%s: %v, want invalid", name, err)
		}
	}
}

func TestDirectorDeadlineAndReview(t *testing.T) {
	w := newWalker(t) // development, SLA 30 days, last progress t0
	d := w.d
	if got := d.DirectorDeadline(2); !got.Equal(t0.Add(60 * kamflow.Day)) {
		t.Errorf("director's deadline %s", got)
	}
	now := t0.Add(40 * kamflow.Day)
	if !d.MarkStalled(now) {
		t.Fatal("not stalled after 40 days")
	}
	e := kamflow.Escalation{Stages: map[kamflow.Stage]kamflow.StageEscalation{kamflow.Development: {DirectorAfter: 1.25}}}
	other := *d
	other.ID, other.Owner, other.TeamID = "deal-002", "kam.zhou", "team-west"
	closed := *d
	closed.ID, closed.Status = "deal-003", kamflow.StatusLost
	r := kamflow.ReviewStalled([]*kamflow.Deal{d, &other, &closed}, now, e)
	if len(r.Entries) != 2 {
		t.Fatalf("entries %+v", r.Entries)
	}
	en := r.Entries[0]
	// 40 days in, 10 over the SLA; the directors' rung at 37.5 days is passed.
	if en.DaysInStage != 40 || en.DaysOverSLA != 10 || !en.DirectorDue || en.DirectorAfter != 1.25 ||
		len(en.Missing) != 2 || en.Missing[0] != kamflow.GateAssessmentPassed {
		t.Errorf("entry %+v", en)
	}
	if r.ByStage[0] != (kamflow.StalledCount{Key: "development", Deals: 2, DirectorDue: 2, MaxDaysOverSLA: 10}) || len(r.ByStage) != 6 ||
		len(r.ByOwner) != 2 || r.ByOwner[0].Key != "kam.li" || len(r.ByTeam) != 2 || r.ByTeam[0].Key != "team-east" {
		t.Errorf("groups %+v %+v %+v", r.ByStage, r.ByOwner, r.ByTeam)
	}
	// Paused: no deadline at all.
	w.now = now
	w.do(pause("customer budget", dateIn(60)))
	if !d.DirectorDeadline(2).IsZero() || !d.StallDeadline().IsZero() {
		t.Error("a paused deal has deadlines")
	}
}

// TestProgressEffect: stage work is progress; a pause, a resume, a reassignment, an assignment of
// engineers and a close are not.
func TestProgressEffect(t *testing.T) {
	w := newWalker(t)
	if fx := w.do(assess(walkScores(), "2026-09-30", 70, "")); !fx.Progress {
		t.Error("an assessment is not progress")
	}
	for _, c := range []kamflow.Command{
		pause("waiting", dateIn(30)), simple(kamflow.CmdResume, kam),
		{Kind: kamflow.CmdReassign, Actor: director, Reassign: &kamflow.ReassignInput{Owner: "kam.zhou"}},
		{Kind: kamflow.CmdAssignEngineers, Actor: director, Engineers: []string{"eng.zhao"}},
	} {
		if fx := w.do(c); fx.Progress {
			t.Errorf("%s is progress", c.Kind)
		}
	}
	if fx := w.do(advance()); !fx.Progress {
		t.Error("an advance is not progress")
	}
	if fx := w.do(closeAs(kamflow.StatusLost, "price", "Acme")); fx.Progress {
		t.Error("a close is progress")
	}
}

func TestValidateEmail(t *testing.T) {
	for _, ok := range []string{"li.ming@example.com", "zhao+kam@corp.example.cn"} {
		if err := kamflow.ValidateEmail(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "li", "Li <li@example.com>", "li@example.com\r\nBcc: x@y.z", " li@example.com"} {
		if err := kamflow.ValidateEmail(bad); kamflow.ErrorCode(err) != kamflow.EINVALID {
			t.Errorf("%q: %v", bad, err)
		}
	}
}
