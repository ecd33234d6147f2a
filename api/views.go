package api

import (
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/sheet"
)

// The pipeline as people work from it (issue 16): the board's and the list view's filters and
// order on the deal list, its totals, its export, and the views each user saves by name.

// listParams are the query parameters of the deal list that the board and the list view set;
// an export of deals with any of them is an export of that list.
var listParams = []string{"stage", "status", "owner", "account_id", "grade", "stalled", "team", "close_month", "q", "sort"}

// listFilter reads the board's and list view's filters and order into f: team, close_month
// (YYYY-MM), q (a title's or account name's part) and sort (dealviews.go).
func listFilter(c echo.Context, f *kamflow.DealFilter) error {
	f.TeamID = c.QueryParam("team")
	if v := c.QueryParam("close_month"); v != "" {
		var err error
		if f.CloseFrom, f.CloseTo, err = kamflow.ParseMonth(v); err != nil {
			return err
		}
	}
	f.Text = strings.TrimSpace(c.QueryParam("q"))
	if utf8.RuneCountInString(f.Text) > 200 {
		return kamflow.Errorf(kamflow.EINVALID, "q must be at most 200 characters").WithDetail("field", "q")
	}
	var err error
	f.Sort, f.Desc, err = kamflow.ParseDealSort(c.QueryParam("sort"))
	return err
}

// listWithTotals answers a page of the deal list with the totals of the whole list (every page):
// count, stalled, value and weighted value per currency, from the store's pipeline sums, so that
// a list of thousands of deals is summed by the database. The totals are of the active deals the
// filter selects.
func (s *Server) listWithTotals(c echo.Context, f kamflow.DealFilter, out list[dealSummary]) error {
	stages, err := s.cfg.Deals.Pipeline(c.Request().Context(), f)
	if err != nil {
		return err
	}
	t := kamflow.TotalOf(stages)
	return c.JSON(http.StatusOK, dealList{list: out, Totals: &t})
}

// dealList is a page of the deal list, with the totals of the whole list when asked for.
type dealList struct {
	list[dealSummary]
	Totals *kamflow.DealTotals `json:"totals,omitempty"`
}

// listExport reports whether an export of deals is of the list a view shows.
func listExport(c echo.Context) bool {
	for _, p := range listParams {
		if c.QueryParam(p) != "" {
			return true
		}
	}
	return false
}

// exportList answers the deals of the list the query selects, in its order, every page of it,
// with the columns of the deals' export.
func (s *Server) exportList(c echo.Context, f sheet.Format, name string, zh bool, names map[string]string) error {
	filter, err := s.dealFilter(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	return s.spreadsheet(c, f, name, "deals", func(w sheet.Writer) error {
		if err := w.Write(pickHeads(zh, dealHeads)...); err != nil {
			return err
		}
		filter.Page = kamflow.Page{Limit: 200}
		for {
			deals, total, err := s.cfg.Deals.Deals(ctx, filter)
			if err != nil {
				return err
			}
			for _, d := range deals {
				if err := w.Write(dealCells(d, names, zh)...); err != nil {
					return err
				}
			}
			filter.Offset += filter.Limit
			if len(deals) == 0 || filter.Offset >= total {
				return nil
			}
		}
	})
}

// views is the store of saved views: the configured one, else the deals' store if it keeps them.
func (s *Server) savedViews() (kamflow.SavedViewStore, error) {
	if s.cfg.Views != nil {
		return s.cfg.Views, nil
	}
	if v, ok := s.cfg.Deals.(kamflow.SavedViewStore); ok {
		return v, nil
	}
	return nil, kamflow.Errorf(kamflow.ENOTFOUND, "saved views are not kept here")
}

// listSavedViews answers the signed-in user's saved views (only theirs), by page and name;
// ?page=board or list keeps one page's.
func (s *Server) listSavedViews(c echo.Context) error {
	st, err := s.savedViews()
	if err != nil {
		return err
	}
	all, err := st.SavedViews(c.Request().Context(), s.actor(c).ID)
	if err != nil {
		return err
	}
	out := []kamflow.SavedView{}
	for _, v := range all {
		if p := c.QueryParam("page"); p == "" || p == v.Page {
			out = append(out, v)
		}
	}
	return c.JSON(http.StatusOK, map[string]any{"items": out})
}

// savedViewInput is a view to save.
type savedViewInput struct {
	Name  string `json:"name"`
	Page  string `json:"page"`
	Query string `json:"query"`
}

// saveView saves a view of the signed-in user's, new or replacing the user's view of the same
// page and name (its created_at then older than its updated_at).
func (s *Server) saveView(c echo.Context) error {
	var in savedViewInput
	if err := bind(c, &in); err != nil {
		return err
	}
	now := s.cfg.Now().UTC()
	v := &kamflow.SavedView{ID: s.cfg.NewID(), User: s.actor(c).ID, Name: in.Name, Page: in.Page, Query: in.Query, CreatedAt: now, UpdatedAt: now}
	if err := v.Validate(); err != nil {
		return err
	}
	st, err := s.savedViews()
	if err != nil {
		return err
	}
	if _, err := st.SaveView(c.Request().Context(), v); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

// deleteSavedView deletes a view of the signed-in user's; another user's is not found.
func (s *Server) deleteSavedView(c echo.Context) error {
	st, err := s.savedViews()
	if err != nil {
		return err
	}
	if err := st.DeleteSavedView(c.Request().Context(), s.actor(c).ID, c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
