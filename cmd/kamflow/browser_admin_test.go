package main

import (
	"fmt"
	"strings"
	"testing"
)

// TestBrowserAdmin is issue 15's forgiving inputs, confirmations and admin screens in a browser,
// in English and in Chinese: a KAM types 1200万 as a deal's value and sees the amount understood
// before creating it, and closes another deal as lost with a listed reason once the dialog has
// said what will happen; an admin sets a stage's SLA as 3 weeks (a number and a unit, not a
// code), changes the margin floor and an assessment weight, creates a user and a team, renames
// the team and makes the director lead it.
func TestBrowserAdmin(t *testing.T) {
	_, srv := browserStack(t)
	kam := login(t, srv.URL, "kam1")
	admin := login(t, srv.URL, "admin")
	acct := kam.do("POST", "/api/v1/accounts", map[string]any{"name": "镇海炼化 Zhenhai Refining", "industry": "petrochemical"}, 201)["id"].(string)

	b := newBrowser(t, srv.URL)
	b.open("/", "#login-form")
	signedIn := false
	as := func(user, lang string) {
		t.Helper()
		if signedIn {
			b.signOut()
		}
		b.signIn(user)
		signedIn = true
		if eval[string](b, `document.documentElement.lang`) != lang {
			b.set("#lang", lang)
		}
		b.waitFor(lang, fmt.Sprintf(`document.documentElement.lang === %s`, js(lang)))
	}
	for i, lang := range []string{"en", "zh-CN"} {
		zh := lang == "zh-CN"
		pick := func(en, cn string) string {
			if zh {
				return cn
			}
			return en
		}

		// A KAM's deal worth 1200万: the field says what it understood as one types.
		as("kam1", lang)
		b.open("/accounts/"+acct, "#account-new-deal")
		b.click("#account-new-deal")
		b.visible("#new-deal-form")
		title := pick("Hydrocracker analysers", "加氢裂化在线分析仪")
		b.typeIn("#new-deal-form input[name=title]", title)
		b.typeIn("#new-deal-form input[name=value]", "1200万")
		b.waitText("#new-deal-form .amount-understood", "12,000,000.00")
		b.typeIn("#new-deal-form input[name=value]", "x")
		b.waitText("#new-deal-form .amount-understood", pick("Not an amount", "无法识别的金额"))
		b.typeIn("#new-deal-form input[name=value]", "\b") // kb.Backspace
		b.waitText("#new-deal-form .amount-understood", "= ")
		b.click("#new-deal-form button[type=submit]")
		b.waitFor("the deal page", `location.pathname.startsWith('/deals/')`)
		dealID := strings.TrimPrefix(eval[string](b, `location.pathname`), "/deals/")
		if v := kam.do("GET", "/api/v1/deals/"+dealID, nil, 200)["value"]; v != "12000000.00" {
			t.Errorf("%s: the deal's value %v, want 12000000.00", lang, v)
		}

		// Closed as lost with a reason from the list, once the dialog said what will happen.
		b.open("/deals/"+dealID, "#close-deal")
		b.click("#close-deal")
		b.visible("#close-form")
		b.set("#close-outcome", "lost")
		b.waitText("#confirm-what", pick("closed as lost", "以丢单关闭"))
		b.selectText("#close-reason-code", pick("Price", "价格"))
		b.typeIn("#close-competitor", "ABB")
		b.screenshot(fmt.Sprintf("close-as-lost-%s.png", lang))
		b.click("#confirm-ok")
		b.waitFor("closed", `!document.querySelector('#close-form')`)
		b.waitText(".closing-reason-code", pick("Price", "价格"))
		if c := kam.do("GET", "/api/v1/deals/"+dealID, nil, 200)["closing"].(map[string]any); c["reason_code"] != "price" || c["competitor"] != "ABB" {
			t.Errorf("%s: closing %v", lang, c)
		}

		// The admin: an SLA of 3 weeks, the margin floor and a weight.
		as("admin", lang)
		b.open("/settings", "#stage-ladders")
		b.set("#sla-proposal", fmt.Sprint(3+i))
		b.set("#sla-proposal-unit", "weeks")
		b.click(`form[data-stage=proposal] button[type=submit]`)
		b.waitFor("saved", `!!document.querySelector('#flash')`)
		s := admin.do("GET", "/api/v1/settings", nil, 200)
		if got, want := s["sla"].(map[string]any)["proposal"], fmt.Sprintf("%dd", 7*(3+i)); got != want {
			t.Errorf("%s: proposal SLA %v, want %s", lang, got, want)
		}
		b.waitFor("3 weeks shown", fmt.Sprintf(`document.querySelector('#sla-proposal').value === %s && document.querySelector('#sla-proposal-unit').value === 'weeks'`, js(fmt.Sprint(3+i))))
		b.waitText("#sla-proposal-unit option[value=weeks]", pick("weeks", "周"))
		floor := 18 + i
		b.set("#model-margin-floor", fmt.Sprint(floor))
		b.set("#model-weight-funding", "25")
		b.click("#model-save")
		b.waitText("#flash", fmt.Sprint(floor))
		s = admin.do("GET", "/api/v1/settings", nil, 200)
		if s["margin_floor"] != float64(floor) || s["assessment"].(map[string]any)["weights"].(map[string]any)["funding"] != float64(25) {
			t.Errorf("%s: margin floor %v, weights %v", lang, s["margin_floor"], s["assessment"])
		}
		b.screenshot(fmt.Sprintf("settings-%s.png", lang))

		// A new team, renamed, led by the director; a new user in it.
		b.open("/users", "#user-list")
		team := pick("South China Sales", "华南销售部")
		b.typeIn("#team-new-name", team)
		b.click("#team-create")
		// A team's name is the value of its rename field.
		teamShown := func(name string) {
			t.Helper()
			b.waitFor("team "+name, fmt.Sprintf(`[...document.querySelectorAll('#team-list input[name=name]')].some((i) => i.value === %s)`, js(name)))
		}
		b.waitText("#flash", team)
		teamShown(team)
		teamID := ""
		for _, x := range admin.do("GET", "/api/v1/teams", nil, 200)["items"].([]any) {
			if x.(map[string]any)["name"] == team {
				teamID = x.(map[string]any)["id"].(string)
			}
		}
		if teamID == "" {
			t.Fatalf("%s: team %s not created", lang, team)
		}
		renamed := team + " 2"
		b.set("#team-name-"+teamID, renamed)
		b.click(fmt.Sprintf(`form.team-rename[data-team=%q] button`, teamID))
		b.waitText("#flash", renamed)
		teamShown(renamed)
		b.selectText("#team-director-"+teamID, "王总 Director Wang")
		b.click(fmt.Sprintf(`tr[data-team=%q] .team-add-director`, teamID))
		b.waitText("#flash", "王总 Director Wang")
		b.waitText(fmt.Sprintf(`tr[data-team=%q] .team-directors`, teamID), "王总 Director Wang")

		username := pick("kam.south", "kam.huanan")
		b.click("#user-new")
		b.visible("#user-form")
		b.typeIn("#user-username", username)
		b.typeIn("#user-name", pick("Liu (KAM)", "刘经理"))
		b.set("#user-role", "kam")
		b.set("#user-language", lang)
		b.typeIn("#user-email", username+"@example.com")
		b.click("#user-team-" + teamID)
		b.typeIn("#user-password", "a long enough passphrase 42")
		b.click("#user-save")
		b.waitText("#flash", pick("Liu (KAM)", "刘经理"))
		b.waitText("#user-list", username)
		b.screenshot(fmt.Sprintf("users-%s.png", lang))
		var found map[string]any
		for _, x := range admin.do("GET", "/api/v1/users", nil, 200)["items"].([]any) {
			if x.(map[string]any)["username"] == username {
				found = x.(map[string]any)
			}
		}
		if found == nil || found["role"] != "kam" || found["email"] != username+"@example.com" || found["language"] != lang ||
			fmt.Sprint(found["teams"]) != fmt.Sprint([]any{teamID}) {
			t.Errorf("%s: the new user %v", lang, found)
		}
	}
	b.check()
}
