package kamflow

import (
	"context"
	"time"
)

// The inbox: a user's in-app notifications (Notification), read and unread. A notification is
// stored as a kind with parameters (Notification.Params) and rendered in the reader's language
// where it is read: the web UI's dictionaries hold one text per kind and language, under
// "notice.kind.<kind>" in ui/static/i18n/en.json and zh-CN.json, and the e-mails read the same
// dictionaries (ui.NoticeText). Adding a kind is adding that key to each dictionary, and setting
// the kind and its params where the notification is made. How params are shown follows their
// name (NoticeParam*): a stage is named, an SLA is a duration in words, a person is shown by name.

// InboxFilter selects a user's notifications, newest first.
type InboxFilter struct {
	UserID string
	Unread bool // only those not read yet
	Page
}

// InboxPage is one page of a user's notifications: the page's items, how many the filter selects
// (Total), and how many of the user's notifications are unread (Unread, whatever the filter).
type InboxPage struct {
	Items  []Notification `json:"items"`
	Total  int            `json:"total"`
	Unread int            `json:"unread"`
}

// InboxStore reads a user's notifications and marks them read.
type InboxStore interface {
	Inbox(ctx context.Context, f InboxFilter) (InboxPage, error)
	// MarkNotificationRead marks one of the user's notifications read at at (a notification read
	// already keeps its first read time) and returns it; not_found when the user has none with
	// that id.
	MarkNotificationRead(ctx context.Context, userID string, id int64, at time.Time) (*Notification, error)
	// MarkAllNotificationsRead marks read every unread notification of the user up to the id upTo
	// (0: all of them), so that one that arrived after the user looked stays unread; the number
	// marked.
	MarkAllNotificationsRead(ctx context.Context, userID string, upTo int64, at time.Time) (int, error)
}

// The parameters of the notices whose name says how they are shown, in the UI and in e-mails.
// Any other parameter is shown as it is (a deal's title, a site, a file name, a note).
const (
	NoticeParamTitle      = "title"       // the deal's title
	NoticeParamStage      = "stage"       // a stage (Stage), shown by its name
	NoticeParamSLA        = "sla"         // a Duration as the API writes it ("5d", "36h"), shown in words
	NoticeParamStalledFor = "stalled_for" // a Duration, shown in words
	NoticeParamOwner      = "owner"       // a username, shown by the person's name
	NoticeParamBy         = "by"          // a username, shown by the person's name
	NoticeParamTask       = "task"        // a delivery task's key, shown by TaskTitle or the task's name
	NoticeParamTaskTitle  = "task_title"  // the title the delivery plan gave the task, if any
	NoticeParamStep       = "step"        // a delivery task's step, shown by its name
	NoticeParamDeals      = "deals"       // a count of deals ("3"), shown as "3 deals" (notice.deals.one/other)
	// NoticeParamSubject is what an approval is for (ApprovalMargin, ApprovalContract), shown by
	// its name (notice.subject.<subject>).
	NoticeParamSubject = "subject"
	// NoticeParamDecision is a director's answer — an approval's (ApprovalApproved,
	// ApprovalSentBack) or an import's (ImportApproved, ImportRejected) —, shown by its name
	// (notice.decision.<decision>).
	NoticeParamDecision = "decision"
)

// Parameters of the notices shown as they are.
const (
	NoticeParamSite      = "site"      // a delivery plan's site
	NoticeParamDue       = "due"       // a Date, YYYY-MM-DD
	NoticeParamError     = "error"     // what failed, in the system's words
	NoticeParamCleanup   = "cleanup"   // what an undo left to clean up by hand (DeliveryTask.CleanupList)
	NoticeParamRound     = "round"     // a service visit's number
	NoticeParamFile      = "file"      // an imported file's name
	NoticeParamDate      = "date"      // a Date, YYYY-MM-DD
	NoticeParamApprovals = "approvals" // a count of approvals waiting
)

// The params each kind's text uses, besides the title of its deal where it has one:
//
//	stalled:            title, stage, sla
//	escalated:          title, owner, stage, stalled_for, sla
//	approval_requested: title, subject, by (and approval, requested_by, note; margin_pct, floor, price, cost)
//	approval_answered:  title, subject, decision, by (and approval, answered_by, comment)
//	digest:             date, deals (stalled), approvals (waiting)
//	import_approval:    by, file, deals (held)
//	import_decision:    by, decision, file, deals (held)
//	task_overdue:       task, task_title, site, due
//	service_visit:      round, site
//	task_failed:        task, task_title, site, step, error
//	undo_failed:        task, task_title, site, cleanup
//	attention:          title, error

// StalledParams are the parameters of a stall notice (NoticeStalled) of d.
func StalledParams(d *Deal) map[string]string {
	return map[string]string{NoticeParamTitle: d.Title, NoticeParamStage: string(d.Stage), NoticeParamSLA: d.StageSLA.String()}
}

// EscalatedParams are the parameters of the directors' notice (NoticeEscalated) of d, stalled
// for stalledFor (DirectorAfter × its SLA).
func EscalatedParams(d *Deal, stalledFor Duration) map[string]string {
	return map[string]string{NoticeParamTitle: d.Title, NoticeParamOwner: d.Owner, NoticeParamStage: string(d.Stage),
		NoticeParamStalledFor: stalledFor.String(), NoticeParamSLA: d.StageSLA.String()}
}

// NoticeKind is the notification kind a notice of the escalation ladder tells: NoticeEscalated
// for EventEscalated, NoticeStalled otherwise.
func (n Notice) NoticeKind() string {
	if n.Event == EventEscalated {
		return NoticeEscalated
	}
	return NoticeStalled
}

// NoticeParams are the parameters of the notice's kind (NoticeKind), for its text in the
// reader's language (the e-mail's).
func (n Notice) NoticeParams() map[string]string {
	if n.Event == EventEscalated {
		return map[string]string{NoticeParamTitle: n.Title, NoticeParamOwner: n.Owner, NoticeParamStage: string(n.Stage),
			NoticeParamStalledFor: Duration(DirectorDelay(time.Duration(n.SLA), n.DirectorAfter)).String(), NoticeParamSLA: n.SLA.String()}
	}
	return map[string]string{NoticeParamTitle: n.Title, NoticeParamStage: string(n.Stage), NoticeParamSLA: n.SLA.String()}
}

// TaskParams are the parameters of a delivery task's notices (NoticeTaskOverdue,
// NoticeTaskFailed, NoticeUndoFailed) of the plan p: the task, its title if the plan gave one,
// and the site; the kind's own are added to them.
func TaskParams(p *DeliveryPlan, t *DeliveryTask) map[string]string {
	m := map[string]string{NoticeParamTask: t.Key, NoticeParamSite: p.Site}
	if t.Title != "" {
		m[NoticeParamTaskTitle] = t.Title
	}
	return m
}
