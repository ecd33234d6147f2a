package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/api"
	"github.com/kamflow/kamflow/db"
	"github.com/kamflow/kamflow/db/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// fakeService implements kamflow.DealService in process on the real stores, the way the deal
// workflows do on Temporal: one lock per deal (the workflow's mutex), the command applied to the
// deal as stored with the settings in force, the result projected before Execute returns, and a
// retried request ID answered with the first result instead of being applied again (Temporal's
// Update ID). A rejected command is not recorded, so it changes nothing and a retry is checked
// again, as a rejected Update leaves no trace in the history.
type fakeService struct {
	deals    kamflow.DealStore
	settings kamflow.SettingsStore
	notes    kamflow.NotificationStore
	now      func() time.Time

	mu      sync.Mutex
	locks   map[string]*sync.Mutex
	done    map[string]kamflow.Deal // dealID + "\n" + requestID → the deal after the command
	applied map[string]int          // dealID → accepted commands

	// fail, when set, is returned by the next call of the service instead of doing anything:
	// a Temporal outage, a timeout.
	fail error
}

var _ kamflow.DealService = (*fakeService)(nil)

func newFakeService(d *db.DB, now func() time.Time) *fakeService {
	return &fakeService{deals: d, settings: d, notes: d, now: now,
		locks: map[string]*sync.Mutex{}, done: map[string]kamflow.Deal{}, applied: map[string]int{}}
}

// lock takes the deal's lock and returns its unlock.
func (s *fakeService) lock(id string) func() {
	s.mu.Lock()
	l := s.locks[id]
	if l == nil {
		l = &sync.Mutex{}
		s.locks[id] = l
	}
	s.mu.Unlock()
	l.Lock()
	return l.Unlock
}

func (s *fakeService) failure() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.fail
	s.fail = nil
	return err
}

func (s *fakeService) setFail(err error) {
	s.mu.Lock()
	s.fail = err
	s.mu.Unlock()
}

// Applied reports how many commands were accepted on the deal.
func (s *fakeService) Applied(id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.applied[id]
}

func (s *fakeService) CreateDeal(ctx context.Context, d *kamflow.Deal, created *kamflow.StageTransition, _ kamflow.Settings) (*kamflow.Deal, error) {
	if err := s.failure(); err != nil {
		return nil, err
	}
	defer s.lock(d.ID)()
	// Temporal rejects a second workflow with the deal's ID (REJECT_DUPLICATE).
	if _, err := s.deals.Deal(ctx, d.ID); err == nil {
		return nil, kamflow.Errorf(kamflow.ECONFLICT, "deal %s exists already", d.ID)
	} else if kamflow.ErrorCode(err) != kamflow.ENOTFOUND {
		return nil, err
	}
	if err := s.deals.Project(ctx, kamflow.Projection{Deal: *d, Transition: created}); err != nil {
		return nil, err
	}
	return s.deals.Deal(ctx, d.ID)
}

func (s *fakeService) Execute(ctx context.Context, dealID string, cmd kamflow.Command, requestID string) (*kamflow.Deal, error) {
	if err := s.failure(); err != nil {
		return nil, err
	}
	defer s.lock(dealID)()
	key := dealID + "\n" + requestID
	if requestID != "" {
		s.mu.Lock()
		d, ok := s.done[key]
		s.mu.Unlock()
		if ok {
			return &d, nil
		}
	}
	d, err := s.deals.Deal(ctx, dealID)
	if kamflow.ErrorCode(err) == kamflow.ENOTFOUND {
		return nil, kamflow.Errorf(kamflow.ENOTFOUND, "deal %s is not running", dealID)
	} else if err != nil {
		return nil, err
	}
	settings, err := s.settings.Settings(ctx)
	if err != nil {
		return nil, err
	}
	fx, err := d.Apply(cmd, s.now().UTC(), settings)
	if err != nil {
		return nil, err
	}
	if err := s.deals.Project(ctx, kamflow.Projection{Deal: *d, Transition: fx.Transition}); err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.applied[dealID]++
	if requestID != "" {
		s.done[key] = *d
	}
	s.mu.Unlock()
	return d, nil
}

func (s *fakeService) ApplySettings(ctx context.Context, settings kamflow.Settings, dealIDs []string) error {
	if err := s.failure(); err != nil {
		return err
	}
	for _, id := range dealIDs {
		if err := s.applySettings(ctx, settings, id); err != nil {
			return fmt.Errorf("deal %s: %w", id, err)
		}
	}
	return nil
}

func (s *fakeService) applySettings(ctx context.Context, settings kamflow.Settings, id string) error {
	defer s.lock(id)()
	d, err := s.deals.Deal(ctx, id)
	if kamflow.ErrorCode(err) == kamflow.ENOTFOUND {
		return nil // ended meanwhile
	} else if err != nil {
		return err
	}
	if !d.Active() || !d.SetStageSLA(settings, s.now().UTC()) {
		return nil
	}
	return s.deals.Project(ctx, kamflow.Projection{Deal: *d})
}

// runTimers does what the deal workflows' timers do at the current time: resume the deals whose
// resume date has come and mark stalled (and tell the owner of) those past their stage's SLA.
func (s *fakeService) runTimers(ctx context.Context) error {
	ids, err := s.deals.ActiveDealIDs(ctx, "")
	if err != nil {
		return err
	}
	for _, id := range ids {
		if err := s.timer(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

func (s *fakeService) timer(ctx context.Context, id string) error {
	defer s.lock(id)()
	d, err := s.deals.Deal(ctx, id)
	if err != nil {
		return err
	}
	now := s.now().UTC()
	if d.ResumeDue(now) {
		if err := s.deals.Project(ctx, kamflow.Projection{Deal: *d}); err != nil {
			return err
		}
	}
	if !d.MarkStalled(now) {
		return nil
	}
	if err := s.deals.Project(ctx, kamflow.Projection{Deal: *d}); err != nil {
		return err
	}
	return s.notes.Notify(ctx, []kamflow.Notification{{
		UserID: d.Owner, DealID: d.ID, Kind: "stalled", Key: fmt.Sprintf("stalled:%s:%d", d.ID, d.Seq),
		Message:   fmt.Sprintf("%s has made no progress in the %s stage within its SLA of %s", d.Title, d.Stage, d.StageSLA),
		CreatedAt: now,
	}})
}

// clock is the fixed clock of a test; it moves only when told.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// sequence hands out deterministic IDs: id-0001, id-0002, …
type sequence struct {
	mu sync.Mutex
	n  int
}

func (s *sequence) Next() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	return fmt.Sprintf("id-%04d", s.n)
}

// T0 is when the tests' world begins.
var T0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// testEnv is an API server on a real database with the fake deal service.
type testEnv struct {
	t       testing.TB
	db      *db.DB
	clock   *clock
	svc     *fakeService
	srv     *api.Server
	healthy error // what the health check answers
	mu      sync.Mutex
	// vars are the IDs created by the setup and captured by scenarios, by name; "{name}" in a
	// scenario's path, headers or body is replaced by the value.
	vars map[string]string
	// saved are responses kept by scenarios for later ones to compare with.
	saved map[string]*response
}

func newEnv(t testing.TB, d *db.DB) *testEnv {
	e := &testEnv{t: t, db: d, clock: &clock{t: T0}, vars: map[string]string{}, saved: map[string]*response{}}
	e.svc = newFakeService(d, e.clock.Now)
	ids := &sequence{}
	e.srv = api.New(api.Config{
		Accounts: d, Deals: d, Notifications: d, Settings: d, Idempotency: d, Service: e.svc,
		Health: func(context.Context) error {
			e.mu.Lock()
			defer e.mu.Unlock()
			return e.healthy
		},
		Logger:         slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now:            e.clock.Now,
		NewID:          ids.Next,
		CommandTimeout: 30 * time.Second,
	})
	return e
}

func (e *testEnv) setHealth(err error) {
	e.mu.Lock()
	e.healthy = err
	e.mu.Unlock()
}

// expand replaces "{name}" by the variable's value.
func (e *testEnv) expand(s string) string {
	if !strings.Contains(s, "{") {
		return s
	}
	pairs := make([]string, 0, 2*len(e.vars))
	for k, v := range e.vars {
		pairs = append(pairs, "{"+k+"}", v)
	}
	return strings.NewReplacer(pairs...).Replace(s)
}

// response is what a request got back.
type response struct {
	status int
	header http.Header
	body   []byte
	json   any // the decoded body; nil when it is not JSON
}

// request is one HTTP request to the server.
type request struct {
	method string
	path   string
	// headers are added to the request; Content-Type defaults to application/json when there is
	// a body, and a header with the value "-" is left out.
	headers map[string]string
	body    string
	// chunked sends the body without a Content-Length.
	chunked bool
}

func (e *testEnv) serve(r request) *response {
	var body io.Reader
	if r.body != "" {
		body = strings.NewReader(r.body)
		if r.chunked {
			body = io.MultiReader(body) // hides the length
		}
	}
	req := httptest.NewRequest(r.method, r.path, body)
	if r.chunked {
		req.ContentLength = -1
	}
	if r.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range r.headers {
		if v == "-" {
			req.Header.Del(k)
			continue
		}
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	e.srv.ServeHTTP(rec, req)
	res := &response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
	var v any
	if json.Unmarshal(res.body, &v) == nil {
		res.json = v
	}
	return res
}

// must sends a request that has to succeed with the given status and returns the decoded body.
func (e *testEnv) must(want int, method, path, user, body string) map[string]any {
	e.t.Helper()
	r := request{method: method, path: e.expand(path), body: e.expand(body), headers: map[string]string{}}
	if user != "" {
		r.headers["X-Kamflow-User"] = user
	}
	res := e.serve(r)
	if res.status != want {
		e.t.Fatalf("%s %s: status %d, want %d: %s", method, r.path, res.status, want, res.body)
	}
	m, _ := res.json.(map[string]any)
	return m
}

// lookup walks a dotted path ("gate.items.0.key") through decoded JSON.
func lookup(v any, path string) (any, bool) {
	if path == "" || path == "." {
		return v, true
	}
	for _, part := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = x[part]; !ok {
				return nil, false
			}
		case []any:
			var i int
			if _, err := fmt.Sscanf(part, "%d", &i); err != nil || i < 0 || i >= len(x) {
				return nil, false
			}
			v = x[i]
		default:
			return nil, false
		}
	}
	return v, true
}
