package activities_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/activities"
)

// keyContacts stands in for the contacts' store: every key contact linked to open deals.
type keyContacts struct {
	kamflow.KeyAccountStore
	contacts []kamflow.StaleContact
}

func (k *keyContacts) AccountSettings(context.Context) (kamflow.AccountSettings, error) {
	return kamflow.DefaultAccountSettings(), nil
}

func (k *keyContacts) StaleKeyContacts(_ context.Context, f kamflow.StaleContactFilter) ([]kamflow.StaleContact, error) {
	if !f.WithOpenDeals {
		return nil, errors.New("want the contacts with open deals")
	}
	return k.contacts, nil
}

// storedDeals stands in for the deal store: the deals as stored.
type storedDeals struct {
	kamflow.DealStore
	deals map[string]*kamflow.Deal
}

func (s *storedDeals) Deal(_ context.Context, id string) (*kamflow.Deal, error) {
	if d, ok := s.deals[id]; ok {
		return d, nil
	}
	return nil, kamflow.Errorf(kamflow.ENOTFOUND, "deal %q not found", id)
}

// dealCommands records the commands sent to the deals; fail answers for a deal.
type dealCommands struct {
	kamflow.DealService
	sent []string
	ids  []string
	fail map[string]error
}

func (s *dealCommands) Execute(_ context.Context, deal string, cmd kamflow.Command, requestID string) (*kamflow.Deal, error) {
	if err := s.fail[deal]; err != nil {
		return nil, err
	}
	if cmd.Kind != kamflow.CmdContactStale || cmd.Actor.Role != kamflow.UserSystem {
		return nil, errors.New("unexpected command")
	}
	mark := "fresh"
	if cmd.ContactStale.Stale {
		mark = "stale"
	}
	s.sent = append(s.sent, deal+" "+cmd.ContactStale.Name+" "+mark)
	s.ids = append(s.ids, requestID)
	return &kamflow.Deal{ID: deal}, nil
}

func TestMarkStaleContacts(t *testing.T) {
	now := time.Date(2026, 11, 23, 1, 0, 0, 0, time.UTC)
	ago := func(days int) *time.Time { t := now.Add(-time.Duration(days) * kamflow.Day); return &t }
	store := &keyContacts{contacts: []kamflow.StaleContact{
		{Contact: kamflow.Contact{ID: "c1", Name: "Wang Gong", Role: kamflow.RoleInsider, LastContactAt: ago(95)}, DaysSince: 95, OpenDeals: []string{"d1", "d2"}},
		{Contact: kamflow.Contact{ID: "c2", Name: "Li Zong", Role: kamflow.RoleDecisionMaker, LastContactAt: ago(10)}, DaysSince: 10, OpenDeals: []string{"d1"}},
		{Contact: kamflow.Contact{ID: "c3", Name: "Zhao", Role: kamflow.RoleInsider, LastContactAt: ago(200)}, DaysSince: 200, OpenDeals: []string{"d3"}},
	}}
	open := func(people ...kamflow.Stakeholder) *kamflow.Deal {
		return &kamflow.Deal{Status: kamflow.StatusOpen, Stakeholders: people}
	}
	deals := &storedDeals{deals: map[string]*kamflow.Deal{
		"d1": open(kamflow.Stakeholder{Name: "wang gong"}, kamflow.Stakeholder{Name: "Li Zong", Stale: true}),
		"d2": open(kamflow.Stakeholder{Name: "Wang Gong", Stale: true}), // marked already
		"d3": open(kamflow.Stakeholder{Name: "Qian"}),                   // no stakeholder of Zhao's name
	}}
	// A command the stored deals say would change nothing is not sent: d2 and d3 would refuse.
	svc := &dealCommands{fail: map[string]error{
		"d2": errors.New("d2 must not be asked"),
		"d3": errors.New("d3 must not be asked"),
	}}
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	a := &activities.Contacts{Store: store, Deals: deals, Service: svc}
	env.RegisterActivity(a)
	v, err := env.ExecuteActivity(a.MarkStaleContacts, now)
	if err != nil {
		t.Fatal(err)
	}
	var res activities.StaleResult
	if err := v.Get(&res); err != nil {
		t.Fatal(err)
	}
	// 90 days by default: Wang Gong is stale on d1 (d2 has it already), Li Zong fresh on d1, and
	// d3 has no stakeholder of Zhao's name.
	if want := []string{"d1 Wang Gong stale", "d1 Li Zong fresh"}; !slices.Equal(svc.sent, want) || res.MarkedStale != 1 || res.MarkedFresh != 1 {
		t.Errorf("sent %v, result %+v", svc.sent, res)
	}
	if svc.ids[0] != "contact-stale:d1:c1:2026-11-23:true" {
		t.Errorf("request id %q: a retry the same day must send nothing twice", svc.ids[0])
	}
	// A deal service that is down fails the attempt, to be retried.
	svc.fail["d1"] = errors.New("temporal: unavailable")
	if _, err := env.ExecuteActivity(a.MarkStaleContacts, now); err == nil {
		t.Error("no error with the deal service down")
	}
}
