package api_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/api"
	"github.com/kamflow/kamflow/db"
	"github.com/kamflow/kamflow/db/dbtest"
	"github.com/kamflow/kamflow/ui"
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

// TestInboxAPI: GET /notifications pages the signed-in user's own notifications with the unread
// count and the names of the people their params name; POST /notifications/{id}/read marks one
// read (another user's is not found, a bad id invalid with field id); POST
// /notifications/read-all marks all, or up to up_to; every answer as openapi.json says, for
// every role.
func TestInboxAPI(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		ctx := context.Background()
		check := func(method, path string, r *response) {
			t.Helper()
			if err := api.CheckOpenAPI(method, path, nil, r.status, r.body); err != nil {
				t.Error(err)
			}
		}
		if _, err := d.EditUser(ctx, "user-kam1", kamflow.Edit{By: "admin", At: T0}, func(u *kamflow.User) ([]*kamflow.AuditEntry, error) {
			u.Name = "李娜"
			return nil, nil
		}); err != nil {
			t.Fatal(err)
		}
		var ns []kamflow.Notification
		for i := range 3 {
			ns = append(ns, kamflow.Notification{UserID: "d1", DealID: "deal-1", Kind: kamflow.NoticeEscalated, Key: fmt.Sprintf("esc:%d", i),
				Params:  map[string]string{kamflow.NoticeParamTitle: "Boiler", kamflow.NoticeParamOwner: "kam1", kamflow.NoticeParamStage: "bid"},
				Message: "Boiler (owner kam1) has made no progress", CreatedAt: T0.Add(time.Duration(i) * time.Minute)})
		}
		ns = append(ns, kamflow.Notification{UserID: "kam1", DealID: "deal-1", Kind: kamflow.NoticeStalled, Message: "old row", CreatedAt: T0})
		if err := d.Notify(ctx, ns); err != nil {
			t.Fatal(err)
		}
		list := func(who, query string) map[string]any {
			t.Helper()
			r := e.serve(request{method: "GET", path: "/api/v1/notifications" + query, as: who})
			wantStatus(t, who+" lists "+query, r, 200, "")
			check("GET", "/api/v1/notifications", r)
			return r.json.(map[string]any)
		}
		l := list("d1", "?limit=2")
		if l["total"] != 3.0 || l["unread"] != 3.0 || len(l["items"].([]any)) != 2 || lookupStr(l, "people.kam1") != "李娜" ||
			lookupStr(l, "items.0.key") != "esc:2" || lookupStr(l, "items.0.params.stage") != "bid" {
			t.Fatalf("d1's first page: %v", l)
		}
		first := int64(must(lookup(l, "items.1.id")).(float64))
		for _, who := range []string{"e1", "admin", "kam2"} {
			if l := list(who, ""); l["total"] != 0.0 || l["unread"] != 0.0 {
				t.Errorf("%s sees others' notifications: %v", who, l)
			}
		}
		if l := list("kam1", ""); l["unread"] != 1.0 || lookupStr(l, "items.0.message") != "old row" {
			t.Errorf("kam1's inbox: %v", l)
		}

		path := fmt.Sprintf("/api/v1/notifications/%d/read", first)
		r := e.serve(request{method: "POST", path: path, as: "kam1"})
		wantStatus(t, "kam1 reads d1's notification", r, 404, kamflow.ENOTFOUND)
		check("POST", path, r)
		r = e.serve(request{method: "POST", path: path, as: "d1"})
		wantStatus(t, "d1 reads theirs", r, 200, "")
		check("POST", path, r)
		if lookupStr(r.json, "read_at") == "" {
			t.Errorf("read: %s", r.body)
		}
		if l := list("d1", "?unread=true"); l["total"] != 2.0 || l["unread"] != 2.0 {
			t.Errorf("d1's unread after one read: %v", l)
		}
		for _, bad := range []struct{ method, path, body, field string }{
			{"POST", "/api/v1/notifications/abc/read", "", "id"},
			{"POST", "/api/v1/notifications/0/read", "", "id"},
			{"GET", "/api/v1/notifications?unread=yes", "", "unread"},
			{"GET", "/api/v1/notifications?limit=0", "", "limit"},
			{"POST", "/api/v1/notifications/read-all", `{"up_to":0}`, "up_to"},
			{"POST", "/api/v1/notifications/read-all", `{"up_to":"x"}`, ""},
			{"POST", "/api/v1/notifications/read-all", `{"all":true}`, ""},
		} {
			r := e.serve(request{method: bad.method, path: bad.path, as: "d1", body: bad.body})
			wantStatus(t, bad.method+" "+bad.path+" "+bad.body, r, 400, kamflow.EINVALID)
			if bad.field != "" && lookupStr(r.json, "error.details.field") != bad.field {
				t.Errorf("%s %s: field %q, want %q", bad.method, bad.path, lookupStr(r.json, "error.details.field"), bad.field)
			}
		}
		// Up to the second oldest: the newest stays unread; then all.
		r = e.serve(request{method: "POST", path: "/api/v1/notifications/read-all", as: "d1", body: fmt.Sprintf(`{"up_to":%d}`, first)})
		wantStatus(t, "read all up to", r, 200, "")
		check("POST", "/api/v1/notifications/read-all", r)
		if r.json.(map[string]any)["unread"] != 1.0 {
			t.Errorf("read all up to %d: %s", first, r.body)
		}
		r = e.serve(request{method: "POST", path: "/api/v1/notifications/read-all", as: "d1"})
		wantStatus(t, "read all", r, 200, "")
		if m := r.json.(map[string]any); m["unread"] != 0.0 || m["marked"] != 1.0 {
			t.Errorf("read all: %s", r.body)
		}
		if l := list("kam1", ""); l["unread"] != 1.0 {
			t.Errorf("d1's read-all touched kam1's: %v", l)
		}
	})
}

// TestInboxTexts: the inbox answers each notification's text in the reader's language — the
// page's lang, else the user's own, else English — from its kind and params with people by name,
// and the English message for a row stored before kinds carried params.
func TestInboxTexts(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, func(c *api.Config) { c.NoticeText = ui.NoticeText })
		ctx := context.Background()
		if _, err := d.EditUser(ctx, "user-kam1", kamflow.Edit{By: "admin", At: T0}, func(u *kamflow.User) ([]*kamflow.AuditEntry, error) {
			u.Name = "李娜"
			return nil, nil
		}); err != nil {
			t.Fatal(err)
		}
		err := d.Notify(ctx, []kamflow.Notification{
			{UserID: "d1", DealID: "deal-1", Kind: kamflow.NoticeEscalated, Key: "esc:1", CreatedAt: T0,
				Params: map[string]string{kamflow.NoticeParamTitle: "Boiler", kamflow.NoticeParamOwner: "kam1", kamflow.NoticeParamStage: "bid",
					kamflow.NoticeParamStalledFor: "3d", kamflow.NoticeParamSLA: "5d"},
				Message: "Boiler (owner kam1) has made no progress"},
			{UserID: "d1", DealID: "deal-1", Kind: kamflow.NoticeStalled, Key: "old", Message: "an old row", CreatedAt: T0.Add(-time.Minute)},
		})
		if err != nil {
			t.Fatal(err)
		}
		text := func(query string) (string, string) {
			t.Helper()
			r := e.serve(request{method: "GET", path: "/api/v1/notifications" + query, as: "d1"})
			wantStatus(t, "list "+query, r, 200, "")
			if err := api.CheckOpenAPI("GET", "/api/v1/notifications", nil, r.status, r.body); err != nil {
				t.Error(err)
			}
			return lookupStr(r.json, "items.0.text"), lookupStr(r.json, "items.1.text")
		}
		zh, old := text("?lang=zh-CN")
		if !strings.Contains(zh, "Boiler") || !strings.Contains(zh, "李娜") || strings.Contains(zh, "bid") || strings.Contains(zh, "3d") || strings.Contains(zh, "kam1") {
			t.Errorf("in Chinese: %q", zh)
		}
		if old != "an old row" {
			t.Errorf("an old row in Chinese: %q, want its message", old)
		}
		if en, _ := text("?lang=en"); !strings.Contains(en, "Boiler (owner 李娜)") || !strings.Contains(en, "3 days") {
			t.Errorf("in English: %q", en)
		}
		if en, _ := text(""); !strings.HasPrefix(en, "Boiler") {
			t.Errorf("without a language (d1 has none): %q, want English", en)
		}
		e.must(200, "PATCH", "/api/v1/auth/me", "d1", `{"language":"zh-CN"}`)
		if mine, _ := text(""); mine != zh {
			t.Errorf("in d1's own language: %q, want %q", mine, zh)
		}
		r := e.serve(request{method: "GET", path: "/api/v1/notifications?lang=fr", as: "d1"})
		wantStatus(t, "lang=fr", r, 400, "invalid")
		if lookupStr(r.json, "error.details.field") != "lang" {
			t.Errorf("lang=fr: %s", r.body)
		}
	})
}
