package activities_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/activities"
)

// handoverDeals stands in for the deal store: each read of a deal answers the next of its owners
// (the last one again once they run out), or err.
type handoverDeals struct {
	kamflow.DealStore
	owners map[string][]string
	err    map[string]error
	reads  int
}

func (s *handoverDeals) Deal(_ context.Context, id string) (*kamflow.Deal, error) {
	s.reads++
	if err := s.err[id]; err != nil {
		return nil, err
	}
	o := s.owners[id]
	if len(o) == 0 {
		return nil, kamflow.Errorf(kamflow.ENOTFOUND, "deal %q not found", id)
	}
	owner := o[0]
	if len(o) > 1 {
		s.owners[id] = o[1:]
	}
	return &kamflow.Deal{ID: id, Owner: owner, Status: kamflow.StatusOpen}, nil
}

// handoverCommands stands in for the deals' workflows: every command is kept, and answer answers it.
type handoverCommands struct {
	kamflow.DealService
	cmds   []kamflow.Command
	ids    []string
	answer error
}

func (s *handoverCommands) Execute(_ context.Context, deal string, cmd kamflow.Command, requestID string) (*kamflow.Deal, error) {
	s.cmds, s.ids = append(s.cmds, cmd), append(s.ids, requestID)
	if s.answer != nil {
		return nil, s.answer
	}
	return &kamflow.Deal{ID: deal, Owner: cmd.Reassign.Owner}, nil
}

// handoverRecords stands in for the handovers' store: it keeps each deal's outcome, and answers
// err instead when set.
type handoverRecords struct {
	kamflow.HandoverStore
	finished []kamflow.HandoverDeal
	err      error
}

func (s *handoverRecords) RecordHandover(_ context.Context, h kamflow.Handover) (*kamflow.HandoverRecord, error) {
	if s.err != nil {
		return nil, s.err
	}
	return &kamflow.HandoverRecord{ID: h.ID, Status: kamflow.HandoverRunning}, nil
}

func (s *handoverRecords) FinishHandoverDeal(_ context.Context, id string, d kamflow.HandoverDeal, _ time.Time) (*kamflow.HandoverRecord, error) {
	if s.err != nil {
		return nil, s.err
	}
	s.finished = append(s.finished, d)
	return &kamflow.HandoverRecord{ID: id, Deals: s.finished}, nil
}

var handoverInput = activities.HandoverDealInput{
	Handover: kamflow.Handover{ID: "h-1", AccountID: "acc-1", From: "kam1", To: "kam2", Reason: "kam1 moves to the export team", By: "director", At: at},
	DealID:   "d1",
	By:       kamflow.Actor{ID: "director", Role: kamflow.UserDirector, Teams: []string{"east"}},
}

// TestReassignHandoverDeal: what the step does with each answer of the store and of the deal.
// A deal is done when it takes the command or is the new owner's (before the command, or after a
// refusal of a command it had taken already); refused with the deal's code and message when it
// refuses, and as a conflict when someone gave it to a third KAM meanwhile; and any failure to get an answer is returned for the step to be retried, with nothing
// recorded.
func TestReassignHandoverDeal(t *testing.T) {
	away := errors.New("dial tcp: connection refused")
	for _, c := range []struct {
		name     string
		owners   []string // the deal's owner at each read
		readErr  error
		answer   error
		wantCmds int
		want     string // the outcome recorded, or "error" for a step to retry
	}{
		{"taken", []string{"kam1"}, nil, nil, 1, "done"},
		{"the new owner's already", []string{"kam2"}, nil, nil, 0, "done"},
		{"closed meanwhile", []string{"kam1"}, nil, kamflow.Errorf(kamflow.EWRONGSTAGE, "the deal is lost; nothing more can be done on it"), 1,
			"refused wrong_stage the deal is lost; nothing more can be done on it"},
		// The command was taken by a run of the deal before it continued as new (where its
		// request id is no longer known), and the store showed the old owner at the first read.
		{"taken before", []string{"kam1", "kam2"}, nil, kamflow.Errorf(kamflow.EWRONGSTAGE, "the deal is already owned by kam2"), 1, "done"},
		{"gone", nil, nil, nil, 0, `refused not_found deal "d1" not found`},
		{"given to another KAM meanwhile", []string{"kam3"}, nil, nil, 0, "refused conflict the deal's owner changed meanwhile: kam3 owns it now"},
		{"forbidden", []string{"kam1"}, nil, kamflow.Errorf(kamflow.EFORBIDDEN, "only the members of the deal's team work on it"), 1,
			"refused forbidden only the members of the deal's team work on it"},
		{"the store away", nil, away, nil, 0, "error"},
		{"the deal unavailable", []string{"kam1"}, nil, kamflow.Errorf(kamflow.EUNAVAILABLE, "deal d1 needs attention"), 1, "error"},
		{"temporal away", []string{"kam1"}, nil, fmt.Errorf("temporal: %w", away), 1, "error"},
		{"timed out", []string{"kam1"}, nil, context.DeadlineExceeded, 1, "error"},
	} {
		t.Run(c.name, func(t *testing.T) {
			deals := &handoverDeals{owners: map[string][]string{"d1": c.owners}, err: map[string]error{"d1": c.readErr}}
			cmds := &handoverCommands{answer: c.answer}
			recs := &handoverRecords{}
			a := &activities.Handovers{Store: recs, Deals: deals, Service: cmds, Now: func() time.Time { return at }}
			_, err := a.ReassignHandoverDeal(context.Background(), handoverInput)
			got := "error"
			if err == nil {
				if len(recs.finished) != 1 {
					t.Fatalf("%d outcomes recorded", len(recs.finished))
				}
				d := recs.finished[0]
				got = strings.TrimSpace(string(d.Status) + " " + d.Code + " " + d.Message)
				if d.DealID != "d1" {
					t.Errorf("the outcome of %s recorded", d.DealID)
				}
			} else if len(recs.finished) != 0 {
				t.Errorf("a failed step recorded %+v", recs.finished)
			} else if ae := appError(err); ae != nil && ae.NonRetryable() {
				t.Errorf("a failure to get an answer is not retried: %v", err)
			}
			if got != c.want {
				t.Errorf("outcome %q, want %q (err %v)", got, c.want, err)
			}
			if len(cmds.cmds) != c.wantCmds {
				t.Fatalf("%d commands sent, want %d", len(cmds.cmds), c.wantCmds)
			}
			for i, cmd := range cmds.cmds {
				if cmd.Kind != kamflow.CmdReassign || cmd.Actor.ID != "director" || cmd.Actor.Role != kamflow.UserDirector ||
					cmd.Reassign.Owner != "kam2" || cmd.Reassign.Reason != "account handover: kam1 moves to the export team" ||
					cmds.ids[i] != kamflow.HandoverRequestID("h-1", "d1") {
					t.Errorf("command %+v (%+v) under request id %s", cmd, cmd.Reassign, cmds.ids[i])
				}
			}
		})
	}
}

// TestHandoverStepsStoreAnswers: a domain error of the store fails the step for good (the
// handover refused, its code in the error's details); any other is returned to be retried.
func TestHandoverStepsStoreAnswers(t *testing.T) {
	deals := &handoverDeals{owners: map[string][]string{"d1": {"kam2"}}}
	for _, c := range []struct {
		name      string
		err       error
		permanent bool
	}{
		{"refused", kamflow.Errorf(kamflow.ENOTFOUND, "handover %q not found", "h-1"), true},
		{"away", errors.New("database is locked"), false},
		{"unavailable", kamflow.Errorf(kamflow.EUNAVAILABLE, "the database is away"), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			recs := &handoverRecords{err: c.err}
			a := &activities.Handovers{Store: recs, Deals: deals, Service: &handoverCommands{}, Now: func() time.Time { return at }}
			_, rerr := a.RecordHandover(context.Background(), handoverInput.Handover)
			_, ferr := a.ReassignHandoverDeal(context.Background(), handoverInput)
			_, gerr := a.GiveUpHandoverDeal(context.Background(), handoverInput, "deal d1 needs attention")
			for step, err := range map[string]error{"RecordHandover": rerr, "ReassignHandoverDeal": ferr, "GiveUpHandoverDeal": gerr} {
				ae := appError(err)
				switch {
				case err == nil:
					t.Errorf("%s: no error", step)
				case c.permanent && (ae == nil || !ae.NonRetryable() || ae.Type() != activities.HandoverRefused):
					t.Errorf("%s: %v, want it refused for good", step, err)
				case !c.permanent && ae != nil && ae.NonRetryable():
					t.Errorf("%s: %v, want it retried", step, err)
				}
				if c.permanent && ae != nil {
					var e *kamflow.Error
					if derr := ae.Details(&e); derr != nil || e == nil || e.Code != kamflow.ENOTFOUND {
						t.Errorf("%s: the refusal's details %+v, %v", step, e, derr)
					}
				}
			}
		})
	}
}

// TestGiveUpHandoverDeal: a deal given up is recorded refused, unavailable, with why.
func TestGiveUpHandoverDeal(t *testing.T) {
	recs := &handoverRecords{}
	a := &activities.Handovers{Store: recs, Now: func() time.Time { return at }}
	if _, err := a.GiveUpHandoverDeal(context.Background(), handoverInput, "deal d1 needs attention"); err != nil {
		t.Fatal(err)
	}
	if len(recs.finished) != 1 || recs.finished[0] != (kamflow.HandoverDeal{DealID: "d1", Status: kamflow.HandoverDealRefused,
		Code: kamflow.EUNAVAILABLE, Message: "deal d1 needs attention"}) {
		t.Errorf("recorded %+v", recs.finished)
	}
}
