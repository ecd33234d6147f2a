package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/kamflow/kamflow"
)

// Handovers holds the steps of an account's handover (workflows.HandoverWorkflow): recording it,
// and reassigning each of its deals. The API's tests run the same methods in-process, so they
// must not need a Temporal activity context.
type Handovers struct {
	Store kamflow.HandoverStore
	// Deals reads a deal as stored, to see whether it is the new owner's already.
	Deals kamflow.DealStore
	// Service sends each deal its reassign command (the deal's workflow decides on it).
	Service kamflow.DealService
	Now     func() time.Time
}

func (a *Handovers) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now().UTC()
}

// HandoverRefused is the type of a non-retryable error of the handover's steps: the store refused
// the step with a domain error (the account gone, an invalid handover), which no retry changes.
const HandoverRefused = "handover_refused"

// RecordHandover records the handover (kamflow.HandoverStore.RecordHandover): the new owner, the
// audit entry and the record with its deals, in one transaction; a retry returns the record as it
// is. A domain error (no such account) fails for good; any other is retried.
func (a *Handovers) RecordHandover(ctx context.Context, h kamflow.Handover) (*kamflow.HandoverRecord, error) {
	rec, err := a.Store.RecordHandover(ctx, h)
	if err != nil {
		return nil, refusedOrRetry(err)
	}
	return rec, nil
}

// HandoverDealInput names a deal of a handover to reassign, and the director it is reassigned as.
type HandoverDealInput struct {
	Handover kamflow.Handover `json:"handover"`
	DealID   string           `json:"deal_id"`
	By       kamflow.Actor    `json:"by"`
}

// ReassignHandoverDeal gives a deal of the handover to its new owner through the deal's workflow,
// as the director, and records how it ended in the handover's record:
//   - done when the deal takes the command, or is the new owner's already (a retry of a command
//     that was taken, or a deal reassigned by hand meanwhile);
//   - refused, with the deal's error code and message, when the deal refuses with a domain error
//     (closed meanwhile, not running, forbidden…): no retry changes that;
//   - refused as a conflict, without a command, when the deal is neither the previous owner's nor
//     the new owner's: someone gave it to a third KAM after the handover was recorded;
//   - any other error (Temporal or the database away, a timeout) is returned, and retried.
//
// The command's request id is the handover's and the deal's (kamflow.HandoverRequestID), so a
// command sent again after a lost answer is taken once.
func (a *Handovers) ReassignHandoverDeal(ctx context.Context, in HandoverDealInput) (*kamflow.HandoverRecord, error) {
	h := in.Handover
	outcome := kamflow.HandoverDeal{DealID: in.DealID, Status: kamflow.HandoverDealDone}
	d, err := a.Deals.Deal(ctx, in.DealID)
	switch {
	case err == nil && d.Owner == h.To:
		// the new owner's already
	case err == nil && d.Owner != h.From:
		// Given to someone else since the handover was recorded (by hand, by a director): that
		// later decision stands.
		outcome.Status, outcome.Code = kamflow.HandoverDealRefused, kamflow.ECONFLICT
		outcome.Message = fmt.Sprintf("the deal's owner changed meanwhile: %s owns it now", d.Owner)
	case err != nil && !domainRefusal(err):
		return nil, err
	default:
		if err == nil {
			cmd := kamflow.Command{Kind: kamflow.CmdReassign, Actor: in.By,
				Reassign: &kamflow.ReassignInput{Owner: h.To, Reason: kamflow.HandoverReason(h)}}
			_, err = a.Service.Execute(ctx, in.DealID, cmd, kamflow.HandoverRequestID(h.ID, in.DealID))
		}
		if err != nil && !domainRefusal(err) {
			return nil, err
		}
		if err != nil {
			// The refusal may be of a command taken before (its answer lost): the deal says.
			if d, rerr := a.Deals.Deal(ctx, in.DealID); rerr == nil && d.Owner == h.To {
				break
			} else if rerr != nil && !domainRefusal(rerr) {
				return nil, rerr
			}
			outcome.Status, outcome.Code, outcome.Message = kamflow.HandoverDealRefused, kamflow.ErrorCode(err), kamflow.ErrorMessage(err)
		}
	}
	rec, err := a.Store.FinishHandoverDeal(ctx, h.ID, outcome, a.now())
	if err != nil {
		return nil, refusedOrRetry(err)
	}
	return rec, nil
}

// GiveUpHandoverDeal records a deal that could not be reassigned within the step's long bound
// (Temporal or the database away for hours) as refused, unavailable, so that the handover ends
// and a director sees what is left to reassign by hand.
func (a *Handovers) GiveUpHandoverDeal(ctx context.Context, in HandoverDealInput, why string) (*kamflow.HandoverRecord, error) {
	rec, err := a.Store.FinishHandoverDeal(ctx, in.Handover.ID, kamflow.HandoverDeal{DealID: in.DealID,
		Status: kamflow.HandoverDealRefused, Code: kamflow.EUNAVAILABLE, Message: why}, a.now())
	if err != nil {
		return nil, refusedOrRetry(err)
	}
	return rec, nil
}

// domainRefusal reports whether err is a deal's (or the store's) answer rather than a failure to
// get one: a coded error other than internal and unavailable.
func domainRefusal(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	switch kamflow.ErrorCode(err) {
	case "", kamflow.EINTERNAL, kamflow.EUNAVAILABLE, kamflow.EINPROGRESS:
		return false
	}
	return true
}

// refusedOrRetry makes a domain error non-retryable (HandoverRefused, the *kamflow.Error in its
// details) and leaves any other to be retried.
func refusedOrRetry(err error) error {
	if !domainRefusal(err) {
		return err
	}
	var e *kamflow.Error
	errors.As(err, &e)
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf("handover refused: %v", err), HandoverRefused, err, e)
}
