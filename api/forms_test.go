package api_test

import (
	"net/url"
	"testing"

	"github.com/kamflow/kamflow/api"
	"github.com/kamflow/kamflow/db"
	"github.com/kamflow/kamflow/db/dbtest"
)

// send is a write as the user whose answer is checked against the OpenAPI document.
func (e *testEnv) send(t *testing.T, method, path, as, body string) *response {
	t.Helper()
	r := e.serve(request{method: method, path: path, as: as, body: body})
	if err := api.CheckOpenAPI(method, path, []byte(body), r.status, r.body); err != nil {
		t.Error(err)
	}
	return r
}

// TestParseAmountRoute: GET /amounts/parse reads what the import reads and says what it
// understood; refused text is invalid with a stable reason.
func TestParseAmountRoute(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		for text, want := range map[string]string{"1200万": "12000000.00", "11,200,000": "11200000.00", "¥1200000": "1200000.00",
			"1,200,000.00": "1200000.00", "2亿": "200000000.00"} {
			r := e.get(t, "kam1", "/api/v1/amounts/parse?text="+url.QueryEscape(text), 200)
			if field(r, "amount") != want || field(r, "text") != text {
				t.Errorf("%s: %s", text, r.body)
			}
		}
		for text, reason := range map[string]string{"12,3": "amount_format", "-5": "amount_negative", "1.234": "amount_decimals", "": "amount_empty"} {
			r := e.get(t, "e1", "/api/v1/amounts/parse?text="+url.QueryEscape(text), 400)
			if field(r, "error.code") != "invalid" || field(r, "error.details.reason") != reason || field(r, "error.details.field") != "text" {
				t.Errorf("%q: %s", text, r.body)
			}
		}
		e.get(t, "", "/api/v1/amounts/parse?text=1", 401)
	})
}

// TestLossReasons: the admin's list of loss reasons is in the settings (the defaults in both
// languages until set), a lost deal is closed with one of them (or other with words), and the
// losses report counts them by code, the old reasons in words regardless of case.
func TestLossReasons(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		s := e.get(t, "kam1", "/api/v1/settings", 200)
		if field(s, "loss_reasons.0.code") != "price" || field(s, "loss_reasons.5.code") != "budget_cancelled" || field(s, "loss_reasons.0.labels.zh-CN") != "价格" {
			t.Fatalf("no list set, the defaults: %s", field(s, "loss_reasons"))
		}
		acct := e.must(201, "POST", "/api/v1/accounts", "kam1", `{"name":"Sinopec Zhenhai"}`)["id"].(string)
		deal := func() string {
			return e.must(201, "POST", "/api/v1/deals", "kam1", `{"account_id":"`+acct+`","title":"Boiler feed pumps","value":"1200000.00","currency":"CNY"}`)["id"].(string)
		}
		// Only an admin sets the list; a bad one is refused with the reason's code.
		if r := e.send(t, "PUT", "/api/v1/settings/loss-reasons", "d1", `{"loss_reasons":[{"code":"price","labels":{"en":"Price","zh-CN":"价格"}}]}`); r.status != 403 {
			t.Errorf("director sets the list: %d", r.status)
		}
		if r := e.serve(request{method: "PUT", path: "/api/v1/settings/loss-reasons", as: "admin", body: `{"loss_reasons":[{"code":"Price","labels":{"en":"Price","zh-CN":"价格"}}]}`}); r.status != 400 || field(r, "error.details.reason") != "loss_reason_code" {
			t.Errorf("bad code: %d %s", r.status, r.body)
		}
		a, b, c, x := deal(), deal(), deal(), deal()
		// Before any list: the defaults.
		if r := e.send(t, "POST", "/api/v1/deals/"+a+"/close", "kam1", `{"outcome":"lost","reason_code":"price","competitor":"ABB"}`); r.status != 200 || field(r, "closing.reason_code") != "price" {
			t.Fatalf("close with a default reason: %d %s", r.status, r.body)
		}
		r := e.send(t, "PUT", "/api/v1/settings/loss-reasons", "admin", `{"loss_reasons":[
			{"code":"price","labels":{"en":"Price","zh-CN":"价格"}},
			{"code":"delivery_time","labels":{"en":" Delivery time ","zh-CN":"交货期"}}]}`)
		if r.status != 200 || field(r, "loss_reasons.1.labels.en") != "Delivery time" || field(r, "fanout.status") != "done" {
			t.Fatalf("set the list: %d %s", r.status, r.body)
		}
		e.svc.awaitFanouts()
		if s := e.get(t, "kam1", "/api/v1/settings", 200); field(s, "loss_reasons.1.code") != "delivery_time" {
			t.Errorf("settings: %s", field(s, "loss_reasons"))
		}
		if r := e.send(t, "POST", "/api/v1/deals/"+b+"/close", "kam1", `{"outcome":"lost","reason_code":"timing"}`); r.status != 400 || field(r, "error.details.reason") != "loss_reason_unknown" {
			t.Errorf("a code no longer listed: %d %s", r.status, r.body)
		}
		if r := e.send(t, "POST", "/api/v1/deals/"+b+"/close", "kam1", `{"outcome":"lost","reason_code":"other"}`); r.status != 400 || field(r, "error.details.reason") != "loss_other_text" {
			t.Errorf("other without words: %d %s", r.status, r.body)
		}
		e.must(200, "POST", "/api/v1/deals/"+b+"/close", "kam1", `{"outcome":"lost","reason_code":"delivery_time","reason":"May at the latest"}`)
		e.must(200, "POST", "/api/v1/deals/"+c+"/close", "kam1", `{"outcome":"lost","reason_code":"price"}`)
		e.must(200, "POST", "/api/v1/deals/"+x+"/close", "kam1", `{"outcome":"lost","reason":"Price "}`) // in words, as before the list
		rep := e.get(t, "d1", "/api/v1/reports/stage-times", 200)
		if field(rep, "losses.0.lost") != "4" || field(rep, "losses.0.reasons.0.code") != "price" || field(rep, "losses.0.reasons.0.count") != "2" ||
			field(rep, "losses.0.reasons.1.value") != "Price" || field(rep, "losses.0.reasons.1.code") != "" || field(rep, "losses.0.reasons.2.code") != "delivery_time" {
			t.Errorf("losses: %s", field(rep, "losses.0"))
		}
	})
}

// TestModelSettings: the margin floor and the assessment's weights and threshold are set by an
// admin (only what is sent changes), told to the running deals, and refused out of range.
func TestModelSettings(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		acct := e.must(201, "POST", "/api/v1/accounts", "kam1", `{"name":"Sinopec Zhenhai"}`)["id"].(string)
		deal := e.must(201, "POST", "/api/v1/deals", "kam1", `{"account_id":"`+acct+`","title":"Boiler feed pumps","value":"1200000.00","currency":"CNY"}`)["id"].(string)
		v := field(e.get(t, "admin", "/api/v1/settings", 200), "version")
		r := e.send(t, "PUT", "/api/v1/settings/model", "admin", `{"margin_floor":22.5,"weights":{"funding":30},"threshold":70,"version":`+v+`}`)
		if r.status != 200 || field(r, "margin_floor") != "22.5" || field(r, "assessment.weights.funding") != "30" ||
			field(r, "assessment.weights.price") != "10" || field(r, "assessment.threshold") != "70" || field(r, "deals_to_tell") != "1" {
			t.Fatalf("set the model: %d %s", r.status, r.body)
		}
		e.svc.awaitFanouts()
		s := e.get(t, "kam1", "/api/v1/settings", 200)
		if field(s, "margin_floor") != "22.5" || field(s, "assessment.threshold") != "70" {
			t.Errorf("settings: %s", s.body)
		}
		st, err := e.svc.state(t.Context(), deal)
		if err != nil || st.Settings.MarginFloor != 22.5 || st.Settings.Assessment.Weights["funding"] != 30 {
			t.Errorf("the deal holds %+v, %v", st.Settings, err)
		}
		for body, f := range map[string]string{
			`{"margin_floor":101}`:   "margin_floor",
			`{"threshold":-1}`:       "threshold",
			`{"weights":{"luck":5}}`: "weights",
			`{}`:                     "margin_floor",
		} {
			if r := e.serve(request{method: "PUT", path: "/api/v1/settings/model", as: "admin", body: body}); r.status != 400 || field(r, "error.details.field") != f {
				t.Errorf("%s: %d %s", body, r.status, r.body)
			}
		}
		if r := e.send(t, "PUT", "/api/v1/settings/model", "admin", `{"margin_floor":10,"version":`+v+`}`); r.status != 409 {
			t.Errorf("an old version: %d %s", r.status, r.body)
		}
		if r := e.send(t, "PUT", "/api/v1/settings/model", "kam1", `{"margin_floor":10}`); r.status != 403 {
			t.Errorf("a KAM: %d", r.status)
		}
	})
}

// TestRenameTeam: an admin renames a team; its id stays, a name taken (in any case) is a
// conflict.
func TestRenameTeam(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		if r := e.send(t, "PATCH", "/api/v1/teams/east", "admin", `{"name":"East China"}`); r.status != 200 || field(r, "id") != "east" || field(r, "name") != "East China" {
			t.Fatalf("rename: %d %s", r.status, r.body)
		}
		if r := e.get(t, "d1", "/api/v1/teams", 200); field(r, "items.0.name") != "East China" {
			t.Errorf("teams: %s", r.body)
		}
		if r := e.send(t, "PATCH", "/api/v1/teams/east", "admin", `{"name":"WEST"}`); r.status != 409 {
			t.Errorf("a name taken: %d %s", r.status, r.body)
		}
		if r := e.send(t, "PATCH", "/api/v1/teams/nope", "admin", `{"name":"North"}`); r.status != 404 {
			t.Errorf("no such team: %d %s", r.status, r.body)
		}
		if r := e.send(t, "PATCH", "/api/v1/teams/east", "admin", `{"name":"  "}`); r.status != 400 {
			t.Errorf("a blank name: %d %s", r.status, r.body)
		}
		if r := e.send(t, "PATCH", "/api/v1/teams/east", "d1", `{"name":"Mine"}`); r.status != 403 {
			t.Errorf("a director: %d", r.status)
		}
	})
}
