package kamflow

import (
	"context"
	"time"
)

// This file holds the handover of an account as a job: a sales director hands an account to
// another KAM of its team (HandoverInput, validated by the API), and a workflow on the worker
// carries it out (HandoverService). Its first step records the new owner, the audit entry and the
// handover record with the deals to reassign, in one transaction (HandoverStore.RecordHandover);
// then each of those deals is reassigned through its own workflow, as the director, and the
// record counts them as they go (HandoverStore.FinishHandoverDeal). The record is what the
// account page shows; a restart of any process changes nothing in the outcome, for the workflow
// carries on and every step is idempotent.

// HandoverStatus is where a handover stands.
type HandoverStatus string

// The statuses of a handover. A finished handover is done, done_with_refusals or conflict.
const (
	// HandoverPending is a handover whose workflow has started but not recorded it yet: it is only
	// ever an answer of the API, never stored.
	HandoverPending HandoverStatus = "pending"
	// HandoverRunning: the account has its new owner, and its deals are being reassigned.
	HandoverRunning HandoverStatus = "running"
	// HandoverDone: every deal to reassign is the new owner's.
	HandoverDone HandoverStatus = "done"
	// HandoverDoneWithRefusals: every deal has been tried, and at least one refused (closed
	// meanwhile, say): those keep their owner, listed with the reason, for a director to reassign
	// by hand (POST /deals/{id}/reassign) or to leave.
	HandoverDoneWithRefusals HandoverStatus = "done_with_refusals"
	// HandoverConflict: when the workflow came to record it, the account was no longer the
	// previous owner's (another handover, say). Nothing was changed; Message says who owns it.
	HandoverConflict HandoverStatus = "conflict"
)

// Finished reports whether the handover has ended.
func (s HandoverStatus) Finished() bool {
	return s == HandoverDone || s == HandoverDoneWithRefusals || s == HandoverConflict
}

// HandoverDealStatus is where one deal of a handover stands.
type HandoverDealStatus string

// The statuses of a deal of a handover.
const (
	HandoverDealPending HandoverDealStatus = "pending"
	HandoverDealDone    HandoverDealStatus = "done"    // the new owner's (reassigned, or already)
	HandoverDealRefused HandoverDealStatus = "refused" // the deal refused its reassignment: see Code
)

// HandoverDeal is one deal of a handover.
type HandoverDeal struct {
	DealID string `json:"deal_id"`
	// Title is the deal's title as it now is (read with the record).
	Title  string             `json:"title"`
	Status HandoverDealStatus `json:"status"`
	// Code and Message are the deal's refusal (an error code, such as wrong_stage for a deal
	// closed meanwhile) when refused.
	Code    string `json:"code,omitempty"`
	Message string `json:"message,omitempty"`
}

// HandoverRecord is a handover as recorded: who handed the account from whom to whom and why, and
// its progress — Done of Total deals reassigned, Refused refused — deal by deal.
type HandoverRecord struct {
	ID        string         `json:"id"`
	AccountID string         `json:"account_id"`
	From      string         `json:"from"`
	To        string         `json:"to"`
	Reason    string         `json:"reason"`
	By        string         `json:"by"`
	At        time.Time      `json:"at"`
	Status    HandoverStatus `json:"status"`
	// Message says why a handover is conflict.
	Message    string         `json:"message,omitempty"`
	Total      int            `json:"total"`
	Done       int            `json:"done"`
	Refused    int            `json:"refused"`
	Deals      []HandoverDeal `json:"deals"`
	UpdatedAt  time.Time      `json:"updated_at"`
	FinishedAt *time.Time     `json:"finished_at,omitempty"`
}

// Pending lists the deals not yet tried to the end, in the record's order.
func (r *HandoverRecord) Pending() []string {
	var out []string
	for _, d := range r.Deals {
		if d.Status == HandoverDealPending {
			out = append(out, d.DealID)
		}
	}
	return out
}

// PendingHandover is the answer for a handover whose workflow has not recorded it yet.
func PendingHandover(h Handover) *HandoverRecord {
	return &HandoverRecord{ID: h.ID, AccountID: h.AccountID, From: h.From, To: h.To, Reason: h.Reason, By: h.By,
		At: h.At, Status: HandoverPending, Deals: []HandoverDeal{}, UpdatedAt: h.At}
}

// HandoverRequestID is the request id of the reassignment of a deal by a handover: the deal's
// workflow takes it once, however often the step is retried.
func HandoverRequestID(handoverID, dealID string) string {
	return "handover:" + handoverID + ":" + dealID
}

// HandoverReason is the reason recorded on each deal a handover reassigns.
func HandoverReason(h Handover) string { return "account handover: " + h.Reason }

// HandoverStore keeps the handovers of accounts.
type HandoverStore interface {
	// RecordHandover records h, in one transaction: the account's new owner (if h.From still owns
	// it), HandoverAudit, and the handover record (running, or done without deals) listing the
	// account's active deals that h.From owns. If h.From no longer owns it, only the record is
	// written, status conflict, without deals. A handover of h.ID recorded already is returned as
	// it is: recording is idempotent. not_found for no such account.
	RecordHandover(ctx context.Context, h Handover) (*HandoverRecord, error)
	// FinishHandoverDeal records how a deal of a running handover ended (done or refused, with
	// code and message) and counts it; once every deal has ended, the handover is done (or
	// done_with_refusals). A deal that has ended already is left as it is. It returns the record.
	FinishHandoverDeal(ctx context.Context, handoverID string, d HandoverDeal, at time.Time) (*HandoverRecord, error)
	// Handover returns a handover's record; not_found when none.
	Handover(ctx context.Context, id string) (*HandoverRecord, error)
	// LatestHandover returns the account's latest handover; not_found when it has none.
	LatestHandover(ctx context.Context, accountID string) (*HandoverRecord, error)
}

// HandoverService runs handovers: the workflows package on Temporal, one at a time per account.
type HandoverService interface {
	// StartHandover starts h's workflow, which reassigns the deals as by (the director). conflict
	// when a handover of the same account is running.
	StartHandover(ctx context.Context, h Handover, by Actor) error
}
