// Package kamflow is the domain of kamflow: industrial key-account sales (工业品大客户销售) run as
// six gated stages — development, entry, proposal, bid, negotiation, delivery — each of which a deal
// may leave only once its key node (gate) is reached, unless a director forces it.
//
// The package is pure Go and imports nothing else of kamflow. It holds the deal's state and the
// rules over it (commands, gates, assessment, grading, win probability), the error codes every
// layer speaks, and the store interfaces that the db package implements. The workflows package runs
// the rules inside a Temporal workflow; the api package turns HTTP into commands.
package kamflow

import (
	"errors"
	"fmt"
)

// Error codes. They are part of the API: clients and the UI's translations key on them, so an
// existing code never changes meaning.
const (
	EINVALID      = "invalid"      // the input is malformed or out of range
	ENOTFOUND     = "not_found"    // no such account, deal or setting
	EGATENOTMET   = "gate_not_met" // the current stage's key node is not reached
	EWRONGSTAGE   = "wrong_stage"  // the action does not fit the deal's stage or status
	ECONFLICT     = "conflict"     // the request collides with another (e.g. a reused Idempotency-Key)
	EFORBIDDEN    = "forbidden"    // the actor may not do this
	EUNAUTHORIZED = "unauthorized" // no valid credentials
	EUNAVAILABLE  = "unavailable"  // a dependency (Temporal, the database) is not answering
	EINTERNAL     = "internal"     // a bug or an unexpected failure; details are logged, not shown
	ETOOLARGE     = "too_large"    // the request body is over the limit
	ERATELIMITED  = "rate_limited" // too many attempts
	EINPROGRESS   = "in_progress"  // the first request with this Idempotency-Key is still being answered: retry after Retry-After
)

// Error is an error with a stable code, a human message and optional structured details (for
// gate_not_met, the missing gate keys under "missing").
type Error struct {
	Code    string         `json:"code"`
	Message string         `json:"message"`
	Details map[string]any `json:"details,omitempty"`
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// WithDetail returns e with key set in its details.
func (e *Error) WithDetail(key string, value any) *Error {
	if e.Details == nil {
		e.Details = map[string]any{}
	}
	e.Details[key] = value
	return e
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for any other error and
// "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the message of the first *Error in err's chain; other errors are internal
// and get a generic message, so that no SQL or stack detail reaches a client.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
