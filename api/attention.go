package api

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/kamflow/kamflow"
)

// attentionItem is a deal needing attention as the admin's list shows it: the deal by its title,
// its owner by name too, what failed and since when, and how many changes wait.
type attentionItem struct {
	DealID string `json:"deal_id"`
	Title  string `json:"title"`
	// Owner is the owner's username, OwnerName their name ("" when the owner is no user).
	Owner     string    `json:"owner"`
	OwnerName string    `json:"owner_name"`
	Seq       int64     `json:"seq"`
	Pending   int       `json:"pending"`
	Reason    string    `json:"reason"`
	Error     string    `json:"error"`
	Since     time.Time `json:"since"`
	Attempts  int       `json:"attempts"`
}

// attentionList is GET /admin/attention's answer.
type attentionList struct {
	Items []attentionItem `json:"items"`
}

// listAttention lists the deals needing attention, the oldest first.
func (s *Server) listAttention(c echo.Context) error {
	ctx := c.Request().Context()
	if s.cfg.Attention == nil {
		return c.JSON(http.StatusOK, attentionList{Items: []attentionItem{}})
	}
	as, err := s.cfg.Attention.Attentions(ctx)
	if err != nil {
		return err
	}
	names := map[string]string{}
	if len(as) > 0 {
		users, err := s.cfg.Users.Users(ctx)
		if err != nil {
			return err
		}
		for _, u := range users {
			names[u.Username] = u.Name
		}
	}
	out := attentionList{Items: make([]attentionItem, 0, len(as))}
	for _, a := range as {
		out.Items = append(out.Items, attentionItem{DealID: a.DealID, Title: a.Title, Owner: a.Owner, OwnerName: names[a.Owner],
			Seq: a.Seq, Pending: a.Pending, Reason: a.Reason, Error: a.Error, Since: a.Since, Attempts: a.Attempts})
	}
	return c.JSON(http.StatusOK, out)
}

// retryProjection asks the deal's workflow to write its held changes again, as the admin: once the
// cause is fixed, the deal is back to normal. A deal that needs no attention is a conflict; one
// that neither needs it nor exists is not found.
func (s *Server) retryProjection(c echo.Context) error {
	if err := bind(c, &struct{}{}); err != nil {
		return err
	}
	ctx := c.Request().Context()
	id := c.Param("id")
	listed := false
	if s.cfg.Attention != nil {
		as, err := s.cfg.Attention.Attentions(ctx)
		if err != nil {
			return err
		}
		listed = slices.ContainsFunc(as, func(a kamflow.Attention) bool { return a.DealID == id })
	}
	// A deal whose very first change failed is listed but not stored: only a deal neither listed
	// nor stored is unknown. An admin sees no deal otherwise, so its existence is no secret here.
	if !listed {
		if _, err := s.cfg.Deals.Deal(ctx, id); err != nil {
			return err
		}
	}
	cctx, cancel := context.WithTimeout(ctx, s.cfg.CommandTimeout)
	defer cancel()
	d, err := s.cfg.Service.RetryProjection(cctx, id, s.actor(c), scopedKey(c))
	if err != nil {
		if errors.Is(cctx.Err(), context.DeadlineExceeded) {
			return context.DeadlineExceeded
		}
		return err
	}
	if d == nil {
		return errors.New("the deal service answered no deal")
	}
	return s.dealJSON(c, http.StatusOK, d)
}
