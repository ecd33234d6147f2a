package api_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/kamflow/kamflow/db/dbtest"
)

// fuzzRoutes are the write routes FuzzHandler sends its bodies to, and who sends them: the KAM
// who owns the deals, the director for a forced advance, the admin for settings and users.
var fuzzRoutes = []struct{ method, path, as string }{
	{"POST", "/api/v1/accounts", "kam1"},
	{"PATCH", "/api/v1/accounts/{acct1}", "kam1"},
	{"POST", "/api/v1/deals", "kam1"},
	{"PUT", "/api/v1/deals/{assess}/assessment", "kam1"},
	{"POST", "/api/v1/deals/{assess}/stakeholders", "kam1"},
	{"PUT", "/api/v1/deals/{proposal}/criteria", "kam1"},
	{"PUT", "/api/v1/deals/{bid}/bid", "kam1"},
	{"POST", "/api/v1/deals/{force}/advance", "d1"},
	{"POST", "/api/v1/deals/{pause}/pause", "kam1"},
	{"POST", "/api/v1/deals/{lose}/close", "kam1"},
	{"POST", "/api/v1/deals/{neg}/contract/sign", "kam1"},
	{"PUT", "/api/v1/settings/stages/bid", "admin"},
	{"POST", "/api/v1/deals/{pause}/reassign", "d1"},
	{"PUT", "/api/v1/deals/{pause}/engineers", "kam1"},
	{"PATCH", "/api/v1/users/user-e2", "admin"},
	{"POST", "/api/v1/auth/login", ""},
	{"PUT", "/api/v1/deals/{delivery}/delivery", "kam1"},
	{"POST", "/api/v1/deals/{delivery}/delivery/tasks/site_survey/complete", "e1"},
	{"PUT", "/api/v1/settings/service-cadence", "admin"},
	{"POST", "/api/v1/accounts/{acct1}/contacts", "kam1"},
	{"POST", "/api/v1/interactions", "kam1"},
	{"PUT", "/api/v1/accounts/{acct1}/lifecycle", "kam1"},
	{"POST", "/api/v1/accounts/{acct1}/handover", "d1"},
	{"PUT", "/api/v1/settings/segmentation", "admin"},
	{"POST", "/api/v1/imports/{held}/approve", "d1"},
	{"POST", "/api/v1/imports/{held}/reject", "d1"},
}

// FuzzHandler drives the whole HTTP handler, on a seeded SQLite database, with arbitrary bodies
// on the write routes (and sometimes an Idempotency-Key): whatever comes in, the answer is never
// a server error, and an error is always the JSON envelope.
func FuzzHandler(f *testing.F) {
	for i := range fuzzRoutes {
		for _, s := range []string{
			``, `{}`, `null`, `[]`, `{"name":"Fuzz Steel"}`, `{"name":`, `{"x":1}`, `{"name":"a\u0000"}`,
			`{"account_id":"{acct1}","title":"t","value":"1","currency":"CNY"}`, `{"value":12}`,
			assessPass, allScores(`,"funding":9`), insider, `{"name":"x","role":"boss","stance":"neutral"}`, criteria,
			`{"criteria":[{"name":"a","favours":"us"},{"name":"A","favours":"us"}]}`, goodBid, lowBid, `{"cost":"1","price":"0"}`,
			`{"force":true,"reason":"fuzz"}`, `{"force":true}`, `{"reason":"wait","resume_on":"2026-05-01"}`,
			`{"reason":"wait","resume_on":"2026-01-01"}`, `{"outcome":"lost","reason":"price","competitor":"ABB"}`,
			`{"outcome":"won","reason":"x"}`, sign, `{"sla":"30d"}`, `{"sla":"abc"}`, `{"sla":"1d-5h"}`,
			`{"owner":"kam2","reason":"holiday"}`, `{"owner":"kam3"}`, `{"engineers":["e1","e2"]}`, `{"engineers":["kam1"]}`,
			`{"name":"Engineer Two","teams":["west"]}`, `{"role":"root"}`, `{"password":"short"}`, `{"teams":["nowhere"]}`,
			`{"username":"kam1","password":"wrong password"}`, `{"username":"","password":""}`,
			`{"tasks":[{"key":"site_survey"},{"key":"acceptance_test","depends_on":["site_survey"]}]}`, `{"tasks":[{"key":"A b"}]}`,
			`{"notes":"x","attachments":[{"name":"a","ref":""}]}`, `{"result":"pass"}`, `{"service_cadence":["30d","1d"]}`,
			`{"name":"Chen Gong","role":"insider","reports_to":"nobody"}`, `{"account_id":"{acct1}","kind":"visit","summary":"s","reaction":"positive"}`,
			`{"phase":"decline","reason":"x"}`, `{"rung":"partner"}`, `{"weights":{"gross_profit":-1}}`,
			`{"reason":"No bid on file"}`, `{"reason":""}`, `{"reason":null}`,
			strings.Repeat("[", 10001),
		} {
			f.Add(uint8(i), []byte(s), false)
		}
	}
	f.Add(uint8(0), []byte(`{"name":"Idempotent Fuzz Steel"}`), true)
	f.Add(uint8(7), []byte(`{"force":true,"reason":"fuzz"}`), true)

	e := newEnv(f, dbtest.SQLite(f))
	seedForFuzz(f, e)
	for _, r := range fuzzRoutes {
		if r.as != "" {
			e.session(r.as) // signed in now: the fuzz target must not sign in (or fail) on e's testing.F
		}
	}
	f.Fuzz(func(t *testing.T, route uint8, body []byte, withKey bool) {
		r := fuzzRoutes[int(route)%len(fuzzRoutes)]
		req := request{method: r.method, path: e.expand(r.path), body: string(body), as: r.as, headers: map[string]string{}}
		if withKey {
			req.headers["Idempotency-Key"] = "fuzz-key"
		}
		res := e.serve(req)
		if res.status >= 500 {
			t.Fatalf("%s %s %q: status %d: %s", req.method, req.path, body, res.status, res.body)
		}
		if res.json == nil {
			t.Fatalf("%s %s %q: status %d with a body that is not JSON: %q", req.method, req.path, body, res.status, res.body)
		}
		if res.status >= 400 {
			code, _ := lookup(res.json, "error.code")
			msg, _ := lookup(res.json, "error.message")
			if s, ok := code.(string); !ok || !errorCodes[s] {
				t.Fatalf("%s %s %q: status %d without a known error code: %s", req.method, req.path, body, res.status, res.body)
			}
			if s, ok := msg.(string); !ok || s == "" {
				t.Fatalf("%s %s %q: status %d without a message: %s", req.method, req.path, body, res.status, res.body)
			}
		}
	})
}

// seedForFuzz makes the accounts and deals fuzzRoutes name, a few stages apart.
func seedForFuzz(f *testing.F, e *testEnv) {
	e.clock.Set(T1)
	e.vars["acct1"] = e.must(201, "POST", "/api/v1/accounts", "kam1", `{"name":"Baowu Steel Zhanjiang"}`)["id"].(string)
	deal := func(name string) string {
		id := e.must(201, "POST", "/api/v1/deals", "kam1", `{"account_id":"{acct1}","title":"`+name+`","value":"1000000","currency":"CNY"}`)["id"].(string)
		e.vars[name] = id
		return "/api/v1/deals/" + id
	}
	step := func(p string, steps ...string) {
		for i := 0; i+2 < len(steps); i += 3 {
			e.must(200, steps[i], p+steps[i+1], "kam1", steps[i+2])
		}
	}
	toEntry := []string{"PUT", "/assessment", assessPass, "POST", "/advance", ""}
	toProposal := append(append([]string{}, toEntry...), "POST", "/stakeholders", insider, "POST", "/stakeholders", decider, "POST", "/advance", "")
	toBid := append(append([]string{}, toProposal...), "PUT", "/criteria", criteria, "POST", "/proposal", proposal, "POST", "/advance", "")
	toNeg := append(append([]string{}, toBid...), "PUT", "/bid", goodBid, "POST", "/advance", "")
	deal("assess")
	step(deal("force"), "PUT", "/assessment", assessFail)
	step(deal("proposal"), toProposal...)
	step(deal("bid"), toBid...)
	p := deal("neg")
	step(p, toNeg...)
	e.must(200, "POST", p+"/contract/approve", "d1", "")
	deal("pause")
	deal("lose")
	// A deal in delivery, its engineer assigned and its site survey under way.
	d := deal("delivery")
	step(d, toNeg...)
	e.must(200, "POST", d+"/contract/approve", "d1", "")
	step(d, "POST", "/contract/sign", sign, "PUT", "/engineers", `{"engineers":["e1"]}`, "POST", "/advance", "")
	e.must(200, "POST", d+"/delivery/tasks/site_survey/start", "e1", "")
	// An import of kam1's holding a deal past development for a director.
	res := e.upload("kam1", "kind=deals&dry_run=false", "held.csv", []byte("account,title,value,stage\nBaowu Steel Zhanjiang,Held deal,1000,bid\n"))
	if st, _ := lookup(res.json, "status"); st != "awaiting_approval" {
		f.Fatalf("a held import: %d %s", res.status, res.body)
	}
	id, _ := lookup(res.json, "id")
	e.vars["held"] = fmt.Sprint(id)
	f.Cleanup(e.waitImports) // an approval runs in the background
}
