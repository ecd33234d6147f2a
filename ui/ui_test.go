package ui

import (
	"encoding/json"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/kamflow/kamflow"
)

func get(t *testing.T, h http.Handler, target string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestHandlerServesAssetsWithTheirTypes(t *testing.T) {
	h := Handler()
	for _, c := range []struct{ path, ctype string }{
		{"/", "text/html; charset=utf-8"},
		{"/index.html", "text/html; charset=utf-8"},
		{"/js/main.js", "text/javascript; charset=utf-8"},
		{"/js/views/deal.js", "text/javascript; charset=utf-8"},
		{"/css/app.css", "text/css; charset=utf-8"},
		{"/i18n/zh-CN.json", "application/json; charset=utf-8"},
		{"/favicon.svg", "image/svg+xml"},
	} {
		rec := get(t, h, c.path)
		if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != c.ctype {
			t.Errorf("GET %s: %d %q, want 200 %q", c.path, rec.Code, rec.Header().Get("Content-Type"), c.ctype)
		}
		if rec.Header().Get("ETag") == "" || rec.Header().Get("Cache-Control") != "no-cache" {
			t.Errorf("GET %s: ETag %q, Cache-Control %q", c.path, rec.Header().Get("ETag"), rec.Header().Get("Cache-Control"))
		}
	}
}

func TestHandlerFallsBackToIndexForClientRoutesOnly(t *testing.T) {
	h := Handler()
	index := get(t, h, "/").Body.String()
	for _, p := range []string{"/board", "/deals/0195f0a2-7c1e-7d2b-9c4f-1a2b3c4d5e6f", "/accounts/x", "/login?next=%2Fboard"} {
		rec := get(t, h, p)
		if rec.Code != http.StatusOK || rec.Body.String() != index {
			t.Errorf("GET %s: %d, want index.html", p, rec.Code)
		}
	}
	for _, p := range []string{"/js/missing.js", "/favicon.ico", "/css/nope.css", "/api/v2/deals", "/api"} {
		if rec := get(t, h, p); rec.Code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, rec.Code)
		}
	}
	req := httptest.NewRequest(http.MethodPost, "/board", nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST /board: %d, want 405", rec.Code)
	}
}

func TestHandlerRevalidates(t *testing.T) {
	h := Handler()
	etag := get(t, h, "/js/main.js").Header().Get("ETag")
	if rec := get(t, h, "/js/main.js", "If-None-Match", etag); rec.Code != http.StatusNotModified {
		t.Fatalf("conditional GET: %d, want 304", rec.Code)
	}
}

// The server's CSP allows scripts and styles from files only: the HTML must hold no inline script,
// no style element or attribute, and no inline event handler, and the scripts must not write HTML
// strings or style attributes.
func TestNoInlineScriptOrStyle(t *testing.T) {
	inlineScript := regexp.MustCompile(`<script(?:\s[^>]*)?>\s*[^<\s]`)
	styleAttr := regexp.MustCompile(`(?i)\sstyle\s*=|<style|\son[a-z]+\s*=`)
	jsBad := regexp.MustCompile(`innerHTML|outerHTML|insertAdjacentHTML|document\.write|setAttribute\(\s*'style'|\beval\(|new Function\(|console\.(log|error|warn)`)
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := static.ReadFile(p)
		switch path.Ext(p) {
		case ".html":
			if inlineScript.Match(b) || styleAttr.Match(b) {
				t.Errorf("%s has an inline script, style or event handler", p)
			}
		case ".js":
			if m := jsBad.Find(b); m != nil {
				t.Errorf("%s uses %s", p, m)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Every relative import of a module must name a file that exists.
func TestModuleImportsResolve(t *testing.T) {
	imp := regexp.MustCompile(`(?m)^\s*import\s[^;]*?from\s+'([^']+)'`)
	err := fs.WalkDir(static, "static/js", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := static.ReadFile(p)
		for _, m := range imp.FindAllSubmatch(b, -1) {
			target := path.Join(path.Dir(p), string(m[1]))
			if _, err := fs.Stat(static, target); err != nil {
				t.Errorf("%s imports %s, which does not exist", p, m[1])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func dictionary(t *testing.T, lang string) map[string]string {
	t.Helper()
	b, err := static.ReadFile("static/i18n/" + lang + ".json")
	if err != nil {
		t.Fatal(err)
	}
	var d map[string]string
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s.json: %v", lang, err)
	}
	return d
}

func TestTranslationsHaveTheSameKeys(t *testing.T) {
	en, zh := dictionary(t, "en"), dictionary(t, "zh-CN")
	for k, v := range en {
		if _, ok := zh[k]; !ok {
			t.Errorf("zh-CN.json lacks %q", k)
		}
		if strings.TrimSpace(v) == "" {
			t.Errorf("en.json: %q is empty", k)
		}
	}
	for k, v := range zh {
		if _, ok := en[k]; !ok {
			t.Errorf("en.json lacks %q (in zh-CN.json)", k)
		}
		if strings.TrimSpace(v) == "" {
			t.Errorf("zh-CN.json: %q is empty", k)
		}
		// The same placeholders in both languages.
		ph := regexp.MustCompile(`\{\w+\}`)
		a, b := ph.FindAllString(en[k], -1), ph.FindAllString(v, -1)
		slices.Sort(a)
		slices.Sort(b)
		if en[k] != "" && !slices.Equal(slices.Compact(a), slices.Compact(b)) {
			t.Errorf("%q: placeholders differ: en %v, zh-CN %v", k, a, b)
		}
	}
}

// Every error code, gate key, stage, status and the rest of the domain's vocabulary that the UI
// shows has a translation, so that nothing reaches the user as a raw key.
func TestTranslationsCoverTheDomain(t *testing.T) {
	var keys []string
	for _, code := range []string{
		kamflow.EINVALID, kamflow.ENOTFOUND, kamflow.EGATENOTMET, kamflow.EWRONGSTAGE, kamflow.ECONFLICT,
		kamflow.EFORBIDDEN, kamflow.EUNAUTHORIZED, kamflow.EUNAVAILABLE, kamflow.EINTERNAL, kamflow.ETOOLARGE,
		kamflow.ERATELIMITED, kamflow.EINPROGRESS, "network",
	} {
		keys = append(keys, "error."+code)
	}
	for _, st := range kamflow.Stages {
		keys = append(keys, "stage."+string(st), "stage."+string(st)+".work")
		for _, g := range kamflow.GateKeys[st] {
			keys = append(keys, "gate."+g)
		}
	}
	for _, s := range kamflow.Statuses {
		keys = append(keys, "status."+string(s))
	}
	for _, f := range kamflow.Factors {
		keys = append(keys, "factor."+string(f), "factor."+string(f)+".hint")
	}
	for _, r := range kamflow.Roles {
		keys = append(keys, "role."+string(r))
	}
	for _, s := range []kamflow.Stance{kamflow.StanceSupporter, kamflow.StanceNeutral, kamflow.StanceOpponent} {
		keys = append(keys, "stance."+string(s))
	}
	for _, f := range []kamflow.Favours{kamflow.FavoursUs, kamflow.FavoursNeutral, kamflow.FavoursCompetitor} {
		keys = append(keys, "favours."+string(f))
	}
	for _, a := range []kamflow.AcceptanceResult{kamflow.AcceptancePass, kamflow.AcceptancePassPunchList, kamflow.AcceptanceFail} {
		keys = append(keys, "acceptance."+string(a), "gatedetail.acceptance_"+string(a))
	}
	for _, g := range []kamflow.Grade{kamflow.GradeA, kamflow.GradeB, kamflow.GradeC, kamflow.GradeD} {
		keys = append(keys, "grade."+string(g)+".meaning")
	}
	for _, r := range kamflow.UserRoles {
		keys = append(keys, "userrole."+string(r))
	}
	for _, k := range kamflow.CommandKinds {
		keys = append(keys, "action.deal."+string(k))
	}
	keys = append(keys, "action.deal.create", "action.deal.stalled", "action.deal.sla")
	for _, k := range []string{kamflow.TransitionCreated, kamflow.TransitionAdvanced, kamflow.TransitionForced,
		kamflow.TransitionWon, kamflow.TransitionClosed, kamflow.TransitionDelivered} {
		keys = append(keys, "history."+k)
	}
	// Delivery: the default plan's tasks, their statuses, their steps and the steps' statuses, the
	// customer's feedback at a service visit, a visit's status and the plan's timeline entries.
	for _, k := range []string{kamflow.TaskSiteSurvey, kamflow.TaskInstallation, kamflow.TaskCommissioning, kamflow.TaskTraining, kamflow.TaskAcceptanceTest} {
		keys = append(keys, "task."+k)
	}
	for _, s := range []kamflow.TaskStatus{kamflow.TaskPending, kamflow.TaskRunning, kamflow.TaskActive, kamflow.TaskDone,
		kamflow.TaskFailed, kamflow.TaskCancelled, kamflow.TaskUndoing, kamflow.TaskUndoFailed} {
		keys = append(keys, "taskstatus."+string(s))
	}
	for _, k := range []string{kamflow.StepWorkOrder, kamflow.StepReserveParts, kamflow.StepNotifyCustomer} {
		keys = append(keys, "step."+k)
	}
	for _, s := range []kamflow.StepStatus{kamflow.StepPending, kamflow.StepRunning, kamflow.StepDone, kamflow.StepFailed, kamflow.StepCompensated,
		kamflow.StepUndoFailed} {
		keys = append(keys, "stepstatus."+string(s))
	}
	for _, s := range []kamflow.Satisfaction{kamflow.Satisfied, kamflow.Neutral, kamflow.Dissatisfied} {
		keys = append(keys, "satisfaction."+string(s))
	}
	for _, s := range []kamflow.VisitStatus{kamflow.VisitDue, kamflow.VisitReported} {
		keys = append(keys, "visitstatus."+string(s))
	}
	for _, k := range []kamflow.DeliveryCommandKind{kamflow.DelivPlan, kamflow.DelivStart, kamflow.DelivComplete, kamflow.DelivRetry,
		kamflow.DelivCancel, kamflow.DelivResolve, kamflow.DelivReport, kamflow.DelivResolveUndo} {
		keys = append(keys, "action.delivery."+string(k))
	}
	keys = append(keys, "action.delivery.task_failed", "action.delivery.undo_failed")
	// Key accounts: value factors, segments, lifecycle phases and loyalty rungs with the reasons
	// and the marketing mix, interactions and the customer's reactions; imports: their kinds,
	// statuses and every issue code.
	for _, f := range kamflow.ValueFactors {
		keys = append(keys, "value."+string(f), "value."+string(f)+".hint")
	}
	for _, s := range kamflow.Segments {
		keys = append(keys, "segment."+string(s))
	}
	for _, p := range kamflow.Phases {
		keys = append(keys, "phase."+string(p))
	}
	for _, r := range kamflow.LoyaltyRungs {
		keys = append(keys, "rung."+string(r))
	}
	for _, r := range []string{kamflow.ReasonNoWonDeal, kamflow.ReasonOneWonDeal, kamflow.ReasonWinsSpreadOut, kamflow.ReasonRepeatWins,
		kamflow.ReasonDormant, kamflow.ReasonFallingValue} {
		keys = append(keys, "lcreason."+r)
	}
	keys = append(keys, "mix."+kamflow.MarketingRelationship, "mix."+kamflow.MarketingBrand)
	for _, k := range kamflow.InteractionKinds {
		keys = append(keys, "ikind."+string(k))
	}
	for _, r := range kamflow.Reactions {
		keys = append(keys, "reaction."+string(r))
	}
	for _, k := range kamflow.ImportKinds {
		keys = append(keys, "import.kind."+string(k))
	}
	for _, s := range []kamflow.ImportStatus{kamflow.ImportPending, kamflow.ImportRunning, kamflow.ImportDone, kamflow.ImportFailed} {
		keys = append(keys, "import.status."+string(s))
	}
	for _, c := range []string{kamflow.IssueRequired, kamflow.IssueTooLong, kamflow.IssueFormula, kamflow.IssueText, kamflow.IssueDate,
		kamflow.IssueMoney, kamflow.IssueNumber, kamflow.IssueCurrency, kamflow.IssueEmail, kamflow.IssueStage, kamflow.IssueStatus,
		kamflow.IssueNotOpen, kamflow.IssueRole, kamflow.IssueStance, kamflow.IssueOwner, kamflow.IssueAccount, kamflow.IssueManager, kamflow.IssueDuplicate,
		kamflow.IssueExtraCells, kamflow.IssueExists, kamflow.IssueFailed} {
		keys = append(keys, "import.code."+c)
	}
	keys = append(keys, "history."+kamflow.TransitionImported)
	// An account's handover: its statuses.
	for _, s := range []kamflow.HandoverStatus{kamflow.HandoverPending, kamflow.HandoverRunning, kamflow.HandoverDone,
		kamflow.HandoverDoneWithRefusals, kamflow.HandoverConflict} {
		keys = append(keys, "handover.status."+string(s))
	}
	for _, lang := range []string{"en", "zh-CN"} {
		d := dictionary(t, lang)
		for _, k := range keys {
			if _, ok := d[k]; !ok {
				t.Errorf("%s.json lacks %q", lang, k)
			}
		}
	}
}

// Every literal key the scripts translate exists.
func TestScriptsUseKnownKeys(t *testing.T) {
	en := dictionary(t, "en")
	call := regexp.MustCompile(`\bt\(\s*'([a-zA-Z0-9_.]+)'`)
	plural := regexp.MustCompile(`\btp\(\s*'([a-zA-Z0-9_.]+)'`)
	err := fs.WalkDir(static, "static/js", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := static.ReadFile(p)
		for _, m := range call.FindAllSubmatch(b, -1) {
			if _, ok := en[string(m[1])]; !ok {
				t.Errorf("%s: t(%q) has no translation", p, m[1])
			}
		}
		for _, m := range plural.FindAllSubmatch(b, -1) {
			if _, ok := en[string(m[1])+".other"]; !ok {
				t.Errorf("%s: tp(%q) has no %q", p, m[1], string(m[1])+".other")
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
