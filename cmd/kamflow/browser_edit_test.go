package main

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestBrowserEditAndReassign: in English and in Chinese, a KAM edits a deal's title and value in
// place in its header, assigns an engineer with the people picker (names, not user names, and
// only the team's engineers offered), a director reassigns the deal with the picker to the other
// KAM of the team; the deal page, its timeline and the board card show the people by name.
func TestBrowserEditAndReassign(t *testing.T) {
	_, srv := browserStack(t)
	kam := login(t, srv.URL, "kam1")
	acct := kam.do("POST", "/api/v1/accounts", map[string]any{"name": "宝钢湛江 Baosteel Zhanjiang", "industry": "steel"}, 201)["id"].(string)

	b := newBrowser(t, srv.URL)
	b.open("/", "#login-form")
	for _, tt := range []struct {
		lang, title, value, kamName, engName, kam2Name, edited string
	}{
		{"en", "Coke oven gas analysers, lines 3 and 4", "2400000.00", "李经理 Li (KAM)", "陈工 Chen (Engineer)", "张经理 Zhang (KAM)", "Edited:"},
		{"zh-CN", "焦炉煤气分析仪（3、4号线）", "2400000.00", "李经理 Li (KAM)", "陈工 Chen (Engineer)", "张经理 Zhang (KAM)", "修改了"},
	} {
		deal := kam.do("POST", "/api/v1/deals", map[string]any{"account_id": acct, "title": "Coke oven gas analysers", "value": "1200000", "currency": "CNY",
			"expected_close": time.Now().AddDate(0, 5, 0).Format(time.DateOnly)}, 201)["id"].(string)
		path := "/deals/" + deal

		b.signIn("kam1")
		b.set("#lang", tt.lang)
		b.waitFor(tt.lang, fmt.Sprintf(`document.documentElement.lang === %s`, js(tt.lang)))
		b.open(path, "#edit-deal")
		if got := b.text("#deal-owner"); got != tt.kamName {
			t.Errorf("%s: owner shown as %q", tt.lang, got)
		}
		// No director's reassign for a KAM.
		if eval[bool](b, `!!document.querySelector('#reassign')`) {
			t.Errorf("%s: a KAM is offered the reassignment", tt.lang)
		}
		b.click("#edit-deal")
		b.visible("#deal-edit-form")
		b.set("#edit-title", tt.title)
		b.set("#edit-value", tt.value)
		b.click("#edit-save")
		b.waitText("#deal-title", tt.title)
		b.waitFor("the edit on the timeline", fmt.Sprintf(`[...document.querySelectorAll('#timeline [data-action="deal.edit"]')].some(li => li.textContent.includes(%s) && li.textContent.includes(%s))`,
			js(tt.edited), js(tt.kamName)))
		d := kam.do("GET", "/api/v1/deals/"+deal, nil, 200)
		if d["title"] != tt.title || d["value"] != tt.value {
			t.Errorf("%s: deal after the edit: %v %v", tt.lang, d["title"], d["value"])
		}

		// Engineers by name, from the picker.
		b.visible(`#engineers-picker input[value="engineer1"]`)
		if names := b.text("#engineers-picker"); !strings.Contains(names, tt.engName) || strings.Contains(names, "engineer1") {
			t.Errorf("%s: engineers picker shows %q", tt.lang, names)
		}
		b.click(`#engineers-picker input[value="engineer1"]`)
		b.click("#engineers-save")
		b.waitText("#engineers-list", tt.engName)
		b.screenshot("deal-edit-" + tt.lang + ".png")
		b.signOut()

		// The director reassigns with the picker: only kam2 is offered (kam1 owns it, kam3 is of
		// another team).
		b.signIn("director")
		b.open(path, "#reassign")
		b.click("#reassign")
		b.visible(`#reassign-picker input[value="kam2"]`)
		if n := eval[int](b, `document.querySelectorAll('#reassign-picker input').length`); n != 1 {
			t.Errorf("%s: the owner picker offers %d people: %q", tt.lang, n, b.text("#reassign-picker"))
		}
		if got := b.text("#reassign-picker"); !strings.Contains(got, tt.kam2Name) || strings.Contains(got, "kam2") {
			t.Errorf("%s: owner picker shows %q", tt.lang, got)
		}
		b.click(`#reassign-picker input[value="kam2"]`)
		b.click("#reassign-confirm")
		b.waitText("#deal-owner", tt.kam2Name)
		b.waitFor("the reassignment on the timeline by name", fmt.Sprintf(`[...document.querySelectorAll('#timeline [data-action="deal.reassign"]')].some(li => li.textContent.includes(%s) && !li.textContent.includes('kam2'))`,
			js(tt.kam2Name)))
		b.open("/board", ".deal-card")
		b.waitText(fmt.Sprintf(`.deal-card[data-deal-id=%q] .card-owner`, deal), tt.kam2Name)
		b.screenshot("board-names-" + tt.lang + ".png")
		b.check()
		b.signOut()
	}
}
