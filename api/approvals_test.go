package api_test

import (
	"testing"

	"github.com/kamflow/kamflow/db"
	"github.com/kamflow/kamflow/db/dbtest"
)

// TestApprovalScenarios walks a bid below the margin floor through the approval process on the
// seeded org: kam2 asks with a note (team east: d1 leads it), d1 sees it first among the approvals
// waiting, refuses to send it back without a comment, sends it back with one, kam2 asks again and
// d1 approves; the deal's approvals, timeline, notices and the directors' history say so.
func TestApprovalScenarios(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		seed(t, e)
		for _, sc := range approvalScenarios() {
			t.Run(sc.name, func(t *testing.T) { e.run(t, sc) })
		}
	})
}

// notified checks that user's notifications hold one of kind whose message is msg.
func notified(kind, msg string) func(t *testing.T, e *testEnv, r *response) {
	return func(t *testing.T, _ *testEnv, r *response) {
		items, _ := lookup(r.json, "items")
		list, _ := items.([]any)
		for _, it := range list {
			n, _ := it.(map[string]any)
			if n["kind"] == kind && n["message"] == msg {
				return
			}
		}
		t.Errorf("no %s notification %q in %s", kind, msg, r.body)
	}
}

func approvalScenarios() []scenario {
	ask := func(name, as, body string, status int, code string, want map[string]any) scenario {
		return scenario{name: name, method: "POST", path: "/api/v1/deals/{bid}/approvals", as: as, body: body,
			status: status, code: code, want: want}
	}
	answer := func(name, as, id, body string, status int, code string, want map[string]any) scenario {
		return scenario{name: name, method: "POST", path: "/api/v1/deals/{bid}/approvals/" + id + "/answer", as: as, body: body,
			status: status, code: code, want: want}
	}
	const title = "Tank farm radar gauging"
	return []scenario{
		ask("ask before a bid", "kam2", `{"subject":"margin"}`, 422, "wrong_stage", map[string]any{"error.details.reason": "no_bid"}),
		{name: "low bid", method: "PUT", path: "/api/v1/deals/{bid}/bid", as: "kam2", body: lowBid, status: 200,
			want: map[string]any{"bid.margin_pct": 8.7, "approvals": absent}},
		{name: "the KAM may ask", method: "GET", path: "/api/v1/deals/{bid}", as: "kam2", status: 200,
			want: map[string]any{"approval_actions.request": []string{"margin"}, "approval_actions.answer": length(0)}},
		{name: "the director may not ask", method: "GET", path: "/api/v1/deals/{bid}", as: "d1", status: 200,
			want: map[string]any{"approval_actions.request": length(0), "approval_actions.answer": length(0)}},
		ask("ask for no subject", "kam2", `{"note":"x"}`, 400, "invalid", map[string]any{"error.details.field": "subject"}),
		ask("ask for a contract in bid", "kam2", `{"subject":"contract"}`, 422, "wrong_stage", map[string]any{"error.details.stage": "bid"}),
		ask("a director does not ask", "d1", `{"subject":"margin"}`, 403, "forbidden", nil),
		ask("ask with a note", "kam2", `{"subject":"margin","note":"Reference site for the group"}`, 200, "", map[string]any{
			"approvals": length(1), "approvals.0.id": 1, "approvals.0.subject": "margin", "approvals.0.status": "pending",
			"approvals.0.note": "Reference site for the group", "approvals.0.requested_by": "kam2", "approvals.0.margin_pct": 8.7,
			"approvals.0.floor": 15, "approvals.0.price": "11500000.00", "approvals.0.cost": "10500000.00", "approvals.0.stage": "bid",
			"gate.items.1.met": false}),
		{name: "the director may answer", method: "GET", path: "/api/v1/deals/{bid}", as: "d1", status: 200,
			want: map[string]any{"approval_actions.answer": []int{1}}},
		{name: "the KAM may not ask twice", method: "GET", path: "/api/v1/deals/{bid}", as: "kam2", status: 200,
			want: map[string]any{"approval_actions.request": length(0), "approval_actions.answer": length(0)}},
		ask("ask twice", "kam2", `{"subject":"margin"}`, 409, "conflict", map[string]any{"error.details.approval": 1}),
		{name: "directors told", method: "GET", path: "/api/v1/notifications", as: "d1", status: 200,
			check: notified("approval_requested", "kam2 asks you to approve the bid on "+title+
				" (price 11500000.00 CNY): its margin of 8.70% is below the 15.00% floor. Note: Reference site for the group")},
		// The request comes first; the contract of {neg} waits with nobody asking.
		{name: "waiting: the request first", method: "GET", path: "/api/v1/reports/approvals", as: "d1", status: 200,
			want: map[string]any{"items.0.id": "{bid}", "items.0.approval": "margin", "items.0.request.id": 1,
				"items.0.request.note": "Reference site for the group", "items.1.id": "{neg}", "items.1.request": absent}},
		answer("send back without a comment", "d1", "1", `{"decision":"send_back","comment":"  "}`, 400, "invalid",
			map[string]any{"error.details.field": "comment"}),
		answer("an unknown decision", "d1", "1", `{"decision":"later"}`, 400, "invalid", map[string]any{"error.details.field": "decision"}),
		answer("a KAM does not answer", "kam2", "1", `{"decision":"approve"}`, 403, "forbidden", nil),
		answer("another team's director", "d2", "1", `{"decision":"approve"}`, 404, "not_found", nil),
		answer("no such request", "d1", "7", `{"decision":"approve"}`, 404, "not_found", nil),
		answer("not a request number", "d1", "first", `{"decision":"approve"}`, 404, "not_found", nil),
		answer("send back", "d1", "1", `{"decision":"send_back","comment":"Quote the spare parts separately"}`, 200, "", map[string]any{
			"approvals.0.status": "sent_back", "approvals.0.answered_by": "d1", "approvals.0.comment": "Quote the spare parts separately",
			"approvals.0.answered_at": "2026-04-11T09:00:00Z", "bid.margin_approved_by": absent, "gate.items.1.met": false}),
		answer("answer twice", "d1", "1", `{"decision":"approve"}`, 409, "conflict", map[string]any{"error.details.approval_status": "sent_back"}),
		{name: "KAM told", method: "GET", path: "/api/v1/notifications", as: "kam2", status: 200,
			check: notified("approval_answered", "d1 sent back your request to approve the bid's margin of 8.70% below the 15.00% floor on "+
				title+": Quote the spare parts separately")},
		ask("ask again", "kam2", `{"subject":"margin","note":"Spare parts quoted apart"}`, 200, "", map[string]any{
			"approvals": length(2), "approvals.1.id": 2, "approvals.1.status": "pending", "approvals.0.status": "sent_back"}),
		answer("approve", "d1", "2", `{"decision":"approve"}`, 200, "", map[string]any{
			"approvals.1.status": "approved", "approvals.1.answered_by": "d1", "bid.margin_approved_by": "d1", "gate.met": true}),
		{name: "approval timeline", method: "GET", path: "/api/v1/deals/{bid}/timeline", as: "kam2", status: 200, want: map[string]any{
			"items.0.action": "deal.answer_approval", "items.0.summary": "approval of the bid's margin of 8.70% below the 15.00% floor approved",
			"items.0.after.status": "approved", "items.1.action": "deal.request_approval",
			"items.1.summary": "approval of the bid's margin of 8.70% below the 15.00% floor requested: Spare parts quoted apart",
			"items.2.action":  "deal.answer_approval", "items.2.after.status": "sent_back", "items.3.action": "deal.request_approval"}},
		{name: "approval history", method: "GET", path: "/api/v1/reports/approvals/history", as: "d1", status: 200, want: map[string]any{
			"total": 4, "items": length(4), "items.0.event": "answered", "items.0.actor": "d1", "items.0.deal_id": "{bid}",
			"items.0.title": title, "items.0.owner": "kam2", "items.0.approval.id": 2, "items.0.approval.status": "approved",
			"items.1.event": "requested", "items.1.actor": "kam2", "items.1.approval.note": "Spare parts quoted apart",
			"items.2.approval.comment": "Quote the spare parts separately", "items.3.approval.status": "pending"}},
		{name: "another team's history", method: "GET", path: "/api/v1/reports/approvals/history", as: "d2", status: 200,
			want: map[string]any{"total": 0, "items": length(0)}},
		{name: "a KAM reads no history", method: "GET", path: "/api/v1/reports/approvals/history", as: "kam2", status: 403, code: "forbidden"},
		{name: "nothing waits on the bid", method: "GET", path: "/api/v1/reports/approvals", as: "d1", status: 200,
			want: map[string]any{"items": length(1), "items.0.id": "{neg}"}},
		ask("nothing left to ask", "kam2", `{"subject":"margin"}`, 422, "wrong_stage", map[string]any{"error.details.reason": "approved"}),

		// A contract: asked for by kam1 on {neg}, approved by d1, which lets it be signed.
		{name: "ask for the contract", method: "POST", path: "/api/v1/deals/{neg}/approvals", body: `{"subject":"contract","note":"Standard terms, 30% advance"}`,
			status: 200, want: map[string]any{"approvals.0.subject": "contract", "approvals.0.stage": "negotiation", "approvals.0.margin_pct": absent,
				"approvals.0.status": "pending"}},
		{name: "the contract's request first", method: "GET", path: "/api/v1/reports/approvals", as: "d1", status: 200,
			want: map[string]any{"items": length(1), "items.0.id": "{neg}", "items.0.approval": "contract", "items.0.request.note": "Standard terms, 30% advance"}},
		{name: "approve the contract", method: "POST", path: "/api/v1/deals/{neg}/approvals/1/answer", as: "d1", body: `{"decision":"approve","comment":"ok"}`,
			status: 200, want: map[string]any{"approvals.0.status": "approved", "approvals.0.comment": "ok", "contract.approved_by": "d1",
				"gate.items.0.met": true, "approval_actions.answer": length(0)}},
		{name: "nothing waits any more", method: "GET", path: "/api/v1/reports/approvals", as: "d1", status: 200,
			want: map[string]any{"items": length(0)}},
	}
}
