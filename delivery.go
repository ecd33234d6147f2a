package kamflow

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Delivery and proactive service (stage 6 and after, see DOMAIN.md).
//
// When a deal enters delivery, its DeliveryPlan holds the delivery tasks: by default site survey,
// installation, commissioning, training and the acceptance test, in that order of dependency. A
// KAM or director adjusts the plan (adds tasks, reorders, assigns engineers and due dates); a task
// may start only once the tasks it depends on are done.
//
// An engineer starts a task: its steps (DeliverySteps: the work order in the field-service
// system, the spare parts reserved, the customer's contact told) run one after the other as
// activities. When a step fails for good, the steps already done are undone in reverse order
// (compensation: the work order cancelled, the parts released) and the task is failed; it can be
// retried. A cancelled task is compensated the same way. Once its steps are done the task is
// active (the work happens on site) until the engineer completes it with notes and attachments.
//
// An undo that fails for good (the field-service system refuses it, or keeps failing for a day)
// leaves what the step made in the outside system: the task's other steps are still undone, then
// the task is undo_failed, naming each step, its ref and the error, until an engineer cleans it up
// by hand and says so with a note (resolve_undo); the task then ends as failed or cancelled, as it
// was heading. While any task is undo_failed, the acceptance certificate is refused and the deal
// is told (DeliveryHold) so that its project cannot close.
//
// The acceptance test's result decides the deal's accepted gate item; with a punch list, the
// project can be closed only once every item is resolved.
//
// After the project is closed, the plan schedules service visits at the follow-up cadence (by
// default 30, 90, 180 and 365 days after the close): each visit records the faults found, the
// faults left unresolved and the customer's satisfaction. The account's ServiceReport sums them up
// per installed site, the way the seeds' proactive-service example reports to a customer's head
// office (100 sites visited, 27 with faults, 11 unresolved, 85% satisfied).

// Task keys of the default plan.
const (
	TaskSiteSurvey     = "site_survey"
	TaskInstallation   = "installation"
	TaskCommissioning  = "commissioning"
	TaskTraining       = "training"
	TaskAcceptanceTest = "acceptance_test"
)

// Step keys: what starting a task does, in order. Each step but the notice has an undo.
const (
	StepWorkOrder      = "work_order"      // create the work order in the ERP / field-service system
	StepReserveParts   = "reserve_parts"   // reserve the spare parts and materials
	StepNotifyCustomer = "notify_customer" // tell the customer's contact when the engineers come
)

// TaskStatus is where a delivery task stands.
type TaskStatus string

// Task statuses.
const (
	TaskPending   TaskStatus = "pending"   // not started
	TaskRunning   TaskStatus = "running"   // its steps are running
	TaskActive    TaskStatus = "active"    // its steps are done: the work is under way on site
	TaskDone      TaskStatus = "done"      // completed
	TaskFailed    TaskStatus = "failed"    // a step failed; the done steps were undone; can be retried
	TaskCancelled TaskStatus = "cancelled" // cancelled; the done steps were undone; can be started again
	// TaskUndoing: a failure or a cancellation is undoing the done steps.
	TaskUndoing TaskStatus = "undoing"
	// TaskUndoFailed: a done step could not be undone: what it made must be cleaned up by hand
	// (UndoFailures) and the clean-up resolved (resolve_undo) before the task ends as UndoTo.
	TaskUndoFailed TaskStatus = "undo_failed"
)

// StepStatus is where a step of a task stands.
type StepStatus string

// Step statuses.
const (
	StepPending     StepStatus = "pending"
	StepRunning     StepStatus = "running"
	StepDone        StepStatus = "done"
	StepFailed      StepStatus = "failed"
	StepCompensated StepStatus = "compensated" // done, then undone
	StepUndoFailed  StepStatus = "undo_failed" // done, and its undo failed for good
)

// DeliveryStep is one step of a task's current run.
type DeliveryStep struct {
	Key      string     `json:"key"`
	Status   StepStatus `json:"status"`
	Attempts int        `json:"attempts"`
	// Ref is what the outside system answered (a work-order number, a reservation id).
	Ref   string `json:"ref,omitempty"`
	Error string `json:"error,omitempty"`
	// Progress is what the step last reported while running (0–100).
	Progress int        `json:"progress"`
	Started  *time.Time `json:"started_at,omitempty"`
	Ended    *time.Time `json:"ended_at,omitempty"`
}

// Attachment is a reference to a file kept elsewhere (a document system, a shared drive): kamflow
// stores the reference, not the file.
type Attachment struct {
	Name string `json:"name"`
	Ref  string `json:"ref"`
}

// UndoFailure is a done step whose undo failed for good: what it made in the outside system (Ref,
// the work order or the reservation) is left there, to be cleaned up by hand.
type UndoFailure struct {
	Step  string    `json:"step"`
	Ref   string    `json:"ref,omitempty"`
	Error string    `json:"error"`
	At    time.Time `json:"at"`
}

// UndoCleanup is an engineer's word that the work of the failed undos was cleaned up by hand.
type UndoCleanup struct {
	By    string        `json:"by"`
	At    time.Time     `json:"at"`
	Note  string        `json:"note"`
	Steps []UndoFailure `json:"steps"`
}

// PunchItem is an open point of a passed-with-punch-list acceptance.
type PunchItem struct {
	ID         string     `json:"id"`
	Text       string     `json:"text"`
	Done       bool       `json:"done"`
	ResolvedBy string     `json:"resolved_by,omitempty"`
	ResolvedAt *time.Time `json:"resolved_at,omitempty"`
	// Note says how the item was resolved (optional; items resolved before notes have none).
	Note string `json:"note,omitempty"`
}

// DeliveryTask is one task of the delivery plan.
type DeliveryTask struct {
	Key       string     `json:"key"`
	Title     string     `json:"title,omitempty"`
	Assignee  string     `json:"assignee,omitempty"`
	Due       Date       `json:"due,omitempty"`
	DependsOn []string   `json:"depends_on"`
	Status    TaskStatus `json:"status"`
	// Steps are the current run's steps; Runs counts the runs started.
	Steps []DeliveryStep `json:"steps"`
	Runs  int            `json:"runs"`
	// Progress is the share of the current run's steps done, 0–100 (100 once active or done).
	Progress  int        `json:"progress"`
	Error     string     `json:"error,omitempty"`
	StartedBy string     `json:"started_by,omitempty"`
	StartedAt *time.Time `json:"started_at,omitempty"`
	// Completion.
	CompletedBy string       `json:"completed_by,omitempty"`
	CompletedAt *time.Time   `json:"completed_at,omitempty"`
	Notes       string       `json:"notes,omitempty"`
	Attachments []Attachment `json:"attachments,omitempty"`
	// The acceptance test's outcome: Result, and its punch list or issues.
	Result    AcceptanceResult `json:"result,omitempty"`
	PunchList []PunchItem      `json:"punch_list,omitempty"`
	Issues    []string         `json:"issues,omitempty"`
	// OverdueNotified is the due date the assignee and KAM were told the task is overdue for.
	OverdueNotified Date `json:"overdue_notified,omitempty"`
	// UndoTo is how an undoing task ends once its steps are undone: failed or cancelled.
	UndoTo TaskStatus `json:"undo_to,omitempty"`
	// UndoFailures are the steps of the current run whose undo failed: what must be cleaned up by
	// hand while the task is undo_failed.
	UndoFailures []UndoFailure `json:"undo_failures,omitempty"`
	// Cleanups are the failed undos resolved by hand, the earliest first.
	Cleanups []UndoCleanup `json:"cleanups,omitempty"`
}

// Open reports whether the task is still to be done.
func (t *DeliveryTask) Open() bool { return t.Status != TaskDone && t.Status != TaskCancelled }

// Overdue reports whether the task is past its due date at now (in UTC days) and not done.
func (t *DeliveryTask) Overdue(now time.Time) bool {
	return t.Due != "" && t.Open() && string(t.Due) < string(DateOf(now.UTC()))
}

// Satisfaction is the customer's feedback at a service visit.
type Satisfaction string

// Satisfaction levels; satisfied counts as good feedback.
const (
	Satisfied    Satisfaction = "satisfied"
	Neutral      Satisfaction = "neutral"
	Dissatisfied Satisfaction = "dissatisfied"
)

// VisitStatus is where a service visit stands.
type VisitStatus string

// Visit statuses.
const (
	VisitDue      VisitStatus = "due"      // its date has come: the engineer is to visit
	VisitReported VisitStatus = "reported" // done and reported
)

// VisitReport is what an engineer found at a service visit.
type VisitReport struct {
	VisitedOn        Date         `json:"visited_on"`
	FaultsFound      int          `json:"faults_found"`
	FaultsUnresolved int          `json:"faults_unresolved"`
	Satisfaction     Satisfaction `json:"satisfaction"`
	Notes            string       `json:"notes,omitempty"`
	ReportedBy       string       `json:"reported_by,omitempty"`
	ReportedAt       *time.Time   `json:"reported_at,omitempty"`
}

// Validate checks a report as an engineer sends it.
func (r *VisitReport) Validate() error {
	switch {
	case r.VisitedOn == "":
		return Errorf(EINVALID, "visited_on is required").WithDetail("field", "visited_on")
	case r.FaultsFound < 0 || r.FaultsFound > 10000:
		return Errorf(EINVALID, "faults_found must be from 0 to 10000").WithDetail("field", "faults_found")
	case r.FaultsUnresolved < 0 || r.FaultsUnresolved > r.FaultsFound:
		return Errorf(EINVALID, "faults_unresolved must be from 0 to faults_found (%d)", r.FaultsFound).WithDetail("field", "faults_unresolved")
	}
	switch r.Satisfaction {
	case Satisfied, Neutral, Dissatisfied:
	default:
		return Errorf(EINVALID, "satisfaction must be satisfied, neutral or dissatisfied").WithDetail("field", "satisfaction")
	}
	return checkText("notes", r.Notes, false, 4000)
}

// ServiceVisit is a proactive service visit to an installed site, created when its date comes.
type ServiceVisit struct {
	ID        string       `json:"id"` // <deal id>-v<round>
	DealID    string       `json:"deal_id"`
	AccountID string       `json:"account_id"`
	Site      string       `json:"site"` // the installation: the deal's title
	Round     int          `json:"round"`
	Due       Date         `json:"due"`
	Assignee  string       `json:"assignee"`
	Status    VisitStatus  `json:"status"`
	Report    *VisitReport `json:"report,omitempty"`
	CreatedAt time.Time    `json:"created_at"`
}

// DefaultServiceCadence is when the service visits come after a project closes.
var DefaultServiceCadence = []Duration{Duration(30 * Day), Duration(90 * Day), Duration(180 * Day), Duration(365 * Day)}

// DeliveryPlan is a deal's delivery and after-sales service, as its delivery workflow holds it.
type DeliveryPlan struct {
	DealID    string         `json:"deal_id"`
	AccountID string         `json:"account_id"`
	Site      string         `json:"site"`
	Tasks     []DeliveryTask `json:"tasks"`
	// ClosedAt is when the project was closed: the service visits count from it.
	ClosedAt *time.Time      `json:"closed_at,omitempty"`
	Cadence  []Duration      `json:"cadence"`
	Visits   []*ServiceVisit `json:"visits"`
	// Seq counts the plan's accepted changes; its projection only moves forward in it.
	Seq       int64     `json:"seq"`
	UpdatedAt time.Time `json:"updated_at"`
}

// PlanDelivery is the plan a deal starts delivery with under settings s: the default plan, with
// the service cadence of s when it sets one.
func PlanDelivery(d *Deal, now time.Time, s Settings) *DeliveryPlan {
	p := NewDeliveryPlan(d, now)
	if len(s.ServiceCadence) > 0 {
		p.Cadence = slices.Clone(s.ServiceCadence)
	}
	return p
}

// NewDeliveryPlan is the default plan of a deal entering delivery: the five tasks in order, each
// depending on the one before (training and the acceptance test both on commissioning, the
// acceptance test on training too), assigned to the deal's first engineer.
func NewDeliveryPlan(d *Deal, now time.Time) *DeliveryPlan {
	assignee := ""
	if len(d.Engineers) > 0 {
		assignee = d.Engineers[0]
	}
	p := &DeliveryPlan{DealID: d.ID, AccountID: d.AccountID, Site: d.Title, Cadence: slices.Clone(DefaultServiceCadence),
		Visits: []*ServiceVisit{}, UpdatedAt: now}
	for _, t := range []struct {
		key  string
		deps []string
	}{
		{TaskSiteSurvey, nil},
		{TaskInstallation, []string{TaskSiteSurvey}},
		{TaskCommissioning, []string{TaskInstallation}},
		{TaskTraining, []string{TaskCommissioning}},
		{TaskAcceptanceTest, []string{TaskCommissioning, TaskTraining}},
	} {
		deps := t.deps
		if deps == nil {
			deps = []string{}
		}
		p.Tasks = append(p.Tasks, DeliveryTask{Key: t.key, Assignee: assignee, DependsOn: deps, Status: TaskPending, Steps: []DeliveryStep{}})
	}
	return p
}

// StepsOf are the steps a task runs: parts are reserved for installation and commissioning only.
func StepsOf(task string) []string {
	if task == TaskInstallation || task == TaskCommissioning {
		return []string{StepWorkOrder, StepReserveParts, StepNotifyCustomer}
	}
	return []string{StepWorkOrder, StepNotifyCustomer}
}

// Compensable reports whether a done step has an undo.
func Compensable(step string) bool { return step != StepNotifyCustomer }

// Clone is a deep copy of the plan: nothing of it shares memory with p.
func (p *DeliveryPlan) Clone() DeliveryPlan {
	c := *p
	c.ClosedAt = clonePtr(p.ClosedAt)
	c.Cadence = slices.Clone(p.Cadence)
	if p.Tasks != nil {
		c.Tasks = make([]DeliveryTask, len(p.Tasks))
		for i := range p.Tasks {
			c.Tasks[i] = p.Tasks[i].clone()
		}
	}
	if p.Visits != nil {
		c.Visits = make([]*ServiceVisit, len(p.Visits))
		for i, v := range p.Visits {
			if v == nil {
				continue
			}
			cv := *v
			if v.Report != nil {
				r := *v.Report
				r.ReportedAt = clonePtr(v.Report.ReportedAt)
				cv.Report = &r
			}
			c.Visits[i] = &cv
		}
	}
	return c
}

func (t *DeliveryTask) clone() DeliveryTask {
	c := *t
	c.DependsOn = slices.Clone(t.DependsOn)
	c.StartedAt, c.CompletedAt = clonePtr(t.StartedAt), clonePtr(t.CompletedAt)
	if t.Steps != nil {
		c.Steps = make([]DeliveryStep, len(t.Steps))
		for i, s := range t.Steps {
			s.Started, s.Ended = clonePtr(s.Started), clonePtr(s.Ended)
			c.Steps[i] = s
		}
	}
	c.Attachments = slices.Clone(t.Attachments)
	if t.PunchList != nil {
		c.PunchList = make([]PunchItem, len(t.PunchList))
		for i, it := range t.PunchList {
			it.ResolvedAt = clonePtr(it.ResolvedAt)
			c.PunchList[i] = it
		}
	}
	c.Issues = slices.Clone(t.Issues)
	c.UndoFailures = slices.Clone(t.UndoFailures)
	if t.Cleanups != nil {
		c.Cleanups = make([]UndoCleanup, len(t.Cleanups))
		for i, x := range t.Cleanups {
			x.Steps = slices.Clone(x.Steps)
			c.Cleanups[i] = x
		}
	}
	return c
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// Task returns the task with key, or nil.
func (p *DeliveryPlan) Task(key string) *DeliveryTask {
	for i := range p.Tasks {
		if p.Tasks[i].Key == key {
			return &p.Tasks[i]
		}
	}
	return nil
}

// Visit returns the visit with id, or nil.
func (p *DeliveryPlan) Visit(id string) *ServiceVisit {
	for _, v := range p.Visits {
		if v.ID == id {
			return v
		}
	}
	return nil
}

// Running reports whether a task's steps are running or being undone.
func (p *DeliveryPlan) Running() bool {
	for _, t := range p.Tasks {
		if t.Status == TaskRunning || t.Status == TaskUndoing {
			return true
		}
	}
	return false
}

// Acceptance is the acceptance test's outcome, if it has one, and the punch items still open.
func (p *DeliveryPlan) Acceptance() (AcceptanceResult, int) {
	t := p.Task(TaskAcceptanceTest)
	if t == nil || t.Status != TaskDone {
		return "", 0
	}
	open := 0
	for _, it := range t.PunchList {
		if !it.Done {
			open++
		}
	}
	return t.Result, open
}

// DeliveryCommandKind names a change to a delivery plan.
type DeliveryCommandKind string

// Delivery commands.
const (
	DelivPlan     DeliveryCommandKind = "plan"     // adjust the tasks
	DelivStart    DeliveryCommandKind = "start"    // start a task's steps
	DelivComplete DeliveryCommandKind = "complete" // complete an active task
	DelivRetry    DeliveryCommandKind = "retry"    // run a failed task's steps again
	DelivCancel   DeliveryCommandKind = "cancel"   // cancel a task, undoing its done steps
	DelivResolve  DeliveryCommandKind = "resolve"  // resolve a punch item
	DelivReport   DeliveryCommandKind = "report"   // report a service visit
	// DelivResolveUndo records that an undo_failed task's work was cleaned up by hand (with a
	// note); the task ends as it was heading, failed or cancelled.
	DelivResolveUndo DeliveryCommandKind = "resolve_undo"
)

// MaxNoteLength bounds the note of a hand clean-up, like the other notes.
const MaxNoteLength = 4000

// TaskSpec is a task as the plan input gives it.
type TaskSpec struct {
	Key       string   `json:"key"`
	Title     string   `json:"title,omitempty"`
	Assignee  string   `json:"assignee,omitempty"`
	Due       Date     `json:"due,omitempty"`
	DependsOn []string `json:"depends_on"`
}

// PlanInput is the whole list of tasks, in the order to show them. Tasks of the plan left out are
// removed (only pending ones may be); new keys are added.
type PlanInput struct {
	Tasks []TaskSpec `json:"tasks"`
}

// CompleteInput completes a task. Result is required for the acceptance test (and only there):
// pass, pass_with_punch_list (with the punch list) or fail (with the issues).
type CompleteInput struct {
	Notes       string           `json:"notes,omitempty"`
	Attachments []Attachment     `json:"attachments,omitempty"`
	Result      AcceptanceResult `json:"result,omitempty"`
	PunchList   []string         `json:"punch_list,omitempty"`
	Issues      []string         `json:"issues,omitempty"`
}

// DeliveryCommand is one requested change to a delivery plan.
type DeliveryCommand struct {
	Kind     DeliveryCommandKind `json:"kind"`
	Actor    Actor               `json:"actor"`
	Task     string              `json:"task,omitempty"`
	Plan     *PlanInput          `json:"plan,omitempty"`
	Complete *CompleteInput      `json:"complete,omitempty"`
	Punch    string              `json:"punch,omitempty"`
	Visit    string              `json:"visit,omitempty"`
	Report   *VisitReport        `json:"report,omitempty"`
	// Note says how a failed undo was cleaned up by hand (resolve_undo), or how a punch item
	// was resolved (resolve; optional).
	Note string `json:"note,omitempty"`
}

var taskKeyRe = regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`)

// MaxDeliveryTasks bounds a plan.
const MaxDeliveryTasks = 50

// AuthorizeDelivery decides whether the actor may issue cmd on the delivery of deal d: KAMs and
// directors plan; the deal's engineers and directors run tasks, resolve punch items and report
// visits. Unknown to the actor, the deal is not found.
func (a Actor) AuthorizeDelivery(cmd DeliveryCommand, d *Deal) error {
	// As Authorize: a command names a signed-in person, never kamflow itself.
	switch a.Role {
	case UserKAM, UserDirector, UserEngineer, UserAdmin:
	case UserSystem:
		return Errorf(EFORBIDDEN, "kamflow's own work never comes as a command")
	default:
		return Errorf(EFORBIDDEN, "the command names no role a person has")
	}
	if !a.CanSeeDeal(d) {
		return Errorf(ENOTFOUND, "deal %q not found", d.ID)
	}
	if (a.Role == UserKAM || a.Role == UserDirector) && d.TeamID != "" && !a.inTeam(d.TeamID) {
		return Errorf(EFORBIDDEN, "only the members of the deal's team work on it")
	}
	switch a.Role {
	case UserDirector:
		return nil
	case UserKAM:
		if cmd.Kind == DelivPlan {
			return nil
		}
		return Errorf(EFORBIDDEN, "delivery tasks are run by the deal's engineers")
	case UserEngineer:
		if cmd.Kind != DelivPlan {
			return nil
		}
		return Errorf(EFORBIDDEN, "the delivery plan is adjusted by the KAM or a director")
	}
	return Errorf(EFORBIDDEN, "a %s does not work on deliveries", a.Role)
}

// Check validates cmd against the plan as it stands, without changing it: the workflow's Update
// validator calls it, so a refused command leaves no trace.
func (p *DeliveryPlan) Check(cmd DeliveryCommand) error {
	switch cmd.Kind {
	case DelivPlan:
		if cmd.Plan == nil {
			return Errorf(EINVALID, "tasks are required")
		}
		_, err := p.planned(*cmd.Plan)
		return err
	case DelivStart, DelivRetry, DelivCancel, DelivComplete:
		t := p.Task(cmd.Task)
		if t == nil {
			return Errorf(ENOTFOUND, "no delivery task %q", cmd.Task)
		}
		return p.checkTask(cmd, t)
	case DelivResolveUndo:
		t := p.Task(cmd.Task)
		if t == nil {
			return Errorf(ENOTFOUND, "no delivery task %q", cmd.Task)
		}
		if t.Status != TaskUndoFailed {
			return Errorf(EWRONGSTAGE, "task %s is %s: only a task whose undo failed is resolved by hand", t.Key, t.Status).
				WithDetail("task_status", string(t.Status))
		}
		return checkText("note", cmd.Note, true, MaxNoteLength)
	case DelivResolve:
		t := p.Task(TaskAcceptanceTest)
		if t == nil || t.Status != TaskDone || t.Result != AcceptancePassPunchList {
			return Errorf(EWRONGSTAGE, "there is no punch list: the acceptance test has not passed with one")
		}
		for _, it := range t.PunchList {
			if it.ID == cmd.Punch {
				if it.Done {
					return Errorf(ECONFLICT, "punch item %s is resolved already", it.ID)
				}
				return checkText("note", cmd.Note, false, MaxNoteLength)
			}
		}
		return Errorf(ENOTFOUND, "no punch item %q", cmd.Punch)
	case DelivReport:
		v := p.Visit(cmd.Visit)
		if v == nil {
			return Errorf(ENOTFOUND, "no service visit %q", cmd.Visit)
		}
		if v.Status == VisitReported {
			return Errorf(ECONFLICT, "service visit %s is reported already", v.ID)
		}
		if cmd.Report == nil {
			return Errorf(EINVALID, "the report is required")
		}
		if cmd.Actor.Role == UserEngineer && v.Assignee != "" && !strings.EqualFold(cmd.Actor.ID, v.Assignee) {
			return Errorf(EFORBIDDEN, "service visit %s is assigned to %s", v.ID, v.Assignee)
		}
		return cmd.Report.Validate()
	}
	return Errorf(EINVALID, "unknown delivery command %q", cmd.Kind)
}

func (p *DeliveryPlan) checkTask(cmd DeliveryCommand, t *DeliveryTask) error {
	if p.ClosedAt != nil {
		return Errorf(EWRONGSTAGE, "the project is closed")
	}
	switch cmd.Kind {
	case DelivStart:
		restartable := t.Status == TaskPending || t.Status == TaskCancelled ||
			(t.Key == TaskAcceptanceTest && t.Status == TaskDone && t.Result == AcceptanceFail)
		if !restartable {
			return Errorf(EWRONGSTAGE, "task %s is %s: only a pending or cancelled task (or a failed acceptance test, to test again) can be started", t.Key, t.Status).
				WithDetail("task_status", string(t.Status))
		}
		if missing := p.waitingOn(t); len(missing) > 0 {
			return Errorf(EGATENOTMET, "task %s waits on %s", t.Key, strings.Join(missing, ", ")).WithDetail("missing", missing)
		}
	case DelivRetry:
		if t.Status != TaskFailed {
			return Errorf(EWRONGSTAGE, "task %s is %s: only a failed task is retried", t.Key, t.Status).WithDetail("task_status", string(t.Status))
		}
	case DelivCancel:
		if t.Status == TaskUndoFailed {
			return Errorf(EWRONGSTAGE, "task %s is undo_failed: its work is cleaned up by hand and resolved (resolve_undo), not cancelled", t.Key).
				WithDetail("task_status", string(t.Status))
		}
		if t.Status == TaskDone || t.Status == TaskCancelled || t.Status == TaskPending || t.Status == TaskUndoing {
			return Errorf(EWRONGSTAGE, "task %s is %s: only a running, active or failed task is cancelled", t.Key, t.Status).WithDetail("task_status", string(t.Status))
		}
	case DelivComplete:
		if t.Status != TaskActive {
			return Errorf(EWRONGSTAGE, "task %s is %s: a task is completed once its steps are done (active)", t.Key, t.Status).WithDetail("task_status", string(t.Status))
		}
		return checkCompletion(t.Key, cmd.Complete)
	}
	return nil
}

func checkCompletion(task string, in *CompleteInput) error {
	if in == nil {
		in = &CompleteInput{}
	}
	if err := checkText("notes", in.Notes, false, 4000); err != nil {
		return err
	}
	if len(in.Attachments) > 20 {
		return Errorf(EINVALID, "at most 20 attachments").WithDetail("field", "attachments")
	}
	for _, a := range in.Attachments {
		if err := checkText("attachments.name", a.Name, true, 200); err != nil {
			return err
		}
		if err := checkText("attachments.ref", a.Ref, true, 1000); err != nil {
			return err
		}
	}
	if task != TaskAcceptanceTest {
		if in.Result != "" || len(in.PunchList) > 0 || len(in.Issues) > 0 {
			return Errorf(EINVALID, "result, punch_list and issues belong to the acceptance test").WithDetail("field", "result")
		}
		return nil
	}
	lists := func(field string, items []string) error {
		if len(items) > 100 {
			return Errorf(EINVALID, "at most 100 %s", field).WithDetail("field", field)
		}
		for _, s := range items {
			if err := checkText(field, s, true, 500); err != nil {
				return err
			}
		}
		return nil
	}
	switch in.Result {
	case AcceptancePass:
		if len(in.PunchList) > 0 || len(in.Issues) > 0 {
			return Errorf(EINVALID, "a pass has no punch list or issues: use pass_with_punch_list or fail").WithDetail("field", "result")
		}
	case AcceptancePassPunchList:
		if len(in.PunchList) == 0 {
			return Errorf(EINVALID, "pass_with_punch_list needs the punch list").WithDetail("field", "punch_list")
		}
		if len(in.Issues) > 0 {
			return Errorf(EINVALID, "issues belong to a failed test").WithDetail("field", "issues")
		}
		return lists("punch_list", in.PunchList)
	case AcceptanceFail:
		if len(in.Issues) == 0 {
			return Errorf(EINVALID, "a failed test needs its issues").WithDetail("field", "issues")
		}
		if len(in.PunchList) > 0 {
			return Errorf(EINVALID, "a punch list belongs to a pass").WithDetail("field", "punch_list")
		}
		return lists("issues", in.Issues)
	default:
		return Errorf(EINVALID, "result must be pass, pass_with_punch_list or fail").WithDetail("field", "result")
	}
	return nil
}

// waitingOn lists the tasks t depends on that are not done.
func (p *DeliveryPlan) waitingOn(t *DeliveryTask) []string {
	var out []string
	for _, dep := range t.DependsOn {
		if d := p.Task(dep); d == nil || d.Status != TaskDone {
			out = append(out, dep)
		}
	}
	return out
}

// planned checks in against the plan and returns the new task list.
func (p *DeliveryPlan) planned(in PlanInput) ([]DeliveryTask, error) {
	if p.ClosedAt != nil {
		return nil, Errorf(EWRONGSTAGE, "the project is closed")
	}
	if len(in.Tasks) == 0 || len(in.Tasks) > MaxDeliveryTasks {
		return nil, Errorf(EINVALID, "a plan has 1 to %d tasks", MaxDeliveryTasks).WithDetail("field", "tasks")
	}
	seen := map[string]bool{}
	out := make([]DeliveryTask, 0, len(in.Tasks))
	for i, s := range in.Tasks {
		field := fmt.Sprintf("tasks[%d]", i)
		if !taskKeyRe.MatchString(s.Key) {
			return nil, Errorf(EINVALID, "%s.key %q must be 1–40 lower-case letters, digits or _ starting with a letter", field, s.Key).WithDetail("field", field+".key")
		}
		if seen[s.Key] {
			return nil, Errorf(EINVALID, "task %s is listed twice", s.Key).WithDetail("field", field+".key")
		}
		seen[s.Key] = true
		if err := checkText(field+".title", s.Title, false, 200); err != nil {
			return nil, err
		}
		if s.Due != "" {
			if _, err := ParseDate(string(s.Due)); err != nil {
				return nil, err.(*Error).WithDetail("field", field+".due")
			}
		}
		t := DeliveryTask{Key: s.Key, Status: TaskPending, Steps: []DeliveryStep{}}
		if old := p.Task(s.Key); old != nil {
			t = *old
			if t.Status != TaskPending && !slices.Equal(sortedCopy(t.DependsOn), sortedCopy(s.DependsOn)) {
				return nil, Errorf(EWRONGSTAGE, "task %s has started: its dependencies cannot change", s.Key).WithDetail("field", field+".depends_on")
			}
		}
		t.Title, t.Assignee, t.Due = strings.TrimSpace(s.Title), s.Assignee, s.Due
		t.DependsOn = slices.Clone(s.DependsOn)
		if t.DependsOn == nil {
			t.DependsOn = []string{}
		}
		out = append(out, t)
	}
	if !seen[TaskAcceptanceTest] {
		return nil, Errorf(EINVALID, "the plan must keep the acceptance test: it decides the deal's acceptance").WithDetail("field", "tasks")
	}
	for _, old := range p.Tasks {
		if !seen[old.Key] && old.Status != TaskPending {
			return nil, Errorf(EWRONGSTAGE, "task %s is %s: only a pending task can be removed", old.Key, old.Status).WithDetail("field", "tasks")
		}
	}
	for i, t := range out {
		for _, dep := range t.DependsOn {
			if dep == t.Key || !seen[dep] {
				return nil, Errorf(EINVALID, "task %s depends on %q, which is not a task of the plan", t.Key, dep).WithDetail("field", fmt.Sprintf("tasks[%d].depends_on", i))
			}
		}
	}
	if cycle := findCycle(out); cycle != nil {
		return nil, Errorf(EINVALID, "the tasks depend on each other in a circle: %s", strings.Join(cycle, " → ")).WithDetail("field", "tasks")
	}
	// A task that has started or is done keeps its place in the order of work: nothing it depends
	// on may be pending after it started.
	for _, t := range out {
		if t.Status == TaskPending || t.Status == TaskCancelled {
			continue
		}
		for _, dep := range t.DependsOn {
			if d := taskIn(out, dep); d != nil && d.Status != TaskDone {
				return nil, Errorf(EWRONGSTAGE, "task %s has started, so it cannot depend on %s, which is not done", t.Key, dep).WithDetail("field", "tasks")
			}
		}
	}
	return out, nil
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

func taskIn(ts []DeliveryTask, key string) *DeliveryTask {
	for i := range ts {
		if ts[i].Key == key {
			return &ts[i]
		}
	}
	return nil
}

// findCycle returns a dependency circle among the tasks, or nil.
func findCycle(ts []DeliveryTask) []string {
	const (
		white = iota
		grey
		black
	)
	color := map[string]int{}
	var path []string
	var visit func(k string) []string
	visit = func(k string) []string {
		color[k] = grey
		path = append(path, k)
		for _, dep := range taskIn(ts, k).DependsOn {
			switch color[dep] {
			case grey:
				i := slices.Index(path, dep)
				return append(slices.Clone(path[i:]), dep)
			case white:
				if c := visit(dep); c != nil {
					return c
				}
			}
		}
		path = path[:len(path)-1]
		color[k] = black
		return nil
	}
	for _, t := range ts {
		if color[t.Key] == white {
			if c := visit(t.Key); c != nil {
				return c
			}
		}
	}
	return nil
}

// Apply changes the plan by cmd, which Check has accepted. The steps of a started task are left
// pending: the workflow runs them and records each outcome with StepStarted, StepDone, StepFailed
// and StepCompensated.
func (p *DeliveryPlan) Apply(cmd DeliveryCommand, now time.Time) error {
	if err := p.Check(cmd); err != nil {
		return err
	}
	who := cmd.Actor.ID
	at := now.UTC()
	switch cmd.Kind {
	case DelivPlan:
		ts, _ := p.planned(*cmd.Plan)
		p.Tasks = ts
	case DelivStart, DelivRetry:
		t := p.Task(cmd.Task)
		t.Status, t.Error, t.Progress, t.Runs = TaskRunning, "", 0, t.Runs+1
		t.UndoTo, t.UndoFailures = "", nil
		t.StartedBy, t.StartedAt = who, &at
		t.CompletedBy, t.CompletedAt, t.Result, t.PunchList, t.Issues = "", nil, "", nil, nil
		t.Steps = t.Steps[:0]
		for _, k := range StepsOf(t.Key) {
			t.Steps = append(t.Steps, DeliveryStep{Key: k, Status: StepPending})
		}
	case DelivCancel:
		t := p.Task(cmd.Task)
		t.Error = "cancelled by " + who
		p.undo(t, TaskCancelled)
	case DelivComplete:
		t := p.Task(cmd.Task)
		in := cmd.Complete
		if in == nil {
			in = &CompleteInput{}
		}
		t.Status, t.Progress, t.CompletedBy, t.CompletedAt = TaskDone, 100, who, &at
		t.Notes, t.Attachments = strings.TrimSpace(in.Notes), slices.Clone(in.Attachments)
		t.Result, t.Issues = in.Result, slices.Clone(in.Issues)
		t.PunchList = nil
		for i, text := range in.PunchList {
			t.PunchList = append(t.PunchList, PunchItem{ID: fmt.Sprintf("p%d", i+1), Text: strings.TrimSpace(text)})
		}
	case DelivResolveUndo:
		t := p.Task(cmd.Task)
		t.Cleanups = append(t.Cleanups, UndoCleanup{By: who, At: at, Note: strings.TrimSpace(cmd.Note), Steps: t.UndoFailures})
		for i := range t.Steps {
			if t.Steps[i].Status == StepUndoFailed {
				t.Steps[i].Status = StepCompensated // undone by hand
			}
		}
		t.UndoFailures = nil
		t.Status, t.UndoTo = t.UndoTo, ""
		if t.Status == "" {
			t.Status = TaskFailed
		}
		t.progress()
	case DelivResolve:
		t := p.Task(TaskAcceptanceTest)
		for i := range t.PunchList {
			if t.PunchList[i].ID == cmd.Punch {
				t.PunchList[i].Done, t.PunchList[i].ResolvedBy, t.PunchList[i].ResolvedAt = true, who, &at
				t.PunchList[i].Note = strings.TrimSpace(cmd.Note)
			}
		}
	case DelivReport:
		v := p.Visit(cmd.Visit)
		r := *cmd.Report
		r.ReportedBy, r.ReportedAt = who, &at
		r.Notes = strings.TrimSpace(r.Notes)
		v.Report, v.Status = &r, VisitReported
	}
	p.touch(now)
	return nil
}

func (p *DeliveryPlan) touch(now time.Time) {
	p.Seq++
	p.UpdatedAt = now.UTC()
}

// undo moves a task whose run stops (failed or cancelled) to undoing when it has done steps to
// compensate, else straight to end.
func (p *DeliveryPlan) undo(t *DeliveryTask, end TaskStatus) {
	for i := range t.Steps {
		if t.Steps[i].Status == StepPending || t.Steps[i].Status == StepRunning {
			t.Steps[i].Status = StepPending // never ran, or is being stopped: nothing to undo
		}
	}
	if len(t.ToCompensate()) > 0 {
		t.Status = TaskUndoing
		t.UndoTo = end
		return
	}
	t.Status, t.UndoTo = end, ""
}

// ToCompensate lists, last first, the done steps with an undo.
func (t *DeliveryTask) ToCompensate() []string {
	var out []string
	for i := len(t.Steps) - 1; i >= 0; i-- {
		if t.Steps[i].Status == StepDone && Compensable(t.Steps[i].Key) {
			out = append(out, t.Steps[i].Key)
		}
	}
	return out
}

// NextStep is the key of the running task's next pending step, "" when none is left.
func (t *DeliveryTask) NextStep() string {
	if t.Status != TaskRunning {
		return ""
	}
	for _, s := range t.Steps {
		if s.Status == StepPending {
			return s.Key
		}
	}
	return ""
}

func (t *DeliveryTask) step(key string) *DeliveryStep {
	for i := range t.Steps {
		if t.Steps[i].Key == key {
			return &t.Steps[i]
		}
	}
	return nil
}

// StepStarted records that a step's activity started.
func (p *DeliveryPlan) StepStarted(task, step string, now time.Time) {
	t := p.Task(task)
	if t == nil || t.step(step) == nil {
		return
	}
	s := t.step(step)
	at := now.UTC()
	s.Status, s.Started, s.Attempts = StepRunning, &at, s.Attempts+1
	p.touch(now)
}

// StepProgress records what a running step reported (0–100).
func (p *DeliveryPlan) StepProgress(task, step string, pct int, now time.Time) {
	t := p.Task(task)
	if t == nil || t.step(step) == nil || t.step(step).Status != StepRunning {
		return
	}
	t.step(step).Progress = min(max(pct, 0), 100)
	t.progress()
	p.touch(now)
}

// StepDone records a step's success; when it was the last, the task becomes active.
func (p *DeliveryPlan) StepDone(task, step, ref string, now time.Time) {
	t := p.Task(task)
	if t == nil || t.step(step) == nil {
		return
	}
	s := t.step(step)
	at := now.UTC()
	s.Status, s.Ref, s.Error, s.Progress, s.Ended = StepDone, ref, "", 100, &at
	t.progress()
	switch {
	case t.Status == TaskRunning && t.NextStep() == "":
		t.Status, t.Progress = TaskActive, 100
	case (t.Status == TaskCancelled || t.Status == TaskFailed) && Compensable(step):
		// The step got through before it heard the task was stopped: its work is undone too.
		t.Status, t.UndoTo = TaskUndoing, t.Status
	}
	p.touch(now)
}

// StepFailed records a step's failure for good: the task's done steps are to be undone, then the
// task is failed.
func (p *DeliveryPlan) StepFailed(task, step, msg string, now time.Time) {
	t := p.Task(task)
	if t == nil || t.step(step) == nil {
		return
	}
	s := t.step(step)
	at := now.UTC()
	s.Status, s.Error, s.Ended = StepFailed, msg, &at
	t.Error = fmt.Sprintf("%s failed: %s", step, msg)
	p.undo(t, TaskFailed)
	p.touch(now)
}

// StepCompensated records that a done step was undone; once none is left, the task ends as
// failed or cancelled.
func (p *DeliveryPlan) StepCompensated(task, step string, now time.Time) {
	t := p.Task(task)
	if t == nil || t.step(step) == nil {
		return
	}
	t.step(step).Status = StepCompensated
	t.settleUndo()
	t.progress()
	p.touch(now)
}

// StepUndoFailed records that a done step's undo failed for good (refused, or out of attempts):
// what the step made (its ref) is left in the outside system. The task's other done steps are
// still undone; once none is left, the task is undo_failed until its clean-up by hand is resolved.
func (p *DeliveryPlan) StepUndoFailed(task, step, msg string, now time.Time) {
	t := p.Task(task)
	if t == nil || t.step(step) == nil || t.step(step).Status != StepDone {
		return
	}
	s := t.step(step)
	s.Status, s.Error = StepUndoFailed, msg
	t.UndoFailures = append(t.UndoFailures, UndoFailure{Step: step, Ref: s.Ref, Error: msg, At: now.UTC()})
	t.settleUndo()
	t.progress()
	p.touch(now)
}

// settleUndo ends an undoing task whose done steps are all undone or failed to undo: as UndoTo
// (failed when unset), or undo_failed while a failed undo waits to be cleaned up by hand.
func (t *DeliveryTask) settleUndo() {
	if t.Status != TaskUndoing || len(t.ToCompensate()) > 0 {
		return
	}
	if t.UndoTo == "" {
		t.UndoTo = TaskFailed
	}
	if len(t.UndoFailures) > 0 {
		t.Status = TaskUndoFailed
		return
	}
	t.Status, t.UndoTo = t.UndoTo, ""
}

// UndoFailedTasks lists, in the plan's order, the tasks whose undo failed and waits to be cleaned
// up by hand (never nil).
func (p *DeliveryPlan) UndoFailedTasks() []string {
	out := []string{}
	for _, t := range p.Tasks {
		if t.Status == TaskUndoFailed {
			out = append(out, t.Key)
		}
	}
	return out
}

// Hold is what the plan tells the deal of its failed undos (see DeliveryHold).
func (p *DeliveryPlan) Hold() DeliveryHold { return DeliveryHold{UndoFailed: p.UndoFailedTasks()} }

// Check refuses what must wait until every failed undo is cleaned up by hand and resolved (the
// acceptance certificate, the project's close): gate_not_met with the tasks under
// details.undo_failed, as the deal's close_project says it; nil when none is held.
func (h DeliveryHold) Check(what string) error {
	if len(h.UndoFailed) == 0 {
		return nil
	}
	return Errorf(EGATENOTMET, "%s waits until the failed undo of %s is cleaned up by hand and resolved", what,
		strings.Join(h.UndoFailed, ", ")).WithDetail("undo_failed", slices.Clone(h.UndoFailed))
}

// Same reports whether h and o hold the same tasks.
func (h DeliveryHold) Same(o DeliveryHold) bool { return slices.Equal(h.UndoFailed, o.UndoFailed) }

func (t *DeliveryTask) progress() {
	if len(t.Steps) == 0 {
		return
	}
	sum := 0
	for _, s := range t.Steps {
		switch s.Status {
		case StepDone:
			sum += 100
		case StepRunning:
			sum += s.Progress
		}
	}
	t.Progress = sum / len(t.Steps)
}

// CloseProject starts the service phase at now: the visits come at the cadence from it.
func (p *DeliveryPlan) CloseProject(now time.Time) {
	if p.ClosedAt != nil {
		return
	}
	at := now.UTC()
	p.ClosedAt = &at
	p.touch(now)
}

// NextVisitDue is when the next service visit is due and its round (1-based); zero when the
// project is open or every round has come.
func (p *DeliveryPlan) NextVisitDue() (time.Time, int) {
	if p.ClosedAt == nil {
		return time.Time{}, 0
	}
	round := len(p.Visits) + 1
	if round > len(p.Cadence) {
		return time.Time{}, 0
	}
	return p.ClosedAt.Add(time.Duration(p.Cadence[round-1])), round
}

// AddVisit creates the next service visit, due now, for assignee.
func (p *DeliveryPlan) AddVisit(assignee string, now time.Time) *ServiceVisit {
	_, round := p.NextVisitDue()
	if round == 0 {
		return nil
	}
	v := &ServiceVisit{ID: fmt.Sprintf("%s-v%d", p.DealID, round), DealID: p.DealID, AccountID: p.AccountID, Site: p.Site,
		Round: round, Due: DateOf(now.UTC()), Assignee: assignee, Status: VisitDue, CreatedAt: now.UTC()}
	p.Visits = append(p.Visits, v)
	p.touch(now)
	return v
}

// NoteOverdue marks the open tasks past their due date at now as told (once per due date) and
// returns them; none once the project is closed.
func (p *DeliveryPlan) NoteOverdue(now time.Time) []DeliveryTask {
	if p.ClosedAt != nil {
		return nil
	}
	var out []DeliveryTask
	for i := range p.Tasks {
		t := &p.Tasks[i]
		if t.Overdue(now) && t.OverdueNotified != t.Due {
			t.OverdueNotified = t.Due
			out = append(out, *t)
		}
	}
	if len(out) > 0 {
		p.touch(now)
	}
	return out
}

// VisitAssignee is who makes the service visits: the acceptance test's engineer, else the deal's
// first engineer ("" with neither).
func (p *DeliveryPlan) VisitAssignee(d *Deal) string {
	if t := p.Task(TaskAcceptanceTest); t != nil && t.Assignee != "" {
		return t.Assignee
	}
	if len(d.Engineers) > 0 {
		return d.Engineers[0]
	}
	return ""
}

// DueVisits creates every service visit whose day has come by now (a late wake-up creates the
// missed ones too) for the deal's visit assignee, and returns them.
func (p *DeliveryPlan) DueVisits(d *Deal, now time.Time) []*ServiceVisit {
	var out []*ServiceVisit
	for {
		due, round := p.NextVisitDue()
		if round == 0 || due.After(now) {
			return out
		}
		out = append(out, p.AddVisit(p.VisitAssignee(d), now))
	}
}

// ServiceDone reports whether every visit of the cadence has come and been reported.
func (p *DeliveryPlan) ServiceDone() bool {
	if p.ClosedAt == nil || len(p.Visits) < len(p.Cadence) {
		return false
	}
	for _, v := range p.Visits {
		if v.Status != VisitReported {
			return false
		}
	}
	return true
}

// ValidateCadence checks a follow-up cadence: 1 to 12 offsets after the close, rising, each
// positive and at most 3650 days (short ones, in seconds, serve trials and tests).
func ValidateCadence(c []Duration) error {
	if len(c) == 0 || len(c) > 12 {
		return Errorf(EINVALID, "the service cadence has 1 to 12 visits").WithDetail("field", "service_cadence")
	}
	for i, d := range c {
		if d <= 0 || time.Duration(d) > 3650*Day || (i > 0 && d <= c[i-1]) {
			return Errorf(EINVALID, "the service cadence must rise, each visit at most 3650 days after the close").WithDetail("field", "service_cadence")
		}
	}
	return nil
}

// SiteService is one installed site in an account's service report: its latest reported visit.
type SiteService struct {
	DealID           string       `json:"deal_id"`
	Site             string       `json:"site"`
	Round            int          `json:"round"`
	VisitedOn        Date         `json:"visited_on"`
	FaultsFound      int          `json:"faults_found"`
	FaultsUnresolved int          `json:"faults_unresolved"`
	Satisfaction     Satisfaction `json:"satisfaction"`
}

// ServiceReport is an account's proactive service, for its head office: per installed site the
// latest reported visit, and the totals over them.
type ServiceReport struct {
	AccountID string `json:"account_id"`
	// Round, when set, restricts the report to that round of visits (1: the first round).
	Round int `json:"round,omitempty"`
	// SitesVisited are the sites with a reported visit; SitesWithFaults those whose visit found a
	// fault; SitesUnresolved those with faults left unresolved; Satisfied those with good feedback.
	SitesVisited     int           `json:"sites_visited"`
	SitesWithFaults  int           `json:"sites_with_faults"`
	SitesUnresolved  int           `json:"sites_unresolved"`
	Satisfied        int           `json:"satisfied"`
	FaultRate        float64       `json:"fault_rate"`        // SitesWithFaults ÷ SitesVisited
	SatisfactionRate float64       `json:"satisfaction_rate"` // Satisfied ÷ SitesVisited
	Sites            []SiteService `json:"sites"`
}

// BuildServiceReport sums up the reported visits of an account (of one round when round > 0):
// each site counts once, by its latest reported visit.
func BuildServiceReport(accountID string, round int, visits []ServiceVisit) ServiceReport {
	latest := map[string]ServiceVisit{}
	for _, v := range visits {
		if v.Report == nil || v.Status != VisitReported || (round > 0 && v.Round != round) {
			continue
		}
		if cur, ok := latest[v.DealID]; !ok || v.Round > cur.Round {
			latest[v.DealID] = v
		}
	}
	r := ServiceReport{AccountID: accountID, Round: round, Sites: []SiteService{}}
	for _, v := range latest {
		s := SiteService{DealID: v.DealID, Site: v.Site, Round: v.Round, VisitedOn: v.Report.VisitedOn,
			FaultsFound: v.Report.FaultsFound, FaultsUnresolved: v.Report.FaultsUnresolved, Satisfaction: v.Report.Satisfaction}
		r.Sites = append(r.Sites, s)
		r.SitesVisited++
		if s.FaultsFound > 0 {
			r.SitesWithFaults++
		}
		if s.FaultsUnresolved > 0 {
			r.SitesUnresolved++
		}
		if s.Satisfaction == Satisfied {
			r.Satisfied++
		}
	}
	slices.SortFunc(r.Sites, func(a, b SiteService) int {
		if c := strings.Compare(a.Site, b.Site); c != 0 {
			return c
		}
		return strings.Compare(a.DealID, b.DealID)
	})
	r.FaultRate, r.SatisfactionRate = Ratio(r.SitesWithFaults, r.SitesVisited), Ratio(r.Satisfied, r.SitesVisited)
	return r
}

// VisitFilter selects service visits.
type VisitFilter struct {
	// Viewer limits the visits to those of deals the actor may see (nil: all).
	Viewer    *Actor
	Assignee  string      // "": anyone's
	AccountID string      // "": every account's
	DealID    string      // "": every deal's
	Status    VisitStatus // "": any
	Limit     int         // 0: 500
}

// DeliveryStore keeps the projection of the delivery plans and their service visits, written by
// the delivery workflows' activity and read by the API.
type DeliveryStore interface {
	// ProjectDelivery writes the plan and its visits, and the change's audit entries, in one
	// transaction, unless the stored plan's Seq is already at or past p.Seq (a retried or late
	// write never rolls the plan back, nor appends its entries twice).
	ProjectDelivery(ctx context.Context, p *DeliveryPlan, audit ...*AuditEntry) error
	// DeliveryPlan reads a deal's plan; not_found when the deal has none.
	DeliveryPlan(ctx context.Context, dealID string) (*DeliveryPlan, error)
	// ServiceVisits lists visits, the earliest due first.
	ServiceVisits(ctx context.Context, f VisitFilter) ([]ServiceVisit, error)
	// ServiceVisit reads one visit; not_found when there is none.
	ServiceVisit(ctx context.Context, id string) (*ServiceVisit, error)
	// AccountServiceVisits lists every visit of an account, for its service report.
	AccountServiceVisits(ctx context.Context, accountID string) ([]ServiceVisit, error)
}

// DeliveryService changes delivery plans: each command goes to the deal's delivery workflow,
// whose Update validator decides on it. requestID deduplicates retries.
type DeliveryService interface {
	ExecuteDelivery(ctx context.Context, dealID string, cmd DeliveryCommand, requestID string) (*DeliveryPlan, error)
}

// DeliveryAudit is the audit entry of a change to the plan by cmd, which left the plan at p: it
// goes on the deal's timeline under the actor's name.
func DeliveryAudit(cmd DeliveryCommand, p *DeliveryPlan, now time.Time) *AuditEntry {
	e := &AuditEntry{At: now, Actor: cmd.Actor.ID, Action: "delivery." + string(cmd.Kind), EntityType: "delivery",
		EntityID: p.DealID, DealID: p.DealID, Key: fmt.Sprintf("delivery:%s:%d", p.DealID, p.Seq)}
	say := func(code string, params Params) { e.Code, e.Params = code, params }
	switch cmd.Kind {
	case DelivPlan:
		keys := make([]string, len(p.Tasks))
		refs := make([]TaskRef, len(p.Tasks))
		for i, t := range p.Tasks {
			keys[i], refs[i] = t.Key, TaskRef{Key: t.Key, Title: t.Title}
		}
		e.Summary = "delivery plan adjusted: " + strings.Join(keys, ", ")
		e.After = cmd.Plan
		say("plan", Params{"tasks": refs})
	case DelivStart, DelivRetry, DelivCancel:
		verb := map[DeliveryCommandKind]string{DelivStart: "started", DelivRetry: "retried", DelivCancel: "cancelled"}[cmd.Kind]
		e.Summary = fmt.Sprintf("delivery task %s %s", cmd.Task, verb)
		say("task_"+verb, p.taskParams(cmd.Task))
	case DelivComplete:
		t := p.Task(cmd.Task)
		e.Summary = fmt.Sprintf("delivery task %s completed", cmd.Task)
		say("task_completed", p.taskParams(cmd.Task))
		if t != nil && t.Result != "" {
			e.Summary = fmt.Sprintf("acceptance test completed: %s", t.Result)
			say("acceptance_test", Params{"result": t.Result})
			if n := len(t.PunchList); n > 0 {
				e.Summary += fmt.Sprintf(" with %d punch item(s)", n)
				say("acceptance_test_punch", Params{"result": t.Result, "punch_items": n})
			}
		}
		e.After = cmd.Complete
	case DelivResolve:
		e.Summary = fmt.Sprintf("punch item %s resolved", cmd.Punch)
		say("punch_resolved", nil)
	case DelivResolveUndo:
		note := strings.TrimSpace(cmd.Note)
		e.Summary = fmt.Sprintf("delivery task %s cleaned up by hand after its failed undo: %s", cmd.Task, note)
		params := p.taskParams(cmd.Task)
		params["note"] = note
		say("undo_resolved", params)
		if t := p.Task(cmd.Task); t != nil && len(t.Cleanups) > 0 {
			e.After = t.Cleanups[len(t.Cleanups)-1]
		}
	case DelivReport:
		r := cmd.Report
		e.Summary = fmt.Sprintf("service visit %s reported: %d fault(s) found, %d unresolved, %s", cmd.Visit, r.FaultsFound, r.FaultsUnresolved, r.Satisfaction)
		say("visit_reported", Params{"faults": r.FaultsFound, "unresolved": r.FaultsUnresolved, "satisfaction": r.Satisfaction})
		e.After = r
	}
	return e
}

// taskParams are the params naming the task key of p (a "task" param and its title).
func (p *DeliveryPlan) taskParams(key string) Params {
	title := ""
	if t := p.Task(key); t != nil {
		title = t.Title
	}
	return Params{"task": key, "task_title": title}
}

// SystemDeliveryAudit is the audit entry of something the delivery did by itself (a task failed,
// a visit fell due).
func SystemDeliveryAudit(action, summary string, p *DeliveryPlan, now time.Time) *AuditEntry {
	return &AuditEntry{At: now, Actor: "kamflow", Action: "delivery." + action, EntityType: "delivery", EntityID: p.DealID,
		DealID: p.DealID, Summary: summary, Key: fmt.Sprintf("delivery:%s:%d", p.DealID, p.Seq)}
}

// TaskFailedAudit is the timeline's entry of a task whose steps failed, with the error.
func TaskFailedAudit(p *DeliveryPlan, task string, now time.Time) *AuditEntry {
	msg := ""
	if t := p.Task(task); t != nil {
		msg = t.Error
	}
	e := SystemDeliveryAudit("task_failed", fmt.Sprintf("delivery task %s failed: %s", task, msg), p, now)
	e.Code, e.Params = "task_failed", p.taskParams(task)
	e.Params["error"] = msg
	return e
}

// UndoFailedAudit is the timeline's entry of a task whose undo failed: what is to be cleaned up by
// hand.
func UndoFailedAudit(p *DeliveryPlan, task string, now time.Time) *AuditEntry {
	t := p.Task(task)
	e := SystemDeliveryAudit("undo_failed", fmt.Sprintf("delivery task %s could not be undone: clean up by hand %s", task, t.CleanupList()), p, now)
	e.After = map[string]any{"task": task, "undo_failures": t.UndoFailures, "undo_to": t.UndoTo}
	steps := make([]string, len(t.UndoFailures))
	for i, f := range t.UndoFailures {
		steps[i] = f.Step
	}
	e.Code, e.Params = "undo_failed", p.taskParams(task)
	e.Params["steps"] = steps
	return e
}

// CleanupList names what an undo_failed task left in the outside system: each step, its ref and
// the error, as one line.
func (t *DeliveryTask) CleanupList() string {
	parts := make([]string, 0, len(t.UndoFailures))
	for _, f := range t.UndoFailures {
		s := f.Step
		if f.Ref != "" {
			s += " " + f.Ref
		}
		parts = append(parts, s+" ("+f.Error+")")
	}
	return strings.Join(parts, "; ")
}

// Kinds of the delivery's in-app notifications.
const (
	NoticeTaskOverdue  = "task_overdue"
	NoticeServiceVisit = "service_visit"
	NoticeTaskFailed   = "task_failed"
	NoticeUndoFailed   = "undo_failed"
)

// taskNotices tells a task's engineer and the deal's KAM, once each: key is the notice's key, to
// which each recipient's name is added.
// Their params are TaskParams and extra.
func (p *DeliveryPlan) taskNotices(t *DeliveryTask, d *Deal, kind, key, msg string, extra map[string]string, now time.Time) []Notification {
	var out []Notification
	for _, to := range []string{t.Assignee, d.Owner} {
		if to == "" || slices.ContainsFunc(out, func(n Notification) bool { return n.UserID == to }) {
			continue
		}
		params := TaskParams(p, t)
		maps.Copy(params, extra)
		out = append(out, Notification{UserID: to, DealID: p.DealID, Kind: kind, Key: key + ":" + to, Params: params, Message: msg, CreatedAt: now})
	}
	return out
}

// OverdueNotices are the notifications of tasks found overdue (NoteOverdue): their engineer and
// the deal's KAM, once per due date.
func (p *DeliveryPlan) OverdueNotices(overdue []DeliveryTask, d *Deal, now time.Time) []Notification {
	var out []Notification
	for i := range overdue {
		t := &overdue[i]
		msg := fmt.Sprintf("The %s task of %s was due on %s and is not done", t.Key, p.Site, t.Due)
		out = append(out, p.taskNotices(t, d, NoticeTaskOverdue, fmt.Sprintf("overdue:%s:%s:%s", p.DealID, t.Key, t.Due), msg,
			map[string]string{NoticeParamDue: string(t.Due)}, now)...)
	}
	return out
}

// VisitNotices tell each new visit's engineer that it is due.
func (p *DeliveryPlan) VisitNotices(visits []*ServiceVisit, now time.Time) []Notification {
	var out []Notification
	for _, v := range visits {
		if v.Assignee != "" {
			out = append(out, Notification{UserID: v.Assignee, DealID: p.DealID, Kind: NoticeServiceVisit, Key: "visit:" + v.ID, CreatedAt: now,
				Params:  map[string]string{NoticeParamRound: strconv.Itoa(v.Round), NoticeParamSite: v.Site},
				Message: fmt.Sprintf("Service visit %d to %s is due: record faults found, faults unresolved and the customer's satisfaction", v.Round, v.Site)})
		}
	}
	return out
}

// FailedNotices tell a task's engineer and the deal's KAM that the task failed at step, once per
// run.
func (p *DeliveryPlan) FailedNotices(task, step string, d *Deal, now time.Time) []Notification {
	t := p.Task(task)
	if t == nil {
		return nil
	}
	msg := fmt.Sprintf("The %s task of %s failed at %s: %s", task, p.Site, step, t.Error)
	return p.taskNotices(t, d, NoticeTaskFailed, fmt.Sprintf("failed:%s:%s:%d", p.DealID, task, t.Runs), msg,
		map[string]string{NoticeParamStep: step, NoticeParamError: t.Error}, now)
}

// UndoFailedNotices tell an undo_failed task's engineer and the deal's KAM what to clean up by
// hand, once per run.
func (p *DeliveryPlan) UndoFailedNotices(task string, d *Deal, now time.Time) []Notification {
	t := p.Task(task)
	if t == nil || t.Status != TaskUndoFailed {
		return nil
	}
	msg := fmt.Sprintf("The %s task of %s could not be undone: clean up by hand %s, then mark it resolved", task, p.Site, t.CleanupList())
	return p.taskNotices(t, d, NoticeUndoFailed, fmt.Sprintf("undo_failed:%s:%s:%d", p.DealID, task, t.Runs), msg,
		map[string]string{NoticeParamCleanup: t.CleanupList()}, now)
}

// NextWake is when the plan next needs the time: the end of the due day of an open task not told
// overdue yet (before the close), or the next visit's day; zero when nothing waits on the time.
func (p *DeliveryPlan) NextWake() time.Time {
	var wake time.Time
	earlier := func(t time.Time) {
		if !t.IsZero() && (wake.IsZero() || t.Before(wake)) {
			wake = t
		}
	}
	for _, t := range p.Tasks {
		if t.Due != "" && t.Open() && t.OverdueNotified != t.Due && p.ClosedAt == nil {
			earlier(EndOfDay(t.Due, time.UTC))
		}
	}
	due, _ := p.NextVisitDue()
	earlier(due)
	return wake
}

// Tick does to the plan what the time does at now: the tasks past their due date are marked told
// and the visits whose day has come are created. It returns the notifications they call for, and
// whether the plan changed.
func (p *DeliveryPlan) Tick(d *Deal, now time.Time) (bool, []Notification) {
	overdue := p.NoteOverdue(now)
	notes := p.OverdueNotices(overdue, d, now)
	visits := p.DueVisits(d, now)
	notes = append(notes, p.VisitNotices(visits, now)...)
	return len(overdue) > 0 || len(visits) > 0, notes
}

// Finished reports whether the delivery of deal d is over: every visit of the cadence reported,
// or the deal ended without being delivered before its project closed.
func (p *DeliveryPlan) Finished(d *Deal) bool {
	if p.ServiceDone() {
		return true
	}
	return d.Status.Final() && d.Status != StatusDelivered && p.ClosedAt == nil
}

// AcceptanceNoticeOf is what the deal is to be told after cmd changed the plan: the acceptance
// test's outcome, when cmd completed it or resolved a punch item and it has one.
func (p *DeliveryPlan) AcceptanceNoticeOf(cmd DeliveryCommand) (AcceptanceNotice, bool) {
	if cmd.Kind != DelivResolve && (cmd.Kind != DelivComplete || cmd.Task != TaskAcceptanceTest) {
		return AcceptanceNotice{}, false
	}
	result, open := p.Acceptance()
	if result == "" {
		return AcceptanceNotice{}, false
	}
	return AcceptanceNotice{Result: result, Notes: p.Task(TaskAcceptanceTest).Notes, OpenPunchItems: open, Actor: cmd.Actor}, true
}

// StepLive is what the workflow engine knows of a step's activity while it runs: its attempt, its
// last heartbeat and, while it is being retried, its last failure.
type StepLive struct {
	Task        string
	Step        string
	Run         int
	Attempt     int
	Progress    int
	Note        string
	LastFailure string
}

// DeliveryLive reads the live state of a deal's running delivery steps (nil map: none).
type DeliveryLive interface {
	LiveSteps(ctx context.Context, dealID string) ([]StepLive, error)
}

// StepActivityID is the activity ID of a run of a task's step: what ties an activity running in
// the workflow engine to its step in the plan.
func StepActivityID(task string, run int, step string) string {
	return fmt.Sprintf("step/%s/%d/%s", task, run, step)
}

// ParseStepActivityID reads StepActivityID back.
func ParseStepActivityID(id string) (task string, run int, step string, ok bool) {
	parts := strings.Split(id, "/")
	if len(parts) != 4 || parts[0] != "step" {
		return "", 0, "", false
	}
	if _, err := fmt.Sscanf(parts[2], "%d", &run); err != nil {
		return "", 0, "", false
	}
	return parts[1], run, parts[3], true
}

// Live merges what the engine knows of the running steps into the plan: a running step's
// attempts, progress and the failure it is being retried after.
func (p *DeliveryPlan) Live(steps []StepLive) {
	for _, l := range steps {
		t := p.Task(l.Task)
		if t == nil || t.Runs != l.Run {
			continue
		}
		s := t.step(l.Step)
		if s == nil || s.Status != StepRunning {
			continue
		}
		s.Attempts = max(s.Attempts, l.Attempt)
		s.Progress = min(max(l.Progress, s.Progress), 99)
		if l.LastFailure != "" {
			s.Error = l.LastFailure
		}
		t.progress()
	}
}
