package activities

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/kamflow/kamflow"
)

// DeliveryActivities are the delivery workflows' activities: projecting a deal's delivery plan, and
// running the steps of a delivery task (see kamflow.DeliveryStep) against the customer's
// field-service or ERP system. They are a struct of their own, apart from Activities; register
// both on the worker (their method names differ).
//
// (The name Delivery is taken in this package by a notice's delivery on one channel.)
type DeliveryActivities struct {
	Store kamflow.DeliveryStore
	// FieldService receives each step. Nil (or without a URL): the site has no field-service
	// system connected, and a step is recorded in kamflow only — it succeeds at once with
	// StepResult.Local set and no Ref, and the engineers do the work order, the parts and the
	// customer's notice by hand.
	FieldService *FieldService
	// Now is the clock of the requests' timestamps; nil is time.Now.
	Now func() time.Time
}

// FieldService is the field-service / ERP system that runs the delivery steps: each step (and each
// undo of one) is POSTed to URL as JSON (a FieldServiceStep), signed with Secret in the scheme of
// the outgoing webhook (see Webhook):
//
//	Content-Type:        application/json
//	X-Kamflow-Event:     delivery.step, or delivery.step.undo for an undo
//	X-Kamflow-Delivery:  the step's idempotency key (FieldServiceStep.ID), the same on every retry
//	X-Kamflow-Timestamp: the Unix time (seconds) of the attempt
//	X-Kamflow-Signature: "v1=" + hex(HMAC-SHA256(Secret, timestamp + "." + body))
//
// The receiver verifies the signature (VerifySignature), does the step once per key — a repeat of
// a key it has done is answered as the first time, so that a retry after a lost answer does the
// work once — and answers 2xx, with {"ref": "WO-1234"} naming what it made (the ref is optional).
//
// A network error, 5xx or 429 fails the attempt and the workflow retries it. Any other 4xx is a
// refusal: the step fails for good at once (a non-retryable error of type
// FieldServiceRejected, whose message carries the start of the receiver's answer), and the
// workflow undoes the task's done steps. An undo refused so (or still failing after a day of
// retries) leaves its task undo_failed: what the step made is to be cleaned up by hand.
type FieldService struct {
	URL    string
	Secret string
	// Client sends the requests; nil is a client with a 10-second timeout.
	Client *http.Client
}

// The events of the field-service requests.
const (
	EventDeliveryStep     = "delivery.step"
	EventDeliveryStepUndo = "delivery.step.undo"
)

// The types of RunDeliveryStep's non-retryable application errors (temporal.ApplicationError.Type).
const (
	// FieldServiceRejected: the field-service system refused the step (a 4xx answer other than
	// 429). The error's details are the answer's status code.
	FieldServiceRejected = "FieldServiceRejected"
	// InvalidStepRequest: the StepRequest lacks its deal, task, step or run, a bug of the caller
	// that no retry mends.
	InvalidStepRequest = "InvalidStepRequest"
)

// StepRequest asks for one step of a run of a delivery task, or for its undo.
type StepRequest struct {
	DealID    string `json:"deal_id"`
	AccountID string `json:"account_id"`
	Site      string `json:"site"`
	Task      string `json:"task"`
	Step      string `json:"step"`
	// Run is the task's run (DeliveryTask.Runs) the step belongs to: a retried task runs its
	// steps again, under new idempotency keys.
	Run      int    `json:"run"`
	Undo     bool   `json:"undo"`
	Assignee string `json:"assignee,omitempty"`
	// Ref is, for an undo, what the step returned (the work order to cancel).
	Ref string `json:"ref,omitempty"`
}

// Key is the request's idempotency key: <deal>/<task>/<run>/<step>, with /undo for an undo.
func (r StepRequest) Key() string {
	k := r.DealID + "/" + r.Task + "/" + strconv.Itoa(r.Run) + "/" + r.Step
	if r.Undo {
		k += "/undo"
	}
	return k
}

// StepResult is a step's outcome: Ref is what the field-service system answered (empty when it
// named nothing); Local is set when no field-service system is configured and the step was only
// recorded in kamflow.
type StepResult struct {
	Ref   string `json:"ref"`
	Local bool   `json:"local"`
}

// FieldServiceStep is the JSON body of a field-service request. It is the same on every retry of a
// step.
type FieldServiceStep struct {
	ID        string `json:"id"` // the idempotency key, as in X-Kamflow-Delivery
	Event     string `json:"event"`
	DealID    string `json:"deal_id"`
	AccountID string `json:"account_id"`
	Site      string `json:"site"`
	Task      string `json:"task"`
	Step      string `json:"step"`
	Run       int    `json:"run"`
	Undo      bool   `json:"undo"`
	Assignee  string `json:"assignee,omitempty"`
	Ref       string `json:"ref,omitempty"`
}

// StepHeartbeat is the detail of a running step's heartbeats: how far it got (0–100) and what it
// is doing.
type StepHeartbeat struct {
	Progress int    `json:"progress"`
	Note     string `json:"note"`
}

// Limits on what is read of an answer: a ref longer than maxRef is cut (kamflow keeps it in the
// plan); a refusal's message is the first maxRefusal bytes of its body.
const (
	maxAnswer  = 64 << 10
	maxRef     = 200
	maxRefusal = 300
)

// waitBeat is how often a step heartbeats while it waits for the answer: every 5 seconds, or
// three times per heartbeat timeout if that is shorter. A cancellation of the activity (the task
// cancelled) reaches it only in the answer to a heartbeat, and a step that stops heartbeating for
// longer than its heartbeat timeout is taken for lost. (The SDK sends at most one heartbeat per
// 80% of the timeout, so beating more often costs nothing.)
func waitBeat(ctx context.Context) time.Duration {
	const most = 5 * time.Second
	if hb := activity.GetInfo(ctx).HeartbeatTimeout; hb > 0 && hb/3 < most {
		return max(hb/3, 10*time.Millisecond)
	}
	return most
}

func (a *DeliveryActivities) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

// DeliveryProjection is a change of a delivery plan to write: the plan as it now stands and the
// change's audit entry, if any.
type DeliveryProjection struct {
	Plan  kamflow.DeliveryPlan `json:"plan"`
	Audit *kamflow.AuditEntry  `json:"audit,omitempty"`
}

// ProjectDelivery writes the plan, its service visits and the change's audit entry to the store,
// whose seq guard makes retries and late writes harmless.
func (a *DeliveryActivities) ProjectDelivery(ctx context.Context, p DeliveryProjection) error {
	if a.Store == nil {
		return errors.New("delivery: no store to project the plan to")
	}
	return a.Store.ProjectDelivery(ctx, &p.Plan, p.Audit)
}

// RunDeliveryStep does one step of a delivery task (or undoes it) in the field-service system and
// returns its ref. Without a field-service system the step is recorded in kamflow only (see
// DeliveryActivities.FieldService). An undo of a step without one (the customer's notice: see
// kamflow.Compensable) does nothing.
func (a *DeliveryActivities) RunDeliveryStep(ctx context.Context, r StepRequest) (StepResult, error) {
	log := activity.GetLogger(ctx)
	if r.DealID == "" || r.Task == "" || r.Step == "" || r.Run < 1 {
		return StepResult{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("delivery step %q needs a deal, a task, a step and a run from 1", r.Key()), InvalidStepRequest, nil)
	}
	if err := ctx.Err(); err != nil {
		return StepResult{}, err
	}
	if r.Undo && !kamflow.Compensable(r.Step) {
		log.Warn("delivery step has no undo: nothing done", "key", r.Key())
		return StepResult{}, nil
	}
	fs := a.FieldService
	if fs == nil || fs.URL == "" {
		log.Info("no field-service system configured: delivery step recorded in kamflow only", "key", r.Key())
		return StepResult{Local: true}, nil
	}
	event := EventDeliveryStep
	if r.Undo {
		event = EventDeliveryStepUndo
	}
	body, err := json.Marshal(FieldServiceStep{ID: r.Key(), Event: event, DealID: r.DealID, AccountID: r.AccountID,
		Site: r.Site, Task: r.Task, Step: r.Step, Run: r.Run, Undo: r.Undo, Assignee: r.Assignee, Ref: r.Ref})
	if err != nil {
		return StepResult{}, fmt.Errorf("delivery: encode step %s: %w", r.Key(), err)
	}
	ts := a.now().Unix()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, fs.URL, bytes.NewReader(body))
	if err != nil {
		// A URL that does not parse: retrying cannot help, but the operator can fix the
		// configuration meanwhile, so the attempt fails like a network error.
		return StepResult{}, fmt.Errorf("delivery: step %s: %w", r.Key(), err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "kamflow-delivery/1")
	req.Header.Set(HeaderEvent, event)
	req.Header.Set(HeaderDelivery, r.Key())
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(HeaderSignature, Sign(fs.Secret, ts, body))
	c := fs.Client
	if c == nil {
		c = defaultClient
	}

	activity.RecordHeartbeat(ctx, StepHeartbeat{Progress: 10, Note: "sending " + r.Key() + " to the field-service system"})
	stop := make(chan struct{})
	beating := make(chan struct{})
	go func() {
		defer close(beating)
		t := time.NewTicker(waitBeat(ctx))
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				activity.RecordHeartbeat(ctx, StepHeartbeat{Progress: 50, Note: "waiting for the field-service system's answer"})
			}
		}
	}()
	resp, err := c.Do(req)
	var answer []byte
	if err == nil {
		answer, err = io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
		io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20)) // let the connection be reused
		resp.Body.Close()
	}
	close(stop)
	<-beating
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return StepResult{}, ctxErr // cancelled or timed out: the workflow decides what follows
		}
		// The client's error names the URL, which may carry a token: only its cause is kept.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return StepResult{}, fmt.Errorf("delivery: step %s: the field-service system: %w", r.Key(), err)
	}
	activity.RecordHeartbeat(ctx, StepHeartbeat{Progress: 100, Note: "the field-service system answered " + resp.Status})

	switch code := resp.StatusCode; {
	case code >= 200 && code <= 299:
	case code >= 400 && code <= 499 && code != http.StatusTooManyRequests:
		msg := "refused by the field-service system: " + resp.Status
		if s := strings.TrimSpace(cut(string(answer), maxRefusal)); s != "" {
			msg += ": " + s
		}
		return StepResult{}, temporal.NewNonRetryableApplicationError(msg, FieldServiceRejected, nil, code)
	default:
		// (Nor here the URL: errors go to the workflow's history.)
		return StepResult{}, fmt.Errorf("delivery: step %s: the field-service system answered %s: %s", r.Key(), resp.Status,
			strings.TrimSpace(cut(string(answer), maxRefusal)))
	}

	var out struct {
		Ref string `json:"ref"`
	}
	if len(bytes.TrimSpace(answer)) > 0 {
		// The step is done: an answer that is not the expected JSON loses its ref, nothing else.
		// Failing would make the workflow ask again, and the receiver answer the same, forever.
		if err := json.Unmarshal(answer, &out); err != nil {
			log.Warn("the field-service system's answer is not JSON with a ref: step done without one", "key", r.Key(), "error", err)
		}
	}
	ref := strings.TrimSpace(out.Ref)
	if len(ref) > maxRef {
		log.Warn("the field-service system's ref is too long: cut", "key", r.Key(), "length", len(ref))
		ref = cut(ref, maxRef)
	}
	return StepResult{Ref: ref}, nil
}

// cut returns s cut to at most n bytes, at a character's boundary, and made valid UTF-8.
func cut(s string, n int) string {
	if len(s) > n {
		for n > 0 && !utf8.RuneStart(s[n]) {
			n--
		}
		s = s[:n]
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}
