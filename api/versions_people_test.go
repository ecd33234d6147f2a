package api_test

import (
	"fmt"
	"testing"

	"github.com/kamflow/kamflow/api"
	"github.com/kamflow/kamflow/db"
	"github.com/kamflow/kamflow/db/dbtest"
)

// patchChecked sends one PATCH (with If-Match when given) and checks the answer against the
// OpenAPI document.
func (e *testEnv) patchChecked(t *testing.T, path, as, ifMatch, body string) *response {
	t.Helper()
	r := request{method: "PATCH", path: e.expand(path), as: as, body: body}
	if ifMatch != "" {
		r.headers = map[string]string{"If-Match": ifMatch}
	}
	res := e.serve(r)
	reqBody := []byte(body)
	if res.status == 400 {
		reqBody = nil
	}
	if err := api.CheckOpenAPI(r.method, r.path, reqBody, res.status, res.body); err != nil {
		t.Error(err)
	}
	return res
}

// TestConcurrentContactEdits: two people editing different fields of one contact at once both
// keep their edit (the PATCH used to read the contact, change it and write every field back, so
// the later write undid the earlier); an edit against a version the contact has left is 409
// conflict with the contact as it is and who changed it, by name.
func TestConcurrentContactEdits(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.clock.Set(T1)
		e.vars["acct"] = e.must(201, "POST", "/api/v1/accounts", "kam1", `{"name":"Contact Race Steel"}`)["id"].(string)
		created := e.must(201, "POST", "/api/v1/accounts/{acct}/contacts", "kam1", `{"name":"李总","title":"Plant director"}`)
		e.vars["ct"] = created["id"].(string)
		if created["version"] != float64(1) {
			t.Fatalf("a new contact has version %v, want 1", created["version"])
		}
		for i := range 15 {
			res := e.parallel(t,
				request{method: "PATCH", path: "/api/v1/accounts/{acct}/contacts/{ct}", as: "kam1", body: fmt.Sprintf(`{"title":"title %d"}`, i)},
				request{method: "PATCH", path: "/api/v1/accounts/{acct}/contacts/{ct}", as: "kam2", body: fmt.Sprintf(`{"phone":"1390000%04d","notes":"note %d"}`, i, i)})
			for j, r := range res {
				if r.status != 200 {
					t.Fatalf("round %d, edit %d: %d %s", i, j, r.status, r.body)
				}
			}
			list := e.get(t, "kam1", e.expand("/api/v1/accounts/{acct}/contacts"), 200)
			if field(list, "items.0.title") != fmt.Sprintf("title %d", i) || field(list, "items.0.phone") != fmt.Sprintf("1390000%04d", i) ||
				field(list, "items.0.notes") != fmt.Sprintf("note %d", i) {
				t.Errorf("round %d: title %q, phone %q, notes %q: an edit was lost", i, field(list, "items.0.title"), field(list, "items.0.phone"), field(list, "items.0.notes"))
			}
		}
		list := e.get(t, "kam1", e.expand("/api/v1/accounts/{acct}/contacts"), 200)
		if v := field(list, "items.0.version"); v != "31" {
			t.Fatalf("version %s after 30 edits, want 31", v)
		}

		path := "/api/v1/accounts/{acct}/contacts/{ct}"
		if r := e.patchChecked(t, path, "kam2", `"31"`, `{"department":"Production"}`); r.status != 200 || field(r, "version") != "32" ||
			r.header.Get("ETag") != `"32"` || field(r, "updated_by") != "kam2" {
			t.Fatalf("edit at the current version: %d %s", r.status, r.body)
		}
		for _, tc := range []struct{ ifMatch, body string }{
			{`"31"`, `{"department":"Sales"}`},
			{"", `{"department":"Sales","version":31}`},
		} {
			r := e.patchChecked(t, path, "kam1", tc.ifMatch, tc.body)
			if r.status != 409 || field(r, "error.code") != "conflict" || field(r, "error.details.version") != "32" ||
				field(r, "error.details.updated_by") != "kam2" || field(r, "error.details.updated_by_name") == "" ||
				field(r, "error.details.current.department") != "Production" || field(r, "error.details.current.stale") == "" {
				t.Errorf("stale edit (If-Match %q, %s): %d %s", tc.ifMatch, tc.body, r.status, r.body)
			}
		}
		if r := e.patchChecked(t, path, "kam1", `"32"`, `{"department":"Sales"}`); r.status != 200 || field(r, "department") != "Sales" ||
			field(r, "title") != "title 14" || field(r, "version") != "33" {
			t.Errorf("reapplied: %d %s", r.status, r.body)
		}
		// An edit that changes nothing leaves the version.
		if r := e.patchChecked(t, path, "kam1", "", `{"department":"Sales"}`); r.status != 200 || field(r, "version") != "33" {
			t.Errorf("an edit that changes nothing: %d %s", r.status, r.body)
		}
		if r := e.patchChecked(t, path, "kam1", `"abc"`, `{"notes":"x"}`); r.status != 400 || field(r, "error.details.field") != "If-Match" {
			t.Errorf("bad If-Match: %d %s", r.status, r.body)
		}
	})
}

// TestConcurrentUserEdits: two admin edits of different fields of one user made at once both
// stay; an edit against a version the user has left is 409 conflict with the user as it is.
func TestConcurrentUserEdits(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.clock.Set(T1)
		created := e.must(201, "POST", "/api/v1/users", "admin", `{"username":"newkam","name":"New KAM","role":"kam","teams":["east"],"password":"correct horse battery"}`)
		e.vars["u"] = created["id"].(string)
		if created["version"] != float64(1) {
			t.Fatalf("a new user has version %v, want 1", created["version"])
		}
		for i := range 10 {
			res := e.parallel(t,
				request{method: "PATCH", path: "/api/v1/users/{u}", as: "admin", body: fmt.Sprintf(`{"name":"Name %d"}`, i)},
				request{method: "PATCH", path: "/api/v1/users/{u}", as: "admin", body: fmt.Sprintf(`{"disabled":%v}`, i%2 == 0)})
			for j, r := range res {
				if r.status != 200 {
					t.Fatalf("round %d, edit %d: %d %s", i, j, r.status, r.body)
				}
			}
			got := e.get(t, "admin", e.expand("/api/v1/users/{u}"), 200)
			if field(got, "name") != fmt.Sprintf("Name %d", i) || field(got, "disabled") != fmt.Sprint(i%2 == 0) {
				t.Errorf("round %d: name %q, disabled %s: an edit was lost", i, field(got, "name"), field(got, "disabled"))
			}
		}
		got := e.get(t, "admin", e.expand("/api/v1/users/{u}"), 200)
		v := field(got, "version")
		if v != "21" || got.header.Get("ETag") != `"21"` {
			t.Fatalf("version %s (ETag %q) after 20 edits, want 21", v, got.header.Get("ETag"))
		}
		path := "/api/v1/users/{u}"
		if r := e.patchChecked(t, path, "admin", `"21"`, `{"role":"engineer"}`); r.status != 200 || field(r, "version") != "22" || field(r, "updated_by") != "admin" {
			t.Fatalf("edit at the current version: %d %s", r.status, r.body)
		}
		for _, tc := range []struct{ ifMatch, body string }{
			{`"21"`, `{"name":"Old Name"}`},
			{"", `{"name":"Old Name","version":21}`},
		} {
			r := e.patchChecked(t, path, "admin", tc.ifMatch, tc.body)
			if r.status != 409 || field(r, "error.code") != "conflict" || field(r, "error.details.version") != "22" ||
				field(r, "error.details.updated_by") != "admin" || field(r, "error.details.updated_by_name") == "" ||
				field(r, "error.details.current.role") != "engineer" || field(r, "error.details.current.name") != "Name 9" {
				t.Errorf("stale edit (If-Match %q, %s): %d %s", tc.ifMatch, tc.body, r.status, r.body)
			}
		}
		if r := e.patchChecked(t, path, "admin", `"22"`, `{"name":"Old Name"}`); r.status != 200 || field(r, "name") != "Old Name" || field(r, "role") != "engineer" {
			t.Errorf("reapplied: %d %s", r.status, r.body)
		}
		// A password holding the username is still refused, before any version is compared.
		if r := e.patchChecked(t, path, "admin", `"1"`, `{"password":"newkam-secret-2026"}`); r.status != 400 || field(r, "error.details.field") != "password" {
			t.Errorf("password holding the username: %d %s", r.status, r.body)
		}
	})
}
