package activities

import (
	"context"
	"fmt"
	"slices"
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

// StaleResult counts what MarkStaleContacts changed, and the deals it could not tell.
type StaleResult struct {
	MarkedStale int `json:"marked_stale"`
	MarkedFresh int `json:"marked_fresh"`
	// Failed counts the marks that failed (their deal could not be read or told); FailedDeals
	// lists those deals, each once. The next day's run tries them again.
	Failed      int      `json:"failed,omitempty"`
	FailedDeals []string `json:"failed_deals,omitempty"`
}

// MarkStaleContacts marks, on each open deal linked to a key contact (insider, decision maker),
// the stakeholder of the contact's name stale or fresh as the contact now is, as kamflow's own mark
// (DealService.MarkContact). A deal without a stakeholder of that name, or already marked so, is
// left as it is. The request id of each mark is the deal, the contact, the day and the mark: a
// retried run sends nothing twice.
//
// A deal that cannot be read or told does not hold up the others: it is counted in Failed, logged,
// and the run goes on. The run fails only when it cannot list the contacts at all (or is
// cancelled).
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
	logger := activity.GetLogger(ctx)
	fail := func(deal string, sc kamflow.StaleContact, err error) {
		res.Failed++
		if !slices.Contains(res.FailedDeals, deal) {
			res.FailedDeals = append(res.FailedDeals, deal)
		}
		logger.Warn("stale contacts: a deal could not be told; the others go on", "deal", deal, "contact", sc.Contact.ID, "err", err)
	}
	day := at.UTC().Format(time.DateOnly)
	for i, sc := range all {
		stale := sc.Contact.Stale(at, settings.StaleAfter())
		for _, deal := range sc.OpenDeals {
			if err := ctx.Err(); err != nil {
				return res, err
			}
			// Most days change nothing: skip the deals already marked so without a round trip
			// to their workflows.
			d, err := a.Deals.Deal(ctx, deal)
			if kamflow.ErrorCode(err) == kamflow.ENOTFOUND {
				continue
			} else if err != nil {
				fail(deal, sc, fmt.Errorf("read deal %s: %w", deal, err))
				continue
			}
			if !d.MarksContact(sc.Contact.Name, stale) {
				continue
			}
			id := fmt.Sprintf("contact-stale:%s:%s:%s:%v", deal, sc.Contact.ID, day, stale)
			_, err = a.Service.MarkContact(ctx, deal, kamflow.ContactStaleInput{Name: sc.Contact.Name, Stale: stale, Days: sc.DaysSince}, id)
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
				fail(deal, sc, fmt.Errorf("mark %s on deal %s: %w", sc.Contact.Name, deal, err))
			}
		}
		activity.RecordHeartbeat(ctx, i)
	}
	if res.Failed > 0 {
		logger.Error("stale contacts: some deals could not be told; the next run tries them again", "failed", res.Failed, "deals", res.FailedDeals)
	}
	return res, nil
}
