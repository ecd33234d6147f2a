package api

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/kamflow/kamflow"
)

// The OpenAPI document as far as the tests read it. Schemas stay generic (map[string]any) so that
// the small validator below can walk them.
type oaDoc struct {
	OpenAPI string `json:"openapi"`
	Info    struct {
		Title   string `json:"title"`
		Version string `json:"version"`
	} `json:"info"`
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		Schemas    map[string]map[string]any `json:"schemas"`
		Parameters map[string]oaParam        `json:"parameters"`
		Responses  map[string]oaResponse     `json:"responses"`
	} `json:"components"`
}

type oaOperation struct {
	// Security is nil when the operation uses the document's security, and points at an empty
	// list when it needs no credentials.
	Security    *[]map[string][]string `json:"security"`
	OperationID string                 `json:"operationId"`
	Summary     string                 `json:"summary"`
	Description string                 `json:"description"`
	Parameters  []oaParam              `json:"parameters"`
	RequestBody *struct {
		Required bool                     `json:"required"`
		Content  map[string]oaMediaSchema `json:"content"`
	} `json:"requestBody"`
	Responses map[string]oaResponse `json:"responses"`
}

type oaParam struct {
	Ref      string         `json:"$ref"`
	Name     string         `json:"name"`
	In       string         `json:"in"`
	Required bool           `json:"required"`
	Schema   map[string]any `json:"schema"`
}

type oaResponse struct {
	Ref         string                   `json:"$ref"`
	Description string                   `json:"description"`
	Content     map[string]oaMediaSchema `json:"content"`
	Headers     map[string]any           `json:"headers"`
}

type oaMediaSchema struct {
	Schema map[string]any `json:"schema"`
}

var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// loadDoc parses the embedded document.
func loadDoc(t testing.TB) *oaDoc {
	t.Helper()
	var d oaDoc
	if err := json.Unmarshal(openAPIDoc, &d); err != nil {
		t.Fatalf("openapi.json is not valid JSON: %v", err)
	}
	return &d
}

// operations lists the document's operations by "METHOD path".
func (d *oaDoc) operations(t testing.TB) map[string]oaOperation {
	t.Helper()
	out := map[string]oaOperation{}
	for path, item := range d.Paths {
		for method, raw := range item {
			if !slices.Contains(httpMethods, method) {
				continue // parameters, summary, …
			}
			var op oaOperation
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Fatalf("%s %s: %v", method, path, err)
			}
			out[strings.ToUpper(method)+" "+path] = op
		}
	}
	return out
}

func (d *oaDoc) param(p oaParam) (oaParam, error) {
	if p.Ref == "" {
		return p, nil
	}
	name, ok := strings.CutPrefix(p.Ref, "#/components/parameters/")
	q, found := d.Components.Parameters[name]
	if !ok || !found {
		return p, fmt.Errorf("unresolved parameter %s", p.Ref)
	}
	return q, nil
}

func (d *oaDoc) response(r oaResponse) (oaResponse, error) {
	if r.Ref == "" {
		return r, nil
	}
	name, ok := strings.CutPrefix(r.Ref, "#/components/responses/")
	q, found := d.Components.Responses[name]
	if !ok || !found {
		return r, fmt.Errorf("unresolved response %s", r.Ref)
	}
	return q, nil
}

// schema resolves a $ref and an allOf of one schema (how a description is put on a $ref).
func (d *oaDoc) schema(s map[string]any) map[string]any {
	for range 10 {
		if ref, ok := s["$ref"].(string); ok {
			s = d.Components.Schemas[strings.TrimPrefix(ref, "#/components/schemas/")]
			continue
		}
		if all, ok := s["allOf"].([]any); ok && len(all) == 1 && s["properties"] == nil {
			s = all[0].(map[string]any)
			continue
		}
		return s
	}
	return s
}

func TestOpenAPIDocument(t *testing.T) {
	d := loadDoc(t)
	if !strings.HasPrefix(d.OpenAPI, "3.") {
		t.Fatalf("openapi = %q, want an OpenAPI 3 document", d.OpenAPI)
	}
	if d.Info.Title == "" || d.Info.Version == "" {
		t.Error("info.title and info.version are required")
	}

	// The document is served as it is.
	srv := New(Config{})
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/openapi.json", nil))
	if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") || !slices.Equal(rec.Body.Bytes(), openAPIDoc) {
		t.Errorf("GET /api/openapi.json: %d %s, not the document", rec.Code, rec.Header().Get("Content-Type"))
	}

	// Every $ref points at something.
	var raw any
	if err := json.Unmarshal(openAPIDoc, &raw); err != nil {
		t.Fatal(err)
	}
	walkRefs(raw, func(ref string) {
		if _, ok := lookupPointer(raw, ref); !ok {
			t.Errorf("unresolved $ref %s", ref)
		}
	})

	// Sign-in: a bearer token or the session cookie, required by default.
	if strings.Contains(string(openAPIDoc), "X-Kamflow-User") {
		t.Error("openapi.json still mentions X-Kamflow-User: the actor is the signed-in user")
	}
	top := raw.(map[string]any)
	if got := jsonText(top["security"]); got != `[{"bearerAuth":[]},{"cookieAuth":[]}]` {
		t.Errorf("security = %s, want the bearer token or the session cookie", got)
	}
	schemes, _ := lookupPointer(raw, "#/components/securitySchemes")
	if got := jsonText(schemes); !strings.Contains(got, `"scheme":"bearer"`) || !strings.Contains(got, `"name":"kamflow_session"`) {
		t.Errorf("securitySchemes = %s, want bearerAuth and cookieAuth (kamflow_session)", got)
	}

	ops := d.operations(t)
	ids := map[string]string{}
	pathParam := regexp.MustCompile(`\{([^}]+)\}`)
	for key, op := range ops {
		method, path, _ := strings.Cut(key, " ")
		if op.OperationID == "" || op.Summary == "" || op.Description == "" {
			t.Errorf("%s: operationId, summary and description are required", key)
		}
		if prev, dup := ids[op.OperationID]; dup {
			t.Errorf("%s: operationId %s is also %s's", key, op.OperationID, prev)
		}
		ids[op.OperationID] = key

		// Path parameters match the template, both ways.
		var declared []string
		headers := map[string]bool{}
		for _, p := range op.Parameters {
			p, err := d.param(p)
			if err != nil {
				t.Errorf("%s: %v", key, err)
				continue
			}
			switch p.In {
			case "path":
				if !p.Required {
					t.Errorf("%s: path parameter %s must be required", key, p.Name)
				}
				declared = append(declared, p.Name)
			case "header":
				headers[p.Name] = true
			}
		}
		var inTemplate []string
		for _, m := range pathParam.FindAllStringSubmatch(path, -1) {
			inTemplate = append(inTemplate, m[1])
		}
		sort.Strings(declared)
		sort.Strings(inTemplate)
		if !slices.Equal(declared, inTemplate) {
			t.Errorf("%s: path parameters %v, template has %v", key, declared, inTemplate)
		}
		if write := method != "GET" && method != "HEAD"; write && strings.HasPrefix(path, "/api/v1/") {
			// Sign-in needs no credentials (so no CSRF token) and ignores Idempotency-Key: its
			// answer holds a session token, which is never stored.
			if signIn := key == "POST /api/v1/auth/login"; !signIn && (!headers["Idempotency-Key"] || !headers["X-CSRF-Token"]) {
				t.Errorf("%s: a write must document the Idempotency-Key and X-CSRF-Token headers", key)
			} else if signIn && (headers["Idempotency-Key"] || headers["X-CSRF-Token"]) {
				t.Errorf("%s: sign-in takes neither Idempotency-Key nor X-CSRF-Token", key)
			}
			// An upload (POST /imports) sends a multipart file instead.
			if op.RequestBody == nil || (op.RequestBody.Content["application/json"].Schema == nil &&
				op.RequestBody.Content["multipart/form-data"].Schema == nil) {
				t.Errorf("%s: a write must document its JSON body", key)
			}
		}
		if headers["X-Kamflow-User"] {
			t.Errorf("%s: X-Kamflow-User is gone: the actor is the signed-in user", key)
		}

		// Credentials: every /api/v1 route but sign-in and health needs them (the document's
		// global security) and says it answers 401 without; the others opt out with security [].
		public := !strings.HasPrefix(path, "/api/v1/") || path == "/api/v1/healthz" || path == "/api/v1/auth/login"
		if public {
			if op.Security == nil || len(*op.Security) != 0 {
				t.Errorf("%s: needs no credentials, so it must say security: []", key)
			}
			if _, ok := op.Responses["401"]; ok && path != "/api/v1/auth/login" {
				t.Errorf("%s: needs no credentials but documents 401", key)
			}
		} else {
			if op.Security != nil {
				t.Errorf("%s: must use the document's security (bearer or cookie), not its own", key)
			}
			if r := op.Responses["401"]; r.Ref != "#/components/responses/Unauthorized" {
				t.Errorf("%s: must document 401 as the Unauthorized response", key)
			}
			// Any write can be refused for a missing CSRF token, and every read but these
			// three for the user's role.
			open := key == "GET /api/v1/settings" || key == "GET /api/v1/notifications" || key == "GET /api/v1/auth/me"
			if r, ok := op.Responses["403"]; !open && r.Ref != "#/components/responses/Forbidden" {
				t.Errorf("%s: must document 403 as the Forbidden response", key)
			} else if open && ok {
				t.Errorf("%s: is open to every signed-in user, yet documents 403", key)
			}
		}

		// Responses: one success, a 500, and every error answered with the error envelope.
		success := 0
		if _, ok := op.Responses["500"]; !ok {
			t.Errorf("%s: no 500 response", key)
		}
		for status, r := range op.Responses {
			r, err := d.response(r)
			if err != nil {
				t.Errorf("%s %s: %v", key, status, err)
				continue
			}
			if r.Description == "" {
				t.Errorf("%s %s: no description", key, status)
			}
			schema := r.Content["application/json"].Schema
			if status == "204" {
				if len(r.Content) != 0 {
					t.Errorf("%s %s: a 204 has no content", key, status)
				}
				success++
				continue
			}
			if isDownload(r.Content) && schema == nil && status[0] == '2' {
				success++ // a document download: a PDF, a CSV or XLSX file
				continue
			}
			if schema == nil {
				t.Errorf("%s %s: no application/json schema", key, status)
				continue
			}
			if status[0] == '2' {
				success++
				continue
			}
			// A readiness probe's 503 is its Health report, which holds the error object too.
			if schema["$ref"] != "#/components/schemas/Error" && !(status == "503" && schema["$ref"] == "#/components/schemas/Health") {
				t.Errorf("%s %s: an error answer must be the Error schema, not %v", key, status, schema)
			}
		}
		if success != 1 {
			t.Errorf("%s: %d success responses, want 1", key, success)
		}
	}

	// The enums are the domain's.
	enum := func(name string) []string {
		var out []string
		for _, v := range d.Components.Schemas[name]["enum"].([]any) {
			out = append(out, v.(string))
		}
		return out
	}
	strs := func(v any) []string {
		rv := reflect.ValueOf(v)
		out := make([]string, rv.Len())
		for i := range out {
			out[i] = rv.Index(i).String()
		}
		return out
	}
	var gateKeys []string
	for _, st := range kamflow.Stages {
		gateKeys = append(gateKeys, kamflow.GateKeys[st]...)
	}
	codes := make([]string, 0, len(statusOf))
	for c := range statusOf {
		codes = append(codes, c)
	}
	for name, want := range map[string][]string{
		"Stage":    strs(kamflow.Stages),
		"Status":   strs(kamflow.Statuses),
		"Role":     strs(kamflow.Roles),
		"Factor":   strs(kamflow.Factors),
		"Grade":    {"A", "B", "C", "D"},
		"UserRole": strs(kamflow.UserRoles),
		"Stance":   {string(kamflow.StanceSupporter), string(kamflow.StanceNeutral), string(kamflow.StanceOpponent)},
		"Favours": {string(kamflow.FavoursUs), string(kamflow.FavoursNeutral),
			string(kamflow.FavoursCompetitor)},
		"AcceptanceResult": {string(kamflow.AcceptancePass), string(kamflow.AcceptancePassPunchList), string(kamflow.AcceptanceFail)},
		"CloseOutcome":     {string(kamflow.StatusLost), string(kamflow.StatusWithdrawn), string(kamflow.StatusAbandoned)},
		"GateKey":          gateKeys,
		"Segment":          strs(kamflow.Segments),
		"Phase":            strs(kamflow.Phases),
		"LoyaltyRung":      strs(kamflow.LoyaltyRungs),
		"ValueFactor":      strs(kamflow.ValueFactors),
		"InteractionKind":  strs(kamflow.InteractionKinds),
		"Reaction":         strs(kamflow.Reactions),
		"HandoverStatus": {string(kamflow.HandoverPending), string(kamflow.HandoverRunning), string(kamflow.HandoverDone),
			string(kamflow.HandoverDoneWithRefusals), string(kamflow.HandoverConflict)},
		"GateDetailCode": slices.Sorted(maps.Keys(kamflow.GateTexts)),
		"TimelineCode":   slices.Sorted(maps.Keys(kamflow.TimelineTexts)),
		"TransitionKind": {kamflow.TransitionCreated, kamflow.TransitionAdvanced, kamflow.TransitionForced,
			kamflow.TransitionWon, kamflow.TransitionClosed, kamflow.TransitionDelivered, kamflow.TransitionImported},
	} {
		if got := enum(name); !slices.Equal(got, want) {
			t.Errorf("schema %s: enum %v, want %v", name, got, want)
		}
	}
	got := enum("ErrorCode")
	sort.Strings(got)
	sort.Strings(codes)
	if !slices.Equal(got, codes) {
		t.Errorf("ErrorCode enum %v, want every code the API maps: %v", got, codes)
	}
	// Each error response component is documented with the status its codes map to.
	for name, status := range map[string]int{"BadRequest": 400, "Unauthorized": 401, "Forbidden": 403, "NotFound": 404,
		"Conflict": 409, "TooLarge": 413, "WrongStage": 422, "TooManyRequests": 429, "Unavailable": 503, "Internal": 500} {
		for key, op := range ops {
			for st, r := range op.Responses {
				if r.Ref == "#/components/responses/"+name && st != fmt.Sprint(status) {
					t.Errorf("%s: response %s is documented under %s, want %d", key, name, st, status)
				}
			}
		}
	}
}

// TestOpenAPISchemasMatchGo checks that each schema has exactly the JSON fields of its Go type, of
// the right JSON types, and, for what the API answers, that the fields always present are the
// required ones.
func TestOpenAPISchemasMatchGo(t *testing.T) {
	d := loadDoc(t)
	criteriaBody := struct {
		Criteria []kamflow.Criterion `json:"criteria"`
	}{}
	inputs := map[string]any{
		"AccountInput":    kamflow.AccountInput{},
		"AccountPatch":    accountPatch{},
		"NewDealInput":    kamflow.NewDealInput{},
		"AssessmentInput": kamflow.AssessmentInput{},
		"Stakeholder":     stakeholderRequest{},
		"Criterion":       kamflow.Criterion{},
		"CriteriaInput":   criteriaBody,
		"ProposalInput":   kamflow.ProposalInput{},
		"BidInput":        kamflow.BidInput{},
		"SignInput":       kamflow.SignInput{},
		"AcceptanceInput": kamflow.AcceptanceInput{},
		"AdvanceInput":    kamflow.AdvanceInput{},
		"CloseInput":      kamflow.CloseInput{},
		"PauseInput":      kamflow.PauseInput{},
		"EmptyBody":       struct{}{},
		"StageSLAInput":   stageSettingsInput{},
		"ReassignInput":   kamflow.ReassignInput{},
		"EditInput":       kamflow.EditInput{},
		// One buying center per account.
		"GateOverride":       kamflow.GateOverride{},
		"StakeholderRemoval": removeRequest{},
		// Approvals as a process.
		"ApprovalRequestInput": kamflow.ApprovalRequestInput{},
		"ApprovalAnswerInput":  approvalAnswerBody{},
		"EngineersInput": struct {
			Engineers []string `json:"engineers"`
		}{},
		"UserInput":           userInput{},
		"PlanInput":           kamflow.PlanInput{},
		"TaskSpec":            kamflow.TaskSpec{},
		"CompleteInput":       kamflow.CompleteInput{},
		"VisitReportInput":    visitReportInput{},
		"ServiceCadenceInput": serviceCadenceInput{},
		"ResolveUndoInput":    resolveUndoInput{},
		"ResolvePunchInput":   resolvePunchInput{},
		"UserPatch":           userPatch{},
		"TeamInput": struct {
			Name string `json:"name"`
		}{},
		"LoginInput": struct {
			Username string `json:"username"`
			Password string `json:"password"`
		}{},

		// The key-account record.
		"AccountValueInput":    kamflow.AccountValueInput{},
		"LifecycleInput":       kamflow.LifecycleInput{},
		"HandoverInput":        kamflow.HandoverInput{},
		"ContactInput":         kamflow.ContactInput{},
		"ContactPatch":         contactPatch{},
		"InteractionInput":     kamflow.InteractionInput{},
		"AccountSettingsInput": accountSettingsInput{},

		// The forms' settings (forms.go).
		"LossReasonsInput": lossReasonsInput{},
		"ModelInput":       modelInput{},
		"SavedViewInput":   savedViewInput{},
		"TeamPatch": struct {
			Name *string `json:"name"`
		}{},
	}
	outputs := map[string]any{
		"Account":           kamflow.Account{},
		"AccountList":       list[accountSummary]{},
		"Deal":              dealView{Deal: &kamflow.Deal{}},
		"DealSummary":       dealSummary{},
		"DealList":          dealList{},
		"DealTotals":        kamflow.DealTotals{},
		"SavedView":         kamflow.SavedView{},
		"StalledEntry":      stalledEntry{},
		"StageTransition":   kamflow.StageTransition{},
		"Assessment":        kamflow.Assessment{},
		"StakeholderRecord": kamflow.Stakeholder{},
		"ProposalWork":      kamflow.ProposalWork{},
		"BidWork":           kamflow.BidWork{},
		"Contract":          kamflow.Contract{},
		"Acceptance":        kamflow.Acceptance{},
		"Force":             kamflow.Force{},
		"Pause":             kamflow.Pause{},
		"Closing":           kamflow.Closing{},
		"Gate":              kamflow.Gate{},
		"GateItem":          kamflow.GateItem{},
		"Probability":       kamflow.Probability{},
		"ProbFactor":        kamflow.ProbFactor{},
		"Settings":          settingsView{},
		"Escalation":        kamflow.Escalation{},
		"TeamEscalation":    kamflow.TeamEscalation{},
		"StageSLAResult":    stageSettingsResult{},
		"StalledCount":      kamflow.StalledCount{},
		"FunnelStage":       kamflow.FunnelStage{},
		"FunnelPeriod":      funnelPeriod{},
		"StageTime":         kamflow.StageTime{},
		"Outcome":           kamflow.Outcome{},
		"StageForcing":      kamflow.StageForcing{},
		"ForcingReport":     kamflow.ForcingReport{},
		"ReportCount":       kamflow.Count{},
		"StageLosses":       kamflow.StageLosses{},
		"LossReason":        kamflow.LossReason{},
		"LossReasonsResult": lossReasonsResult{},
		"ModelResult":       modelResult{},
		"AmountParse":       amountView{},
		"ForecastRow":       kamflow.ForecastRow{},
		"Delivery":          deliveryView{},
		"DeliveryTask":      taskView{},
		"DeliveryStep":      kamflow.DeliveryStep{},
		"Attachment":        kamflow.Attachment{},
		"PunchItem":         kamflow.PunchItem{},
		"UndoFailure":       kamflow.UndoFailure{},
		"UndoCleanup":       kamflow.UndoCleanup{},
		"ServiceVisit":      kamflow.ServiceVisit{},
		"VisitReport":       kamflow.VisitReport{},
		"SiteService":       kamflow.SiteService{},
		"Notification":      kamflow.Notification{},
		"Error":             errorBody{},
		"User":              userView{User: &kamflow.User{}},
		"Team":              kamflow.Team{},
		"LoginResult":       loginResponse{},
		"AuditEntry":        kamflow.AuditEntry{},
		"AuditList":         list[kamflow.AuditEntry]{},
		"StageSummary":      kamflow.StageSummary{},
		"CurrencyTotal":     kamflow.CurrencyTotal{},
		"ApprovalEntry":     approvalEntry{},
		"Approval":          kamflow.Approval{},
		"ApprovalEvent":     approvalEvent{},
		"ApprovalHistory":   list[approvalEvent]{},
		"AttentionItem":     attentionItem{},
		"AttentionList":     attentionList{},
		"Person":            person{},

		// Imports and exports.
		"Import":       kamflow.Import{},
		"ImportReport": importReport{Import: &kamflow.Import{}},
		"ImportIssue":  importIssue{},
		"ImportColumn": kamflow.ImportColumn{},
		"ImportList": struct {
			Items []*kamflow.Import `json:"items"`
		}{},
		"DealImport": kamflow.DealImport{},

		// The key-account record.
		"AccountSummary":      accountSummary{Account: &kamflow.Account{}},
		"AccountView":         accountView{Account: &kamflow.Account{}},
		"AccountProfile":      kamflow.AccountProfile{},
		"AccountValue":        kamflow.AccountValue{},
		"TeamMember":          teamMember{},
		"ValueScore":          kamflow.ValueScore{},
		"FactorScore":         kamflow.FactorScore{},
		"Advice":              kamflow.Advice{},
		"Lifecycle":           kamflow.Lifecycle{},
		"LifecycleDerivation": kamflow.LifecycleDerivation{},
		"LifecycleOverride":   kamflow.LifecycleOverride{},
		"MarketingMix":        kamflow.MarketingMix{},
		"Handover":            handoverView{HandoverRecord: &kamflow.HandoverRecord{}},
		"HandoverDeal":        kamflow.HandoverDeal{},
		"Contact":             contactView{Contact: &kamflow.Contact{}},
		"ContactDeal":         kamflow.ContactDeal{},
		"ContactStakeholder":  kamflow.ContactStakeholder{},
		"ContactList":         contactList{},
		"Interaction":         kamflow.Interaction{},
		"TimelineEntry":       kamflow.TimelineEntry{},
		"Timeline":            list[kamflow.TimelineEntry]{},
		"ParetoView":          kamflow.ParetoView{},
		"ParetoPoint":         kamflow.ParetoPoint{},
		"AccountSettings":     accountSettingsView{},
	}
	check := func(name string, v any, output bool) {
		s, ok := d.Components.Schemas[name]
		if !ok {
			t.Errorf("no schema %s", name)
			return
		}
		fields := jsonFields(reflect.TypeOf(v))
		props, _ := s["properties"].(map[string]any)
		var want, have []string
		for f := range fields {
			want = append(want, f)
		}
		for p := range props {
			have = append(have, p)
		}
		sort.Strings(want)
		sort.Strings(have)
		if !slices.Equal(want, have) {
			t.Errorf("schema %s has properties %v; the Go type has %v", name, have, want)
		}
		for f, fi := range fields {
			p, ok := props[f].(map[string]any)
			if !ok {
				continue
			}
			if got, _ := d.schema(p)["type"].(string); got != jsonType(fi.typ) {
				wantType := jsonType(fi.typ)
				t.Errorf("schema %s.%s is of type %v; the Go field (%s) is %s in JSON", name, f, got, fi.typ, wantType)
			}
		}
		if output {
			var req, always []string
			for _, r := range asSlice(s["required"]) {
				req = append(req, r.(string))
			}
			for f, fi := range fields {
				if !fi.omitempty {
					always = append(always, f)
				}
			}
			sort.Strings(req)
			sort.Strings(always)
			if !slices.Equal(req, always) {
				t.Errorf("schema %s requires %v; the Go type always writes %v", name, req, always)
			}
		}
	}
	for name, v := range inputs {
		check(name, v, false)
	}
	for name, v := range outputs {
		check(name, v, true)
	}
	// The assessment scores are one property per factor.
	scores := d.schema(d.Components.Schemas["AssessmentInput"]["properties"].(map[string]any)["scores"].(map[string]any))
	var have []string
	for f := range scores["properties"].(map[string]any) {
		have = append(have, f)
	}
	sort.Strings(have)
	want := make([]string, len(kamflow.Factors))
	for i, f := range kamflow.Factors {
		want[i] = string(f)
	}
	sort.Strings(want)
	if !slices.Equal(have, want) {
		t.Errorf("AssessmentInput.scores has %v, want the factors %v", have, want)
	}
}

type fieldInfo struct {
	typ       reflect.Type
	omitempty bool
}

// jsonFields lists the JSON fields encoding/json writes for struct type t.
func jsonFields(t reflect.Type) map[string]fieldInfo {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	out := map[string]fieldInfo{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			for k, v := range jsonFields(f.Type) {
				if _, shadowed := out[k]; !shadowed {
					out[k] = v
				}
			}
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = fieldInfo{typ: f.Type, omitempty: strings.Contains(opts, "omitempty")}
	}
	// Fields of the outer struct shadow embedded ones: redo them last.
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.Anonymous && f.IsExported() && name != "" && name != "-" {
			out[name] = fieldInfo{typ: f.Type, omitempty: strings.Contains(opts, "omitempty")}
		}
	}
	return out
}

var marshalerType = reflect.TypeFor[json.Marshaler]()

// jsonType is the JSON Schema type encoding/json writes for a Go type.
func jsonType(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == reflect.TypeFor[time.Time]() || t.Implements(marshalerType) {
		return "string" // time, Money, Duration
	}
	if t.Kind() == reflect.Interface {
		return "" // any JSON value: the schema names no type
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice, reflect.Array:
		return "array"
	}
	return "object"
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

// TestOpenAPIRoutes checks that the document and the router agree both ways.
func TestOpenAPIRoutes(t *testing.T) {
	d := loadDoc(t)
	documented := map[string]bool{}
	for key := range d.operations(t) {
		documented[key] = true
	}
	param := regexp.MustCompile(`:([A-Za-z0-9_]+)`)
	routed := map[string]bool{}
	for _, r := range New(Config{}).Routes() {
		method, path := r[0], param.ReplaceAllString(r[1], "{$1}")
		// Echo's internal routes: the group's not-found routes and the /api/v1 catch-all that
		// answers not_found.
		if method == "echo_route_not_found" || path == "/*" || path == "/api/v1/*" {
			continue
		}
		key := method + " " + path
		routed[key] = true
		if !documented[key] {
			t.Errorf("route %s is not in openapi.json", key)
		}
	}
	if len(routed) == 0 {
		t.Fatal("the router lists no routes")
	}
	for key := range documented {
		if !routed[key] {
			t.Errorf("openapi.json documents %s, which the router does not have", key)
		}
	}
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func walkRefs(v any, fn func(string)) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if s, ok := e.(string); ok && k == "$ref" {
				fn(s)
				continue
			}
			walkRefs(e, fn)
		}
	case []any:
		for _, e := range x {
			walkRefs(e, fn)
		}
	}
}

func lookupPointer(doc any, ref string) (any, bool) {
	p, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil, false
	}
	v := doc
	for _, part := range strings.Split(p, "/") {
		part = strings.NewReplacer("~1", "/", "~0", "~").Replace(part)
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[part]; !ok {
			return nil, false
		}
	}
	return v, true
}

// isDownload reports whether a response's content is a file: a PDF, or a CSV or XLSX spreadsheet.
func isDownload(content map[string]oaMediaSchema) bool {
	for _, mt := range []string{"application/pdf", "text/csv", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
		"application/octet-stream"} { // a file's download (files.go)
		if c, ok := content[mt]; ok && c.Schema != nil {
			return true
		}
	}
	return false
}
