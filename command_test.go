package kamflow_test

import (
	"fmt"
	"testing"

	"github.com/kamflow/kamflow"
)

// TestCommandValidation: malformed input is invalid, names the offending field where it can and
// leaves the deal untouched.
func TestCommandValidation(t *testing.T) {
	withActor := func(c kamflow.Command, id string) kamflow.Command { c.Actor.ID = id; return c }
	stakeholder := func(edit func(*kamflow.Stakeholder)) kamflow.Command {
		c := person("Zhang Wei", kamflow.RoleDecisionMaker, kamflow.StanceSupporter, true)
		edit(c.Stakeholder)
		return c
	}
	crit := func(name string, f kamflow.Favours) kamflow.Criterion {
		return kamflow.Criterion{Name: name, Favours: f}
	}
	many := func(n int) kamflow.Command {
		cs := make([]kamflow.Criterion, n)
		for i := range cs {
			cs[i] = crit(fmt.Sprintf("criterion %d", i), kamflow.FavoursUs)
		}
		return criteria(cs...)
	}
	bidCmd := func(cost, price kamflow.Money, deadline kamflow.Date) kamflow.Command {
		c := bid(cost, price, true)
		c.Bid.Deadline = deadline
		return c
	}
	allFactors := []string{"credit", "funding", "price", "product", "project_level", "relationship", "service", "solution", "technical_fit"}

	tests := []struct {
		name    string
		stage   kamflow.Stage
		setup   []kamflow.Command
		cmd     kamflow.Command
		field   string   // expected Details["field"], "" for none
		missing []string // expected Details["missing"], when set
	}{
		// actor and kind
		{name: "no actor", stage: kamflow.Development, cmd: withActor(advance(), ""), field: "actor"},
		{name: "blank actor", stage: kamflow.Development, cmd: withActor(advance(), "  "), field: "actor"},
		{name: "actor too long", stage: kamflow.Development, cmd: withActor(advance(), long(201)), field: "actor"},
		{name: "actor not UTF-8", stage: kamflow.Development, cmd: withActor(advance(), "kam\xff"), field: "actor"},
		{name: "unknown command", stage: kamflow.Development, cmd: kamflow.Command{Kind: "teleport", Actor: kam}},
		{name: "empty command", stage: kamflow.Development, cmd: kamflow.Command{Actor: kam}},

		// assessment
		{name: "assessment without input", stage: kamflow.Development, cmd: simple(kamflow.CmdAssessment, kam)},
		{name: "assessment without scores", stage: kamflow.Development, cmd: assess(nil, "2026-08-31", 70, ""), missing: allFactors},
		{name: "assessment missing funding and price", stage: kamflow.Development,
			cmd: assess(scoresWithout(walkScores(), kamflow.FactorFunding, kamflow.FactorPrice), "2026-08-31", 70, ""), missing: []string{"funding", "price"}},
		{name: "score 0", stage: kamflow.Development, cmd: assess(scoresWith(walkScores(), kamflow.FactorFunding, 0), "2026-08-31", 70, ""), field: "scores.funding"},
		{name: "score 6", stage: kamflow.Development, cmd: assess(scoresWith(walkScores(), kamflow.FactorPrice, 6), "2026-08-31", 70, ""), field: "scores.price"},
		{name: "score -1", stage: kamflow.Development, cmd: assess(scoresWith(walkScores(), kamflow.FactorService, -1), "2026-08-31", 70, ""), field: "scores.service"},
		{name: "score 100 (a percentage)", stage: kamflow.Development, cmd: assess(scoresWith(walkScores(), kamflow.FactorCredit, 100), "2026-08-31", 70, ""), field: "scores.credit"},
		{name: "unknown factor", stage: kamflow.Development, cmd: assess(scoresWith(walkScores(), "gut_feeling", 5), "2026-08-31", 70, ""), field: "scores.gut_feeling"},
		{name: "no expected close", stage: kamflow.Development, cmd: assess(walkScores(), "", 70, ""), field: "expected_close"},
		{name: "expected close 30 Feb", stage: kamflow.Development, cmd: assess(walkScores(), "2026-02-30", 70, ""), field: "expected_close"},
		{name: "expected close day first", stage: kamflow.Development, cmd: assess(walkScores(), "31/08/2026", 70, ""), field: "expected_close"},
		{name: "expected close unpadded", stage: kamflow.Development, cmd: assess(walkScores(), "2026-8-31", 70, ""), field: "expected_close"},
		{name: "expected close with a time", stage: kamflow.Development, cmd: assess(walkScores(), "2026-08-31T00:00:00Z", 70, ""), field: "expected_close"},
		{name: "expected close padded with blanks", stage: kamflow.Development, cmd: assess(walkScores(), " 2030-08-31 ", 90, ""), field: "expected_close"},
		{name: "likelihood -1", stage: kamflow.Development, cmd: assess(walkScores(), "2026-08-31", -1, ""), field: "likelihood"},
		{name: "likelihood 101", stage: kamflow.Development, cmd: assess(walkScores(), "2026-08-31", 101, ""), field: "likelihood"},
		{name: "grade E", stage: kamflow.Development, cmd: assess(walkScores(), "2026-08-31", 70, "E"), field: "grade"},
		{name: "grade lower-case", stage: kamflow.Development, cmd: assess(walkScores(), "2026-08-31", 70, "a"), field: "grade"},
		{name: "grade A+", stage: kamflow.Development, cmd: assess(walkScores(), "2026-08-31", 70, "A+"), field: "grade"},

		// stakeholder
		{name: "stakeholder without input", stage: kamflow.Entry, cmd: simple(kamflow.CmdStakeholder, kam)},
		{name: "no name", stage: kamflow.Entry, cmd: stakeholder(func(s *kamflow.Stakeholder) { s.Name = "" }), field: "name"},
		{name: "blank name", stage: kamflow.Entry, cmd: stakeholder(func(s *kamflow.Stakeholder) { s.Name = " \t " }), field: "name"},
		{name: "name too long", stage: kamflow.Entry, cmd: stakeholder(func(s *kamflow.Stakeholder) { s.Name = long(201) }), field: "name"},
		{name: "name not UTF-8", stage: kamflow.Entry, cmd: stakeholder(func(s *kamflow.Stakeholder) { s.Name = "Zh\xc3ng" }), field: "name"},
		{name: "title too long", stage: kamflow.Entry, cmd: stakeholder(func(s *kamflow.Stakeholder) { s.Title = long(201) }), field: "title"},
		{name: "notes too long", stage: kamflow.Entry, cmd: stakeholder(func(s *kamflow.Stakeholder) { s.Notes = long(4001) }), field: "notes"},
		{name: "no role", stage: kamflow.Entry, cmd: stakeholder(func(s *kamflow.Stakeholder) { s.Role = "" }), field: "role"},
		{name: "unknown role", stage: kamflow.Entry, cmd: stakeholder(func(s *kamflow.Stakeholder) { s.Role = "boss" }), field: "role"},
		{name: "role in upper case", stage: kamflow.Entry, cmd: stakeholder(func(s *kamflow.Stakeholder) { s.Role = "INSIDER" }), field: "role"},
		{name: "no stance", stage: kamflow.Entry, cmd: stakeholder(func(s *kamflow.Stakeholder) { s.Stance = "" }), field: "stance"},
		{name: "unknown stance", stage: kamflow.Entry, cmd: stakeholder(func(s *kamflow.Stakeholder) { s.Stance = "hostile" }), field: "stance"},
		{name: "influence 6", stage: kamflow.Entry, cmd: stakeholder(func(s *kamflow.Stakeholder) { s.Influence = 6 }), field: "influence"},
		{name: "influence -1", stage: kamflow.Entry, cmd: stakeholder(func(s *kamflow.Stakeholder) { s.Influence = -1 }), field: "influence"},

		// criteria
		{name: "no criteria", stage: kamflow.Proposal, cmd: criteria(), field: "criteria"},
		{name: "201 criteria", stage: kamflow.Proposal, cmd: many(201), field: "criteria"},
		{name: "criterion without name", stage: kamflow.Proposal, cmd: criteria(crit("SIL2", kamflow.FavoursUs), crit(" ", kamflow.FavoursUs)), field: "criterion name"},
		{name: "criterion name too long", stage: kamflow.Proposal, cmd: criteria(crit(long(201), kamflow.FavoursUs)), field: "criterion name"},
		{name: "criterion notes too long", stage: kamflow.Proposal,
			cmd: criteria(kamflow.Criterion{Name: "SIL2", Favours: kamflow.FavoursUs, Notes: long(4001)}), field: "criterion notes"},
		{name: "duplicate criteria names", stage: kamflow.Proposal,
			cmd: criteria(crit("SIL2 certification", kamflow.FavoursUs), crit("  sil2 CERTIFICATION ", kamflow.FavoursCompetitor)), field: "criteria"},
		{name: "criterion favours nobody", stage: kamflow.Proposal, cmd: criteria(crit("SIL2", "")), field: "criteria"},
		{name: "criterion favours them", stage: kamflow.Proposal, cmd: criteria(crit("SIL2", "them")), field: "criteria"},

		// proposal
		{name: "proposal without input", stage: kamflow.Proposal, cmd: simple(kamflow.CmdProposal, kam)},
		{name: "proposal without date", stage: kamflow.Proposal, cmd: proposal(""), field: "submitted_on"},
		{name: "proposal on 31 April", stage: kamflow.Proposal, cmd: proposal("2026-04-31"), field: "submitted_on"},
		{name: "proposal summary too long", stage: kamflow.Proposal,
			cmd: kamflow.Command{Kind: kamflow.CmdProposal, Actor: kam, Proposal: &kamflow.ProposalInput{SubmittedOn: "2026-03-20", Summary: long(4001)}}, field: "summary"},

		// bid
		{name: "bid without input", stage: kamflow.Bid, cmd: simple(kamflow.CmdBid, kam)},
		{name: "price 0", stage: kamflow.Bid, cmd: bidCmd(100, 0, ""), field: "price"},
		{name: "negative price", stage: kamflow.Bid, cmd: bidCmd(100, -1, ""), field: "price"},
		{name: "negative cost", stage: kamflow.Bid, cmd: bidCmd(-1, 100, ""), field: "cost"},
		{name: "cost over the maximum", stage: kamflow.Bid, cmd: bidCmd(kamflow.MaxMoney+1, 100, ""), field: "cost"},
		{name: "price over the maximum", stage: kamflow.Bid, cmd: bidCmd(100, kamflow.MaxMoney+1, ""), field: "price"},
		{name: "bad deadline", stage: kamflow.Bid, cmd: bidCmd(100, 200, "2026-6-1"), field: "deadline"},

		// sign_contract
		{name: "sign without input", stage: kamflow.Negotiation, setup: []kamflow.Command{simple(kamflow.CmdApproveContract, director)},
			cmd: simple(kamflow.CmdSignContract, kam)},
		{name: "sign without date", stage: kamflow.Negotiation, setup: []kamflow.Command{simple(kamflow.CmdApproveContract, director)},
			cmd: sign(""), field: "signed_on"},
		{name: "sign on a bad date", stage: kamflow.Negotiation, setup: []kamflow.Command{simple(kamflow.CmdApproveContract, director)},
			cmd: sign("2026-05-32"), field: "signed_on"},

		// acceptance
		{name: "acceptance without input", stage: kamflow.Delivery, cmd: simple(kamflow.CmdAcceptance, engineer)},
		{name: "acceptance without result", stage: kamflow.Delivery, cmd: acceptance(""), field: "result"},
		{name: "acceptance passed (not a result)", stage: kamflow.Delivery, cmd: acceptance("passed"), field: "result"},
		{name: "acceptance notes too long", stage: kamflow.Delivery,
			cmd: kamflow.Command{Kind: kamflow.CmdAcceptance, Actor: engineer, Acceptance: &kamflow.AcceptanceInput{Result: kamflow.AcceptancePass, Notes: long(4001)}}, field: "notes"},

		// advance
		{name: "force without reason", stage: kamflow.Development, cmd: force(""), field: "reason"},
		{name: "force with a blank reason", stage: kamflow.Entry, cmd: force("   "), field: "reason"},
		{name: "force with a reason too long", stage: kamflow.Bid, cmd: force(long(1001)), field: "reason"},

		// close
		{name: "close without input", stage: kamflow.Bid, cmd: simple(kamflow.CmdClose, kam)},
		{name: "close without reason", stage: kamflow.Bid, cmd: closeAs(kamflow.StatusLost, "", "ABB"), field: "reason"},
		{name: "close with a reason too long", stage: kamflow.Bid, cmd: closeAs(kamflow.StatusLost, long(1001), "ABB"), field: "reason"},
		{name: "close with a competitor name too long", stage: kamflow.Bid, cmd: closeAs(kamflow.StatusLost, "price", long(201)), field: "competitor"},
		{name: "close without outcome", stage: kamflow.Bid, cmd: closeAs("", "price", ""), field: "outcome"},
		{name: "close as won", stage: kamflow.Negotiation, cmd: closeAs(kamflow.StatusWon, "signed", ""), field: "outcome"},
		{name: "close as delivered", stage: kamflow.Bid, cmd: closeAs(kamflow.StatusDelivered, "done", ""), field: "outcome"},
		{name: "close as open", stage: kamflow.Bid, cmd: closeAs(kamflow.StatusOpen, "reopen", ""), field: "outcome"},
		{name: "close as LOST", stage: kamflow.Bid, cmd: closeAs("LOST", "price", ""), field: "outcome"},

		// pause
		{name: "pause without input", stage: kamflow.Entry, cmd: simple(kamflow.CmdPause, kam)},
		{name: "pause without reason", stage: kamflow.Entry, cmd: pause("", "2026-12-01"), field: "reason"},
		{name: "pause reason too long", stage: kamflow.Entry, cmd: pause(long(1001), "2026-12-01"), field: "reason"},
		{name: "pause without resume date", stage: kamflow.Entry, cmd: pause("budget", ""), field: "resume_on"},
		{name: "pause until tomorrow (a word)", stage: kamflow.Entry, cmd: pause("budget", "tomorrow"), field: "resume_on"},
		{name: "pause until a past date", stage: kamflow.Entry, cmd: pause("budget", "2026-01-15"), field: "resume_on"},
		{name: "pause for more than a year", stage: kamflow.Entry, cmd: pause("budget", "2030-01-01"), field: "resume_on"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := dealIn(t, tt.stage)
			w.do(tt.setup...)
			e := w.fail(tt.cmd, kamflow.EINVALID)
			if e.Message == "" {
				t.Errorf("no message")
			}
			if tt.missing != nil {
				checkMissing(t, e, tt.missing)
				return
			}
			checkField(t, e, tt.field)
		})
	}
}

// TestCommandLimits: input right at the limits is accepted.
func TestCommandLimits(t *testing.T) {
	tests := []struct {
		stage kamflow.Stage
		cmd   kamflow.Command
	}{
		{kamflow.Development, assess(walkScores(), "2026-08-31", 0, "")},
		{kamflow.Development, assess(walkScores(), "2026-08-31", 100, kamflow.GradeD)},
		{kamflow.Entry, kamflow.Command{Kind: kamflow.CmdStakeholder, Actor: kamflow.Actor{ID: long(200), Role: kamflow.UserKAM, Teams: kam.Teams}, Stakeholder: &kamflow.Stakeholder{
			Name: long(200), Title: long(200), Notes: long(4000), Role: kamflow.RoleExecutor, Stance: kamflow.StanceOpponent, Influence: 5}}},
		{kamflow.Entry, kamflow.Command{Kind: kamflow.CmdStakeholder, Actor: kam, Stakeholder: &kamflow.Stakeholder{
			Name: "Zhou", Role: kamflow.RolePurchaser, Stance: kamflow.StanceNeutral}}}, // influence unset
		{kamflow.Proposal, criteria(kamflow.Criterion{Name: long(200), Favours: kamflow.FavoursNeutral, Notes: long(4000)})},
		{kamflow.Bid, bid(1, kamflow.MaxMoney, false)},
		{kamflow.Bid, bid(kamflow.MaxMoney, 1, false)},
		{kamflow.Bid, kamflow.Command{Kind: kamflow.CmdBid, Actor: kam, Bid: &kamflow.BidInput{Cost: 1, Price: 2}}}, // no deadline
		{kamflow.Delivery, kamflow.Command{Kind: kamflow.CmdAcceptance, Actor: engineer, Acceptance: &kamflow.AcceptanceInput{Result: kamflow.AcceptanceFail, Notes: long(4000)}}},
		{kamflow.Bid, closeAs(kamflow.StatusLost, long(1000), long(200))},
		{kamflow.Entry, pause(long(1000), "2026-12-31")},
	}
	for _, tt := range tests {
		t.Run(string(tt.cmd.Kind), func(t *testing.T) {
			w := dealIn(t, tt.stage)
			w.do(tt.cmd)
		})
	}
	t.Run("200 criteria", func(t *testing.T) {
		w := dealIn(t, kamflow.Proposal)
		cs := make([]kamflow.Criterion, 200)
		for i := range cs {
			cs[i] = kamflow.Criterion{Name: "criterion " + string(rune(0x4e00+i)), Favours: kamflow.FavoursUs}
		}
		w.do(criteria(cs...))
		if len(w.d.Criteria) != 200 {
			t.Errorf("criteria %d", len(w.d.Criteria))
		}
	})
	t.Run("stakeholder names are trimmed and matched case-insensitively", func(t *testing.T) {
		w := dealIn(t, kamflow.Entry)
		w.do(person("  Zhang Wei ", kamflow.RoleInfluencer, kamflow.StanceNeutral, false),
			person("zhang wei", kamflow.RoleDecisionMaker, kamflow.StanceSupporter, true))
		if len(w.d.Stakeholders) != 1 || w.d.Stakeholders[0].Name != "zhang wei" || w.d.Stakeholders[0].Role != kamflow.RoleDecisionMaker {
			t.Errorf("stakeholders %+v", w.d.Stakeholders)
		}
	})
	t.Run("criteria names are trimmed", func(t *testing.T) {
		w := dealIn(t, kamflow.Proposal)
		w.do(criteria(kamflow.Criterion{Name: "  SIL2  ", Favours: kamflow.FavoursUs}))
		if w.d.Criteria[0].Name != "SIL2" {
			t.Errorf("criterion %q", w.d.Criteria[0].Name)
		}
	})
}
