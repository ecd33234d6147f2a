package api_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/api"
	"github.com/kamflow/kamflow/db"
	"github.com/kamflow/kamflow/db/dbtest"
	"github.com/kamflow/kamflow/metrics"
)

// TestAttentionList: the admin lists the deals needing attention as the store has them, the oldest
// first, each with its title, its owner by name, the error, since when and how many changes wait;
// no one else may. The gauge of the deals needing attention is served at /metrics, to anyone.
func TestAttentionList(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, func(c *api.Config) { c.Metrics = metrics.New(d) })
		ctx := context.Background()
		acct := e.must(201, "POST", "/api/v1/accounts", "kam1", `{"name":"Sinopec Zhenhai"}`)["id"].(string)
		deal := e.must(201, "POST", "/api/v1/deals", "kam1", fmt.Sprintf(`{"account_id":%q,"title":"Boiler feed pumps","value":"1200000.00","currency":"CNY"}`, acct))["id"].(string)
		e.must(200, "PATCH", "/api/v1/users/"+e.users["kam1"].ID, "admin", `{"name":"李经理"}`)

		empty := e.must(200, "GET", "/api/v1/admin/attention", "admin", "")
		if items, _ := lookup(empty, "items"); fmt.Sprint(items) != "[]" {
			t.Fatalf("nothing needs attention: %v", empty)
		}
		// The deal needs attention since T0+1h; a deal whose very first change failed, since T0.
		if err := d.RecordAttention(ctx, kamflow.Attention{DealID: deal, Seq: 3, Pending: 2, Reason: kamflow.AttentionRefused,
			Error: "invalid: the database refused change 3: value too long", Since: T0.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if err := d.RecordAttention(ctx, kamflow.Attention{DealID: "deal-lost", Title: "Control valves", Owner: "kam3", Seq: 1, Pending: 1,
			Reason: kamflow.AttentionExhausted, Error: "db: connection refused", Since: T0}); err != nil {
			t.Fatal(err)
		}
		res := e.serve(request{method: "GET", path: "/api/v1/admin/attention", as: "admin"})
		if res.status != 200 {
			t.Fatalf("list: %d %s", res.status, res.body)
		}
		if err := api.CheckOpenAPI("GET", "/api/v1/admin/attention", nil, res.status, res.body); err != nil {
			t.Error(err)
		}
		for path, want := range map[string]any{
			"items.#":            nil,
			"items.0.deal_id":    "deal-lost",
			"items.0.title":      "Control valves",
			"items.0.owner":      "kam3",
			"items.0.owner_name": "kam3",
			"items.0.reason":     "exhausted",
			"items.0.since":      T0.Format(time.RFC3339),
			"items.1.deal_id":    deal,
			"items.1.title":      "Boiler feed pumps",
			"items.1.owner":      "kam1",
			"items.1.owner_name": "李经理",
			"items.1.seq":        float64(3),
			"items.1.pending":    float64(2),
			"items.1.attempts":   float64(0),
			"items.1.reason":     "refused",
			"items.1.error":      "invalid: the database refused change 3: value too long",
		} {
			if path == "items.#" {
				if items, _ := lookup(res.json, "items"); len(items.([]any)) != 2 {
					t.Errorf("items %v, want 2", items)
				}
				continue
			}
			if got, _ := lookup(res.json, path); got != want {
				t.Errorf("%s = %v, want %v", path, got, want)
			}
		}
		for _, u := range []string{"d1", "kam1", "e1"} {
			if got := e.serve(request{method: "GET", path: "/api/v1/admin/attention", as: u}); got.status != 403 {
				t.Errorf("as %s: %d, want 403", u, got.status)
			}
		}

		// The gauge reads the store at each scrape, no credentials needed.
		scrape := func() string {
			t.Helper()
			r := e.serve(request{method: "GET", path: "/metrics"})
			if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain") {
				t.Fatalf("GET /metrics: %d %s", r.status, r.header.Get("Content-Type"))
			}
			return string(r.body)
		}
		if body := scrape(); !strings.Contains(body, "kamflow_deals_needing_attention 2") {
			t.Errorf("metrics with 2 deals needing attention:\n%s", body)
		}
		if err := d.ClearAttention(ctx, "deal-lost", T0.Add(2*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if body := scrape(); !strings.Contains(body, "kamflow_deals_needing_attention 1") {
			t.Errorf("metrics after a deal is cleared:\n%s", body)
		}
	})
}

// retryService answers RetryProjection as it is told, and records how it was asked.
type retryService struct {
	kamflow.DealService
	mu     sync.Mutex
	calls  []string // deal, actor and request id of each call
	answer func(ctx context.Context, dealID string) (*kamflow.Deal, error)
}

func (s *retryService) RetryProjection(ctx context.Context, dealID string, by kamflow.Actor, requestID string) (*kamflow.Deal, error) {
	s.mu.Lock()
	s.calls = append(s.calls, dealID+" "+by.ID+"/"+string(by.Role)+" "+requestID)
	answer := s.answer
	s.mu.Unlock()
	return answer(ctx, dealID)
}

func (s *retryService) last() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.calls
	s.calls = nil
	return out
}

// TestRetryProjection maps the deal service's answers: the deal after its changes are written, a
// conflict for a deal that needs no attention, unavailable when the service does not answer in
// time; a deal neither listed nor stored is not found, without asking the service.
func TestRetryProjection(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		retry := &retryService{}
		e := newEnv(t, d, func(c *api.Config) {
			retry.DealService = c.Service
			c.Service = retry
			c.CommandTimeout = 200 * time.Millisecond
		})
		acct := e.must(201, "POST", "/api/v1/accounts", "kam1", `{"name":"Sinopec Zhenhai"}`)["id"].(string)
		deal := e.must(201, "POST", "/api/v1/deals", "kam1", fmt.Sprintf(`{"account_id":%q,"title":"Boiler feed pumps","value":"1200000.00","currency":"CNY"}`, acct))["id"].(string)
		path := "/api/v1/deals/" + deal + "/retry-projection"
		send := func(p, key string) *response {
			t.Helper()
			req := request{method: "POST", path: p, as: "admin"}
			if key != "" {
				req.headers = map[string]string{"Idempotency-Key": key}
			}
			res := e.serve(req)
			if err := api.CheckOpenAPI("POST", p, nil, res.status, res.body); err != nil {
				t.Error(err)
			}
			return res
		}

		// Written: the deal as it stands, asked as the admin with the admin's own request key.
		retry.answer = func(ctx context.Context, id string) (*kamflow.Deal, error) { return d.Deal(ctx, id) }
		res := send(path, "retry-1")
		if id, _ := lookup(res.json, "id"); res.status != 200 || id != deal {
			t.Fatalf("retry: %d %s", res.status, res.body)
		}
		if gate, _ := lookup(res.json, "gate.stage"); gate != "development" {
			t.Errorf("the answer is not the deal's view: %s", res.body)
		}
		if calls := retry.last(); len(calls) != 1 || calls[0] != deal+" admin/admin user-admin:retry-1" {
			t.Errorf("asked %q", calls)
		}

		// Needs no attention: the service's conflict.
		retry.answer = func(context.Context, string) (*kamflow.Deal, error) {
			return nil, kamflow.Errorf(kamflow.ECONFLICT, "deal needs no attention")
		}
		if res := send(path, ""); res.status != 409 {
			t.Errorf("needing none: %d %s", res.status, res.body)
		} else if code, _ := lookup(res.json, "error.code"); code != "conflict" {
			t.Errorf("needing none: %s", res.body)
		}

		// The service does not answer in time.
		retry.answer = func(ctx context.Context, _ string) (*kamflow.Deal, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		}
		if res := send(path, ""); res.status != 503 {
			t.Errorf("timed out: %d %s", res.status, res.body)
		}
		retry.last()

		// No such deal: 404, and the service is not asked.
		if res := send("/api/v1/deals/no-such-deal/retry-projection", ""); res.status != 404 {
			t.Errorf("no such deal: %d %s", res.status, res.body)
		}
		if calls := retry.last(); len(calls) != 0 {
			t.Errorf("asked for a deal that does not exist: %q", calls)
		}
		// A deal whose very first change failed is not stored, but listed: it is asked.
		if err := d.RecordAttention(context.Background(), kamflow.Attention{DealID: "deal-unborn", Title: "Control valves", Seq: 1,
			Pending: 1, Error: "invalid: refused", Since: T0}); err != nil {
			t.Fatal(err)
		}
		retry.answer = func(context.Context, string) (*kamflow.Deal, error) {
			return &kamflow.Deal{ID: "deal-unborn", Title: "Control valves", Currency: "CNY", Stage: kamflow.Development, Status: kamflow.StatusOpen}, nil
		}
		if res := send("/api/v1/deals/deal-unborn/retry-projection", ""); res.status != 200 {
			t.Errorf("unborn deal: %d %s", res.status, res.body)
		}
		if calls := retry.last(); len(calls) != 1 || !strings.HasPrefix(calls[0], "deal-unborn admin/admin") {
			t.Errorf("asked %q", calls)
		}

		// Only an admin retries.
		for _, u := range []string{"d1", "kam1", "e1"} {
			if res := e.serve(request{method: "POST", path: path, as: u}); res.status != 403 {
				t.Errorf("as %s: %d, want 403", u, res.status)
			}
		}
		if calls := retry.last(); len(calls) != 0 {
			t.Errorf("asked for others: %q", calls)
		}
	})
}
