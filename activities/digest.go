package activities

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/kamflow/kamflow"
)

// DigestRun asks SendDigests for the daily digests of one date.
type DigestRun struct {
	// Date is the day digested, in Location: it names the digest and keys its notification, so a
	// late or repeated run never digests a day twice.
	Date kamflow.Date `json:"date"`
	// Location is the IANA time zone of the date, in which the digest writes its dates; "" is UTC.
	Location string `json:"location,omitempty"`
}

// DigestResult says what SendDigests did.
type DigestResult struct {
	Date kamflow.Date `json:"date"`
	// Directors counts the enabled directors; Digests lists, by username, those who got a digest
	// (the others had nothing stalled and nothing waiting) and Emailed those of them e-mailed too.
	Directors int      `json:"directors"`
	Digests   []string `json:"digests"`
	Emailed   []string `json:"emailed"`
}

// InvalidDigestRun is the type of SendDigests' non-retryable error for a DigestRun no retry mends:
// a malformed date or an unknown time zone.
const InvalidDigestRun = "InvalidDigestRun"

// digestProgress is SendDigests' heartbeat: the directors done so far and what was done for them.
// A retried attempt starts from it and does not do them again.
type digestProgress struct {
	Done   []string     `json:"done"`
	Result DigestResult `json:"result"`
}

// SendDigests sends each enabled director the daily digest of run.Date (kamflow.BuildDigest): the
// stalled deals and the approvals waiting in the teams they lead, as the director sees them. Each
// digest is stored as an in-app notification of kind kamflow.NoticeDigest, keyed
// kamflow.DigestKey, and e-mailed when a mailer is configured and the director has an address. A
// director with nothing stalled and nothing waiting gets nothing.
//
// It heartbeats after each director and, on a retry, resumes after those the last attempt
// finished. A director whose digest failed does not hold up the others: their failures fail the
// attempt at the end, and the retry does only them. The notification is stored once whatever
// happens; the e-mail is sent again only if an attempt died between sending it and its heartbeat,
// and then with the same Message-ID.
func (a *Activities) SendDigests(ctx context.Context, run DigestRun) (DigestResult, error) {
	if d, err := kamflow.ParseDate(string(run.Date)); err != nil || d != run.Date {
		return DigestResult{}, temporal.NewNonRetryableApplicationError(fmt.Sprintf("digest: date %q is not YYYY-MM-DD", run.Date), InvalidDigestRun, nil)
	}
	loc, err := time.LoadLocation(run.Location)
	if err != nil {
		return DigestResult{}, temporal.NewNonRetryableApplicationError(fmt.Sprintf("digest: time zone %q: %v", run.Location, err), InvalidDigestRun, nil)
	}
	dirs := a.digestDirectory()
	if dirs == nil {
		return DigestResult{}, temporal.NewNonRetryableApplicationError("digest: no store lists the directors", InvalidDigestRun, nil)
	}
	logger := activity.GetLogger(ctx)

	p := digestProgress{Result: DigestResult{Date: run.Date}}
	if activity.HasHeartbeatDetails(ctx) {
		var last digestProgress
		if err := activity.GetHeartbeatDetails(ctx, &last); err != nil || last.Result.Date != run.Date {
			logger.Warn("digest: the last attempt's progress is unreadable; starting over (notifications are not stored twice)", "err", err)
		} else {
			p = last
		}
	}
	directors, err := dirs.EnabledDirectors(ctx)
	if err != nil {
		return DigestResult{}, fmt.Errorf("digest: list directors: %w", err)
	}
	var e kamflow.Escalation
	if es := a.escalations(); es != nil {
		if e, err = es.Escalation(ctx); err != nil {
			return DigestResult{}, fmt.Errorf("digest: read the escalation ladder: %w", err)
		}
	}
	p.Result.Directors = len(directors)
	now := a.now()
	var failed []error
	for _, u := range directors {
		if slices.Contains(p.Done, u.Username) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return p.Result, err
		}
		sent, emailed, err := a.sendDigest(ctx, u, run.Date, now, loc, e)
		switch {
		case err != nil:
			logger.Warn("digest: a director's digest failed; the attempt fails after the others", "director", u.Username, "err", err)
			failed = append(failed, fmt.Errorf("digest of %s: %w", u.Username, err))
		default:
			p.Done = append(p.Done, u.Username)
			if sent {
				p.Result.Digests = append(p.Result.Digests, u.Username)
			}
			if emailed {
				p.Result.Emailed = append(p.Result.Emailed, u.Username)
			}
		}
		activity.RecordHeartbeat(ctx, p)
	}
	if len(failed) > 0 {
		return p.Result, errors.Join(failed...)
	}
	if p.Result.Digests == nil {
		p.Result.Digests = []string{}
	}
	if p.Result.Emailed == nil {
		p.Result.Emailed = []string{}
	}
	logger.Info("digest: sent", "date", run.Date, "directors", p.Result.Directors, "digests", len(p.Result.Digests), "emailed", len(p.Result.Emailed))
	return p.Result, nil
}

// sendDigest builds one director's digest and, unless it is empty, stores and e-mails it.
func (a *Activities) sendDigest(ctx context.Context, u *kamflow.User, date kamflow.Date, now time.Time, loc *time.Location, e kamflow.Escalation) (sent, emailed bool, err error) {
	if len(u.Teams) == 0 {
		return false, false, nil // leads no team: sees no deal
	}
	viewer := u.Actor()
	stalled, err := a.Deals.StalledDeals(ctx, &viewer)
	if err != nil {
		return false, false, err
	}
	var candidates []*kamflow.Deal
	for _, st := range kamflow.ApprovalStages {
		for offset := 0; ; {
			ds, total, err := a.Deals.Deals(ctx, kamflow.DealFilter{Viewer: &viewer, Stage: st, Status: kamflow.StatusOpen,
				Page: kamflow.Page{Limit: 200, Offset: offset}})
			if err != nil {
				return false, false, err
			}
			candidates = append(candidates, ds...)
			offset += len(ds)
			if len(ds) == 0 || offset >= total {
				break
			}
		}
	}
	g, ok := kamflow.BuildDigest(u, date, now, stalled, candidates, e)
	if !ok {
		return false, false, nil
	}
	key := kamflow.DigestKey(date, u.Username)
	// Stored before it is e-mailed: a retry after a failed e-mail stores nothing twice and sends
	// the e-mail again.
	if err := a.Notifications.Notify(ctx, []kamflow.Notification{{UserID: u.Username, Kind: kamflow.NoticeDigest,
		Key: key, Message: g.Summary(), CreatedAt: now, Params: map[string]string{kamflow.NoticeParamDate: string(date),
			kamflow.NoticeParamDeals: strconv.Itoa(len(g.Stalled)), kamflow.NoticeParamApprovals: strconv.Itoa(len(g.Approvals))}}}); err != nil {
		return false, false, err
	}
	emailed, err = a.mail(ctx, []string{u.Username}, g.Subject(), g.Text(loc), key)
	if err != nil {
		return false, false, fmt.Errorf("e-mail: %w", err)
	}
	return true, emailed, nil
}

func (a *Activities) digestDirectory() kamflow.DigestDirectory {
	for _, v := range []any{a.Directors, a.Directory, a.Notifications, a.Deals} {
		if d, ok := v.(kamflow.DigestDirectory); ok && d != nil {
			return d
		}
	}
	return nil
}

func (a *Activities) escalations() kamflow.EscalationStore {
	for _, v := range []any{a.Escalations, a.Notifications, a.Deals} {
		if s, ok := v.(kamflow.EscalationStore); ok && s != nil {
			return s
		}
	}
	return nil
}
