package api_test

import (
	"context"
	"sync"

	"github.com/kamflow/kamflow"
)

// The fake deal service also plays the delivery workflows, on the same stores and under the same
// rules: a deal entering delivery gets the default plan; a command is checked (the Update
// validator) and applied; a started task's steps all succeed at once (as with no field-service
// system configured) and a cancelled one's undos too, unless the field-service double refuses them
// (refuseUndo): the task is then undo_failed, its engineer and the KAM are told, and the deal is told
// its hold; the acceptance test's outcome and the punch list are recorded on the deal, closing the
// project starts the service, and runVisits creates the visits whose day has come.

var _ kamflow.DeliveryService = (*fakeService)(nil)

// refusedUndos are the undos the field-service double refuses, by service and "deal/task".
var refusedUndos sync.Map // *fakeService → *sync.Map of "deal/task" → true

// refuseUndo makes the field-service double refuse, for good, every undo of the deal's task.
func (s *fakeService) refuseUndo(dealID, task string) {
	m, _ := refusedUndos.LoadOrStore(s, &sync.Map{})
	m.(*sync.Map).Store(dealID+"/"+task, true)
}

func (s *fakeService) undoRefused(dealID, task string) bool {
	m, ok := refusedUndos.Load(s)
	if !ok {
		return false
	}
	_, refused := m.(*sync.Map).Load(dealID + "/" + task)
	return refused
}

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
	held := p.Hold()
	if err := p.Apply(cmd, now); err != nil {
		return nil, err
	}
	if err := s.deliveries.ProjectDelivery(ctx, p, kamflow.DeliveryAudit(cmd, p, now)); err != nil {
		return nil, err
	}
	// The acceptance signal to the deal, whose own rules decide the accepted gate item.
	if n, ok := p.AcceptanceNoticeOf(cmd); ok {
		if err := s.signal(ctx, dealID, kamflow.DealEvent{Kind: kamflow.EvAcceptance, Acceptance: &n}); err != nil {
			return nil, err
		}
	}
	if t := p.Task(cmd.Task); t != nil && (t.Status == kamflow.TaskRunning || t.Status == kamflow.TaskUndoing) {
		for next := t.NextStep(); next != ""; next = t.NextStep() {
			p.StepStarted(t.Key, next, now)
			p.StepDone(t.Key, next, "", now)
		}
		for t.Status == kamflow.TaskUndoing && len(t.ToCompensate()) > 0 {
			step := t.ToCompensate()[0]
			if s.undoRefused(dealID, t.Key) {
				p.StepUndoFailed(t.Key, step, "refused by the field-service system: 409 Conflict: the work order is invoiced", now)
			} else {
				p.StepCompensated(t.Key, step, now)
			}
		}
		var audit []*kamflow.AuditEntry
		if t.Status == kamflow.TaskUndoFailed {
			audit = append(audit, kamflow.UndoFailedAudit(p, t.Key, now))
		}
		if err := s.deliveries.ProjectDelivery(ctx, p, audit...); err != nil {
			return nil, err
		}
		if err := s.notes.Notify(ctx, p.UndoFailedNotices(t.Key, d, now)); err != nil {
			return nil, err
		}
	}
	// The deal is told its hold whenever the undo_failed tasks change.
	if h := p.Hold(); !h.Same(held) {
		if err := s.signal(ctx, dealID, kamflow.DealEvent{Kind: kamflow.EvDeliveryHold, Hold: &h}); err != nil {
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
		visits := p.DueVisits(d, now)
		if len(visits) == 0 {
			continue
		}
		notes := p.VisitNotices(visits, now)
		if err := s.deliveries.ProjectDelivery(ctx, p); err != nil {
			return err
		}
		if err := s.notes.Notify(ctx, notes); err != nil {
			return err
		}
	}
	return nil
}
