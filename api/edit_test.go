package api_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/db"
	"github.com/kamflow/kamflow/db/dbtest"
)

// named gives the test org's people display names, as a real org's have, and adds a disabled
// KAM of east and an engineer of west: the pickers must leave both out.
func named(t *testing.T, e *testEnv) {
	t.Helper()
	ctx := context.Background()
	for username, name := range map[string]string{"kam1": "李明", "kam2": "Zhang Wei", "d1": "王总监", "e1": "赵工", "e2": "Engineer Two"} {
		u := e.users[username]
		u.Name = name
		if err := e.db.UpdateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range []*kamflow.User{
		{ID: "user-kam9", Username: "kam9", Name: "Gone KAM", Role: kamflow.UserKAM, Teams: []string{"east"}, Disabled: true},
		{ID: "user-e3", Username: "e3", Name: "Engineer West", Role: kamflow.UserEngineer, Teams: []string{"west"}},
	} {
		u.PasswordHash, u.CreatedAt, u.UpdatedAt = passwordHash(), T0, T0
		if err := e.db.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		e.users[u.Username] = u
	}
}

func people(t *testing.T, res map[string]any) string {
	t.Helper()
	var out []string
	items, _ := res["items"].([]any)
	for _, it := range items {
		p := it.(map[string]any)
		out = append(out, fmt.Sprintf("%s=%s", p["username"], p["name"]))
	}
	return strings.Join(out, ",")
}

// TestEditDealInPlace: the deal's KAMs and director edit its title, value, currency, expected
// close and notes through the deal's workflow; the timeline says what changed; an engineer may
// not, another team does not see the deal, an edit of nothing is refused with its reason.
func TestEditDealInPlace(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		acct := e.must(201, "POST", "/api/v1/accounts", "kam1", `{"name":"Baowu Steel Zhanjiang"}`)["id"].(string)
		deal := e.must(201, "POST", "/api/v1/deals", "kam1", fmt.Sprintf(`{"account_id":%q,"title":"Coke oven gas analysers","value":"1200000.00","currency":"CNY"}`, acct))["id"].(string)
		p := "/api/v1/deals/" + deal
		e.must(200, "PUT", p+"/engineers", "kam1", `{"engineers":["e1"]}`)

		got := e.must(200, "PATCH", p, "kam2", `{"title":"Coke oven gas analysers, lines 3 and 4","value":"2400000.00"}`)
		if got["title"] != "Coke oven gas analysers, lines 3 and 4" || got["value"] != "2400000.00" || got["currency"] != "CNY" {
			t.Errorf("edited deal: %v %v %v", got["title"], got["value"], got["currency"])
		}
		got = e.must(200, "PATCH", p, "d1", `{"expected_close":"2026-11-30","currency":"USD","notes":"Budget approved by the group in May"}`)
		if got["expected_close"] != "2026-11-30" || got["currency"] != "USD" || got["notes"] != "Budget approved by the group in May" {
			t.Errorf("edited deal: %v %v %v", got["expected_close"], got["currency"], got["notes"])
		}
		if got := e.must(200, "GET", p, "e1", ""); got["notes"] != "Budget approved by the group in May" {
			t.Errorf("notes read back: %v", got["notes"])
		}

		tl := e.timeline(t, deal, "kam1")
		var edits []map[string]any
		for _, x := range tl {
			if x["action"] == "deal.edit" {
				edits = append(edits, x)
			}
		}
		if len(edits) != 2 {
			t.Fatalf("timeline edits: %v", edits)
		}
		first := edits[1] // newest first
		before, _ := first["before"].(map[string]any)
		after, _ := first["after"].(map[string]any)
		if first["actor"] != "kam2" || before["title"] != "Coke oven gas analysers" || after["title"] != "Coke oven gas analysers, lines 3 and 4" ||
			before["value"] != "1200000.00" || after["value"] != "2400000.00" || after["expected_close"] != nil {
			t.Errorf("edit entry: %v", first)
		}
		if a, _ := edits[0]["after"].(map[string]any); a["notes"] != true || a["currency"] != "USD" {
			t.Errorf("second edit entry: %v", edits[0])
		}

		for _, tt := range []struct {
			as, body    string
			status      int
			code, field string
		}{
			{"e1", `{"title":"Mine now"}`, 403, kamflow.EFORBIDDEN, ""},
			{"kam3", `{"title":"Mine now"}`, 404, kamflow.ENOTFOUND, ""},
			{"kam1", `{"title":"Coke oven gas analysers, lines 3 and 4"}`, 400, kamflow.EINVALID, ""},
			{"kam1", `{"currency":"RMB"}`, 400, kamflow.EINVALID, "currency"},
			{"kam1", `{"value":"-5"}`, 400, kamflow.EINVALID, ""},
			{"kam1", `{"expected_close":"2026-13-01"}`, 400, kamflow.EINVALID, ""},
			{"kam1", `{"owner":"kam2"}`, 400, kamflow.EINVALID, ""},
		} {
			res := e.serve(request{method: "PATCH", path: p, as: tt.as, body: tt.body})
			code, _ := lookup(res.json, "error.code")
			field, _ := lookup(res.json, "error.details.field")
			if res.status != tt.status || code != tt.code || (tt.field != "" && field != tt.field) {
				t.Errorf("%s %s: %d %s", tt.as, tt.body, res.status, res.body)
			}
		}
		res := e.serve(request{method: "PATCH", path: p, as: "kam1", body: `{"title":"Coke oven gas analysers, lines 3 and 4"}`})
		if reason, _ := lookup(res.json, "error.details.reason"); reason != "unchanged" {
			t.Errorf("an edit of nothing: %s", res.body)
		}
	})
}

// TestPeoplePickers: the picker of a deal's owner lists the KAMs of its team a director may give
// it to (not its owner, not a disabled KAM, not another team's), by name, and only a director
// may ask; the engineers' picker lists the team's enabled engineers to whoever may assign them.
// What the picker offers is what the commands accept.
func TestPeoplePickers(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		named(t, e)
		acct := e.must(201, "POST", "/api/v1/accounts", "kam1", `{"name":"Baowu Steel Zhanjiang"}`)["id"].(string)
		deal := e.must(201, "POST", "/api/v1/deals", "kam1", fmt.Sprintf(`{"account_id":%q,"title":"Coke oven gas analysers","currency":"CNY"}`, acct))["id"].(string)
		p := "/api/v1/deals/" + deal

		if got := people(t, e.must(200, "GET", p+"/people?purpose=owner", "d1", "")); got != "kam2=Zhang Wei" {
			t.Errorf("owner picker: %s", got)
		}
		for _, as := range []string{"kam1", "kam2"} {
			res := e.serve(request{method: "GET", path: p + "/people?purpose=owner", as: as})
			if code, _ := lookup(res.json, "error.code"); res.status != 403 || code != kamflow.EFORBIDDEN {
				t.Errorf("%s asks for the owner picker: %d %s", as, res.status, res.body)
			}
		}
		e.must(404, "GET", p+"/people?purpose=owner", "d2", "")
		e.must(400, "GET", p+"/people?purpose=friends", "d1", "")
		e.must(400, "GET", p+"/people", "d1", "")
		for _, as := range []string{"kam1", "d1"} {
			if got := people(t, e.must(200, "GET", p+"/people?purpose=engineers", as, "")); got != "e2=Engineer Two,e1=赵工" {
				t.Errorf("engineers picker for %s: %s", as, got)
			}
		}

		// Every one offered is accepted; the ones left out are refused.
		e.must(200, "PUT", p+"/engineers", "kam1", `{"engineers":["e1","e2"]}`)
		e.must(403, "GET", p+"/people?purpose=engineers", "e1", "")
		e.must(400, "PUT", p+"/engineers", "kam1", `{"engineers":["e3"]}`)
		e.must(400, "POST", p+"/reassign", "d1", `{"owner":"kam9"}`)
		e.must(400, "POST", p+"/reassign", "d1", `{"owner":"kam3"}`)
		if got := e.must(200, "POST", p+"/reassign", "d1", `{"owner":"kam2","reason":"kam1 moves to the steel accounts"}`); got["owner"] != "kam2" {
			t.Errorf("reassigned owner %v", got["owner"])
		}
		if got := people(t, e.must(200, "GET", p+"/people?purpose=owner", "d1", "")); got != "kam1=李明" {
			t.Errorf("owner picker after the reassignment: %s", got)
		}

		// The directory names everyone, disabled users too, for any signed-in user.
		dir := people(t, e.must(200, "GET", "/api/v1/people", "e1", ""))
		for _, want := range []string{"kam1=李明", "kam9=Gone KAM", "d1=王总监", "admin=admin"} {
			if !strings.Contains(dir, want) {
				t.Errorf("directory %s: no %s", dir, want)
			}
		}
		e.must(401, "GET", "/api/v1/people", "", "")
	})
}

// TestCertificateNumberAndNames: the acceptance certificate has a number KF-<year>-<6 digits>
// given the first time and the same on every download and to every reader, downloads under a
// readable file name (RFC 6266 filename*), and its JSON says the same number.
func TestCertificateNumberAndNames(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		named(t, e)
		m := &matrixRun{env: e}
		_, first := m.fresh(accepted)
		_, second := m.fresh(accepted)
		year := e.clock.Now().UTC().Year()
		want := func(n int) string { return fmt.Sprintf("KF-%d-%06d", year, n) }

		info := e.must(200, "GET", "/api/v1/deals/"+second+"/acceptance/certificate", "kam1", "")
		if info["number"] != want(1) || info["filename"] != "验收证书-"+want(1)+".pdf" || info["filename_en"] != "acceptance-"+want(1)+".pdf" {
			t.Errorf("second deal's certificate, asked first: %v", info)
		}
		for _, tt := range []struct {
			deal, as, lang, number, name string
		}{
			{first, "e1", "zh-CN", want(2), "验收证书-" + want(2) + ".pdf"},
			{first, "kam2", "en", want(2), "acceptance-" + want(2) + ".pdf"},
			{second, "d1", "en", want(1), "acceptance-" + want(1) + ".pdf"},
		} {
			res := e.serve(request{method: "GET", path: "/api/v1/deals/" + tt.deal + "/acceptance/certificate.pdf?lang=" + tt.lang, as: tt.as})
			if res.status != 200 || !strings.HasPrefix(string(res.body), "%PDF-") {
				t.Fatalf("certificate: %d %.80s", res.status, res.body)
			}
			if n := res.header.Get("X-Certificate-Number"); n != tt.number {
				t.Errorf("%s's certificate number %q, want %s", tt.as, n, tt.number)
			}
			cd := res.header.Get("Content-Disposition")
			if !strings.Contains(cd, `filename="acceptance-`+tt.number+`.pdf"`) || !strings.Contains(cd, "filename*=UTF-8''"+url.PathEscape(tt.name)) {
				t.Errorf("Content-Disposition %q, want %s", cd, tt.name)
			}
		}
		if info := e.must(200, "GET", "/api/v1/deals/"+first+"/acceptance/certificate", "kam1", ""); info["number"] != want(2) {
			t.Errorf("first deal's number asked again: %v", info)
		}
	})
}
