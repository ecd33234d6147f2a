package workflows_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/smtp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/activities"
	"github.com/kamflow/kamflow/workflows"
)

// The recorder is also the directory: team east is led by dir-a and dir-b (and dir-off, disabled,
// whom Directors leaves out as the database does); kam1 and dir-a have e-mail addresses.
var (
	teamDirectors = map[string][]string{"east": {"dir-a", "dir-b"}}
	userEmails    = map[string]string{"kam1": "kam1@example.com", "dir-a": "dir-a@example.com"}
)

func (r *recorder) Directors(_ context.Context, team string) ([]*kamflow.User, error) {
	var out []*kamflow.User
	for _, u := range teamDirectors[team] {
		out = append(out, &kamflow.User{ID: u, Username: u, Role: kamflow.UserDirector, Teams: []string{team}})
	}
	return out, nil
}

func (r *recorder) UserEmails(_ context.Context, names []string) (map[string]string, error) {
	out := map[string]string{}
	for _, n := range names {
		if e, ok := userEmails[n]; ok {
			out[n] = e
		}
	}
	return out, nil
}

func (r *recorder) SetUserEmail(context.Context, string, string) error { return nil }

// kinds counts the recorded in-app notifications by kind.
func (r *recorder) kinds() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]int{}
	for _, n := range r.notes {
		out[n.Kind]++
	}
	return out
}

func (r *recorder) escalatedTo() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, n := range r.notes {
		if n.Kind == kamflow.NoticeEscalated {
			out = append(out, n.UserID)
		}
	}
	return out
}

// hook is a webhook receiver that fails its first fail requests with 503, then answers 204. It
// checks every request's signature.
type hook struct {
	*httptest.Server
	secret string
	mu     sync.Mutex
	fail   int
	reqs   []hookRequest
}

type hookRequest struct {
	status   int
	delivery string
	event    string
	body     []byte
	sigErr   error
}

func newHook(t *testing.T, fail int) *hook {
	h := &hook{secret: "s3cret-东区", fail: fail}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		defer h.mu.Unlock()
		req := hookRequest{status: http.StatusNoContent, delivery: r.Header.Get(activities.HeaderDelivery),
			event: r.Header.Get(activities.HeaderEvent), body: body,
			sigErr: activities.VerifySignature(h.secret, r.Header.Get(activities.HeaderTimestamp),
				r.Header.Get(activities.HeaderSignature), body, time.Now(), 5*time.Minute)}
		if h.fail > 0 {
			h.fail--
			req.status = http.StatusServiceUnavailable
		}
		h.reqs = append(h.reqs, req)
		w.WriteHeader(req.status)
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hook) requests() []hookRequest {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.reqs)
}

// delivered lists the events delivered (answered 2xx), in order.
func (h *hook) delivered() []string {
	var out []string
	for _, r := range h.requests() {
		if r.status < 300 {
			out = append(out, r.event)
		}
	}
	return out
}

// mailbox records the e-mails the mailer sends.
type mailbox struct {
	mu   sync.Mutex
	sent []sentMail
}

type sentMail struct {
	to  []string
	msg string
}

func (m *mailbox) send(_ string, _ smtp.Auth, _ string, to []string, msg []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sent = append(m.sent, sentMail{to: to, msg: string(msg)})
	return nil
}

func (m *mailbox) recipients() [][]string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out [][]string
	for _, s := range m.sent {
		out = append(out, s.to)
	}
	return out
}

// newLadderHarness is newHarness with the escalation ladder esc (nil: the default) in the input
// and the activities given what configure sets (a webhook, a mailer).
func newLadderHarness(t *testing.T, s kamflow.Settings, esc *kamflow.Escalation, configure func(a *activities.Activities)) *harness {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(log.NewStructuredLogger(slog.New(slog.DiscardHandler)))
	env := suite.NewTestWorkflowEnvironment()
	env.SetStartTime(start)
	rec := &recorder{}
	env.RegisterWorkflowWithOptions(workflows.DealWorkflow, workflow.RegisterOptions{Name: workflows.DealWorkflowName})
	mockDelivery(env)
	a := &activities.Activities{Deals: rec, Notifications: rec}
	if configure != nil {
		configure(a)
	}
	env.RegisterActivity(a)
	d, created, err := kamflow.NewDeal("d1", kamflow.NewDealInput{
		AccountID: "a1", Title: "Boiler feed pumps for Line 3", Value: 120000000, Currency: "CNY", TeamID: "east",
	}, kamflow.Actor{ID: "kam1"}, start, s)
	if err != nil {
		t.Fatal(err)
	}
	return &harness{t: t, env: env, rec: rec, in: workflows.DealInput{Deal: *d, Settings: s, Created: created, Escalation: esc}}
}

func slaOf(st kamflow.Stage, d time.Duration) kamflow.Settings {
	s := kamflow.DefaultSettings()
	s.SLA[st] = kamflow.Duration(d)
	return s
}

// expect checks, at offset, the deal's stall and the notifications so far.
func (h *harness) expect(offset time.Duration, stalled bool, kam, directors int) {
	h.t.Helper()
	h.at(offset, func() {
		h.t.Helper()
		d := h.query()
		k := h.rec.kinds()
		if d.Stalled != stalled || k[kamflow.NoticeStalled] != kam || k[kamflow.NoticeEscalated] != directors {
			h.t.Errorf("at %s: stalled=%v, %d KAM and %d director notices; want stalled=%v, %d and %d",
				offset, d.Stalled, k[kamflow.NoticeStalled], k[kamflow.NoticeEscalated], stalled, kam, directors)
		}
	})
}

// TestEscalationLadder: past the SLA the deal stalls and its KAM is told; past twice the SLA the
// team's directors are told, in the app, by webhook and by e-mail. Stage work starts the ladder
// again from the bottom.
func TestEscalationLadder(t *testing.T) {
	wh := newHook(t, 0)
	mail := &mailbox{}
	h := newLadderHarness(t, slaOf(kamflow.Development, 48*time.Hour), nil, func(a *activities.Activities) {
		a.Webhook = &activities.Webhook{URL: wh.URL, Secret: wh.secret}
		a.Mail = &activities.Mailer{Addr: "smtp.example.com:587", From: "kamflow@example.com", Send: mail.send}
	})
	h.expect(47*time.Hour, false, 0, 0)
	h.expect(49*time.Hour, true, 1, 0)
	h.expect(95*time.Hour, true, 1, 0)
	h.expect(97*time.Hour, true, 1, 2)
	h.at(97*time.Hour+time.Minute, func() {
		if got := h.rec.escalatedTo(); !slices.Equal(got, []string{"dir-a", "dir-b"}) {
			t.Errorf("directors told: %v", got)
		}
		if got := wh.delivered(); !slices.Equal(got, []string{activities.EventStalled, activities.EventEscalated}) {
			t.Errorf("webhook events %v", got)
		}
		// The KAM's notice to kam1; the directors' to dir-a only (dir-b has no address).
		if got := mail.recipients(); len(got) != 2 || !slices.Equal(got[0], []string{"kam1@example.com"}) || !slices.Equal(got[1], []string{"dir-a@example.com"}) {
			t.Errorf("e-mails to %v", got)
		}
	})
	// Progress on day 4 (98h): the stall is lifted and both rungs start again from it.
	h.at(98*time.Hour, func() {})
	h.send(assess(4), func(d kamflow.Deal, err error) {
		if err != nil || d.Stalled {
			t.Errorf("after progress: stalled=%v err=%v", d.Stalled, err)
		}
	})
	p := 98*time.Hour + time.Minute
	h.expect(p+47*time.Hour, false, 1, 2)
	h.expect(p+49*time.Hour, true, 2, 2)
	h.expect(p+95*time.Hour, true, 2, 2)
	h.expect(p+97*time.Hour, true, 2, 4)
	h.ok(closeLost())
	h.run()
	h.finish()
	for _, r := range wh.requests() {
		if r.sigErr != nil {
			t.Errorf("webhook %s: %v", r.delivery, r.sigErr)
		}
	}
	if n := len(wh.delivered()); n != 4 {
		t.Errorf("%d webhook notices, want 4", n)
	}
}

// TestLadderPauseAndResume: a pause stops both clocks; the deal resumes by itself on its date and
// the rungs come as many unpaused days after the last progress as without the pause. A pause after
// the directors were told does not tell them again.
func TestLadderPauseAndResume(t *testing.T) {
	h := newLadderHarness(t, slaOf(kamflow.Development, 5*kamflow.Day), nil, nil)
	pause := func(until kamflow.Date) func() {
		return func() {
			h.env.UpdateWorkflow(string(kamflow.CmdPause), "", &testsuite.TestUpdateCallback{
				OnAccept: func() {}, OnReject: func(err error) { t.Error(err) }, OnComplete: func(any, error) {},
			}, kamflow.Command{Kind: kamflow.CmdPause, Actor: kam, Pause: &kamflow.PauseInput{Reason: "budget approval", ResumeOn: until}})
		}
	}
	// Day 2: paused until 2026-11-20 00:00, 17d15h after the start; 2 of the 5 days are used.
	h.at(2*kamflow.Day, pause("2026-11-20"))
	h.expect(17*kamflow.Day, false, 0, 0)
	resumed := 17*kamflow.Day + 15*time.Hour
	h.expect(resumed+3*kamflow.Day-time.Hour, false, 0, 0)
	h.expect(resumed+3*kamflow.Day+time.Hour, true, 1, 0) // 5 unpaused days
	h.expect(resumed+8*kamflow.Day-time.Hour, true, 1, 0)
	h.expect(resumed+8*kamflow.Day+time.Hour, true, 1, 2) // 10 unpaused days
	// Paused again after the directors were told, and resumed by hand four days later: the deal
	// stalls again at once (its unpaused time is past the SLA), the KAM is told again, the
	// directors are not.
	h.at(27*kamflow.Day, pause("2026-12-20"))
	h.expect(28*kamflow.Day, false, 1, 2)
	h.at(31*kamflow.Day, func() {})
	h.ok(kamflow.Command{Kind: kamflow.CmdResume, Actor: kam})
	h.expect(31*kamflow.Day+time.Hour, true, 2, 2)
	h.expect(40*kamflow.Day, true, 2, 2)
	h.ok(closeLost())
	h.run()
	h.finish()
}

// TestLadderChangeReachesDealsInFlight: a new SLA and director's rung signalled to a running deal
// apply at once, both ways: a shorter ladder climbs both rungs at once, a longer one lifts the
// stall and starts the ladder again.
func TestLadderChangeReachesDealsInFlight(t *testing.T) {
	h := newLadderHarness(t, kamflow.DefaultSettings(), nil, nil) // development SLA 30 days
	signal := func(sla time.Duration, after float64) func() {
		return func() {
			u := workflows.SettingsUpdate{Settings: slaOf(kamflow.Development, sla)}
			if after > 0 {
				u.Escalation.Stages = map[kamflow.Stage]kamflow.StageEscalation{kamflow.Development: {DirectorAfter: after}}
			}
			h.env.SignalWorkflow(workflows.EscalationSignal, u)
		}
	}
	h.expect(3*kamflow.Day-time.Hour, false, 0, 0)
	h.at(3*kamflow.Day, signal(2*kamflow.Day, 1.25)) // stalls at 2 days, directors at 2.5: both past
	h.expect(3*kamflow.Day+time.Hour, true, 1, 2)
	h.at(4*kamflow.Day, signal(10*kamflow.Day, 0)) // SLA 10 days, directors at 20: both ahead
	h.expect(4*kamflow.Day+time.Hour, false, 1, 2)
	h.at(4*kamflow.Day+2*time.Hour, func() {
		if d := h.query(); d.StageSLA != kamflow.Duration(10*kamflow.Day) {
			t.Errorf("SLA %s, want 10d", d.StageSLA)
		}
	})
	h.expect(10*kamflow.Day-time.Hour, false, 1, 2)
	h.expect(10*kamflow.Day+time.Hour, true, 2, 2)
	h.expect(20*kamflow.Day-time.Hour, true, 2, 2)
	h.expect(20*kamflow.Day+time.Hour, true, 2, 4)
	// A director's rung raised past now while stalled: the directors may be told again later.
	h.at(21*kamflow.Day, signal(10*kamflow.Day, 3))
	h.expect(30*kamflow.Day-time.Hour, true, 2, 4)
	h.expect(30*kamflow.Day+time.Hour, true, 2, 6)
	h.ok(closeLost())
	h.run()
	h.finish()
}

// TestTeamOverride: the deal's team overrides the SLA and the director's rung of its stage; the
// deal starts with its team's SLA.
func TestTeamOverride(t *testing.T) {
	esc := &kamflow.Escalation{Teams: map[string]map[kamflow.Stage]kamflow.TeamEscalation{
		"east": {kamflow.Development: {SLA: kamflow.Duration(kamflow.Day), DirectorAfter: 3}},
		"west": {kamflow.Development: {SLA: kamflow.Duration(time.Hour)}},
	}}
	h := newLadderHarness(t, kamflow.DefaultSettings(), esc, nil)
	h.at(time.Minute, func() {
		if got := h.rec.projections[0].Deal.StageSLA; got != kamflow.Duration(kamflow.Day) {
			t.Errorf("the deal was first projected with SLA %s, want its team's 1d", got)
		}
	})
	h.expect(23*time.Hour, false, 0, 0)
	h.expect(25*time.Hour, true, 1, 0)
	h.expect(71*time.Hour, true, 1, 0)
	h.expect(73*time.Hour, true, 1, 2)
	h.ok(closeLost())
	h.run()
	h.finish()
}

// TestWebhookRetriedUntilDeliveredAndSigned: a receiver that fails keeps getting the notice, the
// same body under the same delivery id and each time freshly signed, until it takes it; and the
// deal's workflow, though the deal is closed meanwhile, ends only once the notice is delivered.
func TestWebhookRetriedUntilDeliveredAndSigned(t *testing.T) {
	wh := newHook(t, 5)
	h := newLadderHarness(t, slaOf(kamflow.Development, time.Hour), nil, func(a *activities.Activities) {
		a.Webhook = &activities.Webhook{URL: wh.URL, Secret: wh.secret}
	})
	h.at(time.Hour+time.Second, func() {}) // stalled; the first attempt fails
	h.ok(closeLost())                      // closed while the receiver is still failing
	h.run()
	h.finish()
	reqs := wh.requests()
	if len(reqs) != 6 {
		t.Fatalf("%d webhook requests, want 5 failed and 1 delivered", len(reqs))
	}
	for i, r := range reqs {
		if r.sigErr != nil {
			t.Errorf("request %d: %v", i, r.sigErr)
		}
		if string(r.body) != string(reqs[0].body) || r.delivery != reqs[0].delivery || r.event != activities.EventStalled {
			t.Errorf("request %d differs: %s %s %s", i, r.delivery, r.event, r.body)
		}
	}
	if reqs[5].status != http.StatusNoContent {
		t.Errorf("last request answered %d", reqs[5].status)
	}
	var n activities.Notice
	if err := json.Unmarshal(reqs[0].body, &n); err != nil {
		t.Fatal(err)
	}
	if n.ID != reqs[0].delivery || n.DealID != "d1" || n.Level != "kam" || !slices.Equal(n.Recipients, []string{"kam1"}) ||
		n.Stage != kamflow.Development || n.SLA != kamflow.Duration(time.Hour) || !strings.Contains(n.Message, "Boiler feed pumps") {
		t.Errorf("notice %+v", n)
	}
	// A body changed on the way (or a wrong secret) does not verify.
	if err := activities.VerifySignature(wh.secret, "1", "v1=00", reqs[0].body, time.Unix(1, 0), time.Minute); !errors.Is(err, activities.ErrBadSignature) {
		t.Errorf("forged signature: %v", err)
	}
}

// TestContinueAsNewCarriesTheLadder: the ladder's state and the notices not yet delivered go on
// into the next run. (The test framework stops retrying an activity after 10 attempts, where the
// server retries for ever; so here the run continues as new while the webhook is still being
// retried.)
func TestContinueAsNewCarriesTheLadder(t *testing.T) {
	wh := newHook(t, 1_000_000) // never takes anything
	esc := &kamflow.Escalation{Stages: map[kamflow.Stage]kamflow.StageEscalation{kamflow.Development: {DirectorAfter: 1}}}
	h := newLadderHarness(t, slaOf(kamflow.Development, time.Hour), esc, func(a *activities.Activities) {
		a.Webhook = &activities.Webhook{URL: wh.URL, Secret: wh.secret}
	})
	h.in.MaxUpdatesPerRun = 3 // the stall, and two assignments
	h.expect(time.Hour+time.Second, true, 1, 2)
	for _, e := range [][]string{{"eng1"}, {"eng1", "eng2"}} {
		h.ok(kamflow.Command{Kind: kamflow.CmdAssignEngineers, Actor: kam, Engineers: e})
	}
	h.run()
	var can *workflow.ContinueAsNewError
	if err := h.env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("workflow ended with %v, want continue-as-new", err)
	}
	var next workflows.DealInput
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	if next.Ladder == nil || next.Ladder.DirectorsToldAt == nil || !next.Ladder.DirectorsToldAt.Equal(start.Add(time.Hour)) {
		t.Errorf("ladder carried: %+v", next.Ladder)
	}
	if next.Escalation == nil || next.Escalation.DirectorAfter("east", kamflow.Development) != 1 || !next.Deal.Stalled {
		t.Errorf("escalation %+v, stalled %v", next.Escalation, next.Deal.Stalled)
	}
	var keys []string
	for _, d := range next.Outbound {
		keys = append(keys, d.Key())
	}
	// The e-mails went (there is no mailer: nothing to send); the webhooks are still owed.
	if len(keys) != 2 || !strings.HasPrefix(keys[0], "webhook:stalled:d1:") || !strings.HasPrefix(keys[1], "webhook:escalated:d1:") {
		t.Errorf("deliveries carried: %v", keys)
	}
	if n := len(wh.requests()); n < 4 {
		t.Errorf("%d webhook attempts before continuing as new", n)
	}
}
