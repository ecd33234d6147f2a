package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestBrowserAttention is issue 11's "no stuck deal" on the real stack: the database refuses a
// deal's change (a trigger stands in for data it can never accept), so the deal needs attention —
// its KAM's command is answered so, other deals go on, the metrics count it — and the admin finds
// it on the "Deals needing attention" page, in English and in Chinese; a retry before the cause is
// fixed fails and says so in the admin's language, a retry after it writes the change and the deal
// is back to normal, off the list and on with its work.
func TestBrowserAttention(t *testing.T) {
	app, srv := browserStack(t)

	kam := login(t, srv.URL, "kam1")
	acct := kam.do("POST", "/api/v1/accounts", map[string]any{"name": "镇海炼化 Zhenhai Refining", "industry": "petrochemical"}, 201)
	closeOn := time.Now().AddDate(0, 5, 0).Format(time.DateOnly)
	newDeal := func(title string) string {
		return kam.do("POST", "/api/v1/deals", map[string]any{"account_id": acct["id"], "title": title, "value": "3200000",
			"currency": "CNY", "expected_close": closeOn}, 201)["id"].(string)
	}
	stuck, other := newDeal("Flare gas recovery compressors"), newDeal("Tank farm radar gauges")
	scores := map[string]int{}
	for _, f := range []string{"project_level", "funding", "technical_fit", "relationship", "credit", "product", "price", "solution", "service"} {
		scores[f] = 4
	}
	assess := map[string]any{"scores": scores, "expected_close": closeOn, "likelihood": 75}

	g := app.db.Gorm()
	if err := g.Exec(`CREATE TRIGGER refuse_deal BEFORE UPDATE ON deals WHEN NEW.id = '` + stuck + `'
		BEGIN SELECT RAISE(ABORT, 'value refused by the browser test'); END`).Error; err != nil {
		t.Fatal(err)
	}
	refused := kam.do("PUT", "/api/v1/deals/"+stuck+"/assessment", assess, 503)
	if msg, _ := refused["error"].(map[string]any)["message"].(string); !strings.Contains(msg, "needs attention") {
		t.Errorf("the refused change is answered %v", refused)
	}
	kam.do("PUT", "/api/v1/deals/"+other+"/assessment", assess, 200) // no other deal waits

	metrics := func() string {
		t.Helper()
		res, err := http.Get(srv.URL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode != 200 {
			t.Fatalf("GET /metrics: %d %s", res.StatusCode, body)
		}
		return string(body)
	}
	if m := metrics(); !strings.Contains(m, "kamflow_deals_needing_attention 1") || !strings.Contains(m, `kamflow_projection_failures_total{reason="refused"} 1`) {
		t.Errorf("metrics with a deal needing attention:\n%s", m)
	}

	b := newBrowser(t, srv.URL)
	b.open("/", "#login-form")
	b.signIn("admin")
	b.click(`.mainnav a[href="/attention"]`)
	b.visible("#attention-list")
	row := `#attention-list tr[data-deal="` + stuck + `"]`
	b.waitText("h1", "Deals needing attention")
	b.waitText(row, "Flare gas recovery compressors")
	b.waitText(row, "Refused by the database")
	b.waitText(row, "value refused by the browser test")
	b.waitText(row, "1 change")
	b.waitText(row, "kam1")
	if n := eval[int](b, `document.querySelectorAll('#attention-list tbody tr').length`); n != 1 {
		t.Errorf("%d deals listed, want 1", n)
	}
	b.screenshot("attention-en.png")
	b.check()

	// In Chinese, a retry before the cause is fixed fails, and says so.
	b.set("#lang", "zh-CN")
	b.waitText("h1", "需要处理的商机")
	b.waitText(row, "数据库拒绝了该数据")
	b.screenshot("attention-zh.png")
	b.click(`[data-retry="` + stuck + `"]`)
	b.visible("#retry-form")
	b.waitText("dialog h2", "Flare gas recovery compressors")
	b.click("#retry-confirm")
	b.waitText("#retry-form .alert-error", "变更仍无法写入")
	b.check()

	// The cause fixed, the retry writes the change: the list is empty, the deal back to normal.
	if err := g.Exec(`DROP TRIGGER refuse_deal`).Error; err != nil {
		t.Fatal(err)
	}
	b.click("#retry-confirm")
	b.waitText("#flash", "变更已写入")
	b.waitText("#main", "没有需要处理的商机")
	b.check()
	b.set("#lang", "en")
	b.waitText("#main", "No deal needs attention")

	d := kam.do("GET", "/api/v1/deals/"+stuck, nil, 200)
	if gate, _ := d["gate"].(map[string]any); gate["met"] != true {
		t.Errorf("the assessment is not written: %v", d["gate"])
	}
	tl := kam.do("GET", "/api/v1/deals/"+stuck+"/timeline", nil, 200)
	if items := tl["items"].([]any); len(items) == 0 || items[0].(map[string]any)["action"] != "deal.attention_cleared" {
		t.Errorf("the timeline's newest entry is not the deal back to normal: %v", items)
	}
	kam.do("POST", "/api/v1/deals/"+stuck+"/advance", map[string]any{}, 200)
	if m := metrics(); !strings.Contains(m, "kamflow_deals_needing_attention 0") {
		t.Errorf("metrics once the deal is back to normal:\n%s", m)
	}
}
