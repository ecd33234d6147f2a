package workflows_test

import (
	"slices"
	"testing"

	"github.com/kamflow/kamflow"
)

// TestApprovalProcess runs a bid below the margin floor through the deal's workflow: the KAM asks
// with a note and the team's directors are told in the app (dir-a and dir-b lead team east); a
// send-back without a comment is rejected by the validator, leaving no trace; one with a comment
// tells the KAM; the KAM asks again; a director approves, which meets the bid's key node.
func TestApprovalProcess(t *testing.T) {
	h := newLadderHarness(t, kamflow.DefaultSettings(), nil, nil)
	request := func(note string) kamflow.Command {
		return kamflow.Command{Kind: kamflow.CmdRequestApproval, Actor: kam,
			Approval: &kamflow.ApprovalRequestInput{Subject: kamflow.ApprovalMargin, Note: note}}
	}
	answer := func(id int, decision, comment string) kamflow.Command {
		return kamflow.Command{Kind: kamflow.CmdAnswerApproval, Actor: director,
			Answer: &kamflow.ApprovalAnswerInput{ID: id, Decision: decision, Comment: comment}}
	}
	h.ok(assess(4))
	h.ok(advance())
	h.ok(stakeholder("Wang Gong", kamflow.RoleInsider, true))
	h.ok(stakeholder("Director Li", kamflow.RoleDecisionMaker, true))
	h.ok(advance())
	h.ok(kamflow.Command{Kind: kamflow.CmdCriteria, Actor: kam, Criteria: []kamflow.Criterion{{Name: "API 610 compliance", Favours: kamflow.FavoursUs}}})
	h.ok(kamflow.Command{Kind: kamflow.CmdProposal, Actor: kam, Proposal: &kamflow.ProposalInput{SubmittedOn: "2026-12-01"}})
	h.ok(advance())
	// A 10% margin, below the 15% floor.
	h.ok(kamflow.Command{Kind: kamflow.CmdBid, Actor: kam, Bid: &kamflow.BidInput{Cost: 90000000, Price: 100000000, Submitted: true}})
	h.ok(request("reference site for the group"))
	var seq int64
	h.then(func() { seq = h.query().Seq })
	h.send(answer(1, kamflow.DecisionSendBack, ""), func(_ kamflow.Deal, err error) {
		if codeOf(err) != kamflow.EINVALID {
			t.Errorf("send-back without a comment: %v", err)
		}
	})
	h.then(func() {
		if d := h.query(); d.Seq != seq || d.Approvals[0].Status != kamflow.ApprovalPending {
			t.Errorf("the rejected send-back changed the deal: seq %d (was %d), %+v", d.Seq, seq, d.Approvals)
		}
	})
	h.ok(answer(1, kamflow.DecisionSendBack, "split out the spare parts"))
	h.send(answer(1, kamflow.DecisionApprove, ""), func(_ kamflow.Deal, err error) {
		if codeOf(err) != kamflow.ECONFLICT {
			t.Errorf("a second answer: %v", err)
		}
	})
	h.send(advance(), func(_ kamflow.Deal, err error) {
		if codeOf(err) != kamflow.EGATENOTMET {
			t.Errorf("advance after a send-back: %v", err)
		}
	})
	h.ok(request("spare parts quoted apart"))
	h.send(answer(2, kamflow.DecisionApprove, ""), func(d kamflow.Deal, err error) {
		if err != nil {
			t.Fatalf("approve: %v", err)
		}
		if d.Bid.MarginApprovedBy != director.ID || !d.Gate().Met || len(d.Approvals) != 2 || d.Approvals[1].Status != kamflow.ApprovalApproved {
			t.Errorf("approved deal: bid %+v, approvals %+v", d.Bid, d.Approvals)
		}
	})
	h.ok(advance())
	h.ok(closeLost())
	h.run()
	h.finish()

	var requested, answered []string
	for _, n := range h.rec.notes {
		switch n.Kind {
		case kamflow.NoticeApprovalRequested:
			requested = append(requested, n.UserID+":"+n.Params["approval"]+":"+n.Params["note"])
		case kamflow.NoticeApprovalAnswered:
			answered = append(answered, n.UserID+":"+n.Params["approval"]+":"+n.Params["decision"]+":"+n.Params["comment"])
		}
	}
	if want := []string{"dir-a:1:reference site for the group", "dir-b:1:reference site for the group",
		"dir-a:2:spare parts quoted apart", "dir-b:2:spare parts quoted apart"}; !slices.Equal(requested, want) {
		t.Errorf("approval_requested = %v, want %v", requested, want)
	}
	if want := []string{"kam1:1:sent_back:split out the spare parts", "kam1:2:approved:"}; !slices.Equal(answered, want) {
		t.Errorf("approval_answered = %v, want %v", answered, want)
	}
	// The timeline has each request and answer, in order.
	var actions []string
	for _, p := range h.rec.projections {
		if p.Audit != nil && slices.Contains([]string{"deal.request_approval", "deal.answer_approval"}, p.Audit.Action) {
			actions = append(actions, p.Audit.Action)
		}
	}
	if want := []string{"deal.request_approval", "deal.answer_approval", "deal.request_approval", "deal.answer_approval"}; !slices.Equal(actions, want) {
		t.Errorf("timeline = %v, want %v", actions, want)
	}
}
