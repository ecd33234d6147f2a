package activities

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/kamflow/kamflow"
)

// Contacts holds the activity that keeps the deals' stakeholders in step with the account's
// contacts: an insider or decision maker gone without contact for the configured number of days
// no longer counts toward the entry stage's key node of the open deals linked to them, and counts
// again once they are in contact.
type Contacts struct {
	Store kamflow.KeyAccountStore
	// Deals reads the deals as stored, so that only the marks that change a deal are sent.
	Deals kamflow.DealStore
	// Service sends the deals' commands (their workflows decide on them).
	Service kamflow.DealService
	Now     func() time.Time
}

// StaleResult counts what MarkStaleContacts changed.
type StaleResult struct {
	MarkedStale int `json:"marked_stale"`
	MarkedFresh int `json:"marked_fresh"`
}

// MarkStaleContacts marks, on each open deal linked to a key contact (insider, decision maker),
// the stakeholder of the contact's name stale or fresh as the contact now is. A deal without a
// stakeholder of that name, or already marked so, is left as it is. The request id of each
// command is the deal, the contact, the day and the mark: a retried run sends nothing twice.
func (a *Contacts) MarkStaleContacts(ctx context.Context, at time.Time) (StaleResult, error) {
	var res StaleResult
	if at.IsZero() {
		at = time.Now()
		if a.Now != nil {
			at = a.Now()
		}
	}
	settings, err := a.Store.AccountSettings(ctx)
	if err != nil {
		return res, err
	}
	// Every key contact linked to an open deal: "stale" after a nanosecond lists them all.
	all, err := a.Store.StaleKeyContacts(ctx, kamflow.StaleContactFilter{Now: at, After: time.Nanosecond, WithOpenDeals: true})
	if err != nil {
		return res, err
	}
	system := kamflow.Actor{ID: "kamflow", Role: kamflow.UserSystem}
	day := at.UTC().Format(time.DateOnly)
	for i, sc := range all {
		stale := sc.Contact.Stale(at, settings.StaleAfter())
		for _, deal := range sc.OpenDeals {
			// Most days change nothing: skip the deals already marked so without a round trip
			// to their workflows.
			if d, err := a.Deals.Deal(ctx, deal); err != nil && kamflow.ErrorCode(err) != kamflow.ENOTFOUND {
				return res, err
			} else if err != nil || !d.MarksContact(sc.Contact.Name, stale) {
				continue
			}
			cmd := kamflow.Command{Kind: kamflow.CmdContactStale, Actor: system,
				ContactStale: &kamflow.ContactStaleInput{Name: sc.Contact.Name, Stale: stale, Days: sc.DaysSince}}
			id := fmt.Sprintf("contact-stale:%s:%s:%s:%v", deal, sc.Contact.ID, day, stale)
			_, err := a.Service.Execute(ctx, deal, cmd, id)
			switch kamflow.ErrorCode(err) {
			case "":
				if stale {
					res.MarkedStale++
				} else {
					res.MarkedFresh++
				}
			case kamflow.ECONFLICT, kamflow.ENOTFOUND, kamflow.EWRONGSTAGE, kamflow.EINVALID:
				// Marked so already, no such stakeholder, or the deal ended: nothing to do.
			default:
				return res, fmt.Errorf("mark %s on deal %s: %w", sc.Contact.Name, deal, err)
			}
		}
		activity.RecordHeartbeat(ctx, i)
	}
	return res, nil
}
