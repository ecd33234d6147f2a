package kamflow

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// The daily digest tells each sales director, once a day, what in the teams they lead waits for
// them: the stalled deals (as the stalled review lists them, with the ladder's rung and the gate
// items each lacks) and the approvals waiting (PendingApproval). It goes to the director's in-app
// notifications as one summary line and, when e-mail is configured and the director has an
// address, by e-mail in full. A director with nothing stalled and nothing waiting gets no digest:
// a quiet day sends no mail. Every text is in Chinese first, then English, in one message, because
// a digest is read by people of either language and kamflow does not know which a user prefers.

// Approval kinds: what a deal waits for a director to approve.
const (
	ApprovalMargin   = "margin"   // a bid below the margin floor, not yet approved
	ApprovalContract = "contract" // a contract in negotiation, not yet approved
)

// ApprovalStages are the stages in which a deal can wait for an approval.
var ApprovalStages = []Stage{Bid, Negotiation}

// PendingApproval reports what the deal waits for a director to approve: ApprovalMargin for an
// open deal in the bid stage whose bid is below its margin floor and not approved, ApprovalContract
// for an open deal in negotiation whose contract is not approved. ok is false when it waits for
// no approval.
func (d *Deal) PendingApproval() (kind string, ok bool) {
	if d.Status != StatusOpen {
		return "", false
	}
	switch d.Stage {
	case Bid:
		if d.Bid != nil && d.Bid.BelowFloor() && d.Bid.MarginApprovedBy == "" {
			return ApprovalMargin, true
		}
	case Negotiation:
		if d.Contract.ApprovedBy == "" {
			return ApprovalContract, true
		}
	}
	return "", false
}

// NoticeDigest is the notification kind of the daily digest.
const NoticeDigest = "digest"

// DigestKey is the notification key of a director's digest of a date: one digest per director and
// day, however often its delivery is retried.
func DigestKey(date Date, username string) string {
	return "digest:" + string(date) + ":" + username
}

// WaitingApproval is one deal of a digest that waits for a director's approval.
type WaitingApproval struct {
	DealID    string `json:"deal_id"`
	Title     string `json:"title"`
	AccountID string `json:"account_id"`
	Owner     string `json:"owner"`
	TeamID    string `json:"team_id,omitempty"`
	Stage     Stage  `json:"stage"`
	Kind      string `json:"kind"` // ApprovalMargin or ApprovalContract
	Value     Money  `json:"value"`
	Currency  string `json:"currency"`
	// MarginPct and Floor are the bid's margin and the floor it is below (margin approvals only).
	MarginPct *float64 `json:"margin_pct,omitempty"`
	Floor     *float64 `json:"floor,omitempty"`
	// Since is the deal's last change: the approval has waited since then at the most.
	Since time.Time `json:"since"`
}

// Digest is one director's daily digest for one date.
type Digest struct {
	Director string `json:"director"` // username
	Name     string `json:"name,omitempty"`
	Date     Date   `json:"date"`
	// Stalled are the stalled deals of the director's teams, oldest stall first.
	Stalled []StalledEntry `json:"stalled"`
	// Approvals are the approvals waiting for the director, the longest waiting first.
	Approvals []WaitingApproval `json:"approvals"`
}

// DigestDirectory lists who receives a daily digest.
type DigestDirectory interface {
	// EnabledDirectors lists every enabled director with the teams they lead, in username order.
	EnabledDirectors(ctx context.Context) ([]*User, error)
}

// BuildDigest builds the digest of director for date at now, from the stalled deals (as
// DealStore.StalledDeals lists them) and the candidates for approval (the open deals of
// ApprovalStages), both as the director sees them. Deals the director may not see are left out
// whatever the caller passed, and so are repeats of a deal. ok is false when the digest would be
// empty: nothing stalled, nothing waiting.
func BuildDigest(director *User, date Date, now time.Time, stalled, candidates []*Deal, e Escalation) (g Digest, ok bool) {
	viewer := director.Actor()
	visible := func(ds []*Deal) []*Deal {
		seen := map[string]bool{}
		var out []*Deal
		for _, d := range ds {
			if d != nil && !seen[d.ID] && viewer.CanSeeDeal(d) {
				seen[d.ID] = true
				out = append(out, d)
			}
		}
		return out
	}
	g = Digest{Director: director.Username, Name: director.Name, Date: date,
		Stalled: ReviewStalled(visible(stalled), now, e).Entries, Approvals: []WaitingApproval{}}
	for _, d := range visible(candidates) {
		kind, waiting := d.PendingApproval()
		if !waiting {
			continue
		}
		w := WaitingApproval{DealID: d.ID, Title: d.Title, AccountID: d.AccountID, Owner: d.Owner, TeamID: d.TeamID,
			Stage: d.Stage, Kind: kind, Value: d.Value, Currency: d.Currency, Since: d.UpdatedAt}
		if kind == ApprovalMargin {
			m, f := d.Bid.MarginPct, d.Bid.Floor
			w.MarginPct, w.Floor = &m, &f
		}
		g.Approvals = append(g.Approvals, w)
	}
	slices.SortStableFunc(g.Approvals, func(a, b WaitingApproval) int { return a.Since.Compare(b.Since) })
	return g, !g.Empty()
}

// Empty reports whether nothing is stalled and nothing waits: such a digest is not sent.
func (g Digest) Empty() bool { return len(g.Stalled) == 0 && len(g.Approvals) == 0 }

// Summary is the digest in one line, Chinese then English: the in-app notification's message, e.g.
// "每日简报 2026-11-02：3 个停滞商机，2 个待审批 / Daily digest 2026-11-02: 3 stalled deals, 2 approvals waiting".
func (g Digest) Summary() string {
	return fmt.Sprintf("每日简报 %s：%s / Daily digest %s: %s", g.Date, g.countsZh(), g.Date, g.countsEn())
}

// Subject is the e-mail's subject.
func (g Digest) Subject() string { return "[kamflow] " + g.Summary() }

func (g Digest) countsZh() string {
	return fmt.Sprintf("%d 个停滞商机，%d 个待审批", len(g.Stalled), len(g.Approvals))
}

func (g Digest) countsEn() string {
	return plural(len(g.Stalled), "stalled deal", "stalled deals") + ", " +
		plural(len(g.Approvals), "approval waiting", "approvals waiting")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// stageZh names the stages as the customer's procurement process does.
var stageZh = map[Stage]string{
	Development: "开发阶段", Entry: "销售进入阶段", Proposal: "提案阶段",
	Bid: "投标阶段", Negotiation: "商务谈判阶段", Delivery: "工程实施阶段",
}

// Text is the digest in full as plain text (lines end in "\n"), Chinese first, then English: the
// e-mail's body. Dates are those of loc (nil: UTC).
func (g Digest) Text(loc *time.Location) string {
	if loc == nil {
		loc = time.UTC
	}
	day := func(t time.Time) string { return t.In(loc).Format(time.DateOnly) }
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }

	who := g.Name
	if who == "" {
		who = g.Director
	}
	line("%s，您好：", oneLine(who))
	line("")
	line("%s 每日简报：%s。", g.Date, g.countsZh())
	if len(g.Stalled) > 0 {
		line("")
		line("停滞商机（超过阶段时限仍无进展）：")
		for i, s := range g.Stalled {
			var parts []string
			parts = append(parts, stageZh[s.Stage], "负责人 "+oneLine(s.Owner), fmt.Sprintf("超出时限 %d 天", s.DaysOverSLA))
			if s.StalledSince != nil {
				parts = append(parts, "停滞自 "+day(*s.StalledSince))
			}
			if s.DirectorDue {
				parts = append(parts, "已到总监升级时限")
			}
			if len(s.Missing) > 0 {
				parts = append(parts, "尚缺："+strings.Join(s.Missing, "、"))
			}
			line("%d. %s — %s", i+1, oneLine(s.Title), strings.Join(parts, "；"))
		}
	}
	if len(g.Approvals) > 0 {
		line("")
		line("待您审批：")
		for i, a := range g.Approvals {
			what := "合同待审批"
			if a.Kind == ApprovalMargin {
				what = fmt.Sprintf("毛利率 %s 低于底线 %s，待审批毛利", pct(a.MarginPct), pct(a.Floor))
			}
			line("%d. %s — %s；%s；负责人 %s；金额 %s；自 %s 起", i+1, oneLine(a.Title), stageZh[a.Stage], what,
				oneLine(a.Owner), amount(a.Currency, a.Value), day(a.Since))
		}
	}
	line("")
	line("----")
	line("")
	line("Hello %s,", oneLine(who))
	line("")
	line("Daily digest for %s: %s.", g.Date, g.countsEn())
	if len(g.Stalled) > 0 {
		line("")
		line("Stalled deals (past their stage SLA without progress):")
		for i, s := range g.Stalled {
			var parts []string
			parts = append(parts, string(s.Stage)+" stage", "owner "+oneLine(s.Owner), plural(s.DaysOverSLA, "day", "days")+" over SLA")
			if s.StalledSince != nil {
				parts = append(parts, "stalled since "+day(*s.StalledSince))
			}
			if s.DirectorDue {
				parts = append(parts, "past the director's rung")
			}
			if len(s.Missing) > 0 {
				parts = append(parts, "missing: "+strings.Join(s.Missing, ", "))
			}
			line("%d. %s — %s", i+1, oneLine(s.Title), strings.Join(parts, "; "))
		}
	}
	if len(g.Approvals) > 0 {
		line("")
		line("Approvals waiting for you:")
		for i, a := range g.Approvals {
			what := "contract approval"
			if a.Kind == ApprovalMargin {
				what = fmt.Sprintf("margin %s below the %s floor, margin approval", pct(a.MarginPct), pct(a.Floor))
			}
			line("%d. %s — %s stage; %s; owner %s; %s; since %s", i+1, oneLine(a.Title), a.Stage, what,
				oneLine(a.Owner), amount(a.Currency, a.Value), day(a.Since))
		}
	}
	return b.String()
}

// oneLine keeps user-typed text on its line: control characters (a newline in a title) become
// spaces.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}

func pct(v *float64) string {
	if v == nil {
		return "?"
	}
	return strconv.FormatFloat(*v, 'f', -1, 64) + "%"
}

// amount writes an amount with thousands separators: "CNY 12,000,000.00".
func amount(currency string, m Money) string {
	s := m.String()
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
	}
	whole, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	for i, r := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return strings.TrimSpace(oneLine(currency) + " " + sign + b.String() + "." + frac)
}
