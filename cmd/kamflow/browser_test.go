package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// The browser tests drive Debian's Chromium against the real stack (embedded Temporal server,
// worker, SQLite, API and the embedded UI) the way a key-account team uses it: a KAM opens an
// account and a deal, runs into the key node, does the stage's work and advances; a director sees
// a stalled deal, approves a contract and forces a deal past its key node with a reason; an
// engineer records the acceptance of a deal in delivery and closes the project; the UI switches
// to Chinese. Any console error or uncaught exception fails the test. Screenshots of the board,
// a deal page and the director review, in English and in Chinese, go to artifacts/screenshots.
//
// The test is skipped when Chromium is missing, unless KAMFLOW_REQUIRE_BROWSER=1 (CI), which
// makes it fail instead. KAMFLOW_CHROMIUM names another browser binary.

const browserTimeout = 10 * time.Second

func chromiumPath(t *testing.T) string {
	t.Helper()
	p := os.Getenv("KAMFLOW_CHROMIUM")
	if p == "" {
		p = "/usr/bin/chromium"
	}
	if _, err := exec.LookPath(p); err != nil {
		if os.Getenv("KAMFLOW_REQUIRE_BROWSER") == "1" {
			t.Fatalf("KAMFLOW_REQUIRE_BROWSER=1 but no browser at %s: %v (apt-get install chromium)", p, err)
		}
		t.Skipf("no browser at %s (apt-get install chromium, or set KAMFLOW_CHROMIUM): %v", p, err)
	}
	return p
}

// browser is one Chromium tab on the test server, with the console watched.
type browser struct {
	t     *testing.T
	ctx   context.Context
	base  string
	shots string

	mu       sync.Mutex
	problems []string
}

func newBrowser(t *testing.T, base string) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("lang", "en-US"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1366, 900),
		chromedp.Env("LANG=en_US.UTF-8", "TZ=Asia/Shanghai"),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	b := &browser{t: t, ctx: ctx, base: base, shots: filepath.Join("..", "..", "artifacts", "screenshots")}
	if err := os.MkdirAll(b.shots, 0o755); err != nil {
		t.Fatal(err)
	}
	// Start the browser, then watch the console of the tab from its first page on.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting %s: %v", chromiumPath(t), err)
	}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type != chromedp.ConsoleError && m.Type != chromedp.ConsoleException {
				continue
			}
			// The API answers refusals with 4xx statuses (409 for an unmet key node, 401 before
			// sign-in); the browser logs each as a failed resource. The UI handles them: they are
			// the scenario, not a fault. Anything else — a script error, a CSP violation, a missing
			// file — is.
			if m.Source == "network" && strings.Contains(m.URL, "/api/v1/") {
				continue
			}
			b.mu.Lock()
			b.problems = append(b.problems, fmt.Sprintf("%s (%s:%d)", m, m.URL, m.Line+1))
			b.mu.Unlock()
		}
	}()
	return b
}

// check fails the test if the page wrote an error to the console or threw.
func (b *browser) check() {
	b.t.Helper()
	time.Sleep(100 * time.Millisecond) // let the console's last events arrive
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, p := range b.problems {
		b.t.Errorf("browser console: %s", p)
	}
	b.problems = nil
	if b.t.Failed() {
		b.t.FailNow()
	}
}

func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 2*browserTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.fail(what, err)
	}
}

func (b *browser) fail(what string, err error) {
	b.t.Helper()
	text, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`location.pathname + "\n" + (document.querySelector('main')?.innerText || '')`))
	if len(text) > 3000 {
		text = text[:3000] + "…"
	}
	b.mu.Lock()
	problems := strings.Join(b.problems, "\n")
	b.mu.Unlock()
	b.t.Fatalf("%s: %v\n--- page:\n%s\n--- console:\n%s", what, err, text, problems)
}

func js(v any) string {
	out, _ := json.Marshal(v)
	return string(out)
}

// eval evaluates a JavaScript expression and decodes its value.
func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, browserTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.fail("evaluating "+expr, err)
	}
	return v
}

// waitFor waits until the JavaScript expression is truthy.
func (b *browser) waitFor(what, expr string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 2*browserTimeout)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(browserTimeout), chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
		b.fail("waiting for "+what, err)
	}
}

// waitText waits until the element matching css holds text.
func (b *browser) waitText(css, text string) {
	b.t.Helper()
	b.waitFor(fmt.Sprintf("%q in %s", text, css),
		fmt.Sprintf(`(document.querySelector(%s)?.textContent || '').includes(%s)`, js(css), js(text)))
}

func (b *browser) visible(css string) {
	b.t.Helper()
	b.do("waiting for "+css, chromedp.WaitVisible(chromedp.CSS(css)))
}

func (b *browser) click(css string) {
	b.t.Helper()
	b.do("clicking "+css, chromedp.WaitVisible(chromedp.CSS(css)), chromedp.Click(chromedp.CSS(css)))
}

// typeIn types text into a field, key by key.
func (b *browser) typeIn(css, text string) {
	b.t.Helper()
	b.do("typing into "+css, chromedp.WaitVisible(chromedp.CSS(css)), chromedp.SendKeys(chromedp.CSS(css), text))
}

// set sets a select's or date field's value as a user's choice would: with input and change events.
func (b *browser) set(css, value string) {
	b.t.Helper()
	eval[chromedp.Void](b, fmt.Sprintf(`(() => {
		const el = document.querySelector(%s);
		if (!el) throw new Error('no element ' + %s);
		el.value = %s;
		if (el.value !== %s) throw new Error('value not accepted by ' + %s);
		el.dispatchEvent(new Event('input', { bubbles: true }));
		el.dispatchEvent(new Event('change', { bubbles: true }));
	})()`, js(css), js(css), js(value), js(value), js(css)))
}

// selectText chooses the option whose text is text.
func (b *browser) selectText(css, text string) {
	b.t.Helper()
	v := eval[string](b, fmt.Sprintf(`[...document.querySelector(%s).options].find(o => o.text === %s)?.value || ''`, js(css), js(text)))
	if v == "" {
		b.fail("choosing "+text+" in "+css, fmt.Errorf("no such option"))
	}
	b.set(css, v)
}

func (b *browser) open(path, ready string) {
	b.t.Helper()
	b.do("opening "+path, chromedp.Navigate(b.base+path), chromedp.WaitVisible(chromedp.CSS(ready)))
}

func (b *browser) text(css string) string {
	b.t.Helper()
	return eval[string](b, fmt.Sprintf(`document.querySelector(%s)?.textContent || ''`, js(css)))
}

func (b *browser) screenshot(name string) string {
	b.t.Helper()
	// Let fonts and layout settle; the screenshot is of the whole page.
	b.waitFor("fonts", `document.fonts.status === 'loaded'`)
	buf, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.fail("screenshot "+name, err)
	}
	p := filepath.Join(b.shots, name)
	if err := os.WriteFile(p, buf, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot %s", p)
	return p
}

func (b *browser) signIn(user string) {
	b.t.Helper()
	b.visible("#login-form")
	b.typeIn("#login-form input[name=username]", user)
	b.typeIn("#login-form input[name=password]", "demo")
	b.click("#login-form button[type=submit]")
	b.waitFor("signed in as "+user, `!!document.querySelector('#signout')`)
}

func (b *browser) signOut() {
	b.t.Helper()
	b.click("#signout")
	b.visible("#login-form")
}

// TestBrowserScenario is the "done when" in a real browser.
func TestBrowserScenario(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server and a browser")
	}
	chromiumPath(t) // skip or fail before starting anything
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	app, err := startDev(ctx, quietLogger(), config{dataDir: t.TempDir(), namespace: "default", temporalPort: 0, demoPassword: "demo"})
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(app.api)
	defer app.Close()
	defer srv.Close()

	// Deals prepared through the API, as other users' work would leave them.
	kam, director, admin := login(t, srv.URL, "kam1"), login(t, srv.URL, "director"), login(t, srv.URL, "admin")
	acct := kam.do("POST", "/api/v1/accounts", map[string]any{"name": "华东石化 East China Petrochemical", "industry": "petrochemical", "region": "Shanghai"}, 201)
	scores := map[string]int{}
	for _, f := range []string{"project_level", "funding", "technical_fit", "relationship", "credit", "product", "price", "solution", "service"} {
		scores[f] = 4
	}
	newDeal := func(title, value string) string {
		d := kam.do("POST", "/api/v1/deals", map[string]any{"account_id": acct["id"], "title": title, "value": value, "currency": "CNY", "expected_close": time.Now().AddDate(0, 5, 0).Format(time.DateOnly)}, 201)
		return d["id"].(string)
	}
	step := func(c apiClient, id, method, sub string, body any) map[string]any {
		return c.do(method, "/api/v1/deals/"+id+sub, body, 200)
	}
	walk := func(id string, to string) {
		stages := []string{"development", "entry", "proposal", "bid", "negotiation", "delivery"}
		for _, st := range stages {
			if st == to {
				return
			}
			switch st {
			case "development":
				step(kam, id, "PUT", "/assessment", map[string]any{"scores": scores, "expected_close": time.Now().AddDate(0, 5, 0).Format(time.DateOnly), "likelihood": 75})
			case "entry":
				step(kam, id, "POST", "/stakeholders", map[string]any{"name": "王工 Wang", "title": "Chief engineer", "role": "insider", "stance": "supporter", "engaged": true})
				step(kam, id, "POST", "/stakeholders", map[string]any{"name": "李总 Li", "title": "Plant director", "role": "decision_maker", "stance": "neutral", "engaged": true})
			case "proposal":
				step(kam, id, "PUT", "/criteria", map[string]any{"criteria": []map[string]any{{"name": "API 610 compliance", "favours": "us"}, {"name": "16-week delivery", "favours": "neutral"}}})
				step(kam, id, "POST", "/proposal", map[string]any{"submitted_on": time.Now().Format(time.DateOnly)})
			case "bid":
				step(kam, id, "PUT", "/bid", map[string]any{"cost": "8000000.00", "price": "10000000.00", "submitted": true})
			case "negotiation":
				step(director, id, "POST", "/contract/approve", nil)
				step(kam, id, "POST", "/contract/sign", map[string]any{"signed_on": time.Now().Format(time.DateOnly)})
			}
			step(kam, id, "POST", "/advance", nil)
		}
	}
	forceID := newDeal("Control valves, tank farm", "800000")
	walk(forceID, "entry")
	step(kam, forceID, "POST", "/stakeholders", map[string]any{"name": "赵工 Zhao", "role": "insider", "stance": "supporter"})
	contractID := newDeal("DCS upgrade, cracker unit", "10000000")
	walk(contractID, "negotiation")
	deliveryID := newDeal("Boiler feed pumps, Line 3", "12000000")
	walk(deliveryID, "delivery")
	step(kam, deliveryID, "PUT", "/engineers", map[string]any{"engineers": []string{"engineer1"}})
	marginID := newDeal("Heat exchangers, hydrocracker", "12000000")
	walk(marginID, "bid")
	step(kam, marginID, "PUT", "/bid", map[string]any{"cost": "10500000.00", "price": "12000000.00", "submitted": true}) // 12.5%: under the floor
	// A two-second development SLA stalls the next deal.
	admin.do("PUT", "/api/v1/settings/stages/development", map[string]any{"sla": "2s"}, 200)
	stalledID := newDeal("Flow meters, utilities", "300000")
	deadline := time.Now().Add(30 * time.Second)
	for step(kam, stalledID, "GET", "", nil)["stalled"] != true {
		if time.Now().After(deadline) {
			t.Fatal("deal not stalled 30s after a 2s SLA")
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("stack up and deals prepared in %s", time.Since(start).Round(time.Millisecond))

	b := newBrowser(t, srv.URL)

	// ---- A key-account manager.
	b.open("/", "#login-form")
	if lang := eval[string](b, `document.documentElement.lang`); lang != "en" {
		t.Fatalf("default language %q, want en (from navigator.language)", lang)
	}
	b.screenshot("login-en.png")
	b.signIn("kam1")
	b.visible("#board")
	if got := eval[int](b, `document.querySelectorAll('#board .column').length`); got != 6 {
		t.Fatalf("board has %d columns, want 6", got)
	}
	if heads := eval[string](b, `[...document.querySelectorAll('#board .column h2')].map(h => h.textContent).join('|')`); heads != "1 Development|2 Sales entry|3 Proposal|4 Bid|5 Negotiation|6 Delivery" {
		t.Fatalf("column heads %q", heads)
	}
	b.check()

	// A new account, then a new deal for it.
	b.click("#new-account")
	b.typeIn("#new-account-form input[name=name]", "镇海炼化 Zhenhai Refining")
	b.typeIn("#new-account-form input[name=industry]", "refining")
	b.click("#new-account-form button[type=submit]")
	b.waitText("#flash", "Zhenhai Refining")
	b.click("#new-deal")
	b.visible("#new-deal-form")
	b.waitFor("accounts in the select", `document.querySelectorAll('#new-deal-form select[name=account_id] option').length >= 3`)
	b.selectText("#new-deal-form select[name=account_id]", "镇海炼化 Zhenhai Refining")
	b.typeIn("#new-deal-form input[name=title]", "Compressor overhaul")
	b.typeIn("#new-deal-form input[name=value]", "5600000")
	b.click("#new-deal-form button[type=submit]")
	b.visible("#keynode")
	b.waitText("#flash", "Compressor overhaul")
	dealPath := eval[string](b, `location.pathname`)
	if !strings.HasPrefix(dealPath, "/deals/") {
		t.Fatalf("after creating a deal the UI is at %s", dealPath)
	}

	// Advancing with the key node unmet shows exactly the missing items.
	b.click("#advance")
	b.visible("#gate-missing")
	if missing := eval[[]string](b, `[...document.querySelectorAll('#gate-missing [data-missing]')].map(e => e.dataset.missing)`); strings.Join(missing, ",") != "assessment_passed,graded" {
		t.Fatalf("missing items %v", missing)
	}
	b.waitText("#gate-missing", "Opportunity assessed and passed")
	b.waitText("#gate-missing", "Opportunity graded (A–D)")

	// The assessment, with its live score and grade; then the server's grade.
	for f := range scores {
		b.set("#score-"+f, "4")
	}
	b.set("#assess-close", time.Now().AddDate(0, 3, 0).Format(time.DateOnly))
	b.typeIn("#assess-likelihood", "80")
	b.waitFor("live score 75", `document.querySelector('#live-score')?.dataset.score === '75' && document.querySelector('#live-score')?.dataset.pass === 'true'`)
	b.waitText("#live-grade", "Grade A")
	b.set("#score-funding", "1") // a weak factor lowers the live score before anything is sent
	b.waitFor("live score 63.8", `document.querySelector('#live-score')?.dataset.score === '63.8'`)
	b.set("#score-funding", "4")
	b.screenshot("deal-assessment-en.png")
	b.click("#save-assessment")
	b.waitText("#flash", "the server graded it A")
	b.waitFor("key node met", `document.querySelector('#keynode')?.dataset.met === 'true'`)
	b.click("#advance")
	b.waitFor("stage entry", `document.querySelector('#stepper')?.dataset.stageCurrent === 'entry'`)
	b.waitText("#flash", "moved on to the Sales entry stage")
	b.check()

	// The session ends (the cookie is gone): the next request returns to sign-in, then back.
	if _, err := chromedp.Call(b.ctx, network.ClearBrowserCookies, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	b.click(`.mainnav a[href="/accounts"]`)
	b.visible("#login-form")
	b.waitText("#flash", "Your session has ended")
	b.signIn("kam1")
	b.waitFor("back on the accounts", `location.pathname === '/accounts' && !!document.querySelector('tr[data-account-id]')`)
	b.typeIn("#account-search", "East China")
	b.click(`form[role=search] button[type=submit]`)
	b.waitFor("search result", `location.search === '?q=East%20China' && document.querySelectorAll('tr[data-account-id]').length === 1`)
	b.click(`tr[data-account-id] a`)
	b.visible("#account-deals")
	b.waitText("#account-buying-center", "王工 Wang") // gathered from the stakeholders of its deals
	b.waitText("#account-deals", "Boiler feed pumps, Line 3")
	b.screenshot("account-en.png")
	b.check()
	b.signOut()

	// ---- A sales director.
	b.signIn("director")
	b.visible("#board")
	b.visible(fmt.Sprintf(`.deal-card[data-deal-id=%q] [data-badge=stalled]`, stalledID))
	b.waitText(fmt.Sprintf(`.deal-card[data-deal-id=%q] [data-badge=stalled]`, stalledID), "Stalled")
	if cls := eval[string](b, fmt.Sprintf(`document.querySelector('.deal-card[data-deal-id=%q]').className`, stalledID)); !strings.Contains(cls, "is-stalled") {
		t.Fatalf("stalled card class %q", cls)
	}
	// The stalled filter keeps only stalled deals.
	b.click("#filter-stalled")
	b.waitFor("stalled filter", `location.search === '?stalled=true' && document.querySelectorAll('.deal-card').length >= 1 && [...document.querySelectorAll('.deal-card')].every(c => c.classList.contains('is-stalled'))`)
	b.click(`.mainnav a[href="/review"]`)
	b.visible("#stalled")
	b.visible(fmt.Sprintf(`#stalled tr[data-deal-id=%q]`, stalledID))
	b.waitText(fmt.Sprintf(`#stalled tr[data-deal-id=%q] .missing`, stalledID), "Opportunity assessed and passed")
	b.visible(fmt.Sprintf(`#approvals button.approve[data-deal-id=%q]`, contractID))
	b.screenshot("review-en.png")
	b.click(fmt.Sprintf(`#approvals button.approve[data-deal-id=%q]`, contractID))
	b.waitText("#flash", "Contract of “DCS upgrade, cracker unit” approved.")
	b.waitFor("contract approval gone", fmt.Sprintf(`!document.querySelector('#approvals button.approve[data-deal-id=%q]')`, contractID))
	b.visible(fmt.Sprintf(`#approvals button.approve[data-deal-id=%q][data-approval=margin]`, marginID))

	// The bid's live margin against the floor, and the approved contract on its deal's page.
	b.open("/deals/"+marginID, "#bid-form")
	b.waitFor("live margin 12.5", `document.querySelector('#live-margin')?.dataset.margin === '12.5'`)
	b.waitText("#margin-live", "below the floor")
	b.visible("#approve-margin")
	b.set("#bid-price", "")
	b.typeIn("#bid-price", "13000000")
	b.waitFor("live margin 19.23", `document.querySelector('#live-margin')?.dataset.margin === '19.23'`)
	b.waitText("#margin-live", "at or above the floor")
	b.open("/deals/"+contractID, "#stage-work")
	b.waitText("#contract-approval", "Contract approved by director")
	b.visible("#sign-form")

	// Force a deal past its unmet key node, with a reason: the probability cut is shown.
	b.open("/deals/"+forceID, "#keynode")
	b.click("#force")
	b.visible("#force-form")
	b.waitText("#force-before", "28%")
	b.typeIn("#force-form textarea[name=reason]", "Tender published early")
	b.click("#force-confirm")
	b.visible("#force-result")
	b.waitText("#force-result", "Win probability 28% → 18%")
	b.visible("#force-result [data-factor=forced]")
	b.waitFor("stage proposal", `document.querySelector('#stepper')?.dataset.stageCurrent === 'proposal'`)
	b.visible("#deal-badges [data-badge=forced]")
	b.waitText("#history tr[data-kind=forced]", "Tender published early")
	b.screenshot("deal-en.png")

	b.open("/board", "#board")
	b.visible(fmt.Sprintf(`.deal-card[data-deal-id=%q] [data-badge=forced]`, forceID))
	b.screenshot("board-en.png")

	// The board on a phone: one column, nothing wider than the screen.
	b.do("phone viewport", chromedp.EmulateViewport(375, 812, chromedp.EmulateMobile))
	b.open("/board", "#board")
	if over := eval[bool](b, `document.documentElement.scrollWidth > window.innerWidth + 1`); over {
		t.Errorf("at 375px the board is %v px wide", eval[float64](b, `document.documentElement.scrollWidth`))
	}
	b.screenshot("board-phone-en.png")
	b.do("desktop viewport", chromedp.EmulateViewport(1366, 900))
	b.check()
	b.signOut()

	// ---- An engineer: record the acceptance of the deal in delivery, then close the project.
	b.signIn("engineer1")
	b.visible(fmt.Sprintf(`#delivery-open .work-item[data-deal-id=%q]`, deliveryID))
	b.set("#acceptance-result-"+deliveryID, "pass")
	b.typeIn("#acceptance-notes-"+deliveryID, "72-hour run test passed")
	b.click(fmt.Sprintf(`.acceptance-form[data-deal-id=%q] button[type=submit]`, deliveryID))
	b.waitText("#flash", "Acceptance recorded for “Boiler feed pumps, Line 3”: Passed.")
	b.waitFor("acceptance passed", fmt.Sprintf(`document.querySelector('.delivery-state[data-deal-id=%q] .acceptance-state')?.dataset.state === 'pass'`, deliveryID))
	b.screenshot("delivery-en.png")
	b.click(fmt.Sprintf(`.work-item[data-deal-id=%q] .close-project`, deliveryID))
	b.waitText("#flash", "closed: delivered")
	b.visible(fmt.Sprintf(`#delivery-done .work-item[data-deal-id=%q] .project-state[data-state=delivered]`, deliveryID))
	b.check()
	b.signOut()

	// ---- The admin sees the stage SLAs.
	b.signIn("admin")
	b.waitFor("settings", `location.pathname === '/settings' && document.querySelector('#sla-development')?.value === '2s'`)
	b.check()
	b.signOut()

	// ---- Chinese: switch the language and see Chinese labels, errors and formats.
	b.signIn("director")
	b.visible("#board")
	b.set("#lang", "zh-CN")
	b.waitFor("zh-CN", `document.documentElement.lang === 'zh-CN'`)
	b.waitText(".mainnav", "销售漏斗")
	b.waitText("#board .column[data-stage=development] h2", "开发阶段")
	b.waitText("#board-summary", "个进行中的商机")
	b.waitText("#signout", "退出登录")
	b.screenshot("board-zh-CN.png")
	b.open("/deals/"+forceID, "#keynode")
	b.waitText("#keynode h2", "提案阶段的关键节点")
	b.waitText("#deal-badges", "强行推进")
	b.waitText("#timeline", "从销售进入阶段强行推进到提案阶段") // the timeline in Chinese too
	b.screenshot("deal-zh-CN.png")
	b.open("/review", "#stalled")
	b.waitText("h1", "总监审查")
	b.waitText("#stalled", "机会已评估并通过")
	b.waitText("#approvals", "毛利率 12.5% 低于底线 15%")
	b.screenshot("review-zh-CN.png")
	// The choice is remembered: a fresh page load stays in Chinese.
	b.open("/deals/"+stalledID, "#keynode")
	if lang := eval[string](b, `document.documentElement.lang`); lang != "zh-CN" {
		t.Fatalf("after a reload the language is %q", lang)
	}
	// A refused advance is explained in Chinese; the button works from the keyboard.
	b.do("pressing Enter on #advance", chromedp.Focus(chromedp.CSS("#advance")), chromedp.KeyEvent("\r"))
	b.visible("#gate-missing")
	b.waitText("#gate-missing", "机会已评估并通过")
	b.waitText("#gate-missing", "无法推进到销售进入阶段")
	b.check()
	t.Logf("browser scenario done in %s", time.Since(start).Round(time.Millisecond))
}
