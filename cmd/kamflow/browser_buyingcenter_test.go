package main

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestBrowserBuyingCenter: one buying center per account, in English and in Chinese. A KAM adds
// a contact on the account page and picks them as a deal's stakeholder, adds a new person (who
// becomes the account's contact), edits a stance and removes a stakeholder freely; on a deal past
// the entry stage, removing the insider its key node rests on is refused (which stage, what would
// be missing, a director must), and a director forces it with a reason, which the timeline shows.
// The account page shows each contact's deals, linked, with their role and stance there.
func TestBrowserBuyingCenter(t *testing.T) {
	_, srv := browserStack(t)
	kam := login(t, srv.URL, "kam1")
	closeOn := time.Now().AddDate(0, 5, 0).Format(time.DateOnly)
	scores := map[string]int{}
	for _, f := range []string{"project_level", "funding", "technical_fit", "relationship", "credit", "product", "price", "solution", "service"} {
		scores[f] = 4
	}
	assess := map[string]any{"scores": scores, "expected_close": closeOn, "likelihood": 75}

	b := newBrowser(t, srv.URL)
	b.open("/", "#login-form")
	for _, tt := range []struct {
		lang, dealTitle, picked, pickedTitle, newName, extra          string
		added, removed, refused, stage, missing, mustDirector, forced string
		role, stance                                                  string
	}{
		{"en", "Coke oven gas analysers", "王总 Wang", "General manager", "陈工 Chen", "赵工 Zhao",
			"王总 Wang added.", "赵工 Zhao removed from the buying center.", "rests on 陈工 Chen", "Sales entry", "Insider identified", "Only a sales director may force",
			"forced past the key node of the Sales entry stage", "Decision maker", "Neutral"},
		{"zh-CN", "焦炉煤气分析仪", "王总 Wang", "总经理", "陈工 Chen", "赵工 Zhao",
			"已添加王总 Wang", "已将 赵工 Zhao 从采购组织中移除。", "依赖于 陈工 Chen", "销售进入阶段", "已找到内线", "只有销售总监可以",
			"强制越过销售进入阶段的关键节点", "决策者", "中立"},
	} {
		acct := kam.do("POST", "/api/v1/accounts", map[string]any{"name": "宝钢湛江 Baosteel Zhanjiang " + tt.lang, "industry": "steel"}, 201)["id"].(string)
		deal := kam.do("POST", "/api/v1/deals", map[string]any{"account_id": acct, "title": tt.dealTitle, "value": "1200000", "currency": "CNY", "expected_close": closeOn}, 201)["id"].(string)
		api := "/api/v1/deals/" + deal
		kam.do("PUT", api+"/assessment", assess, 200)
		kam.do("POST", api+"/advance", map[string]any{}, 200) // into the entry stage
		path := "/deals/" + deal

		b.signIn("kam1")
		b.set("#lang", tt.lang)
		b.waitFor(tt.lang, fmt.Sprintf(`document.documentElement.lang === %s`, js(tt.lang)))

		// A contact on the account page.
		b.open("/accounts/"+acct, "#add-contact")
		b.click("#add-contact")
		b.visible("#contact-form")
		b.typeIn("#contact-name", tt.picked)
		b.typeIn("#contact-title", tt.pickedTitle)
		b.click("#contact-save")
		b.waitText("#flash", tt.picked)
		b.waitFor("the contact", `document.querySelectorAll('#contacts-table tbody tr').length === 1`)

		// Picked as the deal's decision maker: by name and title, not typed again.
		b.open(path, "#stakeholder-form")
		b.waitFor("the account's contacts offered", fmt.Sprintf(`[...document.querySelector('#person-contact').options].some(o => o.text === %s)`, js(tt.picked+" · "+tt.pickedTitle)))
		b.selectText("#person-contact", tt.picked+" · "+tt.pickedTitle)
		b.visible("#person-role")
		if eval[bool](b, `!document.querySelector('#person-new').hidden`) {
			t.Errorf("%s: the new person's name is asked for a picked contact", tt.lang)
		}
		b.set("#person-role", "decision_maker")
		b.set("#person-stance", "supporter")
		b.click("#person-engaged")
		b.click("#save-person")
		b.waitFor("the picked stakeholder", fmt.Sprintf(`!!document.querySelector('#buying-center tr[data-person=%s][data-contact-id]')`, js(tt.picked)))

		// A new person, the insider; and another, removed again freely.
		for _, p := range []struct{ name, role string }{{tt.newName, "insider"}, {tt.extra, "user"}} {
			b.visible("#person-name")
			b.typeIn("#person-name", p.name)
			b.set("#person-role", p.role)
			b.set("#person-stance", "supporter")
			b.click("#save-person")
			b.waitFor("the new stakeholder "+p.name, fmt.Sprintf(`!!document.querySelector('#buying-center tr[data-person=%s]')`, js(p.name)))
		}
		if offered := eval[bool](b, fmt.Sprintf(`[...document.querySelector('#person-contact').options].some(o => o.text.startsWith(%s))`, js(tt.picked))); offered {
			t.Errorf("%s: a stakeholder is offered again", tt.lang)
		}
		row := func(name string) string { return fmt.Sprintf(`#buying-center tr[data-person=%s]`, js(name)) }
		b.click(row(tt.extra) + " .remove-person")
		b.visible("#confirm-form")
		if what := b.text("#confirm-what"); !strings.Contains(what, tt.extra) {
			t.Errorf("%s: the removal's confirmation says %q", tt.lang, what)
		}
		b.click("#confirm-ok")
		b.waitText("#flash", tt.removed)
		b.waitFor("the removed stakeholder gone", fmt.Sprintf(`!document.querySelector(%s)`, js(row(tt.extra))))

		// Edit: the picked contact's stance, in place.
		b.click(row(tt.picked) + " .edit-person")
		b.visible("#edit-person-form")
		if v := eval[string](b, `document.querySelector('#edit-person-stance').value`); v != "supporter" {
			t.Errorf("%s: edit form shows stance %q", tt.lang, v)
		}
		b.set("#edit-person-stance", "neutral")
		b.click("#edit-person-save")
		b.waitText(row(tt.picked), tt.stance)
		b.screenshot("buying-center-" + tt.lang + ".png")

		// Past the entry stage, the insider its key node rests on cannot simply go.
		kam.do("POST", api+"/advance", map[string]any{}, 200)
		b.open(path, "#buying-center .remove-person")
		b.click(row(tt.newName) + " .remove-person")
		b.click("#confirm-ok")
		b.visible("#gate-depends")
		for _, s := range []string{tt.refused, tt.stage, tt.missing} {
			b.waitText("#gate-depends", s)
		}
		b.waitText("#bc-director-must", tt.mustDirector)
		if eval[bool](b, `!!document.querySelector('#bc-force')`) {
			t.Errorf("%s: a KAM is offered to force the removal", tt.lang)
		}
		b.check()
		b.signOut()

		// The director forces it, with a reason.
		b.signIn("director")
		b.open(path, "#buying-center .remove-person")
		b.click(row(tt.newName) + " .remove-person")
		b.click("#confirm-ok")
		b.click("#bc-force")
		b.visible("#bc-force-form")
		b.click("#bc-force-confirm") // no reason: refused in the form
		b.visible("#bc-force-form")
		b.typeIn("#bc-force-reason", "left the company")
		b.click("#bc-force-confirm")
		b.waitFor("the forced removal", fmt.Sprintf(`!document.querySelector(%s) && !!document.querySelector(%s)`, js(row(tt.newName)), js(row(tt.picked))))
		b.waitFor("the forced removal on the timeline", fmt.Sprintf(`[...document.querySelectorAll('#timeline [data-action="deal.remove_stakeholder"]')].some(li => li.textContent.includes(%s) && li.textContent.includes(%s) && li.textContent.includes('left the company'))`,
			js(tt.newName), js(tt.forced)))
		if d := kam.do("GET", api, nil, 200); d["forced"] != true || len(d["stakeholders"].([]any)) != 1 {
			t.Errorf("%s: after the forced removal: forced=%v stakeholders=%v", tt.lang, d["forced"], d["stakeholders"])
		}
		b.screenshot("buying-center-forced-" + tt.lang + ".png")
		b.check()
		b.signOut()

		// The account page: each contact's deals, linked, with the role and stance there.
		b.signIn("kam1")
		b.open("/accounts/"+acct, "#contacts-table")
		wang := fmt.Sprintf(`#contacts-table tbody tr:has(a[href=%s])`, js(path))
		b.waitText(wang, tt.picked)
		for _, s := range []string{tt.dealTitle, tt.role, tt.stance} {
			b.waitText(wang+" .contact-deals", s)
		}
		if n := eval[int](b, `document.querySelectorAll('#contacts-table tbody tr').length`); n != 3 {
			t.Errorf("%s: the account has %d contacts, want 3 (the picked one and both new people)", tt.lang, n)
		}
		if eval[bool](b, fmt.Sprintf(`[...document.querySelectorAll('#contacts-table tbody tr')].some(tr => tr.textContent.includes(%s) && !!tr.querySelector('.contact-stakeholder'))`, js(tt.newName))) {
			t.Errorf("%s: the removed stakeholder is still shown on the deal", tt.lang)
		}
		b.screenshot("account-stakeholders-" + tt.lang + ".png")
		b.check()
		b.signOut()
	}
}
