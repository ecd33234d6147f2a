package api_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/kamflow/kamflow/db"
	"github.com/kamflow/kamflow/db/dbtest"
)

// TestBuyingCenterStakeholders: a deal's stakeholders are its account's contacts. A KAM picks an
// existing contact or adds a new person, who becomes the account's contact (in its buying center
// with their role on the deal); edits one; a removal the deal's current stage rests on is refused
// with gate_depends, a KAM may not force it, a director forces it with a reason; the person stays
// the account's contact.
func TestBuyingCenterStakeholders(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		acct := e.must(201, "POST", "/api/v1/accounts", "kam1", `{"name":"Baowu Steel Zhanjiang"}`)["id"].(string)
		other := e.must(201, "POST", "/api/v1/accounts", "kam1", `{"name":"Shougang Jingtang"}`)["id"].(string)
		wang := e.must(201, "POST", "/api/v1/accounts/"+acct+"/contacts", "kam1", `{"name":"Wang Zong","title":"General manager"}`)["id"].(string)
		stranger := e.must(201, "POST", "/api/v1/accounts/"+other+"/contacts", "kam1", `{"name":"Zhou Gong"}`)["id"].(string)
		deal := e.must(201, "POST", "/api/v1/deals", "kam1", fmt.Sprintf(`{"account_id":%q,"title":"Coke oven gas analysers","currency":"CNY"}`, acct))["id"].(string)
		p := "/api/v1/deals/" + deal
		e.must(200, "PUT", p+"/assessment", "kam1", assessPass)
		e.must(200, "POST", p+"/advance", "kam1", "")

		// An existing contact, picked by id: the stakeholder takes their name and title.
		got := e.must(200, "POST", p+"/stakeholders", "kam1", fmt.Sprintf(`{"contact_id":%q,"name":"","role":"decision_maker","stance":"neutral","engaged":true}`, wang))
		if v, _ := lookup(got, "stakeholders.0.contact_id"); v != wang {
			t.Errorf("picked contact: %v", got["stakeholders"])
		}
		if v, _ := lookup(got, "stakeholders.0.name"); v != "Wang Zong" {
			t.Errorf("picked contact's name: %v", got["stakeholders"])
		}
		if v, _ := lookup(got, "stakeholders.0.title"); v != "General manager" {
			t.Errorf("picked contact's title: %v", got["stakeholders"])
		}
		// Another account's contact is refused.
		res := e.serve(request{method: "POST", path: p + "/stakeholders", as: "kam1",
			body: fmt.Sprintf(`{"contact_id":%q,"name":"","role":"user","stance":"neutral"}`, stranger)})
		if res.status != 400 || !strings.Contains(string(res.body), `"field":"contact_id"`) {
			t.Errorf("another account's contact: %d %s", res.status, res.body)
		}
		// A new person becomes the account's contact, with their part on the deal.
		got = e.must(200, "POST", p+"/stakeholders", "kam1", `{"name":"Chen Gong","title":"Deputy chief engineer","role":"insider","stance":"supporter"}`)
		chen, _ := lookup(got, "stakeholders.1.contact_id")
		if chen == nil || chen == "" {
			t.Fatalf("new person has no contact: %v", got["stakeholders"])
		}
		cs := e.must(200, "GET", "/api/v1/accounts/"+acct+"/contacts", "kam1", "")
		if s := fmt.Sprint(cs["items"]); !strings.Contains(s, "Chen Gong") || !strings.Contains(s, "stakeholder_on:[map[deal_id:"+deal+" engaged:false role:insider stance:supporter]]") {
			t.Errorf("the account's contacts: %s", s)
		}
		if n := len(cs["items"].([]any)); n != 2 {
			t.Errorf("the account has %d contacts, want 2 (Wang Zong, Chen Gong): nobody typed twice", n)
		}

		// Edit: Chen Gong's stance; who he is stays.
		got = e.must(200, "PUT", fmt.Sprintf("%s/stakeholders/%s", p, chen), "kam1", `{"name":"ignored","role":"insider","stance":"neutral","engaged":true}`)
		if v, _ := lookup(got, "stakeholders.1.stance"); v != "neutral" {
			t.Errorf("edited: %v", got["stakeholders"])
		}
		if v, _ := lookup(got, "stakeholders.1.name"); v != "Chen Gong" {
			t.Errorf("edited name: %v", got["stakeholders"])
		}
		e.must(404, "PUT", p+"/stakeholders/nobody", "kam1", `{"role":"user","stance":"neutral"}`)
		e.must(200, "POST", p+"/advance", "kam1", "")

		// In proposal the deal rests on its insider: refused, not forced by a KAM, forced by a director.
		remove := fmt.Sprintf("%s/stakeholders/%s/remove", p, chen)
		res = e.serve(request{method: "POST", path: remove, as: "kam1"})
		if res.status != 409 || !strings.Contains(string(res.body), `"code":"gate_depends"`) || !strings.Contains(string(res.body), `"missing":["insider_identified"]`) {
			t.Errorf("removal the stage rests on: %d %s", res.status, res.body)
		}
		e.must(403, "POST", remove, "kam1", `{"override":{"force":true,"reason":"left the company"}}`)
		e.must(400, "POST", remove, "d1", `{"override":{"force":true}}`)
		got = e.must(200, "POST", remove, "d1", `{"override":{"force":true,"reason":"left the company"}}`)
		if n := len(got["stakeholders"].([]any)); n != 1 || got["forced"] != true {
			t.Errorf("after the forced removal: forced=%v stakeholders=%v", got["forced"], got["stakeholders"])
		}
		e.must(404, "POST", remove, "d1", "")
		cs = e.must(200, "GET", "/api/v1/accounts/"+acct+"/contacts", "kam1", "")
		if s := fmt.Sprint(cs["items"]); !strings.Contains(s, "Chen Gong") || strings.Contains(s, "role:insider stance:neutral") {
			t.Errorf("Chen Gong after the removal (still a contact, no longer on the deal): %s", s)
		}
		// Forced past, the entry key node rests on nobody any more: Wang Zong goes freely.
		e.must(200, "POST", fmt.Sprintf("%s/stakeholders/%s/remove", p, wang), "kam1", "")
		tl := fmt.Sprint(e.must(200, "GET", p+"/timeline", "kam1", "")["items"])
		if !strings.Contains(tl, "stakeholder Chen Gong removed, forced past insider_identified of the entry stage: left the company") {
			t.Errorf("timeline: %s", tl)
		}
	})
}
