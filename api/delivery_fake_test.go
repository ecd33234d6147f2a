package api_test

import (
	"context"
	"fmt"

	"github.com/kamflow/kamflow"
)

// The fake deal service also plays the delivery workflows, on the same stores and under the same
// rules: a deal entering delivery gets the default plan; a command is checked (the Update
// validator) and applied; a started task's steps all succeed at once (as with no field-service
// system configured); the acceptance test's outcome and the punch list are recorded on the deal,
// closing the project starts the service, and runTimers creates the visits whose day has come.

var _ kamflow.DeliveryService = (*fakeService)(nil)

// ExecuteDelivery is the delivery workflow's Update.
func (s *fakeService) ExecuteDelivery(ctx context.Context, dealID string, cmd kamflow.DeliveryCommand, requestID string) (*kamflow.DeliveryPlan, error) {
	if err := s.failure(); err != nil {
		return nil, err
	}
	defer s.lock(dealID)()
	p, err := s.deliveries.DeliveryPlan(ctx, dealID)
	if kamflow.ErrorCode(err) == kamflow.ENOTFOUND {
		return nil, kamflow.Errorf(kamflow.EWRONGSTAGE, "the delivery of deal %s is not running", dealID)
	} else if err != nil {
		return nil, err
	}
	d, err := s.deals.Deal(ctx, dealID)
	if err != nil {
		return nil, err
	}
	if p.ServiceDone() {
		return nil, kamflow.Errorf(kamflow.EWRONGSTAGE, "the delivery of deal %s is not running", dealID)
	}
	if err := cmd.Actor.AuthorizeDelivery(cmd, d); err != nil { // the validator
		return nil, err
	}
	if err := p.Check(cmd); err != nil {
		return nil, err
	}
	now := s.now().UTC()
	if err := p.Apply(cmd, now); err != nil {
		return nil, err
	}
	if t := p.Task(cmd.Task); t != nil {
		for next := t.NextStep(); next != ""; next = t.NextStep() {
			p.StepStarted(t.Key, next, now)
			p.StepDone(t.Key, next, "", now)
		}
		if t.Status == kamflow.TaskUndoing {
			for _, step := range t.ToCompensate() {
				p.StepCompensated(t.Key, step, now)
			}
		}
	}
	if err := s.deliveries.ProjectDelivery(ctx, p, kamflow.DeliveryAudit(cmd, p, now)); err != nil {
		return nil, err
	}
	if cmd.Kind == kamflow.DelivResolve || (cmd.Kind == kamflow.DelivComplete && cmd.Task == kamflow.TaskAcceptanceTest) {
		result, open := p.Acceptance()
		// The acceptance signal to the deal, whose own rules decide the accepted gate item.
		n := kamflow.AcceptanceNotice{Result: result, Notes: p.Task(kamflow.TaskAcceptanceTest).Notes, OpenPunchItems: open, Actor: cmd.Actor}
		if err := s.signal(ctx, dealID, kamflow.DealEvent{Kind: kamflow.EvAcceptance, Acceptance: &n}); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// runVisits creates the service visits whose day has come, as the delivery workflows' timers do.
func (s *fakeService) runVisits(ctx context.Context, dealIDs ...string) error {
	for _, id := range dealIDs {
		p, err := s.deliveries.DeliveryPlan(ctx, id)
		if err != nil {
			return err
		}
		d, err := s.deals.Deal(ctx, id)
		if err != nil {
			return err
		}
		now := s.now().UTC()
		var notes []kamflow.Notification
		for _, v := range p.DueVisits(d, now) {
			notes = append(notes, kamflow.Notification{UserID: v.Assignee, DealID: id, Kind: "service_visit", Key: "visit:" + v.ID,
				Message: fmt.Sprintf("Service visit %d to %s is due", v.Round, v.Site), CreatedAt: now})
		}
		if len(notes) == 0 {
			continue
		}
		if err := s.deliveries.ProjectDelivery(ctx, p); err != nil {
			return err
		}
		if err := s.notes.Notify(ctx, notes); err != nil {
			return err
		}
	}
	return nil
}
