package api

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/kamflow/kamflow"
)

// The key-account record's routes: the account's full view, its contacts (the buying center
// across deals), the interactions, the timeline, the lifecycle override, the handover, the Pareto
// view and the key-account settings. Every write is on the audit trail, written by the store in
// the change's own transaction.

// accountView is an account as GET /accounts/{id} shows it: the record with its value score and
// why, its lifecycle (derived, overridden, and the marketing mix for its phase) and its team.
type accountView struct {
	*kamflow.Account
	Segmentation kamflow.ValueScore `json:"segmentation"`
	Lifecycle    kamflow.Lifecycle  `json:"lifecycle"`
	AccountTeam  []teamMember       `json:"account_team"`
	// Handover is the account's latest handover, with its progress; left out when it has none.
	Handover *handoverView `json:"handover,omitempty"`
}

// teamMember is a KAM or director of the account's team.
type teamMember struct {
	Username string           `json:"username"`
	Name     string           `json:"name"`
	Role     kamflow.UserRole `json:"role"`
	Owner    bool             `json:"owner"`
}

func (s *Server) accountDetail(c echo.Context, a *kamflow.Account) error {
	ctx := c.Request().Context()
	settings, err := s.cfg.Accounts.AccountSettings(ctx)
	if err != nil {
		return err
	}
	scale, err := s.cfg.Accounts.ValueScale(ctx)
	if err != nil {
		return err
	}
	lcs, err := s.cfg.Accounts.Lifecycles(ctx, []*kamflow.Account{a}, s.cfg.Now().UTC())
	if err != nil {
		return err
	}
	users, err := s.cfg.Users.Users(ctx)
	if err != nil {
		return err
	}
	team := []teamMember{}
	for _, u := range users {
		if !u.Disabled && (u.Role == kamflow.UserKAM || u.Role == kamflow.UserDirector) && a.TeamID != "" && slices.Contains(u.Teams, a.TeamID) {
			team = append(team, teamMember{Username: u.Username, Name: u.Name, Role: u.Role, Owner: u.Username == a.Owner})
		}
	}
	slices.SortFunc(team, func(x, y teamMember) int { return strings.Compare(x.Username, y.Username) })
	out := accountView{Account: a, Segmentation: kamflow.ScoreValue(a.Value, scale, settings), Lifecycle: lcs[a.ID], AccountTeam: team}
	if s.cfg.Handovers != nil {
		rec, err := s.cfg.Handovers.LatestHandover(ctx, a.ID)
		switch {
		case err == nil:
			out.Handover = handoverWithNames(rec, users) // the users read above: one read per view
		case kamflow.ErrorCode(err) != kamflow.ENOTFOUND:
			return err
		}
	}
	return c.JSON(http.StatusOK, out)
}

// handOverAccount hands the account to another KAM of its team: a director's decision, with a
// reason. The request only validates it and starts its workflow (kamflow.HandoverService), which
// records the new owner and reassigns each active deal the previous owner runs through the deal's
// own workflow, as the director; a restart of this process changes nothing in its outcome. The
// answer is 202 with the handover as the workflow has recorded it within HandoverWait (running,
// or already done), else pending; GET /accounts/{id}/handover follows its progress. A second
// handover of the account while one runs is a conflict.
func (s *Server) handOverAccount(c echo.Context) error {
	var in kamflow.HandoverInput
	if err := bind(c, &in); err != nil {
		return err
	}
	if err := in.Validate(); err != nil {
		return err
	}
	ctx := c.Request().Context()
	a, err := s.visibleAccount(c)
	if err != nil {
		return err
	}
	owner, err := s.checkKAM(ctx, strings.TrimSpace(in.Owner), a.TeamID, "owner")
	if err != nil {
		return err
	}
	if owner == a.Owner {
		return kamflow.Errorf(kamflow.EINVALID, "%s owns the account already", owner).WithDetail("field", "owner")
	}
	if s.cfg.Handover == nil || s.cfg.Handovers == nil {
		return kamflow.Errorf(kamflow.EUNAVAILABLE, "handovers are not available on this server")
	}
	me := s.actor(c)
	h := kamflow.Handover{ID: s.cfg.NewID(), AccountID: a.ID, From: a.Owner, To: owner,
		Reason: strings.TrimSpace(in.Reason), By: me.ID, At: s.cfg.Now().UTC()}
	if err := s.cfg.Handover.StartHandover(ctx, h, me); err != nil {
		return err
	}
	rec := s.awaitHandover(ctx, h)
	v, err := s.handoverView(ctx, rec)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Location", fmt.Sprintf("/api/v1/accounts/%s/handover", a.ID))
	return c.JSON(http.StatusAccepted, v)
}

// awaitHandover polls the store, for HandoverWait at most, for the handover's workflow to have
// recorded it, and returns it as recorded, else pending. Only a read: the handover is the
// workflow's, whether this request waits or not.
func (s *Server) awaitHandover(ctx context.Context, h kamflow.Handover) *kamflow.HandoverRecord {
	wctx, cancel := context.WithTimeout(ctx, s.cfg.HandoverWait)
	defer cancel()
	for wait := 10 * time.Millisecond; ; wait = min(2*wait, 250*time.Millisecond) {
		rec, err := s.cfg.Handovers.Handover(wctx, h.ID)
		if err == nil {
			return rec
		}
		if code := kamflow.ErrorCode(err); code != kamflow.ENOTFOUND && wctx.Err() == nil {
			s.logCtx(ctx).Warn("handover not read back", "handover", h.ID, "err", err)
		}
		select {
		case <-wctx.Done():
			return kamflow.PendingHandover(h)
		case <-time.After(wait):
		}
	}
}

// handoverView is a handover with its people's names.
type handoverView struct {
	*kamflow.HandoverRecord
	FromName string `json:"from_name"`
	ToName   string `json:"to_name"`
	ByName   string `json:"by_name"`
}

func (s *Server) handoverView(ctx context.Context, rec *kamflow.HandoverRecord) (*handoverView, error) {
	users, err := s.cfg.Users.Users(ctx)
	if err != nil {
		return nil, err
	}
	return handoverWithNames(rec, users), nil
}

// handoverWithNames is handoverView with the users already read.
func handoverWithNames(rec *kamflow.HandoverRecord, users []*kamflow.User) *handoverView {
	name := func(username string) string {
		for _, u := range users {
			if u.Username == username && u.Name != "" {
				return u.Name
			}
		}
		return username
	}
	return &handoverView{HandoverRecord: rec, FromName: name(rec.From), ToName: name(rec.To), ByName: name(rec.By)}
}

// latestHandover is the account's latest handover with its progress; not_found when it has none.
func (s *Server) latestHandover(c echo.Context) error {
	a, err := s.visibleAccount(c)
	if err != nil {
		return err
	}
	if s.cfg.Handovers == nil {
		return kamflow.Errorf(kamflow.ENOTFOUND, "account %q has no handover", a.ID)
	}
	ctx := c.Request().Context()
	rec, err := s.cfg.Handovers.LatestHandover(ctx, a.ID)
	if err != nil {
		return err
	}
	v, err := s.handoverView(ctx, rec)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

// putLifecycle sets the account's lifecycle phase and/or loyalty rung by hand, with a reason, or
// (neither sent) returns it to what its record gives.
func (s *Server) putLifecycle(c echo.Context) error {
	var in kamflow.LifecycleInput
	if err := bind(c, &in); err != nil {
		return err
	}
	a, err := s.visibleAccount(c)
	if err != nil {
		return err
	}
	me, now := s.actor(c), s.cfg.Now().UTC()
	o, err := in.Override(me.ID, now)
	if err != nil {
		return err
	}
	audit := kamflow.LifecycleAudit(a.ID, a.LifecycleOverride, o, me.ID, strings.TrimSpace(in.Reason), now)
	a, err = s.cfg.Accounts.SetLifecycleOverride(c.Request().Context(), a.ID, o, now, audit)
	if err != nil {
		return err
	}
	return s.accountDetail(c, a)
}

// contactView is a contact with its staleness under the settings.
type contactView struct {
	*kamflow.Contact
	Stale            bool `json:"stale"`
	DaysSinceContact int  `json:"days_since_contact"`
}

// contactList is an account's contacts, by name, and the staleness window they were judged by.
type contactList struct {
	Items            []contactView `json:"items"`
	StaleContactDays int           `json:"stale_contact_days"`
}

func (s *Server) contactView(c echo.Context, ct *kamflow.Contact) (contactView, error) {
	settings, err := s.cfg.Accounts.AccountSettings(c.Request().Context())
	if err != nil {
		return contactView{}, err
	}
	now := s.cfg.Now().UTC()
	return contactView{Contact: ct, Stale: ct.Stale(now, settings.StaleAfter()), DaysSinceContact: ct.DaysSinceContact(now)}, nil
}

// listContacts lists the account's contacts; stale=true keeps the stale ones, stale=false the
// others.
func (s *Server) listContacts(c echo.Context) error {
	var stale *bool
	switch v := c.QueryParam("stale"); v {
	case "":
	case "true", "1", "false", "0":
		b := v == "true" || v == "1"
		stale = &b
	default:
		return kamflow.Errorf(kamflow.EINVALID, "stale must be true or false, not %q", v).WithDetail("field", "stale")
	}
	a, err := s.visibleAccount(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	settings, err := s.cfg.Accounts.AccountSettings(ctx)
	if err != nil {
		return err
	}
	cs, err := s.cfg.Accounts.Contacts(ctx, a.ID)
	if err != nil {
		return err
	}
	now := s.cfg.Now().UTC()
	out := contactList{Items: []contactView{}, StaleContactDays: settings.StaleContactDays}
	for _, ct := range cs {
		v := contactView{Contact: ct, Stale: ct.Stale(now, settings.StaleAfter()), DaysSinceContact: ct.DaysSinceContact(now)}
		if stale == nil || *stale == v.Stale {
			out.Items = append(out.Items, v)
		}
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) createContact(c echo.Context) error {
	var in kamflow.ContactInput
	if err := bind(c, &in); err != nil {
		return err
	}
	a, err := s.visibleAccount(c)
	if err != nil {
		return err
	}
	me, now := s.actor(c), s.cfg.Now().UTC()
	ct := &kamflow.Contact{ID: s.cfg.NewID(), AccountID: a.ID, CreatedBy: me.ID, CreatedAt: now, UpdatedAt: now}
	if err := in.ApplyTo(ct); err != nil {
		return err
	}
	if err := s.cfg.Accounts.CreateContact(c.Request().Context(), ct, kamflow.ContactAudit(nil, ct, me.ID, now)); err != nil {
		return err
	}
	v, err := s.contactView(c, ct)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Location", fmt.Sprintf("/api/v1/accounts/%s/contacts/%s", a.ID, ct.ID))
	return c.JSON(http.StatusCreated, v)
}

// contactPatch is PATCH /accounts/{id}/contacts/{contactId}'s body: the fields to change, and the
// version they were made against (or If-Match).
type contactPatch struct {
	kamflow.ContactInput
	Version *int64 `json:"version,omitempty"`
}

// patchContact changes the fields sent of the contact — on the contact as stored, in one
// transaction, so that an edit of other fields made meanwhile stays. With a version (If-Match or
// version) that the contact has left, it is 409 conflict with the contact as it is (a contact
// view) and who changed it.
func (s *Server) patchContact(c echo.Context) error {
	var in contactPatch
	if err := bind(c, &in); err != nil {
		return err
	}
	a, err := s.visibleAccount(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	ct, err := s.cfg.Accounts.Contact(ctx, c.Param("contactId"))
	if err == nil && ct.AccountID != a.ID {
		err = kamflow.Errorf(kamflow.ENOTFOUND, "contact %q not found", c.Param("contactId"))
	}
	if err != nil {
		return err
	}
	probe := *ct
	probe.Deals = slices.Clone(ct.Deals)
	if err := in.ApplyTo(&probe); err != nil { // refused as invalid before any version is compared
		return err
	}
	e, err := s.edit(c, in.Version)
	if err != nil {
		return err
	}
	out, err := s.cfg.Accounts.PatchContact(ctx, a.ID, ct.ID, in.ContactInput, e, func(before, after *kamflow.Contact) *kamflow.AuditEntry {
		return kamflow.ContactAudit(before, after, e.By, e.At)
	})
	if err != nil {
		return s.conflict(c, err, func(current any) any {
			if cur, ok := current.(*kamflow.Contact); ok {
				if v, err := s.contactView(c, cur); err == nil {
					return v
				}
			}
			return current
		})
	}
	v, err := s.contactView(c, out)
	if err != nil {
		return err
	}
	c.Response().Header().Set("ETag", kamflow.ETag(out.Version))
	return c.JSON(http.StatusOK, v)
}

// logInteraction logs a contact with the customer against its account, its people and maybe a
// deal; the people's last contact moves up to it.
func (s *Server) logInteraction(c echo.Context) error {
	var in kamflow.InteractionInput
	if err := bind(c, &in); err != nil {
		return err
	}
	me, now := s.actor(c), s.cfg.Now().UTC()
	it, err := in.Interaction(me.ID, now)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	// What the user may not see does not exist for them: the same answer as for no such account.
	acc, err := s.cfg.Accounts.Account(ctx, it.AccountID)
	if kamflow.ErrorCode(err) == kamflow.ENOTFOUND || (err == nil && !me.CanSeeAccount(acc)) {
		return kamflow.Errorf(kamflow.EINVALID, "account %q does not exist", it.AccountID).WithDetail("field", "account_id")
	} else if err != nil {
		return err
	}
	if it.DealID != "" {
		d, err := s.cfg.Deals.Deal(ctx, it.DealID)
		if kamflow.ErrorCode(err) == kamflow.ENOTFOUND || (err == nil && (!me.CanSeeDeal(d) || d.AccountID != acc.ID)) {
			return kamflow.Errorf(kamflow.EINVALID, "deal %q is not a deal of this account", it.DealID).WithDetail("field", "deal_id")
		} else if err != nil {
			return err
		}
	}
	it.ID = s.cfg.NewID()
	if err := s.cfg.Accounts.LogInteraction(ctx, it, kamflow.InteractionAudit(it)); err != nil {
		return err
	}
	s.freshContacts(ctx, it)
	return c.JSON(http.StatusCreated, it)
}

// freshContacts tells the open deals linked to the interaction's people that they are in contact
// again: a stakeholder marked stale counts toward the entry stage's key node once more. A deal
// that cannot be told now is told by the next daily run (activities.MarkStaleContacts), so a
// failure here is only logged.
func (s *Server) freshContacts(ctx context.Context, it *kamflow.Interaction) {
	for _, id := range it.ContactIDs {
		ct, err := s.cfg.Accounts.Contact(ctx, id)
		if err != nil {
			s.logCtx(ctx).Warn("contact of an interaction not read", "contact", id, "err", err)
			continue
		}
		for _, cd := range ct.Deals {
			if d, err := s.cfg.Deals.Deal(ctx, cd.DealID); err != nil || !d.MarksContact(ct.Name, false) {
				continue // not marked stale (the usual case), or gone
			}
			cctx, cancel := context.WithTimeout(ctx, s.cfg.CommandTimeout)
			_, err := s.cfg.Service.MarkContact(cctx, cd.DealID, kamflow.ContactStaleInput{Name: ct.Name, Stale: false},
				"contact-fresh:"+it.ID+":"+cd.DealID+":"+ct.ID)
			cancel()
			switch kamflow.ErrorCode(err) {
			case "", kamflow.ECONFLICT, kamflow.ENOTFOUND, kamflow.EWRONGSTAGE:
			default:
				s.logCtx(ctx).Warn("deal not told its stakeholder is in contact again", "deal", cd.DealID, "contact", ct.ID, "err", err)
			}
		}
	}
}

// accountTimeline lists the account's interactions and its deals' stage moves, newest first.
func (s *Server) accountTimeline(c echo.Context) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	a, err := s.visibleAccount(c)
	if err != nil {
		return err
	}
	me := s.actor(c)
	items, total, err := s.cfg.Accounts.AccountTimeline(c.Request().Context(), kamflow.TimelineFilter{AccountID: a.ID, Viewer: &me, Page: p})
	if err != nil {
		return err
	}
	if items == nil {
		items = []kamflow.TimelineEntry{}
	}
	return c.JSON(http.StatusOK, list[kamflow.TimelineEntry]{Items: items, Total: total, Limit: p.Limit, Offset: p.Offset})
}

// accountsPareto is the 80/20 view of the accounts the user may see that have value inputs.
func (s *Server) accountsPareto(c echo.Context) error {
	me := s.actor(c)
	rows, err := s.cfg.Accounts.ParetoAccounts(c.Request().Context(), &me)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, kamflow.Pareto(rows))
}
