package api_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/kamflow/kamflow/api"
	"github.com/kamflow/kamflow/db"
	"github.com/kamflow/kamflow/db/dbtest"
)

// parallel sends the requests at once (each on its own goroutine, released together) and returns
// their answers in order, each checked against the OpenAPI document.
func (e *testEnv) parallel(t *testing.T, reqs ...request) []*response {
	t.Helper()
	out := make([]*response, len(reqs))
	var ready, wg sync.WaitGroup
	start := make(chan struct{})
	for i, r := range reqs {
		r.path, r.body = e.expand(r.path), e.expand(r.body)
		if r.as != "" {
			e.session(r.as) // signed in before the race, not during it
		}
		ready.Add(1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			ready.Done()
			<-start
			out[i] = e.serve(r)
		}()
	}
	ready.Wait()
	close(start)
	wg.Wait()
	for i, res := range out {
		var body []byte
		if !strings.HasPrefix(reqs[i].headers["Content-Type"], "multipart/") {
			body = []byte(e.expand(reqs[i].body))
		}
		if err := api.CheckOpenAPI(reqs[i].method, e.expand(reqs[i].path), body, res.status, res.body); err != nil {
			t.Error(err)
		}
	}
	return out
}

// field reads a dotted JSON path of an answer as text ("" when absent).
func field(r *response, path string) string {
	v, ok := lookup(r.json, path)
	if !ok || v == nil {
		return ""
	}
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// TestConcurrentAccountEdits: two people editing different fields of one account at once both
// keep their edit, and an edit racing a handover never puts the previous owner back.
func TestConcurrentAccountEdits(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.clock.Set(T1)
		e.vars["acct"] = e.must(201, "POST", "/api/v1/accounts", "kam1", `{"name":"Race Steel"}`)["id"].(string)

		for i := range 20 {
			res := e.parallel(t,
				request{method: "PATCH", path: "/api/v1/accounts/{acct}", as: "kam1", body: fmt.Sprintf(`{"industry":"steel %d"}`, i)},
				request{method: "PATCH", path: "/api/v1/accounts/{acct}", as: "kam2", body: fmt.Sprintf(`{"region":"east %d","profile":{"market":"market %d"}}`, i, i)})
			for j, r := range res {
				if r.status != 200 {
					t.Fatalf("round %d, edit %d: %d %s", i, j, r.status, r.body)
				}
			}
			got := e.get(t, "kam1", e.expand("/api/v1/accounts/{acct}"), 200)
			if field(got, "industry") != fmt.Sprintf("steel %d", i) || field(got, "region") != fmt.Sprintf("east %d", i) ||
				field(got, "profile.market") != fmt.Sprintf("market %d", i) {
				t.Errorf("round %d: industry %q, region %q, market %q: an edit was lost", i, field(got, "industry"), field(got, "region"), field(got, "profile.market"))
			}
		}
		if v := field(e.get(t, "kam1", e.expand("/api/v1/accounts/{acct}"), 200), "version"); v != "41" {
			t.Errorf("version %s after 40 edits, want 41", v)
		}

		owner := "kam1"
		for i := range 12 {
			next := map[string]string{"kam1": "kam2", "kam2": "kam1"}[owner]
			res := e.parallel(t,
				request{method: "POST", path: "/api/v1/accounts/{acct}/handover", as: "d1", body: fmt.Sprintf(`{"owner":%q,"reason":"round %d"}`, next, i)},
				request{method: "PATCH", path: "/api/v1/accounts/{acct}", as: "kam2", body: fmt.Sprintf(`{"notes":"note %d"}`, i)})
			if res[0].status != 202 || res[1].status != 200 {
				t.Fatalf("round %d: handover %d %s, edit %d %s", i, res[0].status, res[0].body, res[1].status, res[1].body)
			}
			got := e.get(t, "kam1", e.expand("/api/v1/accounts/{acct}"), 200)
			if field(got, "owner") != next || field(got, "notes") != fmt.Sprintf("note %d", i) {
				t.Errorf("round %d: owner %s (want %s), notes %q", i, field(got, "owner"), next, field(got, "notes"))
			}
			owner = next
		}
	})
}

// TestAccountVersions: an edit made against a version the account has left is 409 conflict with
// the account as it is now and who changed it; without a version only the fields sent change; the
// owner is never a field of an edit.
func TestAccountVersions(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.clock.Set(T1)
		created := e.must(201, "POST", "/api/v1/accounts", "kam1", `{"name":"Versioned Steel","industry":"steel"}`)
		e.vars["acct"] = created["id"].(string)
		if created["version"] != float64(1) {
			t.Fatalf("a new account has version %v, want 1", created["version"])
		}
		got := e.get(t, "kam1", e.expand("/api/v1/accounts/{acct}"), 200)
		if etag := got.header.Get("ETag"); etag != `"1"` {
			t.Errorf("ETag %q, want \"1\"", etag)
		}

		patch := func(as, ifMatch, body string) *response {
			t.Helper()
			r := request{method: "PATCH", path: e.expand("/api/v1/accounts/{acct}"), as: as, body: body}
			if ifMatch != "" {
				r.headers = map[string]string{"If-Match": ifMatch}
			}
			res := e.serve(r)
			reqBody := []byte(body)
			if res.status == 400 {
				reqBody = nil // refused as the document says it would be
			}
			if err := api.CheckOpenAPI(r.method, r.path, reqBody, res.status, res.body); err != nil {
				t.Error(err)
			}
			return res
		}
		// kam2 edits at version 1; kam1, who read version 1 too, is told.
		if r := patch("kam2", `"1"`, `{"region":"Shanghai"}`); r.status != 200 || field(r, "version") != "2" || r.header.Get("ETag") != `"2"` || field(r, "updated_by") != "kam2" {
			t.Fatalf("edit at the current version: %d %s (ETag %q)", r.status, r.body, r.header.Get("ETag"))
		}
		for _, tc := range []struct{ ifMatch, body string }{
			{`"1"`, `{"industry":"chemicals"}`},
			{`W/"1"`, `{"industry":"chemicals"}`},
			{"", `{"industry":"chemicals","version":1}`},
		} {
			r := patch("kam1", tc.ifMatch, tc.body)
			if r.status != 409 || field(r, "error.code") != "conflict" || field(r, "error.details.version") != "2" ||
				field(r, "error.details.updated_by") != "kam2" || field(r, "error.details.updated_by_name") != "kam2" ||
				field(r, "error.details.current.region") != "Shanghai" || field(r, "error.details.current.industry") != "steel" {
				t.Errorf("stale edit (If-Match %q, %s): %d %s", tc.ifMatch, tc.body, r.status, r.body)
			}
		}
		// Reapplied at the version the conflict gave.
		if r := patch("kam1", `"2"`, `{"industry":"chemicals"}`); r.status != 200 || field(r, "industry") != "chemicals" || field(r, "region") != "Shanghai" || field(r, "version") != "3" {
			t.Errorf("reapplied: %d %s", r.status, r.body)
		}
		// Without a version: only the fields sent.
		if r := patch("kam2", "", `{"notes":"met the GM"}`); r.status != 200 || field(r, "industry") != "chemicals" || field(r, "notes") != "met the GM" || field(r, "version") != "4" {
			t.Errorf("edit without a version: %d %s", r.status, r.body)
		}
		for _, tc := range []struct{ ifMatch, body, field string }{
			{"", `{"owner":"kam2"}`, "owner"},
			{"", `{"owner":"kam1"}`, "owner"},
			{"", `{"version":0,"notes":"x"}`, "version"},
			{"", `{"version":-3,"notes":"x"}`, "version"},
			{`"abc"`, `{"notes":"x"}`, "If-Match"},
			{`"4"`, `{"notes":"x","version":3}`, "version"},
		} {
			if r := patch("kam1", tc.ifMatch, tc.body); r.status != 400 || field(r, "error.details.field") != tc.field {
				t.Errorf("If-Match %q, %s: %d %s, want 400 on %s", tc.ifMatch, tc.body, r.status, r.body, tc.field)
			}
		}
		// A handover moves the version: an edit made before it is told.
		e.must(202, "POST", "/api/v1/accounts/{acct}/handover", "d1", `{"owner":"kam2","reason":"kam1 moves north"}`)
		if r := patch("kam1", `"4"`, `{"notes":"x"}`); r.status != 409 || field(r, "error.details.updated_by") != "d1" || field(r, "error.details.current.owner") != "kam2" {
			t.Errorf("edit made before a handover: %d %s", r.status, r.body)
		}
		// As does a lifecycle override.
		v := field(e.get(t, "kam1", e.expand("/api/v1/accounts/{acct}"), 200), "version")
		e.must(200, "PUT", "/api/v1/accounts/{acct}/lifecycle", "kam2", `{"phase":"formation","reason":"second order placed"}`)
		if r := patch("kam1", `"`+v+`"`, `{"notes":"x"}`); r.status != 409 || field(r, "error.details.updated_by") != "kam2" {
			t.Errorf("edit made before a lifecycle override: %d %s", r.status, r.body)
		}
	})
}

// TestConcurrentSettingsChanges: settings changes made at once all stay: two stages' SLAs, a
// stage's SLA and the service cadence, two stages' director's rungs, two key-account settings.
func TestConcurrentSettingsChanges(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.clock.Set(T1)
		for i := range 10 {
			res := e.parallel(t,
				request{method: "PUT", path: "/api/v1/settings/stages/entry", as: "admin", body: fmt.Sprintf(`{"sla":"%dd"}`, 10+i)},
				request{method: "PUT", path: "/api/v1/settings/stages/bid", as: "admin", body: fmt.Sprintf(`{"sla":"%dd"}`, 20+i)},
				request{method: "PUT", path: "/api/v1/settings/service-cadence", as: "admin", body: fmt.Sprintf(`{"service_cadence":["%dd","400d"]}`, 30+i)},
				request{method: "PUT", path: "/api/v1/settings/stages/proposal", as: "admin", body: fmt.Sprintf(`{"director_after":%d}`, 2+i)},
				request{method: "PUT", path: "/api/v1/settings/stages/negotiation", as: "admin", body: fmt.Sprintf(`{"director_after":%d.5}`, 2+i)},
				request{method: "PUT", path: "/api/v1/settings/segmentation", as: "admin", body: fmt.Sprintf(`{"strategic_threshold":%d}`, 50+i)},
				request{method: "PUT", path: "/api/v1/settings/segmentation", as: "admin", body: fmt.Sprintf(`{"stale_contact_days":%d}`, 60+i)})
			for j, r := range res {
				if r.status != 200 {
					t.Fatalf("round %d, change %d: %d %s", i, j, r.status, r.body)
				}
			}
			s := e.get(t, "admin", "/api/v1/settings", 200)
			want := map[string]string{"sla.entry": fmt.Sprintf("%dd", 10+i), "sla.bid": fmt.Sprintf("%dd", 20+i),
				"service_cadence.0": fmt.Sprintf("%dd", 30+i), "escalation.stages.proposal.director_after": fmt.Sprint(2 + i),
				"escalation.stages.negotiation.director_after": fmt.Sprintf("%d.5", 2+i)}
			for path, v := range want {
				if got := field(s, path); got != v {
					t.Errorf("round %d: %s = %s, want %s: a change was lost", i, path, got, v)
				}
			}
			seg := e.get(t, "admin", "/api/v1/settings/segmentation", 200)
			if field(seg, "strategic_threshold") != fmt.Sprint(50+i) || field(seg, "stale_contact_days") != fmt.Sprint(60+i) {
				t.Errorf("round %d: segmentation %s: a change was lost", i, seg.body)
			}
		}
	})
}

// TestSettingsVersions: a settings change made against a version the settings have left is 409
// conflict with the settings as they are now and who changed them.
func TestSettingsVersions(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.clock.Set(T1)
		s := e.get(t, "admin", "/api/v1/settings", 200)
		v0 := field(s, "version")
		if s.header.Get("ETag") != `"`+v0+`"` {
			t.Errorf("GET /settings: version %s, ETag %q", v0, s.header.Get("ETag"))
		}
		put := func(path, ifMatch, body string) *response {
			t.Helper()
			r := request{method: "PUT", path: path, as: "admin", body: body}
			if ifMatch != "" {
				r.headers = map[string]string{"If-Match": `"` + ifMatch + `"`}
			}
			res := e.serve(r)
			reqBody := []byte(body)
			if res.status == 400 {
				reqBody = nil // refused as the document says it would be
			}
			if err := api.CheckOpenAPI(r.method, r.path, reqBody, res.status, res.body); err != nil {
				t.Error(err)
			}
			return res
		}
		r := put("/api/v1/settings/stages/bid", v0, `{"sla":"14d"}`)
		if r.status != 200 || field(r, "version") == v0 {
			t.Fatalf("change at the current version: %d %s", r.status, r.body)
		}
		v1 := field(r, "version")
		for _, tc := range []struct{ path, ifMatch, body string }{
			{"/api/v1/settings/stages/entry", v0, `{"sla":"20d"}`},
			{"/api/v1/settings/stages/entry", "", `{"sla":"20d","version":` + v0 + `}`},
			{"/api/v1/settings/service-cadence", v0, `{"service_cadence":["10d"]}`},
			{"/api/v1/settings/service-cadence", "", `{"service_cadence":["10d"],"version":` + v0 + `}`},
		} {
			r := put(tc.path, tc.ifMatch, tc.body)
			if r.status != 409 || field(r, "error.code") != "conflict" || field(r, "error.details.version") != v1 ||
				field(r, "error.details.updated_by") != "admin" || field(r, "error.details.updated_by_name") != "admin" ||
				field(r, "error.details.current.sla.bid") != "14d" {
				t.Errorf("stale change %s %s: %d %s", tc.path, tc.body, r.status, r.body)
			}
		}
		if s := e.get(t, "admin", "/api/v1/settings", 200); field(s, "sla.entry") != "45d" || field(s, "version") != v1 || field(s, "updated_by") != "admin" {
			t.Errorf("a refused change changed the settings: %s", s.body)
		}
		if r := put("/api/v1/settings/stages/entry", v1, `{"sla":"20d"}`); r.status != 200 {
			t.Errorf("reapplied: %d %s", r.status, r.body)
		}

		seg := e.get(t, "admin", "/api/v1/settings/segmentation", 200)
		sv := field(seg, "version")
		if r := put("/api/v1/settings/segmentation", sv, `{"strategic_threshold":55}`); r.status != 200 || field(r, "version") == sv || field(r, "strategic_threshold") != "55" {
			t.Fatalf("segmentation at the current version: %d %s", r.status, r.body)
		}
		if r := put("/api/v1/settings/segmentation", sv, `{"stale_contact_days":30}`); r.status != 409 || field(r, "error.details.current.strategic_threshold") != "55" ||
			field(r, "error.details.updated_by") != "admin" {
			t.Errorf("stale segmentation change: %d %s", r.status, r.body)
		}
		if r := put("/api/v1/settings/segmentation", "", `{"stale_contact_days":30,"version":0}`); r.status != 400 || field(r, "error.details.field") != "version" {
			t.Errorf("version 0: %d %s", r.status, r.body)
		}
	})
}

// TestForcedAdvanceRetries: ten identical forced advances sent at once without an
// Idempotency-Key, each saying the stage it leaves, move the deal once; the others are 409
// conflict with the stage the deal is in now.
func TestForcedAdvanceRetries(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.clock.Set(T1)
		e.vars["acct"] = e.must(201, "POST", "/api/v1/accounts", "kam1", `{"name":"Force Steel"}`)["id"].(string)
		e.vars["deal"] = e.must(201, "POST", "/api/v1/deals", "kam1", `{"account_id":"{acct}","title":"Force","currency":"CNY"}`)["id"].(string)
		e.must(200, "POST", "/api/v1/deals/{deal}/advance", "d1", `{"force":true,"reason":"tender out early","from":"development"}`)

		reqs := make([]request, 10)
		for i := range reqs {
			reqs[i] = request{method: "POST", path: "/api/v1/deals/{deal}/advance", as: "d1", body: `{"force":true,"reason":"board asked us to bid","from":"entry"}`}
		}
		moved := 0
		for i, r := range e.parallel(t, reqs...) {
			switch {
			case r.status == 200 && field(r, "stage") == "proposal":
				moved++
			case r.status == 409 && field(r, "error.code") == "conflict" && field(r, "error.details.stage") == "proposal":
			default:
				t.Errorf("advance %d: %d %s", i, r.status, r.body)
			}
		}
		if moved != 1 {
			t.Errorf("%d advances moved the deal, want 1", moved)
		}
		h := e.get(t, "kam1", e.expand("/api/v1/deals/{deal}/history"), 200)
		forced := 0
		for _, it := range h.json.(map[string]any)["items"].([]any) {
			if it.(map[string]any)["kind"] == "forced" {
				forced++
			}
		}
		if d := e.must(200, "GET", "/api/v1/deals/{deal}", "kam1", ""); d["stage"] != "proposal" || forced != 2 {
			t.Errorf("after the retries: stage %v, %d forced history rows (want proposal, 2)", d["stage"], forced)
		}
		// An unforced advance with a from the deal has left is a conflict too; a from that is no
		// stage is invalid.
		if r := e.serve(request{method: "POST", path: e.expand("/api/v1/deals/{deal}/advance"), as: "kam1", body: `{"from":"entry"}`}); r.status != 409 || field(r, "error.details.stage") != "proposal" {
			t.Errorf("unforced advance from entry: %d %s", r.status, r.body)
		}
		if r := e.serve(request{method: "POST", path: e.expand("/api/v1/deals/{deal}/advance"), as: "kam1", body: `{"from":"tender"}`}); r.status != 400 || field(r, "error.details.field") != "from" {
			t.Errorf("advance from a stage that is none: %d %s", r.status, r.body)
		}
	})
}
