package api_test

import (
	"context"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/activities"
)

// StartHandover is the handover's workflow in process: the same steps (activities.Handovers) in
// the workflow's order — record it, then reassign each of its deals through the deal's "workflow"
// (this double's Execute) — before it returns, so that the request's short wait finds the
// handover finished. A step that fails without a domain answer is tried again, a few times, as
// the workflow's retry policy would, and then given up as the workflow does.
func (s *fakeService) StartHandover(ctx context.Context, h kamflow.Handover, by kamflow.Actor) error {
	if err := s.failure(); err != nil {
		return err
	}
	store, _ := s.deals.(kamflow.HandoverStore)
	a := &activities.Handovers{Store: store, Deals: s.deals, Service: s, Now: s.now}
	ctx = context.WithoutCancel(ctx) // the workflow runs on, whatever becomes of the request
	rec, err := a.RecordHandover(ctx, h)
	if err != nil {
		return err
	}
	for _, deal := range rec.Pending() {
		in := activities.HandoverDealInput{Handover: h, DealID: deal, By: by}
		var err error
		for range 3 {
			if _, err = a.ReassignHandoverDeal(ctx, in); err == nil {
				break
			}
		}
		if err != nil {
			if _, err := a.GiveUpHandoverDeal(ctx, in, err.Error()); err != nil {
				return err
			}
		}
	}
	return nil
}
