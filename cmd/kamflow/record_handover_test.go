package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/workflows"
)

// recordHandover records HandoverWorkflow's runs. First the director hands an account of kam1's,
// with three open deals and one lost, to kam2 through the API: the workflow records it, reassigns
// the three open deals, each through its deal's workflow, and ends done. Then a handover of
// another such account is started through the Temporal client with DealsPerRun 2 (a knob the API
// does not set), so that it continues as new once: both runs are recorded. Each account is one of
// its own, so that the other scenarios' deals stay kam1's.
func recordHandover(t *testing.T, r *recorder) {
	kam, director := r.as(t, "kam1"), r.as(t, "director")

	account, open := r.handoverAccount(t, kam, "宝山钢铁 Baoshan Iron & Steel")
	director.do("POST", "/api/v1/accounts/"+account+"/handover", map[string]any{"owner": "kam2", "reason": "kam1 moves to the export team"}, 202)
	r.awaitHandover(t, director, account, open)
	r.record(t, "handover", workflows.HandoverWorkflowID(account), true)

	account, open = r.handoverAccount(t, kam, "马鞍山钢铁 Ma'anshan Iron & Steel")
	u, err := r.app.db.UserByUsername(t.Context(), "director")
	if err != nil {
		t.Fatal(err)
	}
	h := kamflow.Handover{ID: uuid.Must(uuid.NewV7()).String(), AccountID: account, From: "kam1", To: "kam2",
		Reason: "kam1 moves to the export team", By: u.Username, At: time.Now().UTC()}
	_, err = r.app.client.ExecuteWorkflow(t.Context(), client.StartWorkflowOptions{ID: workflows.HandoverWorkflowID(account), TaskQueue: workflows.TaskQueue},
		workflows.HandoverWorkflowName, workflows.HandoverRun{Handover: h, By: u.Actor(), DealsPerRun: 2, Concurrency: 2})
	if err != nil {
		t.Fatalf("starting the handover with DealsPerRun 2: %v", err)
	}
	r.awaitHandover(t, director, account, open)
	if n := r.record(t, "handover-continue-as-new", workflows.HandoverWorkflowID(account), true); n != 2 {
		t.Errorf("the handover of 3 deals, 2 a run, ran %d runs, want 2", n)
	}
}

// handoverAccount opens an account as the KAM with four deals, the last closed as lost (not one a
// handover reassigns), and returns it with the three open deals.
func (r *recorder) handoverAccount(t *testing.T, kam apiClient, name string) (string, []string) {
	t.Helper()
	account := kam.do("POST", "/api/v1/accounts", map[string]any{"name": name, "industry": "steel"}, 201)["id"].(string)
	var open []string
	for i, title := range []string{"Cold rolling line drives", "Blast furnace blowers", "Coke oven pumps", "Sinter plant fans"} {
		d := kam.do("POST", "/api/v1/deals", map[string]any{"account_id": account, "title": title, "value": "8000000.00", "currency": "CNY",
			"expected_close": "2027-06-30"}, 201)
		id := d["id"].(string)
		if i == 3 {
			kam.do("POST", "/api/v1/deals/"+id+"/close", map[string]any{"outcome": "lost", "reason": "lost on price", "competitor": "Acme Fans"}, 200)
			continue
		}
		open = append(open, id)
	}
	return account, open
}

// awaitHandover polls the account's handover until it has ended, and checks that it is done with
// every open deal kam2's.
func (r *recorder) awaitHandover(t *testing.T, director apiClient, account string, open []string) {
	t.Helper()
	var last map[string]any
	awaitState(t, "the handover of "+account+" ended", func() (bool, string) {
		// 404 until the workflow has recorded it (started through the client, nothing waited).
		req, _ := http.NewRequest("GET", director.base+"/api/v1/accounts/"+account+"/handover", nil)
		req.Header.Set("Authorization", "Bearer "+director.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false, err.Error()
		}
		defer resp.Body.Close()
		last = nil
		if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&last) != nil {
			return false, resp.Status
		}
		return last["status"] == "done" || last["status"] == "done_with_refusals", fmt.Sprint(last["status"], " ", last["done"], " of ", last["total"])
	})
	if last["status"] != "done" || last["total"] != float64(len(open)) || last["done"] != float64(len(open)) {
		t.Fatalf("the handover: %v", last)
	}
	for _, id := range open {
		if d := director.do("GET", "/api/v1/deals/"+id, nil, 200); d["owner"] != "kam2" {
			t.Fatalf("deal %s after the handover is %v's", id, d["owner"])
		}
	}
}
