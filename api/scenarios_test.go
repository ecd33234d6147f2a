package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/api"
	"github.com/kamflow/kamflow/db"
	"github.com/kamflow/kamflow/db/dbtest"
)

// scenario is one request of the API tests and what must come back. Scenarios run in order on
// one database, after seed: a scenario may depend on what the ones before it did.
type scenario struct {
	name    string
	method  string
	path    string            // "{var}" is replaced by the seeded or captured ID
	as      string            // the user of the test org the request is sent as: "" is kam1, anonymous none
	headers map[string]string // "{var}" expanded too
	body    string            // raw, so that malformed JSON can be sent; "{var}" expanded
	chunked bool              // send the body without a Content-Length

	status   int
	code     string            // the error code; "" for a success
	want     map[string]any    // dotted JSON path → value (compared as JSON), absent or length
	contains []string          // fragments of the raw body
	header   map[string]string // response headers ("{var}" expanded)

	capture map[string]string // variable → JSON path of the answer, for later scenarios
	save    string            // keep the answer under this name
	before  func(e *testEnv)
	after   func(e *testEnv)
	check   func(t *testing.T, e *testEnv, r *response)
}

// anonymous, as a scenario's user, sends no credentials.
const anonymous = "anonymous"

type absentT struct{}

// absent wants the JSON path missing.
var absent = absentT{}

// length wants an array or object of n elements at the JSON path.
type length int

// Days after T0.
var (
	tStall = T0.Add(30*kamflow.Day + time.Hour) // the stale deal's SLA timer fires
	T1     = T0.Add(40 * kamflow.Day)           // 2026-04-11T09:00:00Z, when the rest happens
)

const (
	assessPass = `{"scores":{"project_level":5,"funding":5,"technical_fit":5,"relationship":4,"credit":5,"product":4,"price":3,"solution":4,"service":4},"expected_close":"2026-07-31","likelihood":80}`
	assessFail = `{"scores":{"project_level":2,"funding":2,"technical_fit":2,"relationship":2,"credit":2,"product":2,"price":2,"solution":2,"service":2},"expected_close":"2027-06-30","likelihood":35,"grade":"C"}`
	insider    = `{"name":"Chen Gong","title":"Deputy chief engineer","role":"insider","stance":"supporter","engaged":true,"influence":3}`
	decider    = `{"name":"Liu Zong","title":"General manager","role":"decision_maker","stance":"neutral","engaged":true,"influence":5}`
	criteria   = `{"criteria":[{"name":"IEC 61508 SIL2 certification","favours":"us"},{"name":"Delivery within 20 weeks","favours":"us","notes":"our stock"},{"name":"Lowest price","favours":"competitor"}]}`
	proposal   = `{"submitted_on":"2026-04-10","summary":"Radar gauging for 24 tanks with SIL2 overfill protection"}`
	goodBid    = `{"cost":"9000000.00","price":"11500000.00","deadline":"2026-05-15","submitted":true}`
	lowBid     = `{"cost":"10500000.00","price":"11500000.00","deadline":"2026-05-15","submitted":true}`
	sign       = `{"signed_on":"2026-04-11"}`
)

// allScores is a complete score set with one factor's value replaced (or a factor added).
func allScores(extra string) string {
	return `{"scores":{"project_level":3,"funding":3,"technical_fit":3,"relationship":3,"credit":3,"product":3,"price":3,"solution":3,"service":3` +
		extra + `},"expected_close":"2026-07-31","likelihood":50}`
}

// seed builds the world the scenarios start from: two accounts of team east (kam1's and kam2's)
// and twelve deals spread over the stages, one of them stalled (and its owner told), one
// abandoned, and engineer e1 assigned to the one in delivery. The scenarios act as kam1 unless
// they say otherwise.
func seed(t *testing.T, e *testEnv) {
	t.Helper()
	ctx := context.Background()
	e.vars["acct1"] = e.must(201, "POST", "/api/v1/accounts", "kam1", `{"name":"Baowu Steel Zhanjiang","industry":"steel","region":"Guangdong"}`)["id"].(string)
	e.vars["acct2"] = e.must(201, "POST", "/api/v1/accounts", "kam2", `{"name":"Sinopec Maoming Refinery","industry":"petrochemical","region":"Guangdong"}`)["id"].(string)
	deal := func(name, acct, owner, title, value string) string {
		body := fmt.Sprintf(`{"account_id":"{%s}","title":%q,"value":%q,"currency":"CNY"}`, acct, title, value)
		id := e.must(201, "POST", "/api/v1/deals", owner, body)["id"].(string)
		e.vars[name] = id
		return "/api/v1/deals/" + id
	}
	stale := deal("stale", "acct1", "kam1", "Coke oven gas analysers", "850000.00")
	e.clock.Set(tStall)
	if err := e.svc.runTimers(ctx); err != nil {
		t.Fatal(err)
	}
	e.clock.Set(T1)
	if d := e.must(200, "GET", stale, "kam1", ""); d["stalled"] != true {
		t.Fatalf("the stale deal is not stalled: %v", d)
	}

	toEntry := func(p, who string) {
		e.must(200, "PUT", p+"/assessment", who, assessPass)
		e.must(200, "POST", p+"/advance", who, "")
	}
	toProposal := func(p, who string) {
		toEntry(p, who)
		e.must(200, "POST", p+"/stakeholders", who, insider)
		e.must(200, "POST", p+"/stakeholders", who, decider)
		e.must(200, "POST", p+"/advance", who, "")
	}
	toBid := func(p, who string) {
		toProposal(p, who)
		e.must(200, "PUT", p+"/criteria", who, criteria)
		e.must(200, "POST", p+"/proposal", who, proposal)
		e.must(200, "POST", p+"/advance", who, `{}`)
	}
	toNegotiation := func(p, who string) {
		toBid(p, who)
		e.must(200, "PUT", p+"/bid", who, goodBid)
		e.must(200, "POST", p+"/advance", who, "")
	}
	toDelivery := func(p, who string) {
		toNegotiation(p, who)
		e.must(200, "POST", p+"/contract/approve", "d1", "")
		e.must(200, "POST", p+"/contract/sign", who, sign)
		e.must(200, "POST", p+"/advance", who, "")
	}

	deal("assess", "acct1", "kam1", "Blast furnace TRT retrofit", "12000000.00")
	e.must(200, "PUT", deal("force", "acct1", "kam1", "Sinter plant dedusting", "3200000.00")+"/assessment", "kam1", assessFail)
	toEntry(deal("entry", "acct2", "kam2", "Hydrocracker DCS upgrade", "18500000.00"), "kam2")
	toProposal(deal("proposal", "acct2", "kam2", "Flare gas recovery compressors", "26000000.00"), "kam2")
	toBid(deal("bid", "acct2", "kam2", "Tank farm radar gauging", "4300000.00"), "kam2")
	toNegotiation(deal("neg", "acct1", "kam1", "Converter slag detection", "2750000.00"), "kam1")
	toDelivery(deal("delivery", "acct1", "kam1", "Hot strip mill drives", "41000000.00"), "kam1")
	e.must(200, "PUT", "/api/v1/deals/{delivery}/engineers", "kam1", `{"engineers":["e1"]}`)
	e.must(200, "POST", deal("closed", "acct2", "kam2", "Boiler feed pumps", "1900000.00")+"/close", "kam2",
		`{"outcome":"abandoned","reason":"Failed assessment: no funding this year"}`)
	deal("lose", "acct2", "kam2", "Sulphur recovery analysers", "1200000.00")
	deal("pause", "acct1", "kam1", "Cooling tower fans", "980000.00")
	deal("idem", "acct1", "kam1", "Ladle furnace electrodes", "6400000.00")
}

func TestAPIScenarios(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		seed(t, e)
		for _, sc := range scenarios() {
			t.Run(sc.name, func(t *testing.T) { e.run(t, sc) })
		}
	})
}

var errorCodes = map[string]bool{
	kamflow.EINVALID: true, kamflow.ENOTFOUND: true, kamflow.EGATENOTMET: true, kamflow.EWRONGSTAGE: true,
	kamflow.ECONFLICT: true, kamflow.EFORBIDDEN: true, kamflow.EUNAUTHORIZED: true, kamflow.EUNAVAILABLE: true,
	kamflow.EINTERNAL: true, kamflow.ETOOLARGE: true, kamflow.ERATELIMITED: true,
}

func (e *testEnv) run(t *testing.T, sc scenario) {
	t.Helper()
	if sc.before != nil {
		sc.before(e)
	}
	if sc.after != nil {
		defer sc.after(e)
	}
	req := request{method: sc.method, path: e.expand(sc.path), body: e.expand(sc.body), chunked: sc.chunked, headers: map[string]string{}, as: sc.as}
	switch sc.as {
	case "":
		req.as = "kam1"
	case anonymous:
		req.as = ""
	}
	for k, v := range sc.headers {
		req.headers[k] = e.expand(v)
	}
	res := e.serve(req)
	show := res.body
	if len(show) > 600 {
		show = append(show[:600:600], "…"...)
	}
	if res.status != sc.status {
		t.Errorf("%s %s: status %d, want %d: %s", req.method, req.path, res.status, sc.status, show)
	}
	if res.status >= 500 && sc.code != kamflow.EINTERNAL && sc.code != kamflow.EUNAVAILABLE {
		t.Errorf("%s %s: a server error: %s", req.method, req.path, show)
	}
	if res.status >= 400 && req.method != "HEAD" {
		// Every error is the envelope, as JSON.
		code, _ := lookup(res.json, "error.code")
		msg, _ := lookup(res.json, "error.message")
		if ct := res.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("error answer of Content-Type %q", ct)
		}
		if s, ok := code.(string); !ok || !errorCodes[s] {
			t.Errorf("error answer without a known error.code: %s", show)
		}
		if s, ok := msg.(string); !ok || s == "" {
			t.Errorf("error answer without error.message: %s", show)
		}
		if sc.code != "" && code != sc.code {
			t.Errorf("error code %v, want %s: %s", code, sc.code, show)
		}
	}
	for k, v := range sc.capture {
		got, ok := lookup(res.json, v)
		if !ok {
			t.Fatalf("cannot capture %s from %s: %s", v, k, show)
		}
		e.vars[k] = fmt.Sprint(got)
	}
	for path, want := range sc.want {
		got, found := lookup(res.json, path)
		switch w := want.(type) {
		case absentT:
			if found {
				t.Errorf("%s = %v, want it left out", path, jsonText(got))
			}
		case length:
			n := -1
			switch g := got.(type) {
			case []any:
				n = len(g)
			case map[string]any:
				n = len(g)
			}
			if n != int(w) {
				t.Errorf("%s has %d elements, want %d: %v", path, n, w, jsonText(got))
			}
		default:
			if s, ok := want.(string); ok {
				want = e.expand(s)
			}
			if !found {
				t.Errorf("%s is missing, want %v: %s", path, jsonText(want), show)
			} else if !reflect.DeepEqual(got, normalize(want)) {
				t.Errorf("%s = %s, want %s", path, jsonText(got), jsonText(want))
			}
		}
	}
	for _, frag := range sc.contains {
		if !bytes.Contains(res.body, []byte(e.expand(frag))) {
			t.Errorf("the answer lacks %s: %s", frag, show)
		}
	}
	for k, v := range sc.header {
		if got := res.header.Get(k); got != e.expand(v) {
			t.Errorf("header %s = %q, want %q", k, got, e.expand(v))
		}
	}
	// The answer (and, for an accepted request, the request) is what openapi.json describes.
	var reqBody []byte
	if res.status < 300 && req.body != "" {
		reqBody = []byte(req.body)
	}
	if err := api.CheckOpenAPI(req.method, req.path, reqBody, res.status, res.body); err != nil {
		t.Error(err)
	}
	if sc.save != "" {
		e.saved[sc.save] = res
	}
	if sc.check != nil {
		sc.check(t, e, res)
	}
}

func normalize(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		panic(err)
	}
	return out
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// Bodies around the 1 MiB limit.
var (
	overLimit   = `{"name":"` + strings.Repeat("x", 1<<20) + `"}`
	atLimit     = `{"name":"` + strings.Repeat("x", 1<<20-len(`{"name":""}`)) + `"}` // exactly 1 MiB: read, then refused as too long a name
	deepNesting = strings.Repeat("[", 20000) + strings.Repeat("]", 20000)
)

func scenarios() []scenario {
	var all []scenario
	for _, group := range [][]scenario{
		metaScenarios(), accountScenarios(), listScenarios(), createScenarios(), assessmentScenarios(),
		entryScenarios(), proposalScenarios(), bidScenarios(), negotiationScenarios(), deliveryScenarios(),
		forceScenarios(), closeScenarios(), pauseScenarios(), bodyScenarios(), routingScenarios(),
		idempotencyScenarios(), reportScenarios(), failureScenarios(), keyAccountScenarios(), attentionScenarios(),
	} {
		all = append(all, group...)
	}
	return all
}

func metaScenarios() []scenario {
	return []scenario{
		{name: "health", method: "GET", path: "/healthz", as: anonymous, status: 200, want: map[string]any{"status": "ok"}},
		{name: "health under v1", method: "GET", path: "/api/v1/healthz", as: anonymous, status: 200, want: map[string]any{"status": "ok"}},
		{name: "health with a dependency down", method: "GET", path: "/healthz", as: anonymous, status: 503, code: "unavailable",
			before: func(e *testEnv) { e.setHealth(errors.New("database is down")) }, after: func(e *testEnv) { e.setHealth(nil) },
			check: func(t *testing.T, e *testEnv, r *response) {
				if bytes.Contains(r.body, []byte("database is down")) {
					t.Errorf("the health answer shows the internal error: %s", r.body)
				}
			}},
		{name: "openapi document", method: "GET", path: "/api/openapi.json", as: anonymous, status: 200, want: map[string]any{"openapi": "3.0.3"}},
	}
}

func accountScenarios() []scenario {
	return []scenario{
		{name: "create account", method: "POST", path: "/api/v1/accounts", as: "kam2",
			body:   `{"name":"  Hebei Iron & Steel Tangshan  ","industry":"steel","region":"Hebei"}`,
			status: 201, capture: map[string]string{"acct3": "id"},
			header: map[string]string{"Location": "/api/v1/accounts/{acct3}"},
			want: map[string]any{"name": "Hebei Iron & Steel Tangshan", "owner": "kam2", "industry": "steel",
				"created_at": "2026-04-11T09:00:00Z", "address": absent}},
		{name: "create account for another owner", method: "POST", path: "/api/v1/accounts", as: "kam2",
			body: `{"name":"Guangxi Liuzhou Steel","owner":"kam1"}`, status: 201, want: map[string]any{"owner": "kam1"}},
		{name: "create account without name", method: "POST", path: "/api/v1/accounts", body: `{"industry":"steel"}`,
			status: 400, code: "invalid", want: map[string]any{"error.details.field": "name"}},
		{name: "create account with blank name", method: "POST", path: "/api/v1/accounts", body: `{"name":"   "}`,
			status: 400, code: "invalid", want: map[string]any{"error.details.field": "name"}},
		{name: "create account with too long a name", method: "POST", path: "/api/v1/accounts", body: `{"name":"` + strings.Repeat("x", 201) + `"}`,
			status: 400, code: "invalid", want: map[string]any{"error.details.field": "name"}},
		{name: "create account with unknown field", method: "POST", path: "/api/v1/accounts", body: `{"name":"x","nmae":"y"}`,
			status: 400, code: "invalid", want: map[string]any{"error.details.field": "nmae"}},
		{name: "create account with a number for name", method: "POST", path: "/api/v1/accounts", body: `{"name":42}`,
			status: 400, code: "invalid", want: map[string]any{"error.details.field": "name"}},
		{name: "list accounts", method: "GET", path: "/api/v1/accounts", status: 200,
			want: map[string]any{"total": 4, "limit": 50, "offset": 0, "items": length(4)}},
		{name: "list accounts q", method: "GET", path: "/api/v1/accounts?q=steel", status: 200,
			want: map[string]any{"total": 3, "items": length(3)}},
		{name: "list accounts q is case-insensitive", method: "GET", path: "/api/v1/accounts?q=REFINERY", status: 200,
			want: map[string]any{"total": 1, "items.0.id": "{acct2}"}},
		{name: "list accounts q without match", method: "GET", path: "/api/v1/accounts?q=zzz", status: 200,
			want: map[string]any{"total": 0, "items": length(0)}},
		{name: "list accounts by owner", method: "GET", path: "/api/v1/accounts?owner=kam1", status: 200,
			want: map[string]any{"total": 2, "items": length(2)}},
		{name: "list accounts paged", method: "GET", path: "/api/v1/accounts?limit=2&offset=3", status: 200,
			want: map[string]any{"total": 4, "limit": 2, "offset": 3, "items": length(1)}},
		{name: "list accounts limit 0", method: "GET", path: "/api/v1/accounts?limit=0", status: 400, code: "invalid",
			want: map[string]any{"error.details.field": "limit"}},
		{name: "list accounts limit 201", method: "GET", path: "/api/v1/accounts?limit=201", status: 400, code: "invalid"},
		{name: "list accounts limit ten", method: "GET", path: "/api/v1/accounts?limit=ten", status: 400, code: "invalid"},
		{name: "list accounts negative offset", method: "GET", path: "/api/v1/accounts?offset=-1", status: 400, code: "invalid",
			want: map[string]any{"error.details.field": "offset"}},
		{name: "get account", method: "GET", path: "/api/v1/accounts/{acct1}", status: 200,
			want: map[string]any{"id": "{acct1}", "name": "Baowu Steel Zhanjiang", "owner": "kam1", "region": "Guangdong"}},
		{name: "get unknown account", method: "GET", path: "/api/v1/accounts/nope", status: 404, code: "not_found"},
		{name: "patch account", method: "PATCH", path: "/api/v1/accounts/{acct3}", as: "kam2",
			body: `{"region":"Hebei, Tangshan","notes":"Hot-rolling line 2"}`, status: 200,
			want: map[string]any{"region": "Hebei, Tangshan", "notes": "Hot-rolling line 2", "name": "Hebei Iron & Steel Tangshan", "industry": "steel"}},
		{name: "patch account blank name", method: "PATCH", path: "/api/v1/accounts/{acct3}", body: `{"name":""}`,
			status: 400, code: "invalid", want: map[string]any{"error.details.field": "name"}},
		{name: "patch account blank owner", method: "PATCH", path: "/api/v1/accounts/{acct3}", body: `{"owner":"  "}`,
			status: 400, code: "invalid", want: map[string]any{"error.details.field": "owner"}},
		{name: "patch unknown account", method: "PATCH", path: "/api/v1/accounts/nope", body: `{"region":"x"}`, status: 404, code: "not_found"},
		{name: "patch account as text/plain", method: "PATCH", path: "/api/v1/accounts/{acct3}", body: `{"region":"x"}`,
			headers: map[string]string{"Content-Type": "text/plain"}, status: 400, code: "invalid", contains: []string{"Content-Type"}},
		{name: "patch left the account as it was", method: "GET", path: "/api/v1/accounts/{acct3}", status: 200,
			want: map[string]any{"region": "Hebei, Tangshan", "owner": "kam2"}},
		{name: "get account as the team's director", method: "GET", path: "/api/v1/accounts/{acct1}", as: "d1", status: 200,
			want: map[string]any{"id": "{acct1}", "team_id": "east"}},
		{name: "list accounts of another team", method: "GET", path: "/api/v1/accounts", as: "kam3", status: 200,
			want: map[string]any{"total": 0, "items": length(0)}},
		{name: "get account of another team", method: "GET", path: "/api/v1/accounts/{acct1}", as: "kam3", status: 404, code: "not_found"},
		{name: "patch account of another team", method: "PATCH", path: "/api/v1/accounts/{acct1}", as: "d2", body: `{"region":"x"}`,
			status: 404, code: "not_found"},
	}
}

// listScenarios run on the seeded deals: 12 deals, 7 in development (1 of them abandoned), one in
// each later stage; kam1 owns the 7 of acct1, kam2 the 5 of acct2 (both of team east, so either
// sees all 12); five graded A, one C; one
// stalled; one won.
func listScenarios() []scenario {
	l := func(name, query string, total int, more ...any) scenario {
		sc := scenario{name: name, method: "GET", path: "/api/v1/deals" + query, status: 200, want: map[string]any{"total": total}}
		for i := 0; i+1 < len(more); i += 2 {
			sc.want[more[i].(string)] = more[i+1]
		}
		return sc
	}
	bad := func(name, query, field string) scenario {
		return scenario{name: name, method: "GET", path: "/api/v1/deals" + query, status: 400, code: "invalid",
			want: map[string]any{"error.details.field": field}}
	}
	return []scenario{
		l("list deals", "", 12, "limit", 50, "offset", 0, "items", length(12)),
		l("list deals by stage", "?stage=development", 7, "items", length(7)),
		l("list deals by stage in capitals", "?stage=DELIVERY", 1, "items.0.id", "{delivery}"),
		l("list deals by status won", "?status=won", 1, "items.0.id", "{delivery}", "items.0.stage", "delivery", "items.0.win_probability", 100),
		l("list deals by status abandoned", "?status=abandoned", 1, "items.0.id", "{closed}", "items.0.win_probability", 0),
		l("list deals by status open", "?status=open", 10),
		l("list deals by owner", "?owner=kam2", 5),
		l("list stalled deals", "?stalled=true", 1, "items.0.id", "{stale}", "items.0.stalled", true, "items.0.days_over_sla", 10, "items.0.days_in_stage", 40),
		l("list deals not stalled", "?stalled=false", 11),
		l("list deals stalled=1", "?stalled=1", 1),
		l("list deals by grade", "?grade=A", 5),
		l("list deals by lower-case grade", "?grade=c", 1, "items.0.id", "{force}", "items.0.grade", "C"),
		l("list deals by grade without any", "?grade=D", 0, "items", length(0)),
		l("list deals by account", "?account_id={acct2}", 5),
		l("list deals by unknown account", "?account_id=nope", 0),
		l("list deals by stage and owner", "?stage=development&owner=kam2", 2),
		l("list deals by status and stage", "?status=open&stage=development", 6),
		l("list deals last page", "?limit=5&offset=10", 12, "limit", 5, "offset", 10, "items", length(2)),
		l("list deals past the end", "?offset=12", 12, "items", length(0)),
		l("list deal summary", "?stage=bid", 1, "items.0.id", "{bid}", "items.0.value", "4300000.00", "items.0.currency", "CNY",
			"items.0.grade", "A", "items.0.win_probability", 50, "items.0.paused", false, "items.0.forced", false,
			"items.0.days_in_stage", 0, "items.0.owner", "kam2", "items.0.updated_at", "2026-04-11T09:00:00Z"),
		bad("list deals bad stage", "?stage=launch", "stage"),
		bad("list deals bad status", "?status=pending", "status"),
		bad("list deals bad grade", "?grade=E", "grade"),
		bad("list deals bad stalled", "?stalled=maybe", "stalled"),
		bad("list deals bad limit", "?limit=abc", "limit"),
		bad("list deals limit too big", "?limit=500", "limit"),
		bad("list deals negative offset", "?offset=-5", "offset"),
	}
}

func createScenarios() []scenario {
	bad := func(name, body, field string) scenario {
		sc := scenario{name: name, method: "POST", path: "/api/v1/deals", body: body, status: 400, code: "invalid"}
		if field != "" {
			sc.want = map[string]any{"error.details.field": field}
		}
		return sc
	}
	body := func(value, currency, date string) string {
		return `{"account_id":"{acct1}","title":"Blast furnace TRT retrofit","value":` + value + `,"currency":` + currency + `,"expected_close":` + date + `}`
	}
	return []scenario{
		{name: "create deal", method: "POST", path: "/api/v1/deals", as: "kam1",
			body:   body(`"12000000"`, `"CNY"`, `"2026-09-30"`),
			status: 201, capture: map[string]string{"new": "id"},
			header: map[string]string{"Location": "/api/v1/deals/{new}"},
			want: map[string]any{
				"account_id": "{acct1}", "title": "Blast furnace TRT retrofit", "value": "12000000.00", "currency": "CNY",
				"expected_close": "2026-09-30", "owner": "kam1", "created_by": "kam1", "stage": "development", "status": "open",
				"grade": "", "win_probability": 10, "probability.value": 10, "probability.factors.0.key": "base",
				"gate.stage": "development", "gate.met": false, "gate.items": length(2),
				"gate.items.0.key": "assessment_passed", "gate.items.0.met": false, "gate.items.0.detail": "not assessed yet",
				"gate.items.1.key": "graded", "gate.items.1.met": false,
				"seq": 1, "stalled": false, "forced": false, "stage_sla": "30d", "days_in_stage": 0, "days_over_sla": 0,
				"stage_entered_at": "2026-04-11T09:00:00Z", "stall_deadline": "2026-05-11T09:00:00Z",
				"assessment": absent, "stakeholders": absent, "forces": absent, "contract": map[string]any{},
			}},
		{name: "get the new deal", method: "GET", path: "/api/v1/deals/{new}", status: 200,
			want: map[string]any{"id": "{new}", "value": "12000000.00", "seq": 1}},
		{name: "new deal history", method: "GET", path: "/api/v1/deals/{new}/history", status: 200,
			want: map[string]any{"items": length(1), "items.0.kind": "created", "items.0.to_stage": "development",
				"items.0.status": "open", "items.0.actor": "kam1", "items.0.seq": 1, "items.0.forced": false,
				"items.0.at": "2026-04-11T09:00:00Z", "items.0.from_stage": absent}},
		{name: "create deal for another owner", method: "POST", path: "/api/v1/deals", as: "kam1",
			body:   `{"account_id":"{acct2}","title":"Coker unit analysers","value":"640000.5","currency":"USD","owner":"kam2"}`,
			status: 201, want: map[string]any{"owner": "kam2", "created_by": "kam1", "value": "640000.50", "currency": "USD", "expected_close": absent}},
		{name: "create deal without value", method: "POST", path: "/api/v1/deals",
			body: `{"account_id":"{acct2}","title":"Spare parts frame agreement","currency":"CNY"}`, status: 201,
			want: map[string]any{"value": "0.00", "owner": "kam1", "created_by": "kam1"}},
		bad("create deal with unknown account", `{"account_id":"nope","title":"t","value":"1.00","currency":"CNY"}`, "account_id"),
		bad("create deal with lower-case currency", body(`"1.00"`, `"cny"`, `""`), "currency"),
		bad("create deal with a four-letter currency", body(`"1.00"`, `"EURO"`, `""`), "currency"),
		bad("create deal without currency", `{"account_id":"{acct1}","title":"t","value":"1.00"}`, "currency"),
		{name: "create deal with value as a number", method: "POST", path: "/api/v1/deals", body: body(`12000000`, `"CNY"`, `""`),
			status: 400, code: "invalid", contains: []string{"decimal string"}},
		{name: "create deal with value as a float", method: "POST", path: "/api/v1/deals", body: body(`1.5e7`, `"CNY"`, `""`),
			status: 400, code: "invalid"},
		bad("create deal with negative value", body(`"-5"`, `"CNY"`, `""`), ""),
		bad("create deal with value 1e20", body(`"1e20"`, `"CNY"`, `""`), ""),
		bad("create deal with absurd value", body(`"99999999999999999"`, `"CNY"`, `""`), ""),
		bad("create deal with value over the maximum", body(`"1000000000000.00"`, `"CNY"`, `""`), ""),
		bad("create deal with three decimals", body(`"12.345"`, `"CNY"`, `""`), ""),
		bad("create deal with thousands separators", body(`"1,000"`, `"CNY"`, `""`), ""),
		bad("create deal with empty value", body(`""`, `"CNY"`, `""`), ""),
		bad("create deal with Feb 30", body(`"1.00"`, `"CNY"`, `"2026-02-30"`), ""),
		bad("create deal with a day-first date", body(`"1.00"`, `"CNY"`, `"30/09/2026"`), ""),
		bad("create deal with a number for date", body(`"1.00"`, `"CNY"`, `20260930`), ""),
		bad("create deal without title", `{"account_id":"{acct1}","value":"1.00","currency":"CNY"}`, "title"),
		bad("create deal with too long a title", `{"account_id":"{acct1}","title":"`+strings.Repeat("t", 201)+`","currency":"CNY"}`, "title"),
		bad("create deal with too long an owner", `{"account_id":"{acct1}","title":"t","currency":"CNY","owner":"`+strings.Repeat("o", 201)+`"}`, "owner"),
		bad("create deal with empty body", ``, "account_id"),
		bad("create deal with a NUL in the title", `{"account_id":"{acct1}","title":"a\u0000b","currency":"CNY"}`, ""),
		bad("create deal with a NUL in account_id", `{"account_id":"a\u0000","title":"t","currency":"CNY"}`, ""),
	}
}

func assessmentScenarios() []scenario {
	put := func(name, body string, status int, code string, want map[string]any) scenario {
		return scenario{name: name, method: "PUT", path: "/api/v1/deals/{assess}/assessment", as: "kam1",
			body: body, status: status, code: code, want: want}
	}
	return []scenario{
		put("assessment missing factors", `{"scores":{"funding":5},"expected_close":"2026-07-31","likelihood":80}`, 400, "invalid",
			map[string]any{"error.details.missing": []string{"credit", "price", "product", "project_level", "relationship", "service", "solution", "technical_fit"}}),
		put("assessment without scores", `{"expected_close":"2026-07-31","likelihood":80}`, 400, "invalid", nil),
		put("assessment score 6", allScores(`,"funding":6`), 400, "invalid", map[string]any{"error.details.field": "scores.funding"}),
		put("assessment score 0", allScores(`,"credit":0`), 400, "invalid", map[string]any{"error.details.field": "scores.credit"}),
		put("assessment unknown factor", allScores(`,"weather":3`), 400, "invalid", map[string]any{"error.details.field": "scores.weather"}),
		put("assessment score as a string", allScores(`,"price":"3"`), 400, "invalid", nil),
		put("assessment likelihood 101", `{"scores":{"project_level":3,"funding":3,"technical_fit":3,"relationship":3,"credit":3,"product":3,"price":3,"solution":3,"service":3},"expected_close":"2026-07-31","likelihood":101}`,
			400, "invalid", map[string]any{"error.details.field": "likelihood"}),
		put("assessment likelihood high", `{"scores":{},"expected_close":"2026-07-31","likelihood":"high"}`, 400, "invalid",
			map[string]any{"error.details.field": "likelihood"}),
		put("assessment likelihood 1e400", `{"scores":{},"expected_close":"2026-07-31","likelihood":1e400}`, 400, "invalid", nil),
		put("assessment grade E", strings.Replace(allScores(""), `"likelihood":50`, `"likelihood":50,"grade":"E"`, 1), 400, "invalid",
			map[string]any{"error.details.field": "grade"}),
		put("assessment without expected_close", strings.Replace(allScores(""), `"expected_close":"2026-07-31",`, ``, 1), 400, "invalid",
			map[string]any{"error.details.field": "expected_close"}),
		put("assessment nothing changed", ``, 400, "invalid", nil),
		{name: "assessment rejected left no trace", method: "GET", path: "/api/v1/deals/{assess}", status: 200,
			want: map[string]any{"seq": 1, "assessment": absent}},
		put("assessment passes", assessPass, 200, "", map[string]any{
			"assessment.passed": true, "assessment.score": 85, "assessment.threshold": 60, "assessment.grade": "A",
			"assessment.grade_computed": true, "assessment.assessed_by": "kam1", "assessment.likelihood": 80,
			"grade": "A", "gate.met": true, "gate.items.0.met": true, "gate.items.1.detail": "grade A",
			"win_probability": 20, "expected_close": "2026-07-31", "seq": 2}),
		put("assessment graded by hand", strings.Replace(assessPass, `"likelihood":80`, `"likelihood":80,"grade":"B"`, 1), 200, "",
			map[string]any{"grade": "B", "assessment.grade_computed": false, "seq": 3}),
		put("assessment that fails", assessFail, 200, "", map[string]any{
			"assessment.passed": false, "assessment.score": 25, "grade": "C", "gate.met": false, "gate.items.0.met": false,
			"gate.items.0.detail": "score 25.0 is below the threshold 60.0", "win_probability": 15}),
		{name: "assessment in entry", method: "PUT", path: "/api/v1/deals/{entry}/assessment", body: assessPass,
			status: 422, code: "wrong_stage", want: map[string]any{"error.details.stage": "entry"}},
	}
}

func entryScenarios() []scenario {
	sh := func(name, body string, status int, code string, want map[string]any) scenario {
		return scenario{name: name, method: "POST", path: "/api/v1/deals/{entry}/stakeholders", as: "kam2",
			body: body, status: status, code: code, want: want}
	}
	return []scenario{
		{name: "advance with unmet gate", method: "POST", path: "/api/v1/deals/{entry}/advance", as: "kam2",
			status: 409, code: "gate_not_met",
			want: map[string]any{"error.details.missing": []string{"insider_identified", "key_person_engaged"}, "error.details.stage": "entry"}},
		{name: "rejected advance left no trace", method: "GET", path: "/api/v1/deals/{entry}", status: 200,
			want: map[string]any{"stage": "entry", "seq": 3, "win_probability": 20}},
		{name: "rejected advance is not in the history", method: "GET", path: "/api/v1/deals/{entry}/history", status: 200,
			want: map[string]any{"items": length(2), "items.1.kind": "advanced", "items.1.from_stage": "development", "items.1.to_stage": "entry"}},
		sh("stakeholder unknown role", `{"name":"Wang","role":"boss","stance":"neutral"}`, 400, "invalid", map[string]any{"error.details.field": "role"}),
		sh("stakeholder unknown stance", `{"name":"Wang","role":"user","stance":"friendly"}`, 400, "invalid", map[string]any{"error.details.field": "stance"}),
		sh("stakeholder without name", `{"role":"user","stance":"neutral"}`, 400, "invalid", map[string]any{"error.details.field": "name"}),
		sh("stakeholder influence 9", `{"name":"Wang","role":"user","stance":"neutral","influence":9}`, 400, "invalid", map[string]any{"error.details.field": "influence"}),
		sh("stakeholder engaged yes", `{"name":"Wang","role":"user","stance":"neutral","engaged":"yes"}`, 400, "invalid", map[string]any{"error.details.field": "engaged"}),
		sh("stakeholder with an unknown field", `{"name":"Wang","role":"user","stance":"neutral","phone":"123"}`, 400, "invalid", map[string]any{"error.details.field": "phone"}),
		sh("stakeholder insider", insider, 200, "", map[string]any{
			"stakeholders": length(1), "stakeholders.0.name": "Chen Gong", "stakeholders.0.role": "insider",
			"stakeholders.0.recorded_by": "kam2", "stakeholders.0.recorded_at": "2026-04-11T09:00:00Z",
			"gate.items.0.key": "insider_identified", "gate.items.0.met": true, "gate.items.1.met": false, "win_probability": 28}),
		{name: "advance with half the gate", method: "POST", path: "/api/v1/deals/{entry}/advance", status: 409, code: "gate_not_met",
			want: map[string]any{"error.details.missing": []string{"key_person_engaged"}}},
		sh("stakeholder decision maker not engaged", `{"name":"Liu Zong","title":"General manager","role":"decision_maker","stance":"neutral","engaged":false,"influence":5}`,
			200, "", map[string]any{"stakeholders": length(2), "gate.met": false, "gate.items.1.detail": "decision maker recorded but not engaged"}),
		sh("stakeholder re-recorded by name", `{"name":"liu zong","title":"General manager","role":"decision_maker","stance":"supporter","engaged":true,"influence":5}`,
			200, "", map[string]any{"stakeholders": length(2), "stakeholders.1.stance": "supporter", "gate.met": true, "win_probability": 35}),
		{name: "advance to proposal", method: "POST", path: "/api/v1/deals/{entry}/advance", as: "kam2", status: 200,
			want: map[string]any{"stage": "proposal", "forced": false, "stage_sla": "30d", "days_in_stage": 0, "gate.stage": "proposal", "win_probability": 35}},
		{name: "advance to proposal is in the history", method: "GET", path: "/api/v1/deals/{entry}/history", status: 200,
			want: map[string]any{"items": length(3), "items.2.kind": "advanced", "items.2.from_stage": "entry", "items.2.to_stage": "proposal",
				"items.2.forced": false, "items.2.reason": absent, "items.2.actor": "kam2"}},
	}
}

func proposalScenarios() []scenario {
	cr := func(name, body string, status int, code string, want map[string]any) scenario {
		return scenario{name: name, method: "PUT", path: "/api/v1/deals/{proposal}/criteria", as: "kam2",
			body: body, status: status, code: code, want: want}
	}
	pr := func(name, body string, status int, code string, want map[string]any) scenario {
		return scenario{name: name, method: "POST", path: "/api/v1/deals/{proposal}/proposal", as: "kam2",
			body: body, status: status, code: code, want: want}
	}
	field := func(f string) map[string]any { return map[string]any{"error.details.field": f} }
	return []scenario{
		cr("criteria empty list", `{"criteria":[]}`, 400, "invalid", field("criteria")),
		cr("criteria left out", `{}`, 400, "invalid", field("criteria")),
		cr("criteria listed twice", `{"criteria":[{"name":"SIL2","favours":"us"},{"name":" sil2 ","favours":"neutral"}]}`, 400, "invalid", field("criteria")),
		cr("criteria favours maybe", `{"criteria":[{"name":"SIL2","favours":"maybe"}]}`, 400, "invalid", field("criteria")),
		cr("criteria without a name", `{"criteria":[{"favours":"us"}]}`, 400, "invalid", nil),
		cr("criteria as a string", `{"criteria":"SIL2"}`, 400, "invalid", field("criteria")),
		cr("criteria against us", `{"criteria":[{"name":"Lowest price","favours":"competitor"}]}`, 200, "", map[string]any{
			"criteria": length(1), "gate.items.0.key": "criteria_favourable", "gate.items.0.met": false,
			"gate.items.0.detail": "0 favour us, 0 neutral, 1 favour a competitor"}),
		cr("criteria favourable", criteria, 200, "", map[string]any{
			"criteria": length(3), "criteria.1.notes": "our stock", "gate.items.0.met": true, "gate.items.1.met": false}),
		pr("proposal without date", `{"summary":"x"}`, 400, "invalid", field("submitted_on")),
		pr("proposal with a bad date", `{"submitted_on":"yesterday"}`, 400, "invalid", nil),
		pr("proposal", proposal, 200, "", map[string]any{
			"proposal.submitted_on": "2026-04-10", "proposal.recorded_by": "kam2", "gate.met": true, "win_probability": 50}),
		{name: "proposal in development", method: "POST", path: "/api/v1/deals/{assess}/proposal", body: proposal,
			status: 422, code: "wrong_stage", want: map[string]any{"error.details.stage": "development"}},
		{name: "criteria in development", method: "PUT", path: "/api/v1/deals/{assess}/criteria", body: criteria,
			status: 422, code: "wrong_stage"},
		{name: "advance to bid", method: "POST", path: "/api/v1/deals/{proposal}/advance", body: `{}`, status: 200,
			want: map[string]any{"stage": "bid", "stage_sla": "21d", "win_probability": 50, "gate.items.0.key": "bid_submitted"}},
	}
}

func bidScenarios() []scenario {
	bid := func(name, body string, status int, code string, want map[string]any) scenario {
		return scenario{name: name, method: "PUT", path: "/api/v1/deals/{bid}/bid", as: "kam2",
			body: body, status: status, code: code, want: want}
	}
	field := func(f string) map[string]any { return map[string]any{"error.details.field": f} }
	return []scenario{
		bid("bid without price", `{"cost":"100.00"}`, 400, "invalid", field("price")),
		bid("bid without cost", `{"price":"100.00"}`, 400, "invalid", field("cost")),
		bid("bid with null cost", `{"cost":null,"price":"100.00"}`, 400, "invalid", field("cost")),
		bid("bid price zero", `{"cost":"0","price":"0"}`, 400, "invalid", field("price")),
		bid("bid price as a number", `{"cost":"100.00","price":11500000}`, 400, "invalid", nil),
		bid("bid with a bad deadline", `{"cost":"1.00","price":"2.00","deadline":"2026-13-01"}`, 400, "invalid", nil),
		bid("bid submitted as a string", `{"cost":"1.00","price":"2.00","submitted":"true"}`, 400, "invalid", field("submitted")),
		bid("bid below the margin floor", lowBid, 200, "", map[string]any{
			"bid.cost": "10500000.00", "bid.price": "11500000.00", "bid.margin_pct": 8.7, "bid.floor": 15, "bid.submitted": true,
			"bid.deadline": "2026-05-15", "gate.items.0.met": true, "gate.items.1.key": "margin_approved", "gate.items.1.met": false,
			"gate.items.1.detail": "margin 8.70% is below the floor 15.00%: a director must approve", "win_probability": 60}),
		{name: "advance without margin approval", method: "POST", path: "/api/v1/deals/{bid}/advance", status: 409, code: "gate_not_met",
			want: map[string]any{"error.details.missing": []string{"margin_approved"}, "error.details.stage": "bid"}},
		{name: "approve margin with a body", method: "POST", path: "/api/v1/deals/{bid}/bid/approve", as: "d1", body: `{"note":"ok"}`,
			status: 400, code: "invalid", want: field("note")},
		{name: "approve margin", method: "POST", path: "/api/v1/deals/{bid}/bid/approve", as: "d1", status: 200,
			want: map[string]any{"bid.margin_approved_by": "d1", "bid.margin_approved_at": "2026-04-11T09:00:00Z",
				"gate.met": true, "win_probability": 70}},
		bid("bid revised keeps no approval", goodBid, 200, "", map[string]any{
			"bid.margin_pct": 21.74, "bid.margin_approved_by": absent, "gate.met": true,
			"gate.items.1.detail": "margin 21.74% is at or above the floor 15.00%"}),
		{name: "approve margin that needs none", method: "POST", path: "/api/v1/deals/{bid}/bid/approve", as: "d1", status: 422, code: "wrong_stage"},
		{name: "advance to negotiation", method: "POST", path: "/api/v1/deals/{bid}/advance", status: 200,
			want: map[string]any{"stage": "negotiation", "stage_sla": "30d", "win_probability": 70}},
		{name: "bid in development", method: "PUT", path: "/api/v1/deals/{assess}/bid", body: goodBid, status: 422, code: "wrong_stage",
			want: map[string]any{"error.details.stage": "development"}},
		{name: "approve margin in development", method: "POST", path: "/api/v1/deals/{assess}/bid/approve", as: "d1", status: 422, code: "wrong_stage"},
	}
}

func negotiationScenarios() []scenario {
	return []scenario{
		{name: "force into delivery", method: "POST", path: "/api/v1/deals/{neg}/advance", as: "d1",
			body: `{"force":true,"reason":"The customer wants us on site"}`, status: 422, code: "wrong_stage",
			want: map[string]any{"error.details.missing": []string{"contract_approved", "contract_signed"}}},
		{name: "sign before approval", method: "POST", path: "/api/v1/deals/{neg}/contract/sign", body: sign, status: 409, code: "gate_not_met",
			want: map[string]any{"error.details.missing": []string{"contract_approved"}}},
		{name: "sign without date", method: "POST", path: "/api/v1/deals/{neg}/contract/sign", body: `{}`, status: 400, code: "invalid",
			want: map[string]any{"error.details.field": "signed_on"}},
		{name: "approve contract in development", method: "POST", path: "/api/v1/deals/{force}/contract/approve", as: "d1", status: 422, code: "wrong_stage"},
		{name: "approve contract", method: "POST", path: "/api/v1/deals/{neg}/contract/approve", as: "d1", body: `{}`,
			status: 200, want: map[string]any{"contract.approved_by": "d1", "gate.items.0.met": true, "gate.items.1.met": false, "status": "open"}},
		{name: "sign contract", method: "POST", path: "/api/v1/deals/{neg}/contract/sign", as: "kam1", body: sign, status: 200,
			want: map[string]any{"status": "won", "contract.signed_on": "2026-04-11", "contract.signed_by": "kam1",
				"win_probability": 100, "probability.factors.0.key": "outcome", "gate.met": true}},
		{name: "sign contract twice", method: "POST", path: "/api/v1/deals/{neg}/contract/sign", body: sign, status: 422, code: "wrong_stage"},
		{name: "close a won deal", method: "POST", path: "/api/v1/deals/{neg}/close", body: `{"outcome":"lost","reason":"x"}`, status: 422, code: "wrong_stage"},
		{name: "advance to delivery", method: "POST", path: "/api/v1/deals/{neg}/advance", status: 200,
			want: map[string]any{"stage": "delivery", "status": "won", "stage_sla": "120d", "gate.items.0.key": "accepted"}},
		{name: "won deal history", method: "GET", path: "/api/v1/deals/{neg}/history", status: 200,
			want: map[string]any{"items": length(7), "items.5.kind": "won", "items.5.status": "won", "items.5.to_stage": "negotiation",
				"items.6.kind": "advanced", "items.6.to_stage": "delivery", "items.6.status": "won"}},
	}
}

func deliveryScenarios() []scenario {
	acc := func(name, body string, status int, code string, want map[string]any) scenario {
		return scenario{name: name, method: "POST", path: "/api/v1/deals/{delivery}/acceptance", as: "e1",
			body: body, status: status, code: code, want: want}
	}
	plan := func(name, as, body string, status int, code string, want map[string]any) scenario {
		return scenario{name: name, method: "PUT", path: "/api/v1/deals/{delivery}/delivery", as: as, body: body, status: status, code: code, want: want}
	}
	task := func(name, as, key, verb, body string, status int, code string, want map[string]any) scenario {
		return scenario{name: name, method: "POST", path: "/api/v1/deals/{delivery}/delivery/tasks/" + key + "/" + verb, as: as,
			body: body, status: status, code: code, want: want}
	}
	const tasks = `{"tasks":[{"key":"site_survey","assignee":"e1","due":"2026-04-20","depends_on":[]},` +
		`{"key":"installation","assignee":"e1","depends_on":["site_survey"]},` +
		`{"key":"cable_pulling","title":"Cable pulling","assignee":"E1","depends_on":["installation"]},` +
		`{"key":"commissioning","assignee":"e1","depends_on":["cable_pulling"]},{"key":"training","depends_on":["commissioning"]},` +
		`{"key":"acceptance_test","assignee":"e1","depends_on":["commissioning","training"]}]}`
	visitOn := func(e *testEnv) { e.clock.Set(T1.Add(31 * kamflow.Day)) }
	visitOff := func(e *testEnv) { e.clock.Set(T1) }
	return []scenario{
		{name: "delivery plan of a deal in delivery", method: "GET", path: "/api/v1/deals/{delivery}/delivery", status: 200,
			want: map[string]any{"tasks": length(5), "tasks.0.key": "site_survey", "tasks.0.status": "pending", "tasks.0.waiting_on": length(0),
				"tasks.1.waiting_on": []string{"site_survey"}, "tasks.4.depends_on": []string{"commissioning", "training"},
				"acceptance": absent, "open_punch_items": 0, "visits": length(0), "cadence": []string{"30d", "90d", "180d", "365d"}}},
		{name: "delivery plan of a deal not in delivery", method: "GET", path: "/api/v1/deals/{entry}/delivery", status: 404, code: "not_found"},
		{name: "delivery plan of another team", method: "GET", path: "/api/v1/deals/{delivery}/delivery", as: "kam3", status: 404, code: "not_found"},
		acc("acceptance past the plan", `{"result":"pass"}`, 422, "wrong_stage", nil),
		plan("plan with an engineer not on the deal", "kam1", strings.Replace(tasks, `"assignee":"e1","due"`, `"assignee":"e2","due"`, 1), 400, "invalid",
			map[string]any{"error.details.field": "tasks[0].assignee"}),
		plan("plan in a circle", "kam1", `{"tasks":[{"key":"a","depends_on":["acceptance_test"]},{"key":"acceptance_test","depends_on":["a"]},{"key":"site_survey"}]}`,
			400, "invalid", nil),
		plan("plan without the acceptance test", "kam1", `{"tasks":[{"key":"site_survey","depends_on":[]}]}`, 400, "invalid", nil),
		plan("plan with an unknown field", "kam1", `{"tasks":[],"owner":"x"}`, 400, "invalid", nil),
		plan("plan by an engineer", "e1", tasks, 403, "forbidden", nil),
		plan("plan adjusted", "kam1", tasks, 200, "", map[string]any{"tasks": length(6), "tasks.2.key": "cable_pulling",
			"tasks.2.assignee": "e1", "tasks.2.title": "Cable pulling", "tasks.0.due": "2026-04-20", "tasks.0.overdue": false}),
		task("task started by a KAM", "kam1", "site_survey", "start", "", 403, "forbidden", nil),
		task("task started before its dependencies", "e1", "commissioning", "start", "", 409, "gate_not_met",
			map[string]any{"error.details.missing": []string{"cable_pulling"}}),
		task("unknown task", "e1", "launch", "start", "", 404, "not_found", nil),
		task("task started", "e1", "site_survey", "start", "", 200, "", map[string]any{"tasks.0.status": "active", "tasks.0.steps": length(2),
			"tasks.0.steps.0.key": "work_order", "tasks.0.steps.0.status": "done", "tasks.0.started_by": "e1", "tasks.0.progress": 100, "tasks.0.runs": 1}),
		task("task started twice", "e1", "site_survey", "start", "", 422, "wrong_stage", map[string]any{"error.details.task_status": "active"}),
		task("task completed with a result", "e1", "site_survey", "complete", `{"result":"pass"}`, 400, "invalid", nil),
		task("task completed", "e1", "site_survey", "complete", `{"notes":"Foundations ready","attachments":[{"name":"survey.pdf","ref":"dms://survey/881"}]}`,
			200, "", map[string]any{"tasks.0.status": "done", "tasks.0.completed_by": "e1", "tasks.0.notes": "Foundations ready",
				"tasks.0.attachments.0.ref": "dms://survey/881", "tasks.1.waiting_on": length(0)}),
		task("done task retried", "e1", "site_survey", "retry", "", 422, "wrong_stage", nil),
		task("pending task cancelled", "e1", "training", "cancel", "", 422, "wrong_stage", nil),
		task("installation started", "d1", "installation", "start", "", 200, "", map[string]any{"tasks.1.status": "active", "tasks.1.steps": length(3)}),
		task("installation cancelled", "e1", "installation", "cancel", "", 200, "", map[string]any{"tasks.1.status": "cancelled",
			"tasks.1.steps.0.status": "compensated", "tasks.1.steps.1.status": "compensated", "tasks.1.steps.2.status": "done", "tasks.1.error": "cancelled by e1"}),
		task("installation started again", "e1", "installation", "start", "", 200, "", map[string]any{"tasks.1.status": "active", "tasks.1.runs": 2}),
		task("installation completed", "e1", "installation", "complete", `{}`, 200, "", nil),
		task("cable pulling started", "e1", "cable_pulling", "start", "", 200, "", nil),
		task("cable pulling completed", "e1", "cable_pulling", "complete", `{}`, 200, "", nil),
		task("commissioning started", "e1", "commissioning", "start", "", 200, "", nil),
		task("commissioning completed", "e1", "commissioning", "complete", `{}`, 200, "", nil),
		task("training started", "e1", "training", "start", "", 200, "", nil),
		task("training completed", "e1", "training", "complete", `{}`, 200, "", nil),
		{name: "close project before acceptance", method: "POST", path: "/api/v1/deals/{delivery}/project/close", status: 409, code: "gate_not_met",
			want: map[string]any{"error.details.missing": []string{"accepted"}}},
		{name: "no certificate before the acceptance", method: "GET", path: "/api/v1/deals/{delivery}/acceptance/certificate.pdf", status: 422, code: "wrong_stage"},
		task("acceptance test started", "e1", "acceptance_test", "start", "", 200, "", nil),
		task("acceptance without a result", "e1", "acceptance_test", "complete", `{"notes":"x"}`, 400, "invalid", map[string]any{"error.details.field": "result"}),
		task("acceptance result ok", "e1", "acceptance_test", "complete", `{"result":"ok"}`, 400, "invalid", map[string]any{"error.details.field": "result"}),
		task("punch list left out", "e1", "acceptance_test", "complete", `{"result":"pass_with_punch_list"}`, 400, "invalid", map[string]any{"error.details.field": "punch_list"}),
		task("acceptance failed", "e1", "acceptance_test", "complete", `{"result":"fail","issues":["Drive 3 trips under load"]}`, 200, "",
			map[string]any{"acceptance": "fail", "tasks.5.issues": []string{"Drive 3 trips under load"}}),
		{name: "failed acceptance on the deal", method: "GET", path: "/api/v1/deals/{delivery}", status: 200,
			want: map[string]any{"acceptance.result": "fail", "acceptance.recorded_by": "e1", "gate.met": false, "gate.items.0.detail": "acceptance failed", "delivery_planned": true}},
		task("acceptance tested again", "e1", "acceptance_test", "start", "", 200, "", map[string]any{"acceptance": absent, "tasks.5.runs": 2}),
		task("acceptance with a punch list", "e1", "acceptance_test", "complete", `{"result":"pass_with_punch_list","notes":"72h run passed","punch_list":["Paint touch-ups","Label the cabinets"]}`,
			200, "", map[string]any{"acceptance": "pass_with_punch_list", "open_punch_items": 2, "tasks.5.punch_list.1.id": "p2", "tasks.5.punch_list.1.done": false}),
		{name: "punch list on the deal", method: "GET", path: "/api/v1/deals/{delivery}", status: 200,
			want: map[string]any{"gate.met": true, "gate.items.0.detail": "acceptance passed with a punch list", "acceptance.open_punch_items": 2}},
		{name: "close project with the punch list open", method: "POST", path: "/api/v1/deals/{delivery}/project/close", status: 409, code: "gate_not_met",
			want: map[string]any{"error.details.open_punch_items": 2}},
		{name: "acceptance certificate", method: "GET", path: "/api/v1/deals/{delivery}/acceptance/certificate.pdf?lang=zh-CN&tz=Asia/Shanghai", status: 200,
			header: map[string]string{"Content-Type": "application/pdf", "Content-Disposition": `attachment; filename="acceptance-KF-2026-000001.pdf"; filename*=UTF-8''%E9%AA%8C%E6%94%B6%E8%AF%81%E4%B9%A6-KF-2026-000001.pdf`},
			check: func(t *testing.T, _ *testEnv, r *response) {
				if !bytes.HasPrefix(r.body, []byte("%PDF-")) || len(r.body) < 10000 {
					t.Errorf("not a PDF: %.40q (%d bytes)", r.body, len(r.body))
				}
			}},
		{name: "acceptance certificate of another team", method: "GET", path: "/api/v1/deals/{delivery}/acceptance/certificate.pdf", as: "kam3", status: 404, code: "not_found"},
		{name: "punch item resolved", method: "POST", path: "/api/v1/deals/{delivery}/delivery/punch-list/p1/resolve", as: "e1", status: 200,
			body: `{"note":" gasket replaced, leak test passed "}`,
			want: map[string]any{"open_punch_items": 1, "tasks.5.punch_list.0.done": true, "tasks.5.punch_list.0.resolved_by": "e1",
				"tasks.5.punch_list.0.note": "gasket replaced, leak test passed"}},
		{name: "punch item resolved twice", method: "POST", path: "/api/v1/deals/{delivery}/delivery/punch-list/p1/resolve", as: "e1", status: 409, code: "conflict"},
		{name: "unknown punch item", method: "POST", path: "/api/v1/deals/{delivery}/delivery/punch-list/p9/resolve", as: "e1", status: 404, code: "not_found"},
		{name: "punch item resolved by a KAM", method: "POST", path: "/api/v1/deals/{delivery}/delivery/punch-list/p2/resolve", as: "kam1", status: 403, code: "forbidden"},
		{name: "last punch item resolved by a director", method: "POST", path: "/api/v1/deals/{delivery}/delivery/punch-list/p2/resolve", as: "d1", status: 200,
			want: map[string]any{"open_punch_items": 0}},
		{name: "advance past delivery", method: "POST", path: "/api/v1/deals/{delivery}/advance", status: 422, code: "wrong_stage"},
		{name: "close project", method: "POST", path: "/api/v1/deals/{delivery}/project/close", as: "kam1", status: 200,
			want: map[string]any{"status": "delivered", "win_probability": 100, "stall_deadline": absent, "acceptance.open_punch_items": absent}},
		acc("acceptance on a delivered deal", `{"result":"pass"}`, 422, "wrong_stage", map[string]any{"error.details.status": "delivered"}),
		{name: "delivered deal history", method: "GET", path: "/api/v1/deals/{delivery}/history", status: 200,
			want: map[string]any{"items": length(8), "items.7.kind": "delivered", "items.7.status": "delivered", "items.7.actor": "kam1"}},
		{name: "delivery on the deal's timeline", method: "GET", path: "/api/v1/deals/{delivery}/timeline", status: 200,
			contains: []string{"delivery task site_survey started", "delivery task installation cancelled", "acceptance test completed: pass_with_punch_list with 2 punch item(s)",
				"punch item p2 resolved", `"actor":"d1"`}},
		{name: "closed project's plan", method: "GET", path: "/api/v1/deals/{delivery}/delivery", status: 200,
			want: map[string]any{"closed_at": "2026-04-11T09:00:00Z", "visits": length(0)}},
		task("task of a closed project", "e1", "training", "start", "", 422, "wrong_stage", nil),
		// A month after the close, the first service visit is due.
		{name: "service visit due", method: "GET", path: "/api/v1/service-visits?assignee=me", as: "e1", status: 200,
			before: func(e *testEnv) {
				visitOn(e)
				if err := e.svc.runVisits(context.Background(), e.vars["delivery"]); err != nil {
					e.t.Fatal(err)
				}
			}, after: visitOff,
			want: map[string]any{"total": 1, "items.0.id": "{delivery}-v1", "items.0.status": "due", "items.0.round": 1, "items.0.assignee": "e1",
				"items.0.site": "Hot strip mill drives", "items.0.due": "2026-05-12", "items.0.account_id": "{acct1}"},
			capture: map[string]string{"visit": "items.0.id"}},
		{name: "service visits of another engineer", method: "GET", path: "/api/v1/service-visits?assignee=me", as: "e2", status: 200,
			want: map[string]any{"total": 0}},
		{name: "service visits of the team", method: "GET", path: "/api/v1/service-visits?status=due", as: "d1", status: 200,
			want: map[string]any{"total": 1}},
		{name: "service visits of another team", method: "GET", path: "/api/v1/service-visits", as: "kam3", status: 200, want: map[string]any{"total": 0}},
		{name: "service visits of a bad status", method: "GET", path: "/api/v1/service-visits?status=late", as: "e1", status: 400, code: "invalid"},
		{name: "visit report with more unresolved than found", method: "POST", path: "/api/v1/service-visits/{visit}/report", as: "e1",
			body: `{"visited_on":"2026-05-13","faults_found":1,"faults_unresolved":2,"satisfaction":"satisfied"}`, status: 400, code: "invalid",
			want: map[string]any{"error.details.field": "faults_unresolved"}},
		{name: "visit report of a visit one cannot see", method: "POST", path: "/api/v1/service-visits/{visit}/report", as: "e2",
			body: `{"visited_on":"2026-05-13","faults_found":0,"faults_unresolved":0,"satisfaction":"satisfied"}`, status: 404, code: "not_found"},
		{name: "visit report", method: "POST", path: "/api/v1/service-visits/{visit}/report", as: "e1",
			body:   `{"visited_on":"2026-05-13","faults_found":2,"faults_unresolved":1,"satisfaction":"satisfied","notes":"Fan bearing noisy; replaced one filter"}`,
			status: 200, want: map[string]any{"status": "reported", "report.faults_found": 2, "report.reported_by": "e1"}},
		{name: "visit reported twice", method: "POST", path: "/api/v1/service-visits/{visit}/report", as: "e1",
			body: `{"visited_on":"2026-05-13","faults_found":0,"faults_unresolved":0,"satisfaction":"neutral"}`, status: 409, code: "conflict"},
		{name: "service report", method: "GET", path: "/api/v1/accounts/{acct1}/service-report", as: "kam1", status: 200,
			want: map[string]any{"sites_visited": 1, "sites_with_faults": 1, "sites_unresolved": 1, "satisfied": 1, "fault_rate": 1,
				"satisfaction_rate": 1, "sites.0.deal_id": "{delivery}", "sites.0.round": 1, "round": 0, "account": "Baowu Steel Zhanjiang"}},
		{name: "service report of round 2", method: "GET", path: "/api/v1/accounts/{acct1}/service-report?round=2", as: "kam1", status: 200,
			want: map[string]any{"sites_visited": 0, "sites": length(0)}},
		{name: "service report of round 0", method: "GET", path: "/api/v1/accounts/{acct1}/service-report?round=0", as: "kam1", status: 400, code: "invalid"},
		{name: "service report as CSV", method: "GET", path: "/api/v1/accounts/{acct1}/service-report?format=csv&lang=zh-CN", as: "kam1", status: 200,
			check: func(t *testing.T, _ *testEnv, r *response) {
				rows := readCSV(t, r.body)
				if len(rows) != 3 || rows[0][0] != "现场" || rows[1][0] != "Hot strip mill drives" || rows[1][4] != "2" || rows[1][6] != "满意" ||
					!strings.Contains(rows[2][6], "回访现场 1 个，其中有故障 1 个（100%），未解决 1 个，满意 1 个（100%）") {
					t.Errorf("service report CSV %q", rows)
				}
			}},
		{name: "service report of another team", method: "GET", path: "/api/v1/accounts/{acct1}/service-report", as: "kam3", status: 404, code: "not_found"},
		{name: "service cadence", method: "PUT", path: "/api/v1/settings/service-cadence", as: "admin", body: `{"service_cadence":["14d","60d","365d"]}`,
			status: 200, want: map[string]any{"service_cadence": []string{"14d", "60d", "365d"}}},
		{name: "service cadence falling", method: "PUT", path: "/api/v1/settings/service-cadence", as: "admin", body: `{"service_cadence":["60d","14d"]}`,
			status: 400, code: "invalid", want: map[string]any{"error.details.field": "service_cadence"}},
		{name: "service cadence in the settings", method: "GET", path: "/api/v1/settings", status: 200,
			want: map[string]any{"service_cadence": []string{"14d", "60d", "365d"}}},
	}
}

func forceScenarios() []scenario {
	adv := func(name, body string, status int, code string, want map[string]any) scenario {
		return scenario{name: name, method: "POST", path: "/api/v1/deals/{force}/advance", as: "d1",
			body: body, status: status, code: code, want: want}
	}
	field := map[string]any{"error.details.field": "reason"}
	return []scenario{
		adv("advance a failed assessment", ``, 409, "gate_not_met", map[string]any{"error.details.missing": []string{"assessment_passed"}}),
		adv("force without reason", `{"force":true}`, 400, "invalid", field),
		adv("force with a blank reason", `{"force":true,"reason":"   "}`, 400, "invalid", field),
		adv("force as a string", `{"force":"yes","reason":"x"}`, 400, "invalid", map[string]any{"error.details.field": "force"}),
		adv("force with too long a reason", `{"force":true,"reason":"`+strings.Repeat("r", 1001)+`"}`, 400, "invalid", field),
		{name: "force by a KAM", method: "POST", path: "/api/v1/deals/{force}/advance", as: "kam1",
			body: `{"force":true,"reason":"Strategic account: the GM asked us to bid"}`, status: 403, code: "forbidden"},
		{name: "before the forced advance", method: "GET", path: "/api/v1/deals/{force}", status: 200,
			want: map[string]any{"stage": "development", "seq": 2, "win_probability": 15, "forced": false}},
		adv("forced advance", `{"force":true,"reason":"Strategic account: the GM asked us to bid"}`, 200, "", map[string]any{
			"stage": "entry", "forced": true, "seq": 3,
			// Entry's base is 20; the forced advance halves it.
			"win_probability": 10, "probability.factors.2.key": "forced", "probability.factors.2.effect": -10,
			"forces": length(1), "forces.0.from": "development", "forces.0.to": "entry",
			"forces.0.missing": []string{"assessment_passed"}, "forces.0.actor": "d1",
			"forces.0.reason": "Strategic account: the GM asked us to bid", "forces.0.at": "2026-04-11T09:00:00Z"}),
		{name: "forced advance history", method: "GET", path: "/api/v1/deals/{force}/history", status: 200,
			want: map[string]any{"items": length(2), "items.1.kind": "forced", "items.1.forced": true, "items.1.actor": "d1",
				"items.1.reason": "Strategic account: the GM asked us to bid", "items.1.missing": []string{"assessment_passed"},
				"items.1.from_stage": "development", "items.1.to_stage": "entry", "items.1.seq": 3}},
		{name: "forced deal in the list", method: "GET", path: "/api/v1/deals?stage=entry", status: 200,
			want: map[string]any{"total": 1, "items.0.id": "{force}", "items.0.forced": true, "items.0.win_probability": 10}},
	}
}

func closeScenarios() []scenario {
	return []scenario{
		{name: "close lost with competitor", method: "POST", path: "/api/v1/deals/{lose}/close", as: "kam2",
			body: `{"outcome":"lost","reason":" Lost on price ","competitor":"Siemens"}`, status: 200,
			want: map[string]any{"status": "lost", "closing.outcome": "lost", "closing.reason": "Lost on price", "closing.competitor": "Siemens",
				"closing.by": "kam2", "win_probability": 0, "stall_deadline": absent}},
		{name: "lost deal history", method: "GET", path: "/api/v1/deals/{lose}/history", status: 200,
			want: map[string]any{"items": length(2), "items.1.kind": "closed", "items.1.status": "lost", "items.1.competitor": "Siemens",
				"items.1.reason": "Lost on price"}},
		{name: "advance a lost deal", method: "POST", path: "/api/v1/deals/{lose}/advance", status: 422, code: "wrong_stage",
			want: map[string]any{"error.details.status": "lost"}},
		{name: "stakeholder on a lost deal", method: "POST", path: "/api/v1/deals/{lose}/stakeholders", body: insider, status: 422, code: "wrong_stage"},
		{name: "close a lost deal", method: "POST", path: "/api/v1/deals/{lose}/close", body: `{"outcome":"lost","reason":"x"}`, status: 422, code: "wrong_stage"},
		{name: "pause an abandoned deal", method: "POST", path: "/api/v1/deals/{closed}/pause", body: `{"reason":"x","resume_on":"2026-05-01"}`,
			status: 422, code: "wrong_stage", want: map[string]any{"error.details.status": "abandoned"}},
		{name: "close as won", method: "POST", path: "/api/v1/deals/{pause}/close", body: `{"outcome":"won","reason":"x"}`, status: 400, code: "invalid",
			want: map[string]any{"error.details.field": "outcome"}},
		{name: "close without reason", method: "POST", path: "/api/v1/deals/{pause}/close", body: `{"outcome":"lost"}`, status: 400, code: "invalid",
			want: map[string]any{"error.details.field": "reason"}},
		{name: "close withdrawn in development", method: "POST", path: "/api/v1/deals/{pause}/close", body: `{"outcome":"withdrawn","reason":"x"}`,
			status: 422, code: "wrong_stage"},
		{name: "close abandoned after development", method: "POST", path: "/api/v1/deals/{entry}/close", body: `{"outcome":"abandoned","reason":"x"}`,
			status: 422, code: "wrong_stage"},
		{name: "close with empty body", method: "POST", path: "/api/v1/deals/{pause}/close", status: 400, code: "invalid"},
	}
}

func pauseScenarios() []scenario {
	p := func(name, body string, status int, code string, want map[string]any) scenario {
		return scenario{name: name, method: "POST", path: "/api/v1/deals/{pause}/pause", as: "kam1",
			body: body, status: status, code: code, want: want}
	}
	return []scenario{
		{name: "resume a deal not paused", method: "POST", path: "/api/v1/deals/{pause}/resume", status: 422, code: "wrong_stage"},
		p("pause until a past date", `{"reason":"Budget approval","resume_on":"2026-01-01"}`, 400, "invalid", map[string]any{"error.details.field": "resume_on"}),
		p("pause until today", `{"reason":"Budget approval","resume_on":"2026-04-11"}`, 400, "invalid", map[string]any{"error.details.field": "resume_on"}),
		p("pause without reason", `{"resume_on":"2026-05-01"}`, 400, "invalid", map[string]any{"error.details.field": "reason"}),
		p("pause without date", `{"reason":"Budget approval"}`, 400, "invalid", map[string]any{"error.details.field": "resume_on"}),
		p("pause with empty body", ``, 400, "invalid", nil),
		p("pause", `{"reason":"Waiting on the customer's budget approval","resume_on":"2026-05-01"}`, 200, "", map[string]any{
			"pause.reason": "Waiting on the customer's budget approval", "pause.resume_on": "2026-05-01", "pause.by": "kam1",
			"pause.since": "2026-04-11T09:00:00Z", "stall_deadline": absent, "stalled": false}),
		{name: "paused deal in the list", method: "GET", path: "/api/v1/deals?owner=kam1&stage=development&limit=200", status: 200,
			check: func(t *testing.T, e *testEnv, r *response) {
				items, _ := lookup(r.json, "items")
				for _, it := range items.([]any) {
					m := it.(map[string]any)
					if m["id"] == e.vars["pause"] && m["paused"] != true {
						t.Errorf("the paused deal shows paused %v", m["paused"])
					}
				}
			}},
		p("pause twice", `{"reason":"x","resume_on":"2026-06-01"}`, 422, "wrong_stage", nil),
		{name: "resume", method: "POST", path: "/api/v1/deals/{pause}/resume", as: "kam1", status: 200,
			want: map[string]any{"pause": absent, "stall_deadline": "2026-05-11T09:00:00Z"}},
		{name: "resume twice", method: "POST", path: "/api/v1/deals/{pause}/resume", status: 422, code: "wrong_stage"},
		{name: "command on an unknown deal", method: "POST", path: "/api/v1/deals/nope/advance", status: 404, code: "not_found"},
		{name: "bid on an unknown deal", method: "PUT", path: "/api/v1/deals/nope/bid", body: goodBid, status: 404, code: "not_found"},
		{name: "get an unknown deal", method: "GET", path: "/api/v1/deals/nope", status: 404, code: "not_found"},
		{name: "history of an unknown deal", method: "GET", path: "/api/v1/deals/nope/history", status: 404, code: "not_found"},
	}
}

// bodyScenarios send bodies that are wrong in every way: each must be a clear 4xx.
func bodyScenarios() []scenario {
	acct := func(name, body string, headers map[string]string, status int, code string, contains ...string) scenario {
		return scenario{name: name, method: "POST", path: "/api/v1/accounts", body: body, headers: headers,
			status: status, code: code, contains: contains}
	}
	ct := func(v string) map[string]string { return map[string]string{"Content-Type": v} }
	return []scenario{
		acct("malformed JSON", `{"name":`, nil, 400, "invalid", "malformed JSON"),
		acct("malformed JSON mid-way", `{"name" "x"}`, nil, 400, "invalid", "malformed JSON"),
		acct("trailing garbage", `{"name":"x"}}`, nil, 400, "invalid"),
		acct("two objects", `{"name":"x"} {"name":"y"}`, nil, 400, "invalid", "more follows"),
		acct("an array", `[{"name":"x"}]`, nil, 400, "invalid", "JSON object"),
		acct("a string", `"hello"`, nil, 400, "invalid"),
		acct("null", `null`, nil, 400, "invalid"),
		acct("deep nesting", deepNesting, nil, 400, "invalid"),
		acct("a NUL character", `{"name":"Acme\u0000Steel"}`, nil, 400, "invalid", "NUL"),
		{name: "an escaped backslash before u0000 is not a NUL", method: "POST", path: "/api/v1/accounts", body: `{"name":"C:\\u0000"}`,
			status: 201, want: map[string]any{"name": `C:\u0000`}},
		{name: "invalid UTF-8 is replaced", method: "POST", path: "/api/v1/accounts", body: "{\"name\":\"Acme \xff Steel\"}",
			status: 201, want: map[string]any{"name": "Acme \ufffd Steel"}},
		acct("text/plain", `{"name":"x"}`, ct("text/plain"), 400, "invalid", "Content-Type"),
		acct("a form", `name=x`, ct("application/x-www-form-urlencoded"), 400, "invalid", "Content-Type"),
		acct("a broken Content-Type", `{"name":"x"}`, ct("application/json; charset"), 400, "invalid"),
		{name: "application/json with charset", method: "POST", path: "/api/v1/accounts", body: `{"name":"Charset Steel"}`,
			headers: ct("application/json; charset=utf-8"), status: 201},
		{name: "a +json type", method: "POST", path: "/api/v1/accounts", body: `{"name":"Vendor Steel"}`,
			headers: ct("application/vnd.kamflow+json"), status: 201},
		{name: "no Content-Type", method: "POST", path: "/api/v1/accounts", body: `{"name":"Bare Steel"}`,
			headers: ct("-"), status: 201},
		{name: "wrong type for likelihood", method: "PUT", path: "/api/v1/deals/{assess}/assessment", body: `{"likelihood":"high"}`,
			status: 400, code: "invalid", want: map[string]any{"error.details.field": "likelihood"}},
		{name: "wrong type for scores", method: "PUT", path: "/api/v1/deals/{assess}/assessment", body: `{"scores":[1,2,3]}`,
			status: 400, code: "invalid", want: map[string]any{"error.details.field": "scores"}},
		{name: "unknown field on a command", method: "POST", path: "/api/v1/deals/{idem}/advance", body: `{"forse":true}`,
			status: 400, code: "invalid", want: map[string]any{"error.details.field": "forse"}},
		{name: "a body on a bodiless command", method: "POST", path: "/api/v1/deals/{idem}/resume", body: `{"now":true}`,
			status: 400, code: "invalid"},
		{name: "empty body where one is required", method: "POST", path: "/api/v1/deals/{idem}/stakeholders",
			status: 400, code: "invalid", want: map[string]any{"error.details.field": "name"}},
		acct("body over 1 MiB", overLimit, nil, 413, "too_large"),
		{name: "body over 1 MiB without length", method: "POST", path: "/api/v1/deals/{idem}/stakeholders", body: overLimit, chunked: true,
			status: 413, code: "too_large"},
		{name: "body over 1 MiB with an Idempotency-Key", method: "POST", path: "/api/v1/deals/{idem}/stakeholders", body: overLimit, chunked: true,
			headers: map[string]string{"Idempotency-Key": "big-1"}, status: 413, code: "too_large"},
		acct("body of exactly 1 MiB", atLimit, nil, 400, "invalid"),
		{name: "oversized bodies changed nothing", method: "GET", path: "/api/v1/deals/{idem}", status: 200,
			want: map[string]any{"seq": 1, "stakeholders": absent}},
		{name: "a write without credentials", method: "POST", path: "/api/v1/accounts", as: anonymous, body: `{"name":"Anonymous Steel"}`,
			status: 401, code: "unauthorized"},
		{name: "an Authorization that is not Bearer", method: "POST", path: "/api/v1/accounts", as: anonymous, body: `{"name":"Basic Steel"}`,
			headers: map[string]string{"Authorization": "Basic a2FtMTpwYXNzd29yZA=="}, status: 401, code: "unauthorized"},
		{name: "a bearer token of invalid UTF-8", method: "GET", path: "/api/v1/notifications", as: anonymous,
			headers: map[string]string{"Authorization": "Bearer kam\xff"}, status: 401, code: "unauthorized"},
		{name: "a bearer token over 1,000 characters", method: "GET", path: "/api/v1/notifications", as: anonymous,
			headers: map[string]string{"Authorization": "Bearer " + strings.Repeat("t", 1200)}, status: 401, code: "unauthorized"},
		{name: "an empty bearer token", method: "GET", path: "/api/v1/notifications", as: anonymous,
			headers: map[string]string{"Authorization": "Bearer "}, status: 401, code: "unauthorized"},
		{name: "the X-Kamflow-User header signs nobody in", method: "GET", path: "/api/v1/notifications", as: anonymous,
			headers: map[string]string{"X-Kamflow-User": "kam1"}, status: 401, code: "unauthorized"},
		{name: "requests refused for want of credentials made nothing", method: "GET", path: "/api/v1/accounts?q=steel", status: 200,
			check: func(t *testing.T, e *testEnv, r *response) {
				if bytes.Contains(r.body, []byte("Anonymous Steel")) || bytes.Contains(r.body, []byte("Basic Steel")) {
					t.Errorf("an account was created without credentials: %s", r.body)
				}
			}},
		{name: "a NUL in a query parameter", method: "GET", path: "/api/v1/deals?owner=kam%00li", status: 400, code: "invalid",
			want: map[string]any{"error.details.field": "owner"}},
		{name: "invalid UTF-8 in a query parameter", method: "GET", path: "/api/v1/deals?account_id=%ff", status: 400, code: "invalid"},
		{name: "a NUL in the path", method: "GET", path: "/api/v1/deals/%00", status: 400, code: "invalid"},
	}
}

func routingScenarios() []scenario {
	return []scenario{
		{name: "unknown API route", method: "GET", path: "/api/v1/nope", status: 404, code: "not_found"},
		{name: "unknown route", method: "GET", path: "/nope", status: 404, code: "not_found"},
		{name: "the bare API prefix", method: "GET", path: "/api/v1", status: 404, code: "not_found"},
		{name: "wrong method under the API", method: "DELETE", path: "/api/v1/deals/{assess}", status: 404, code: "not_found"},
		{name: "wrong method on a command", method: "PUT", path: "/api/v1/deals/{assess}/advance", status: 404, code: "not_found"},
		{name: "wrong method outside the API", method: "POST", path: "/healthz", status: 400, code: "invalid",
			header: map[string]string{"Allow": "OPTIONS, GET"}},
	}
}

func idempotencyScenarios() []scenario {
	key := func(k string, more ...string) map[string]string {
		h := map[string]string{"Idempotency-Key": k}
		for i := 0; i+1 < len(more); i += 2 {
			h[more[i]] = more[i+1]
		}
		return h
	}
	return []scenario{
		{name: "idempotent command", method: "POST", path: "/api/v1/deals/{idem}/stakeholders", headers: key("stake-1"), body: insider,
			status: 200, save: "stake-1", want: map[string]any{"seq": 2, "stakeholders": length(1)},
			check: func(t *testing.T, e *testEnv, r *response) {
				if h := r.header.Get("Idempotent-Replayed"); h != "" {
					t.Errorf("a first answer says Idempotent-Replayed: %s", h)
				}
			}},
		{name: "idempotent command replayed", method: "POST", path: "/api/v1/deals/{idem}/stakeholders", headers: key("stake-1"), body: insider,
			status: 200, header: map[string]string{"Idempotent-Replayed": "true"},
			check: func(t *testing.T, e *testEnv, r *response) {
				if first := e.saved["stake-1"]; !bytes.Equal(r.body, first.body) {
					t.Errorf("the replay differs from the first answer:\n%s\n%s", r.body, first.body)
				}
				if n := e.svc.Applied(e.vars["idem"]); n != 1 {
					t.Errorf("the command was applied %d times", n)
				}
			}},
		{name: "idempotent command applied once", method: "GET", path: "/api/v1/deals/{idem}", status: 200,
			want: map[string]any{"seq": 2, "stakeholders": length(1)}},
		{name: "idempotency key reused with another body", method: "POST", path: "/api/v1/deals/{idem}/stakeholders", headers: key("stake-1"),
			body: decider, status: 409, code: "conflict"},
		{name: "idempotency key reused on another path", method: "POST", path: "/api/v1/deals/{pause}/stakeholders", headers: key("stake-1"),
			body: insider, status: 409, code: "conflict"},
		{name: "idempotency key of a failed request", method: "POST", path: "/api/v1/deals/{idem}/stakeholders", headers: key("stake-2"),
			body: `{"name":"Liu Zong","role":"boss","stance":"neutral"}`, status: 400, code: "invalid"},
		{name: "idempotency key retried after a failure", method: "POST", path: "/api/v1/deals/{idem}/stakeholders", headers: key("stake-2"),
			body: decider, status: 200, want: map[string]any{"seq": 3, "stakeholders": length(2)}},
		{name: "idempotency key of a rejected move", method: "POST", path: "/api/v1/deals/{idem}/advance", headers: key("adv-1"),
			status: 409, code: "gate_not_met"},
		{name: "idempotency key too long", method: "POST", path: "/api/v1/deals/{idem}/advance", headers: key(strings.Repeat("k", 201)),
			status: 400, code: "invalid"},
		{name: "idempotent create deal", method: "POST", path: "/api/v1/deals", headers: key("deal-1"),
			body:   `{"account_id":"{acct1}","title":"Ladle furnace electrodes, lot 2","value":"1800000.00","currency":"CNY","owner":"kam2"}`,
			status: 201, capture: map[string]string{"idemDeal": "id"}, save: "deal-1",
			header: map[string]string{"Location": "/api/v1/deals/{idemDeal}"}},
		{name: "idempotent create deal replayed", method: "POST", path: "/api/v1/deals", headers: key("deal-1"),
			body:   `{"account_id":"{acct1}","title":"Ladle furnace electrodes, lot 2","value":"1800000.00","currency":"CNY","owner":"kam2"}`,
			status: 201, header: map[string]string{"Idempotent-Replayed": "true"}, want: map[string]any{"id": "{idemDeal}"},
			check: func(t *testing.T, e *testEnv, r *response) {
				if !bytes.Equal(r.body, e.saved["deal-1"].body) {
					t.Error("the replay differs from the first answer")
				}
			}},
		{name: "idempotent create deal made one deal", method: "GET", path: "/api/v1/deals?owner=kam2&account_id={acct1}", status: 200,
			want: map[string]any{"total": 1, "items.0.id": "{idemDeal}"}},
		{name: "idempotent account", method: "POST", path: "/api/v1/accounts", headers: key("acct-1"), body: `{"name":"Idempotent Steel"}`,
			status: 201, capture: map[string]string{"idemAcct": "id"}},
		{name: "idempotent account replayed", method: "POST", path: "/api/v1/accounts", headers: key("acct-1"), body: `{"name":"Idempotent Steel"}`,
			status: 201, header: map[string]string{"Idempotent-Replayed": "true"}, want: map[string]any{"id": "{idemAcct}"}},
		{name: "idempotent account made one", method: "GET", path: "/api/v1/accounts?q=idempotent", status: 200, want: map[string]any{"total": 1}},
		{name: "another user's Idempotency-Key is their own", method: "POST", path: "/api/v1/accounts", as: "kam2", headers: key("acct-1"),
			body: `{"name":"Idempotent Steel"}`, status: 201, want: map[string]any{"owner": "kam2"},
			check: func(t *testing.T, e *testEnv, r *response) {
				if id, _ := lookup(r.json, "id"); id == e.vars["idemAcct"] || r.header.Get("Idempotent-Replayed") != "" {
					t.Errorf("kam2 got kam1's answer for the same key: %s", r.body)
				}
			}},
	}
}

func reportScenarios() []scenario {
	sla := func(name, stage, body string, status int, code string, want map[string]any) scenario {
		return scenario{name: name, method: "PUT", path: "/api/v1/settings/stages/" + stage, as: "admin",
			body: body, status: status, code: code, want: want}
	}
	return []scenario{
		{name: "stalled report", method: "GET", path: "/api/v1/reports/stalled", status: 200,
			want: map[string]any{"total": 1, "items": length(1), "items.0.id": "{stale}", "items.0.stalled": true,
				"items.0.days_over_sla": 10, "items.0.days_in_stage": 40, "items.0.stage": "development",
				"items.0.stalled_since": "2026-04-01T10:00:00Z", "items.0.missing": []string{"assessment_passed", "graded"},
				"items.0.owner": "kam1", "items.0.value": "850000.00"}},
		{name: "stalled deal", method: "GET", path: "/api/v1/deals/{stale}", status: 200,
			want: map[string]any{"stalled": true, "stalled_since": "2026-04-01T10:00:00Z", "days_over_sla": 10,
				"stall_deadline": "2026-04-01T09:00:00Z"}},
		{name: "notifications", method: "GET", path: "/api/v1/notifications", as: "kam1", status: 200,
			want: map[string]any{"items": length(1), "items.0.kind": "stalled", "items.0.deal_id": "{stale}", "items.0.user_id": "kam1",
				"items.0.created_at": "2026-04-01T10:00:00Z", "items.0.read_at": absent},
			contains: []string{"Coke oven gas analysers has made no progress in the development stage within its SLA of 30d"}},
		{name: "notifications of someone else", method: "GET", path: "/api/v1/notifications", as: "kam2", status: 200,
			want: map[string]any{"items": length(0)}},
		{name: "notifications of anonymous", method: "GET", path: "/api/v1/notifications", as: anonymous, status: 401, code: "unauthorized"},
		{name: "settings", method: "GET", path: "/api/v1/settings", status: 200,
			want: map[string]any{"sla.development": "30d", "sla.delivery": "120d", "sla": length(6), "margin_floor": 15,
				"assessment.threshold": 60, "assessment.weights.funding": 15}},
		sla("stage SLA in seconds", "bid", `{"sla":"2s"}`, 200, "", map[string]any{"stage": "bid", "sla": "2s"}),
		{name: "stage SLA reached the deal in the stage", method: "GET", path: "/api/v1/deals/{proposal}", status: 200,
			want: map[string]any{"stage": "bid", "stage_sla": "2s", "stall_deadline": "2026-04-11T09:00:02Z"}},
		{name: "stage SLA left other stages alone", method: "GET", path: "/api/v1/deals/{assess}", status: 200,
			want: map[string]any{"stage_sla": "30d"}},
		{name: "stage SLA saved", method: "GET", path: "/api/v1/settings", status: 200, want: map[string]any{"sla.bid": "2s"}},
		sla("stage SLA abc", "bid", `{"sla":"abc"}`, 400, "invalid", nil),
		sla("stage SLA zero", "bid", `{"sla":"0s"}`, 400, "invalid", nil),
		sla("stage SLA negative", "bid", `{"sla":"-3d"}`, 400, "invalid", nil),
		sla("stage SLA over ten years", "bid", `{"sla":"3651d"}`, 400, "invalid", nil),
		sla("stage SLA as a number", "bid", `{"sla":30}`, 400, "invalid", nil),
		sla("stage SLA left out", "bid", `{}`, 400, "invalid", map[string]any{"error.details.field": "sla"}),
		sla("stage SLA unknown stage", "launch", `{"sla":"30d"}`, 404, "not_found", nil),
		sla("stage SLA in capitals", "BID", `{"sla":"21d"}`, 200, "", map[string]any{"stage": "bid", "sla": "21d"}),
		sla("stage SLA 1d12h", "entry", `{"sla":"1d12h"}`, 200, "", map[string]any{"stage": "entry", "sla": "36h"}),
		sla("stage SLA longer lifts a stall", "development", `{"sla":"60d"}`, 200, "", map[string]any{"stage": "development", "sla": "60d"}),
		{name: "deals updated by a stage SLA", method: "PUT", path: "/api/v1/settings/stages/development", as: "admin", body: `{"sla":"30d"}`, status: 200,
			check: func(t *testing.T, e *testEnv, r *response) {
				ids, err := e.db.ActiveDealIDs(context.Background(), "")
				if err != nil {
					t.Fatal(err)
				}
				if got, _ := lookup(r.json, "deals_to_tell"); got != float64(len(ids)) {
					t.Errorf("deals_to_tell %v, want the %d active deals", got, len(ids))
				}
			},
			after: func(e *testEnv) {
				// Back to 60d, so that the stall stays lifted for the scenarios below.
				e.must(200, "PUT", "/api/v1/settings/stages/development", "admin", `{"sla":"60d"}`)
			}},
		{name: "no stalled deal left", method: "GET", path: "/api/v1/reports/stalled", status: 200,
			want: map[string]any{"total": 0, "items": length(0)}},
		{name: "stall lifted", method: "GET", path: "/api/v1/deals/{stale}", status: 200,
			want: map[string]any{"stalled": false, "days_over_sla": 0, "stage_sla": "60d", "stalled_since": absent,
				"stall_deadline": "2026-05-01T09:00:00Z"}},
	}
}

// failureScenarios make the deal service fail: a timeout is unavailable, anything else internal,
// and neither shows what went wrong inside.
func failureScenarios() []scenario {
	fail := func(err error) func(e *testEnv) { return func(e *testEnv) { e.svc.setFail(err) } }
	reset := func(e *testEnv) { e.svc.setFail(nil) }
	noLeak := func(t *testing.T, e *testEnv, r *response) {
		if bytes.Contains(r.body, []byte("temporal")) {
			t.Errorf("the answer shows the internal error: %s", r.body)
		}
	}
	timeout := fmt.Errorf("temporal: update: %w", context.DeadlineExceeded)
	seqUnchanged := func(t *testing.T, e *testEnv, r *response) {
		if got, _ := lookup(r.json, "seq"); fmt.Sprint(got) != e.vars["idemSeq"] {
			t.Errorf("seq %v, want %s as before the failures", got, e.vars["idemSeq"])
		}
	}
	return []scenario{
		{name: "before the failures", method: "GET", path: "/api/v1/deals/{idem}", status: 200, capture: map[string]string{"idemSeq": "seq"}},
		{name: "command times out", method: "POST", path: "/api/v1/deals/{idem}/stakeholders", body: insider,
			status: 503, code: "unavailable", before: fail(timeout), after: reset, check: noLeak},
		{name: "command fails", method: "POST", path: "/api/v1/deals/{idem}/stakeholders", body: insider,
			status: 500, code: "internal", before: fail(errors.New("temporal: connection refused")), after: reset, check: noLeak,
			want: map[string]any{"error.message": "internal error"}},
		{name: "create deal times out", method: "POST", path: "/api/v1/deals", body: `{"account_id":"{acct1}","title":"t","currency":"CNY"}`,
			status: 503, code: "unavailable", before: fail(timeout), after: reset, check: noLeak},
		{name: "stage SLA refused while the fan-out cannot be told", method: "PUT", path: "/api/v1/settings/stages/proposal", as: "admin", body: `{"sla":"29d"}`,
			status: 503, code: "unavailable", before: fail(errors.New("temporal: signal failed")), after: reset, check: noLeak},
		{name: "stage SLA refused saved nothing", method: "GET", path: "/api/v1/settings", status: 200, want: map[string]any{"sla.proposal": "30d"}},
		{name: "failures changed nothing", method: "GET", path: "/api/v1/deals/{idem}", status: 200, check: seqUnchanged,
			want: map[string]any{"stakeholders": length(2)}},
	}
}

// keyAccountScenarios work the key-account record of acct1 (kam1's; its two won deals, {neg} and
// {delivery}, make it a repeat buyer in stability) and acct2 (kam2's, nothing won): profile and value
// inputs with the scores they give, the list by value, segment and lifecycle, the Pareto view,
// the settings, contacts and their org chart, interactions, the timeline, the lifecycle override
// and the handover. The scores are worked by hand in TestScoreValue's terms.
func keyAccountScenarios() []scenario {
	stale := T1.Add(90 * kamflow.Day)
	// reassignedTo checks that a handover moved the previous owner's active deals of acct1 to the
	// new owner: the handover's record lists them, each done and now the new owner's, on the
	// deal's timeline as the director's, and the previous owner has none left.
	reassignedTo := func(previous, next string) func(t *testing.T, e *testEnv, r *response) {
		return func(t *testing.T, e *testEnv, r *response) {
			ctx := context.Background()
			if left, _, _ := e.db.Deals(ctx, kamflow.DealFilter{AccountID: e.vars["acct1"], Owner: previous, Page: kamflow.Page{Limit: 200}}); slices.ContainsFunc(left, (*kamflow.Deal).Active) {
				t.Errorf("%s still owns active deals of the account", previous)
			}
			deals, _ := lookup(r.json, "deals")
			if len(deals.([]any)) == 0 {
				t.Errorf("no deal reassigned: %s", r.body)
			}
			for _, it := range deals.([]any) {
				hd := it.(map[string]any)
				d, err := e.db.Deal(ctx, hd["deal_id"].(string))
				if err != nil || d.Owner != next || hd["status"] != "done" || hd["title"] != d.Title {
					t.Errorf("deal %v after the handover: %v %v", hd, d, err)
					continue
				}
				entries, _, _ := e.db.Audit(ctx, kamflow.AuditFilter{DealID: d.ID, Page: kamflow.Page{Limit: 1}})
				if len(entries) != 1 || entries[0].Action != "deal.reassign" || entries[0].Actor != "d1" {
					t.Errorf("deal %s timeline %+v", d.ID, entries)
				}
			}
		}
	}
	return []scenario{
		{name: "account view", method: "GET", path: "/api/v1/accounts/{acct1}", status: 200,
			want: map[string]any{"value_score": 0, "segment": absent, "segmentation.score": 0, "segmentation.segment": absent,
				"segmentation.care": absent, "segmentation.threshold": 60, "segmentation.factors": length(6),
				"value.gross_profit": "0.00", "profile": length(0), "lifecycle.phase": "stability", "lifecycle.rung": "repeat_buyer",
				"lifecycle.derived.reason": "repeat_wins", "lifecycle.derived.won_deals": 2, "lifecycle.derived.won_in_window": 2,
				"lifecycle.derived.falling": false, "lifecycle.derived.last_activity_at": "2026-04-11T09:00:00Z", "lifecycle.override": absent,
				"lifecycle.marketing_mix.primary": "brand", "lifecycle.marketing_mix.secondary": "relationship",
				"account_team": length(3), "account_team.0.username": "d1", "account_team.1.username": "kam1",
				"account_team.1.owner": true, "account_team.2.owner": false},
			contains: []string{"稳定期以品牌营销为主", "Stability: brand marketing first"}},
		{name: "account value and profile", method: "PATCH", path: "/api/v1/accounts/{acct1}",
			body: `{"profile":{"market":" Steel output flat, exports up ","competitors":"Siemens, ABB"},"value":{"gross_profit":"2000000.00",` +
				`"sales_volume":"10000000.00","marketing_cost":"1000000.00","industry_position":4,"cooperation_years":5,"satisfaction":5}}`,
			status: 200, want: map[string]any{"profile.market": "Steel output flat, exports up", "profile.competitors": "Siemens, ABB",
				"value.sales_volume": "10000000.00", "value.satisfaction": 5, "value_score": 86.3, "segment": "strategic",
				"segmentation.score": 86.3, "segmentation.factors.0.factor": "gross_profit", "segmentation.factors.0.points": 30,
				"segmentation.factors.2.score": 0.5, "name": "Baowu Steel Zhanjiang", "lifecycle.phase": "stability"},
			contains: []string{"Strategic customers bring most of the profit"}},
		{name: "another account's value rescales the first", method: "PATCH", path: "/api/v1/accounts/{acct2}", as: "kam2",
			body:   `{"value":{"gross_profit":"4000000.00","sales_volume":"5000000.00","industry_position":5,"cooperation_years":12,"satisfaction":5}}`,
			status: 200, want: map[string]any{"value_score": 90, "segment": "strategic", "segmentation.factors.1.points": 10}},
		{name: "account value rescaled", method: "GET", path: "/api/v1/accounts/{acct1}", status: 200,
			want: map[string]any{"value_score": 71.3, "segment": "strategic", "segmentation.factors.0.points": 15}},
		{name: "account owner by patch", method: "PATCH", path: "/api/v1/accounts/{acct1}", body: `{"owner":"kam2"}`,
			status: 400, code: "invalid", want: map[string]any{"error.details.field": "owner"}, contains: []string{"handover"}},
		{name: "account same owner by patch", method: "PATCH", path: "/api/v1/accounts/{acct1}", body: `{"owner":"kam1"}`,
			status: 400, code: "invalid", want: map[string]any{"error.details.field": "owner"}, contains: []string{"handover"}},
		{name: "account satisfaction 6", method: "PATCH", path: "/api/v1/accounts/{acct1}", body: `{"value":{"satisfaction":6}}`,
			status: 400, code: "invalid", want: map[string]any{"error.details.field": "value.satisfaction"}},
		{name: "account gross profit as a number", method: "PATCH", path: "/api/v1/accounts/{acct1}", body: `{"value":{"gross_profit":2000000}}`,
			status: 400, code: "invalid"},
		{name: "account unknown profile field", method: "PATCH", path: "/api/v1/accounts/{acct1}", body: `{"profile":{"mood":"good"}}`,
			status: 400, code: "invalid", want: map[string]any{"error.details.field": "mood"}},
		{name: "accounts by value", method: "GET", path: "/api/v1/accounts?sort=value_score&limit=2", status: 200,
			want: map[string]any{"items": length(2), "items.0.id": "{acct2}", "items.0.value_score": 90, "items.0.phase": "exploration",
				"items.0.rung": "prospect", "items.1.id": "{acct1}", "items.1.phase": "stability", "items.1.rung": "repeat_buyer"}},
		{name: "accounts by segment", method: "GET", path: "/api/v1/accounts?segment=strategic", status: 200,
			want: map[string]any{"total": 2, "items.0.id": "{acct1}", "items.1.id": "{acct2}"}},
		{name: "accounts by segment general", method: "GET", path: "/api/v1/accounts?segment=GENERAL", status: 200, want: map[string]any{"total": 0}},
		{name: "accounts by lifecycle", method: "GET", path: "/api/v1/accounts?lifecycle=stability", status: 200,
			want: map[string]any{"total": 1, "items.0.id": "{acct1}"}},
		{name: "accounts by lifecycle and segment", method: "GET", path: "/api/v1/accounts?lifecycle=exploration&segment=strategic", status: 200,
			want: map[string]any{"total": 1, "items.0.id": "{acct2}"}},
		{name: "accounts by unknown segment", method: "GET", path: "/api/v1/accounts?segment=vip", status: 400, code: "invalid",
			want: map[string]any{"error.details.field": "segment"}},
		{name: "accounts by unknown lifecycle", method: "GET", path: "/api/v1/accounts?lifecycle=retired", status: 400, code: "invalid",
			want: map[string]any{"error.details.field": "lifecycle"}},
		{name: "accounts by unknown order", method: "GET", path: "/api/v1/accounts?sort=revenue", status: 400, code: "invalid",
			want: map[string]any{"error.details.field": "sort"}},
		{name: "pareto", method: "GET", path: "/api/v1/accounts/pareto", status: 200,
			want: map[string]any{"accounts": 2, "total_gross_profit": "6000000.00", "top_accounts": 1, "top_share": 0.6667,
				"points.0.account_id": "{acct2}", "points.0.profit_share": 0.6667, "points.0.account_share": 0.5,
				"points.1.account_id": "{acct1}", "points.1.profit_share": 1}},
		{name: "pareto of another team", method: "GET", path: "/api/v1/accounts/pareto", as: "kam3", status: 200,
			want: map[string]any{"accounts": 0, "top_accounts": 0, "points": length(0)}},

		{name: "key-account settings", method: "GET", path: "/api/v1/settings/segmentation", status: 200,
			want: map[string]any{"strategic_threshold": 60, "weights.gross_profit": 30, "weights": length(6), "stale_contact_days": 90,
				"repeat_window_years": 3, "dormant_months": 12, "full_cooperation_years": 10}},
		{name: "key-account settings changed", method: "PUT", path: "/api/v1/settings/segmentation", as: "admin",
			body: `{"strategic_threshold":80}`, status: 200, want: map[string]any{"strategic_threshold": 80, "weights.satisfaction": 15}},
		{name: "a higher threshold makes general", method: "GET", path: "/api/v1/accounts/{acct1}", status: 200,
			want:     map[string]any{"value_score": 71.3, "segment": "general", "segmentation.threshold": 80},
			contains: []string{"严格控制销售拜访次数"}},
		{name: "the threshold in the list", method: "GET", path: "/api/v1/accounts?segment=strategic", status: 200,
			want: map[string]any{"total": 1, "items.0.id": "{acct2}"}},
		{name: "key-account settings back", method: "PUT", path: "/api/v1/settings/segmentation", as: "admin",
			body: `{"strategic_threshold":60}`, status: 200},
		{name: "key-account settings by a KAM", method: "PUT", path: "/api/v1/settings/segmentation", body: `{"strategic_threshold":50}`,
			status: 403, code: "forbidden"},
		{name: "key-account settings unknown factor", method: "PUT", path: "/api/v1/settings/segmentation", as: "admin",
			body: `{"weights":{"headcount":5}}`, status: 400, code: "invalid", want: map[string]any{"error.details.field": "weights"}},
		{name: "key-account settings threshold 0", method: "PUT", path: "/api/v1/settings/segmentation", as: "admin",
			body: `{"strategic_threshold":0}`, status: 400, code: "invalid", want: map[string]any{"error.details.field": "strategic_threshold"}},
		{name: "key-account settings days as text", method: "PUT", path: "/api/v1/settings/segmentation", as: "admin",
			body: `{"stale_contact_days":"90"}`, status: 400, code: "invalid", want: map[string]any{"error.details.field": "stale_contact_days"}},
		{name: "key-account settings by an engineer", method: "GET", path: "/api/v1/settings/segmentation", as: "e1", status: 403, code: "forbidden"},

		{name: "contact", method: "POST", path: "/api/v1/accounts/{acct1}/contacts",
			body:   `{"name":"Wang Zong","title":"Plant director","department":"Management","role":"decision_maker","stance":"neutral","influence":5,"relationship":3}`,
			status: 201, capture: map[string]string{"gm": "id"},
			want: map[string]any{"account_id": "{acct1}", "role": "decision_maker", "stale": false, "days_since_contact": 0, "deals": length(0),
				"created_by": "kam1", "last_contact_at": absent, "reports_to": absent}},
		{name: "contact reporting to another", method: "POST", path: "/api/v1/accounts/{acct1}/contacts",
			body: `{"name":"Zhao Gong","title":"Deputy chief engineer","reports_to":"{gm}","role":"insider","stance":"supporter",` +
				`"influence":3,"relationship":4,"deals":[{"deal_id":"{neg}","stance":"supporter"}]}`,
			status: 201, capture: map[string]string{"chief": "id"}, header: map[string]string{"Location": "/api/v1/accounts/{acct1}/contacts/{chief}"},
			want: map[string]any{"reports_to": "{gm}", "deals.0.deal_id": "{neg}", "deals.0.stance": "supporter", "stance": "supporter"}},
		{name: "contact reporting to a stranger", method: "POST", path: "/api/v1/accounts/{acct1}/contacts", body: `{"name":"X","reports_to":"nope"}`,
			status: 400, code: "invalid", want: map[string]any{"error.details.field": "reports_to"}},
		{name: "contact on another account's deal", method: "POST", path: "/api/v1/accounts/{acct1}/contacts",
			body: `{"name":"X","deals":[{"deal_id":"{entry}"}]}`, status: 400, code: "invalid", want: map[string]any{"error.details.field": "deals"}},
		{name: "contact without a name", method: "POST", path: "/api/v1/accounts/{acct1}/contacts", body: `{"title":"Buyer"}`,
			status: 400, code: "invalid", want: map[string]any{"error.details.field": "name"}},
		{name: "contact with an unknown role", method: "POST", path: "/api/v1/accounts/{acct1}/contacts", body: `{"name":"X","role":"boss"}`,
			status: 400, code: "invalid", want: map[string]any{"error.details.field": "role"}},
		{name: "contact on another team's account", method: "POST", path: "/api/v1/accounts/{acct1}/contacts", as: "kam3",
			body: `{"name":"X"}`, status: 404, code: "not_found"},
		{name: "contact by an engineer", method: "POST", path: "/api/v1/accounts/{acct1}/contacts", as: "e1",
			body: `{"name":"X"}`, status: 403, code: "forbidden"},
		{name: "contact cycle", method: "PATCH", path: "/api/v1/accounts/{acct1}/contacts/{gm}", body: `{"reports_to":"{chief}"}`,
			status: 400, code: "invalid", want: map[string]any{"error.details.field": "reports_to", "error.details.cycle": length(3)}},
		{name: "contact stance on a deal", method: "PATCH", path: "/api/v1/accounts/{acct1}/contacts/{chief}",
			body: `{"title":"Chief engineer","deals":[{"deal_id":"{pause}","stance":"opponent"}]}`, status: 200,
			want: map[string]any{"title": "Chief engineer", "deals": length(2), "reports_to": "{gm}"}},
		{name: "contact under another account", method: "PATCH", path: "/api/v1/accounts/{acct2}/contacts/{chief}", body: `{"title":"x"}`,
			status: 404, code: "not_found"},
		{name: "unknown contact", method: "PATCH", path: "/api/v1/accounts/{acct1}/contacts/nope", body: `{"title":"x"}`, status: 404, code: "not_found"},
		// One buying center per account: the stakeholders recorded on acct1's deals (Chen Gong and
		// Liu Zong) are its contacts too, beside the two added by hand.
		{name: "contacts", method: "GET", path: "/api/v1/accounts/{acct1}/contacts", status: 200,
			want: map[string]any{"items": length(4), "items.0.name": "Chen Gong", "items.1.name": "Liu Zong", "items.2.name": "Wang Zong",
				"items.3.name": "Zhao Gong", "items.0.stakeholder_on.0.role": "insider", "items.1.stakeholder_on.0.role": "decision_maker",
				"items.2.stakeholder_on": absent, "stale_contact_days": 90}},
		{name: "contacts as the deal's engineer", method: "GET", path: "/api/v1/accounts/{acct1}/contacts", as: "e1", status: 200,
			want: map[string]any{"items": length(4)}},
		{name: "contacts bad stale", method: "GET", path: "/api/v1/accounts/{acct1}/contacts?stale=maybe", status: 400, code: "invalid",
			want: map[string]any{"error.details.field": "stale"}},

		{name: "interaction", method: "POST", path: "/api/v1/interactions",
			body: `{"account_id":"{acct1}","deal_id":"{neg}","contact_ids":["{gm}","{chief}"],"kind":"factory_visit",` +
				`"summary":"Visit to our Suzhou works","reaction":"positive","reaction_text":"Asked for the reference list"}`,
			status: 201, capture: map[string]string{"visit1": "id"},
			want: map[string]any{"at": "2026-04-11T09:00:00Z", "recorded_by": "kam1", "contact_ids": length(2), "kind": "factory_visit"}},
		{name: "interaction logged late", method: "POST", path: "/api/v1/interactions",
			body:   `{"account_id":"{acct1}","contact_ids":["{gm}"],"kind":"call","at":"2026-03-01T10:00:00+08:00","summary":"Budget call","reaction":"neutral"}`,
			status: 201, want: map[string]any{"at": "2026-03-01T02:00:00Z", "created_at": "2026-04-11T09:00:00Z", "deal_id": absent}},
		{name: "interaction in the future", method: "POST", path: "/api/v1/interactions",
			body:   `{"account_id":"{acct1}","kind":"call","at":"2026-04-12T09:00:00Z","summary":"x","reaction":"neutral"}`,
			status: 400, code: "invalid", want: map[string]any{"error.details.field": "at"}},
		{name: "interaction of an unknown kind", method: "POST", path: "/api/v1/interactions",
			body: `{"account_id":"{acct1}","kind":"lunch","summary":"x","reaction":"neutral"}`, status: 400, code: "invalid",
			want: map[string]any{"error.details.field": "kind"}},
		{name: "interaction with a stranger", method: "POST", path: "/api/v1/interactions",
			body: `{"account_id":"{acct1}","contact_ids":["nope"],"kind":"call","summary":"x","reaction":"neutral"}`, status: 400, code: "invalid",
			want: map[string]any{"error.details.field": "contact_ids"}},
		{name: "interaction on another account's deal", method: "POST", path: "/api/v1/interactions",
			body: `{"account_id":"{acct1}","deal_id":"{entry}","kind":"call","summary":"x","reaction":"neutral"}`, status: 400, code: "invalid",
			want: map[string]any{"error.details.field": "deal_id"}},
		{name: "interaction on another team's account", method: "POST", path: "/api/v1/interactions", as: "kam3",
			body: `{"account_id":"{acct1}","kind":"call","summary":"x","reaction":"neutral"}`, status: 400, code: "invalid",
			want: map[string]any{"error.details.field": "account_id"}},
		{name: "interaction by an engineer", method: "POST", path: "/api/v1/interactions", as: "e1",
			body: `{"account_id":"{acct1}","kind":"call","summary":"x","reaction":"neutral"}`, status: 403, code: "forbidden"},
		{name: "interaction moved the last contact", method: "GET", path: "/api/v1/accounts/{acct1}/contacts", status: 200,
			want: map[string]any{"items.2.last_contact_at": "2026-04-11T09:00:00Z", "items.3.last_contact_at": "2026-04-11T09:00:00Z",
				"items.0.last_contact_at": absent, "items.2.deals.0.deal_id": "{neg}", "items.2.deals.0.stance": absent}},
		{name: "contacts gone stale", method: "GET", path: "/api/v1/accounts/{acct1}/contacts?stale=true", status: 200,
			before: func(e *testEnv) { e.clock.Set(stale) }, after: func(e *testEnv) { e.clock.Set(T1) },
			want: map[string]any{"items": length(4), "items.0.stale": true, "items.0.days_since_contact": 90},
			check: func(t *testing.T, e *testEnv, r *response) {
				got, err := e.db.StaleKeyContacts(context.Background(), kamflow.StaleContactFilter{Now: stale, WithOpenDeals: true})
				if err != nil {
					t.Fatal(err)
				}
				// {neg} is won: of the two added by hand only the chief is linked to an open deal,
				// {pause}; the stakeholders' contacts are listed by the open deals they are on.
				chief := false
				for _, g := range got {
					switch {
					case g.Contact.ID == e.vars["gm"]:
						t.Errorf("the general manager is on no open deal: %+v", g)
					case g.Contact.ID == e.vars["chief"]:
						chief = slices.Equal(g.OpenDeals, []string{e.vars["pause"]}) && g.DaysSince == 90
					case len(g.OpenDeals) == 0 || len(g.Contact.StakeholderOn) == 0 || g.DaysSince != 90:
						t.Errorf("a stale key contact on no open deal, or not a stakeholder: %+v", g)
					}
				}
				if !chief {
					t.Errorf("stale key contacts with open deals %+v: want the chief's, on {pause}", got)
				}
			}},
		{name: "contacts not stale yet", method: "GET", path: "/api/v1/accounts/{acct1}/contacts?stale=true", status: 200,
			want: map[string]any{"items": length(0)}},

		{name: "account timeline", method: "GET", path: "/api/v1/accounts/{acct1}/timeline?limit=3", status: 200,
			want: map[string]any{"items": length(3), "limit": 3, "items.0.kind": "interaction", "items.0.interaction.id": "{visit1}",
				"items.0.interaction.reaction_text": "Asked for the reference list", "items.1.kind": "stage"},
			check: func(t *testing.T, e *testEnv, r *response) {
				if total, _ := lookup(r.json, "total"); total.(float64) < 10 {
					t.Errorf("timeline total %v: want the interactions and every stage move of acct1's deals", total)
				}
				if title, _ := lookup(r.json, "items.1.deal_title"); title == "" || title == nil {
					t.Errorf("a stage move without its deal's title: %s", r.body)
				}
			}},
		{name: "account timeline as the deal's engineer", method: "GET", path: "/api/v1/accounts/{acct1}/timeline?limit=200", as: "e1", status: 200,
			check: func(t *testing.T, e *testEnv, r *response) {
				items, _ := lookup(r.json, "items")
				var kinds []string
				for _, it := range items.([]any) {
					m := it.(map[string]any)
					switch m["kind"] {
					case "interaction":
						kinds = append(kinds, "interaction")
						if d, _ := lookup(m, "interaction.deal_id"); d != nil {
							t.Errorf("e1 sees an interaction about a deal not theirs: %v", m)
						}
					case "stage":
						if d, _ := lookup(m, "transition.deal_id"); d != e.vars["delivery"] {
							t.Errorf("e1 sees the stage history of %v", d)
						}
					}
				}
				if len(kinds) != 1 {
					t.Errorf("e1 sees %d interactions, want the call about no deal", len(kinds))
				}
			}},
		{name: "account timeline of another team", method: "GET", path: "/api/v1/accounts/{acct1}/timeline", as: "kam3", status: 404, code: "not_found"},

		{name: "lifecycle rung by hand", method: "PUT", path: "/api/v1/accounts/{acct1}/lifecycle",
			body: `{"rung":"supporter","reason":" Buys its analysers from us only "}`, status: 200,
			want: map[string]any{"lifecycle.rung": "supporter", "lifecycle.phase": "stability", "lifecycle.derived.rung": "repeat_buyer",
				"lifecycle.override.by": "kam1", "lifecycle.override.reason": "Buys its analysers from us only",
				"lifecycle.override.at": "2026-04-11T09:00:00Z", "lifecycle.override.phase": absent,
				"lifecycle_override.rung": "supporter"}},
		{name: "lifecycle phase by hand", method: "PUT", path: "/api/v1/accounts/{acct1}/lifecycle", as: "d1",
			body: `{"phase":"decline","reason":"The framework agreement went to Siemens"}`, status: 200,
			want: map[string]any{"lifecycle.phase": "decline", "lifecycle.rung": "repeat_buyer", "lifecycle.override.by": "d1",
				"lifecycle.marketing_mix.primary": "relationship", "lifecycle.marketing_mix.secondary": absent, "lifecycle.derived.phase": "stability"},
			contains: []string{"退化期以关系营销为主"}},
		{name: "accounts by the phase set by hand", method: "GET", path: "/api/v1/accounts?lifecycle=decline", status: 200,
			want: map[string]any{"total": 1, "items.0.id": "{acct1}", "items.0.phase": "decline"}},
		{name: "accounts by the derived phase under an override", method: "GET", path: "/api/v1/accounts?lifecycle=stability", status: 200,
			want: map[string]any{"total": 0}},
		{name: "lifecycle unknown phase", method: "PUT", path: "/api/v1/accounts/{acct1}/lifecycle", body: `{"phase":"retired","reason":"x"}`,
			status: 400, code: "invalid", want: map[string]any{"error.details.field": "phase"}},
		{name: "lifecycle without a reason", method: "PUT", path: "/api/v1/accounts/{acct1}/lifecycle", body: `{"rung":"partner"}`,
			status: 400, code: "invalid", want: map[string]any{"error.details.field": "reason"}},
		{name: "lifecycle of another team", method: "PUT", path: "/api/v1/accounts/{acct1}/lifecycle", as: "d2",
			body: `{"rung":"partner","reason":"x"}`, status: 404, code: "not_found"},
		{name: "lifecycle back to the record", method: "PUT", path: "/api/v1/accounts/{acct1}/lifecycle", body: `{"reason":"The agreement fell through"}`,
			status: 200, want: map[string]any{"lifecycle.phase": "stability", "lifecycle.override": absent, "lifecycle_override": absent}},

		{name: "handover by a KAM", method: "POST", path: "/api/v1/accounts/{acct1}/handover", body: `{"owner":"kam2","reason":"x"}`,
			status: 403, code: "forbidden"},
		{name: "handover to the owner", method: "POST", path: "/api/v1/accounts/{acct1}/handover", as: "d1", body: `{"owner":"kam1","reason":"x"}`,
			status: 400, code: "invalid", want: map[string]any{"error.details.field": "owner"}},
		{name: "handover to another team's KAM", method: "POST", path: "/api/v1/accounts/{acct1}/handover", as: "d1",
			body: `{"owner":"kam3","reason":"x"}`, status: 400, code: "invalid", want: map[string]any{"error.details.field": "owner"}},
		{name: "handover without a reason", method: "POST", path: "/api/v1/accounts/{acct1}/handover", as: "d1", body: `{"owner":"kam2"}`,
			status: 400, code: "invalid", want: map[string]any{"error.details.field": "reason"}},
		{name: "handover by another team's director", method: "POST", path: "/api/v1/accounts/{acct1}/handover", as: "d2",
			body: `{"owner":"kam2","reason":"x"}`, status: 404, code: "not_found"},
		{name: "handover", method: "POST", path: "/api/v1/accounts/{acct1}/handover", as: "d1",
			body: `{"owner":"kam2","reason":"kam1 moves to the export team"}`, status: 202,
			want: map[string]any{"account_id": "{acct1}", "from": "kam1", "to": "kam2", "by": "d1", "to_name": "kam2", "by_name": "d1", "status": "done",
				"refused": 0, "reason": "kam1 moves to the export team"},
			check: reassignedTo("kam1", "kam2")},
		{name: "handover read back", method: "GET", path: "/api/v1/accounts/{acct1}/handover", as: "kam2", status: 200,
			want: map[string]any{"from": "kam1", "to": "kam2", "status": "done", "refused": 0, "deals.0.status": "done", "message": absent}},
		{name: "handover read by another team's KAM", method: "GET", path: "/api/v1/accounts/{acct1}/handover", as: "kam3", status: 404, code: "not_found"},
		{name: "no handover yet", method: "GET", path: "/api/v1/accounts/{acct2}/handover", as: "kam2", status: 404, code: "not_found"},
		{name: "handed over: the new owner has the history", method: "GET", path: "/api/v1/accounts/{acct1}/contacts", as: "kam2", status: 200,
			want: map[string]any{"items": length(4)}},
		{name: "handed over: the owner", method: "GET", path: "/api/v1/accounts/{acct1}", as: "kam2", status: 200,
			want: map[string]any{"owner": "kam2", "account_team.1.owner": false, "account_team.2.owner": true}},
		{name: "handover on the audit trail", method: "GET", path: "/api/v1/audit?entity_type=account&entity_id={acct1}&limit=1", as: "d1", status: 200,
			want: map[string]any{"items.0.action": "account.handover", "items.0.actor": "d1", "items.0.before.owner": "kam1",
				"items.0.after.owner": "kam2", "items.0.after.reason": "kam1 moves to the export team"}},
		{name: "handover back: kam2's own deals, none of kam1's", method: "POST", path: "/api/v1/accounts/{acct1}/handover", as: "d1",
			body: `{"owner":"kam1","reason":"kam1 stays after all"}`, status: 202,
			want: map[string]any{"from": "kam2", "to": "kam1", "status": "done", "refused": 0}, check: reassignedTo("kam2", "kam1")},
		{name: "key-account writes on the audit trail", method: "GET", path: "/api/v1/audit?entity_type=account&entity_id={acct1}&limit=200", as: "d1", status: 200,
			check: func(t *testing.T, e *testEnv, r *response) {
				seen := map[string]int{}
				items, _ := lookup(r.json, "items")
				for _, it := range items.([]any) {
					seen[it.(map[string]any)["action"].(string)]++
				}
				// Two contacts by hand, two made from the stakeholders of the account's deals.
				for action, n := range map[string]int{"contact.create": 4, "contact.update": 1, "interaction.create": 2,
					"account.lifecycle": 3, "account.handover": 2} {
					if seen[action] != n {
						t.Errorf("%d %s entries, want %d (%v)", seen[action], action, n, seen)
					}
				}
			}},
	}
}

// refuseDeal makes the database refuse every change of the deal named by the variable (a trigger
// standing in for data the database can never accept); accept takes the trigger away again.
func refuseDeal(v string) func(e *testEnv) {
	return func(e *testEnv) {
		id := strings.ReplaceAll(e.vars[v], "'", "''")
		stmts := []string{`CREATE TRIGGER refuse_deal BEFORE UPDATE ON deals WHEN NEW.id = '` + id + `'
			BEGIN SELECT RAISE(ABORT, 'the test refuses this deal'); END`}
		if e.db.Dialect() == db.DialectPostgres {
			stmts = []string{`CREATE FUNCTION refuse_deal() RETURNS trigger LANGUAGE plpgsql AS $$
				BEGIN
					IF NEW.id = '` + id + `' THEN
						RAISE EXCEPTION 'the test refuses this deal' USING ERRCODE = 'check_violation';
					END IF;
					RETURN NEW;
				END $$`,
				`CREATE TRIGGER refuse_deal BEFORE UPDATE ON deals FOR EACH ROW EXECUTE FUNCTION refuse_deal()`}
		}
		for _, q := range stmts {
			if err := e.db.Gorm().Exec(q).Error; err != nil {
				e.t.Fatal(err)
			}
		}
	}
}

func acceptDeals(e *testEnv) {
	stmts := []string{`DROP TRIGGER refuse_deal`}
	if e.db.Dialect() == db.DialectPostgres {
		stmts = []string{`DROP TRIGGER refuse_deal ON deals`, `DROP FUNCTION refuse_deal()`}
	}
	for _, q := range stmts {
		if err := e.db.Gorm().Exec(q).Error; err != nil {
			e.t.Fatal(err)
		}
	}
}

// attentionScenarios: a deal whose change the database refuses needs attention — its KAM is told
// so, the admins see it listed with the error and are notified, it takes no command meanwhile,
// and no other deal is held up by it — until an admin, the cause fixed, retries: the change is
// written and the deal back to normal, and its timeline says so.
func attentionScenarios() []scenario {
	return []scenario{
		{name: "attention: a deal", method: "POST", path: "/api/v1/deals",
			body: `{"account_id":"{acct1}","title":"Flare gas recovery compressors","value":"3200000.00","currency":"CNY"}`, status: 201,
			capture: map[string]string{"att": "id"}},
		{name: "attention: the database refuses its change", method: "PUT", path: "/api/v1/deals/{att}/assessment", body: assessPass,
			before: refuseDeal("att"), status: 503, code: "unavailable", want: map[string]any{"error.details.attention": true},
			contains: []string{"needs attention"}},
		{name: "attention: listed for the admin", method: "GET", path: "/api/v1/admin/attention", as: "admin", status: 200,
			want: map[string]any{"items": length(1), "items.0.deal_id": "{att}", "items.0.title": "Flare gas recovery compressors",
				"items.0.owner": "kam1", "items.0.owner_name": "kam1", "items.0.reason": "refused", "items.0.pending": 1, "items.0.attempts": 0},
			contains: []string{"the test refuses this deal"}},
		{name: "attention: the admin is told", method: "GET", path: "/api/v1/notifications", as: "admin", status: 200,
			contains: []string{`"kind":"attention"`, `"deal_id":"{att}"`, "Flare gas recovery compressors"}},
		{name: "attention: not for a director", method: "GET", path: "/api/v1/admin/attention", as: "d1", status: 403, code: "forbidden"},
		{name: "attention: the deal takes no command meanwhile", method: "POST", path: "/api/v1/deals/{att}/stakeholders", body: insider,
			status: 503, code: "unavailable", want: map[string]any{"error.details.attention": true}},
		{name: "attention: another deal goes on", method: "POST", path: "/api/v1/deals",
			body: `{"account_id":"{acct1}","title":"Tank farm radar gauges","value":"900000.00","currency":"CNY"}`, status: 201,
			capture: map[string]string{"att2": "id"}},
		{name: "attention: another deal's change goes on", method: "PUT", path: "/api/v1/deals/{att2}/assessment", body: assessPass, status: 200,
			want: map[string]any{"gate.met": true}},
		{name: "attention: a retry before the cause is fixed", method: "POST", path: "/api/v1/deals/{att}/retry-projection", as: "admin",
			status: 503, code: "unavailable", want: map[string]any{"error.details.attention": true}},
		{name: "attention: the failed retry is counted", method: "GET", path: "/api/v1/admin/attention", as: "admin", status: 200,
			want: map[string]any{"items": length(1), "items.0.deal_id": "{att}", "items.0.attempts": 1}},
		{name: "attention: a retry by the KAM", method: "POST", path: "/api/v1/deals/{att}/retry-projection", status: 403, code: "forbidden"},
		{name: "attention: the retry once the cause is fixed", method: "POST", path: "/api/v1/deals/{att}/retry-projection", as: "admin",
			before: acceptDeals, status: 200, want: map[string]any{"id": "{att}", "gate.met": true, "assessment.passed": true}},
		{name: "attention: off the list", method: "GET", path: "/api/v1/admin/attention", as: "admin", status: 200,
			want: map[string]any{"items": length(0)}},
		{name: "attention: the change is stored", method: "GET", path: "/api/v1/deals/{att}", status: 200,
			want: map[string]any{"gate.met": true, "assessment.passed": true}},
		{name: "attention: on the deal's timeline", method: "GET", path: "/api/v1/deals/{att}/timeline", status: 200,
			contains: []string{`"action":"deal.attention_cleared"`, `"actor":"kamflow"`, `"action":"deal.assessment"`}},
		{name: "attention: the deal takes commands again", method: "POST", path: "/api/v1/deals/{att}/advance", status: 200,
			want: map[string]any{"stage": "entry"}},
		{name: "attention: a retry of a deal that needs none", method: "POST", path: "/api/v1/deals/{att}/retry-projection", as: "admin",
			status: 409, code: "conflict"},
		{name: "attention: a retry of no deal", method: "POST", path: "/api/v1/deals/no-such-deal/retry-projection", as: "admin",
			status: 404, code: "not_found"},
	}
}
