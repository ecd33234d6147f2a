package kamflow

import (
	"context"
	"errors"
)

// DealService runs deals: it is the only way to change one. The workflows package implements it
// on Temporal, where each deal is a long-running workflow and each command an Update.
type DealService interface {
	// CreateDeal starts the deal's workflow and returns once the deal is readable in the store.
	CreateDeal(ctx context.Context, d *Deal, created *StageTransition, s Settings) (*Deal, error)
	// Execute applies cmd to the deal and returns the deal after it, once the store shows it.
	// requestID deduplicates retries of the same request (an Idempotency-Key, say); "" for none.
	// A rejected command returns its *Error and changes nothing.
	Execute(ctx context.Context, dealID string, cmd Command, requestID string) (*Deal, error)
	// MarkContact is kamflow's own mark of a stakeholder gone stale or in contact again (the daily
	// run, a logged interaction). It reaches the deal by a path of its own, never as a user's
	// command; conflict when the deal is marked so already, invalid when it has no such
	// stakeholder.
	MarkContact(ctx context.Context, dealID string, mark ContactStaleInput, requestID string) (*Deal, error)
	// RetryProjection writes the changes of a deal that needs attention (see Attention) again, as
	// the admin by asks; conflict when the deal needs none. The deal is back to normal once
	// they are written.
	RetryProjection(ctx context.Context, dealID string, by Actor, requestID string) (*Deal, error)
}

// MissingKeys returns the gate keys listed under "missing" in err's details: what a rejected move
// still lacks. Details may have crossed a serialisation boundary, so both []string and []any are
// read.
func MissingKeys(err error) []string {
	var e *Error
	if !errors.As(err, &e) {
		return nil
	}
	switch v := e.Details["missing"].(type) {
	case []string:
		return v
	case []any:
		out := make([]string, 0, len(v))
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}
