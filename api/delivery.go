package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/pdf"
)

// Delivery and proactive service: the deal's delivery plan (read from its projection, changed
// through its delivery workflow), the acceptance certificate, the service visits and the
// account's service report.

// taskView is a delivery task as the API shows it: with whether it is overdue and the tasks it
// still waits on.
type taskView struct {
	kamflow.DeliveryTask
	Overdue   bool     `json:"overdue"`
	WaitingOn []string `json:"waiting_on"`
}

// deliveryView is a deal's delivery plan as the API shows it.
type deliveryView struct {
	DealID    string                  `json:"deal_id"`
	AccountID string                  `json:"account_id"`
	Site      string                  `json:"site"`
	Tasks     []taskView              `json:"tasks"`
	ClosedAt  *time.Time              `json:"closed_at,omitempty"`
	Cadence   []kamflow.Duration      `json:"cadence"`
	Visits    []*kamflow.ServiceVisit `json:"visits"`
	// Acceptance is the acceptance test's outcome ("" before one) and its open punch items.
	Acceptance     kamflow.AcceptanceResult `json:"acceptance,omitempty"`
	OpenPunchItems int                      `json:"open_punch_items"`
	// UndoFailed are the tasks whose undo failed, to clean up by hand: while any is, the
	// certificate is refused and the project cannot close.
	UndoFailed []string  `json:"undo_failed"`
	Seq        int64     `json:"seq"`
	UpdatedAt  time.Time `json:"updated_at"`
}

func (s *Server) deliveryView(p *kamflow.DeliveryPlan) deliveryView {
	now := s.cfg.Now()
	v := deliveryView{DealID: p.DealID, AccountID: p.AccountID, Site: p.Site, ClosedAt: p.ClosedAt, Cadence: p.Cadence,
		Visits: p.Visits, Seq: p.Seq, UpdatedAt: p.UpdatedAt, Tasks: make([]taskView, 0, len(p.Tasks))}
	if v.Visits == nil {
		v.Visits = []*kamflow.ServiceVisit{}
	}
	if v.Cadence == nil {
		v.Cadence = []kamflow.Duration{}
	}
	v.Acceptance, v.OpenPunchItems = p.Acceptance()
	v.UndoFailed = p.UndoFailedTasks()
	for _, t := range p.Tasks {
		tv := taskView{DeliveryTask: t, Overdue: t.Overdue(now) && p.ClosedAt == nil, WaitingOn: []string{}}
		if tv.Steps == nil {
			tv.Steps = []kamflow.DeliveryStep{}
		}
		for _, dep := range t.DependsOn {
			if d := p.Task(dep); d == nil || d.Status != kamflow.TaskDone {
				tv.WaitingOn = append(tv.WaitingOn, dep)
			}
		}
		v.Tasks = append(v.Tasks, tv)
	}
	return v
}

// deliveryPlan reads the plan of the deal in the path, which the user must be able to see.
func (s *Server) deliveryPlan(c echo.Context) (*kamflow.Deal, *kamflow.DeliveryPlan, error) {
	d, err := s.visibleDeal(c)
	if err != nil {
		return nil, nil, err
	}
	p, err := s.cfg.Deliveries.DeliveryPlan(c.Request().Context(), d.ID)
	if kamflow.ErrorCode(err) == kamflow.ENOTFOUND {
		return nil, nil, kamflow.Errorf(kamflow.ENOTFOUND, "deal %s has no delivery plan: it has not entered delivery", d.ID)
	}
	return d, p, err
}

func (s *Server) getDelivery(c echo.Context) error {
	_, p, err := s.deliveryPlan(c)
	if err != nil {
		return err
	}
	if s.cfg.DeliveryLive != nil && p.Running() {
		// Best effort: the plan as projected is still right without the engine's view of it.
		if live, err := s.cfg.DeliveryLive.LiveSteps(c.Request().Context(), p.DealID); err != nil {
			s.log(c).Warn("live delivery steps not read", "deal", p.DealID, "err", err)
		} else {
			p.Live(live)
		}
	}
	return c.JSON(http.StatusOK, s.deliveryView(p))
}

// putDelivery adjusts the plan: tasks added, reordered, assigned and dated.
func (s *Server) putDelivery(c echo.Context) error {
	var in kamflow.PlanInput
	if err := bind(c, &in); err != nil {
		return err
	}
	d, _, err := s.deliveryPlan(c)
	if err != nil {
		return err
	}
	// The workflow cannot look users up: an assignee must be one of the deal's engineers.
	for i, t := range in.Tasks {
		if t.Assignee == "" {
			continue
		}
		u, err := s.cfg.Users.UserByUsername(c.Request().Context(), t.Assignee)
		if err != nil && kamflow.ErrorCode(err) != kamflow.ENOTFOUND {
			return err
		}
		if err != nil || !slices.ContainsFunc(d.Engineers, func(e string) bool { return strings.EqualFold(e, u.Username) }) {
			return kamflow.Errorf(kamflow.EINVALID, "%q is not an engineer of this deal: assign them first (PUT /deals/%s/engineers)", t.Assignee, d.ID).
				WithDetail("field", fmt.Sprintf("tasks[%d].assignee", i))
		}
		in.Tasks[i].Assignee = u.Username
	}
	return s.deliveryCommand(c, d, kamflow.DeliveryCommand{Kind: kamflow.DelivPlan, Plan: &in})
}

// taskCommand starts, retries, cancels or completes the task in the path.
func (s *Server) taskCommand(kind kamflow.DeliveryCommandKind) echo.HandlerFunc {
	return func(c echo.Context) error {
		cmd := kamflow.DeliveryCommand{Kind: kind, Task: c.Param("key")}
		var err error
		if kind == kamflow.DelivComplete {
			cmd.Complete = &kamflow.CompleteInput{}
			err = bind(c, cmd.Complete)
		} else {
			err = bind(c, &struct{}{})
		}
		if err != nil {
			return err
		}
		d, _, err := s.deliveryPlan(c)
		if err != nil {
			return err
		}
		return s.deliveryCommand(c, d, cmd)
	}
}

func (s *Server) resolvePunch(c echo.Context) error {
	var in resolvePunchInput
	if err := bind(c, &in); err != nil {
		return err
	}
	d, _, err := s.deliveryPlan(c)
	if err != nil {
		return err
	}
	return s.deliveryCommand(c, d, kamflow.DeliveryCommand{Kind: kamflow.DelivResolve, Punch: c.Param("item"), Note: in.Note})
}

// resolvePunchInput says, optionally, how a punch item was resolved.
type resolvePunchInput struct {
	Note string `json:"note,omitempty"`
}

// resolveUndoInput is an engineer's word that the work of a failed undo was cleaned up by hand.
type resolveUndoInput struct {
	Note string `json:"note"`
}

// resolveUndo records the hand clean-up of the task in the path, whose undo failed: the task
// ends as it was heading (failed or cancelled).
func (s *Server) resolveUndo(c echo.Context) error {
	var in resolveUndoInput
	if err := bind(c, &in); err != nil {
		return err
	}
	d, _, err := s.deliveryPlan(c)
	if err != nil {
		return err
	}
	return s.deliveryCommand(c, d, kamflow.DeliveryCommand{Kind: kamflow.DelivResolveUndo, Task: c.Param("key"), Note: in.Note})
}

// sendDelivery sends cmd, as the signed-in user, to the deal's delivery workflow.
func (s *Server) sendDelivery(c echo.Context, d *kamflow.Deal, cmd kamflow.DeliveryCommand) (*kamflow.DeliveryPlan, error) {
	cmd.Actor = s.actor(c)
	// Refused here already what the workflow would refuse for the role, without a round trip.
	if err := cmd.Actor.AuthorizeDelivery(cmd, d); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), s.cfg.CommandTimeout)
	defer cancel()
	p, err := s.cfg.Delivery.ExecuteDelivery(ctx, d.ID, cmd, scopedKey(c))
	if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return nil, context.DeadlineExceeded
	}
	return p, err
}

func (s *Server) deliveryCommand(c echo.Context, d *kamflow.Deal, cmd kamflow.DeliveryCommand) error {
	p, err := s.sendDelivery(c, d, cmd)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.deliveryView(p))
}

// certified is a deal whose acceptance certificate may be issued: its delivery plan, its
// acceptance test and the certificate's number (given the first time it is asked for).
type certified struct {
	deal   *kamflow.Deal
	plan   *kamflow.DeliveryPlan
	test   *kamflow.DeliveryTask
	result kamflow.AcceptanceResult
	number string
}

// certifiedDeal reads the deal of the request when its acceptance test passed and nothing holds
// the certificate up; not while a task's failed undo waits to be cleaned up by hand.
func (s *Server) certifiedDeal(c echo.Context) (*certified, error) {
	d, p, err := s.deliveryPlan(c)
	if err != nil {
		return nil, err
	}
	t := p.Task(kamflow.TaskAcceptanceTest)
	result, _ := p.Acceptance()
	if t == nil || (result != kamflow.AcceptancePass && result != kamflow.AcceptancePassPunchList) {
		return nil, kamflow.Errorf(kamflow.EWRONGSTAGE, "the acceptance test of deal %s has not passed: there is no certificate yet", d.ID)
	}
	if err := p.Hold().Check("the acceptance certificate"); err != nil {
		return nil, err
	}
	store := s.cfg.Certificates
	if store == nil {
		store, _ = s.cfg.Deals.(kamflow.CertificateStore)
	}
	if store == nil {
		return nil, errors.New("api: no store numbers the certificates")
	}
	n, err := store.CertificateNumber(c.Request().Context(), d.ID, *t.CompletedAt)
	if err != nil {
		return nil, err
	}
	return &certified{deal: d, plan: p, test: t, result: result, number: n}, nil
}

// acceptanceDocuments are the deal's files of kind acceptance_report, whatever they are on (the
// deal, its acceptance test, a visit), oldest first: the certificate lists them. None without a
// file store.
func (s *Server) acceptanceDocuments(ctx context.Context, dealID string) ([]kamflow.File, error) {
	fs := s.files()
	if fs == nil {
		return nil, nil
	}
	docs, err := fs.Files(ctx, kamflow.FileFilter{DealID: dealID, Kind: kamflow.FileAcceptance})
	if err != nil {
		return nil, err
	}
	slices.Reverse(docs)
	return docs, nil
}

// certificateFileName is the name the certificate downloads under, in the language of its labels.
func certificateFileName(number, lang string) string {
	if lang == "en" {
		return "acceptance-" + number + ".pdf"
	}
	return "验收证书-" + number + ".pdf"
}

// attachment is a Content-Disposition for a file name that may not be ASCII (RFC 6266): an ASCII
// filename for old clients, and filename* with the name itself, UTF-8 and percent-encoded.
func attachment(name, ascii string) string {
	return fmt.Sprintf(`attachment; filename="%s"; filename*=UTF-8''%s`, ascii, url.PathEscape(name))
}

// certificateInfo answers the certificate's number and file names, numbering it the first time.
func (s *Server) certificateInfo(c echo.Context) error {
	cd, err := s.certifiedDeal(c)
	if err != nil {
		return err
	}
	docs, err := s.acceptanceDocuments(c.Request().Context(), cd.deal.ID)
	if err != nil {
		return err
	}
	views, err := s.fileViews(c.Request().Context(), docs)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"number": cd.number,
		"filename": certificateFileName(cd.number, "zh-CN"), "filename_en": certificateFileName(cd.number, "en"), "documents": views})
}

// certificate answers the acceptance certificate of a deal whose acceptance test passed, as a
// PDF in the user's language, with its people by name.
func (s *Server) certificate(c echo.Context) error {
	cd, err := s.certifiedDeal(c)
	if err != nil {
		return err
	}
	d, p, t := cd.deal, cd.plan, cd.test
	ctx := c.Request().Context()
	customer := d.AccountID
	if a, err := s.cfg.Accounts.Account(ctx, d.AccountID); err == nil {
		customer = a.Name
	} else if kamflow.ErrorCode(err) != kamflow.ENOTFOUND {
		return err
	}
	loc := time.UTC
	if tz := c.QueryParam("tz"); tz != "" {
		if loc, err = time.LoadLocation(tz); err != nil || tz == "Local" {
			return kamflow.Errorf(kamflow.EINVALID, "tz %q is not a time zone such as Asia/Shanghai", tz).WithDetail("field", "tz")
		}
	}
	lang := "zh-CN"
	if !wantsChinese(c) {
		lang = "en"
	}
	docs, err := s.acceptanceDocuments(ctx, d.ID)
	if err != nil {
		return err
	}
	who := []string{t.CompletedBy, d.Owner}
	for _, task := range p.Tasks {
		who = append(who, task.CompletedBy)
	}
	for _, f := range docs {
		who = append(who, f.UploadedBy)
	}
	names, err := s.displayNames(ctx, who)
	if err != nil {
		return err
	}
	cert := pdf.Certificate{
		Number: cd.number, IssuedAt: *t.CompletedAt, Customer: customer, Project: d.Title, DealID: d.ID,
		Result: string(cd.result), Notes: t.Notes, AcceptedBy: names.of(t.CompletedBy), AcceptedAt: *t.CompletedAt, KAM: names.of(d.Owner),
		Lang: lang, Location: loc,
	}
	if d.Contract.SignedOn != "" {
		cert.Contract = string(d.Contract.SignedOn)
	}
	for _, task := range p.Tasks {
		if task.Status != kamflow.TaskDone || task.Key == kamflow.TaskAcceptanceTest {
			continue
		}
		name := task.Title
		if name == "" {
			name = taskNames(task.Key, lang)
		}
		cert.Tasks = append(cert.Tasks, pdf.CertTask{Name: name, Engineer: names.of(task.CompletedBy), CompletedAt: *task.CompletedAt, Notes: task.Notes})
	}
	for _, it := range t.PunchList {
		cert.PunchList = append(cert.PunchList, pdf.CertPunch{Text: it.Text, Done: it.Done})
	}
	for _, f := range docs {
		cert.Documents = append(cert.Documents, pdf.CertDoc{Name: f.Name, UploadedBy: names.of(f.UploadedBy), UploadedAt: f.UploadedAt})
	}
	var b bytes.Buffer
	if err := pdf.WriteCertificate(&b, cert); err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderContentDisposition, attachment(certificateFileName(cd.number, lang), certificateFileName(cd.number, "en")))
	c.Response().Header().Set("X-Certificate-Number", cd.number)
	return c.Blob(http.StatusOK, "application/pdf", b.Bytes())
}

// taskNames names the default tasks on the certificate.
func taskNames(key, lang string) string {
	zh := map[string]string{kamflow.TaskSiteSurvey: "现场勘察", kamflow.TaskInstallation: "安装", kamflow.TaskCommissioning: "调试",
		kamflow.TaskTraining: "培训", kamflow.TaskAcceptanceTest: "验收测试"}
	en := map[string]string{kamflow.TaskSiteSurvey: "Site survey", kamflow.TaskInstallation: "Installation", kamflow.TaskCommissioning: "Commissioning",
		kamflow.TaskTraining: "Training", kamflow.TaskAcceptanceTest: "Acceptance test"}
	names := en
	if lang != "en" {
		names = zh
	}
	if n := names[key]; n != "" {
		return n
	}
	return key
}

// listServiceVisits lists service visits the user may see: assignee=me for one's own.
func (s *Server) listServiceVisits(c echo.Context) error {
	me := s.actor(c)
	f := kamflow.VisitFilter{Viewer: &me, Assignee: c.QueryParam("assignee"), AccountID: c.QueryParam("account_id"), DealID: c.QueryParam("deal_id")}
	if f.Assignee == "me" {
		f.Assignee = me.ID
	}
	switch st := kamflow.VisitStatus(c.QueryParam("status")); st {
	case "", kamflow.VisitDue, kamflow.VisitReported:
		f.Status = st
	default:
		return kamflow.Errorf(kamflow.EINVALID, "status must be due or reported").WithDetail("field", "status")
	}
	visits, err := s.cfg.Deliveries.ServiceVisits(c.Request().Context(), f)
	if err != nil {
		return err
	}
	if visits == nil {
		visits = []kamflow.ServiceVisit{}
	}
	return c.JSON(http.StatusOK, map[string]any{"items": visits, "total": len(visits)})
}

// visitReportInput is what an engineer reports of a visit.
type visitReportInput struct {
	VisitedOn        kamflow.Date         `json:"visited_on"`
	FaultsFound      int                  `json:"faults_found"`
	FaultsUnresolved int                  `json:"faults_unresolved"`
	Satisfaction     kamflow.Satisfaction `json:"satisfaction"`
	Notes            string               `json:"notes,omitempty"`
}

func (s *Server) reportServiceVisit(c echo.Context) error {
	var in visitReportInput
	if err := bind(c, &in); err != nil {
		return err
	}
	ctx := c.Request().Context()
	v, err := s.cfg.Deliveries.ServiceVisit(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	d, err := s.cfg.Deals.Deal(ctx, v.DealID)
	if err != nil {
		return err
	}
	me := s.actor(c)
	if !me.CanSeeDeal(d) {
		return kamflow.Errorf(kamflow.ENOTFOUND, "service visit %q not found", c.Param("id"))
	}
	r := &kamflow.VisitReport{VisitedOn: in.VisitedOn, FaultsFound: in.FaultsFound, FaultsUnresolved: in.FaultsUnresolved,
		Satisfaction: in.Satisfaction, Notes: in.Notes}
	p, err := s.sendDelivery(c, d, kamflow.DeliveryCommand{Kind: kamflow.DelivReport, Visit: v.ID, Report: r})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, p.Visit(v.ID))
}

// serviceReport is an account's proactive service for its head office, by round or by each
// site's latest visit.
func (s *Server) serviceReport(c echo.Context) error {
	a, err := s.visibleAccount(c)
	if err != nil {
		return err
	}
	round := 0
	if v := c.QueryParam("round"); v != "" {
		if round, err = strconv.Atoi(v); err != nil || round < 1 || round > 12 {
			return kamflow.Errorf(kamflow.EINVALID, "round must be a whole number from 1 to 12").WithDetail("field", "round")
		}
	}
	q, err := s.reportQuery(c)
	if err != nil {
		return err
	}
	visits, err := s.cfg.Deliveries.AccountServiceVisits(c.Request().Context(), a.ID)
	if err != nil {
		return err
	}
	r := kamflow.BuildServiceReport(a.ID, round, visits)
	if q.csv {
		return serviceCSV(c, q, a, r)
	}
	return c.JSON(http.StatusOK, map[string]any{"account_id": a.ID, "account": a.Name, "round": r.Round,
		"sites_visited": r.SitesVisited, "sites_with_faults": r.SitesWithFaults, "sites_unresolved": r.SitesUnresolved,
		"satisfied": r.Satisfied, "fault_rate": r.FaultRate, "satisfaction_rate": r.SatisfactionRate, "sites": r.Sites})
}

var satisfactionZH = map[kamflow.Satisfaction]string{kamflow.Satisfied: "满意", kamflow.Neutral: "一般", kamflow.Dissatisfied: "不满意"}

func serviceCSV(c echo.Context, q reportQuery, a *kamflow.Account, r kamflow.ServiceReport) error {
	head := heads(q.zh, [2]string{"site", "现场"}, [2]string{"deal_id", "商机编号"}, [2]string{"round", "轮次"},
		[2]string{"visited_on", "回访日期"}, [2]string{"faults_found", "发现故障"}, [2]string{"faults_unresolved", "未解决故障"},
		[2]string{"satisfaction", "满意度"})
	rows := make([][]string, 0, len(r.Sites)+1)
	for _, st := range r.Sites {
		sat := string(st.Satisfaction)
		if q.zh {
			sat = satisfactionZH[st.Satisfaction]
		}
		rows = append(rows, []string{csvText(st.Site), st.DealID, itoa(st.Round), string(st.VisitedOn), itoa(st.FaultsFound),
			itoa(st.FaultsUnresolved), sat})
	}
	total := fmt.Sprintf("%d sites visited, %d with faults (%s), %d unresolved, %d satisfied (%s)", r.SitesVisited, r.SitesWithFaults,
		pct(r.FaultRate), r.SitesUnresolved, r.Satisfied, pct(r.SatisfactionRate))
	if q.zh {
		total = fmt.Sprintf("回访现场 %d 个，其中有故障 %d 个（%s），未解决 %d 个，满意 %d 个（%s）", r.SitesVisited, r.SitesWithFaults,
			pct(r.FaultRate), r.SitesUnresolved, r.Satisfied, pct(r.SatisfactionRate))
	}
	rows = append(rows, []string{csvText(a.Name), "", "", "", itoa(totalFaults(r, false)), itoa(totalFaults(r, true)), total})
	return writeCSV(c, "service-report", head, rows)
}

func totalFaults(r kamflow.ServiceReport, unresolved bool) int {
	n := 0
	for _, s := range r.Sites {
		if unresolved {
			n += s.FaultsUnresolved
		} else {
			n += s.FaultsFound
		}
	}
	return n
}

func pct(r float64) string { return strconv.FormatFloat(r*100, 'f', -1, 64) + "%" }
