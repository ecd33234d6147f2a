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
	a := &kamflow.Account{ID: s.cfg.NewID(), Owner: s.actor(c).ID, CreatedAt: now, UpdatedAt: now}
	if err := in.ApplyTo(a); err != nil {
		return err
	}
	if err := s.cfg.Accounts.CreateAccount(c.Request().Context(), a); err != nil {
		return err
	}
	c.Response().Header().Set("Location", "/api/v1/accounts/"+a.ID)
	return c.JSON(http.StatusCreated, a)
}

func (s *Server) listAccounts(c echo.Context) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	items, total, err := s.cfg.Accounts.Accounts(c.Request().Context(), kamflow.AccountFilter{
		Owner: c.QueryParam("owner"), Query: c.QueryParam("q"), Page: p,
	})
	if err != nil {
		return err
	}
	if items == nil {
		items = []*kamflow.Account{}
	}
	return c.JSON(http.StatusOK, list[*kamflow.Account]{Items: items, Total: total, Limit: p.Limit, Offset: p.Offset})
}

func (s *Server) getAccount(c echo.Context) error {
	a, err := s.cfg.Accounts.Account(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, a)
}

func (s *Server) patchAccount(c echo.Context) error {
	var in kamflow.AccountInput
	if err := bind(c, &in); err != nil {
		return err
	}
	ctx := c.Request().Context()
	a, err := s.cfg.Accounts.Account(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	if err := in.ApplyTo(a); err != nil {
		return err
	}
	a.UpdatedAt = s.cfg.Now().UTC()
	if err := s.cfg.Accounts.UpdateAccount(ctx, a); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, a)
}
