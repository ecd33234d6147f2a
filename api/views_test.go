package api_test

import (
	"encoding/csv"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/kamflow/kamflow/db/dbtest"
)

// TestDealListView is the list view's API on SQLite (the queries of both dialects are the
// store's test): the deal list sorted, a page at a time, filtered by team, close month and text,
// with the totals of every page and the weighted value; the board's column heads with theirs; the
// export of exactly the list; and each user's saved views.
func TestDealListView(t *testing.T) {
	e := newEnv(t, dbtest.SQLite(t))
	acct := e.must(201, "POST", "/api/v1/accounts", "kam1", `{"name":"镇海炼化 Zhenhai Refining"}`)["id"].(string)
	other := e.must(201, "POST", "/api/v1/accounts", "kam1", `{"name":"Yangzi Petrochemical"}`)["id"].(string)
	deal := func(account, title, value, currency, close string) string {
		return e.must(201, "POST", "/api/v1/deals", "kam1", fmt.Sprintf(`{"account_id":%q,"title":%q,"value":%q,"currency":%q,"expected_close":%q}`,
			account, title, value, currency, close))["id"].(string)
	}
	pumps := deal(other, "Boiler feed pumps", "12000000.00", "CNY", "2026-08-01")
	comp := deal(acct, "Compressor overhaul", "5000000.00", "CNY", "2026-07-15")
	meters := deal(acct, "Flow meters", "300000.00", "USD", "2026-07-31")
	lost := deal(acct, "Cooling towers", "900000.00", "CNY", "2026-07-20")
	e.must(200, "POST", "/api/v1/deals/"+lost+"/close", "kam1", `{"outcome":"abandoned","reason":"Out of scope"}`)

	ids := func(path string) ([]string, map[string]any) {
		t.Helper()
		res := e.must(200, "GET", path, "kam1", "")
		var out []string
		for _, it := range res["items"].([]any) {
			out = append(out, it.(map[string]any)["id"].(string))
		}
		return out, res
	}
	eq := func(what string, got []string, want ...string) {
		t.Helper()
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s: %v, want %v", what, got, want)
		}
	}
	got, _ := ids("/api/v1/deals?status=active&sort=-value")
	eq("by value", got, pumps, comp, meters)
	got, _ = ids("/api/v1/deals?status=active&sort=close")
	eq("by close", got, comp, meters, pumps)
	got, res := ids("/api/v1/deals?status=active&sort=-value&limit=2&offset=2&totals=true")
	eq("second page", got, meters)
	tot, _ := res["totals"].(map[string]any)
	if res["total"] != 3.0 || tot == nil || tot["count"] != 3.0 {
		t.Fatalf("page of %v, totals %v", res["total"], tot)
	}
	// Every deal at development: 10% win probability, weighted per currency over every page.
	if v, w := fmt.Sprint(tot["value"]), fmt.Sprint(tot["weighted"]); v != "[map[currency:CNY total:17000000.00] map[currency:USD total:300000.00]]" ||
		w != "[map[currency:CNY total:1700000.00] map[currency:USD total:30000.00]]" {
		t.Errorf("totals: value %s, weighted %s", v, w)
	}
	got, _ = ids("/api/v1/deals?status=active&close_month=2026-07&sort=title")
	eq("close month", got, comp, meters)
	got, _ = ids("/api/v1/deals?status=active&q=" + url.QueryEscape("镇海") + "&sort=title")
	eq("account's name", got, comp, meters)
	got, _ = ids("/api/v1/deals?status=active&q=PUMPS&team=east")
	eq("title and team", got, pumps)
	got, _ = ids("/api/v1/deals?status=active&team=west")
	eq("another team", got)
	for _, bad := range []string{"sort=size", "close_month=July", "q=" + strings.Repeat("x", 201)} {
		if res := e.serve(request{method: "GET", path: "/api/v1/deals?" + bad, as: "kam1"}); res.status != 400 {
			t.Errorf("%s: status %d", bad, res.status)
		}
	}
	pipe := e.must(200, "GET", "/api/v1/reports/pipeline?q=compressor", "kam1", "")
	if dev := fmt.Sprint(pipe["stages"].([]any)[0]); !strings.Contains(dev, "weighted:[map[currency:CNY total:500000.00]]") || !strings.Contains(dev, "count:1") {
		t.Errorf("the board's development column: %s", dev)
	}

	// The export is the list: its filters, its order, every page.
	res2 := e.serve(request{method: "GET", path: "/api/v1/exports/deals?format=csv&status=active&close_month=2026-07&sort=-value", as: "kam1"})
	if res2.status != 200 {
		t.Fatalf("export: %d %s", res2.status, res2.body)
	}
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(res2.body), "\ufeff"))).ReadAll()
	if err != nil || len(rows) != 3 || rows[1][0] != comp || rows[2][0] != meters || rows[1][2] != "镇海炼化 Zhenhai Refining" {
		t.Fatalf("export rows %v (%v)", rows, err)
	}
	all := e.serve(request{method: "GET", path: "/api/v1/exports/deals?format=csv", as: "kam1"})
	if n := strings.Count(string(all.body), "\n"); n != 5 {
		t.Errorf("the export of every deal has %d lines, want 5 (the abandoned deal too)", n)
	}

	// Saved views: each user's own, by name; a name saved again is replaced.
	v := e.must(200, "POST", "/api/v1/saved-views", "kam1", `{"name":" July closes ","page":"list","query":"?close_month=2026-07&sort=-value"}`)
	if v["name"] != "July closes" || v["query"] != "close_month=2026-07&sort=-value" {
		t.Fatalf("saved %v", v)
	}
	again := e.must(200, "POST", "/api/v1/saved-views", "kam1", `{"name":"July closes","page":"list","query":"close_month=2026-07"}`)
	if again["id"] != v["id"] {
		t.Errorf("saved again as %v, not %v", again["id"], v["id"])
	}
	e.must(200, "POST", "/api/v1/saved-views", "kam1", `{"name":"Stalled","page":"board","query":"stalled=true"}`)
	if list := e.must(200, "GET", "/api/v1/saved-views?page=list", "kam1", "")["items"].([]any); len(list) != 1 || list[0].(map[string]any)["query"] != "close_month=2026-07" {
		t.Errorf("kam1's list views %v", list)
	}
	if list := e.must(200, "GET", "/api/v1/saved-views", "kam2", "")["items"].([]any); len(list) != 0 {
		t.Errorf("kam2 sees %v", list)
	}
	for _, bad := range []string{`{"name":"","page":"list"}`, `{"name":"x","page":"report"}`, `{"name":"x","page":"list","query":"token=1"}`} {
		if res := e.serve(request{method: "POST", path: "/api/v1/saved-views", as: "kam1", body: bad}); res.status != 400 {
			t.Errorf("%s: status %d", bad, res.status)
		}
	}
	e.must(404, "DELETE", "/api/v1/saved-views/"+v["id"].(string), "kam2", "")
	e.must(204, "DELETE", "/api/v1/saved-views/"+v["id"].(string), "kam1", "")
}
