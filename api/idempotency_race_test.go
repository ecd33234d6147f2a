package api_test

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/api"
	"github.com/kamflow/kamflow/db"
	"github.com/kamflow/kamflow/db/dbtest"
)

// replayedOrInProgress checks the answers to one request sent many times at once with one
// Idempotency-Key: each is the first answer (the same status and body) or 409 in_progress with a
// Retry-After, never anything else; and at least one is an answer.
func replayedOrInProgress(t *testing.T, what string, want int, res []*response) *response {
	t.Helper()
	var first *response
	for i, r := range res {
		switch {
		case r.status == want && first == nil:
			first = r
		case r.status == want && bytes.Equal(r.body, first.body):
		case r.status == 409 && field(r, "error.code") == "in_progress" && r.header.Get("Retry-After") != "":
		default:
			t.Errorf("%s %d: %d %s (Retry-After %q), want %d as the first answer or 409 in_progress", what, i, r.status, r.body, r.header.Get("Retry-After"), want)
		}
	}
	if first == nil {
		t.Fatalf("%s: no answer %d among %d requests", what, want, len(res))
	}
	return first
}

func keyed(r request, key string) request {
	r.headers = map[string]string{"Idempotency-Key": key}
	return r
}

func times(n int, r request) []request {
	out := make([]request, n)
	for i := range out {
		out[i] = r
	}
	return out
}

// TestIdempotencyRace sends the same request with the same Idempotency-Key many times at once, as
// a client retrying on a timeout does: the change is made once, and every answer is the first one
// or 409 in_progress; once the first is done, a retry replays it.
func TestIdempotencyRace(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.clock.Set(T1)
		e.vars["acct"] = e.must(201, "POST", "/api/v1/accounts", "kam1", `{"name":"Race Steel"}`)["id"].(string)
		deal := e.must(201, "POST", "/api/v1/deals", "kam1", `{"account_id":"{acct}","title":"Race","currency":"CNY"}`)["id"].(string)

		r := keyed(request{method: "POST", path: "/api/v1/deals/" + deal + "/stakeholders", as: "kam1", body: insider}, "race-1")
		first := replayedOrInProgress(t, "stakeholder", 200, e.parallel(t, times(8, r)...))
		if got := e.svc.Applied(deal); got != 1 {
			t.Errorf("the command was applied %d times, want once", got)
		}
		if after := e.must(200, "GET", "/api/v1/deals/"+deal, "kam1", ""); after["seq"] != float64(2) || len(after["stakeholders"].([]any)) != 1 {
			t.Errorf("after the race: seq %v, stakeholders %v", after["seq"], after["stakeholders"])
		}
		if again := e.serve(r); again.status != 200 || !bytes.Equal(again.body, first.body) || again.header.Get("Idempotent-Replayed") != "true" {
			t.Errorf("retry after the race: %d %s", again.status, again.body)
		}

		body := `{"account_id":"{acct}","title":"Raced deal","currency":"CNY","owner":"kam2"}`
		r = keyed(request{method: "POST", path: "/api/v1/deals", as: "kam1", body: body}, "race-2")
		replayedOrInProgress(t, "create", 201, e.parallel(t, times(8, r)...))
		if l := e.must(200, "GET", "/api/v1/deals?owner=kam2", "kam1", ""); l["total"] != float64(1) {
			t.Errorf("racing creates made %v deals, want 1", l["total"])
		}

		// A write that is no deal command: one account, however many retries race.
		r = keyed(request{method: "POST", path: "/api/v1/accounts", as: "kam1", body: `{"name":"Once Only Ltd"}`}, "race-3")
		replayedOrInProgress(t, "account", 201, e.parallel(t, times(8, r)...))
		if l := e.must(200, "GET", "/api/v1/accounts?q=once+only", "kam1", ""); l["total"] != float64(1) {
			t.Errorf("racing account creates made %v accounts, want 1", l["total"])
		}

		// A refused request is not kept: its retry is tried again.
		r = keyed(request{method: "POST", path: "/api/v1/deals/" + deal + "/advance", as: "kam1", body: `{}`}, "race-4")
		for i, res := range e.parallel(t, times(4, r)...) {
			if res.status != 409 || (field(res, "error.code") != "gate_not_met" && field(res, "error.code") != "in_progress") {
				t.Errorf("refused advance %d: %d %s", i, res.status, res.body)
			}
		}
		if res := e.serve(r); res.status != 409 || field(res, "error.code") != "gate_not_met" {
			t.Errorf("refused advance retried: %d %s", res.status, res.body)
		}
	})
}

// temporalCreates answers a deal creation as Temporal does: a second start of a workflow ID
// whose first start is still running fails at once (WORKFLOW_ID_CONFLICT_POLICY_FAIL), before
// the first one's deal is written.
type temporalCreates struct {
	kamflow.DealService
	mu       sync.Mutex
	starting map[string]bool
}

func (s *temporalCreates) CreateDeal(ctx context.Context, d *kamflow.Deal, created *kamflow.StageTransition, settings kamflow.Settings) (*kamflow.Deal, error) {
	s.mu.Lock()
	if s.starting[d.ID] {
		s.mu.Unlock()
		return nil, kamflow.Errorf(kamflow.ECONFLICT, "workflow deal-%s already started", d.ID)
	}
	s.starting[d.ID] = true
	s.mu.Unlock()
	time.Sleep(50 * time.Millisecond) // the start and the first projection
	out, err := s.DealService.CreateDeal(ctx, d, created, settings)
	if err != nil {
		s.mu.Lock()
		delete(s.starting, d.ID)
		s.mu.Unlock()
	}
	return out, err
}

// TestIdempotentCreateRace: retries of one deal creation racing the first, on a deal service that
// refuses a second start while the first runs, are never answered 404 for the deal being created.
func TestIdempotentCreateRace(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		var svc *temporalCreates
		e := newEnv(t, d, func(c *api.Config) {
			svc = &temporalCreates{DealService: c.Service, starting: map[string]bool{}}
			c.Service = svc
		})
		e.clock.Set(T1)
		e.vars["acct"] = e.must(201, "POST", "/api/v1/accounts", "kam1", `{"name":"Create Race Steel"}`)["id"].(string)
		r := keyed(request{method: "POST", path: "/api/v1/deals", as: "kam1", body: `{"account_id":"{acct}","title":"Raced","currency":"CNY"}`}, "create-race")
		first := replayedOrInProgress(t, "create", 201, e.parallel(t, times(10, r)...))
		if again := e.serve(keyed(request{method: "POST", path: "/api/v1/deals", as: "kam1", body: e.expand(r.body)}, "create-race")); again.status != 201 || !bytes.Equal(again.body, first.body) {
			t.Errorf("retry after the race: %d %s", again.status, again.body)
		}
		if l := e.must(200, "GET", "/api/v1/deals?account_id={acct}", "kam1", ""); l["total"] != float64(1) {
			t.Errorf("racing creates made %v deals, want 1", l["total"])
		}

		// A retry that finds the deal's workflow started by an attempt that failed meanwhile (no
		// answer kept) and its deal not yet written waits for it, or is 409 in_progress: never 404.
		svc.mu.Lock()
		svc.starting = map[string]bool{}
		svc.mu.Unlock()
		r2 := keyed(request{method: "POST", path: "/api/v1/deals", as: "kam1", body: e.expand(`{"account_id":"{acct}","title":"Started elsewhere","currency":"CNY"}`)}, "create-started")
		id := api.DealIDForKey("user-kam1:create-started")
		svc.mu.Lock()
		svc.starting[id] = true // a start of that ID is under way, from an attempt whose answer was lost
		svc.mu.Unlock()
		res := e.serve(r2)
		if res.status != 409 || field(res, "error.code") != "in_progress" || res.header.Get("Retry-After") == "" {
			t.Errorf("create whose workflow is starting: %d %s", res.status, res.body)
		}
	})
}

// TestIdempotencyFingerprint: the same key with the same body to another query is a different
// request: a dry run's answer is not replayed for the real import.
func TestIdempotencyFingerprint(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.clock.Set(T1)
		body, ct := multipartFile("a.csv", []byte("name,industry\nFingerprint Steel,steel\n"))
		send := func(query string) *response {
			return e.serve(request{method: "POST", path: "/api/v1/imports?" + query, as: "kam1", body: body,
				headers: map[string]string{"Content-Type": ct, "Idempotency-Key": "upload-1"}})
		}
		if r := send("kind=accounts&dry_run=true"); r.status != 201 || field(r, "dry_run") != "true" {
			t.Fatalf("dry run: %d %s", r.status, r.body)
		}
		if r := send("kind=accounts&dry_run=true"); r.status != 201 || r.header.Get("Idempotent-Replayed") != "true" {
			t.Errorf("the dry run again: %d %s, want its answer replayed", r.status, r.body)
		}
		r := send("kind=accounts&dry_run=false")
		if r.status != 409 || field(r, "error.code") != "conflict" || r.header.Get("Idempotent-Replayed") != "" {
			t.Errorf("the real run with the dry run's key: %d %s, want 409 conflict", r.status, r.body)
		}
	})
}
