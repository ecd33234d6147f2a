package ui

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/kamflow/kamflow"
)

// noticeSamples are params of each notice kind as their producers set them (inbox.go lists them),
// in Chinese and English words where a person writes them.
func noticeSamples(zh bool) map[string]map[string]string {
	title, site, file, errText := "Cold-rolling line DCS retrofit", "Baoshan works", "deals.xlsx", "crane not booked"
	if zh {
		title, site, file, errText = "冷轧线 DCS 改造", "宝山基地", "商机.xlsx", "吊车未预约"
	}
	task := kamflow.TaskParams(&kamflow.DeliveryPlan{Site: site}, &kamflow.DeliveryTask{Key: kamflow.TaskInstallation})
	with := func(m map[string]string, kv ...string) map[string]string {
		out := map[string]string{}
		for k, v := range m {
			out[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			out[kv[i]] = kv[i+1]
		}
		return out
	}
	deal := &kamflow.Deal{Title: title, Stage: kamflow.Bid, StageSLA: kamflow.Duration(5 * kamflow.Day), Owner: "kam.li"}
	return map[string]map[string]string{
		kamflow.NoticeStalled:   kamflow.StalledParams(deal),
		kamflow.NoticeEscalated: kamflow.EscalatedParams(deal, kamflow.Duration(180*3600*1e9)), // 7.5 days: "180h"
		kamflow.NoticeApprovalRequested: {"approval": "1", "title": title, "subject": kamflow.ApprovalMargin, "requested_by": "kam.li",
			"by": "kam.li", "note": "", "margin_pct": "10.00", "floor": "15.00", "price": "7600000.00", "cost": "6840000.00"},
		kamflow.NoticeApprovalAnswered: {"approval": "1", "title": title, "subject": kamflow.ApprovalContract, "decision": string(kamflow.ApprovalSentBack),
			"answered_by": "dir.wang", "by": "dir.wang", "comment": ""},
		kamflow.NoticeDigest:         {"date": "2026-03-11", "deals": "3", "approvals": "1"},
		kamflow.NoticeImportApproval: {"by": "kam.li", "file": file, "deals": "1"},
		kamflow.NoticeImportDecision: {"by": "dir.wang", "decision": kamflow.ImportRejected, "file": file, "deals": "2"},
		kamflow.NoticeTaskOverdue:    with(task, "due", "2026-04-30"),
		kamflow.NoticeServiceVisit:   {"round": "2", "site": site},
		kamflow.NoticeTaskFailed:     with(task, "step", kamflow.StepWorkOrder, "error", errText),
		kamflow.NoticeUndoFailed:     with(task, "cleanup", "work_order WO-17 ("+errText+")"),
		kamflow.NoticeAttention:      {"title": title, "error": errText},
	}
}

// domainNoticeKinds are the values of the domain's notification kind constants: every Notice*
// string constant of package kamflow but the params' names (NoticeParam*).
func domainNoticeKinds(t *testing.T) map[string]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]string{}
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range file.Decls {
			g, ok := decl.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, spec := range g.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, name := range vs.Names {
					if !strings.HasPrefix(name.Name, "Notice") || strings.HasPrefix(name.Name, "NoticeParam") || i >= len(vs.Values) {
						continue
					}
					lit, ok := vs.Values[i].(*ast.BasicLit)
					if !ok || lit.Kind != token.STRING {
						continue
					}
					v, _ := strconv.Unquote(lit.Value)
					kinds[name.Name] = v
				}
			}
		}
	}
	if len(kinds) < 12 {
		t.Fatalf("found only %d notice kinds in the domain: %v", len(kinds), kinds)
	}
	return kinds
}

var (
	leftPlaceholder = regexp.MustCompile(`\{\w*\}`)
	rawDuration     = regexp.MustCompile(`\b\d+[dhms]\b`)
	han             = regexp.MustCompile(`\p{Han}`)
)

// rawCodes are what a reader must not see in a rendered notice: the stages', subjects', decisions',
// tasks' and steps' codes, and the usernames.
func rawCodes() []string {
	codes := []string{kamflow.ApprovalMargin, kamflow.ApprovalContract, string(kamflow.ApprovalApproved), string(kamflow.ApprovalSentBack),
		kamflow.ImportRejected, kamflow.TaskInstallation, "kam.li", "dir.wang"}
	for _, s := range kamflow.Stages {
		codes = append(codes, string(s))
	}
	return codes
}

var containsWord = func(s, w string) bool {
	return regexp.MustCompile(`(^|[^A-Za-z_.])` + regexp.QuoteMeta(w) + `($|[^A-Za-z_])`).MatchString(s)
}

// TestNoticeKindsAreTranslated: every notification kind of the domain has its text in both
// dictionaries, and each rendered with its params in Chinese is all words — no placeholder left,
// no code (a stage as "bid", an SLA as "5d", a username) — and in English has no Chinese.
func TestNoticeKindsAreTranslated(t *testing.T) {
	names := map[string]map[string]string{
		kamflow.LangChinese: {"kam.li": "李明", "dir.wang": "王总"},
		kamflow.LangEnglish: {"kam.li": "Li Ming", "dir.wang": "Director Wang"},
	}
	for constName, kind := range domainNoticeKinds(t) {
		for _, lang := range kamflow.Languages {
			if _, ok := dictionary(t, lang)["notice.kind."+kind]; !ok {
				t.Errorf("%s.json lacks notice.kind.%s (%s)", lang, kind, constName)
			}
			params, ok := noticeSamples(lang == kamflow.LangChinese)[kind]
			if !ok {
				t.Errorf("no sample params of %s (%q): add them to noticeSamples", constName, kind)
				continue
			}
			n := kamflow.Notification{Kind: kind, Params: params, Message: "ENGLISH FALLBACK"}
			got := NoticeText(lang, n, func(u string) string { return names[lang][u] })
			switch {
			case got == n.Message:
				t.Errorf("%s %s: the English fallback, not the kind's text", lang, kind)
			case leftPlaceholder.MatchString(got):
				t.Errorf("%s %s: placeholder left in %q", lang, kind, got)
			case rawDuration.MatchString(got):
				t.Errorf("%s %s: a duration as a code in %q", lang, kind, got)
			case lang == kamflow.LangEnglish && han.MatchString(got):
				t.Errorf("en %s: Chinese in %q", kind, got)
			case lang == kamflow.LangChinese && !han.MatchString(got):
				t.Errorf("zh-CN %s: no Chinese in %q", kind, got)
			}
			for _, c := range rawCodes() {
				// English words may be codes too ("bid", "contract"): only the usernames are checked there.
				if (lang == kamflow.LangChinese || strings.Contains(c, ".")) && containsWord(got, c) {
					t.Errorf("%s %s: raw code %q in %q", lang, kind, c, got)
				}
			}
			t.Logf("%s %s: %s", lang, kind, got)
		}
	}
}

// TestNoticeText: the words of the params, and the English Message for what the dictionaries
// cannot tell.
func TestNoticeText(t *testing.T) {
	deal := &kamflow.Deal{Title: "泵站项目", Stage: kamflow.Bid, StageSLA: kamflow.Duration(5 * kamflow.Day)}
	stalled := kamflow.Notification{Kind: kamflow.NoticeStalled, Params: kamflow.StalledParams(deal), Message: "english"}
	if got, want := NoticeText("zh-CN", stalled, nil), "商机“泵站项目”在投标阶段超过 SLA（5 天）仍无进展"; got != want {
		t.Errorf("zh-CN stalled = %q, want %q", got, want)
	}
	if got, want := NoticeText("zh", stalled, nil), "商机“泵站项目”在投标阶段超过 SLA（5 天）仍无进展"; got != want {
		t.Errorf("zh stalled = %q, want %q", got, want)
	}
	for _, lang := range []string{"", "en", "fr", "EN-us"} {
		if got, want := NoticeText(lang, stalled, nil), "泵站项目 has made no progress in the Bid stage within its SLA of 5 days"; got != want {
			t.Errorf("%q stalled = %q, want %q", lang, got, want)
		}
	}
	for sla, want := range map[string]string{"1d": "1 day", "36h": "36 hours", "1h30m": "1 hour 30 minutes", "2s": "2 seconds",
		"1000d": "1,000 days", "soon": "soon"} {
		stalled.Params = map[string]string{"title": "T", "stage": "bid", "sla": sla}
		if got := NoticeText("en", stalled, nil); got != "T has made no progress in the Bid stage within its SLA of "+want {
			t.Errorf("SLA %s: %q, want it as %q", sla, got, want)
		}
	}
	task := kamflow.Notification{Kind: kamflow.NoticeTaskOverdue, Params: map[string]string{"task": "crane_lift", "site": "S", "due": "2026-04-30"}}
	if got, want := NoticeText("en", task, nil), "The crane_lift task at S was due on 2026-04-30 and is not done"; got != want {
		t.Errorf("a task of the plan's own: %q, want %q", got, want)
	}
	task.Params["task_title"] = "Crane lift"
	if got, want := NoticeText("zh-CN", task, nil), "S的“Crane lift”任务已于 2026-04-30 到期，尚未完成"; got != want {
		t.Errorf("a task with its title: %q, want %q", got, want)
	}
	one := kamflow.Notification{Kind: kamflow.NoticeImportApproval, Params: map[string]string{"by": "kam.li", "file": "f.csv", "deals": "1"}}
	if got, want := NoticeText("en", one, func(string) string { return "" }), "kam.li's import of f.csv holds 1 deal past development for your approval"; got != want {
		t.Errorf("one deal, no name: %q, want %q", got, want)
	}
	// A kind the dictionaries do not know, and an old notice without params: the English text.
	for _, n := range []kamflow.Notification{{Kind: "new_kind", Message: "as stored"}, {Kind: kamflow.NoticeStalled, Message: "as stored"}} {
		if got := NoticeText("zh-CN", n, nil); got != "as stored" {
			t.Errorf("%s without its text or params: %q, want the Message", n.Kind, got)
		}
	}
}
