package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/kamflow/kamflow"
)

func (s *Server) createAccount(c echo.Context) error {
	var in kamflow.AccountInput
	if err := bind(c, &in); err != nil {
		return err
	}
	now := s.cfg.Now().UTC()
	me := s.actor(c)
	if len(me.Teams) == 0 {
		return kamflow.Errorf(kamflow.EINVALID, "you belong to no sales team; ask an admin to add you to one")
	}
	// The account team is the creator's (first) team: its KAMs share the account's deals.
	a := &kamflow.Account{ID: s.cfg.NewID(), Owner: me.ID, TeamID: me.Teams[0], CreatedAt: now, UpdatedAt: now, UpdatedBy: me.ID}
	if err := in.ApplyTo(a); err != nil {
		return err
	}
	if a.Owner != me.ID {
		var err error
		if a.Owner, err = s.checkKAM(c.Request().Context(), a.Owner, a.TeamID, "owner"); err != nil {
			return err
		}
	}
	if err := s.cfg.Accounts.CreateAccount(c.Request().Context(), a,
		s.entry(c, &kamflow.AuditEntry{Action: "account.create", EntityType: "account", EntityID: a.ID, Summary: "account " + a.Name + " created", After: a})); err != nil {
		return err
	}
	c.Response().Header().Set("Location", "/api/v1/accounts/"+a.ID)
	c.Response().Header().Set("ETag", kamflow.ETag(a.Version))
	return c.JSON(http.StatusCreated, a)
}

// accountSummary is an account in the list: the record with its lifecycle phase and rung.
type accountSummary struct {
	*kamflow.Account
	Phase kamflow.Phase       `json:"phase"`
	Rung  kamflow.LoyaltyRung `json:"rung"`
}

// listAccounts lists the accounts the user may see: by name, or by value score with
// sort=value_score; segment= and lifecycle= keep one value segment or lifecycle phase.
func (s *Server) listAccounts(c echo.Context) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	f := kamflow.AccountFilter{Owner: c.QueryParam("owner"), Query: c.QueryParam("q"), Page: p, Now: s.cfg.Now().UTC()}
	if v := c.QueryParam("segment"); v != "" {
		if f.Segment, err = kamflow.ParseSegment(v); err != nil {
			return err
		}
	}
	if v := c.QueryParam("lifecycle"); v != "" {
		if f.Lifecycle, err = kamflow.ParsePhase(v); err != nil {
			return err.(*kamflow.Error).WithDetail("field", "lifecycle")
		}
	}
	switch v := c.QueryParam("sort"); v {
	case "", kamflow.AccountsByName, kamflow.AccountsByValue:
		f.Sort = v
	default:
		return kamflow.Errorf(kamflow.EINVALID, "sort must be name or value_score, not %q", v).WithDetail("field", "sort")
	}
	me := s.actor(c)
	f.Viewer = &me
	ctx := c.Request().Context()
	items, total, err := s.cfg.Accounts.Accounts(ctx, f)
	if err != nil {
		return err
	}
	lcs, err := s.cfg.Accounts.Lifecycles(ctx, items, f.Now)
	if err != nil {
		return err
	}
	out := make([]accountSummary, len(items))
	for i, a := range items {
		out[i] = accountSummary{Account: a, Phase: lcs[a.ID].Phase, Rung: lcs[a.ID].Rung}
	}
	return c.JSON(http.StatusOK, list[accountSummary]{Items: out, Total: total, Limit: p.Limit, Offset: p.Offset})
}

// visibleAccount loads the account named in the path, or answers not_found when the signed-in
// user may not see it. An engineer sees the accounts of the deals assigned to them.
func (s *Server) visibleAccount(c echo.Context) (*kamflow.Account, error) {
	ctx := c.Request().Context()
	a, err := s.cfg.Accounts.Account(ctx, c.Param("id"))
	if err != nil {
		return nil, err
	}
	me := s.actor(c)
	if me.CanSeeAccount(a) {
		return a, nil
	}
	if me.Role == kamflow.UserEngineer {
		_, n, err := s.cfg.Deals.Deals(ctx, kamflow.DealFilter{Viewer: &me, AccountID: a.ID, Page: kamflow.Page{Limit: 1}})
		if err != nil {
			return nil, err
		}
		if n > 0 {
			return a, nil
		}
	}
	return nil, kamflow.Errorf(kamflow.ENOTFOUND, "account %q not found", c.Param("id"))
}

func (s *Server) getAccount(c echo.Context) error {
	a, err := s.visibleAccount(c)
	if err != nil {
		return err
	}
	c.Response().Header().Set("ETag", kamflow.ETag(a.Version))
	return s.accountDetail(c, a)
}

// accountPatch is PATCH /accounts/{id}'s body: the fields to change, and the version they were
// made against (or If-Match).
type accountPatch struct {
	kamflow.AccountInput
	Version *int64 `json:"version,omitempty"`
}

// patchAccount changes the fields sent of the account's basic data, profile and value inputs —
// on the account as stored, in one transaction, so that an edit of other fields made meanwhile
// stays — and recomputes the value score with them. With a version (If-Match or version) that
// the account has left, it is 409 conflict with the account as it is and who changed it. The
// owner changes only by a handover (a director's, with a reason), so that no account changes
// hands unrecorded: an owner sent is refused.
func (s *Server) patchAccount(c echo.Context) error {
	var in accountPatch
	if err := bind(c, &in); err != nil {
		return err
	}
	a, err := s.visibleAccount(c)
	if err != nil {
		return err
	}
	if in.Owner != nil {
		return kamflow.Errorf(kamflow.EINVALID, "the owner changes by a handover: POST /api/v1/accounts/%s/handover (a sales director's)", a.ID).
			WithDetail("field", "owner")
	}
	if err := in.ApplyTo(new(*a)); err != nil { // refused as invalid before any version is compared
		return err
	}
	e, err := s.edit(c, in.Version)
	if err != nil {
		return err
	}
	out, err := s.cfg.Accounts.PatchAccount(c.Request().Context(), a.ID, in.AccountInput, e, func(before, after *kamflow.Account) *kamflow.AuditEntry {
		return s.entry(c, &kamflow.AuditEntry{Action: "account.update", EntityType: "account", EntityID: after.ID,
			Summary: "account " + after.Name + " updated", Before: before, After: after})
	})
	if err != nil {
		return s.conflict(c, err, nil)
	}
	c.Response().Header().Set("ETag", kamflow.ETag(out.Version))
	return s.accountDetail(c, out)
}
