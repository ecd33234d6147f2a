package api_test

import (
	"fmt"
	"testing"

	"github.com/kamflow/kamflow/api"
	"github.com/kamflow/kamflow/db"
	"github.com/kamflow/kamflow/db/dbtest"
)

// TestSettingsFanout: a stage's new SLA is told to every running deal by the fan-out (here its
// steps in process, a page of three deals at a time): the answer counts the deals to tell and
// shows the fan-out done, GET /settings shows it too, and every deal holds the new SLA. A change
// that saves nothing tells no deal.
func TestSettingsFanout(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		acct := e.must(201, "POST", "/api/v1/accounts", "kam1", `{"name":"Sinopec Zhenhai"}`)["id"].(string)
		var deals []string
		for i := range 7 {
			deals = append(deals, e.must(201, "POST", "/api/v1/deals", "kam1",
				fmt.Sprintf(`{"account_id":%q,"title":"Boiler feed pumps %d","value":"1200000.00","currency":"CNY"}`, acct, i))["id"].(string))
		}
		put := func(body string) *response {
			t.Helper()
			req := request{method: "PUT", path: "/api/v1/settings/stages/development", as: "admin", body: body}
			r := e.serve(req)
			if err := api.CheckOpenAPI(req.method, req.path, []byte(body), r.status, r.body); err != nil {
				t.Error(err)
			}
			return r
		}
		r := put(`{"sla":"12d"}`)
		v := field(r, "version")
		if r.status != 200 || field(r, "deals_to_tell") != "7" || field(r, "fanout.id") != "settings-fanout" || field(r, "fanout.version") != v ||
			field(r, "fanout.status") != "done" || field(r, "fanout.told") != "7" || field(r, "fanout.total") != "7" {
			t.Fatalf("the change: %d %s", r.status, r.body)
		}
		for _, id := range deals {
			if s := e.get(t, "kam1", "/api/v1/deals/"+id, 200); field(s, "stage_sla") != "12d" {
				t.Errorf("deal %s: SLA %s, want the new 12d", id, field(s, "stage_sla"))
			}
		}
		if s := e.get(t, "admin", "/api/v1/settings", 200); field(s, "fanout.version") != v || field(s, "fanout.status") != "done" || field(s, "fanout.told") != "7" {
			t.Errorf("GET /settings: %s", s.body)
		}
		// The same SLA again saves nothing, and so tells nobody.
		if r := put(`{"sla":"12d"}`); r.status != 200 || field(r, "deals_to_tell") != "0" || field(r, "fanout") != "" || field(r, "version") != v {
			t.Errorf("a change of nothing: %d %s", r.status, r.body)
		}
		e.svc.awaitFanouts()
	})
}
