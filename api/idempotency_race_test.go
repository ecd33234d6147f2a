package api_test

import (
	"bytes"
	"sync"
	"testing"

	"github.com/kamflow/kamflow/db"
	"github.com/kamflow/kamflow/db/dbtest"
)

// TestIdempotencyRace sends the same request with the same Idempotency-Key many times at once, as
// a client retrying on a timeout does: the change is made once and every answer is the same.
func TestIdempotencyRace(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.clock.Set(T1)
		e.vars["acct"] = e.must(201, "POST", "/api/v1/accounts", "kam1", `{"name":"Race Steel"}`)["id"].(string)
		deal := e.must(201, "POST", "/api/v1/deals", "kam1", `{"account_id":"{acct}","title":"Race","currency":"CNY"}`)["id"].(string)

		const n = 8
		race := func(r request) []*response {
			out := make([]*response, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					out[i] = e.serve(r)
				}()
			}
			wg.Wait()
			return out
		}
		key := func(k string) map[string]string {
			return map[string]string{"Idempotency-Key": k}
		}

		res := race(request{method: "POST", path: "/api/v1/deals/" + deal + "/stakeholders", as: "kam1", headers: key("race-1"), body: insider})
		for i, r := range res {
			if r.status != 200 || !bytes.Equal(r.body, res[0].body) {
				t.Errorf("answer %d: %d %s, want 200 and the same as the first: %s", i, r.status, r.body, res[0].body)
			}
		}
		if got := e.svc.Applied(deal); got != 1 {
			t.Errorf("the command was applied %d times, want once", got)
		}
		if after := e.must(200, "GET", "/api/v1/deals/"+deal, "kam1", ""); after["seq"] != float64(2) || len(after["stakeholders"].([]any)) != 1 {
			t.Errorf("after the race: seq %v, stakeholders %v", after["seq"], after["stakeholders"])
		}

		body := `{"account_id":"{acct}","title":"Raced deal","currency":"CNY","owner":"kam2"}`
		res = race(request{method: "POST", path: "/api/v1/deals", as: "kam1", headers: key("race-2"), body: e.expand(body)})
		ids := map[any]bool{}
		for i, r := range res {
			id, _ := lookup(r.json, "id")
			ids[id] = true
			if r.status != 201 {
				t.Errorf("create %d: %d %s", i, r.status, r.body)
			}
		}
		if len(ids) != 1 {
			t.Errorf("racing creates answered with deals %v, want one", ids)
		}
		if l := e.must(200, "GET", "/api/v1/deals?owner=kam2", "kam1", ""); l["total"] != float64(1) {
			t.Errorf("racing creates made %v deals, want 1", l["total"])
		}
	})
}
