package api

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/kamflow/kamflow"
)

// dealView is a deal as the API shows it: the stored deal plus what is derived from it — the
// current gate, the win probability and its reasons, the clock.
type dealView struct {
	*kamflow.Deal
	Grade          kamflow.Grade       `json:"grade"`
	WinProbability int                 `json:"win_probability"`
	Probability    kamflow.Probability `json:"probability"`
	Gate           kamflow.Gate        `json:"gate"`
	DaysInStage    int                 `json:"days_in_stage"`
	DaysOverSLA    int                 `json:"days_over_sla"`
	StallDeadline  *time.Time          `json:"stall_deadline,omitempty"`
	// ApprovalActions is what the signed-in user may do in the deal's approval process
	// (approvals.go).
	ApprovalActions approvalActions `json:"approval_actions"`
}

func (s *Server) view(ctx context.Context, d *kamflow.Deal) (dealView, error) {
	d, err := s.withContacts(ctx, d) // stakeholders.go
	if err != nil {
		return dealView{}, err
	}
	if refs := d.TextRefs(); len(refs) > 0 && s.texts() != nil {
		texts, err := s.texts().Texts(ctx, refs)
		if err != nil {
			return dealView{}, err
		}
		d = d.Clone()
		d.FillTexts(texts)
	}
	now := s.cfg.Now()
	p := d.WinProbability()
	v := dealView{
		Deal: d, Grade: d.Grade(), WinProbability: p.Value, Probability: p, Gate: d.Gate(),
		DaysInStage: d.DaysInStage(now), DaysOverSLA: d.DaysOverSLA(now),
	}
	if dl := d.StallDeadline(); !dl.IsZero() {
		v.StallDeadline = &dl
	}
	return v, nil
}

// texts is where the deals' long texts are kept; nil keeps them in the deals' records.
func (s *Server) texts() kamflow.TextStore {
	if s.cfg.Texts != nil {
		return s.cfg.Texts
	}
	t, _ := s.cfg.Deals.(kamflow.TextStore)
	return t
}

// dealJSON answers with the deal as people read it.
func (s *Server) dealJSON(c echo.Context, status int, d *kamflow.Deal) error {
	v, err := s.view(c.Request().Context(), d)
	if err != nil {
		return err
	}
	v.ApprovalActions = approvalActionsFor(s.actor(c), d, s.cfg.Now())
	return c.JSON(status, v)
}

// dealSummary is a deal in a list: what the pipeline board shows on a card.
type dealSummary struct {
	ID             string         `json:"id"`
	AccountID      string         `json:"account_id"`
	Title          string         `json:"title"`
	Value          kamflow.Money  `json:"value"`
	Currency       string         `json:"currency"`
	ExpectedClose  kamflow.Date   `json:"expected_close,omitempty"`
	Owner          string         `json:"owner"`
	Stage          kamflow.Stage  `json:"stage"`
	Status         kamflow.Status `json:"status"`
	Grade          kamflow.Grade  `json:"grade"`
	WinProbability int            `json:"win_probability"`
	Stalled        bool           `json:"stalled"`
	Forced         bool           `json:"forced"`
	Paused         bool           `json:"paused"`
	DaysInStage    int            `json:"days_in_stage"`
	DaysOverSLA    int            `json:"days_over_sla"`
	UpdatedAt      time.Time      `json:"updated_at"`
}

func (s *Server) summary(d *kamflow.Deal) dealSummary {
	now := s.cfg.Now()
	return dealSummary{
		ID: d.ID, AccountID: d.AccountID, Title: d.Title, Value: d.Value, Currency: d.Currency,
		ExpectedClose: d.ExpectedClose, Owner: d.Owner, Stage: d.Stage, Status: d.Status, Grade: d.Grade(),
		WinProbability: d.WinProbability().Value, Stalled: d.Stalled, Forced: d.Forced, Paused: d.Pause != nil,
		DaysInStage: d.DaysInStage(now), DaysOverSLA: d.DaysOverSLA(now), UpdatedAt: d.UpdatedAt,
	}
}

type list[T any] struct {
	Items  []T `json:"items"`
	Total  int `json:"total"`
	Limit  int `json:"limit"`
	Offset int `json:"offset"`
}

// page reads limit (1–200, default 50) and offset.
func page(c echo.Context) (kamflow.Page, error) {
	p := kamflow.Page{Limit: 50}
	for _, q := range []struct {
		name string
		dst  *int
		min  int
		max  int
	}{{"limit", &p.Limit, 1, 200}, {"offset", &p.Offset, 0, 1 << 30}} {
		v := c.QueryParam(q.name)
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < q.min || n > q.max {
			return p, kamflow.Errorf(kamflow.EINVALID, "%s must be a whole number from %d to %d", q.name, q.min, q.max).WithDetail("field", q.name)
		}
		*q.dst = n
	}
	return p, nil
}

func (s *Server) createDeal(c echo.Context) error {
	var in kamflow.NewDealInput
	if err := bind(c, &in); err != nil {
		return err
	}
	ctx := c.Request().Context()
	if err := in.Validate(); err != nil {
		return err
	}
	me := s.actor(c)
	acc, err := s.cfg.Accounts.Account(ctx, in.AccountID)
	if kamflow.ErrorCode(err) == kamflow.ENOTFOUND || (err == nil && !me.CanSeeAccount(acc)) {
		return kamflow.Errorf(kamflow.EINVALID, "account %q does not exist", in.AccountID).WithDetail("field", "account_id")
	} else if err != nil {
		return err
	}
	in.TeamID = acc.TeamID
	if in.Owner != "" && in.Owner != me.ID {
		if in.Owner, err = s.checkKAM(ctx, in.Owner, acc.TeamID, "owner"); err != nil {
			return err
		}
	}
	settings, err := s.cfg.Settings.Settings(ctx)
	if err != nil {
		return err
	}
	// With an Idempotency-Key the deal's ID follows from the key, so that a retry which races the
	// first attempt finds the same workflow instead of opening a second deal.
	id := s.cfg.NewID()
	if key := scopedKey(c); key != "" {
		id = uuid.NewSHA1(dealIDSpace, []byte(key)).String()
	}
	d, created, err := kamflow.NewDeal(id, in, me, s.cfg.Now().UTC(), settings)
	if err != nil {
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, s.cfg.CommandTimeout)
	defer cancel()
	out, err := s.cfg.Service.CreateDeal(cctx, d, created, settings)
	if kamflow.ErrorCode(err) == kamflow.ECONFLICT {
		out, err = s.startedDeal(c, id)
	}
	if err != nil {
		return err
	}
	c.Response().Header().Set("Location", "/api/v1/deals/"+out.ID)
	return s.dealJSON(c, http.StatusCreated, out)
}

// startedWait is how long a deal creation whose workflow an earlier attempt started waits for its
// deal to be written before answering in_progress.
const startedWait = 2 * time.Second

// startedDeal answers a deal creation that found its deal's workflow started already, by an
// earlier attempt with the same Idempotency-Key whose answer was lost: the deal once it is written
// (its workflow writes it before its start completes), or 409 in_progress while it is not — never
// 404 for the deal being created.
func (s *Server) startedDeal(c echo.Context, id string) (*kamflow.Deal, error) {
	ctx := c.Request().Context()
	deadline := time.Now().Add(startedWait)
	for wait := 10 * time.Millisecond; ; wait = min(2*wait, 250*time.Millisecond) {
		d, err := s.cfg.Deals.Deal(ctx, id)
		if kamflow.ErrorCode(err) != kamflow.ENOTFOUND {
			return d, err
		}
		if time.Now().Add(wait).After(deadline) {
			return nil, inProgress(c, c.Request().Header.Get(idempotencyHeader))
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
	}
}

// dealIDSpace namespaces the deal IDs derived from Idempotency-Keys.
var dealIDSpace = uuid.MustParse("5b0c7a52-8f0e-4d52-9a55-6b616d666c6f")

func (s *Server) listDeals(c echo.Context) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	f, err := s.dealFilter(c)
	if err != nil {
		return err
	}
	f.Page = p
	deals, total, err := s.cfg.Deals.Deals(c.Request().Context(), f)
	if err != nil {
		return err
	}
	out := list[dealSummary]{Items: make([]dealSummary, 0, len(deals)), Total: total, Limit: p.Limit, Offset: p.Offset}
	for _, d := range deals {
		out.Items = append(out.Items, s.summary(d))
	}
	if c.QueryParam("totals") == "true" {
		return s.listWithTotals(c, f, out) // views.go
	}
	return c.JSON(http.StatusOK, out)
}

// pipelineReport is the board's column heads: active deals per stage with their count, stalled
// count and value per currency, under the same filters as the deal list.
func (s *Server) pipelineReport(c echo.Context) error {
	f, err := s.dealFilter(c)
	if err != nil {
		return err
	}
	stages, err := s.cfg.Deals.Pipeline(c.Request().Context(), f)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"stages": stages})
}

// approvalEntry is a deal waiting for a director: a bid below the margin floor, or a contract.
type approvalEntry struct {
	dealSummary
	Approval  string   `json:"approval"` // margin or contract
	MarginPct *float64 `json:"margin_pct,omitempty"`
	Floor     *float64 `json:"floor,omitempty"`
	// Request is the KAM's request waiting for the director, if they asked (approvals.go).
	Request *kamflow.Approval `json:"request,omitempty"`
}

// approvalsReport lists what waits for the signed-in director's approval in their teams, oldest
// first.
func (s *Server) approvalsReport(c echo.Context) error {
	me := s.actor(c)
	ctx := c.Request().Context()
	out := []approvalEntry{}
	for _, st := range kamflow.ApprovalStages {
		for offset := 0; ; offset += 200 {
			deals, total, err := s.cfg.Deals.Deals(ctx, kamflow.DealFilter{Viewer: &me, Stage: st, Status: kamflow.StatusOpen,
				Page: kamflow.Page{Limit: 200, Offset: offset}})
			if err != nil {
				return err
			}
			for _, d := range deals {
				kind, ok := d.PendingApproval()
				if !ok {
					continue
				}
				e := approvalEntry{dealSummary: s.summary(d), Approval: kind, Request: d.PendingRequest(kind)}
				if kind == kamflow.ApprovalMargin {
					m, f := d.Bid.MarginPct, d.Bid.Floor
					e.MarginPct, e.Floor = &m, &f
				}
				out = append(out, e)
			}
			if offset+200 >= total {
				break
			}
		}
	}
	slices.SortStableFunc(out, approvalRequestSort)
	return c.JSON(http.StatusOK, map[string]any{"items": out, "total": len(out)})
}

// dealFilter reads the deal-list filters of the query, limited to what the user may see.
func (s *Server) dealFilter(c echo.Context) (kamflow.DealFilter, error) {
	var err error
	me := s.actor(c)
	f := kamflow.DealFilter{Viewer: &me, Owner: c.QueryParam("owner"), AccountID: c.QueryParam("account_id")}
	if v := c.QueryParam("stage"); v != "" {
		if f.Stage, err = kamflow.ParseStage(v); err != nil {
			return f, err.(*kamflow.Error).WithDetail("field", "stage")
		}
	}
	if v := c.QueryParam("status"); v == "active" {
		f.Active = true // open, or won and not yet delivered: the board's deals
	} else if v != "" {
		if f.Status, err = kamflow.ParseStatus(v); err != nil {
			return f, err.(*kamflow.Error).WithDetail("field", "status")
		}
	}
	if v := c.QueryParam("grade"); v != "" {
		if f.Grade, err = kamflow.ParseGrade(strings.ToUpper(v)); err != nil {
			return f, err.(*kamflow.Error).WithDetail("field", "grade")
		}
	}
	if v := c.QueryParam("stalled"); v != "" {
		b, perr := strconv.ParseBool(v)
		if perr != nil {
			return f, kamflow.Errorf(kamflow.EINVALID, "stalled must be true or false").WithDetail("field", "stalled")
		}
		f.Stalled = &b
	}
	return f, listFilter(c, &f) // views.go: the board's and list view's filters and order
}

// visibleDeal loads the deal named in the path, or answers not_found — also when it exists but
// the signed-in user may not see it, so that its existence does not leak.
func (s *Server) visibleDeal(c echo.Context) (*kamflow.Deal, error) {
	d, err := s.cfg.Deals.Deal(c.Request().Context(), c.Param("id"))
	if err != nil {
		return nil, err
	}
	if !s.actor(c).CanSeeDeal(d) {
		return nil, kamflow.Errorf(kamflow.ENOTFOUND, "deal %q not found", c.Param("id"))
	}
	return d, nil
}

func (s *Server) getDeal(c echo.Context) error {
	d, err := s.visibleDeal(c)
	if err != nil {
		return err
	}
	return s.dealJSON(c, http.StatusOK, d)
}

// dealTimeline is the deal's audit trail, newest first: every change with who, when and what.
func (s *Server) dealTimeline(c echo.Context) error {
	d, err := s.visibleDeal(c)
	if err != nil {
		return err
	}
	p, err := page(c)
	if err != nil {
		return err
	}
	items, total, err := s.cfg.Audit.Audit(c.Request().Context(), kamflow.AuditFilter{DealID: d.ID, Page: p})
	if err != nil {
		return err
	}
	if items == nil {
		items = []kamflow.AuditEntry{}
	}
	return c.JSON(http.StatusOK, list[kamflow.AuditEntry]{Items: items, Total: total, Limit: p.Limit, Offset: p.Offset})
}

// checkKAM checks that username names an enabled KAM of the team (kamflow.KAMOf: who may own
// its accounts and deals) and returns the username as stored (usernames match whatever their
// case; the rules compare them exactly).
func (s *Server) checkKAM(ctx context.Context, username, team, field string) (string, error) {
	u, err := s.cfg.Users.UserByUsername(ctx, username)
	if kamflow.ErrorCode(err) == kamflow.ENOTFOUND || (err == nil && !kamflow.KAMOf(u, team)) {
		return "", kamflow.Errorf(kamflow.EINVALID, "%s %q is not a KAM of the deal's account team", field, username).WithDetail("field", field)
	} else if err != nil {
		return "", err
	}
	return u.Username, nil
}

func (s *Server) dealHistory(c echo.Context) error {
	ctx := c.Request().Context()
	if _, err := s.visibleDeal(c); err != nil {
		return err
	}
	h, err := s.cfg.Deals.StageHistory(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	if h == nil {
		h = []kamflow.StageTransition{}
	}
	return c.JSON(http.StatusOK, map[string]any{"items": h})
}

// input reads the request body of a command that takes T into the command.
func input[T any](set func(*kamflow.Command, *T) error) func(echo.Context, *kamflow.Command) error {
	return func(c echo.Context, cmd *kamflow.Command) error {
		v := new(T)
		if err := bind(c, v); err != nil {
			return err
		}
		return set(cmd, v)
	}
}

// bidRequest is a bid as the API takes it: cost and price are required (a zero is a price).
type bidRequest struct {
	Cost      *kamflow.Money `json:"cost"`
	Price     *kamflow.Money `json:"price"`
	Deadline  kamflow.Date   `json:"deadline"`
	Submitted bool           `json:"submitted"`
}

// commandInputs reads each command's body; a command not listed takes an empty body (approvals,
// resume, project close).
var commandInputs = map[kamflow.CommandKind]func(echo.Context, *kamflow.Command) error{
	kamflow.CmdAssessment:  input(func(cmd *kamflow.Command, v *kamflow.AssessmentInput) error { cmd.Assessment = v; return nil }),
	kamflow.CmdStakeholder: input(readStakeholder),
	kamflow.CmdCriteria: input(func(cmd *kamflow.Command, v *struct {
		Criteria []kamflow.Criterion `json:"criteria"`
	}) error {
		cmd.Criteria = v.Criteria
		return nil
	}),
	kamflow.CmdProposal: input(func(cmd *kamflow.Command, v *kamflow.ProposalInput) error { cmd.Proposal = v; return nil }),
	kamflow.CmdBid: input(func(cmd *kamflow.Command, v *bidRequest) error {
		if v.Cost == nil || v.Price == nil {
			return kamflow.Errorf(kamflow.EINVALID, "cost and price are required").WithDetail("field", map[bool]string{true: "cost", false: "price"}[v.Cost == nil])
		}
		cmd.Bid = &kamflow.BidInput{Cost: *v.Cost, Price: *v.Price, Deadline: v.Deadline, Submitted: v.Submitted}
		return nil
	}),
	kamflow.CmdSignContract: input(func(cmd *kamflow.Command, v *kamflow.SignInput) error { cmd.Sign = v; return nil }),
	kamflow.CmdAcceptance:   input(func(cmd *kamflow.Command, v *kamflow.AcceptanceInput) error { cmd.Acceptance = v; return nil }),
	kamflow.CmdAdvance:      input(func(cmd *kamflow.Command, v *kamflow.AdvanceInput) error { cmd.Advance = v; return nil }),
	kamflow.CmdClose:        input(func(cmd *kamflow.Command, v *kamflow.CloseInput) error { cmd.Close = v; return nil }),
	kamflow.CmdPause:        input(func(cmd *kamflow.Command, v *kamflow.PauseInput) error { cmd.Pause = v; return nil }),
	kamflow.CmdReassign:     input(func(cmd *kamflow.Command, v *kamflow.ReassignInput) error { cmd.Reassign = v; return nil }),
	kamflow.CmdEdit: input(func(cmd *kamflow.Command, v *kamflow.EditInput) error {
		v.NotesRef = "" // only kamflow sets it (MoveTexts)
		cmd.Edit = v
		return nil
	}),
	kamflow.CmdAssignEngineers: input(func(cmd *kamflow.Command, v *struct {
		Engineers []string `json:"engineers"`
	}) error {
		cmd.Engineers = v.Engineers
		if cmd.Engineers == nil {
			cmd.Engineers = []string{}
		}
		return nil
	}),
	// Approvals as a process (approvals.go).
	kamflow.CmdRequestApproval: readApprovalRequest,
	kamflow.CmdAnswerApproval:  readApprovalAnswer,
}

// command answers a deal command's route: its body read into the command, sent to the deal.
func (s *Server) command(kind kamflow.CommandKind) echo.HandlerFunc {
	read, ok := commandInputs[kind]
	if !ok {
		read = func(c echo.Context, _ *kamflow.Command) error { return bind(c, &struct{}{}) }
	}
	return func(c echo.Context) error {
		cmd := kamflow.Command{Kind: kind, Actor: s.actor(c)}
		if err := read(c, &cmd); err != nil {
			return err
		}
		return s.execute(c, cmd)
	}
}

func (s *Server) execute(c echo.Context, cmd kamflow.Command) error {
	ctx := c.Request().Context()
	id := c.Param("id")
	d, err := s.visibleDeal(c)
	if err != nil {
		return err
	}
	// Long texts go to the database first, the command carries their refs: a change accepted
	// never refers to a text not kept, and the deal's record stays small.
	if st := s.texts(); st != nil {
		moved, err := cmd.MoveTexts()
		if err != nil {
			return err
		}
		if err := st.PutTexts(ctx, moved); err != nil {
			return err
		}
	}
	if err := s.checkStakeholder(ctx, d, &cmd); err != nil {
		return err
	}
	// The workflow cannot look users up: the people a command names are checked here.
	switch {
	case cmd.Kind == kamflow.CmdReassign && cmd.Reassign.Owner != "":
		if cmd.Reassign.Owner, err = s.checkKAM(ctx, cmd.Reassign.Owner, d.TeamID, "owner"); err != nil {
			return err
		}
	case cmd.Kind == kamflow.CmdAssignEngineers:
		for i, name := range cmd.Engineers {
			u, err := s.cfg.Users.UserByUsername(ctx, name)
			if kamflow.ErrorCode(err) == kamflow.ENOTFOUND || (err == nil && (u.Role != kamflow.UserEngineer || u.Disabled)) {
				return kamflow.Errorf(kamflow.EINVALID, "%q is not an engineer", name).WithDetail("field", "engineers")
			} else if err != nil {
				return err
			}
			if !d.MayDeliver(u) {
				// An engineer of the deal sees it and its account's contacts: only its team's.
				return kamflow.Errorf(kamflow.EINVALID, "%q is not an engineer of the deal's team", name).WithDetail("field", "engineers")
			}
			cmd.Engineers[i] = u.Username
		}
	}
	// A final deal's workflow has completed; answer from the record instead of asking it.
	if !d.Active() {
		return kamflow.Errorf(kamflow.EWRONGSTAGE, "the deal is %s; nothing more can be done on it", d.Status).WithDetail("status", string(d.Status))
	}
	cctx, cancel := context.WithTimeout(ctx, s.cfg.CommandTimeout)
	defer cancel()
	out, err := s.cfg.Service.Execute(cctx, id, cmd, scopedKey(c))
	if err != nil {
		if errors.Is(cctx.Err(), context.DeadlineExceeded) {
			return context.DeadlineExceeded
		}
		return err
	}
	return s.dealJSON(c, http.StatusOK, out)
}
