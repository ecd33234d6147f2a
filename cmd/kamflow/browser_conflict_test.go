package main

import (
	"testing"
	"time"
)

// TestBrowserChangedMeanwhile: a change made on a page whose record someone else changed since
// it was read is not saved over theirs. The page says who changed it, by name, and the user
// applies their own change again to the record as it is now, which keeps both: an account's
// profile (KAM and KAM), a stage's SLA (an admin in two tabs). An advance clicked on a deal page
// after the deal has moved says so instead of moving the deal again. In English and in Chinese.
func TestBrowserChangedMeanwhile(t *testing.T) {
	_, srv := browserStack(t)

	kam := login(t, srv.URL, "kam1")
	kam2 := login(t, srv.URL, "kam2")
	admin := login(t, srv.URL, "admin")
	acct := kam.do("POST", "/api/v1/accounts", map[string]any{"name": "浙江石化 Zhejiang Petrochemical", "industry": "petrochemical"}, 201)["id"].(string)

	b := newBrowser(t, srv.URL)
	b.open("/", "#login-form")
	b.signIn("kam1")

	// kam1 edits the profile; kam2 changes another part of it before kam1 saves.
	b.open("/accounts/"+acct, "#account-profile")
	b.click("#edit-profile")
	b.visible("#profile-form")
	b.typeIn("#profile-organisation", "The plant director decides")
	kam2.do("PATCH", "/api/v1/accounts/"+acct, map[string]any{"profile": map[string]any{"market": "Exports up 20%"}}, 200)
	b.click("#profile-save")
	b.waitText("#profile-form .changed-meanwhile", "Changed by 张经理 Zhang (KAM) meanwhile.")
	if v := b.text("#account-profile"); v == "" {
		t.Fatal("no profile panel")
	}
	b.screenshot("changed-meanwhile-en.png")
	b.click("#profile-form .conflict-reapply")
	b.waitText("#flash", "Customer profile saved.")
	b.waitText(`#account-profile [data-field=organisation]`, "The plant director decides")
	b.waitText(`#account-profile [data-field=market]`, "Exports up 20%")
	a := kam.do("GET", "/api/v1/accounts/"+acct, nil, 200)
	if p := a["profile"].(map[string]any); p["organisation"] != "The plant director decides" || p["market"] != "Exports up 20%" || a["version"] != float64(3) {
		t.Errorf("after the reapply: %v (version %v)", p, a["version"])
	}
	b.check()

	// An advance clicked after the deal moved on: said, not made twice.
	deal := kam.do("POST", "/api/v1/deals", map[string]any{"account_id": acct, "title": "Compressor retrofit", "value": "2000000", "currency": "CNY",
		"expected_close": time.Now().AddDate(0, 5, 0).Format(time.DateOnly)}, 201)["id"].(string)
	scores := map[string]int{}
	for _, f := range []string{"project_level", "funding", "technical_fit", "relationship", "credit", "product", "price", "solution", "service"} {
		scores[f] = 4
	}
	kam.do("PUT", "/api/v1/deals/"+deal+"/assessment", map[string]any{"scores": scores, "expected_close": time.Now().AddDate(0, 5, 0).Format(time.DateOnly), "likelihood": 75}, 200)
	b.open("/deals/"+deal, "#advance")
	kam2.do("POST", "/api/v1/deals/"+deal+"/advance", map[string]any{"from": "development"}, 200)
	b.click("#advance")
	b.waitText("#moved-meanwhile", "The deal has moved on meanwhile: it is in Sales entry now.")
	if h := kam.do("GET", "/api/v1/deals/"+deal+"/history", nil, 200)["items"].([]any); len(h) != 2 {
		t.Errorf("history after the second click: %d rows, want 2 (created, advanced)", len(h))
	}
	b.check()
	b.signOut()

	// An admin changes the entry stage's SLA on a page read before the bid stage's changed.
	b.signIn("admin")
	b.waitFor("settings", `location.pathname === '/settings' && !!document.querySelector('#sla-entry')`)
	b.set("#sla-entry", "40") // days, as the 45 days shown
	admin.do("PUT", "/api/v1/settings/stages/bid", map[string]any{"sla": "14d"}, 200)
	b.click(`form[data-stage=entry] button[type=submit]`)
	b.waitText(`form[data-stage=entry] .changed-meanwhile`, "Changed by Administrator meanwhile.")
	b.click(`form[data-stage=entry] .conflict-reapply`)
	b.waitText("#flash", "Sales entry: SLA 40 days")
	b.waitFor("both SLAs", `document.querySelector('#sla-entry')?.value === '40' && document.querySelector('#sla-bid')?.value === '2' && document.querySelector('#sla-bid-unit')?.value === 'weeks'`)

	// The same in Chinese.
	b.set("#lang", "zh-CN")
	b.waitFor("Chinese", `document.documentElement.lang === 'zh-CN' && !!document.querySelector('#sla-proposal')`)
	b.set("#sla-proposal", "20")
	admin.do("PUT", "/api/v1/settings/stages/negotiation", map[string]any{"sla": "25d"}, 200)
	b.click(`form[data-stage=proposal] button[type=submit]`)
	b.waitText(`form[data-stage=proposal] .changed-meanwhile`, "Administrator 在此期间修改了此内容。")
	b.screenshot("changed-meanwhile-zh.png")
	b.click(`form[data-stage=proposal] .conflict-reapply`)
	b.waitFor("both SLAs", `document.querySelector('#sla-proposal')?.value === '20' && document.querySelector('#sla-negotiation')?.value === '25' && document.querySelector('#sla-negotiation-unit')?.value === 'days'`)
	b.check()
}
