package api_test

import (
	"context"
	"testing"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/api"
	"github.com/kamflow/kamflow/db"
	"github.com/kamflow/kamflow/db/dbtest"
)

// TestUserLanguageAPI: an admin sets a user's language on create and update; every signed-in
// user, whatever their role, sets their own with PATCH /auth/me; anything but en, zh-CN or ""
// is invalid (field language), and each answer is as openapi.json says.
func TestUserLanguageAPI(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		check := func(method, path string, r *response) {
			t.Helper()
			if err := api.CheckOpenAPI(method, path, nil, r.status, r.body); err != nil {
				t.Error(err)
			}
		}
		u := e.must(201, "POST", "/api/v1/users", "admin",
			`{"username":"kam9","name":"Zhou","role":"kam","password":"a long enough passphrase","language":"zh-CN"}`)
		if u["language"] != "zh-CN" {
			t.Errorf("created user %v", u)
		}
		id := u["id"].(string)
		u = e.must(200, "PATCH", "/api/v1/users/"+id, "admin", `{"language":"en"}`)
		if u["language"] != "en" {
			t.Errorf("updated user %v", u)
		}
		if u := e.must(200, "GET", "/api/v1/users/"+id, "admin", ""); u["language"] != "en" {
			t.Errorf("user read back %v", u)
		}
		for _, body := range []string{`{"language":"fr"}`, `{"language":3}`} {
			r := e.serve(request{method: "PATCH", path: "/api/v1/users/" + id, as: "admin", body: body})
			wantStatus(t, "admin sets "+body, r, 400, kamflow.EINVALID)
			check("PATCH", "/api/v1/users/"+id, r)
		}
		if r := e.serve(request{method: "PATCH", path: "/api/v1/users/" + id, as: "admin", body: `{"language":"fr"}`}); lookupStr(r.json, "error.details.field") != "language" {
			t.Errorf("an unknown language names no field: %s", r.body)
		}

		for _, who := range []string{"kam1", "d1", "e1", "admin"} {
			me := e.must(200, "GET", "/api/v1/auth/me", who, "")
			if lookupStr(me, "user.language") != "" {
				t.Errorf("%s: a language before any was chosen: %v", who, me)
			}
			r := e.serve(request{method: "PATCH", path: "/api/v1/auth/me", as: who, body: `{"language":"zh-CN"}`})
			wantStatus(t, who+" sets their language", r, 200, "")
			check("PATCH", "/api/v1/auth/me", r)
			if lookupStr(r.json, "user.language") != "zh-CN" || lookupStr(r.json, "user.username") != who {
				t.Errorf("%s: PATCH /auth/me answered %s", who, r.body)
			}
			stored, err := d.UserByUsername(context.Background(), who)
			if err != nil || stored.Language != kamflow.LangChinese {
				t.Errorf("%s: stored %+v, %v", who, stored, err)
			}
			if me := e.must(200, "GET", "/api/v1/auth/me", who, ""); lookupStr(me, "user.language") != "zh-CN" {
				t.Errorf("%s: me after the change: %v", who, me)
			}
		}
		for name, body := range map[string]string{
			"an unknown language": `{"language":"de"}`,
			"nothing":             `{}`,
			"another field":       `{"role":"admin"}`,
		} {
			r := e.serve(request{method: "PATCH", path: "/api/v1/auth/me", as: "kam1", body: body})
			wantStatus(t, "PATCH /auth/me with "+name, r, 400, kamflow.EINVALID)
			check("PATCH", "/api/v1/auth/me", r)
		}
		if stored, _ := d.UserByUsername(context.Background(), "kam1"); stored.Role != kamflow.UserKAM || stored.Language != kamflow.LangChinese {
			t.Errorf("kam1 after the refused changes: %+v", stored)
		}
		// Without a session it is 401.
		wantStatus(t, "PATCH /auth/me signed out", e.serve(request{method: "PATCH", path: "/api/v1/auth/me", body: `{"language":"en"}`}), 401, kamflow.EUNAUTHORIZED)
	})
}
