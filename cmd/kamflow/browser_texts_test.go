package main

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/kamflow/kamflow"
)

// textSample is a value of the param name, as the server would send it (says.go), in the
// language of the people who typed the free texts.
func textSample(t *testing.T, name string, zh bool) any {
	t.Helper()
	typed := func(en, cn string) string {
		if zh {
			return cn
		}
		return en
	}
	money := kamflow.MoneyParam{Amount: "12500000.00", Currency: "CNY"}
	switch name {
	case "stage", "to":
		return "negotiation"
	case "from":
		return "proposal"
	case "missing":
		return []string{"criteria_favourable", "proposal_submitted"}
	case "status":
		return "lost"
	case "result":
		return "pass_with_punch_list"
	case "satisfaction":
		return "dissatisfied"
	case "role":
		return "decision_maker"
	case "stance":
		return "opponent"
	case "interaction":
		return "factory_visit"
	case "reaction":
		return "positive"
	case "subject":
		return "margin"
	case "sla":
		return "36h"
	case "date", "date_from", "date_to":
		return "2026-06-30"
	case "price", "value", "value_from", "value_to":
		return money
	case "cost":
		return kamflow.MoneyParam{Amount: "10500000.00", Currency: "CNY"}
	case "margin":
		return 12.5
	case "floor":
		return 15.0
	case "score":
		return 72.5
	case "threshold":
		return 60.0
	case "owner", "owner_from", "by":
		return "kam1"
	case "owner_to":
		return "director"
	case "engineers":
		return []string{"engineer1"}
	case "names":
		return []string{typed("Wang Gong", "王工"), typed("Li Zong", "李总")}
	case "task":
		return "commissioning"
	case "task_title":
		return ""
	case "tasks":
		return []kamflow.TaskRef{{Key: "commissioning"}, {Key: "training"}}
	case "steps":
		return []string{"work_order", "reserve_parts"}
	case "days", "met", "total", "us", "neutral", "them", "faults", "unresolved", "punch_items", "line":
		return 3
	case "grade":
		return "B"
	case "title", "title_from", "title_to":
		return typed("Compressor retrofit", "压缩机改造项目")
	case "name":
		return typed("Wang Gong", "王工")
	case "reason", "note", "comment", "summary", "error":
		return typed("The customer asked for a second review", "客户要求再评审一次")
	case "competitor":
		return typed("Honeywell", "霍尼韦尔")
	case "changes":
		var out []kamflow.Text
		for code, action := range kamflow.TimelineActions {
			if action == "" {
				out = append(out, kamflow.Text{Code: code, Params: textParams(t, code, zh)})
			}
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Code < out[j].Code })
		return out
	}
	t.Fatalf("no sample of the param %q: add one to textSample", name)
	return nil
}

func textParams(t *testing.T, code string, zh bool) kamflow.Params {
	p := kamflow.Params{}
	for _, name := range kamflow.TimelineTexts[code] {
		p[name] = textSample(t, name, zh)
	}
	return p
}

var (
	hanChars   = regexp.MustCompile(`\p{Han}`)
	asciiWord  = regexp.MustCompile(`[A-Za-z]{3,}`)
	rawValue   = regexp.MustCompile(`\d{4}-\d{2}-\d{2}|\d{5,}\.\d\d|\b\d+[dhms]\b|\b[a-z]+_[a-z_]+\b|\{\w+\}`)
	timelineJS = `[...document.querySelectorAll('#timeline li.timeline-item[data-code]')].map((li) => {
		const p = li.querySelector('.timeline-summary');
		return [li.dataset.code, p ? p.textContent : '', p && p.lang === 'en' ? 'en' : '', li.querySelector('.timeline-head strong').textContent];
	})`
)

// TestBrowserTimelineTexts walks every timeline text the server has (kamflow.TimelineTexts, with
// each part of an edit) on a deal's page in English and in Chinese: every entry is said in the
// reader's language from its code — never the English summary, no raw code, date, amount or
// duration, no English word in the Chinese page (people's display names aside) and no Chinese in
// the English one.
func TestBrowserTimelineTexts(t *testing.T) {
	app, srv := browserStack(t)
	kam := login(t, srv.URL, "kam1")
	acct := kam.do("POST", "/api/v1/accounts", map[string]any{"name": "镇海炼化 Zhenhai Refining", "industry": "petrochemical"}, 201)["id"].(string)
	var people []string
	for _, p := range kam.do("GET", "/api/v1/people", nil, 200)["items"].([]any) {
		people = append(people, p.(map[string]any)["name"].(string))
	}
	codes := make([]string, 0, len(kamflow.TimelineActions))
	for code, action := range kamflow.TimelineActions {
		if action != "" {
			codes = append(codes, code)
		}
	}
	slices.Sort(codes)

	b := newBrowser(t, srv.URL)
	b.open("/", "#login-form")
	b.signIn("kam1")
	for _, lang := range []string{"en", "zh-CN"} {
		zh := lang == "zh-CN"
		id := kam.do("POST", "/api/v1/deals", map[string]any{"account_id": acct, "title": map[bool]string{false: "Texts walk", true: "文字巡检"}[zh],
			"value": "1000000", "currency": "CNY"}, 201)["id"].(string)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		for _, code := range codes {
			e := &kamflow.AuditEntry{At: time.Now(), Actor: "kam1", Action: kamflow.TimelineActions[code], EntityType: "deal",
				EntityID: id, DealID: id, Summary: "ENGLISH FALLBACK " + code, Code: code, Params: textParams(t, code, zh)}
			if err := app.db.AppendAudit(ctx, e); err != nil {
				t.Fatalf("append %s: %v", code, err)
			}
		}
		cancel()

		if eval[string](b, `document.documentElement.lang`) != lang {
			b.set("#lang", lang)
			b.waitFor(lang, fmt.Sprintf(`document.documentElement.lang === %s`, js(lang)))
		}
		b.open("/deals/"+id, "#timeline")
		b.waitFor("every text on the timeline", fmt.Sprintf(`document.querySelectorAll('#timeline li.timeline-item[data-code]').length >= %d`, len(codes)))
		said := map[string]bool{}
		for _, row := range eval[[][]string](b, timelineJS) {
			code, text, marked, head := row[0], row[1], row[2], row[3]
			said[code] = true
			bare := text
			for _, n := range people {
				bare = strings.ReplaceAll(bare, n, "")
			}
			switch {
			case marked == "en" || strings.Contains(text, "ENGLISH FALLBACK"):
				t.Errorf("%s %s: the English summary, not the code's text: %q", lang, code, text)
			case rawValue.MatchString(bare):
				t.Errorf("%s %s: a raw value %q in %q", lang, code, rawValue.FindString(bare), text)
			case zh && asciiWord.MatchString(bare):
				t.Errorf("zh-CN %s: the English word %q in %q", code, asciiWord.FindString(bare), text)
			case zh && asciiWord.MatchString(head):
				t.Errorf("zh-CN %s: the entry's head %q is not Chinese", code, head)
			case !zh && (hanChars.MatchString(bare) || hanChars.MatchString(head)):
				t.Errorf("en %s: Chinese in %q (%q)", code, text, head)
			}
			t.Logf("%s %-26s %s · %s", lang, code, head, text)
		}
		for _, code := range codes {
			if !said[code] {
				t.Errorf("%s: no %s entry on the timeline", lang, code)
			}
		}
	}
}
