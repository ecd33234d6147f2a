package kamflow_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kamflow/kamflow"
)

// t0 is a Monday morning in UTC: the day the KAM opens the deal.
var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

var (
	kam      = kamflow.Actor{ID: "kam.li", Role: "kam", Teams: []string{"team-east"}}
	director = kamflow.Actor{ID: "dir.wang", Role: "director", Teams: []string{"team-east"}}
	engineer = kamflow.Actor{ID: "eng.zhao", Role: "engineer"}
)

// walkScores is a sound opportunity: funded, a good fit, a fair relationship. Score by hand with
// the default weights (10,15,15,10,10,10,10,10,10; a score s adds w·(s−1)/4):
// 7.5+15+11.25+5+10+7.5+5+7.5+7.5 = 76.25 of 100 → 76.3 (half rounds up).
func walkScores() map[kamflow.Factor]int {
	return map[kamflow.Factor]int{
		kamflow.FactorProjectLevel: 4, kamflow.FactorFunding: 5, kamflow.FactorTechnicalFit: 4,
		kamflow.FactorRelationship: 3, kamflow.FactorCredit: 5, kamflow.FactorProduct: 4,
		kamflow.FactorPrice: 3, kamflow.FactorSolution: 4, kamflow.FactorService: 4,
	}
}

func scoresAll(v int) map[kamflow.Factor]int {
	m := map[kamflow.Factor]int{}
	for _, f := range kamflow.Factors {
		m[f] = v
	}
	return m
}

func scoresWith(base map[kamflow.Factor]int, f kamflow.Factor, v int) map[kamflow.Factor]int {
	m := map[kamflow.Factor]int{}
	for k, x := range base {
		m[k] = x
	}
	m[f] = v
	return m
}

func scoresWithout(base map[kamflow.Factor]int, fs ...kamflow.Factor) map[kamflow.Factor]int {
	m := map[kamflow.Factor]int{}
	for k, x := range base {
		m[k] = x
	}
	for _, f := range fs {
		delete(m, f)
	}
	return m
}

// Command builders.

func assess(scores map[kamflow.Factor]int, close kamflow.Date, likelihood int, grade kamflow.Grade) kamflow.Command {
	return kamflow.Command{Kind: kamflow.CmdAssessment, Actor: kam, Assessment: &kamflow.AssessmentInput{
		Scores: scores, ExpectedClose: close, Likelihood: likelihood, Grade: grade,
	}}
}

func person(name string, role kamflow.Role, stance kamflow.Stance, engaged bool) kamflow.Command {
	return kamflow.Command{Kind: kamflow.CmdStakeholder, Actor: kam, Stakeholder: &kamflow.Stakeholder{
		Name: name, Role: role, Stance: stance, Engaged: engaged, Influence: 4,
	}}
}

func criteria(cs ...kamflow.Criterion) kamflow.Command {
	return kamflow.Command{Kind: kamflow.CmdCriteria, Actor: kam, Criteria: cs}
}

// criteriaMix records us criteria favouring us, neutral neutral ones and them favouring a
// competitor.
func criteriaMix(us, neutral, them int) kamflow.Command {
	var cs []kamflow.Criterion
	add := func(n int, prefix string, f kamflow.Favours) {
		for i := 0; i < n; i++ {
			cs = append(cs, kamflow.Criterion{Name: prefix + " " + string(rune('A'+i)), Favours: f})
		}
	}
	add(us, "spec favouring us", kamflow.FavoursUs)
	add(neutral, "neutral spec", kamflow.FavoursNeutral)
	add(them, "spec favouring competitor", kamflow.FavoursCompetitor)
	return criteria(cs...)
}

func proposal(on kamflow.Date) kamflow.Command {
	return kamflow.Command{Kind: kamflow.CmdProposal, Actor: kam, Proposal: &kamflow.ProposalInput{
		SubmittedOn: on, Summary: "DCS retrofit with SIL2 redundancy, 16-week delivery",
	}}
}

func bid(cost, price kamflow.Money, submitted bool) kamflow.Command {
	return kamflow.Command{Kind: kamflow.CmdBid, Actor: kam, Bid: &kamflow.BidInput{
		Cost: cost, Price: price, Deadline: "2026-05-15", Submitted: submitted,
	}}
}

func simple(kind kamflow.CommandKind, by kamflow.Actor) kamflow.Command {
	return kamflow.Command{Kind: kind, Actor: by}
}

func sign(on kamflow.Date) kamflow.Command {
	return kamflow.Command{Kind: kamflow.CmdSignContract, Actor: kam, Sign: &kamflow.SignInput{SignedOn: on}}
}

func acceptance(r kamflow.AcceptanceResult) kamflow.Command {
	return kamflow.Command{Kind: kamflow.CmdAcceptance, Actor: engineer, Acceptance: &kamflow.AcceptanceInput{
		Result: r, Notes: "SAT witnessed by the customer's instrument department",
	}}
}

func advance() kamflow.Command { return kamflow.Command{Kind: kamflow.CmdAdvance, Actor: kam} }

func force(reason string) kamflow.Command {
	return kamflow.Command{Kind: kamflow.CmdAdvance, Actor: director, Advance: &kamflow.AdvanceInput{Force: true, Reason: reason}}
}

func closeAs(outcome kamflow.Status, reason, competitor string) kamflow.Command {
	return kamflow.Command{Kind: kamflow.CmdClose, Actor: kam, Close: &kamflow.CloseInput{
		Outcome: outcome, Reason: reason, Competitor: competitor,
	}}
}

func pause(reason string, on kamflow.Date) kamflow.Command {
	return kamflow.Command{Kind: kamflow.CmdPause, Actor: kam, Pause: &kamflow.PauseInput{Reason: reason, ResumeOn: on}}
}

// fullEvidence is the work that reaches the key node of stage st.
func fullEvidence(st kamflow.Stage) []kamflow.Command {
	switch st {
	case kamflow.Development:
		return []kamflow.Command{assess(walkScores(), "2026-08-31", 70, "")}
	case kamflow.Entry:
		return []kamflow.Command{
			person("Liu Yang", kamflow.RoleInsider, kamflow.StanceSupporter, false),
			person("Zhang Wei", kamflow.RoleDecisionMaker, kamflow.StanceSupporter, true),
		}
	case kamflow.Proposal:
		return []kamflow.Command{criteriaMix(2, 1, 1), proposal("2026-04-20")}
	case kamflow.Bid:
		return []kamflow.Command{bid(660000000, 760000000, true), simple(kamflow.CmdApproveMargin, director)}
	case kamflow.Negotiation:
		return []kamflow.Command{simple(kamflow.CmdApproveContract, director), sign("2026-06-30")}
	case kamflow.Delivery:
		return []kamflow.Command{acceptance(kamflow.AcceptancePass)}
	}
	return nil
}

// walker drives one deal through commands, one day apart, with the default settings.
type walker struct {
	t   *testing.T
	d   *kamflow.Deal
	now time.Time
	s   kamflow.Settings
}

func newDealInput() kamflow.NewDealInput {
	return kamflow.NewDealInput{
		AccountID: "acct-baosteel", Title: "  Cold-rolling line DCS retrofit  ", Value: 800000000,
		Currency: "CNY", ExpectedClose: "2026-08-31", TeamID: "team-east",
	}
}

func newWalker(t *testing.T) *walker {
	t.Helper()
	s := kamflow.DefaultSettings()
	d, _, err := kamflow.NewDeal("deal-001", newDealInput(), kam, t0, s)
	if err != nil {
		t.Fatalf("NewDeal: %v", err)
	}
	d.Engineers = []string{engineer.ID} // assigned for delivery, so that they see the deal
	return &walker{t: t, d: d, now: t0, s: s}
}

// dealIn returns a walker whose deal has just entered stage st with every earlier key node
// reached and none of st's evidence recorded.
func dealIn(t *testing.T, st kamflow.Stage) *walker {
	t.Helper()
	w := newWalker(t)
	for _, s := range kamflow.Stages {
		if s == st {
			return w
		}
		w.do(fullEvidence(s)...)
		w.do(advance())
	}
	t.Fatalf("unknown stage %q", st)
	return nil
}

// do applies the commands one day apart; each must succeed. It returns the last one's effects.
func (w *walker) do(cmds ...kamflow.Command) kamflow.Effects {
	w.t.Helper()
	var fx kamflow.Effects
	for _, c := range cmds {
		w.now = w.now.Add(kamflow.Day)
		var err error
		fx, err = w.d.Apply(c, w.now, w.s)
		if err != nil {
			w.t.Fatalf("%s in %s: unexpected error %v", c.Kind, w.d.Stage, err)
		}
	}
	return fx
}

// fail applies cmd a day later, expects an *Error with the given code and checks that the deal is
// exactly as it was, Seq included.
func (w *walker) fail(cmd kamflow.Command, code string) *kamflow.Error {
	w.t.Helper()
	return applyFail(w.t, w.d, cmd, w.now.Add(kamflow.Day), w.s, code)
}

func applyFail(t *testing.T, d *kamflow.Deal, cmd kamflow.Command, now time.Time, s kamflow.Settings, code string) *kamflow.Error {
	t.Helper()
	before := snapshot(t, d)
	seq := d.Seq
	fx, err := d.Apply(cmd, now, s)
	e := asError(t, err, code)
	if fx.Transition != nil {
		t.Errorf("rejected %s returned a transition %+v", cmd.Kind, fx.Transition)
	}
	if d.Seq != seq {
		t.Errorf("rejected %s moved Seq from %d to %d", cmd.Kind, seq, d.Seq)
	}
	if after := snapshot(t, d); after != before {
		t.Errorf("rejected %s changed the deal:\nbefore %s\nafter  %s", cmd.Kind, before, after)
	}
	return e
}

func asError(t *testing.T, err error, code string) *kamflow.Error {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %s", code)
	}
	var e *kamflow.Error
	if !errors.As(err, &e) {
		t.Fatalf("got %T %v, want *kamflow.Error %s", err, err, code)
	}
	if e.Code != code {
		t.Fatalf("got code %q (%v), want %q", e.Code, err, code)
	}
	return e
}

func snapshot(t *testing.T, d *kamflow.Deal) string {
	t.Helper()
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatalf("marshal deal: %v", err)
	}
	return string(b)
}

func checkMissing(t *testing.T, e *kamflow.Error, want []string) {
	t.Helper()
	got, ok := e.Details["missing"].([]string)
	if !ok {
		t.Fatalf("Details[missing] = %#v (%T), want %v", e.Details["missing"], e.Details["missing"], want)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("missing = %v, want %v", got, want)
	}
}

func checkField(t *testing.T, e *kamflow.Error, want string) {
	t.Helper()
	if want == "" {
		if f, ok := e.Details["field"]; ok {
			t.Errorf("Details[field] = %v, want none", f)
		}
		return
	}
	if got := e.Details["field"]; got != want {
		t.Errorf("Details[field] = %#v, want %q (%s)", got, want, e.Message)
	}
}

func dateIn(days int) kamflow.Date { return kamflow.DateOf(t0.Add(time.Duration(days) * kamflow.Day)) }

func long(n int) string { return strings.Repeat("长", n) }
