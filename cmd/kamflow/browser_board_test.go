package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// TestBrowserBoard is the board that moves deals, in English and in Chinese: kam1 drags an
// assessed deal to the next stage and it moves; a deal whose key node is not reached springs
// back and the missing items are said in the UI's language; the director drags it again and
// forces it through the force dialog; a deal moves with the keyboard ("Move to…" and its
// dialog). The column heads show the server's weighted value. The list view sorts by a column,
// totals every page and exports exactly what it shows. At a phone's width one stage shows at a
// time under tabs with their counts, and a deal moves with "Move to…".
func TestBrowserBoard(t *testing.T) {
	_, srv := browserStack(t)
	kam := login(t, srv.URL, "kam1")
	acct := kam.do("POST", "/api/v1/accounts", map[string]any{"name": "茂名石化 Maoming Petrochemical", "industry": "petrochemical"}, 201)["id"].(string)
	closeOn := time.Now().AddDate(0, 4, 0).Format(time.DateOnly)
	scores := map[string]int{}
	for _, f := range []string{"project_level", "funding", "technical_fit", "relationship", "credit", "product", "price", "solution", "service"} {
		scores[f] = 4
	}
	deal := func(title, value string, assessed bool) string {
		id := kam.do("POST", "/api/v1/deals", map[string]any{"account_id": acct, "title": title, "value": value, "currency": "CNY", "expected_close": closeOn}, 201)["id"].(string)
		if assessed {
			kam.do("PUT", "/api/v1/deals/"+id+"/assessment", map[string]any{"scores": scores, "expected_close": closeOn, "likelihood": 75}, 200)
		}
		return id
	}
	dict := func(lang string) map[string]string {
		b, err := os.ReadFile(filepath.Join("..", "..", "ui", "static", "i18n", lang+".json"))
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]string
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}

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
	card := func(stage, id string) string { return fmt.Sprintf(`#column-%s .deal-card[data-deal-id=%q]`, stage, id) }
	// drag drops the card on the column as the browser's drag and drop would: dragstart on the
	// card, dragover and drop on the column, dragend.
	drag := func(id, to string) {
		t.Helper()
		eval[bool](b, fmt.Sprintf(`(() => {
			const c = document.querySelector('.deal-card[data-deal-id=%q]'), col = document.querySelector('#column-%s');
			const dt = new DataTransfer(), ev = (type) => new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: dt });
			c.dispatchEvent(ev('dragstart'));
			col.querySelector('.column-head').dispatchEvent(ev('dragover'));
			col.querySelector('.column-head').dispatchEvent(ev('drop'));
			c.dispatchEvent(ev('dragend'));
			return true;
		})()`, id, to))
	}

	for _, lang := range []string{"en", "zh-CN"} {
		tr := dict(lang)
		allowed := deal("Boiler feed pumps "+lang, "12000000", true)
		refused := deal("Cooling water pumps "+lang, "2500000", false)
		keyed := deal("Control valves "+lang, "800000", true)
		phone := deal("Flow meters "+lang, "300000", true)

		// Allowed: the card moves on to the next stage.
		as("kam1", lang)
		b.open("/board", card("development", allowed))
		// The column heads: the server's weighted value (each deal at development: 10% or 20%).
		b.waitText("#column-development .column-weighted", tr["board.weighted"])
		drag(allowed, "entry")
		b.visible(card("entry", allowed))
		b.waitText("#flash", strings.NewReplacer("{title}", "Boiler feed pumps "+lang, "{stage}", tr["stage.entry"]).Replace(tr["board.moved"]))
		b.check()

		// Refused: it springs back and says what is missing, in the UI's language.
		drag(refused, "entry")
		b.visible("#move-refused")
		b.visible(card("development", refused))
		if missing := eval[string](b, `[...document.querySelectorAll('#move-refused [data-missing]')].map(e => e.dataset.missing + '=' + e.textContent).join('|')`); missing !=
			"assessment_passed="+tr["gate.assessment_passed"]+"|graded="+tr["gate.graded"] {
			t.Errorf("%s: missing items %q", lang, missing)
		}
		b.waitText("#move-refused", tr["board.director_may_force"])
		b.waitFor("the card sprang back", fmt.Sprintf(`document.querySelector(%s).classList.contains('spring-back')`, js(card("development", refused))))
		b.screenshot("board-refused-" + lang + ".png")

		// The keyboard: "Move to…" opens the choice, Enter moves the deal.
		btn := card("development", keyed) + " button.card-move"
		b.do("focus Move to", chromedp.Focus(chromedp.CSS(btn)), chromedp.KeyEvent(kb.Enter))
		b.visible("#move-confirm")
		b.waitFor("the choice has the focus", `document.activeElement?.id === 'move-confirm'`)
		b.do("confirm with Enter", chromedp.KeyEvent(kb.Enter))
		b.visible(card("entry", keyed))
		b.waitText("#status", strings.NewReplacer("{title}", "Control valves "+lang, "{stage}", tr["stage.entry"]).Replace(tr["board.moved"]))
		b.check()

		// The list view: sorted by value, largest first, then the other way round; totals of
		// every page; the export is the list.
		b.click("#view-list")
		b.visible("#deal-table")
		b.click("#sort-value")
		b.waitFor("sorted by value", `location.search === '?sort=-value' && document.querySelector('#deal-table th[aria-sort=descending] #sort-value') !== null`)
		values := eval[[]string](b, `[...document.querySelectorAll('#deal-table tbody tr')].map(r => r.dataset.dealId)`)
		if len(values) < 4 || values[0] != allowed {
			t.Errorf("%s: by value %v, first want %s", lang, values, allowed)
		}
		b.click("#sort-value")
		b.waitFor("ascending", `location.search === '?sort=value'`)
		b.waitFor("the smallest first", fmt.Sprintf(`document.querySelector('#deal-table tbody tr')?.dataset.dealId === %q || document.querySelectorAll('#deal-table tbody tr').length > 4`, phone))
		b.waitText("#list-totals", tr["list.total_weighted"])
		b.typeIn("#filter-q", "pumps "+lang+"\n")
		b.waitFor("the text filter", `new URLSearchParams(location.search).get('q') !== null && document.querySelectorAll('#deal-table tbody tr').length === 2`)
		b.waitFor("two in the totals", `document.querySelector('#list-totals').dataset.count === '2'`)
		csv := eval[string](b, `fetch(document.querySelector('#export-csv').href).then(r => r.text())`, chromedp.EvalAwaitPromise)
		rows := strings.Split(strings.TrimSpace(csv), "\n")
		if len(rows) != 3 || !strings.HasPrefix(rows[1], refused) || !strings.HasPrefix(rows[2], allowed) {
			t.Errorf("%s: the export of the list: %q", lang, rows)
		}
		b.screenshot("deal-list-" + lang + ".png")
		// Saved by name, and opened again from the saved views.
		b.click("#save-view")
		b.typeIn("#view-name", "Pumps "+lang)
		b.click("#view-save-confirm")
		b.waitText("#flash", strings.ReplaceAll(tr["views.saved"], "{name}", "Pumps "+lang))
		b.click("#clear-filters")
		b.waitFor("no filter", `location.search === '' && !document.querySelector('#clear-filters') && document.querySelectorAll('#saved-views option').length > 1`)
		b.selectText("#saved-views", "Pumps "+lang)
		b.waitFor("the saved view", `new URLSearchParams(location.search).get('q') !== null && new URLSearchParams(location.search).get('sort') === 'value'`)
		b.visible("#delete-view")
		b.check()

		// The director drags the refused deal and forces it with a reason.
		as("director", lang)
		b.open("/board", card("development", refused))
		drag(refused, "entry")
		b.visible("#force-form")
		b.typeIn("#force-form textarea[name=reason]", "Tender published early")
		b.click("#force-confirm")
		b.visible(card("entry", refused) + " [data-badge=forced]")
		b.check()

		// A phone: one stage at a time under tabs with their counts; "Move to…" moves a deal.
		as("kam1", lang)
		b.do("phone viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
		b.open("/board", "#stage-tabs")
		b.visible("#tab-development")
		b.waitFor("one stage shown", `[...document.querySelectorAll('#board .column')].filter(c => c.offsetParent !== null).length === 1`)
		b.click("#tab-entry")
		b.waitFor("the entry stage shown", `document.querySelector('#column-entry').offsetParent !== null && document.querySelector('#column-development').offsetParent === null`)
		// zh-CN: its three and the English round's four.
		if n := eval[string](b, `document.querySelector('#tab-entry .tab-count').textContent`); n != map[string]string{"en": "3", "zh-CN": "7"}[lang] {
			t.Errorf("%s: the entry tab counts %s", lang, n)
		}
		b.click("#tab-development")
		b.click(card("development", phone) + " button.card-move")
		b.click("#move-confirm")
		b.waitFor("moved on", fmt.Sprintf(`!!document.querySelector(%s)`, js(card("entry", phone))))
		b.waitFor("the board within the phone's width", `document.documentElement.scrollWidth <= window.innerWidth`)
		b.screenshot("board-phone-tabs-" + lang + ".png")
		b.check()
		b.do("desktop viewport", chromedp.EmulateViewport(1366, 900))
	}
}
