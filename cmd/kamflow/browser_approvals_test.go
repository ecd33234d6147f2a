package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserApprovals is the approval process in a browser at a phone's width (390 px), in
// English and in Chinese: kam1 records a bid below the margin floor and asks for its approval
// with a note; the director finds it first in the review, above the stalled deals; a send-back
// without a comment is refused, one with a comment goes back to kam1, who reads it on the deal's
// timeline and asks again; the director approves after the dialog says what will happen. The
// deal's approval history and the review's recent approvals show both rounds.
func TestBrowserApprovals(t *testing.T) {
	_, srv := browserStack(t)
	kam := login(t, srv.URL, "kam1")
	director := login(t, srv.URL, "director")
	acct := kam.do("POST", "/api/v1/accounts", map[string]any{"name": "宁波炼化 Ningbo Refining", "industry": "petrochemical"}, 201)["id"].(string)
	toBid := toBidStage(kam, acct)

	b := newBrowser(t, srv.URL)
	b.do("phone viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
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
	// fits checks that the page and the element css sit within the phone's width.
	fits := func(css string) {
		t.Helper()
		b.waitFor(css+" within the phone's width", fmt.Sprintf(`(() => {
			const el = document.querySelector(%s);
			if (!el) return false;
			const r = el.getBoundingClientRect();
			return r.width > 0 && r.left >= 0 && r.right <= window.innerWidth && document.documentElement.scrollWidth <= window.innerWidth;
		})()`, js(css)))
	}

	for _, lang := range []string{"en", "zh-CN"} {
		text := map[string]map[string]string{
			"en": {
				"asked": "Approval requested: the directors have been told.", "waiting": "A director of the team is to approve",
				"required": "A comment is required to send the request back", "sentBack": "Sent back: “", "approved": "Approved: “",
				"explain": "You approve the bid's margin of 12.5%, below the 15% floor.", "kam": "李经理 Li (KAM)", "dir": "王总 Director Wang",
				"tlSentBack": "Sent back: the bid's margin of 12.5%, below the 15% floor. Comment: ", "history": "Approval history",
			},
			"zh-CN": {
				"asked": "已提交审批，并已通知销售总监。", "waiting": "需由团队的销售总监审批：", "required": "退回审批申请必须填写意见",
				"sentBack": "已退回：“", "approved": "已批准：“", "explain": "您将批准此项：投标毛利率 12.5%，低于底线 15%。",
				"kam": "李经理 Li (KAM)", "dir": "王总 Director Wang", "tlSentBack": "已退回：投标毛利率 12.5%，低于底线 15%。意见：", "history": "审批记录",
			},
		}[lang]
		title := "Hydrogen compressor package " + lang
		id := toBid(title)
		card := fmt.Sprintf(`#approvals .approval-card[data-deal-id=%q]`, id)
		note := map[string]string{"en": "Reference site for the group", "zh-CN": "集团样板工程，值得让利"}[lang]
		comment := map[string]string{"en": "Quote the spare parts separately", "zh-CN": "备件请单独报价"}[lang]

		// kam1 records a bid at 12.5%, below the 15% floor, and asks for its approval.
		as("kam1", lang)
		b.open("/deals/"+id, "#bid-form")
		b.typeIn("#bid-cost", "10500000")
		b.set("#bid-price", "")
		b.typeIn("#bid-price", "12000000")
		b.click("#bid-submitted")
		b.click("#save-bid")
		b.visible("#approval-request-margin")
		b.typeIn("#approval-note-margin", note)
		b.click("#request-approval-margin")
		b.waitText("#flash", text["asked"])
		b.waitText("#approval-waiting-margin", text["waiting"])
		b.waitText("#approval-waiting-margin", note)
		b.waitText("#approval-waiting-margin", text["kam"])
		fits("#approval-waiting-margin")
		b.check()

		// The director finds it first, above the stalled deals, with the note, within the phone's width.
		as("director", lang)
		b.open("/review", card)
		b.waitFor("approvals above the stalled deals", `!!(document.querySelector('#approvals').compareDocumentPosition(document.querySelector('#stalled')) & Node.DOCUMENT_POSITION_FOLLOWING)`)
		b.waitFor("the request first", fmt.Sprintf(`document.querySelector('#approvals .approval-card')?.dataset.dealId === %s`, js(id)))
		b.waitText(card, note)
		b.waitText(card, text["kam"])
		fits(card + " button.send-back")
		fits(card + " button.approve")
		b.screenshot("approvals-review-" + lang + ".png")

		// Sent back without a comment: the dialog says it is needed, in the browser and then by the
		// server's rule (blank text passes the browser's check), and nothing is sent back.
		b.click(card + " button.send-back")
		b.visible("#approval-form[data-decision=send_back]")
		fits("#approval-confirm")
		b.click("#approval-confirm")
		b.visible("#approval-comment-err:not([hidden])")
		b.typeIn("#approval-comment", "   ")
		b.click("#approval-confirm")
		b.waitText("#approval-comment-required", text["required"])
		if a := kam.do("GET", "/api/v1/deals/"+id, nil, 200)["approvals"].([]any)[0].(map[string]any); a["status"] != "pending" {
			t.Fatalf("a send-back without a comment changed the request: %v", a)
		}
		b.set("#approval-comment", "")
		b.typeIn("#approval-comment", comment)
		b.click("#approval-confirm")
		b.waitText("#flash", text["sentBack"]+title)
		b.waitFor("nothing left to answer on the card", fmt.Sprintf(`!document.querySelector(%s + ' button.send-back')`, js(card)))
		b.check()

		// kam1 reads the comment on the deal and on its timeline, and asks again.
		as("kam1", lang)
		b.open("/deals/"+id, "#approval-sent-back-margin")
		b.waitText("#approval-sent-back-margin", comment)
		b.waitText("#approval-sent-back-margin", text["dir"])
		b.waitText(`#timeline [data-action="deal.answer_approval"]`, text["tlSentBack"]+comment)
		b.waitText(`#timeline [data-action="deal.request_approval"]`, note)
		fits("#approval-sent-back-margin")
		b.typeIn("#approval-note-margin", "spare parts quoted apart")
		b.click("#request-approval-margin")
		b.waitText("#flash", text["asked"])
		b.visible("#approval-waiting-margin")
		b.waitFor("no answer offered to the KAM", `!document.querySelector('#approve-request-margin') && !document.querySelector('#request-approval-margin')`)
		b.check()

		// The director sees the request on the deal too, with the answers the rules let them give,
		// and approves from the review after the dialog says what will happen.
		as("director", lang)
		b.open("/deals/"+id, "#approval-waiting-margin")
		b.visible("#approve-request-margin")
		b.visible("#send-back-request-margin")
		fits("#send-back-request-margin")
		b.open("/review", card)
		b.click(card + " button.approve")
		b.visible("#approval-form[data-decision=approve]")
		b.waitText("#approval-form .approval-what", text["explain"])
		b.screenshot("approvals-confirm-" + lang + ".png")
		b.click("#approval-confirm")
		b.waitText("#flash", text["approved"]+title)
		b.waitFor("the card gone", fmt.Sprintf(`!document.querySelector(%s)`, js(card)))
		b.waitFor("the recent approvals", fmt.Sprintf(`document.querySelectorAll('#approval-recent .approval-item[data-deal-id=%q]').length === 4`, id))
		b.check()

		// The deal's approval history: both rounds, newest first.
		b.open("/deals/"+id, "#approval-history")
		b.waitText("#approval-history h2", text["history"])
		b.waitFor("two requests", `[...document.querySelectorAll('#approval-history .approval-item')].map(e => e.dataset.status).join() === 'approved,sent_back'`)
		b.waitText("#approval-history", comment)
		fits("#approval-history")
		b.screenshot("approvals-deal-" + lang + ".png")
		b.check()

		d := director.do("GET", "/api/v1/deals/"+id, nil, 200)
		if bid := d["bid"].(map[string]any); bid["margin_approved_by"] != "director" {
			t.Errorf("%s: the margin is not approved: %v", lang, bid)
		}
		var kinds []string
		for _, n := range kam.do("GET", "/api/v1/notifications", nil, 200)["items"].([]any) {
			if n := n.(map[string]any); n["deal_id"] == id {
				kinds = append(kinds, n["kind"].(string))
			}
		}
		if strings.Count(strings.Join(kinds, ","), "approval_answered") != 2 {
			t.Errorf("%s: kam1's notices of the deal: %v, want two approval_answered", lang, kinds)
		}
	}
}

// toBidStage returns a function that opens a deal on the account and walks it to the bid stage
// through the API as the KAM's earlier work: assessed, its buying center mapped, criteria in
// our favour and a proposal handed over.
func toBidStage(kam apiClient, acct string) func(title string) string {
	closeOn := time.Now().AddDate(0, 5, 0).Format(time.DateOnly)
	scores := map[string]int{}
	for _, f := range []string{"project_level", "funding", "technical_fit", "relationship", "credit", "product", "price", "solution", "service"} {
		scores[f] = 4
	}
	return func(title string) string {
		id := kam.do("POST", "/api/v1/deals", map[string]any{"account_id": acct, "title": title, "value": "12000000", "currency": "CNY", "expected_close": closeOn}, 201)["id"].(string)
		p := "/api/v1/deals/" + id
		kam.do("PUT", p+"/assessment", map[string]any{"scores": scores, "expected_close": closeOn, "likelihood": 75}, 200)
		kam.do("POST", p+"/advance", nil, 200)
		kam.do("POST", p+"/stakeholders", map[string]any{"name": "王工 Wang", "role": "insider", "stance": "supporter", "engaged": true}, 200)
		kam.do("POST", p+"/stakeholders", map[string]any{"name": "李总 Li", "role": "decision_maker", "stance": "neutral", "engaged": true}, 200)
		kam.do("POST", p+"/advance", nil, 200)
		kam.do("PUT", p+"/criteria", map[string]any{"criteria": []map[string]any{{"name": "API 610 compliance", "favours": "us"}}}, 200)
		kam.do("POST", p+"/proposal", map[string]any{"submitted_on": time.Now().Format(time.DateOnly)}, 200)
		kam.do("POST", p+"/advance", nil, 200)
		return id
	}
}
