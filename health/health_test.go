package health

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func get(t *testing.T, h http.Handler) (int, map[string]any, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("body %q: %v", rec.Body, err)
	}
	return rec.Code, body, rec.Body.String()
}

// TestReady: every check passing is 200 with each one's result; one failing (or not answering in
// time) is 503 naming it, with the API's error object, and without its error's detail.
func TestReady(t *testing.T) {
	ok := func(context.Context) error { return nil }
	code, body, _ := get(t, Ready(quiet, []Check{{"database", ok}, {"temporal", ok}}))
	checks, _ := body["checks"].(map[string]any)
	if code != 200 || body["status"] != "ok" || len(checks) != 2 || checks["temporal"].(map[string]any)["status"] != "ok" {
		t.Fatalf("all passing: %d %v", code, body)
	}

	down := func(context.Context) error { return errors.New("dial tcp 10.1.2.3:5432: connection refused") }
	hang := func(context.Context) error { time.Sleep(time.Hour); return nil }
	t0 := time.Now()
	code, body, raw := get(t, Ready(quiet, []Check{{"database", down}, {"temporal", hang}, {"migrations", ok}}))
	if took := time.Since(t0); took > Timeout+time.Second {
		t.Errorf("a check that does not answer held the probe %s", took)
	}
	checks, _ = body["checks"].(map[string]any)
	if code != 503 || body["status"] != "unavailable" || checks["database"].(map[string]any)["status"] != "failing" ||
		checks["temporal"].(map[string]any)["status"] != "failing" || checks["migrations"].(map[string]any)["status"] != "ok" {
		t.Fatalf("failing: %d %v", code, body)
	}
	e, _ := body["error"].(map[string]any)
	if e["code"] != "unavailable" || !strings.Contains(e["message"].(string), "database, temporal") {
		t.Errorf("error object %v, want unavailable naming database, temporal", e)
	}
	if strings.Contains(raw, "10.1.2.3") {
		t.Errorf("the answer shows a check's error: %s", raw)
	}
}

func TestLiveAndFlag(t *testing.T) {
	if code, body, _ := get(t, Live()); code != 200 || body["status"] != "ok" {
		t.Fatalf("live: %d %v", code, body)
	}
	f := NewFlag("not started")
	if err := f.Check(context.Background()); err == nil || err.Error() != "not started" {
		t.Fatalf("unset flag: %v", err)
	}
	f.Set(true, "")
	if err := f.Check(context.Background()); err != nil {
		t.Fatalf("set flag: %v", err)
	}
	f.Set(false, "stopping")
	if err := f.Check(context.Background()); err == nil || err.Error() != "stopping" {
		t.Fatalf("cleared flag: %v", err)
	}
}
