package activities_test

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"net/mail"
	"net/smtp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/activities"
)

// digestStore stands in for the database in the digest's tests: the deals, the notifications
// (each key stored once, as the database does), the directors and their addresses.
type digestStore struct {
	kamflow.DealStore // only StalledDeals and Deals are used
	mu                sync.Mutex
	deals             []*kamflow.Deal
	directors         []*kamflow.User
	emails            map[string]string
	notes             []kamflow.Notification
	// pageSize is the most deals one Deals call returns, to make the activity page through.
	pageSize int
}

func (s *digestStore) StalledDeals(_ context.Context, viewer *kamflow.Actor) ([]*kamflow.Deal, error) {
	var out []*kamflow.Deal
	for _, d := range s.deals {
		if d.Stalled && d.Active() && viewer.CanSeeDeal(d) {
			out = append(out, d)
		}
	}
	return out, nil
}

func (s *digestStore) Deals(_ context.Context, f kamflow.DealFilter) ([]*kamflow.Deal, int, error) {
	var all []*kamflow.Deal
	for _, d := range s.deals {
		if d.Stage == f.Stage && d.Status == f.Status && f.Viewer.CanSeeDeal(d) {
			all = append(all, d)
		}
	}
	limit := min(f.Limit, s.pageSize)
	if f.Offset >= len(all) {
		return nil, len(all), nil
	}
	return all[f.Offset:min(f.Offset+limit, len(all))], len(all), nil
}

func (s *digestStore) Notify(_ context.Context, n []kamflow.Notification) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, x := range n {
		if !slices.ContainsFunc(s.notes, func(y kamflow.Notification) bool { return y.Key == x.Key }) {
			s.notes = append(s.notes, x)
		}
	}
	return nil
}

func (s *digestStore) Notifications(context.Context, string, int) ([]kamflow.Notification, error) {
	return s.notes, nil
}

func (s *digestStore) EnabledDirectors(context.Context) ([]*kamflow.User, error) {
	return s.directors, nil
}

func (s *digestStore) Directors(context.Context, string) ([]*kamflow.User, error) { return nil, nil }

func (s *digestStore) UserEmails(_ context.Context, names []string) (map[string]string, error) {
	out := map[string]string{}
	for _, n := range names {
		if e, ok := s.emails[n]; ok {
			out[n] = e
		}
	}
	return out, nil
}

func (s *digestStore) SetUserEmail(context.Context, string, string) error { return nil }

func (s *digestStore) Escalation(context.Context) (kamflow.Escalation, error) {
	return kamflow.Escalation{}, nil
}

func (s *digestStore) SaveEscalation(context.Context, kamflow.Escalation, ...*kamflow.AuditEntry) error {
	return nil
}

// newDigestStore has the directors a (east) and b (west, north) with addresses, c (east) without
// one, d (south: nothing there) and e (no team); east has a stalled deal and three approvals
// waiting, west a stalled deal, north a deal that is fine.
func newDigestStore() *digestStore {
	since := at.Add(-3 * kamflow.Day)
	deal := func(id, team string, st kamflow.Stage) *kamflow.Deal {
		return &kamflow.Deal{ID: id, Title: "Deal " + id, Owner: "kam1", TeamID: team, Stage: st, Status: kamflow.StatusOpen,
			Currency: "CNY", Value: 100_000_00, StageSLA: kamflow.Duration(10 * kamflow.Day),
			LastProgressAt: at.Add(-13 * kamflow.Day), StageEnteredAt: at.Add(-13 * kamflow.Day), UpdatedAt: at.Add(-kamflow.Day)}
	}
	stalled := func(d *kamflow.Deal) *kamflow.Deal {
		d.Stalled, d.StalledSince = true, &since
		return d
	}
	low := deal("east-bid", "east", kamflow.Bid)
	low.Bid = &kamflow.BidWork{MarginPct: 11, Floor: 15}
	return &digestStore{
		pageSize: 1,
		deals: []*kamflow.Deal{
			stalled(deal("east-stalled", "east", kamflow.Entry)), low,
			deal("east-contract-1", "east", kamflow.Negotiation), deal("east-contract-2", "east", kamflow.Negotiation),
			stalled(deal("west-stalled", "west", kamflow.Proposal)), deal("north-fine", "north", kamflow.Proposal),
		},
		directors: []*kamflow.User{
			{Username: "dir-a", Name: "王总", Role: kamflow.UserDirector, Teams: []string{"east"}},
			{Username: "dir-b", Role: kamflow.UserDirector, Teams: []string{"west", "north"}},
			{Username: "dir-c", Role: kamflow.UserDirector, Teams: []string{"east"}},
			{Username: "dir-d", Role: kamflow.UserDirector, Teams: []string{"south"}},
			{Username: "dir-e", Role: kamflow.UserDirector},
		},
		emails: map[string]string{"dir-a": "a@example.com", "dir-b": "b@example.com", "dir-d": "d@example.com"},
	}
}

// sentMail keeps the messages a Mailer sends; fail makes the sending to an address fail.
type sentMail struct {
	mu   sync.Mutex
	msgs map[string][]string // by recipient
	fail map[string]bool
}

func (m *sentMail) send(_ string, _ smtp.Auth, _ string, to []string, msg []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range to {
		if m.fail[r] {
			return errors.New("550 mailbox unavailable")
		}
	}
	for _, r := range to {
		m.msgs[r] = append(m.msgs[r], string(msg))
	}
	return nil
}

func digestActivities(s *digestStore, m *sentMail) *activities.Activities {
	return &activities.Activities{Deals: s, Notifications: s, Now: func() time.Time { return at },
		Mail: &activities.Mailer{Addr: "smtp.example.com:25", From: "kamflow@example.com", Send: m.send}}
}

func runDigests(t *testing.T, env *testsuite.TestActivityEnvironment, a *activities.Activities, run activities.DigestRun) (activities.DigestResult, error) {
	t.Helper()
	v, err := env.ExecuteActivity(a.SendDigests, run)
	var res activities.DigestResult
	if err == nil {
		if err := v.Get(&res); err != nil {
			t.Fatal(err)
		}
	}
	return res, err
}

// TestSendDigests: every director with something stalled or waiting in their teams gets one
// in-app digest, keyed by date and username, and an e-mail when they have an address; the others
// get nothing. A second run of the same date stores nothing twice.
func TestSendDigests(t *testing.T) {
	s := newDigestStore()
	m := &sentMail{msgs: map[string][]string{}}
	a := digestActivities(s, m)
	run := activities.DigestRun{Date: "2026-11-02", Location: "Asia/Shanghai"}
	res, err := runDigests(t, activityEnv(t, a), a, run)
	if err != nil {
		t.Fatal(err)
	}
	if res.Date != run.Date || res.Directors != 5 || !slices.Equal(res.Digests, []string{"dir-a", "dir-b", "dir-c"}) ||
		!slices.Equal(res.Emailed, []string{"dir-a", "dir-b"}) {
		t.Fatalf("result %+v", res)
	}
	if len(s.notes) != 3 {
		t.Fatalf("notifications %+v", s.notes)
	}
	n := s.notes[0]
	if n.UserID != "dir-a" || n.Kind != kamflow.NoticeDigest || n.Key != "digest:2026-11-02:dir-a" || n.DealID != "" || !n.CreatedAt.Equal(at) ||
		n.Message != "每日简报 2026-11-02：1 个停滞商机，3 个待审批 / Daily digest 2026-11-02: 1 stalled deal, 3 approvals waiting" {
		t.Errorf("dir-a's notification %+v", n)
	}
	if s.notes[1].Message != "每日简报 2026-11-02：1 个停滞商机，0 个待审批 / Daily digest 2026-11-02: 1 stalled deal, 0 approvals waiting" {
		t.Errorf("dir-b's notification %+v", s.notes[1])
	}
	if len(m.msgs) != 2 || len(m.msgs["a@example.com"]) != 1 || len(m.msgs["b@example.com"]) != 1 {
		t.Fatalf("e-mails %v", m.msgs)
	}
	msg, err := mail.ReadMessage(strings.NewReader(m.msgs["a@example.com"][0]))
	if err != nil {
		t.Fatal(err)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil || subject != "[kamflow] "+n.Message {
		t.Errorf("subject %q %v", subject, err)
	}
	if msg.Header.Get("Message-ID") != "<digest.2026-11-02.dir-a@kamflow>" || msg.Header.Get("To") != "a@example.com" {
		t.Errorf("headers %v", msg.Header)
	}
	raw, _ := io.ReadAll(msg.Body)
	body, err := base64.StdEncoding.DecodeString(strings.ReplaceAll(string(raw), "\r\n", ""))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"王总，您好：\r\n", "1. Deal east-stalled — 销售进入阶段；", "停滞自 2026-10-30", "Hello 王总,\r\n",
		"1. Deal east-bid — bid stage; margin 11% below the 15% floor", "3. Deal east-contract-2 — negotiation stage; contract approval"} {
		if !strings.Contains(string(body), s) {
			t.Errorf("the e-mail lacks %q:\n%s", s, body)
		}
	}
	if strings.Contains(strings.ReplaceAll(string(body), "\r\n", ""), "\n") {
		t.Error("a bare LF in the e-mail's body")
	}

	// The same date again (a second run): the in-app digests are not stored twice.
	if _, err := runDigests(t, activityEnv(t, a), a, run); err != nil {
		t.Fatal(err)
	}
	if len(s.notes) != 3 {
		t.Errorf("after a second run: %d notifications", len(s.notes))
	}
}

// TestSendDigestsResumes: a director whose digest fails does not hold up the others; the attempt
// fails at the end, and the retry, from the heartbeat, does only what failed.
func TestSendDigestsResumes(t *testing.T) {
	s := newDigestStore()
	m := &sentMail{msgs: map[string][]string{}, fail: map[string]bool{"a@example.com": true}}
	a := digestActivities(s, m)
	run := activities.DigestRun{Date: "2026-11-02", Location: "Asia/Shanghai"}

	var last map[string]any
	env := activityEnv(t, a)
	env.SetOnActivityHeartbeatListener(func(_ *activity.Info, d converter.EncodedValues) {
		var p map[string]any
		if err := d.Get(&p); err != nil {
			t.Error(err)
		}
		last = p
	})
	if _, err := runDigests(t, env, a, run); err == nil || !strings.Contains(err.Error(), "digest of dir-a") || !strings.Contains(err.Error(), "550") {
		t.Fatalf("a failed e-mail: %v", err)
	}
	if len(m.msgs["b@example.com"]) != 1 || len(s.notes) != 3 {
		t.Fatalf("the others' digests: %v, %d notifications", m.msgs, len(s.notes))
	}
	if last == nil {
		t.Fatal("no heartbeat")
	}

	m.fail = nil
	retry := activityEnv(t, a)
	retry.SetHeartbeatDetails(last)
	res, err := runDigests(t, retry, a, run)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.msgs["a@example.com"]) != 1 || len(m.msgs["b@example.com"]) != 1 || len(s.notes) != 3 {
		t.Errorf("after the retry: e-mails %v, %d notifications", m.msgs, len(s.notes))
	}
	if !slices.Equal(res.Digests, []string{"dir-b", "dir-c", "dir-a"}) || !slices.Equal(res.Emailed, []string{"dir-b", "dir-a"}) {
		t.Errorf("result of the retry %+v", res)
	}
}

// TestSendDigestsRefuses a run no retry mends, at once.
func TestSendDigestsRefuses(t *testing.T) {
	s := newDigestStore()
	a := digestActivities(s, &sentMail{msgs: map[string][]string{}})
	for _, run := range []activities.DigestRun{{Date: ""}, {Date: "2026-11-02", Location: "Mars/Olympus"}} {
		_, err := runDigests(t, activityEnv(t, a), a, run)
		var app *temporal.ApplicationError
		if !errors.As(err, &app) || !app.NonRetryable() || app.Type() != activities.InvalidDigestRun {
			t.Errorf("%+v: %v", run, err)
		}
	}
	if len(s.notes) != 0 {
		t.Errorf("notifications %+v", s.notes)
	}
}
