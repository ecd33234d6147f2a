package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kamflow/kamflow/internal/logtest"
	"github.com/kamflow/kamflow/internal/tlstest"
	"github.com/kamflow/kamflow/requestid"
)

// TestLogFormat: text by default, JSON with KAMFLOW_LOG_FORMAT=json, anything else refused.
func TestLogFormat(t *testing.T) {
	for format, check := range map[string]func(string) bool{
		"":     func(s string) bool { return strings.HasPrefix(s, "time=") && strings.Contains(s, "msg=hello k=v") },
		"text": func(s string) bool { return strings.HasPrefix(s, "time=") },
		"json": func(s string) bool {
			var m map[string]any
			return json.Unmarshal([]byte(s), &m) == nil && m["msg"] == "hello" && m["k"] == "v"
		},
	} {
		t.Setenv("KAMFLOW_LOG_FORMAT", format)
		var buf bytes.Buffer
		l, err := newLogger(&buf)
		if err != nil {
			t.Fatalf("KAMFLOW_LOG_FORMAT=%q: %v", format, err)
		}
		l.Info("hello", "k", "v")
		if !check(buf.String()) {
			t.Errorf("KAMFLOW_LOG_FORMAT=%q logged %q", format, buf.String())
		}
	}
	t.Setenv("KAMFLOW_LOG_FORMAT", "xml")
	if _, err := newLogger(io.Discard); err == nil || !strings.Contains(err.Error(), "text or json") {
		t.Errorf("KAMFLOW_LOG_FORMAT=xml: %v, want an error", err)
	}
}

// TestTemporalConnectionSettings: serve and worker read TLS from the environment or the flags,
// the API key from the environment only; dev reads none of it; a mistake is an error at start.
func TestTemporalConnectionSettings(t *testing.T) {
	f := tlstest.Write(t, t.TempDir(), "temporal.test")
	db := []string{"--database-url", filepath.Join(t.TempDir(), "k.db")}
	t.Setenv("TEMPORAL_TLS_CERT", f.ClientCert)
	t.Setenv("TEMPORAL_TLS_KEY", f.ClientKey)
	t.Setenv("TEMPORAL_TLS_CA", f.CA)
	t.Setenv("TEMPORAL_API_KEY", "secret-key")
	for _, name := range []string{"serve", "worker"} {
		c, err := parseFlags(name, append(db, "--temporal-tls-server-name", "temporal.test"), false)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		tc := c.temporalConn
		if tc.CertFile != f.ClientCert || tc.KeyFile != f.ClientKey || tc.CAFile != f.CA || tc.ServerName != "temporal.test" || tc.APIKey != "secret-key" {
			t.Errorf("%s: %+v", name, tc)
		}
		if _, err := parseFlags(name, append(db, "--temporal-api-key", "k"), false); err == nil {
			t.Errorf("%s: took the API key as a flag", name)
		}
	}
	if c, err := parseFlags("dev", nil, true); err != nil || c.temporalConn.Secure() {
		t.Errorf("dev: %+v, %v; want plaintext to its embedded server", c.temporalConn, err)
	}
	if _, err := parseFlags("dev", []string{"--temporal-tls-cert", f.ClientCert}, true); err == nil {
		t.Error("dev took --temporal-tls-cert")
	}
	t.Setenv("TEMPORAL_TLS_KEY", "")
	if _, err := parseFlags("worker", db, false); err == nil || !strings.Contains(err.Error(), "without TEMPORAL_TLS_KEY") {
		t.Errorf("a certificate without its key: %v", err)
	}
	if _, err := parseFlags("worker", append(db, "--temporal-tls-key", filepath.Join(t.TempDir(), "none.pem")), false); err == nil || !strings.Contains(err.Error(), "none.pem") {
		t.Errorf("an unreadable key file: %v", err)
	}
}

// withID are the JSON lines logged so far with request ID id.
func withID(sink *logtest.Sink, id string) []map[string]any {
	var out []map[string]any
	for _, l := range strings.Split(sink.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m[requestid.LogKey] == id {
			out = append(out, m)
		}
	}
	return out
}

// sendWithID is apiClient.do with an X-Request-ID, returning the one answered.
func sendWithID(t *testing.T, c apiClient, method, path, reqID string, body any, want int) (map[string]any, string) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, c.base+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set(requestid.Header, reqID)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %d, want %d: %s", method, path, resp.StatusCode, want, raw)
	}
	out := map[string]any{}
	_ = json.Unmarshal(raw, &out)
	return out, resp.Header.Get(requestid.Header)
}

func probeJSON(t *testing.T, url string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]any{}
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// TestRequestIDAndProbesOnTheEmbeddedStack, on the embedded Temporal server, SQLite, the worker
// and the API: a change sent with X-Request-ID abc gets it back, and its ID is on the request's
// log line, on the deal workflow's line as it takes the change (through the Update's header)
// and on the projecting activity's; /livez and /readyz answer with the checks. Then a
// `kamflow worker` on the same server and database answers its probes on its listen address,
// ready once it polls.
func TestRequestIDAndProbesOnTheEmbeddedStack(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server")
	}
	var sink logtest.Sink
	logger := slog.New(slog.NewJSONHandler(&sink, &slog.HandlerOptions{Level: slog.LevelDebug}))
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	app, err := startDev(ctx, logger, config{dataDir: dir, namespace: "default", temporalPort: 0, demoPassword: "demo"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(app.api)
	defer func() { srv.Close(); app.Close() }()
	c := login(t, srv.URL, "kam1")

	acct := c.do("POST", "/api/v1/accounts", map[string]any{"name": "East China Petrochemical"}, 201)
	deal, got := sendWithID(t, c, "POST", "/api/v1/deals", "create-1", map[string]any{
		"account_id": acct["id"], "title": "Boiler feed pumps", "value": "12000000.00", "currency": "CNY", "expected_close": "2027-03-31",
	}, 201)
	if got != "create-1" {
		t.Fatalf("X-Request-ID answered %q, want create-1", got)
	}
	scores := map[string]int{}
	for _, f := range []string{"project_level", "funding", "technical_fit", "relationship", "credit", "product", "price", "solution", "service"} {
		scores[f] = 4
	}
	if _, got := sendWithID(t, c, "PUT", fmt.Sprintf("/api/v1/deals/%s/assessment", deal["id"]), "abc",
		map[string]any{"scores": scores, "expected_close": "2027-03-31", "likelihood": 75}, 200); got != "abc" {
		t.Fatalf("X-Request-ID answered %q, want abc", got)
	}
	// A settings save reaches the deal by the fan-out's signal: the fan-out's logs and the deal's
	// change carry the save's ID too.
	admin := login(t, srv.URL, "admin")
	if _, got := sendWithID(t, admin, "PUT", "/api/v1/settings/stages/development", "save-1", map[string]any{"sla": "45d"}, 200); got != "save-1" {
		t.Fatalf("X-Request-ID answered %q, want save-1", got)
	}
	for id, msgs := range map[string][]string{
		"create-1": {"request", "deal projected"},
		"abc":      {"request", "deal input taken", "deal projected"},
		"save-1":   {"request", "settings fan-out", "deal input taken", "deal projected"},
	} {
		eventually(t, "the lines of request "+id, func() bool {
			seen := map[string]bool{}
			for _, l := range withID(&sink, id) {
				seen[l["msg"].(string)] = true
			}
			for _, m := range msgs {
				if !seen[m] {
					return false
				}
			}
			return true
		})
	}
	for _, l := range withID(&sink, "abc") {
		if l["msg"] == "request" && (l["route"] != "/api/v1/deals/:id/assessment" || l["status"] != float64(200) || l["user"] != "kam1") {
			t.Errorf("the request's line: %v", l)
		}
	}

	if code, body := probeJSON(t, srv.URL+"/livez"); code != 200 || body["status"] != "ok" {
		t.Errorf("/livez: %d %v", code, body)
	}
	code, body := probeJSON(t, srv.URL+"/readyz")
	checks, _ := body["checks"].(map[string]any)
	for _, name := range []string{"database", "migrations", "temporal"} {
		if r, _ := checks[name].(map[string]any); r["status"] != "ok" {
			t.Errorf("/readyz check %s: %v", name, r)
		}
	}
	if code != 200 {
		t.Errorf("/readyz: %d %v", code, body)
	}

	// A worker of its own on the same Temporal server and database, with its probes.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	wctx, stopWorker := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- runWorker(wctx, quietLogger(), []string{"--temporal-address", app.temporal.HostPort(),
			"--database-url", app.databaseURL, "--listen", addr})
	}()
	eventually(t, "the worker ready", func() bool {
		select {
		case err := <-done:
			t.Fatalf("the worker stopped at start: %v", err)
		default:
		}
		resp, err := http.Get("http://" + addr + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	code, body = probeJSON(t, "http://"+addr+"/readyz")
	checks, _ = body["checks"].(map[string]any)
	for _, name := range []string{"database", "migrations", "temporal", "worker"} {
		if r, _ := checks[name].(map[string]any); r["status"] != "ok" {
			t.Errorf("worker /readyz check %s: %v (%d)", name, r, code)
		}
	}
	for _, p := range []string{"/livez", "/healthz"} {
		if code, body := probeJSON(t, "http://"+addr+p); code != 200 || body["status"] != "ok" {
			t.Errorf("worker %s: %d %v", p, code, body)
		}
	}
	stopWorker()
	if err := <-done; err != nil {
		t.Errorf("the worker stopped with %v", err)
	}
}
