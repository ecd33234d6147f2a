// Package engine is the adapter between kamflow and the Temporal service: the Client that
// implements the domain's DealService, EscalationService, DeliveryService, DeliveryLive and
// SettingsFanout on Temporal, the daily digest's Schedule, and the set-up of the search
// attributes the workflows set. The workflows themselves are in package workflows, which holds
// workflow code only, so that workflowcheck can check it all for determinism.
package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/activities"
	"github.com/kamflow/kamflow/workflows"
)

// Client implements kamflow.DealService, kamflow.EscalationService, kamflow.DeliveryService,
// kamflow.DeliveryLive and kamflow.SettingsFanout on a Temporal client, by starting, updating,
// signalling and describing the workflows of package workflows.
type Client struct {
	Temporal  client.Client
	TaskQueue string // workflows.TaskQueue when empty
	// Escalations, when set, is read by CreateDeal, so that a new deal starts under the escalation
	// ladder in force (its team's SLA, its director's rung). Without it a new deal has the default
	// ladder until the next ApplyEscalation.
	Escalations kamflow.EscalationStore
	// Settings, when set, is read by CreateDeal instead: the settings, the ladder and their
	// version together, so that a new deal holds the version it was opened with and ignores a
	// fan-out's message of it (or of an older one).
	Settings kamflow.SettingsEditor
	// Fanout are the knobs of the settings fan-out TellSettings starts (workflows.FanoutInput:
	// its wait, page size, rate and pages per run); zero for the defaults.
	Fanout workflows.FanoutInput
	// MaxUpdatesPerRun, when above 0, is the workflows.DealInput.MaxUpdatesPerRun of the deals
	// CreateDeal starts: their workflows continue as new after that many accepted changes instead
	// of when the server suggests. A test knob (KAMFLOW_MAX_UPDATES_PER_RUN in cmd/kamflow), so that
	// a test sees continue-as-new within a few changes; 0 in production.
	MaxUpdatesPerRun int
}

var (
	_ kamflow.DealService       = (*Client)(nil)
	_ kamflow.EscalationService = (*Client)(nil)
	_ kamflow.DeliveryService   = (*Client)(nil)
	_ kamflow.DeliveryLive      = (*Client)(nil)
	_ kamflow.SettingsFanout    = (*Client)(nil)
)

func (c *Client) taskQueue() string {
	if c.TaskQueue != "" {
		return c.TaskQueue
	}
	return workflows.TaskQueue
}

// CreateDeal starts the deal's workflow with an Update-With-Start of the snapshot update, which
// completes once the workflow has projected the deal: the caller can read it right away.
func (c *Client) CreateDeal(ctx context.Context, d *kamflow.Deal, created *kamflow.StageTransition, s kamflow.Settings) (*kamflow.Deal, error) {
	in := workflows.DealInput{Deal: *d, Settings: s, Created: created, MaxUpdatesPerRun: c.MaxUpdatesPerRun}
	if c.Settings != nil {
		v, err := c.Settings.VersionedSettings(ctx)
		if err != nil {
			return nil, err
		}
		in.Settings, in.Escalation, in.SettingsVersion = v.Settings, &v.Escalation, v.Version
	} else if c.Escalations != nil {
		e, err := c.Escalations.Escalation(ctx)
		if err != nil {
			return nil, err
		}
		in.Escalation = &e
	}
	start := c.Temporal.NewWithStartWorkflowOperation(client.StartWorkflowOptions{
		ID:                       workflows.WorkflowID(d.ID),
		TaskQueue:                c.taskQueue(),
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
	}, workflows.DealWorkflowName, in)
	h, err := c.Temporal.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: start,
		UpdateOptions: client.UpdateWorkflowOptions{
			WorkflowID:   workflows.WorkflowID(d.ID),
			UpdateName:   workflows.SnapshotUpdate,
			WaitForStage: client.WorkflowUpdateStageCompleted,
		},
	})
	if err != nil {
		return nil, c.mapError(err, d.ID)
	}
	var out kamflow.Deal
	if err := h.Get(ctx, &out); err != nil {
		return nil, c.mapError(err, d.ID)
	}
	return &out, nil
}

// Execute sends cmd as the Update of its kind and waits for it to complete. requestID becomes the
// Update ID, which the server deduplicates: a retried request applies the change once.
func (c *Client) Execute(ctx context.Context, dealID string, cmd kamflow.Command, requestID string) (*kamflow.Deal, error) {
	return c.update(ctx, dealID, string(cmd.Kind), requestID, cmd)
}

// update sends the deal's workflow the Update name with arg and waits for it to complete: the
// deal as the Update left it, once written. requestID becomes the Update ID.
func (c *Client) update(ctx context.Context, dealID, name, requestID string, arg any) (*kamflow.Deal, error) {
	var out kamflow.Deal
	err := c.send(ctx, client.UpdateWorkflowOptions{
		WorkflowID:   workflows.WorkflowID(dealID),
		UpdateID:     requestID,
		UpdateName:   name,
		Args:         []any{arg},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	}, &out)
	if err != nil {
		return nil, c.mapError(err, dealID)
	}
	return &out, nil
}

// send sends an Update and waits for its result in out. An Update refused by a run about to
// continue as new (ContinuingAsNew), or lost with a workflow task that failed (one that continued
// as new while more came in: WorkflowNotReady), is sent again: nothing of it is recorded, and the
// same Update ID is taken once, by the run that takes it.
func (c *Client) send(ctx context.Context, o client.UpdateWorkflowOptions, out any) error {
	for wait := 20 * time.Millisecond; ; wait = min(2*wait, 500*time.Millisecond) {
		h, err := c.Temporal.UpdateWorkflow(ctx, o)
		if err == nil {
			err = h.Get(ctx, out)
		}
		var app *temporal.ApplicationError
		var notReady *serviceerror.WorkflowNotReady
		if !(errors.As(err, &app) && app.Type() == workflows.ContinuingAsNew) && !errors.As(err, &notReady) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}

// ExecuteDelivery sends cmd to the deal's delivery workflow and waits for the change to complete
// (and be projected). requestID becomes the Update ID.
func (c *Client) ExecuteDelivery(ctx context.Context, dealID string, cmd kamflow.DeliveryCommand, requestID string) (*kamflow.DeliveryPlan, error) {
	var out kamflow.DeliveryPlan
	err := c.send(ctx, client.UpdateWorkflowOptions{
		WorkflowID:   workflows.DeliveryWorkflowID(dealID),
		UpdateID:     requestID,
		UpdateName:   workflows.DeliveryUpdate,
		Args:         []any{cmd},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	}, &out)
	if err != nil {
		return nil, c.mapDeliveryError(err, dealID)
	}
	return &out, nil
}

// LiveSteps reads the running steps of a deal's delivery from the workflow engine: each pending
// step activity's attempt, last heartbeat and last failure. A delivery not running has none.
func (c *Client) LiveSteps(ctx context.Context, dealID string) ([]kamflow.StepLive, error) {
	d, err := c.Temporal.DescribeWorkflowExecution(ctx, workflows.DeliveryWorkflowID(dealID), "")
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("temporal: describe the delivery of %s: %w", dealID, err)
	}
	var out []kamflow.StepLive
	for _, pa := range d.GetPendingActivities() {
		task, run, step, ok := kamflow.ParseStepActivityID(pa.GetActivityId())
		if !ok {
			continue
		}
		l := kamflow.StepLive{Task: task, Run: run, Step: step, Attempt: int(pa.GetAttempt())}
		if hb := pa.GetHeartbeatDetails(); hb != nil {
			var beat activities.StepHeartbeat
			if converter.GetDefaultDataConverter().FromPayloads(hb, &beat) == nil {
				l.Progress, l.Note = beat.Progress, beat.Note
			}
		}
		if f := pa.GetLastFailure(); f != nil {
			l.LastFailure = f.GetMessage()
		}
		out = append(out, l)
	}
	return out, nil
}

func (c *Client) mapDeliveryError(err error, dealID string) error {
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return kamflow.Errorf(kamflow.EWRONGSTAGE, "the delivery of deal %s is not running: it has not started, or its service has ended", dealID)
	}
	return c.mapError(err, dealID)
}

// signalsAtOnce bounds the signals ApplyEscalation has in flight: a round trip to the Temporal
// server each, which one after the other would bound a fan-out to a few dozen deals a second.
const signalsAtOnce = 16

// ApplyEscalation signals the settings and the escalation ladder, with their version, to each
// deal's workflow, so that deals already in a stage are held to its new SLA and director's rung.
// A deal that ended meanwhile is skipped; any other failure is returned after trying the rest.
func (c *Client) ApplyEscalation(ctx context.Context, v kamflow.VersionedSettings, dealIDs []string) error {
	u := workflows.SettingsUpdate{Settings: v.Settings, Escalation: v.Escalation, Version: v.Version}
	errs := make([]error, len(dealIDs))
	sem := make(chan struct{}, signalsAtOnce)
	var wg sync.WaitGroup
	for i, id := range dealIDs {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			err := c.Temporal.SignalWorkflow(ctx, workflows.WorkflowID(id), "", workflows.EscalationSignal, u)
			var nf *serviceerror.NotFound
			if err != nil && !errors.As(err, &nf) {
				errs[i] = fmt.Errorf("deal %s: %w", id, err)
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// TellSettings signals-with-start the settings fan-out (workflows.SettingsFanoutWorkflow) with a
// version stored or about to be: it tells every active deal the settings as stored once a
// version above what it has told is there.
func (c *Client) TellSettings(ctx context.Context, version int64) error {
	_, err := c.Temporal.SignalWithStartWorkflow(ctx, workflows.SettingsFanoutID, workflows.SettingsFanoutSignal, version,
		client.StartWorkflowOptions{
			ID:        workflows.SettingsFanoutID,
			TaskQueue: c.taskQueue(),
			// A fan-out that ended (or failed) is started again; a running one takes the signal.
			WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		}, workflows.SettingsFanoutWorkflowName, c.Fanout)
	if err != nil {
		return fmt.Errorf("temporal: tell the settings fan-out of version %d: %w", version, err)
	}
	return nil
}

func (c *Client) mapError(err error, dealID string) error {
	var nf *serviceerror.NotFound
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	var waited *client.WorkflowUpdateServiceTimeoutOrCanceledError
	switch {
	case errors.As(err, &nf):
		return kamflow.Errorf(kamflow.ENOTFOUND, "deal %s is not running", dealID)
	case errors.As(err, &started):
		return kamflow.Errorf(kamflow.ECONFLICT, "deal %s exists already", dealID)
	case errors.As(err, &waited):
		// The call's deadline passed before the Update completed (the server's answer is a gRPC
		// DeadlineExceeded, not context.DeadlineExceeded): the change may still be applied, and
		// a retry with the same request ID (the Update ID) applies it once.
		return kamflow.Errorf(kamflow.EUNAVAILABLE, "the deal service did not answer in time; the change may still be applied: retry with the same Idempotency-Key")
	}
	if mapped := workflows.FromError(err); mapped != err {
		return mapped
	}
	return fmt.Errorf("temporal: %w", err)
}

// MarkContact sends kamflow's own stale-contact mark by its own Update, never as a person's
// command (workflows.MarkContactUpdate).
func (c *Client) MarkContact(ctx context.Context, dealID string, mark kamflow.ContactStaleInput, requestID string) (*kamflow.Deal, error) {
	return c.update(ctx, dealID, workflows.MarkContactUpdate, requestID, mark)
}

// RetryProjection asks a deal that needs attention to write its held changes, as the admin by.
func (c *Client) RetryProjection(ctx context.Context, dealID string, by kamflow.Actor, requestID string) (*kamflow.Deal, error) {
	return c.update(ctx, dealID, workflows.RetryUpdate, requestID, by)
}
