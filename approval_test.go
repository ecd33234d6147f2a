package kamflow_test

import (
	"testing"
	"time"

	"github.com/kamflow/kamflow"
)

func requestApproval(subject, note string) kamflow.Command {
	return kamflow.Command{Kind: kamflow.CmdRequestApproval, Actor: kam,
		Approval: &kamflow.ApprovalRequestInput{Subject: subject, Note: note}}
}

func answer(id int, decision, comment string) kamflow.Command {
	return kamflow.Command{Kind: kamflow.CmdAnswerApproval, Actor: director,
		Answer: &kamflow.ApprovalAnswerInput{ID: id, Decision: decision, Comment: comment}}
}

// lowBid is a bid at a 10% margin, below the default floor of 15%.
func lowBid() kamflow.Command { return bid(684000000, 760000000, true) }

// A low-margin bid goes to a director and back: sent back with a comment, asked again, approved;
// each request answered once, the gate met only by the approval.
func TestApprovalRequestSendBackResubmitApprove(t *testing.T) {
	w := dealIn(t, kamflow.Bid)
	w.do(lowBid())
	if w.d.Gate().Met {
		t.Fatal("a bid below the floor meets the gate without an approval")
	}
	w.fail(answer(1, kamflow.DecisionApprove, ""), kamflow.ENOTFOUND)

	fx := w.do(requestApproval(kamflow.ApprovalMargin, "  strategic reference site for the region  "))
	if !fx.Progress {
		t.Error("asking for the approval is stage work, but was not progress")
	}
	a := w.d.Approvals[0]
	if a.ID != 1 || a.Status != kamflow.ApprovalPending || a.RequestedBy != kam.ID || a.Note != "strategic reference site for the region" ||
		a.MarginPct != 10 || a.Floor != 15 || a.Price != 760000000 || a.Cost != 684000000 || a.Stage != kamflow.Bid {
		t.Fatalf("request = %+v", a)
	}
	// One request waits at a time.
	e := w.fail(requestApproval(kamflow.ApprovalMargin, "again"), kamflow.ECONFLICT)
	if e.Details["approval"] != 1 {
		t.Errorf("details = %v, want the waiting request", e.Details)
	}
	// Only a director answers, and a send-back needs a comment.
	kamAnswer := answer(1, kamflow.DecisionApprove, "")
	kamAnswer.Actor = kam
	w.fail(kamAnswer, kamflow.EFORBIDDEN)
	checkField(t, w.fail(answer(1, kamflow.DecisionSendBack, "   "), kamflow.EINVALID), "comment")
	checkField(t, w.fail(answer(1, "maybe", ""), kamflow.EINVALID), "decision")

	fx = w.do(answer(1, kamflow.DecisionSendBack, "Price the service contract separately"))
	if fx.Progress {
		t.Error("a send-back is not progress")
	}
	if a := w.d.Approvals[0]; a.Status != kamflow.ApprovalSentBack || a.AnsweredBy != director.ID || a.Comment != "Price the service contract separately" || a.AnsweredAt == nil {
		t.Fatalf("sent back = %+v", a)
	}
	if len(fx.Answered) != 1 || fx.Answered[0].ID != 1 {
		t.Errorf("answered = %+v", fx.Answered)
	}
	if w.d.Bid.MarginApprovedBy != "" || w.d.Gate().Met {
		t.Fatal("a send-back approved the margin")
	}
	// Answered once.
	e = w.fail(answer(1, kamflow.DecisionApprove, ""), kamflow.ECONFLICT)
	if e.Details["approval_status"] != string(kamflow.ApprovalSentBack) {
		t.Errorf("details = %v", e.Details)
	}

	// The resubmission is a new request.
	w.do(requestApproval(kamflow.ApprovalMargin, "service priced separately"))
	if len(w.d.Approvals) != 2 || w.d.Approvals[1].ID != 2 || w.d.Approvals[1].Status != kamflow.ApprovalPending {
		t.Fatalf("approvals = %+v", w.d.Approvals)
	}
	fx = w.do(answer(2, kamflow.DecisionApprove, "ok for this reference"))
	if !fx.Progress {
		t.Error("an approval is progress")
	}
	if w.d.Bid.MarginApprovedBy != director.ID || w.d.Bid.MarginApprovedAt == nil || !w.d.Gate().Met {
		t.Fatalf("approved: bid %+v, gate %+v", w.d.Bid, w.d.Gate())
	}
	if a := w.d.Approvals[1]; a.Status != kamflow.ApprovalApproved || a.Comment != "ok for this reference" {
		t.Fatalf("approved = %+v", a)
	}
	if w.d.Approvals[0].Status != kamflow.ApprovalSentBack {
		t.Errorf("the first request changed: %+v", w.d.Approvals[0])
	}
	// Nothing left to ask for.
	e = w.fail(requestApproval(kamflow.ApprovalMargin, ""), kamflow.EWRONGSTAGE)
	if e.Details["reason"] != "approved" {
		t.Errorf("details = %v", e.Details)
	}
}

func TestApprovalRequestRules(t *testing.T) {
	w := dealIn(t, kamflow.Bid)
	w.fail(requestApproval(kamflow.ApprovalMargin, ""), kamflow.EWRONGSTAGE) // no bid
	w.do(bid(600000000, 760000000, true))                                    // 21% margin
	e := w.fail(requestApproval(kamflow.ApprovalMargin, ""), kamflow.EWRONGSTAGE)
	if e.Details["reason"] != "above_floor" {
		t.Errorf("details = %v", e.Details)
	}
	w.fail(requestApproval(kamflow.ApprovalContract, ""), kamflow.EWRONGSTAGE) // contracts in negotiation
	checkField(t, w.fail(requestApproval("discount", ""), kamflow.EINVALID), "subject")
	checkField(t, w.fail(kamflow.Command{Kind: kamflow.CmdRequestApproval, Actor: kam}, kamflow.EINVALID), "subject")
	w.do(lowBid())
	checkField(t, w.fail(requestApproval(kamflow.ApprovalMargin, long(1001)), kamflow.EINVALID), "note")
	// A director approves at once; the KAM asks.
	byDirector := requestApproval(kamflow.ApprovalMargin, "")
	byDirector.Actor = director
	w.fail(byDirector, kamflow.EFORBIDDEN)
	byEngineer := requestApproval(kamflow.ApprovalMargin, "")
	byEngineer.Actor = engineer
	w.fail(byEngineer, kamflow.EFORBIDDEN)
	// A director of another team does not answer.
	w.do(requestApproval(kamflow.ApprovalMargin, ""))
	other := answer(1, kamflow.DecisionApprove, "")
	other.Actor = kamflow.Actor{ID: "dir.chen", Role: kamflow.UserDirector, Teams: []string{"team-west"}}
	w.fail(other, kamflow.ENOTFOUND)
	admin := answer(1, kamflow.DecisionApprove, "")
	admin.Actor = kamflow.Actor{ID: "root", Role: kamflow.UserAdmin}
	w.fail(admin, kamflow.ENOTFOUND)
}

// A request stops waiting when what it asked for changes: a revised bid, a move on, a close. The
// older approve_margin answers it.
func TestApprovalWithdrawnOrAnsweredByOlderCommands(t *testing.T) {
	w := dealIn(t, kamflow.Bid)
	w.do(lowBid(), requestApproval(kamflow.ApprovalMargin, "first figures"))
	// The same figures again (say, the deadline moved) keep it waiting.
	w.do(lowBid())
	if w.d.Approvals[0].Status != kamflow.ApprovalPending {
		t.Fatalf("the same figures withdrew the request: %+v", w.d.Approvals[0])
	}
	w.do(bid(680000000, 760000000, true))
	if a := w.d.Approvals[0]; a.Status != kamflow.ApprovalWithdrawn || a.AnsweredBy != "" {
		t.Fatalf("new figures: %+v", a)
	}
	w.fail(answer(1, kamflow.DecisionApprove, ""), kamflow.ECONFLICT)

	// approve_margin, as before, approves; the waiting request is answered by it.
	w.do(requestApproval(kamflow.ApprovalMargin, "second figures"))
	fx := w.do(simple(kamflow.CmdApproveMargin, director))
	if a := w.d.Approvals[1]; a.Status != kamflow.ApprovalApproved || a.AnsweredBy != director.ID {
		t.Fatalf("approve_margin left the request %+v", a)
	}
	if len(fx.Answered) != 1 || fx.Answered[0].ID != 2 {
		t.Errorf("answered = %+v", fx.Answered)
	}

	// A contract request is withdrawn when the deal closes.
	w.do(advance())
	w.do(kamflow.Command{Kind: kamflow.CmdRequestApproval, Actor: kam, Approval: &kamflow.ApprovalRequestInput{Subject: kamflow.ApprovalContract}})
	if a := w.d.Approvals[2]; a.Subject != kamflow.ApprovalContract || a.Stage != kamflow.Negotiation || a.MarginPct != 0 {
		t.Fatalf("contract request = %+v", a)
	}
	w.do(closeAs(kamflow.StatusLost, "price", "Yokogawa"))
	if a := w.d.Approvals[2]; a.Status != kamflow.ApprovalWithdrawn {
		t.Fatalf("closed: %+v", a)
	}
}

// A deal recorded before approvals were a process (no requests) behaves as it did: the older
// commands approve, and the deal's record gains nothing.
func TestApprovalOlderCommandsUnchanged(t *testing.T) {
	w := dealIn(t, kamflow.Negotiation)
	w.do(simple(kamflow.CmdApproveContract, director))
	if w.d.Contract.ApprovedBy != director.ID || w.d.Approvals != nil {
		t.Fatalf("contract %+v, approvals %+v", w.d.Contract, w.d.Approvals)
	}
	if b := w.d.Bid; b.MarginApprovedBy != director.ID {
		t.Fatalf("bid %+v", b)
	}
}

// The machine tells the team's directors of a request (in the app only), and the KAM who asked
// and the owner of the answer, with the kinds' parameters; the timeline has both.
func TestApprovalNotices(t *testing.T) {
	w := dealIn(t, kamflow.Bid)
	w.do(lowBid())
	st := &kamflow.DealState{Deal: *w.d, Settings: w.s}
	now := w.now.Add(time.Hour)
	fx, err := st.Handle(kamflow.DealEvent{Kind: kamflow.EvCommand, Command: cmdRef(requestApproval(kamflow.ApprovalMargin, "reference site"))}, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(fx) != 2 || fx[0].Kind != kamflow.FxProject || fx[1].Kind != kamflow.FxTellDirectors || fx[1].Notice != nil {
		t.Fatalf("effects = %+v", fx)
	}
	a := fx[0].Projection.Audit
	if a.Action != "deal.request_approval" || a.Summary != "approval of the bid's margin of 10.00% below the 15.00% floor requested: reference site" {
		t.Errorf("audit = %+v", a)
	}
	if got, ok := a.After.(kamflow.Approval); !ok || got.ID != 1 || got.Status != kamflow.ApprovalPending {
		t.Errorf("audit after = %#v", a.After)
	}
	n := fx[1].Directors
	want := map[string]string{"approval": "1", "title": "Cold-rolling line DCS retrofit", "subject": "margin", "requested_by": kam.ID, "by": kam.ID,
		"note": "reference site", "margin_pct": "10.00", "floor": "15.00", "price": "7600000.00", "cost": "6840000.00"}
	if n.Kind != kamflow.NoticeApprovalRequested || n.TeamID != "team-east" || n.Key != "approval:deal-001:1:requested" || !sameMap(n.Params, want) {
		t.Errorf("directors' notice = %+v\nwant params %v", n, want)
	}
	if n.Message != "kam.li asks you to approve the bid on Cold-rolling line DCS retrofit (price 7600000.00 CNY): its margin of 10.00% is below the 15.00% floor. Note: reference site" {
		t.Errorf("message = %q", n.Message)
	}

	// The deal was reassigned meanwhile: the owner hears of the answer too.
	st.Deal.Owner = "kam.sun"
	fx, err = st.Handle(kamflow.DealEvent{Kind: kamflow.EvCommand, Command: cmdRef(answer(1, kamflow.DecisionSendBack, "too low"))}, now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(fx) != 2 || fx[1].Kind != kamflow.FxNotify || len(fx[1].Notifications) != 2 {
		t.Fatalf("effects = %+v", fx)
	}
	if s := fx[0].Projection.Audit.Summary; s != "approval of the bid's margin of 10.00% below the 15.00% floor sent back: too low" {
		t.Errorf("summary = %q", s)
	}
	for i, to := range []string{kam.ID, "kam.sun"} {
		got := fx[1].Notifications[i]
		want := map[string]string{"approval": "1", "title": "Cold-rolling line DCS retrofit", "subject": "margin", "decision": "sent_back",
			"answered_by": director.ID, "by": director.ID, "comment": "too low"}
		if got.UserID != to || got.Kind != kamflow.NoticeApprovalAnswered || got.DealID != "deal-001" ||
			got.Key != "approval:deal-001:1:answered:"+to || !sameMap(got.Params, want) {
			t.Errorf("notification %d = %+v", i, got)
		}
		if got.Message != "dir.wang sent back your request to approve the bid's margin of 10.00% below the 15.00% floor on Cold-rolling line DCS retrofit: too low" {
			t.Errorf("message = %q", got.Message)
		}
	}
}

func cmdRef(c kamflow.Command) *kamflow.Command { return &c }

func sameMap(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if bv, ok := b[k]; !ok || bv != v {
			return false
		}
	}
	return true
}
