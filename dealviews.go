package kamflow

import (
	"context"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// The pipeline as people work from it (issue 16): the deal list's orders, the board's weighted
// value, and the views a user saves by name.

// DealSort is an order of the deal list. The zero value is the most recently updated first.
type DealSort string

// The deal list's orders. Each has a natural direction (Desc in DealFilter turns it round):
// value, probability and days in stage largest first read as the more natural default for a
// sales board, but the API takes the direction as given ("-value" is descending).
const (
	SortUpdated     DealSort = "updated"     // last change
	SortValue       DealSort = "value"       // the deal's value (amounts in different currencies compared as numbers)
	SortClose       DealSort = "close"       // expected close date (deals without one first)
	SortDays        DealSort = "days"        // days in the current stage
	SortProbability DealSort = "probability" // win probability
	SortTitle       DealSort = "title"
	SortStage       DealSort = "stage" // stage order, development first
)

var dealSorts = []DealSort{SortUpdated, SortValue, SortClose, SortDays, SortProbability, SortTitle, SortStage}

// ParseDealSort reads a sort parameter: a DealSort, descending with a leading "-". "" is the
// default order (updated, newest first).
func ParseDealSort(s string) (DealSort, bool, error) {
	if s == "" {
		return SortUpdated, true, nil
	}
	desc := strings.HasPrefix(s, "-")
	k := DealSort(strings.TrimPrefix(s, "-"))
	for _, x := range dealSorts {
		if x == k {
			return k, desc, nil
		}
	}
	return "", false, Errorf(EINVALID, "sort must be one of updated, value, close, days, probability, title, stage, optionally after -").WithDetail("field", "sort")
}

// ParseMonth reads a calendar month, YYYY-MM, and returns its first day and the first day of the
// month after, for a filter on expected close dates.
func ParseMonth(s string) (from, to Date, err error) {
	t, perr := time.Parse("2006-01", s)
	if perr != nil {
		return "", "", Errorf(EINVALID, "close_month must be a month, YYYY-MM").WithDetail("field", "close_month")
	}
	return DateOf(t), DateOf(t.AddDate(0, 1, 0)), nil
}

// Weighted is value weighted by a win probability in percent (value × p / 100), rounded to the
// nearest minor unit; computed without overflowing for any amount that fits Money.
func Weighted(value Money, p int) Money {
	if p <= 0 {
		return 0
	}
	if p >= 100 {
		return value
	}
	q, r := value/100, value%100
	w := q*Money(p) + (r*Money(p)+50)/100
	if r < 0 {
		w = q*Money(p) + (r*Money(p)-50)/100
	}
	return w
}

// AddTotal adds amount to the total of its currency in totals, keeping totals in currency order.
func AddTotal(totals []CurrencyTotal, currency string, amount Money) []CurrencyTotal {
	for i := range totals {
		if totals[i].Currency == currency {
			totals[i].Total += amount
			return totals
		}
	}
	i := 0
	for i < len(totals) && totals[i].Currency < currency {
		i++
	}
	totals = append(totals, CurrencyTotal{})
	copy(totals[i+1:], totals[i:])
	totals[i] = CurrencyTotal{Currency: currency, Total: amount}
	return totals
}

// DealTotals are the sums of a list of active deals: how many, how many stalled, and their value
// and weighted value per currency.
type DealTotals struct {
	Count    int             `json:"count"`
	Stalled  int             `json:"stalled"`
	Value    []CurrencyTotal `json:"value"`
	Weighted []CurrencyTotal `json:"weighted"`
}

// TotalOf sums the pipeline's columns into one total.
func TotalOf(stages []StageSummary) DealTotals {
	out := DealTotals{Value: []CurrencyTotal{}, Weighted: []CurrencyTotal{}}
	for _, s := range stages {
		out.Count += s.Count
		out.Stalled += s.Stalled
		for _, v := range s.Value {
			out.Value = AddTotal(out.Value, v.Currency, v.Total)
		}
		for _, v := range s.Weighted {
			out.Weighted = AddTotal(out.Weighted, v.Currency, v.Total)
		}
	}
	return out
}

// SavedView is a board or list view a user saved by name: the page and the filters and order of
// its URL.
type SavedView struct {
	ID        string    `json:"id"`
	User      string    `json:"-"` // the username whose view it is
	Name      string    `json:"name"`
	Page      string    `json:"page"`  // ViewBoard or ViewList
	Query     string    `json:"query"` // the URL's query string, without "?"
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// The pages a view is saved for.
const (
	ViewBoard = "board"
	ViewList  = "list"
)

// MaxSavedViews is how many views one user may keep.
const MaxSavedViews = 50

// savedViewParams are the query parameters a saved view may carry: the board's and the list's
// filters, the order and the list's page.
var savedViewParams = map[string]bool{
	"owner": true, "team": true, "grade": true, "stalled": true, "close_month": true, "account_id": true,
	"q": true, "sort": true, "stage": true, "offset": true,
}

// Validate trims the view's name and checks the view: a name of 1–80 characters, a known page,
// and a query of the views' parameters only, at most 1,000 bytes.
func (v *SavedView) Validate() error {
	v.Name = strings.TrimSpace(v.Name)
	if v.Name == "" || utf8.RuneCountInString(v.Name) > 80 {
		return Errorf(EINVALID, "name must be 1 to 80 characters").WithDetail("field", "name")
	}
	if v.Page != ViewBoard && v.Page != ViewList {
		return Errorf(EINVALID, "page must be board or list").WithDetail("field", "page")
	}
	v.Query = strings.TrimPrefix(v.Query, "?")
	if len(v.Query) > 1000 {
		return Errorf(EINVALID, "query must be at most 1000 bytes").WithDetail("field", "query")
	}
	q, err := url.ParseQuery(v.Query)
	if err != nil {
		return Errorf(EINVALID, "query is not a URL query").WithDetail("field", "query")
	}
	for k := range q {
		if !savedViewParams[k] {
			return Errorf(EINVALID, "query parameter %q is not a filter of the views", k).WithDetail("field", "query")
		}
	}
	return nil
}

// SavedViewStore keeps the users' saved views.
type SavedViewStore interface {
	// SavedViews lists the user's views by page and name.
	SavedViews(ctx context.Context, user string) ([]SavedView, error)
	// SaveView stores v, replacing the user's view of the same page and name (keeping its ID and
	// creation time, which v then carries); created reports a new one. A new view beyond
	// MaxSavedViews is a conflict.
	SaveView(ctx context.Context, v *SavedView) (created bool, err error)
	// DeleteSavedView removes the user's view; not_found when the user has no view with the id.
	DeleteSavedView(ctx context.Context, user, id string) error
}
