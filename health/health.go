// Package health answers kamflow's probes: liveness (the process answers; no dependency is
// asked, so that an outage of the database or of Temporal never restarts every pod) and
// readiness (each check of what the process needs to do its work, run together under a bound).
// Both `kamflow serve` (api.Config.Readiness) and `kamflow worker` (on its listen address) serve
// them as GET /livez and GET /readyz; /healthz is readiness, for older probes.
package health

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/kamflow/kamflow"
)

// Timeout bounds a readiness run: a check that has not answered by then fails. Below
// Kubernetes' default probe timeout (1 s) would fail a slow but working database; set the
// probe's timeoutSeconds to 3 or more.
const Timeout = 2 * time.Second

// Check is one readiness check: Fn returns nil when Name is fit.
type Check struct {
	Name string
	Fn   func(ctx context.Context) error
}

// Result is one check's outcome in a Report. Its error's detail is logged, never answered: the
// probes answer without credentials.
type Result struct {
	Status     string `json:"status"` // "ok" or "failing"
	DurationMS int64  `json:"duration_ms"`
}

// Report is the probes' JSON answer: {"status":"ok"|"unavailable","checks":{name: Result}}; a
// 503 carries the API's error object too ({"error":{"code":"unavailable",…}}).
type Report struct {
	Status string            `json:"status"`
	Checks map[string]Result `json:"checks,omitempty"`
	Error  *kamflow.Error    `json:"error,omitempty"`
}

// Run runs every check at once, each bounded by Timeout, and reports them; ok is false when any
// failed. Each failure is logged with its error at WARN.
func Run(ctx context.Context, logger *slog.Logger, checks []Check) (r Report, ok bool) {
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	r = Report{Status: "ok", Checks: make(map[string]Result, len(checks))}
	var mu sync.Mutex
	var wg sync.WaitGroup
	var failing []string
	for _, c := range checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t0 := time.Now()
			err := run(ctx, c)
			res := Result{Status: "ok", DurationMS: time.Since(t0).Milliseconds()}
			if err != nil {
				res.Status = "failing"
				logger.Warn("readiness check failing", "check", c.Name, "err", err)
			}
			mu.Lock()
			defer mu.Unlock()
			r.Checks[c.Name] = res
			if err != nil {
				failing = append(failing, c.Name)
			}
		}()
	}
	wg.Wait()
	if len(failing) > 0 {
		sort.Strings(failing)
		r.Status = "unavailable"
		r.Error = kamflow.Errorf(kamflow.EUNAVAILABLE, "not ready: %s failing", strings.Join(failing, ", ")).WithDetail("failing", strings.Join(failing, ","))
		return r, false
	}
	return r, true
}

// run runs c, as failed once ctx ends even when its Fn does not return (a dial that ignores it).
func run(ctx context.Context, c Check) error {
	done := make(chan error, 1)
	go func() { done <- c.Fn(ctx) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Live answers liveness: 200 {"status":"ok"}, asking nothing.
func Live() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		write(w, http.StatusOK, Report{Status: "ok"})
	})
}

// Ready answers readiness: 200 with the report when every check passes, 503 otherwise.
func Ready(logger *slog.Logger, checks []Check) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rep, ok := Run(r.Context(), logger, checks)
		status := http.StatusOK
		if !ok {
			status = http.StatusServiceUnavailable
		}
		write(w, status, rep)
	})
}

func write(w http.ResponseWriter, status int, r Report) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(r)
}

// Flag is a readiness check of a state the process sets itself (a worker started, not yet
// stopping): failing, with what says why, until Set(true).
type Flag struct {
	mu  sync.Mutex
	on  bool
	why string
}

// NewFlag is a Flag not yet set, failing with why.
func NewFlag(why string) *Flag { return &Flag{why: why} }

// Set sets the flag; unset, the check fails with why.
func (f *Flag) Set(on bool, why string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.on, f.why = on, why
}

// Check is the flag's check.
func (f *Flag) Check(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.on {
		return errString(f.why)
	}
	return nil
}

type errString string

func (e errString) Error() string { return string(e) }
