package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
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
	deals      kamflow.DealStore
	deliveries kamflow.DeliveryStore
	settings   kamflow.SettingsStore
	notes      kamflow.NotificationStore
	now        func() time.Time

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
	return &fakeService{deals: d, deliveries: d, settings: d, notes: d, now: now,
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
	if err := s.deals.Project(ctx, kamflow.Projection{Deal: *d, Transition: created, Audit: kamflow.CreatedAudit(d)}); err != nil {
		return nil, err
	}
	return s.deals.Deal(ctx, d.ID)
}

// Execute is the deal workflow's Update: the validator (Deal.Check, which calls
// Actor.Authorize) decides on the deal as it stands, so a command the actor has no right to is
// refused even when it comes past the API; the handler applies it (Apply checks again) and
// projects the deal with the change's audit entry, as the workflow does.
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
	now := s.now().UTC()
	if !slices.Contains(kamflow.CommandKinds, cmd.Kind) {
		return nil, kamflow.Errorf(kamflow.EINVALID, "no update %q", cmd.Kind)
	}
	if err := d.Check(cmd, now, settings); err != nil { // the validator
		return nil, err
	}
	before := d.Clone()
	fx, err := d.Apply(cmd, now, settings)
	if err != nil {
		return nil, err
	}
	if before.Stage != kamflow.Delivery && d.Stage == kamflow.Delivery {
		d.DeliveryPlanned = true // as the workflow does when it starts the delivery
	}
	p := kamflow.Projection{Deal: *d, Transition: fx.Transition, Audit: kamflow.DealAudit(cmd, before, d, now)}
	if err := s.deals.Project(ctx, p); err != nil {
		return nil, err
	}
	if err := s.toDelivery(ctx, before, d, cmd, settings); err != nil {
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

// ApplyEscalation holds each deal to the settings with its team's SLA overrides, as the workflow
// does on the escalation signal.
func (s *fakeService) ApplyEscalation(ctx context.Context, settings kamflow.Settings, esc kamflow.Escalation, dealIDs []string) error {
	if err := s.failure(); err != nil {
		return err
	}
	for _, id := range dealIDs {
		d, err := s.deals.Deal(ctx, id)
		if kamflow.ErrorCode(err) == kamflow.ENOTFOUND {
			continue
		} else if err != nil {
			return err
		}
		if err := s.applySettings(ctx, esc.SettingsFor(settings, d.TeamID), id); err != nil {
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
	now := s.now().UTC()
	if !d.Active() || !d.SetStageSLA(settings, now) {
		return nil
	}
	return s.deals.Project(ctx, kamflow.Projection{Deal: *d,
		Audit: kamflow.SystemAudit("sla", fmt.Sprintf("SLA of the %s stage set to %s", d.Stage, d.StageSLA), d, now)})
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
		if err := s.deals.Project(ctx, kamflow.Projection{Deal: *d, Audit: kamflow.SystemAudit("resume", "resumed on the pause's resume date", d, now)}); err != nil {
			return err
		}
	}
	if !d.MarkStalled(now) {
		return nil
	}
	summary := fmt.Sprintf("stalled: no progress in the %s stage within its SLA of %s", d.Stage, d.StageSLA)
	if err := s.deals.Project(ctx, kamflow.Projection{Deal: *d, Audit: kamflow.SystemAudit("stalled", summary, d, now)}); err != nil {
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

// The test org: two sales teams, a director leading each, KAMs and engineers.
//
//	east  d1 (director), kam1, kam2 (KAMs), e1, e2 (engineers)
//	west  d2 (director), kam3 (KAM)
//	      admin
//
// e1 is the engineer the scenarios and the permission matrix assign to deals; e2 is never
// assigned to anything.
var org = []struct {
	username string
	role     kamflow.UserRole
	teams    []string
}{
	{"admin", kamflow.UserAdmin, nil},
	{"d1", kamflow.UserDirector, []string{"east"}},
	{"d2", kamflow.UserDirector, []string{"west"}},
	{"kam1", kamflow.UserKAM, []string{"east"}},
	{"kam2", kamflow.UserKAM, []string{"east"}},
	{"kam3", kamflow.UserKAM, []string{"west"}},
	{"e1", kamflow.UserEngineer, []string{"east"}},
	{"e2", kamflow.UserEngineer, []string{"east"}},
}

// testPassword is every test user's password.
const testPassword = "correct horse battery staple"

// passwordHash is testPassword hashed as the API hashes passwords. bcrypt at the API's cost takes
// about 100 ms, so it is computed once per test binary and shared by every user of every test.
var passwordHash = sync.OnceValue(func() string {
	h, err := api.HashPassword(testPassword)
	if err != nil {
		panic(err)
	}
	return h
})

// session is a signed-in user's credentials as POST /api/v1/auth/login answered them.
type session struct {
	token   string // the bearer token, also the session cookie's value
	csrf    string // the X-CSRF-Token of cookie-authenticated writes
	expires time.Time
}

// testEnv is an API server on a real database with the fake deal service, and the test org in
// it.
type testEnv struct {
	t       testing.TB
	db      *db.DB
	clock   *clock
	svc     *fakeService
	srv     *api.Server
	healthy error // what the health check answers
	mu      sync.Mutex
	// users are the org's users by username.
	users map[string]*kamflow.User
	// sessions are the signed-in users' credentials by username: each user signs in (through
	// the API) the first time a request is sent as them, and again once the test's clock has
	// moved past the session's end.
	sessions map[string]session
	// vars are the IDs created by the setup and captured by scenarios, by name; "{name}" in a
	// scenario's path, headers or body is replaced by the value.
	vars map[string]string
	// saved are responses kept by scenarios for later ones to compare with.
	saved map[string]*response
}

// envOption changes the API's configuration of a test environment.
type envOption func(*api.Config)

func newEnv(t testing.TB, d *db.DB, opts ...envOption) *testEnv {
	t.Helper()
	e := &testEnv{t: t, db: d, clock: &clock{t: T0}, users: map[string]*kamflow.User{}, sessions: map[string]session{},
		vars: map[string]string{}, saved: map[string]*response{}}
	e.svc = newFakeService(d, e.clock.Now)
	ids := &sequence{}
	cfg := api.Config{
		Accounts: d, Deals: d, Notifications: d, Settings: d, Idempotency: d, Users: d, Sessions: d, Audit: d,
		Service: e.svc, Reports: d, Escalations: d, Escalator: e.svc, Emails: d, Deliveries: d, Delivery: e.svc,
		Health: func(context.Context) error {
			e.mu.Lock()
			defer e.mu.Unlock()
			return e.healthy
		},
		Logger:         slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now:            e.clock.Now,
		NewID:          ids.Next,
		CommandTimeout: 30 * time.Second,
	}
	for _, o := range opts {
		o(&cfg)
	}
	e.srv = api.New(cfg)
	e.createOrg()
	return e
}

// createOrg stores the teams and users of the org, with real password hashes.
func (e *testEnv) createOrg() {
	e.t.Helper()
	ctx := context.Background()
	for _, id := range []string{"east", "west"} {
		if err := e.db.CreateTeam(ctx, &kamflow.Team{ID: id, Name: strings.ToUpper(id[:1]) + id[1:], CreatedAt: T0}); err != nil {
			e.t.Fatal(err)
		}
	}
	for _, o := range org {
		teams := o.teams
		if teams == nil {
			teams = []string{}
		}
		u := &kamflow.User{ID: "user-" + o.username, Username: o.username, Name: o.username, Role: o.role, Teams: teams,
			PasswordHash: passwordHash(), CreatedAt: T0, UpdatedAt: T0}
		if err := e.db.CreateUser(ctx, u); err != nil {
			e.t.Fatal(err)
		}
		e.users[o.username] = u
	}
}

// login signs the user in through POST /api/v1/auth/login and returns the new session.
func (e *testEnv) login(username string) session {
	e.t.Helper()
	body, _ := json.Marshal(map[string]string{"username": username, "password": testPassword})
	res := e.serve(request{method: "POST", path: "/api/v1/auth/login", body: string(body)})
	if res.status != http.StatusOK {
		e.t.Fatalf("login as %s: status %d: %s", username, res.status, res.body)
	}
	tok, _ := lookup(res.json, "token")
	csrf, _ := lookup(res.json, "csrf_token")
	exp, _ := lookup(res.json, "expires_at")
	s := session{token: fmt.Sprint(tok), csrf: fmt.Sprint(csrf)}
	s.expires, _ = time.Parse(time.RFC3339Nano, fmt.Sprint(exp))
	if s.token == "" || s.csrf == "" || s.expires.IsZero() {
		e.t.Fatalf("login as %s: no token: %s", username, res.body)
	}
	return s
}

// session returns the user's session, signing them in when they have none that is still valid
// by the test's clock.
func (e *testEnv) session(username string) session {
	e.mu.Lock()
	s, ok := e.sessions[username]
	e.mu.Unlock()
	if ok && e.clock.Now().Before(s.expires) {
		return s
	}
	e.t.Helper()
	if _, known := e.users[username]; !known {
		e.t.Fatalf("no test user %q", username)
	}
	s = e.login(username)
	e.mu.Lock()
	e.sessions[username] = s
	e.mu.Unlock()
	return s
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
	// as is the user the request is sent as, with their bearer token; "" sends no credentials.
	as string
	// headers are added to the request; Content-Type defaults to application/json when there is
	// a body, and a header with the value "-" is left out.
	headers map[string]string
	body    string
	// chunked sends the body without a Content-Length.
	chunked bool
	// remote is the client's address (host:port); httptest's 192.0.2.1:1234 when "".
	remote string
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
	if r.remote != "" {
		req.RemoteAddr = r.remote
	}
	if r.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if r.as != "" {
		req.Header.Set("Authorization", "Bearer "+e.session(r.as).token)
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

// must sends a request as the user ("" for none) that has to succeed with the given status and
// returns the decoded body.
func (e *testEnv) must(want int, method, path, as, body string) map[string]any {
	e.t.Helper()
	r := request{method: method, path: e.expand(path), body: e.expand(body), as: as}
	res := e.serve(r)
	if res.status != want {
		e.t.Fatalf("%s %s as %q: status %d, want %d: %s", method, r.path, as, res.status, want, res.body)
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

func (s *fakeService) MarkContact(ctx context.Context, dealID string, mark kamflow.ContactStaleInput, requestID string) (*kamflow.Deal, error) {
	cmd := kamflow.Command{Kind: kamflow.CmdContactStale, Actor: kamflow.Actor{ID: "kamflow", Role: kamflow.UserSystem}, ContactStale: &mark}
	return s.Execute(ctx, dealID, cmd, requestID)
}

func (s *fakeService) RetryProjection(ctx context.Context, dealID string, by kamflow.Actor, requestID string) (*kamflow.Deal, error) {
	return nil, kamflow.Errorf(kamflow.ECONFLICT, "deal %s needs no attention", dealID)
}
