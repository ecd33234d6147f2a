package api_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/api"
	"github.com/kamflow/kamflow/db/dbtest"
	"github.com/kamflow/kamflow/health"
	"github.com/kamflow/kamflow/internal/logtest"
	"github.com/kamflow/kamflow/requestid"
)

// of are the lines logged with the request ID.
func of(lines []map[string]any, id string) []map[string]any {
	var out []map[string]any
	for _, l := range lines {
		if l[requestid.LogKey] == id {
			out = append(out, l)
		}
	}
	return out
}

// idService records the request ID on the context of each deal created.
type idService struct {
	kamflow.DealService
	mu  sync.Mutex
	ids []string
}

func (s *idService) CreateDeal(ctx context.Context, d *kamflow.Deal, created *kamflow.StageTransition, st kamflow.Settings) (*kamflow.Deal, error) {
	s.mu.Lock()
	s.ids = append(s.ids, requestid.From(ctx))
	s.mu.Unlock()
	return s.DealService.CreateDeal(ctx, d, created, st)
}

// TestRequestLog: a request's X-Request-ID is answered and on its context (for the deal service,
// and so the workflows), and the request is logged once, with its method, route, status,
// duration, user and ID; an ID that is not safe to log is replaced by a new one, and none sent
// gets one. An internal error is on the request's line, not on a second one. Nothing logged
// holds a password, a token or a body.
func TestRequestLog(t *testing.T) {
	var sink logtest.Sink
	svc := &idService{}
	e := newEnv(t, dbtest.SQLite(t), func(c *api.Config) {
		c.Logger = slog.New(slog.NewJSONHandler(&sink, &slog.HandlerOptions{Level: slog.LevelDebug}))
		svc.DealService = c.Service
		c.Service = svc
	})
	token := e.session("kam1").token
	acct := e.must(201, "POST", "/api/v1/accounts", "kam1", `{"name":"Sinopec Zhenhai"}`)["id"].(string)
	body := fmt.Sprintf(`{"account_id":%q,"title":"Boiler feed pumps","value":"1200000.00","currency":"CNY"}`, acct)
	res := e.serve(request{method: "POST", path: "/api/v1/deals", as: "kam1", body: body, headers: map[string]string{requestid.Header: "abc"}})
	if res.status != 201 || res.header.Get(requestid.Header) != "abc" {
		t.Fatalf("POST /api/v1/deals with X-Request-ID abc: %d, X-Request-ID %q: %s", res.status, res.header.Get(requestid.Header), res.body)
	}
	if fmt.Sprint(svc.ids) != "[abc]" {
		t.Errorf("the deal service got request IDs %q, want [abc]", svc.ids)
	}

	for _, bad := range []string{"a b", strings.Repeat("x", requestid.MaxLen+1), "abc\"}", ""} {
		res := e.serve(request{method: "GET", path: "/api/v1/deals", as: "kam1", headers: map[string]string{requestid.Header: bad}})
		got := res.header.Get(requestid.Header)
		if res.status != 200 || got == bad || !requestid.Valid(got) {
			t.Errorf("X-Request-ID %q: %d, answered %q; want a new valid ID", bad, res.status, got)
		}
	}

	e.svc.setFail(errors.New("temporal: connection reset by peer"))
	res = e.serve(request{method: "POST", path: "/api/v1/deals", as: "kam1", body: body, headers: map[string]string{requestid.Header: "boom-1"}})
	if res.status != 500 || bytes.Contains(res.body, []byte("connection reset")) {
		t.Fatalf("a failing service: %d %s, want 500 without the detail", res.status, res.body)
	}

	raw, lines := sink.String(), sink.Lines(t)
	abc := of(lines, "abc")
	if len(abc) != 1 {
		t.Fatalf("%d lines with request_id abc, want the request's one: %v", len(abc), abc)
	}
	l := abc[0]
	for k, want := range map[string]any{"msg": "request", "level": "INFO", "method": "POST", "route": "/api/v1/deals",
		"path": "/api/v1/deals", "status": float64(201), "user": "kam1"} {
		if l[k] != want {
			t.Errorf("the request's line has %s=%v, want %v: %v", k, l[k], want, l)
		}
	}
	if d, ok := l["duration"].(float64); !ok || d <= 0 {
		t.Errorf("the request's line has duration %v, want a positive number (ns): %v", l["duration"], l)
	}
	boom := of(lines, "boom-1")
	if len(boom) != 1 || boom[0]["level"] != "ERROR" || boom[0]["status"] != float64(500) ||
		!strings.Contains(fmt.Sprint(boom[0]["err"]), "connection reset") {
		t.Errorf("the failed request's lines %v, want one ERROR line with status 500 and the error", boom)
	}
	var logins int
	for _, l := range lines {
		if l["route"] == "/api/v1/auth/login" {
			logins++
		}
	}
	if logins != 1 {
		t.Errorf("%d lines of sign-ins, want 1", logins)
	}
	for _, secret := range []string{testPassword, token, "Boiler feed pumps", "Sinopec"} {
		if strings.Contains(raw, secret) {
			t.Errorf("the log holds %q:\n%s", secret, raw)
		}
	}
}

// TestProbes: /livez asks nothing and answers while a dependency is down; /readyz, /healthz and
// /api/v1/healthz answer the checks, 503 once one fails.
func TestProbes(t *testing.T) {
	e := newEnv(t, dbtest.SQLite(t), func(c *api.Config) {
		c.Readiness = append(c.Readiness, healthCheck("database", nil))
	})
	for _, p := range []string{"/livez", "/readyz", "/healthz", "/api/v1/healthz"} {
		res := e.serve(request{method: "GET", path: p})
		if status, _ := lookup(res.json, "status"); res.status != 200 || status != "ok" {
			t.Errorf("GET %s: %d %s", p, res.status, res.body)
		}
	}
	if res := e.serve(request{method: "GET", path: "/readyz"}); !bytes.Contains(res.body, []byte(`"database":{"status":"ok"`)) {
		t.Errorf("GET /readyz does not report the database check: %s", res.body)
	}
	e.setHealth(errors.New("temporal: unavailable"))
	for _, p := range []string{"/readyz", "/healthz", "/api/v1/healthz"} {
		res := e.serve(request{method: "GET", path: p})
		code, _ := lookup(res.json, "error.code")
		dep, _ := lookup(res.json, "checks.dependencies.status")
		if res.status != 503 || code != "unavailable" || dep != "failing" {
			t.Errorf("GET %s with a dependency down: %d %s", p, res.status, res.body)
		}
	}
	if res := e.serve(request{method: "GET", path: "/livez"}); res.status != 200 {
		t.Errorf("GET /livez with a dependency down: %d %s", res.status, res.body)
	}
}

func healthCheck(name string, err error) health.Check {
	return health.Check{Name: name, Fn: func(context.Context) error { return err }}
}
