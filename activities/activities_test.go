package activities_test

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"mime"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/activities"
)

var at = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

func notice() activities.Notice {
	since := at.Add(-time.Hour)
	return activities.Notice{
		ID: "escalated:d1:7", Event: activities.EventEscalated, Level: "director", Recipients: []string{"dir-a", "dir-b", "dir-c"},
		DealID: "d1", Title: "宝钢冷轧线 DCS 改造", AccountID: "a1", Stage: kamflow.Bid, TeamID: "east", Owner: "kam1",
		SLA: kamflow.Duration(21 * kamflow.Day), DirectorAfter: 2, StalledSince: &since,
		Message: "宝钢冷轧线 DCS 改造 has made no progress in the bid stage for 42d", At: at,
	}
}

// TestSignature: the signature is HMAC-SHA256 over "timestamp.body", hex, with a version prefix;
// it verifies only with the same secret, body and a timestamp near now.
func TestSignature(t *testing.T) {
	body := []byte(`{"id":"x"}`)
	m := hmac.New(sha256.New, []byte("k"))
	m.Write([]byte("1700000000." + string(body)))
	want := "v1=" + hex.EncodeToString(m.Sum(nil))
	if got := activities.Sign("k", 1700000000, body); got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
	now := time.Unix(1700000000, 0).Add(time.Minute)
	if err := activities.VerifySignature("k", "1700000000", want, body, now, 5*time.Minute); err != nil {
		t.Fatalf("a good signature: %v", err)
	}
	for name, c := range map[string]struct {
		secret, ts string
		body       []byte
		now        time.Time
	}{
		"other secret": {"k2", "1700000000", body, now},
		"other body":   {"k", "1700000000", []byte(`{"id":"y"}`), now},
		"other time":   {"k", "1700000001", body, now},
		"too old":      {"k", "1700000000", body, now.Add(time.Hour)},
		"no timestamp": {"k", "", body, now},
	} {
		if err := activities.VerifySignature(c.secret, c.ts, want, c.body, c.now, 5*time.Minute); !errors.Is(err, activities.ErrBadSignature) {
			t.Errorf("%s: %v, want ErrBadSignature", name, err)
		}
	}
}

func activityEnv(t *testing.T, a *activities.Activities) *testsuite.TestActivityEnvironment {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(a)
	return env
}

// TestSendWebhook posts the notice as JSON with its event, id, timestamp and signature; any answer
// but 2xx fails the attempt (the workflow retries it); without a webhook nothing is sent.
func TestSendWebhook(t *testing.T) {
	var (
		mu     sync.Mutex
		status = http.StatusServiceUnavailable
		got    []*http.Request
		bodies [][]byte
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		got, bodies = append(got, r), append(bodies, b)
		w.WriteHeader(status)
	}))
	defer srv.Close()
	a := &activities.Activities{Webhook: &activities.Webhook{URL: srv.URL, Secret: "s"}, Now: func() time.Time { return at }}
	env := activityEnv(t, a)
	if _, err := env.ExecuteActivity(a.SendWebhook, notice()); err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("503 answered: %v, want an error", err)
	}
	mu.Lock()
	status = http.StatusOK
	mu.Unlock()
	if _, err := env.ExecuteActivity(a.SendWebhook, notice()); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("%d requests", len(got))
	}
	r := got[1]
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" ||
		r.Header.Get(activities.HeaderEvent) != activities.EventEscalated || r.Header.Get(activities.HeaderDelivery) != "escalated:d1:7" ||
		r.Header.Get(activities.HeaderTimestamp) != "1793610000" {
		t.Errorf("request %s %v", r.Method, r.Header)
	}
	if err := activities.VerifySignature("s", r.Header.Get(activities.HeaderTimestamp), r.Header.Get(activities.HeaderSignature), bodies[1], at, time.Minute); err != nil {
		t.Error(err)
	}
	if !strings.Contains(string(bodies[1]), `"title":"宝钢冷轧线 DCS 改造"`) || !strings.Contains(string(bodies[1]), `"sla":"21d"`) {
		t.Errorf("body %s", bodies[1])
	}
	none := &activities.Activities{}
	if _, err := activityEnv(t, none).ExecuteActivity(none.SendWebhook, notice()); err != nil {
		t.Errorf("without a webhook: %v", err)
	}
}

// directory is a kamflow.Directory and a kamflow.NotificationStore.
type directory struct {
	directors map[string][]string
	emails    map[string]string
	notes     []kamflow.Notification
}

func (d *directory) Directors(_ context.Context, team string) ([]*kamflow.User, error) {
	var out []*kamflow.User
	for _, u := range d.directors[team] {
		out = append(out, &kamflow.User{ID: "id-" + u, Username: u, Role: kamflow.UserDirector})
	}
	return out, nil
}

func (d *directory) UserEmails(_ context.Context, names []string) (map[string]string, error) {
	out := map[string]string{}
	for _, n := range names {
		if e, ok := d.emails[n]; ok {
			out[n] = e
		}
	}
	return out, nil
}

func (d *directory) SetUserEmail(context.Context, string, string) error { return nil }

func (d *directory) Notify(_ context.Context, n []kamflow.Notification) error {
	d.notes = append(d.notes, n...)
	return nil
}

func (d *directory) Notifications(context.Context, string, int) ([]kamflow.Notification, error) {
	return d.notes, nil
}

// TestNotifyDirectors stores one keyed notice per director of the team and returns who was told;
// the store is the directory when none is given (as the database is both).
func TestNotifyDirectors(t *testing.T) {
	dir := &directory{directors: map[string][]string{"east": {"dir-a", "dir-b"}}}
	a := &activities.Activities{Notifications: dir}
	env := activityEnv(t, a)
	v, err := env.ExecuteActivity(a.NotifyDirectors, activities.DirectorNotice{DealID: "d1", TeamID: "east", Key: "escalated:d1:7", Message: "m", At: at})
	if err != nil {
		t.Fatal(err)
	}
	var told []string
	if err := v.Get(&told); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(told, []string{"dir-a", "dir-b"}) || len(dir.notes) != 2 {
		t.Fatalf("told %v, notes %+v", told, dir.notes)
	}
	n := dir.notes[1]
	if n.UserID != "dir-b" || n.Kind != kamflow.NoticeEscalated || n.Key != "escalated:d1:7:dir-b" || n.DealID != "d1" || !n.CreatedAt.Equal(at) {
		t.Errorf("notice %+v", n)
	}
	v, err = env.ExecuteActivity(a.NotifyDirectors, activities.DirectorNotice{DealID: "d2", TeamID: "west", Key: "k"})
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Get(&told); err != nil || len(told) != 0 || len(dir.notes) != 2 {
		t.Errorf("a team without directors: told %v, %d notes, %v", told, len(dir.notes), err)
	}
}

// smtpServer is the least an SMTP server says to net/smtp.SendMail, keeping what it is sent.
type smtpServer struct {
	addr string
	mu   sync.Mutex
	rcpt []string
	data string
}

func newSMTPServer(t *testing.T) *smtpServer {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	s := &smtpServer{addr: l.Addr().String()}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	return s
}

func (s *smtpServer) serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	say := func(line string) { io.WriteString(c, line+"\r\n") }
	say("220 localhost ESMTP test")
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.ToUpper(strings.TrimSpace(line))
		switch {
		case strings.HasPrefix(cmd, "EHLO"), strings.HasPrefix(cmd, "HELO"):
			say("250-localhost")
			say("250 8BITMIME")
		case strings.HasPrefix(cmd, "MAIL FROM"):
			say("250 ok")
		case strings.HasPrefix(cmd, "RCPT TO"):
			s.mu.Lock()
			s.rcpt = append(s.rcpt, strings.Trim(strings.TrimSpace(line)[len("RCPT TO:"):], "<>"))
			s.mu.Unlock()
			say("250 ok")
		case cmd == "DATA":
			say("354 go on")
			var b strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil || l == ".\r\n" {
					break
				}
				b.WriteString(l)
			}
			s.mu.Lock()
			s.data = b.String()
			s.mu.Unlock()
			say("250 queued")
		case cmd == "QUIT":
			say("221 bye")
			return
		default:
			say("250 ok")
		}
	}
}

// TestSendEmail sends the notice over SMTP to the recipients that have an address: a UTF-8
// message whose subject, Message-ID and body say what happened.
func TestSendEmail(t *testing.T) {
	srv := newSMTPServer(t)
	dir := &directory{emails: map[string]string{"dir-a": "a@example.com", "dir-c": "c@example.com"}}
	a := &activities.Activities{Notifications: dir, Now: func() time.Time { return at },
		Mail: &activities.Mailer{Addr: srv.addr, From: "kamflow@example.com"}}
	if _, err := activityEnv(t, a).ExecuteActivity(a.SendEmail, notice()); err != nil {
		t.Fatal(err)
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if !slices.Equal(srv.rcpt, []string{"a@example.com", "c@example.com"}) {
		t.Errorf("recipients %v", srv.rcpt)
	}
	msg, err := mail.ReadMessage(strings.NewReader(srv.data))
	if err != nil {
		t.Fatal(err)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil || subject != "[kamflow] 宝钢冷轧线 DCS 改造: escalated to the director, stalled in bid" {
		t.Errorf("subject %q %v", subject, err)
	}
	if msg.Header.Get("Message-ID") != "<escalated.d1.7@kamflow>" || msg.Header.Get("To") != "a@example.com, c@example.com" ||
		!strings.Contains(msg.Header.Get("Content-Type"), "charset=UTF-8") {
		t.Errorf("headers %v", msg.Header)
	}
	raw, _ := io.ReadAll(msg.Body)
	body, err := base64.StdEncoding.DecodeString(strings.ReplaceAll(string(raw), "\r\n", ""))
	if err != nil || !strings.Contains(string(body), "no progress in the bid stage") || !strings.Contains(string(body), "Owner:   kam1") {
		t.Errorf("body %q %v", body, err)
	}
	// Nobody with an address, or no mailer: nothing is sent, and that is no failure.
	n := notice()
	n.Recipients = []string{"dir-b"}
	if _, err := activityEnv(t, a).ExecuteActivity(a.SendEmail, n); err != nil {
		t.Error(err)
	}
	none := &activities.Activities{Notifications: dir}
	if _, err := activityEnv(t, none).ExecuteActivity(none.SendEmail, notice()); err != nil {
		t.Error(err)
	}
}
