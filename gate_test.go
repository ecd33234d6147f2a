package kamflow_test

import (
	"reflect"
	"testing"

	"github.com/kamflow/kamflow"
)

// TestGates records evidence in each stage and checks which key-node items it meets.
func TestGates(t *testing.T) {
	low := kamflow.Money(660000000)    // 6,600,000.00 cost
	price := kamflow.Money(760000000)  // 7,600,000.00 → 13.16% margin, below the 15% floor
	better := kamflow.Money(800000000) // 8,000,000.00 → 17.50% margin
	tests := []struct {
		name     string
		stage    kamflow.Stage
		settings func(*kamflow.Settings)
		cmds     []kamflow.Command
		missing  []string
		details  map[string]string // item key → expected detail
	}{
		// development
		{name: "nothing assessed", stage: kamflow.Development,
			missing: []string{kamflow.GateAssessmentPassed, kamflow.GateGraded},
			details: map[string]string{kamflow.GateAssessmentPassed: "not assessed yet", kamflow.GateGraded: "no grade yet"}},
		{name: "assessment failed is graded but not passed", stage: kamflow.Development,
			cmds:    []kamflow.Command{assess(scoresAll(2), "2026-08-31", 70, "")},
			missing: []string{kamflow.GateAssessmentPassed},
			details: map[string]string{kamflow.GateAssessmentPassed: "score 25.0 is below the threshold 60.0", kamflow.GateGraded: "grade A"}},
		{name: "assessment passed", stage: kamflow.Development,
			cmds:    []kamflow.Command{assess(walkScores(), "2026-08-31", 70, "")},
			missing: []string{},
			details: map[string]string{kamflow.GateAssessmentPassed: "score 76.3 reaches the threshold 60.0", kamflow.GateGraded: "grade A"}},
		{name: "failed then reassessed passing", stage: kamflow.Development,
			cmds:    []kamflow.Command{assess(scoresAll(2), "2026-08-31", 70, ""), assess(walkScores(), "2026-08-31", 40, "")},
			missing: []string{},
			details: map[string]string{kamflow.GateGraded: "grade C"}},
		{name: "passed then reassessed failing", stage: kamflow.Development,
			cmds:    []kamflow.Command{assess(walkScores(), "2026-08-31", 70, ""), assess(scoresAll(3), "2026-08-31", 70, "")},
			missing: []string{kamflow.GateAssessmentPassed},
			details: map[string]string{kamflow.GateAssessmentPassed: "score 50.0 is below the threshold 60.0"}},
		{name: "grade set by hand", stage: kamflow.Development,
			cmds:    []kamflow.Command{assess(walkScores(), "2026-08-31", 70, kamflow.GradeB)},
			missing: []string{},
			details: map[string]string{kamflow.GateGraded: "grade B"}},
		{name: "threshold from settings at assessment time", stage: kamflow.Development,
			settings: func(s *kamflow.Settings) { s.Assessment.Threshold = 76.4 },
			cmds:     []kamflow.Command{assess(walkScores(), "2026-08-31", 70, "")},
			missing:  []string{kamflow.GateAssessmentPassed},
			details:  map[string]string{kamflow.GateAssessmentPassed: "score 76.3 is below the threshold 76.4"}},

		// entry
		{name: "nobody mapped", stage: kamflow.Entry,
			missing: []string{kamflow.GateInsiderIdentified, kamflow.GateKeyPersonEngaged},
			details: map[string]string{kamflow.GateInsiderIdentified: "no insider (内线) recorded", kamflow.GateKeyPersonEngaged: "no decision maker recorded"}},
		{name: "insider only", stage: kamflow.Entry,
			cmds:    []kamflow.Command{person("Liu Yang", kamflow.RoleInsider, kamflow.StanceSupporter, false)},
			missing: []string{kamflow.GateKeyPersonEngaged},
			details: map[string]string{kamflow.GateInsiderIdentified: "insider: Liu Yang"}},
		{name: "decision maker recorded but not engaged", stage: kamflow.Entry,
			cmds: []kamflow.Command{
				person("Liu Yang", kamflow.RoleInsider, kamflow.StanceSupporter, false),
				person("Zhang Wei", kamflow.RoleDecisionMaker, kamflow.StanceNeutral, false),
			},
			missing: []string{kamflow.GateKeyPersonEngaged},
			details: map[string]string{kamflow.GateKeyPersonEngaged: "decision maker recorded but not engaged"}},
		{name: "engaged influencer is not a key decision person", stage: kamflow.Entry,
			cmds: []kamflow.Command{
				person("Liu Yang", kamflow.RoleInsider, kamflow.StanceSupporter, false),
				person("Chen Jie", kamflow.RoleInfluencer, kamflow.StanceSupporter, true),
				person("Sun Li", kamflow.RoleTechnicalEvaluator, kamflow.StanceSupporter, true),
			},
			missing: []string{kamflow.GateKeyPersonEngaged},
			details: map[string]string{kamflow.GateKeyPersonEngaged: "no decision maker recorded"}},
		{name: "engaged decision maker without insider", stage: kamflow.Entry,
			cmds:    []kamflow.Command{person("Zhang Wei", kamflow.RoleDecisionMaker, kamflow.StanceSupporter, true)},
			missing: []string{kamflow.GateInsiderIdentified},
			details: map[string]string{kamflow.GateKeyPersonEngaged: "engaged decision maker: Zhang Wei"}},
		{name: "insider and engaged decision maker", stage: kamflow.Entry,
			cmds:    fullEvidence(kamflow.Entry),
			missing: []string{}},
		{name: "two decision makers, one engaged", stage: kamflow.Entry,
			cmds: []kamflow.Command{
				person("Liu Yang", kamflow.RoleInsider, kamflow.StanceSupporter, false),
				person("Zhang Wei", kamflow.RoleDecisionMaker, kamflow.StanceSupporter, false),
				person("Wang Fang", kamflow.RoleDecisionMaker, kamflow.StanceNeutral, true),
			},
			missing: []string{},
			details: map[string]string{kamflow.GateKeyPersonEngaged: "engaged decision maker: Wang Fang"}},
		{name: "decision maker re-recorded as no longer engaged", stage: kamflow.Entry,
			cmds: append(fullEvidence(kamflow.Entry),
				person("ZHANG WEI", kamflow.RoleDecisionMaker, kamflow.StanceNeutral, false)),
			missing: []string{kamflow.GateKeyPersonEngaged},
			details: map[string]string{kamflow.GateKeyPersonEngaged: "decision maker recorded but not engaged"}},
		{name: "insider re-recorded as a plain user", stage: kamflow.Entry,
			cmds: append(fullEvidence(kamflow.Entry),
				person(" liu yang ", kamflow.RoleUser, kamflow.StanceSupporter, false)),
			missing: []string{kamflow.GateInsiderIdentified}},

		// proposal
		{name: "no criteria, no proposal", stage: kamflow.Proposal,
			missing: []string{kamflow.GateCriteriaFavourable, kamflow.GateProposalSubmitted},
			details: map[string]string{kamflow.GateCriteriaFavourable: "no purchasing criteria recorded", kamflow.GateProposalSubmitted: "no proposal submitted"}},
		{name: "criteria 2 us / 2 competitor is not favourable", stage: kamflow.Proposal,
			cmds:    []kamflow.Command{criteriaMix(2, 0, 2), proposal("2026-04-20")},
			missing: []string{kamflow.GateCriteriaFavourable},
			details: map[string]string{kamflow.GateCriteriaFavourable: "2 favour us, 0 neutral, 2 favour a competitor", kamflow.GateProposalSubmitted: "submitted on 2026-04-20"}},
		{name: "criteria 3 us / 2 competitor is favourable", stage: kamflow.Proposal,
			cmds:    []kamflow.Command{criteriaMix(3, 0, 2), proposal("2026-04-20")},
			missing: []string{},
			details: map[string]string{kamflow.GateCriteriaFavourable: "3 favour us, 0 neutral, 2 favour a competitor"}},
		{name: "all neutral criteria are not favourable", stage: kamflow.Proposal,
			cmds:    []kamflow.Command{criteriaMix(0, 4, 0), proposal("2026-04-20")},
			missing: []string{kamflow.GateCriteriaFavourable}},
		{name: "one for us among neutrals is favourable", stage: kamflow.Proposal,
			cmds:    []kamflow.Command{criteriaMix(1, 3, 0), proposal("2026-04-20")},
			missing: []string{},
			details: map[string]string{kamflow.GateCriteriaFavourable: "1 favour us, 3 neutral, 0 favour a competitor"}},
		{name: "favourable criteria, no proposal", stage: kamflow.Proposal,
			cmds:    []kamflow.Command{criteriaMix(2, 1, 1)},
			missing: []string{kamflow.GateProposalSubmitted}},
		{name: "proposal, criteria replaced by an unfavourable list", stage: kamflow.Proposal,
			cmds:    []kamflow.Command{criteriaMix(3, 0, 0), proposal("2026-04-20"), criteriaMix(1, 0, 2)},
			missing: []string{kamflow.GateCriteriaFavourable},
			details: map[string]string{kamflow.GateCriteriaFavourable: "1 favour us, 0 neutral, 2 favour a competitor"}},
		{name: "criteria recorded in entry carry into proposal", stage: kamflow.Entry,
			cmds:    []kamflow.Command{criteriaMix(2, 0, 1)},
			missing: []string{kamflow.GateInsiderIdentified, kamflow.GateKeyPersonEngaged}},

		// bid
		{name: "no bid", stage: kamflow.Bid,
			missing: []string{kamflow.GateBidSubmitted, kamflow.GateMarginApproved},
			details: map[string]string{kamflow.GateBidSubmitted: "no bid recorded", kamflow.GateMarginApproved: "no bid recorded"}},
		{name: "sound bid not yet submitted", stage: kamflow.Bid,
			cmds:    []kamflow.Command{bid(low, better, false)},
			missing: []string{kamflow.GateBidSubmitted},
			details: map[string]string{kamflow.GateBidSubmitted: "bid recorded but not submitted", kamflow.GateMarginApproved: "margin 17.50% is at or above the floor 15.00%"}},
		{name: "sound bid submitted", stage: kamflow.Bid,
			cmds:    []kamflow.Command{bid(low, better, true)},
			missing: []string{},
			details: map[string]string{kamflow.GateBidSubmitted: "bid of 8000000.00 submitted"}},
		{name: "margin exactly at the floor needs no approval", stage: kamflow.Bid,
			cmds:    []kamflow.Command{bid(8500, 10000, true)},
			missing: []string{},
			details: map[string]string{kamflow.GateMarginApproved: "margin 15.00% is at or above the floor 15.00%"}},
		{name: "bid below the 15% floor needs approve_margin", stage: kamflow.Bid,
			cmds:    []kamflow.Command{bid(8501, 10000, true)},
			missing: []string{kamflow.GateMarginApproved},
			details: map[string]string{kamflow.GateMarginApproved: "margin 14.99% is below the floor 15.00%: a director must approve"}},
		{name: "below floor, approved", stage: kamflow.Bid,
			cmds:    []kamflow.Command{bid(low, price, true), simple(kamflow.CmdApproveMargin, director)},
			missing: []string{},
			details: map[string]string{kamflow.GateMarginApproved: "margin 13.16% below the floor 15.00%, approved by dir.wang"}},
		{name: "changing the price withdraws the approval", stage: kamflow.Bid,
			cmds:    []kamflow.Command{bid(low, price, true), simple(kamflow.CmdApproveMargin, director), bid(low, price-5000000, true)},
			missing: []string{kamflow.GateMarginApproved},
			details: map[string]string{kamflow.GateMarginApproved: "margin 12.58% is below the floor 15.00%: a director must approve"}},
		{name: "changing the cost withdraws the approval", stage: kamflow.Bid,
			cmds:    []kamflow.Command{bid(low, price, true), simple(kamflow.CmdApproveMargin, director), bid(low+100, price, true)},
			missing: []string{kamflow.GateMarginApproved}},
		{name: "submitting the approved figures keeps the approval", stage: kamflow.Bid,
			cmds:    []kamflow.Command{bid(low, price, false), simple(kamflow.CmdApproveMargin, director), bid(low, price, true)},
			missing: []string{}},
		{name: "raising the price above the floor needs no approval", stage: kamflow.Bid,
			cmds:    []kamflow.Command{bid(low, price, true), simple(kamflow.CmdApproveMargin, director), bid(low, better, true)},
			missing: []string{}},
		{name: "a loss-making bid needs approval", stage: kamflow.Bid,
			cmds:    []kamflow.Command{bid(1100, 1000, true)},
			missing: []string{kamflow.GateMarginApproved},
			details: map[string]string{kamflow.GateMarginApproved: "margin -10.00% is below the floor 15.00%: a director must approve"}},
		{name: "a lower floor in the settings", stage: kamflow.Bid,
			settings: func(s *kamflow.Settings) { s.MarginFloor = 10 },
			cmds:     []kamflow.Command{bid(low, price, true)},
			missing:  []string{}},

		// negotiation
		{name: "contract neither approved nor signed", stage: kamflow.Negotiation,
			missing: []string{kamflow.GateContractApproved, kamflow.GateContractSigned},
			details: map[string]string{kamflow.GateContractApproved: "contract not approved by a director", kamflow.GateContractSigned: "contract not signed"}},
		{name: "contract approved", stage: kamflow.Negotiation,
			cmds:    []kamflow.Command{simple(kamflow.CmdApproveContract, director)},
			missing: []string{kamflow.GateContractSigned},
			details: map[string]string{kamflow.GateContractApproved: "approved by dir.wang"}},
		{name: "contract approved and signed", stage: kamflow.Negotiation,
			cmds:    fullEvidence(kamflow.Negotiation),
			missing: []string{},
			details: map[string]string{kamflow.GateContractSigned: "signed on 2026-06-30"}},

		// delivery
		{name: "no acceptance test", stage: kamflow.Delivery,
			missing: []string{kamflow.GateAccepted},
			details: map[string]string{kamflow.GateAccepted: "no acceptance test recorded"}},
		{name: "acceptance fail", stage: kamflow.Delivery,
			cmds:    []kamflow.Command{acceptance(kamflow.AcceptanceFail)},
			missing: []string{kamflow.GateAccepted},
			details: map[string]string{kamflow.GateAccepted: "acceptance failed"}},
		{name: "acceptance pass_with_punch_list", stage: kamflow.Delivery,
			cmds:    []kamflow.Command{acceptance(kamflow.AcceptancePassPunchList)},
			missing: []string{},
			details: map[string]string{kamflow.GateAccepted: "acceptance passed with a punch list"}},
		{name: "acceptance pass", stage: kamflow.Delivery,
			cmds:    []kamflow.Command{acceptance(kamflow.AcceptanceFail), acceptance(kamflow.AcceptancePass)},
			missing: []string{},
			details: map[string]string{kamflow.GateAccepted: "acceptance passed"}},
		{name: "a later failed test undoes the pass", stage: kamflow.Delivery,
			cmds:    []kamflow.Command{acceptance(kamflow.AcceptancePass), acceptance(kamflow.AcceptanceFail)},
			missing: []string{kamflow.GateAccepted}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := dealIn(t, tt.stage)
			if tt.settings != nil {
				tt.settings(&w.s)
			}
			w.do(tt.cmds...)
			g := w.d.Gate()
			if g.Stage != tt.stage {
				t.Fatalf("gate of stage %s, want %s", g.Stage, tt.stage)
			}
			if got := g.Missing(); !reflect.DeepEqual(got, tt.missing) {
				t.Errorf("missing = %v, want %v", got, tt.missing)
			}
			if g.Met != (len(tt.missing) == 0) {
				t.Errorf("Met = %v with missing %v", g.Met, g.Missing())
			}
			var keys []string
			for _, it := range g.Items {
				keys = append(keys, it.Key)
				if want, ok := tt.details[it.Key]; ok && it.Detail != want {
					t.Errorf("%s detail = %q, want %q", it.Key, it.Detail, want)
				}
			}
			if !reflect.DeepEqual(keys, kamflow.GateKeys[tt.stage]) {
				t.Errorf("items %v, want %v in that order", keys, kamflow.GateKeys[tt.stage])
			}
			if !reflect.DeepEqual(w.d.GateOf(tt.stage), g) {
				t.Errorf("GateOf(%s) differs from Gate()", tt.stage)
			}
		})
	}
}

// TestGateOfStruct evaluates gates over evidence set directly, including states the commands
// cannot produce (an assessment without a grade).
func TestGateOfStruct(t *testing.T) {
	d := &kamflow.Deal{Stage: kamflow.Development, Status: kamflow.StatusOpen,
		Assessment: &kamflow.Assessment{Score: 75, Threshold: 60, Passed: true}}
	if got := d.GateOf(kamflow.Development).Missing(); !reflect.DeepEqual(got, []string{kamflow.GateGraded}) {
		t.Errorf("passed but ungraded: missing %v", got)
	}
	// GateOf looks at any stage's items over the same evidence, whatever stage the deal is in.
	d.Bid = &kamflow.BidWork{Cost: 80, Price: 100, MarginPct: 20, Floor: 15, Submitted: true}
	if g := d.GateOf(kamflow.Bid); !g.Met {
		t.Errorf("bid gate over a submitted 20%% bid: missing %v", g.Missing())
	}
	if g := d.GateOf(kamflow.Negotiation); g.Met || len(g.Items) != 2 {
		t.Errorf("negotiation gate without a contract: %+v", g)
	}
	if got := d.Gate().Stage; got != kamflow.Development {
		t.Errorf("Gate() evaluates %s, want the deal's stage", got)
	}
}

func TestGradeAccessor(t *testing.T) {
	w := newWalker(t)
	if g := w.d.Grade(); g != "" {
		t.Errorf("unassessed deal has grade %q", g)
	}
	w.do(assess(walkScores(), "2026-08-31", 55, ""))
	if g := w.d.Grade(); g != kamflow.GradeB {
		t.Errorf("grade %q, want B", g)
	}
}
