package activities_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/activities"
)

// fieldService is a field-service system: it keeps every request and answers with answer.
type fieldService struct {
	*httptest.Server
	mu     sync.Mutex
	reqs   []*http.Request
	bodies [][]byte
	answer func(r *http.Request) (int, string)
}

func newFieldService(t *testing.T, answer func(r *http.Request) (int, string)) *fieldService {
	f := &fieldService{answer: answer}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.reqs, f.bodies = append(f.reqs, r), append(f.bodies, b)
		answer := f.answer
		f.mu.Unlock()
		code, body := answer(r)
		w.WriteHeader(code)
		io.WriteString(w, body)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fieldService) requests() ([]*http.Request, [][]byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reqs, f.bodies
}

func answering(code int, body string) func(*http.Request) (int, string) {
	return func(*http.Request) (int, string) { return code, body }
}

// heartbeats records every heartbeat of the activities it intercepts (the environment's listener
// sees only those the SDK would send to the server).
type heartbeats struct {
	interceptor.WorkerInterceptorBase
	mu  sync.Mutex
	got []activities.StepHeartbeat
}

func (h *heartbeats) InterceptActivity(ctx context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	return &heartbeatsIn{ActivityInboundInterceptorBase: interceptor.ActivityInboundInterceptorBase{Next: next}, h: h}
}

func (h *heartbeats) list() []activities.StepHeartbeat {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]activities.StepHeartbeat(nil), h.got...)
}

type heartbeatsIn struct {
	interceptor.ActivityInboundInterceptorBase
	h *heartbeats
}

func (i *heartbeatsIn) Init(out interceptor.ActivityOutboundInterceptor) error {
	return i.Next.Init(&heartbeatsOut{ActivityOutboundInterceptorBase: interceptor.ActivityOutboundInterceptorBase{Next: out}, h: i.h})
}

type heartbeatsOut struct {
	interceptor.ActivityOutboundInterceptorBase
	h *heartbeats
}

func (o *heartbeatsOut) RecordHeartbeat(ctx context.Context, details ...any) {
	o.h.mu.Lock()
	for _, d := range details {
		if b, ok := d.(activities.StepHeartbeat); ok {
			o.h.got = append(o.h.got, b)
		}
	}
	o.h.mu.Unlock()
	o.Next.RecordHeartbeat(ctx, details...)
}

// logs is a log.Logger that keeps the messages.
type logs struct {
	mu   sync.Mutex
	msgs []string
}

func (l *logs) add(level, msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.msgs = append(l.msgs, level+" "+msg)
}
func (l *logs) Debug(msg string, _ ...any) { l.add("DEBUG", msg) }
func (l *logs) Info(msg string, _ ...any)  { l.add("INFO", msg) }
func (l *logs) Warn(msg string, _ ...any)  { l.add("WARN", msg) }
func (l *logs) Error(msg string, _ ...any) { l.add("ERROR", msg) }

func (l *logs) count(prefix string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, m := range l.msgs {
		if strings.HasPrefix(m, prefix) {
			n++
		}
	}
	return n
}

type deliveryEnv struct {
	*testsuite.TestActivityEnvironment
	beats *heartbeats
	logs  *logs
}

// newDeliveryEnv is an activity environment for a, whose activities' context is a child of bg.
func newDeliveryEnv(bg context.Context, a *activities.DeliveryActivities) deliveryEnv {
	var s testsuite.WorkflowTestSuite
	e := deliveryEnv{beats: &heartbeats{}, logs: &logs{}}
	s.SetLogger(e.logs)
	e.TestActivityEnvironment = s.NewTestActivityEnvironment()
	e.SetWorkerOptions(worker.Options{BackgroundActivityContext: bg, Interceptors: []interceptor.WorkerInterceptor{e.beats}})
	e.RegisterActivity(a)
	return e
}

func (e deliveryEnv) step(a *activities.DeliveryActivities, r activities.StepRequest) (activities.StepResult, error) {
	var res activities.StepResult
	v, err := e.ExecuteActivity(a.RunDeliveryStep, r)
	if err != nil {
		return res, err
	}
	if err := v.Get(&res); err != nil {
		panic(err)
	}
	return res, nil
}

func workOrder() activities.StepRequest {
	return activities.StepRequest{DealID: "d1", AccountID: "a1", Site: "宝钢冷轧线 DCS 改造", Task: kamflow.TaskInstallation,
		Step: kamflow.StepWorkOrder, Run: 2, Assignee: "eng1"}
}

// appError is the application error in err, if any.
func appError(err error) *temporal.ApplicationError {
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) {
		return ae
	}
	return nil
}

// A step is POSTed as signed JSON under its idempotency key; the receiver's ref comes back, and the
// step heartbeats before sending and once answered.
func TestDeliveryStep(t *testing.T) {
	fs := newFieldService(t, answering(http.StatusCreated, `{"ref":"WO-1234","note":"queued"}`))
	a := &activities.DeliveryActivities{FieldService: &activities.FieldService{URL: fs.URL, Secret: "s3cret"}, Now: func() time.Time { return at }}
	env := newDeliveryEnv(context.Background(), a)
	res, err := env.step(a, workOrder())
	if err != nil {
		t.Fatal(err)
	}
	if res != (activities.StepResult{Ref: "WO-1234"}) {
		t.Errorf("result %+v", res)
	}
	reqs, bodies := fs.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	r, body := reqs[0], bodies[0]
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" ||
		r.Header.Get(activities.HeaderEvent) != activities.EventDeliveryStep ||
		r.Header.Get(activities.HeaderDelivery) != "d1/installation/2/work_order" ||
		r.Header.Get(activities.HeaderTimestamp) != fmt.Sprint(at.Unix()) {
		t.Errorf("request %s %v", r.Method, r.Header)
	}
	if err := activities.VerifySignature("s3cret", r.Header.Get(activities.HeaderTimestamp), r.Header.Get(activities.HeaderSignature), body, at, time.Minute); err != nil {
		t.Errorf("signature: %v", err)
	}
	if err := activities.VerifySignature("other", r.Header.Get(activities.HeaderTimestamp), r.Header.Get(activities.HeaderSignature), body, at, time.Minute); err == nil {
		t.Error("the signature verifies with another secret")
	}
	var got activities.FieldServiceStep
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	want := activities.FieldServiceStep{ID: "d1/installation/2/work_order", Event: activities.EventDeliveryStep, DealID: "d1",
		AccountID: "a1", Site: "宝钢冷轧线 DCS 改造", Task: "installation", Step: "work_order", Run: 2, Assignee: "eng1"}
	if got != want {
		t.Errorf("body %s", body)
	}
	beats := env.beats.list()
	if len(beats) < 2 || beats[0].Progress >= 100 || beats[len(beats)-1].Progress != 100 ||
		!strings.Contains(beats[len(beats)-1].Note, "201") {
		t.Errorf("heartbeats %+v", beats)
	}
}

// The idempotency key and the body are the same on every retry: only the timestamp (and with it
// the signature) change. 503 and 429 are retried, a network error too.
func TestDeliveryStepRetries(t *testing.T) {
	fs := newFieldService(t, answering(http.StatusServiceUnavailable, "maintenance until 10:00"))
	now := at
	a := &activities.DeliveryActivities{FieldService: &activities.FieldService{URL: fs.URL, Secret: "k"}, Now: func() time.Time { return now }}
	env := newDeliveryEnv(context.Background(), a)
	for i, c := range []struct {
		code int
		body string
	}{{503, "maintenance until 10:00"}, {429, ""}, {502, "<html>bad gateway</html>"}} {
		fs.mu.Lock()
		fs.answer = answering(c.code, c.body)
		fs.mu.Unlock()
		now = at.Add(time.Duration(i) * time.Minute)
		_, err := env.step(a, workOrder())
		ae := appError(err)
		if ae == nil || ae.NonRetryable() || !strings.Contains(err.Error(), fmt.Sprint(c.code)) || !strings.Contains(err.Error(), c.body) ||
			strings.Contains(err.Error(), fs.URL) {
			t.Errorf("%d: %v, want a retryable error", c.code, err)
		}
	}
	fs.mu.Lock()
	fs.answer = answering(http.StatusOK, `{"ref":"WO-77"}`)
	fs.mu.Unlock()
	now = at.Add(time.Hour)
	if res, err := env.step(a, workOrder()); err != nil || res.Ref != "WO-77" {
		t.Fatalf("after the retries: %+v, %v", res, err)
	}
	reqs, bodies := fs.requests()
	if len(reqs) != 4 {
		t.Fatalf("%d requests", len(reqs))
	}
	for i, r := range reqs {
		if r.Header.Get(activities.HeaderDelivery) != "d1/installation/2/work_order" || string(bodies[i]) != string(bodies[0]) {
			t.Errorf("attempt %d: key %q, body %s", i, r.Header.Get(activities.HeaderDelivery), bodies[i])
		}
		if err := activities.VerifySignature("k", r.Header.Get(activities.HeaderTimestamp), r.Header.Get(activities.HeaderSignature), bodies[i], now, 2*time.Hour); err != nil {
			t.Errorf("attempt %d: %v", i, err)
		}
	}
	if reqs[0].Header.Get(activities.HeaderTimestamp) == reqs[3].Header.Get(activities.HeaderTimestamp) {
		t.Error("the retries share a timestamp")
	}

	fs.Close() // nobody answers
	_, err := env.step(a, workOrder())
	if ae := appError(err); ae == nil || ae.NonRetryable() || strings.Contains(err.Error(), fs.URL) {
		t.Errorf("network error: %v, want a retryable error that does not name the URL", err)
	}
}

// A refusal (4xx but 429) fails the step for good, with the start of the receiver's message.
func TestDeliveryStepRejected(t *testing.T) {
	// One byte, then 3-byte characters: byte 300 is inside one, so the message stops at byte 298.
	long := "P" + strings.Repeat("库存不足", 40)
	for _, c := range []struct {
		code       int
		body, want string
	}{
		{http.StatusUnprocessableEntity, `{"error":"work order for d1 exists with other data"}`, `422 Unprocessable Entity: {"error":"work order for d1 exists with other data"}`},
		{http.StatusNotFound, "", "404 Not Found"},
		{http.StatusConflict, long, "409 Conflict: " + long[:298]},
		{http.StatusUnauthorized, "bad signature\n", "401 Unauthorized: bad signature"},
	} {
		fs := newFieldService(t, answering(c.code, c.body))
		a := &activities.DeliveryActivities{FieldService: &activities.FieldService{URL: fs.URL, Secret: "k"}}
		_, err := newDeliveryEnv(context.Background(), a).step(a, workOrder())
		ae := appError(err)
		if ae == nil || !ae.NonRetryable() || ae.Type() != activities.FieldServiceRejected {
			t.Errorf("%d: %v, want a non-retryable %s", c.code, err, activities.FieldServiceRejected)
			continue
		}
		if msg := ae.Message(); !strings.HasSuffix(msg, c.want) || !utf8.ValidString(msg) {
			t.Errorf("%d: message %q, want it to end in %q", c.code, msg, c.want)
		}
		var code int
		if !ae.HasDetails() || ae.Details(&code) != nil || code != c.code {
			t.Errorf("%d: details %d", c.code, code)
		}
	}
}

// An undo is its own event under its own key, and carries the ref to undo; the customer's notice
// has no undo: nothing is sent.
func TestDeliveryStepUndo(t *testing.T) {
	fs := newFieldService(t, answering(http.StatusOK, ""))
	a := &activities.DeliveryActivities{FieldService: &activities.FieldService{URL: fs.URL, Secret: "k"}}
	env := newDeliveryEnv(context.Background(), a)
	r := workOrder()
	r.Undo, r.Ref = true, "WO-1234"
	if res, err := env.step(a, r); err != nil || res != (activities.StepResult{}) {
		t.Fatalf("undo: %+v, %v", res, err)
	}
	notice := workOrder()
	notice.Step, notice.Undo = kamflow.StepNotifyCustomer, true
	if res, err := env.step(a, notice); err != nil || res != (activities.StepResult{}) {
		t.Fatalf("undo of the notice: %+v, %v", res, err)
	}
	reqs, bodies := fs.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	if reqs[0].Header.Get(activities.HeaderEvent) != activities.EventDeliveryStepUndo ||
		reqs[0].Header.Get(activities.HeaderDelivery) != "d1/installation/2/work_order/undo" {
		t.Errorf("headers %v", reqs[0].Header)
	}
	var got activities.FieldServiceStep
	if err := json.Unmarshal(bodies[0], &got); err != nil || !got.Undo || got.Ref != "WO-1234" || got.Event != activities.EventDeliveryStepUndo {
		t.Errorf("body %s (%v)", bodies[0], err)
	}
}

// A 2xx answer is the step done: without JSON, or without a ref, it has none; a long ref is cut.
func TestDeliveryStepAnswers(t *testing.T) {
	for body, want := range map[string]string{
		"":                   "",
		"OK":                 "",
		`{}`:                 "",
		`{"ref":"  RES-9 "}`: "RES-9",
		`{"ref":"` + strings.Repeat("工", 100) + `"}`: strings.Repeat("工", 66),
	} {
		fs := newFieldService(t, answering(http.StatusAccepted, body))
		a := &activities.DeliveryActivities{FieldService: &activities.FieldService{URL: fs.URL}}
		res, err := newDeliveryEnv(context.Background(), a).step(a, workOrder())
		if err != nil || res != (activities.StepResult{Ref: want}) {
			t.Errorf("answer %.20q: %+v, %v; want ref %.20q", body, res, err, want)
		}
	}
}

// Without a field-service system, a step is recorded in kamflow only, said once in the log.
func TestDeliveryStepLocal(t *testing.T) {
	for _, fs := range []*activities.FieldService{nil, {URL: ""}} {
		a := &activities.DeliveryActivities{FieldService: fs}
		env := newDeliveryEnv(context.Background(), a)
		res, err := env.step(a, workOrder())
		if err != nil || res != (activities.StepResult{Local: true}) {
			t.Errorf("%+v, %v", res, err)
		}
		if n := env.logs.count("INFO no field-service system"); n != 1 {
			t.Errorf("said %d times: %v", n, env.logs.msgs)
		}
	}
}

// A request that lacks what makes its key fails for good.
func TestDeliveryStepInvalid(t *testing.T) {
	a := &activities.DeliveryActivities{}
	env := newDeliveryEnv(context.Background(), a)
	for _, r := range []activities.StepRequest{
		{Task: "installation", Step: "work_order", Run: 1},
		{DealID: "d1", Step: "work_order", Run: 1},
		{DealID: "d1", Task: "installation", Run: 1},
		{DealID: "d1", Task: "installation", Step: "work_order"},
	} {
		_, err := env.step(a, r)
		if ae := appError(err); ae == nil || !ae.NonRetryable() || ae.Type() != activities.InvalidStepRequest {
			t.Errorf("%+v: %v", r, err)
		}
	}
}

// A cancelled step stops waiting for the answer at once.
func TestDeliveryStepCancelled(t *testing.T) {
	arrived := make(chan struct{})
	release := make(chan struct{})
	defer close(release)
	fs := newFieldService(t, func(r *http.Request) (int, string) {
		close(arrived)
		select {
		case <-r.Context().Done():
		case <-release:
		}
		return http.StatusOK, `{"ref":"late"}`
	})
	bg, cancel := context.WithCancel(context.Background())
	a := &activities.DeliveryActivities{FieldService: &activities.FieldService{URL: fs.URL}}
	env := newDeliveryEnv(bg, a)
	go func() {
		<-arrived
		cancel()
	}()
	start := time.Now()
	_, err := env.step(a, workOrder())
	// A cancellation by Temporal comes back as a canceled error; the test environment, cancelled by
	// its background context, fails the activity with the context's error.
	if ae := appError(err); !temporal.IsCanceledError(err) && (ae == nil || ae.Message() != context.Canceled.Error()) {
		t.Fatalf("cancelled: %v, want the context's error", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %s to stop", d)
	}
}

// deliveryStore is a kamflow.DeliveryStore that keeps the projected plans.
type deliveryStore struct {
	kamflow.DeliveryStore
	plans []*kamflow.DeliveryPlan
	err   error
}

func (s *deliveryStore) ProjectDelivery(_ context.Context, p *kamflow.DeliveryPlan, _ ...*kamflow.AuditEntry) error {
	s.plans = append(s.plans, p)
	return s.err
}

// ProjectDelivery hands the plan, as the workflow sent it, to the store, and its error back.
func TestDeliveryProject(t *testing.T) {
	store := &deliveryStore{}
	a := &activities.DeliveryActivities{Store: store}
	env := newDeliveryEnv(context.Background(), a)
	deal := &kamflow.Deal{ID: "d1", AccountID: "a1", Title: "宝钢冷轧线 DCS 改造", Engineers: []string{"eng1"}}
	p := kamflow.NewDeliveryPlan(deal, at)
	p.CloseProject(at)
	due, _ := p.NextVisitDue()
	p.AddVisit("eng1", due)
	if _, err := env.ExecuteActivity(a.ProjectDelivery, activities.DeliveryProjection{Plan: *p}); err != nil {
		t.Fatal(err)
	}
	if len(store.plans) != 1 {
		t.Fatalf("%d plans projected", len(store.plans))
	}
	wantJSON, _ := json.Marshal(p)
	gotJSON, _ := json.Marshal(store.plans[0])
	if string(gotJSON) != string(wantJSON) {
		t.Errorf("projected %s\nwant %s", gotJSON, wantJSON)
	}
	store.err = errors.New("db: connection refused")
	if _, err := env.ExecuteActivity(a.ProjectDelivery, activities.DeliveryProjection{Plan: *p}); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("the store's error: %v", err)
	}
	none := &activities.DeliveryActivities{}
	if _, err := newDeliveryEnv(context.Background(), none).ExecuteActivity(none.ProjectDelivery, activities.DeliveryProjection{Plan: *p}); err == nil {
		t.Error("projected without a store")
	}
}
