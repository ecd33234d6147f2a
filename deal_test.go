package kamflow_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/kamflow/kamflow"
)

func TestNewDeal(t *testing.T) {
	s := kamflow.DefaultSettings()
	d, tr, err := kamflow.NewDeal("deal-001", newDealInput(), kam, t0, s)
	if err != nil {
		t.Fatal(err)
	}
	want := kamflow.Deal{
		ID: "deal-001", AccountID: "acct-baosteel", Title: "Cold-rolling line DCS retrofit", Value: 800000000,
		Currency: "CNY", ExpectedClose: "2026-08-31", Owner: "kam.li", TeamID: "team-east",
		Stage: kamflow.Development, Status: kamflow.StatusOpen, StageEnteredAt: t0, LastProgressAt: t0,
		StageSLA: kamflow.Duration(30 * kamflow.Day), Seq: 1, CreatedBy: "kam.li", CreatedAt: t0, UpdatedAt: t0,
	}
	if !reflect.DeepEqual(*d, want) {
		t.Errorf("new deal\n got %+v\nwant %+v", *d, want)
	}
	wantTr := kamflow.StageTransition{DealID: "deal-001", Seq: 1, Kind: kamflow.TransitionCreated,
		ToStage: kamflow.Development, Status: kamflow.StatusOpen, Actor: "kam.li", At: t0}
	if tr == nil || !reflect.DeepEqual(*tr, wantTr) {
		t.Errorf("created transition %+v, want %+v", tr, wantTr)
	}
	if p := d.WinProbability(); p.Value != 10 {
		t.Errorf("new deal win probability %d, want 10", p.Value)
	}
	if !d.StallDeadline().Equal(t0.Add(30 * kamflow.Day)) {
		t.Errorf("stall deadline %v", d.StallDeadline())
	}

	// A KAM may open a deal for a colleague.
	in := newDealInput()
	in.Owner = "kam.chen"
	d, _, err = kamflow.NewDeal("deal-002", in, kam, t0, s)
	if err != nil || d.Owner != "kam.chen" || d.CreatedBy != "kam.li" {
		t.Errorf("owner %q created by %q, err %v", d.Owner, d.CreatedBy, err)
	}
}

func TestNewDealValidation(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*kamflow.NewDealInput)
		field string
	}{
		{"no account", func(in *kamflow.NewDealInput) { in.AccountID = "" }, "account_id"},
		{"account id too long", func(in *kamflow.NewDealInput) { in.AccountID = long(65) }, "account_id"},
		{"blank title", func(in *kamflow.NewDealInput) { in.Title = "   " }, "title"},
		{"title too long", func(in *kamflow.NewDealInput) { in.Title = long(201) }, "title"},
		{"negative value", func(in *kamflow.NewDealInput) { in.Value = -1 }, "value"},
		{"value over the maximum", func(in *kamflow.NewDealInput) { in.Value = kamflow.MaxMoney + 1 }, "value"},
		{"no currency", func(in *kamflow.NewDealInput) { in.Currency = "" }, "currency"},
		{"lower-case currency", func(in *kamflow.NewDealInput) { in.Currency = "cny" }, "currency"},
		{"currency name", func(in *kamflow.NewDealInput) { in.Currency = "RMB1" }, "currency"},
		{"currency with a digit", func(in *kamflow.NewDealInput) { in.Currency = "US1" }, "currency"},
		{"currency symbol", func(in *kamflow.NewDealInput) { in.Currency = "¥" }, "currency"},
		{"owner too long", func(in *kamflow.NewDealInput) { in.Owner = long(201) }, "owner"},
		{"bad expected close", func(in *kamflow.NewDealInput) { in.ExpectedClose = "2026-02-30" }, "expected_close"},
		{"expected close not a date", func(in *kamflow.NewDealInput) { in.ExpectedClose = "Q3" }, "expected_close"},
		{"expected close padded with blanks", func(in *kamflow.NewDealInput) { in.ExpectedClose = " 2026-08-31" }, "expected_close"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := newDealInput()
			tt.edit(&in)
			d, tr, err := kamflow.NewDeal("deal-x", in, kam, t0, kamflow.DefaultSettings())
			if d != nil || tr != nil {
				t.Errorf("invalid input opened a deal")
			}
			checkField(t, asError(t, err, kamflow.EINVALID), tt.field)
		})
	}
	// The limits themselves are fine.
	in := newDealInput()
	in.AccountID, in.Title, in.Value, in.Currency, in.ExpectedClose = long(64), long(200), kamflow.MaxMoney, "USD", ""
	if _, _, err := kamflow.NewDeal("deal-y", in, kam, t0, kamflow.DefaultSettings()); err != nil {
		t.Errorf("input at the limits: %v", err)
	}
}

// TestWalkToDelivered takes a realistic deal from first lead to project close and checks every
// step the KAM, the director and the engineer would see.
func TestWalkToDelivered(t *testing.T) {
	s := kamflow.DefaultSettings()
	d, created, err := kamflow.NewDeal("deal-001", newDealInput(), kam, t0, s)
	if err != nil {
		t.Fatal(err)
	}
	d.Engineers = []string{engineer.ID}
	history := []kamflow.StageTransition{*created}
	now := t0
	step := func(after time.Duration, cmd kamflow.Command, wantProb int) {
		t.Helper()
		now = now.Add(after)
		seq := d.Seq
		fx, err := d.Apply(cmd, now, s)
		if err != nil {
			t.Fatalf("%s in %s: %v", cmd.Kind, d.Stage, err)
		}
		if d.Seq != seq+1 || !d.UpdatedAt.Equal(now) {
			t.Errorf("%s: Seq %d→%d, UpdatedAt %v", cmd.Kind, seq, d.Seq, d.UpdatedAt)
		}
		if !d.LastProgressAt.Equal(now) {
			t.Errorf("%s: the stall clock did not restart", cmd.Kind)
		}
		if fx.Transition != nil {
			history = append(history, *fx.Transition)
		}
		if p := d.WinProbability(); p.Value != wantProb {
			t.Errorf("after %s in %s: win probability %d, want %d (%+v)", cmd.Kind, d.Stage, p.Value, wantProb, p.Factors)
		}
	}
	days := func(n int) time.Duration { return time.Duration(n) * kamflow.Day }
	stage := func(want kamflow.Stage, wantSLA int) {
		t.Helper()
		if d.Stage != want || !d.StageEnteredAt.Equal(now) || d.StageSLA != kamflow.Duration(days(wantSLA)) {
			t.Fatalf("stage %s entered %v SLA %v; want %s entered %v SLA %dd", d.Stage, d.StageEnteredAt, d.StageSLA, want, now, wantSLA)
		}
	}

	// 1 development: assess and grade. 2026-03-05 → 2026-08-31 is 179 days at 70%: grade A.
	step(days(3), assess(walkScores(), "2026-08-31", 70, ""), 20)
	a := d.Assessment
	if a.Score != 76.3 || !a.Passed || a.Threshold != 60 || a.Grade != kamflow.GradeA || !a.GradeComputed ||
		a.AssessedBy != "kam.li" || !a.AssessedAt.Equal(now) || a.Likelihood != 70 {
		t.Errorf("assessment %+v", a)
	}
	if d.ExpectedClose != "2026-08-31" {
		t.Errorf("expected close %s", d.ExpectedClose)
	}
	step(days(1), advance(), 20)
	stage(kamflow.Entry, 45)

	// 2 entry: map the buying center.
	step(days(5), person("Zhang Wei", kamflow.RoleDecisionMaker, kamflow.StanceNeutral, false), 20)
	step(days(3), person("Liu Yang", kamflow.RoleInsider, kamflow.StanceSupporter, false), 28) // 20 + 15·½ = 27.5
	step(days(10), person("Zhang Wei", kamflow.RoleDecisionMaker, kamflow.StanceSupporter, true), 35)
	if len(d.Stakeholders) != 2 || d.Stakeholders[0].Stance != kamflow.StanceSupporter || d.Stakeholders[0].RecordedBy != "kam.li" {
		t.Errorf("stakeholders %+v", d.Stakeholders)
	}
	step(days(1), advance(), 35)
	stage(kamflow.Proposal, 30)

	// 3 proposal: shape the criteria, hand over the proposal.
	step(days(7), criteria(
		kamflow.Criterion{Name: "SIL2-certified redundant controllers", Favours: kamflow.FavoursUs},
		kamflow.Criterion{Name: "On-site service within 4 hours", Favours: kamflow.FavoursUs},
		kamflow.Criterion{Name: "Delivery within 16 weeks", Favours: kamflow.FavoursNeutral},
		kamflow.Criterion{Name: "Lowest evaluated price", Favours: kamflow.FavoursCompetitor},
	), 43) // 35 + 15·½ = 42.5
	step(days(5), proposal("2026-04-02"), 50)
	step(days(1), advance(), 50)
	stage(kamflow.Bid, 21)

	// 4 bid: 6.6M cost, 7.6M price → 13.16% margin, below the 15% floor.
	step(days(4), bid(660000000, 760000000, false), 50) // neither submitted nor approved: 0 of 2
	if d.Bid.MarginPct != 13.16 || d.Bid.Floor != 15 || !d.Bid.BelowFloor() {
		t.Errorf("bid %+v", d.Bid)
	}
	if g := d.Gate(); !reflect.DeepEqual(g.Missing(), []string{kamflow.GateBidSubmitted, kamflow.GateMarginApproved}) {
		t.Errorf("bid gate missing %v", g.Missing())
	}
	step(days(1), simple(kamflow.CmdApproveMargin, director), 60)
	if d.Bid.MarginApprovedBy != "dir.wang" || d.Bid.MarginApprovedAt == nil || !d.Bid.MarginApprovedAt.Equal(now) {
		t.Errorf("approval %+v", d.Bid)
	}
	step(days(2), bid(660000000, 760000000, true), 70)
	if d.Bid.MarginApprovedBy != "dir.wang" {
		t.Errorf("submitting the approved figures dropped the approval")
	}
	step(days(1), advance(), 70)
	stage(kamflow.Negotiation, 30)

	// 5 negotiation: director approves, the contract is signed: won.
	step(days(10), simple(kamflow.CmdApproveContract, director), 85)
	step(days(5), sign("2026-05-08"), 100)
	if d.Status != kamflow.StatusWon || d.Contract.SignedOn != "2026-05-08" || d.Contract.SignedBy != "kam.li" || d.Contract.ApprovedBy != "dir.wang" {
		t.Errorf("after signing: status %s contract %+v", d.Status, d.Contract)
	}
	step(days(1), advance(), 100)
	stage(kamflow.Delivery, 120)
	if d.Status != kamflow.StatusWon || !d.Active() {
		t.Errorf("a won deal in delivery is %s, active %v", d.Status, d.Active())
	}

	// 6 delivery: the first acceptance test fails, the second passes with a punch list.
	step(days(90), acceptance(kamflow.AcceptanceFail), 100)
	e := applyFail(t, d, simple(kamflow.CmdCloseProject, engineer), now.Add(kamflow.Day), s, kamflow.EGATENOTMET)
	checkMissing(t, e, []string{kamflow.GateAccepted})
	step(days(14), acceptance(kamflow.AcceptancePassPunchList), 100)
	step(days(1), simple(kamflow.CmdCloseProject, engineer), 100)
	if d.Status != kamflow.StatusDelivered || d.Active() || !d.StallDeadline().IsZero() {
		t.Errorf("closed project: status %s active %v deadline %v", d.Status, d.Active(), d.StallDeadline())
	}
	if d.Forced || len(d.Forces) != 0 {
		t.Errorf("an honest walk recorded forces %+v", d.Forces)
	}
	if d.Seq != 20 {
		t.Errorf("Seq %d, want 20 (created + 19 commands)", d.Seq)
	}

	type row struct {
		kind     string
		from, to kamflow.Stage
		status   kamflow.Status
		seq      int64
		actor    string
	}
	var got []row
	for _, tr := range history {
		if tr.DealID != "deal-001" || tr.Forced || tr.Reason != "" || tr.Missing != nil {
			t.Errorf("transition %+v", tr)
		}
		got = append(got, row{tr.Kind, tr.FromStage, tr.ToStage, tr.Status, tr.Seq, tr.Actor})
	}
	want := []row{
		{kamflow.TransitionCreated, "", kamflow.Development, kamflow.StatusOpen, 1, "kam.li"},
		{kamflow.TransitionAdvanced, kamflow.Development, kamflow.Entry, kamflow.StatusOpen, 3, "kam.li"},
		{kamflow.TransitionAdvanced, kamflow.Entry, kamflow.Proposal, kamflow.StatusOpen, 7, "kam.li"},
		{kamflow.TransitionAdvanced, kamflow.Proposal, kamflow.Bid, kamflow.StatusOpen, 10, "kam.li"},
		{kamflow.TransitionAdvanced, kamflow.Bid, kamflow.Negotiation, kamflow.StatusOpen, 14, "kam.li"},
		{kamflow.TransitionWon, kamflow.Negotiation, kamflow.Negotiation, kamflow.StatusWon, 16, "kam.li"},
		{kamflow.TransitionAdvanced, kamflow.Negotiation, kamflow.Delivery, kamflow.StatusWon, 17, "kam.li"},
		{kamflow.TransitionDelivered, kamflow.Delivery, kamflow.Delivery, kamflow.StatusDelivered, 20, "eng.zhao"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("history\n got %+v\nwant %+v", got, want)
	}

	// A delivered deal takes no more commands.
	e = applyFail(t, d, acceptance(kamflow.AcceptancePass), now.Add(kamflow.Day), s, kamflow.EWRONGSTAGE)
	if e.Details["status"] != "delivered" {
		t.Errorf("details %v", e.Details)
	}
}

// TestAdvanceGateNotMet: advancing past an unmet key node is refused with exactly the missing
// items, and the deal is left as it was.
func TestAdvanceGateNotMet(t *testing.T) {
	tests := []struct {
		stage   kamflow.Stage
		cmds    []kamflow.Command
		missing []string
	}{
		{kamflow.Development, nil, []string{kamflow.GateAssessmentPassed, kamflow.GateGraded}},
		{kamflow.Development, []kamflow.Command{assess(scoresAll(3), "2026-08-31", 90, "")}, []string{kamflow.GateAssessmentPassed}},
		{kamflow.Entry, nil, []string{kamflow.GateInsiderIdentified, kamflow.GateKeyPersonEngaged}},
		{kamflow.Entry, []kamflow.Command{person("Zhang Wei", kamflow.RoleDecisionMaker, kamflow.StanceSupporter, false),
			person("Liu Yang", kamflow.RoleInsider, kamflow.StanceSupporter, true)}, []string{kamflow.GateKeyPersonEngaged}},
		{kamflow.Entry, []kamflow.Command{person("Zhang Wei", kamflow.RoleDecisionMaker, kamflow.StanceSupporter, true)}, []string{kamflow.GateInsiderIdentified}},
		{kamflow.Proposal, nil, []string{kamflow.GateCriteriaFavourable, kamflow.GateProposalSubmitted}},
		{kamflow.Proposal, []kamflow.Command{criteriaMix(2, 0, 2), proposal("2026-04-02")}, []string{kamflow.GateCriteriaFavourable}},
		{kamflow.Bid, nil, []string{kamflow.GateBidSubmitted, kamflow.GateMarginApproved}},
		{kamflow.Bid, []kamflow.Command{bid(660000000, 760000000, true)}, []string{kamflow.GateMarginApproved}},
		{kamflow.Bid, []kamflow.Command{bid(600000000, 760000000, false)}, []string{kamflow.GateBidSubmitted}},
		{kamflow.Negotiation, nil, []string{kamflow.GateContractApproved, kamflow.GateContractSigned}},
		{kamflow.Negotiation, []kamflow.Command{simple(kamflow.CmdApproveContract, director)}, []string{kamflow.GateContractSigned}},
	}
	for _, tt := range tests {
		t.Run(string(tt.stage), func(t *testing.T) {
			w := dealIn(t, tt.stage)
			w.do(tt.cmds...)
			e := w.fail(advance(), kamflow.EGATENOTMET)
			checkMissing(t, e, tt.missing)
			if e.Details["stage"] != string(tt.stage) {
				t.Errorf("Details[stage] = %v", e.Details["stage"])
			}
			// Force without a reason is no override at all.
			if tt.stage != kamflow.Negotiation {
				checkField(t, w.fail(force(""), kamflow.EINVALID), "reason")
				checkField(t, w.fail(force(" \t\n "), kamflow.EINVALID), "reason")
				checkField(t, w.fail(force(long(1001)), kamflow.EINVALID), "reason")
			}
		})
	}
}

// TestForcedAdvance: a director pushes a deal past an unmet key node; it is recorded and the win
// probability is halved for each force.
func TestForcedAdvance(t *testing.T) {
	t.Run("development to entry unassessed", func(t *testing.T) {
		w := newWalker(t)
		fx := w.do(force("  customer's chief engineer asked us in directly  "))
		missing := []string{kamflow.GateAssessmentPassed, kamflow.GateGraded}
		wantForce := kamflow.Force{From: kamflow.Development, To: kamflow.Entry, Missing: missing,
			Reason: "customer's chief engineer asked us in directly", Actor: "dir.wang", At: w.now}
		if !w.d.Forced || len(w.d.Forces) != 1 || !reflect.DeepEqual(w.d.Forces[0], wantForce) {
			t.Errorf("forces %+v, want %+v", w.d.Forces, wantForce)
		}
		wantTr := kamflow.StageTransition{DealID: "deal-001", Seq: 2, Kind: kamflow.TransitionForced,
			FromStage: kamflow.Development, ToStage: kamflow.Entry, Status: kamflow.StatusOpen, Forced: true,
			Reason: "customer's chief engineer asked us in directly", Missing: missing, Actor: "dir.wang", At: w.now}
		if fx.Transition == nil || !reflect.DeepEqual(*fx.Transition, wantTr) {
			t.Errorf("transition %+v\nwant %+v", fx.Transition, wantTr)
		}
		if w.d.Stage != kamflow.Entry || w.d.StageSLA != kamflow.Duration(45*kamflow.Day) || !w.d.StageEnteredAt.Equal(w.now) {
			t.Errorf("stage %s SLA %v", w.d.Stage, w.d.StageSLA)
		}
		// base 20 + 0 evidence, ×0.5 = 10.
		p := w.d.WinProbability()
		wantP := kamflow.Probability{Value: 10, Factors: []kamflow.ProbFactor{
			{Key: "base", Effect: 20, Params: kamflow.Params{"stage": kamflow.Entry}, Detail: "base rate of the entry stage"},
			{Key: "evidence", Effect: 0, Params: kamflow.Params{"met": 0, "total": 2}, Detail: "0 of 2 key-node items met"},
			{Key: "forced", Effect: -10, Params: kamflow.Params{"from": kamflow.Development, "to": kamflow.Entry, "missing": missing},
				Detail: "forced from development to entry past assessment_passed, graded"},
		}}
		if !reflect.DeepEqual(p, wantP) {
			t.Errorf("probability %+v\nwant %+v", p, wantP)
		}
		// Evidence still counts, halved: (20 + 7.5) × 0.5 = 13.75 → 14.
		w.do(person("Liu Yang", kamflow.RoleInsider, kamflow.StanceSupporter, false))
		if v := w.d.WinProbability().Value; v != 14 {
			t.Errorf("forced deal with an insider: %d, want 14", v)
		}
		// A second force compounds: proposal base 35 × 0.25 = 8.75 → 9.
		w.do(force("tender published early"))
		if v := w.d.WinProbability().Value; v != 9 || len(w.d.Forces) != 2 {
			t.Errorf("twice forced: %d with %d forces, want 9", v, len(w.d.Forces))
		}
		if got := w.d.Forces[1].Missing; !reflect.DeepEqual(got, []string{kamflow.GateKeyPersonEngaged}) {
			t.Errorf("second force missing %v", got)
		}
		// (35 + 7.5) × 0.25 = 10.625 → 11.
		w.do(criteriaMix(2, 0, 0))
		if v := w.d.WinProbability().Value; v != 11 {
			t.Errorf("twice forced with favourable criteria: %d, want 11", v)
		}
		// Met gates afterwards are plain advances; the forced flag stays.
		w.do(proposal("2026-03-20"), advance())
		if !w.d.Forced || len(w.d.Forces) != 2 || w.d.Stage != kamflow.Bid {
			t.Errorf("after an honest advance: forced %v forces %d stage %s", w.d.Forced, len(w.d.Forces), w.d.Stage)
		}
		if v := w.d.WinProbability().Value; v != 13 { // 50 × 0.25 = 12.5 → 13
			t.Errorf("twice-forced deal entering bid: %d, want 13", v)
		}
	})

	tests := []struct {
		stage   kamflow.Stage
		cmds    []kamflow.Command
		missing []string
		prob    int
	}{
		{kamflow.Development, []kamflow.Command{assess(scoresAll(2), "2026-08-31", 80, "")}, []string{kamflow.GateAssessmentPassed}, 10},                               // 20×½
		{kamflow.Entry, []kamflow.Command{person("Zhang Wei", kamflow.RoleDecisionMaker, kamflow.StanceSupporter, true)}, []string{kamflow.GateInsiderIdentified}, 18}, // 35×½ = 17.5
		{kamflow.Proposal, []kamflow.Command{criteriaMix(1, 0, 3), proposal("2026-03-20")}, []string{kamflow.GateCriteriaFavourable}, 25},                              // 50×½
		{kamflow.Bid, []kamflow.Command{bid(700000000, 760000000, true)}, []string{kamflow.GateMarginApproved}, 35},                                                    // 70×½
	}
	for _, tt := range tests {
		t.Run("from "+string(tt.stage), func(t *testing.T) {
			w := dealIn(t, tt.stage)
			w.do(tt.cmds...)
			next, _ := tt.stage.Next()
			seq := w.d.Seq
			fx := w.do(force("director's call"))
			if w.d.Stage != next || w.d.Seq != seq+1 || !w.d.Forced || len(w.d.Forces) != 1 {
				t.Fatalf("stage %s seq %d forced %v forces %d", w.d.Stage, w.d.Seq, w.d.Forced, len(w.d.Forces))
			}
			if !reflect.DeepEqual(w.d.Forces[0].Missing, tt.missing) || !reflect.DeepEqual(fx.Transition.Missing, tt.missing) {
				t.Errorf("missing %v / %v, want %v", w.d.Forces[0].Missing, fx.Transition.Missing, tt.missing)
			}
			if fx.Transition.Kind != kamflow.TransitionForced || !fx.Transition.Forced || fx.Transition.Seq != w.d.Seq {
				t.Errorf("transition %+v", fx.Transition)
			}
			if v := w.d.WinProbability().Value; v != tt.prob {
				t.Errorf("win probability %d, want %d", v, tt.prob)
			}
		})
	}

	t.Run("force with the gate met is a plain advance", func(t *testing.T) {
		w := newWalker(t)
		w.do(fullEvidence(kamflow.Development)...)
		fx := w.do(force("no need"))
		if w.d.Forced || len(w.d.Forces) != 0 || fx.Transition.Kind != kamflow.TransitionAdvanced ||
			fx.Transition.Forced || fx.Transition.Reason != "" || fx.Transition.Missing != nil {
			t.Errorf("forced %v transition %+v", w.d.Forced, fx.Transition)
		}
		if v := w.d.WinProbability().Value; v != 20 {
			t.Errorf("probability %d", v)
		}
	})

	t.Run("forcing into delivery is refused", func(t *testing.T) {
		w := dealIn(t, kamflow.Negotiation)
		e := w.fail(force("customer wants us on site now"), kamflow.EWRONGSTAGE)
		checkMissing(t, e, []string{kamflow.GateContractApproved, kamflow.GateContractSigned})
		w.do(simple(kamflow.CmdApproveContract, director))
		e = w.fail(force("customer wants us on site now"), kamflow.EWRONGSTAGE)
		checkMissing(t, e, []string{kamflow.GateContractSigned})
		// Even without a reason the answer is wrong_stage: no reason can make it right.
		w.fail(force(""), kamflow.EWRONGSTAGE)
	})

	t.Run("advancing from delivery", func(t *testing.T) {
		w := dealIn(t, kamflow.Delivery)
		w.fail(advance(), kamflow.EWRONGSTAGE)
		w.do(acceptance(kamflow.AcceptancePass))
		w.fail(advance(), kamflow.EWRONGSTAGE)
		w.fail(force("done"), kamflow.EWRONGSTAGE)
	})
}

// TestWrongStage: stage work belongs to its stage.
func TestWrongStage(t *testing.T) {
	tests := []struct {
		stage kamflow.Stage
		cmd   kamflow.Command
	}{
		{kamflow.Entry, assess(walkScores(), "2026-08-31", 70, "")},
		{kamflow.Delivery, assess(walkScores(), "2026-08-31", 70, "")},
		{kamflow.Development, criteriaMix(2, 0, 0)},
		{kamflow.Negotiation, criteriaMix(2, 0, 0)},
		{kamflow.Delivery, criteriaMix(2, 0, 0)},
		{kamflow.Entry, proposal("2026-03-20")},
		{kamflow.Bid, proposal("2026-03-20")},
		{kamflow.Proposal, bid(100, 200, true)},
		{kamflow.Negotiation, bid(100, 200, true)},
		{kamflow.Proposal, simple(kamflow.CmdApproveMargin, director)},
		{kamflow.Negotiation, simple(kamflow.CmdApproveMargin, director)},
		{kamflow.Bid, simple(kamflow.CmdApproveContract, director)},
		{kamflow.Delivery, simple(kamflow.CmdApproveContract, director)},
		{kamflow.Bid, sign("2026-05-08")},
		{kamflow.Negotiation, acceptance(kamflow.AcceptancePass)},
		{kamflow.Development, acceptance(kamflow.AcceptancePass)},
		{kamflow.Negotiation, simple(kamflow.CmdCloseProject, engineer)},
		{kamflow.Development, simple(kamflow.CmdCloseProject, engineer)},
	}
	for _, tt := range tests {
		t.Run(string(tt.cmd.Kind)+" in "+string(tt.stage), func(t *testing.T) {
			w := dealIn(t, tt.stage)
			e := w.fail(tt.cmd, kamflow.EWRONGSTAGE)
			if e.Details["stage"] != string(tt.stage) {
				t.Errorf("Details[stage] = %v, want %s", e.Details["stage"], tt.stage)
			}
		})
	}

	t.Run("approve_margin without a bid", func(t *testing.T) {
		w := dealIn(t, kamflow.Bid)
		w.fail(simple(kamflow.CmdApproveMargin, director), kamflow.EWRONGSTAGE)
	})
	t.Run("approve_margin on a bid at the floor", func(t *testing.T) {
		w := dealIn(t, kamflow.Bid)
		w.do(bid(8500, 10000, true))
		w.fail(simple(kamflow.CmdApproveMargin, director), kamflow.EWRONGSTAGE)
	})
	t.Run("a margin is approved once", func(t *testing.T) {
		w := dealIn(t, kamflow.Bid)
		w.do(bid(9000, 10000, true), simple(kamflow.CmdApproveMargin, director))
		w.fail(simple(kamflow.CmdApproveMargin, director), kamflow.EWRONGSTAGE)
	})
	t.Run("a contract is approved once", func(t *testing.T) {
		w := dealIn(t, kamflow.Negotiation)
		w.do(simple(kamflow.CmdApproveContract, director))
		w.fail(simple(kamflow.CmdApproveContract, director), kamflow.EWRONGSTAGE)
	})
	t.Run("stakeholders are recorded in any stage", func(t *testing.T) {
		for _, st := range kamflow.Stages {
			w := dealIn(t, st)
			w.do(person("Zhao Min", kamflow.RoleUser, kamflow.StanceNeutral, true))
		}
	})
	t.Run("criteria are recorded in entry, proposal and bid", func(t *testing.T) {
		for _, st := range []kamflow.Stage{kamflow.Entry, kamflow.Proposal, kamflow.Bid} {
			w := dealIn(t, st)
			w.do(criteriaMix(1, 1, 1))
			if len(w.d.Criteria) != 3 {
				t.Errorf("%s: criteria %+v", st, w.d.Criteria)
			}
		}
	})
}

func TestSignContract(t *testing.T) {
	w := dealIn(t, kamflow.Negotiation)
	e := w.fail(sign("2026-05-08"), kamflow.EGATENOTMET)
	checkMissing(t, e, []string{kamflow.GateContractApproved})

	w.do(simple(kamflow.CmdApproveContract, director))
	if w.d.Contract.ApprovedBy != "dir.wang" || w.d.Contract.ApprovedAt == nil || !w.d.Contract.ApprovedAt.Equal(w.now) {
		t.Errorf("contract %+v", w.d.Contract)
	}
	seq := w.d.Seq
	fx := w.do(sign("2026-05-08"))
	want := kamflow.StageTransition{DealID: "deal-001", Seq: seq + 1, Kind: kamflow.TransitionWon,
		FromStage: kamflow.Negotiation, ToStage: kamflow.Negotiation, Status: kamflow.StatusWon, Actor: "kam.li", At: w.now}
	if fx.Transition == nil || !reflect.DeepEqual(*fx.Transition, want) {
		t.Errorf("won transition %+v\nwant %+v", fx.Transition, want)
	}
	if w.d.Status != kamflow.StatusWon || !w.d.Active() {
		t.Errorf("status %s", w.d.Status)
	}
	p := w.d.WinProbability()
	if p.Value != 100 || len(p.Factors) != 1 || p.Factors[0].Key != "outcome" {
		t.Errorf("won probability %+v", p)
	}
	w.fail(sign("2026-05-09"), kamflow.EWRONGSTAGE)
	// A signed contract is no longer open: it cannot be lost, withdrawn or abandoned.
	w.fail(closeAs(kamflow.StatusLost, "customer cancelled", ""), kamflow.EWRONGSTAGE)
	w.fail(closeAs(kamflow.StatusWithdrawn, "we pulled out", ""), kamflow.EWRONGSTAGE)
}

func TestCloseProject(t *testing.T) {
	w := dealIn(t, kamflow.Delivery)
	e := w.fail(simple(kamflow.CmdCloseProject, engineer), kamflow.EGATENOTMET)
	checkMissing(t, e, []string{kamflow.GateAccepted})
	w.do(acceptance(kamflow.AcceptanceFail))
	e = w.fail(simple(kamflow.CmdCloseProject, engineer), kamflow.EGATENOTMET)
	checkMissing(t, e, []string{kamflow.GateAccepted})
	w.do(acceptance(kamflow.AcceptancePass))
	if w.d.Acceptance.RecordedBy != "eng.zhao" || w.d.Acceptance.Result != kamflow.AcceptancePass {
		t.Errorf("acceptance %+v", w.d.Acceptance)
	}
	fx := w.do(simple(kamflow.CmdCloseProject, engineer))
	if w.d.Status != kamflow.StatusDelivered || fx.Transition.Kind != kamflow.TransitionDelivered ||
		fx.Transition.Status != kamflow.StatusDelivered || fx.Transition.FromStage != kamflow.Delivery {
		t.Errorf("status %s transition %+v", w.d.Status, fx.Transition)
	}
	if p := w.d.WinProbability(); p.Value != 100 {
		t.Errorf("delivered probability %d", p.Value)
	}
}

// TestClose: lost anywhere open; withdrawn anywhere but development; abandoned only in
// development.
func TestClose(t *testing.T) {
	allowed := map[kamflow.Status][]kamflow.Stage{
		kamflow.StatusLost:      {kamflow.Development, kamflow.Entry, kamflow.Proposal, kamflow.Bid, kamflow.Negotiation},
		kamflow.StatusWithdrawn: {kamflow.Entry, kamflow.Proposal, kamflow.Bid, kamflow.Negotiation},
		kamflow.StatusAbandoned: {kamflow.Development},
	}
	for _, outcome := range []kamflow.Status{kamflow.StatusLost, kamflow.StatusWithdrawn, kamflow.StatusAbandoned} {
		for _, st := range kamflow.Stages[:5] {
			ok := false
			for _, a := range allowed[outcome] {
				ok = ok || a == st
			}
			t.Run(string(outcome)+" in "+string(st), func(t *testing.T) {
				w := dealIn(t, st)
				cmd := closeAs(outcome, "  criteria written around the competitor's DCS  ", "  Honeywell  ")
				if !ok {
					w.fail(cmd, kamflow.EWRONGSTAGE)
					return
				}
				fx := w.do(cmd)
				want := kamflow.Closing{Outcome: outcome, Reason: "criteria written around the competitor's DCS",
					Competitor: "Honeywell", By: "kam.li", At: w.now}
				if w.d.Status != outcome || w.d.Closing == nil || *w.d.Closing != want {
					t.Errorf("status %s closing %+v", w.d.Status, w.d.Closing)
				}
				wantTr := kamflow.StageTransition{DealID: "deal-001", Seq: w.d.Seq, Kind: kamflow.TransitionClosed,
					FromStage: st, ToStage: st, Status: outcome, Reason: want.Reason, Competitor: "Honeywell", Actor: "kam.li", At: w.now}
				if fx.Transition == nil || !reflect.DeepEqual(*fx.Transition, wantTr) {
					t.Errorf("transition %+v\nwant %+v", fx.Transition, wantTr)
				}
				if p := w.d.WinProbability(); p.Value != 0 || p.Factors[0].Detail != "deal "+string(outcome) {
					t.Errorf("probability %+v", p)
				}
				if w.d.Active() || !w.d.StallDeadline().IsZero() {
					t.Errorf("closed deal active %v deadline %v", w.d.Active(), w.d.StallDeadline())
				}
			})
		}
	}
	t.Run("delivery stage (won) cannot be closed", func(t *testing.T) {
		w := dealIn(t, kamflow.Delivery)
		w.fail(closeAs(kamflow.StatusLost, "project cancelled", ""), kamflow.EWRONGSTAGE)
	})
	t.Run("closing clears a stall and a pause", func(t *testing.T) {
		w := dealIn(t, kamflow.Bid)
		w.now = w.d.StallDeadline()
		if !w.d.MarkStalled(w.now) {
			t.Fatal("not stalled")
		}
		w.do(closeAs(kamflow.StatusLost, "price war", "Siemens"))
		if w.d.Stalled || w.d.StalledSince != nil || w.d.Pause != nil {
			t.Errorf("closed deal stalled %v paused %v", w.d.Stalled, w.d.Pause)
		}
		w = dealIn(t, kamflow.Entry)
		w.do(pause("waiting for budget", "2026-06-01"), closeAs(kamflow.StatusWithdrawn, "budget cut", ""))
		if w.d.Pause != nil || w.d.MarkStalled(w.now.Add(365*kamflow.Day)) || w.d.ResumeDue(w.now.Add(365*kamflow.Day)) {
			t.Errorf("closed deal still paused or stallable")
		}
	})
}

// TestClosedDealsRefuseEverything: lost, withdrawn, abandoned and delivered deals take no command,
// however well formed.
func TestClosedDealsRefuseEverything(t *testing.T) {
	closed := map[kamflow.Status]func(t *testing.T) *walker{
		kamflow.StatusLost: func(t *testing.T) *walker {
			w := dealIn(t, kamflow.Bid)
			w.do(closeAs(kamflow.StatusLost, "lost on price", "ABB"))
			return w
		},
		kamflow.StatusWithdrawn: func(t *testing.T) *walker {
			w := dealIn(t, kamflow.Proposal)
			w.do(closeAs(kamflow.StatusWithdrawn, "criteria against us", ""))
			return w
		},
		kamflow.StatusAbandoned: func(t *testing.T) *walker {
			w := newWalker(t)
			w.do(assess(scoresAll(1), "2026-08-31", 10, ""), closeAs(kamflow.StatusAbandoned, "no funding", ""))
			return w
		},
		kamflow.StatusDelivered: func(t *testing.T) *walker {
			w := dealIn(t, kamflow.Delivery)
			w.do(acceptance(kamflow.AcceptancePass), simple(kamflow.CmdCloseProject, engineer))
			return w
		},
	}
	cmds := []kamflow.Command{
		assess(walkScores(), "2026-08-31", 70, ""),
		person("Zhang Wei", kamflow.RoleDecisionMaker, kamflow.StanceSupporter, true),
		criteriaMix(2, 0, 0),
		proposal("2026-03-20"),
		bid(100, 200, true),
		simple(kamflow.CmdApproveMargin, director),
		simple(kamflow.CmdApproveContract, director),
		sign("2026-05-08"),
		acceptance(kamflow.AcceptancePass),
		advance(),
		force("director's call"),
		closeAs(kamflow.StatusLost, "again", ""),
		simple(kamflow.CmdCloseProject, engineer),
		pause("waiting", "2027-01-01"),
		simple(kamflow.CmdResume, kam),
		{Kind: "teleport", Actor: kam},
	}
	for status, setup := range closed {
		t.Run(string(status), func(t *testing.T) {
			w := setup(t)
			if w.d.Status != status {
				t.Fatalf("status %s", w.d.Status)
			}
			for _, c := range cmds {
				e := w.fail(c, kamflow.EWRONGSTAGE)
				if e.Details["status"] != string(status) {
					t.Errorf("%s: Details[status] = %v", c.Kind, e.Details["status"])
				}
			}
			if w.d.MarkStalled(w.now.Add(1000*kamflow.Day)) || w.d.ResumeDue(w.now.Add(1000*kamflow.Day)) {
				t.Errorf("a %s deal stalled or resumed", status)
			}
		})
	}
}

// TestStallClock: the SLA clock, pauses and resumes.
func TestStallClock(t *testing.T) {
	days := func(n float64) time.Duration { return time.Duration(n * float64(kamflow.Day)) }

	t.Run("stalls at the deadline, not before", func(t *testing.T) {
		w := newWalker(t)
		dl := t0.Add(days(30))
		if !w.d.StallDeadline().Equal(dl) {
			t.Fatalf("deadline %v, want %v", w.d.StallDeadline(), dl)
		}
		if w.d.MarkStalled(dl.Add(-time.Nanosecond)) || w.d.Stalled || w.d.Seq != 1 {
			t.Fatalf("stalled before the deadline")
		}
		if !w.d.MarkStalled(dl) || !w.d.Stalled || w.d.StalledSince == nil || !w.d.StalledSince.Equal(dl) || w.d.Seq != 2 || !w.d.UpdatedAt.Equal(dl) {
			t.Fatalf("not stalled at the deadline: %+v", w.d)
		}
		if w.d.MarkStalled(dl.Add(days(1))) || w.d.Seq != 2 || !w.d.StalledSince.Equal(dl) {
			t.Errorf("stalled twice")
		}
		if n := w.d.DaysOverSLA(dl.Add(days(2.5))); n != 2 {
			t.Errorf("days over SLA %d, want 2", n)
		}
		if n := w.d.DaysInStage(dl.Add(days(2.5))); n != 32 {
			t.Errorf("days in stage %d, want 32", n)
		}
		// Stage work is progress: the stall is lifted and the clock restarts.
		now := dl.Add(days(3))
		if _, err := w.d.Apply(assess(walkScores(), "2026-08-31", 70, ""), now, w.s); err != nil {
			t.Fatal(err)
		}
		if w.d.Stalled || w.d.StalledSince != nil || !w.d.LastProgressAt.Equal(now) || !w.d.StallDeadline().Equal(now.Add(days(30))) {
			t.Errorf("after work: stalled %v deadline %v", w.d.Stalled, w.d.StallDeadline())
		}
		if n := w.d.DaysOverSLA(now); n != 0 {
			t.Errorf("days over SLA of a deal not stalled: %d", n)
		}
	})

	t.Run("pausing stops the clock, resuming shifts it", func(t *testing.T) {
		w := newWalker(t)
		pausedAt := t0.Add(days(10))
		if _, err := w.d.Apply(pause("  waiting for the customer's board to approve the budget ", "2026-04-30"), pausedAt, w.s); err != nil {
			t.Fatal(err)
		}
		want := kamflow.Pause{Reason: "waiting for the customer's board to approve the budget", ResumeOn: "2026-04-30", Since: pausedAt, By: "kam.li"}
		if w.d.Pause == nil || *w.d.Pause != want {
			t.Errorf("pause %+v", w.d.Pause)
		}
		if !w.d.LastProgressAt.Equal(t0) {
			t.Errorf("pausing is not progress: LastProgressAt %v", w.d.LastProgressAt)
		}
		if !w.d.StallDeadline().IsZero() || w.d.MarkStalled(t0.Add(days(60))) {
			t.Errorf("paused deal has a deadline %v", w.d.StallDeadline())
		}
		applyFail(t, w.d, pause("again", "2026-05-30"), pausedAt.Add(days(1)), w.s, kamflow.EWRONGSTAGE)

		resumedAt := pausedAt.Add(days(12))
		if _, err := w.d.Apply(simple(kamflow.CmdResume, kam), resumedAt, w.s); err != nil {
			t.Fatal(err)
		}
		if w.d.Pause != nil || !w.d.LastProgressAt.Equal(t0.Add(days(12))) {
			t.Errorf("after resume: pause %v LastProgressAt %v", w.d.Pause, w.d.LastProgressAt)
		}
		dl := t0.Add(days(42))
		if !w.d.StallDeadline().Equal(dl) || w.d.MarkStalled(dl.Add(-time.Second)) || !w.d.MarkStalled(dl) {
			t.Errorf("deadline %v, want %v", w.d.StallDeadline(), dl)
		}
		applyFail(t, w.d, simple(kamflow.CmdResume, kam), dl, w.s, kamflow.EWRONGSTAGE)
	})

	t.Run("pausing lifts a stall", func(t *testing.T) {
		w := newWalker(t)
		w.d.MarkStalled(t0.Add(days(31)))
		if _, err := w.d.Apply(pause("customer plant shutdown", "2026-05-01"), t0.Add(days(32)), w.s); err != nil {
			t.Fatal(err)
		}
		if w.d.Stalled || w.d.StalledSince != nil || w.d.DaysOverSLA(t0.Add(days(40))) != 0 {
			t.Errorf("paused deal still stalled")
		}
	})

	t.Run("ResumeDue on and after the resume date", func(t *testing.T) {
		w := newWalker(t)
		pausedAt := t0.Add(days(1)) // 2026-03-03 09:00
		if _, err := w.d.Apply(pause("waiting for approval", "2026-03-20"), pausedAt, w.s); err != nil {
			t.Fatal(err)
		}
		seq := w.d.Seq
		due := time.Date(2026, 3, 20, 0, 0, 0, 0, time.UTC)
		if w.d.ResumeDue(due.Add(-time.Second)) || w.d.Pause == nil || w.d.Seq != seq {
			t.Fatalf("resumed before the date")
		}
		if !w.d.ResumeDue(due) || w.d.Pause != nil || w.d.Seq != seq+1 || !w.d.UpdatedAt.Equal(due) {
			t.Fatalf("not resumed on the date")
		}
		// Paused 16 days 15 hours: the clock moves on by as much.
		if want := t0.Add(due.Sub(pausedAt)); !w.d.LastProgressAt.Equal(want) {
			t.Errorf("LastProgressAt %v, want %v", w.d.LastProgressAt, want)
		}
		if w.d.ResumeDue(due.Add(days(1))) || w.d.Seq != seq+1 {
			t.Errorf("resumed twice")
		}
		// And a late timer resumes too.
		w2 := newWalker(t)
		if _, err := w2.d.Apply(pause("waiting for approval", "2026-03-20"), pausedAt, w2.s); err != nil {
			t.Fatal(err)
		}
		if !w2.d.ResumeDue(due.Add(days(3))) || !w2.d.LastProgressAt.Equal(t0.Add(due.Add(days(3)).Sub(pausedAt))) {
			t.Errorf("late resume: %v", w2.d.LastProgressAt)
		}
	})

	t.Run("stage work ends a pause", func(t *testing.T) {
		w := dealIn(t, kamflow.Entry)
		w.do(pause("customer reorganising", "2026-06-01"))
		w.do(person("Liu Yang", kamflow.RoleInsider, kamflow.StanceSupporter, false))
		if w.d.Pause != nil || !w.d.LastProgressAt.Equal(w.now) || w.d.StallDeadline().IsZero() {
			t.Errorf("work during a pause: pause %v", w.d.Pause)
		}
		// An advance ends it too.
		w.do(person("Zhang Wei", kamflow.RoleDecisionMaker, kamflow.StanceSupporter, true), pause("holiday", "2026-06-01"), advance())
		if w.d.Pause != nil || w.d.Stage != kamflow.Proposal {
			t.Errorf("advance during a pause: pause %v", w.d.Pause)
		}
	})

	t.Run("SetStageSLA", func(t *testing.T) {
		w := newWalker(t)
		s := kamflow.DefaultSettings()
		if w.d.SetStageSLA(s, t0) || w.d.Seq != 1 {
			t.Errorf("unchanged SLA reported a change")
		}
		now := t0.Add(days(31))
		w.d.MarkStalled(now)
		seq := w.d.Seq
		// 31 days is longer, but the deal is already past it.
		s.SLA[kamflow.Development] = kamflow.Duration(days(31))
		if !w.d.SetStageSLA(s, now.Add(time.Hour)) || !w.d.Stalled || w.d.Seq != seq+1 {
			t.Errorf("31d SLA at day 31+1h: stalled %v", w.d.Stalled)
		}
		// 45 days lifts the stall.
		s.SLA[kamflow.Development] = kamflow.Duration(days(45))
		if !w.d.SetStageSLA(s, now.Add(time.Hour)) || w.d.Stalled || w.d.StalledSince != nil || w.d.StageSLA != kamflow.Duration(days(45)) {
			t.Errorf("45d SLA: stalled %v SLA %v", w.d.Stalled, w.d.StageSLA)
		}
		// A shorter SLA does not stall at once; the next check does.
		s.SLA[kamflow.Development] = kamflow.Duration(days(20))
		if !w.d.SetStageSLA(s, now.Add(2*time.Hour)) || w.d.Stalled {
			t.Errorf("20d SLA stalled at once")
		}
		if !w.d.MarkStalled(now.Add(2 * time.Hour)) {
			t.Errorf("20d SLA at day 31 did not stall")
		}
		// Another stage's SLA does not touch this deal.
		s.SLA[kamflow.Entry] = kamflow.Duration(days(5))
		if w.d.SetStageSLA(s, now.Add(3*time.Hour)) {
			t.Errorf("an entry SLA changed a development deal")
		}
	})

	t.Run("pause input", func(t *testing.T) {
		w := newWalker(t)
		now := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
		for _, on := range []kamflow.Date{"2026-03-10", "2026-03-09", "2025-12-31"} {
			e := applyFail(t, w.d, pause("waiting", on), now, w.s, kamflow.EINVALID)
			checkField(t, e, "resume_on")
		}
		if _, err := w.d.Apply(pause("waiting", "2026-03-11"), now, w.s); err != nil {
			t.Errorf("resume tomorrow: %v", err)
		}
	})
}

// TestEffectsOfStageWork: only moves and status changes write stage history.
func TestEffectsOfStageWork(t *testing.T) {
	w := newWalker(t)
	for _, c := range []kamflow.Command{
		assess(walkScores(), "2026-08-31", 70, ""),
		person("Zhang Wei", kamflow.RoleDecisionMaker, kamflow.StanceSupporter, true),
		pause("waiting", "2026-12-01"),
		simple(kamflow.CmdResume, kam),
	} {
		if fx := w.do(c); fx.Transition != nil {
			t.Errorf("%s wrote a transition %+v", c.Kind, fx.Transition)
		}
	}
}
