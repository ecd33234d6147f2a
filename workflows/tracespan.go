package workflows

// TraceSpanKey is the workflow-context key under which the Temporal SDK's tracing interceptor
// keeps the current span (its TracerOptions.SpanContextKey, set by package telemetry). The deal
// and delivery loops take an Update handler's span onto the change they process, as they do the
// request ID, so that the change's activities are children of the Update's span, in the
// request's trace, rather than of the workflow run's. Nothing is kept when tracing is off.
var TraceSpanKey = traceSpanKey{}

type traceSpanKey struct{}
