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
// workflows do on Temporal: each deal's state is the domain's kamflow.DealState, fed one input at
// a time under the deal's lock (the workflow's one queue), each input checked first (the Update
// validator) and its effects run on the stores before Execute returns. A retried request ID is
// answered with the first result instead of being applied again (Temporal's Update ID); a refused
// input changes nothing, as a rejected Update leaves no trace in the history. The rules are the
// domain's alone: this double only runs the effects, as the workflow's activities would.
type fakeService struct {
	deals      kamflow.DealStore
	deliveries kamflow.DeliveryStore
	settings   kamflow.SettingsStore
	notes      kamflow.NotificationStore
	directory  kamflow.Directory
	attention  kamflow.AttentionStore
	now        func() time.Time

	mu      sync.Mutex
	locks   map[string]*sync.Mutex
	states  map[string]*kamflow.DealState // the deals' workflows, by deal ID
	done    map[string]kamflow.Deal       // dealID + "\n" + requestID → the deal after the input
	applied map[string]int                // dealID → accepted commands
	// outbound are the notices the deals sent by webhook and e-mail, in order.
	outbound []kamflow.Notice

	// fanouts are the settings fan-outs running, one at a time under fanoutMu (fanout_fake_test.go).
	fanouts  sync.WaitGroup
	fanoutMu sync.Mutex

	// fail, when set, is returned by the next call of the service instead of doing anything:
	// a Temporal outage, a timeout.
	fail error
}

var _ kamflow.DealService = (*fakeService)(nil)

func newFakeService(d *db.DB, now func() time.Time) *fakeService {
	return &fakeService{deals: d, deliveries: d, settings: d, notes: d, directory: d, attention: d, now: now,
		locks: map[string]*sync.Mutex{}, states: map[string]*kamflow.DealState{}, done: map[string]kamflow.Deal{}, applied: map[string]int{}}
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

// state is the deal's workflow state; the caller holds the deal's lock. A deal the test stored
// without the service (as an import or a seed would) has its workflow from its stored state, with
// the settings and ladder in force, as a running workflow would hold them.
func (s *fakeService) state(ctx context.Context, id string) (*kamflow.DealState, error) {
	s.mu.Lock()
	st := s.states[id]
	s.mu.Unlock()
	if st != nil {
		return st, nil
	}
	d, err := s.deals.Deal(ctx, id)
	if kamflow.ErrorCode(err) == kamflow.ENOTFOUND {
		return nil, kamflow.Errorf(kamflow.ENOTFOUND, "deal %s is not running", id)
	} else if err != nil {
		return nil, err
	}
	v, err := s.settings.VersionedSettings(ctx)
	if err != nil {
		return nil, err
	}
	st = &kamflow.DealState{Deal: *d, Settings: v.Settings, Escalation: v.Escalation, SettingsVersion: v.Version, DeliveryStarted: d.DeliveryPlanned}
	s.mu.Lock()
	s.states[id] = st
	s.mu.Unlock()
	return st, nil
}

func (s *fakeService) CreateDeal(ctx context.Context, d *kamflow.Deal, created *kamflow.StageTransition, settings kamflow.Settings) (*kamflow.Deal, error) {
	if err := s.failure(); err != nil {
		return nil, err
	}
	defer s.lock(d.ID)()
	// Temporal rejects a second workflow with the deal's ID (REJECT_DUPLICATE).
	if _, err := s.state(ctx, d.ID); err == nil {
		return nil, kamflow.Errorf(kamflow.ECONFLICT, "deal %s exists already", d.ID)
	} else if kamflow.ErrorCode(err) != kamflow.ENOTFOUND {
		return nil, err
	}
	v, err := s.settings.VersionedSettings(ctx) // as engine.Client reads them for a new deal
	if err != nil {
		return nil, err
	}
	st, fx := kamflow.OpenDeal(*d, created, v.Settings, v.Escalation)
	st.SettingsVersion = v.Version
	s.mu.Lock()
	s.states[d.ID] = st
	s.mu.Unlock()
	if err := s.run(ctx, st, fx); err != nil {
		return nil, err
	}
	if st.Attention != nil {
		return nil, st.AttentionError()
	}
	return st.Deal.Clone(), nil
}

// Execute is the deal workflow's Update of the command's kind.
func (s *fakeService) Execute(ctx context.Context, dealID string, cmd kamflow.Command, requestID string) (*kamflow.Deal, error) {
	if !slices.Contains(kamflow.CommandKinds, cmd.Kind) {
		return nil, kamflow.Errorf(kamflow.EINVALID, "no update %q", cmd.Kind)
	}
	d, err := s.input(ctx, dealID, kamflow.DealEvent{Kind: kamflow.EvCommand, Command: &cmd}, requestID)
	if err == nil {
		s.mu.Lock()
		s.applied[dealID]++
		s.mu.Unlock()
	}
	return d, err
}

// MarkContact is kamflow's own stale-contact Update.
func (s *fakeService) MarkContact(ctx context.Context, dealID string, mark kamflow.ContactStaleInput, requestID string) (*kamflow.Deal, error) {
	return s.input(ctx, dealID, kamflow.DealEvent{Kind: kamflow.EvContact, Contact: &mark}, requestID)
}

// RetryProjection is the admin's retry Update.
func (s *fakeService) RetryProjection(ctx context.Context, dealID string, by kamflow.Actor, requestID string) (*kamflow.Deal, error) {
	return s.input(ctx, dealID, kamflow.DealEvent{Kind: kamflow.EvRetry, By: &by}, requestID)
}

// input is one Update: validated, taken, its effects run, answered with the deal once written.
func (s *fakeService) input(ctx context.Context, dealID string, ev kamflow.DealEvent, requestID string) (*kamflow.Deal, error) {
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
	st, err := s.state(ctx, dealID)
	if err != nil {
		return nil, err
	}
	if err := s.take(ctx, st, ev); err != nil {
		return nil, err
	}
	if st.Attention != nil {
		return nil, st.AttentionError()
	}
	d := st.Deal.Clone()
	if requestID != "" {
		s.mu.Lock()
		s.done[key] = *d
		s.mu.Unlock()
	}
	return d, nil
}

// take checks and handles one input on a deal whose lock the caller holds, and runs its effects.
func (s *fakeService) take(ctx context.Context, st *kamflow.DealState, ev kamflow.DealEvent) error {
	now := s.now().UTC()
	if err := st.Check(ev, now); err != nil { // the validator
		return err
	}
	fx, err := st.Handle(ev, now)
	if err != nil {
		return err
	}
	return s.run(ctx, st, fx)
}

// run runs a deal's effects on the stores, in order, as the workflow's activities do. A
// projection the store refuses puts the deal in attention, as in the workflow.
func (s *fakeService) run(ctx context.Context, st *kamflow.DealState, fx []kamflow.DealEffect) error {
	now := s.now().UTC()
	failed := func(err error) string {
		if kamflow.ErrorCode(err) == kamflow.EINVALID {
			return kamflow.AttentionRefused
		}
		return kamflow.AttentionExhausted
	}
	for _, e := range fx {
		var err error
		switch e.Kind {
		case kamflow.FxProject:
			if perr := s.deals.Project(ctx, *e.Projection); perr != nil {
				err = s.run(ctx, st, []kamflow.DealEffect{st.ProjectionFailed(*e.Projection, perr.Error(), failed(perr), now)})
			}
		case kamflow.FxProjectHeld:
			for len(st.Held) > 0 {
				if perr := s.deals.Project(ctx, st.Held[0]); perr != nil {
					err = s.run(ctx, st, []kamflow.DealEffect{st.HoldFailed(perr.Error(), failed(perr), now)})
					break
				}
				if done := st.HeldWritten(); done != nil {
					err = s.run(ctx, st, []kamflow.DealEffect{*done})
				}
			}
		case kamflow.FxRecordAttention:
			err = s.attention.RecordAttention(ctx, *e.Attention)
		case kamflow.FxClearAttention:
			err = s.attention.ClearAttention(ctx, st.Deal.ID, now)
		case kamflow.FxNotify:
			err = s.notes.Notify(ctx, e.Notifications)
		case kamflow.FxOutbound:
			s.mu.Lock()
			s.outbound = append(s.outbound, *e.Notice)
			s.mu.Unlock()
		case kamflow.FxTellDirectors:
			// What activities.NotifyDirectors does: each enabled director of the team told in the app.
			var dirs []*kamflow.User
			if dirs, err = s.directory.Directors(ctx, e.Directors.TeamID); err == nil {
				var ns []kamflow.Notification
				var n kamflow.Notice
				kind := e.Directors.Kind
				if kind == "" {
					kind = kamflow.NoticeEscalated
				}
				if e.Notice != nil {
					n = *e.Notice
				}
				for _, u := range dirs {
					ns = append(ns, kamflow.Notification{UserID: u.Username, DealID: e.Directors.DealID, Kind: kind,
						Key: e.Directors.Key + ":" + u.Username, Params: e.Directors.Params, Message: e.Directors.Message, CreatedAt: e.Directors.At})
					n.Recipients = append(n.Recipients, u.Username)
				}
				if err = s.notes.Notify(ctx, ns); err == nil && e.Notice != nil {
					s.mu.Lock()
					s.outbound = append(s.outbound, n)
					s.mu.Unlock()
				}
			}
		case kamflow.FxStartDelivery:
			p := *e.Plan
			p.Seq = 1
			err = s.deliveries.ProjectDelivery(ctx, &p)
		case kamflow.FxProjectClosed:
			err = s.closeProject(ctx, st.Deal.ID, e.At)
		case kamflow.FxDealChanged:
			// The delivery double reads the deal from the store: nothing to tell it.
		}
		if err != nil {
			return fmt.Errorf("deal %s: %s: %w", st.Deal.ID, e.Kind, err)
		}
	}
	return nil
}

// signal gives a deal whose lock the caller holds one of kamflow's own inputs (a signal): the
// delivery plan's acceptance or hold. An input the deal refuses is dropped, as the workflow does.
func (s *fakeService) signal(ctx context.Context, dealID string, ev kamflow.DealEvent) error {
	st, err := s.state(ctx, dealID)
	if err != nil {
		return err
	}
	if err := s.take(ctx, st, ev); err != nil && kamflow.ErrorCode(err) == kamflow.EINTERNAL {
		return err
	}
	return nil
}

// ApplyEscalation is the escalation signal to each deal.
func (s *fakeService) ApplyEscalation(ctx context.Context, v kamflow.VersionedSettings, dealIDs []string) error {
	for _, id := range dealIDs {
		err := func() error {
			defer s.lock(id)()
			return s.signal(ctx, id, kamflow.DealEvent{Kind: kamflow.EvSettings, Settings: &v.Settings, Escalation: &v.Escalation, SettingsVersion: v.Version})
		}()
		if kamflow.ErrorCode(err) == kamflow.ENOTFOUND {
			continue // ended meanwhile
		} else if err != nil {
			return err
		}
	}
	return nil
}

// runTimers fires every open deal's timer at the current time, as the workflows' timers do.
func (s *fakeService) runTimers(ctx context.Context) error {
	ids, err := s.deals.ActiveDealIDs(ctx, "")
	if err != nil {
		return err
	}
	for _, id := range ids {
		err := func() error {
			defer s.lock(id)()
			return s.signal(ctx, id, kamflow.DealEvent{Kind: kamflow.EvTimer})
		}()
		if err != nil {
			return err
		}
	}
	return nil
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
		Service: e.svc, Import: e.svc, Reports: d, Escalations: d, Fanout: e.svc, Handover: e.svc, Emails: d, Deliveries: d, Delivery: e.svc,
		Health: func(context.Context) error {
			e.mu.Lock()
			defer e.mu.Unlock()
			return e.healthy
		},
		Logger:         slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now:            e.clock.Now,
		NewID:          ids.Next,
		CommandTimeout: 30 * time.Second,
		// A settings change answers once its fan-out (in process) is done, however slow the machine.
		FanoutWait: 10 * time.Second,
		Blobs:      testBlobs(t), // files_test.go
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

// closeProject tells the deal's delivery double that the project closed, as the deal workflow's
// signal does: the plan starts its service cadence.
func (s *fakeService) closeProject(ctx context.Context, dealID string, at time.Time) error {
	p, err := s.deliveries.DeliveryPlan(ctx, dealID)
	if kamflow.ErrorCode(err) == kamflow.ENOTFOUND {
		return nil
	} else if err != nil {
		return err
	}
	p.CloseProject(at)
	return s.deliveries.ProjectDelivery(ctx, p)
}
