package api_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/db"
	"github.com/kamflow/kamflow/db/dbtest"
)

// TestInteractionRefreshesAStaleStakeholder: an insider marked stale (the daily run's doing) no
// longer counts toward the entry stage's key node; logging an interaction with the person counts
// them again at once, on every open deal they are linked to.
func TestInteractionRefreshesAStaleStakeholder(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		acct := e.must(201, "POST", "/api/v1/accounts", "kam1", `{"name":"Baowu Steel Zhanjiang"}`)["id"].(string)
		deal := e.must(201, "POST", "/api/v1/deals", "kam1", fmt.Sprintf(`{"account_id":%q,"title":"Coke oven gas analysers","currency":"CNY"}`, acct))["id"].(string)
		p := "/api/v1/deals/" + deal
		e.must(200, "PUT", p+"/assessment", "kam1", assessPass)
		e.must(200, "POST", p+"/advance", "kam1", "")
		e.must(200, "POST", p+"/stakeholders", "kam1", `{"name":"Chen Gong","role":"insider","stance":"supporter","engaged":true}`)
		e.must(200, "POST", p+"/stakeholders", "kam1", decider)
		contact := e.must(201, "POST", "/api/v1/accounts/"+acct+"/contacts", "kam1",
			fmt.Sprintf(`{"name":"Chen Gong","role":"insider","deals":[{"deal_id":%q}]}`, deal))["id"].(string)

		// The daily run's mark, by kamflow's own path (a person's contact_stale command is refused).
		if _, err := e.svc.MarkContact(context.Background(), deal,
			kamflow.ContactStaleInput{Name: "Chen Gong", Stale: true, Days: 120}, "stale-1"); err != nil {
			t.Fatal(err)
		}
		got := e.must(200, "GET", p, "kam1", "")
		if met, _ := lookup(got, "gate.met"); met != false {
			t.Fatalf("gate with a stale insider: %v", got["gate"])
		}
		if detail, _ := lookup(got, "gate.items.0.detail"); detail != "insider gone stale (no contact for too long): Chen Gong" {
			t.Errorf("gate item detail %v", detail)
		}
		e.must(201, "POST", "/api/v1/interactions", "kam1",
			fmt.Sprintf(`{"account_id":%q,"contact_ids":[%q],"kind":"visit","summary":"Site walk with the deputy chief engineer","reaction":"positive"}`, acct, contact))
		got = e.must(200, "GET", p, "kam1", "")
		if met, _ := lookup(got, "gate.met"); met != true {
			t.Errorf("gate after the visit: %v", got["gate"])
		}
		if stale, _ := lookup(got, "stakeholders.0.stale"); stale != nil {
			t.Errorf("stakeholder still stale: %v", got["stakeholders"])
		}
		tl := e.must(200, "GET", p+"/timeline", "kam1", "")
		if entries := fmt.Sprint(tl["items"]); !strings.Contains(entries, "stakeholder Chen Gong in contact again") || !strings.Contains(entries, "stakeholder Chen Gong gone stale: no contact for 120 days") {
			t.Errorf("timeline %s", entries)
		}
	})
}
