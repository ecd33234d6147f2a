package main

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserInbox is the inbox in a browser, in English on a desktop and in Chinese at a
// phone's width (390 px): kam1 asks for the approval of a bid below the margin floor; the
// director's bell shows it without a reload; the inbox renders it in the director's language
// (no English in the Chinese one), opening it leads to the deal and marks it read; a second one
// is marked read with "mark all read". Last, the UI follows the profile: the language switched in
// the UI is saved, and a sign-in in a fresh browser speaks the profile's language.
func TestBrowserInbox(t *testing.T) {
	_, srv := browserStack(t)
	kam := login(t, srv.URL, "kam1")
	director := login(t, srv.URL, "director")
	acct := kam.do("POST", "/api/v1/accounts", map[string]any{"name": "镇海石化 Zhenhai Petrochemical", "industry": "petrochemical"}, 201)["id"].(string)
	toBid := toBidStage(kam, acct)
	// asked walks a deal to the bid stage, records a bid below the floor and asks the team's
	// directors to approve it: each director is notified.
	asked := func(title string) string {
		id := toBid(title)
		p := "/api/v1/deals/" + id
		kam.do("PUT", p+"/bid", map[string]any{"cost": "10500000", "price": "12000000", "submitted": true}, 200)
		kam.do("POST", p+"/approvals", map[string]any{"subject": "margin", "note": "样板工程"}, 200)
		return id
	}

	for _, lang := range []string{"en", "zh-CN"} {
		director.do("POST", "/api/v1/notifications/read-all", map[string]any{}, 200) // what earlier tests left
		b := newBrowser(t, srv.URL)
		if lang == "zh-CN" {
			b.do("phone viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
		}
		b.open("/", "#login-form")
		// The bell asks every half second here instead of every 30 s.
		eval[bool](b, `(localStorage.setItem('kamflow.inboxPollMs', '500'), true)`)
		b.signIn("director")
		if eval[string](b, `document.documentElement.lang`) != lang {
			b.set("#lang", lang)
		}
		b.waitFor(lang, fmt.Sprintf(`document.documentElement.lang === %s`, js(lang)))
		b.visible("#inbox-bell")
		b.waitFor("no unread notices", `document.querySelector('#inbox-count').hidden`)

		title := map[string]string{"en": "Hydrogen compressor", "zh-CN": "氢气压缩机组"}[lang]
		id := asked(title)
		// It arrives without a reload.
		b.waitFor("the bell counts one", `!document.querySelector('#inbox-count').hidden && document.querySelector('#inbox-count').textContent === '1'`)
		label := eval[string](b, `document.querySelector('#inbox-bell').getAttribute('aria-label')`)
		if want := map[string]string{"en": "Notifications: 1 unread", "zh-CN": "通知：1 条未读"}[lang]; label != want {
			t.Errorf("%s: the bell says %q, want %q", lang, label, want)
		}
		b.click("#inbox-bell")
		item := `#inbox-list li.notice[data-kind=approval_requested][data-unread=true]`
		b.visible(item)
		text := eval[string](b, fmt.Sprintf(`document.querySelector(%s + ' .notice-text').textContent`, js(item)))
		switch lang {
		case "en":
			if !strings.Contains(text, "李经理 Li (KAM) asks you to approve") || !strings.Contains(text, title) {
				t.Errorf("the notice in English: %q", text)
			}
		case "zh-CN":
			rest := strings.NewReplacer("李经理 Li (KAM)", "", title, "").Replace(text)
			if !strings.Contains(text, "请您审批") || regexp.MustCompile(`[A-Za-z]{3,}`).MatchString(rest) {
				t.Errorf("the notice in Chinese: %q (English left: %q)", text, rest)
			}
			b.waitFor("the inbox within the phone's width", `document.documentElement.scrollWidth <= window.innerWidth && `+
				`document.querySelector('#inbox-bell').getBoundingClientRect().right <= window.innerWidth`)
		}
		b.screenshot("inbox-" + lang + ".png")

		// Opening it leads to the deal and marks it read.
		b.click(item + " a.notice-text")
		b.waitFor("the deal's page", fmt.Sprintf(`location.pathname === %s`, js("/deals/"+id)))
		b.waitFor("nothing unread", `document.querySelector('#inbox-count').hidden`)
		b.click("#inbox-bell")
		b.visible(`#inbox-list li.notice[data-kind=approval_requested][data-unread=false]`)
		b.waitText("#inbox-summary", map[string]string{"en": "Everything read.", "zh-CN": "全部已读。"}[lang])

		// A second one shows in the open inbox by itself; "mark all read" zeroes the count.
		asked(title + " II")
		b.waitFor("the second notice listed", `document.querySelectorAll('#inbox-list li.notice[data-unread=true]').length === 1`)
		b.waitFor("the bell counts one", `document.querySelector('#inbox-count').textContent === '1'`)
		b.click("#inbox-read-all")
		b.waitText("#flash", map[string]string{"en": "1 notification marked read.", "zh-CN": "已将 1 条通知标为已读。"}[lang])
		b.waitFor("nothing unread", `document.querySelector('#inbox-count').hidden && !document.querySelector('#inbox-list li.notice[data-unread=true]')`)
		b.check()
		b.signOut()
	}

	// The language chosen in the UI is the profile's: the last run switched the director to
	// Chinese, and a fresh browser (nothing remembered) signs in speaking it.
	if got := director.do("GET", "/api/v1/auth/me", nil, 200)["user"].(map[string]any)["language"]; got != "zh-CN" {
		t.Errorf("the director's profile language is %v after switching the UI to Chinese", got)
	}
	director.do("PATCH", "/api/v1/auth/me", map[string]any{"language": "en"}, 200)
	b := newBrowser(t, srv.URL)
	b.open("/", "#login-form")
	eval[bool](b, `(localStorage.setItem('kamflow.lang', 'zh-CN'), true)`) // this browser's own choice, before the sign-in
	b.signIn("director")
	b.waitFor("the profile's language", `document.documentElement.lang === 'en'`)
	b.visible("#inbox-bell")
}
