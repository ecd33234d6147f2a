// Package requestid carries the ID of the HTTP request behind a change from the API to the logs
// of the workflows and activities that carry it out: on a context.Context in the API and the
// activities, on a workflow.Context in the workflows, and between them in the Temporal headers of
// the Start, Update and Signal requests and of the activities scheduled (Propagator). The worker's
// Interceptor adds it as request_id to every logger that workflow.GetLogger and activity.GetLogger
// hand out while it is known.
//
// The workflow side (FromWorkflow, WithWorkflow) is deterministic: it only reads and sets a
// context value.
package requestid

import (
	"context"

	"github.com/google/uuid"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/workflow"
)

const (
	// Header is the HTTP header a client may send its request's ID in, and the API answers it in.
	Header = "X-Request-ID"
	// LogKey is the attribute the ID is logged under.
	LogKey = "request_id"
	// MaxLen bounds an accepted ID, in bytes.
	MaxLen = 128
	// temporalHeader is the field of the Temporal headers that holds the ID.
	temporalHeader = "kamflow-request-id"
)

// Valid reports whether id may be taken as a request's ID as a client sent it: 1 to MaxLen
// characters among ASCII letters, digits and - _ . : / + = (UUIDs, ULIDs, trace-ish IDs, base64),
// so that it can be logged and answered as it is.
func Valid(id string) bool {
	if id == "" || len(id) > MaxLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-', c == '_', c == '.', c == ':', c == '/', c == '+', c == '=':
		default:
			return false
		}
	}
	return true
}

// New is a new request ID: a UUIDv7, which sorts by time.
func New() string { return uuid.Must(uuid.NewV7()).String() }

// key is the context key of the ID, in both kinds of context.
type key struct{}

// With returns ctx carrying id; an empty id hides any the parent carried.
func With(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, key{}, id)
}

// From is the request ID ctx carries, or "".
func From(ctx context.Context) string {
	id, _ := ctx.Value(key{}).(string)
	return id
}

// WithWorkflow returns the workflow context ctx carrying id; an empty id hides any the parent
// carried. Activities and child workflows scheduled on it, and its logger, carry it.
func WithWorkflow(ctx workflow.Context, id string) workflow.Context {
	return workflow.WithValue(ctx, key{}, id)
}

// FromWorkflow is the request ID the workflow context ctx carries, or "". In an Update's or
// Signal's handler it is the ID of the request that sent it; in the workflow's own code, that
// of the request that started it.
func FromWorkflow(ctx workflow.Context) string {
	id, _ := ctx.Value(key{}).(string)
	return id
}

// Propagator carries the ID in the Temporal headers: set it on the client's options
// (client.Options.ContextPropagators), which the worker made on the client takes too, and on a
// test environment (SetContextPropagators).
func Propagator() workflow.ContextPropagator { return propagator{} }

type propagator struct{}

func (propagator) Inject(ctx context.Context, w workflow.HeaderWriter) error {
	return inject(From(ctx), w)
}

func (propagator) InjectFromWorkflow(ctx workflow.Context, w workflow.HeaderWriter) error {
	return inject(FromWorkflow(ctx), w)
}

func (propagator) Extract(ctx context.Context, r workflow.HeaderReader) (context.Context, error) {
	return With(ctx, extract(r)), nil
}

func (propagator) ExtractToWorkflow(ctx workflow.Context, r workflow.HeaderReader) (workflow.Context, error) {
	// Set even when absent: an Update's context derives from the workflow's root context, which
	// carries the ID of the request that started the workflow, not of this one.
	return WithWorkflow(ctx, extract(r)), nil
}

func inject(id string, w workflow.HeaderWriter) error {
	if id == "" {
		return nil
	}
	p, err := converter.GetDefaultDataConverter().ToPayload(id)
	if err != nil {
		return err
	}
	w.Set(temporalHeader, p)
	return nil
}

// extract reads the ID from the headers; one that is not a valid ID (not sent by kamflow) is
// ignored rather than failing the task that carries it.
func extract(r workflow.HeaderReader) string {
	p, ok := r.Get(temporalHeader)
	if !ok {
		return ""
	}
	var id string
	if converter.GetDefaultDataConverter().FromPayload(p, &id) != nil || !Valid(id) {
		return ""
	}
	return id
}

// Interceptor adds request_id to the loggers of workflow.GetLogger and activity.GetLogger when
// their context carries an ID. It is a worker interceptor (worker.Options.Interceptors), and a
// client one that changes nothing of the client's calls, so that set on client.Options it
// reaches every worker made on the client.
func Interceptor() interceptor.Interceptor { return &workerInterceptor{} }

type workerInterceptor struct {
	interceptor.InterceptorBase
}

func (*workerInterceptor) InterceptWorkflow(_ workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	i := &workflowInbound{}
	i.Next = next
	return i
}

func (*workerInterceptor) InterceptActivity(_ context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	i := &activityInbound{}
	i.Next = next
	return i
}

type workflowInbound struct {
	interceptor.WorkflowInboundInterceptorBase
	signals signalIDs
}

// signalIDs holds, per signal name, the request IDs of the signals received and not yet taken
// (Signalled), oldest first. A signal's value goes onto its channel with no context, so its ID
// waits here, in the order the channel gives the values, until the workflow takes the value.
type signalIDs map[string][]string

// maxSignalIDs bounds the IDs kept per signal name, for signals whose workflow never asks.
const maxSignalIDs = 256

type signalsKey struct{}

func (i *workflowInbound) ExecuteWorkflow(ctx workflow.Context, in *interceptor.ExecuteWorkflowInput) (any, error) {
	if i.signals == nil {
		i.signals = signalIDs{}
	}
	return i.Next.ExecuteWorkflow(workflow.WithValue(ctx, signalsKey{}, i.signals), in)
}

func (i *workflowInbound) HandleSignal(ctx workflow.Context, in *interceptor.HandleSignalInput) error {
	// A signal may come before ExecuteWorkflow runs (signal-with-start).
	if i.signals == nil {
		i.signals = signalIDs{}
	}
	ids := append(i.signals[in.SignalName], FromWorkflow(ctx))
	if len(ids) > maxSignalIDs {
		ids = ids[len(ids)-maxSignalIDs:]
	}
	i.signals[in.SignalName] = ids
	return i.Next.HandleSignal(ctx, in)
}

// Signalled is the request ID of the oldest signal of that name received and not yet taken, or
// "", and takes it: call it once each time a value is received from the signal's channel, so that
// the logs and activities of the change that signal causes carry the ID of the request behind it
// (WithWorkflow). Without the worker's Interceptor it is always "". Deterministic: the IDs come
// from the signals' headers, in the order of the history.
func Signalled(ctx workflow.Context, signal string) string {
	ids, _ := ctx.Value(signalsKey{}).(signalIDs)
	q := ids[signal]
	if len(q) == 0 {
		return ""
	}
	ids[signal] = q[1:]
	return q[0]
}

func (i *workflowInbound) Init(outbound interceptor.WorkflowOutboundInterceptor) error {
	o := &workflowOutbound{}
	o.Next = outbound
	return i.Next.Init(o)
}

type workflowOutbound struct {
	interceptor.WorkflowOutboundInterceptorBase
}

func (o *workflowOutbound) GetLogger(ctx workflow.Context) log.Logger {
	l := o.Next.GetLogger(ctx)
	if id := FromWorkflow(ctx); id != "" {
		return log.With(l, LogKey, id)
	}
	return l
}

type activityInbound struct {
	interceptor.ActivityInboundInterceptorBase
}

func (i *activityInbound) Init(outbound interceptor.ActivityOutboundInterceptor) error {
	o := &activityOutbound{}
	o.Next = outbound
	return i.Next.Init(o)
}

type activityOutbound struct {
	interceptor.ActivityOutboundInterceptorBase
}

func (o *activityOutbound) GetLogger(ctx context.Context) log.Logger {
	l := o.Next.GetLogger(ctx)
	if id := From(ctx); id != "" {
		return log.With(l, LogKey, id)
	}
	return l
}
