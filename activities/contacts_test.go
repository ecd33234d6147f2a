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

// dealCommands records the marks sent to the deals; fail answers for a deal.
type dealCommands struct {
	kamflow.DealService
	sent []string
	ids  []string
	fail map[string]error
}

func (s *dealCommands) Execute(context.Context, string, kamflow.Command, string) (*kamflow.Deal, error) {
	return nil, errors.New("a contact's mark is kamflow's own, never a command in a system actor's name")
}

func (s *dealCommands) MarkContact(_ context.Context, deal string, mark kamflow.ContactStaleInput, requestID string) (*kamflow.Deal, error) {
	if err := s.fail[deal]; err != nil {
		return nil, err
	}
	m := "fresh"
	if mark.Stale {
		m = "stale"
	}
	s.sent = append(s.sent, deal+" "+mark.Name+" "+m)
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
	// A mark the stored deals say would change nothing is not sent: d2 and d3 would refuse.
	svc := &dealCommands{fail: map[string]error{
		"d2": errors.New("d2 must not be asked"),
		"d3": errors.New("d3 must not be asked"),
	}}
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	a := &activities.Contacts{Store: store, Deals: deals, Service: svc}
	env.RegisterActivity(a)
	run := func() (activities.StaleResult, error) {
		t.Helper()
		var res activities.StaleResult
		v, err := env.ExecuteActivity(a.MarkStaleContacts, now)
		if err == nil {
			err = v.Get(&res)
		}
		return res, err
	}
	res, err := run()
	if err != nil {
		t.Fatal(err)
	}
	// 90 days by default: Wang Gong is stale on d1 (d2 has it already), Li Zong fresh on d1, and
	// d3 has no stakeholder of Zhao's name.
	if want := []string{"d1 Wang Gong stale", "d1 Li Zong fresh"}; !slices.Equal(svc.sent, want) || res.MarkedStale != 1 || res.MarkedFresh != 1 || res.Failed != 0 {
		t.Errorf("sent %v, result %+v", svc.sent, res)
	}
	if svc.ids[0] != "contact-stale:d1:c1:2026-11-23:true" {
		t.Errorf("request id %q: a retry the same day must send nothing twice", svc.ids[0])
	}

	// A deal that cannot be told (its workflow away, or needing attention) is counted and holds
	// up no other: d4, after it, is still marked.
	store.contacts = append(store.contacts, kamflow.StaleContact{
		Contact: kamflow.Contact{ID: "c4", Name: "Sun", Role: kamflow.RoleDecisionMaker, LastContactAt: ago(120)}, DaysSince: 120, OpenDeals: []string{"d4"}})
	deals.deals["d4"] = open(kamflow.Stakeholder{Name: "Sun"})
	svc.sent, svc.ids = nil, nil
	svc.fail["d1"] = errors.New("temporal: unavailable")
	res, err = run()
	if err != nil {
		t.Fatalf("one deal failing failed the run: %v", err)
	}
	if want := []string{"d4 Sun stale"}; !slices.Equal(svc.sent, want) || res.MarkedStale != 1 || res.MarkedFresh != 0 ||
		res.Failed != 2 || !slices.Equal(res.FailedDeals, []string{"d1"}) {
		t.Errorf("with d1 failing: sent %v, result %+v", svc.sent, res)
	}

	// Only contacts that cannot be listed at all fail the run (to be retried).
	failing := &failingContacts{keyContacts: store}
	a.Store = failing
	if _, err := run(); err == nil {
		t.Error("no error with the contacts not listed")
	}
}

// failingContacts cannot list the contacts.
type failingContacts struct{ *keyContacts }

func (f *failingContacts) StaleKeyContacts(context.Context, kamflow.StaleContactFilter) ([]kamflow.StaleContact, error) {
	return nil, errors.New("database away")
}
