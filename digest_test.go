package kamflow_test

import (
	"strings"
	"testing"
	"time"

	"github.com/kamflow/kamflow"
)

func TestPendingApproval(t *testing.T) {
	approvedAt := t0
	for _, c := range []struct {
		name string
		d    kamflow.Deal
		want string
	}{
		{"bid below the floor", kamflow.Deal{Stage: kamflow.Bid, Status: kamflow.StatusOpen,
			Bid: &kamflow.BidWork{MarginPct: 12.5, Floor: 15}}, kamflow.ApprovalMargin},
		{"bid below the floor, approved", kamflow.Deal{Stage: kamflow.Bid, Status: kamflow.StatusOpen,
			Bid: &kamflow.BidWork{MarginPct: 12.5, Floor: 15, MarginApprovedBy: "dir.wang", MarginApprovedAt: &approvedAt}}, ""},
		{"bid at the floor", kamflow.Deal{Stage: kamflow.Bid, Status: kamflow.StatusOpen,
			Bid: &kamflow.BidWork{MarginPct: 15, Floor: 15}}, ""},
		{"bid stage without a bid", kamflow.Deal{Stage: kamflow.Bid, Status: kamflow.StatusOpen}, ""},
		{"bid below the floor, lost", kamflow.Deal{Stage: kamflow.Bid, Status: kamflow.StatusLost,
			Bid: &kamflow.BidWork{MarginPct: 12.5, Floor: 15}}, ""},
		{"contract not approved", kamflow.Deal{Stage: kamflow.Negotiation, Status: kamflow.StatusOpen}, kamflow.ApprovalContract},
		{"contract approved", kamflow.Deal{Stage: kamflow.Negotiation, Status: kamflow.StatusOpen,
			Contract: kamflow.Contract{ApprovedBy: "dir.wang", ApprovedAt: &approvedAt}}, ""},
		{"contract signed (won)", kamflow.Deal{Stage: kamflow.Negotiation, Status: kamflow.StatusWon}, ""},
		// A bid below the floor no longer waits once the deal has moved on (it was forced on).
		{"negotiation with an unapproved low bid", kamflow.Deal{Stage: kamflow.Negotiation, Status: kamflow.StatusOpen,
			Bid: &kamflow.BidWork{MarginPct: 12.5, Floor: 15}, Contract: kamflow.Contract{ApprovedBy: "dir.wang"}}, ""},
		{"proposal", kamflow.Deal{Stage: kamflow.Proposal, Status: kamflow.StatusOpen}, ""},
	} {
		kind, ok := c.d.PendingApproval()
		if kind != c.want || ok != (c.want != "") {
			t.Errorf("%s: %q %v, want %q", c.name, kind, ok, c.want)
		}
	}
}

// digestDeals are deals of two teams: stalled ones, waiting ones and others.
func digestDeals() (stalled, candidates []*kamflow.Deal) {
	sla := kamflow.Duration(10 * kamflow.Day)
	stalledDeal := func(id, team string, stage kamflow.Stage, lastProgress time.Time) *kamflow.Deal {
		since := lastProgress.Add(time.Duration(sla))
		return &kamflow.Deal{ID: id, Title: "Deal " + id, AccountID: "acc-" + id, Owner: "kam.li", TeamID: team,
			Stage: stage, Status: kamflow.StatusOpen, StageEnteredAt: lastProgress, LastProgressAt: lastProgress,
			StageSLA: sla, Stalled: true, StalledSince: &since}
	}
	stalled = []*kamflow.Deal{
		stalledDeal("s1", "team-east", kamflow.Entry, t0.Add(-25*kamflow.Day)), // 15 days over: past the director's rung (2×)
		stalledDeal("s2", "team-west", kamflow.Proposal, t0.Add(-12*kamflow.Day)),
		stalledDeal("s3", "team-east", kamflow.Proposal, t0.Add(-12*kamflow.Day)),
	}
	low := &kamflow.Deal{ID: "b1", Title: "Feed pumps\nLine 3", AccountID: "acc-b1", Owner: "kam.li", TeamID: "team-east",
		Stage: kamflow.Bid, Status: kamflow.StatusOpen, Value: 1200000000, Currency: "CNY", UpdatedAt: t0.Add(-2 * kamflow.Day),
		Bid: &kamflow.BidWork{MarginPct: 12.5, Floor: 15}}
	contract := &kamflow.Deal{ID: "n1", Title: "DCS retrofit", AccountID: "acc-n1", Owner: "kam.zhang", TeamID: "team-east",
		Stage: kamflow.Negotiation, Status: kamflow.StatusOpen, Value: 80000000, Currency: "CNY", UpdatedAt: t0.Add(-5 * kamflow.Day)}
	fine := &kamflow.Deal{ID: "b2", Title: "Valves", TeamID: "team-east", Stage: kamflow.Bid, Status: kamflow.StatusOpen,
		UpdatedAt: t0, Bid: &kamflow.BidWork{MarginPct: 22, Floor: 15}}
	other := &kamflow.Deal{ID: "n2", Title: "Other team's contract", TeamID: "team-west", Stage: kamflow.Negotiation,
		Status: kamflow.StatusOpen, UpdatedAt: t0}
	candidates = []*kamflow.Deal{low, contract, fine, other, low} // low twice: paging may repeat a deal
	return stalled, candidates
}

// TestBuildDigest: a director's digest holds the stalled deals and the waiting approvals of their
// teams only, the longest waiting first; with nothing stalled and nothing waiting there is none.
func TestBuildDigest(t *testing.T) {
	dir := &kamflow.User{ID: "u-dir", Username: "dir.wang", Name: "王总监", Role: kamflow.UserDirector, Teams: []string{"team-east"}}
	stalled, candidates := digestDeals()
	g, ok := kamflow.BuildDigest(dir, "2026-03-02", t0, stalled, candidates, kamflow.Escalation{})
	if !ok || g.Director != "dir.wang" || g.Name != "王总监" || g.Date != "2026-03-02" {
		t.Fatalf("digest %+v %v", g, ok)
	}
	if len(g.Stalled) != 2 || g.Stalled[0].DealID != "s1" || g.Stalled[1].DealID != "s3" {
		t.Fatalf("stalled %+v", g.Stalled)
	}
	if s := g.Stalled[0]; s.DaysOverSLA != 15 || !s.DirectorDue || strings.Join(s.Missing, ",") != "insider_identified,key_person_engaged" {
		t.Errorf("stalled entry %+v", s)
	}
	if g.Stalled[1].DirectorDue {
		t.Errorf("2 days over a 10-day SLA is not yet the director's rung: %+v", g.Stalled[1])
	}
	if len(g.Approvals) != 2 || g.Approvals[0].DealID != "n1" || g.Approvals[0].Kind != kamflow.ApprovalContract ||
		g.Approvals[1].DealID != "b1" || g.Approvals[1].Kind != kamflow.ApprovalMargin {
		t.Fatalf("approvals %+v", g.Approvals)
	}
	if a := g.Approvals[1]; a.MarginPct == nil || *a.MarginPct != 12.5 || a.Floor == nil || *a.Floor != 15 {
		t.Errorf("margin approval %+v", a)
	}
	if g.Approvals[0].MarginPct != nil {
		t.Errorf("a contract approval has no margin: %+v", g.Approvals[0])
	}

	// Another team's director sees only their own stalled deal; a director of no team, nothing.
	west := &kamflow.User{Username: "dir.zhao", Role: kamflow.UserDirector, Teams: []string{"team-west"}}
	g, ok = kamflow.BuildDigest(west, "2026-03-02", t0, stalled, candidates[:3], kamflow.Escalation{})
	if !ok || len(g.Stalled) != 1 || g.Stalled[0].DealID != "s2" || len(g.Approvals) != 0 {
		t.Errorf("west digest %+v %v", g, ok)
	}
	none := &kamflow.User{Username: "dir.new", Role: kamflow.UserDirector}
	if g, ok := kamflow.BuildDigest(none, "2026-03-02", t0, stalled, candidates, kamflow.Escalation{}); ok || !g.Empty() {
		t.Errorf("a director without teams: %+v %v", g, ok)
	}
	// A quiet day: no digest.
	if _, ok := kamflow.BuildDigest(dir, "2026-03-02", t0, nil, candidates[2:3], kamflow.Escalation{}); ok {
		t.Error("a digest with nothing in it")
	}
}

// TestDigestText: the summary and the subject are one line each, Chinese then English; the text
// has both languages in full, user-typed text kept on its line, times in the given zone.
func TestDigestText(t *testing.T) {
	dir := &kamflow.User{Username: "dir.wang", Name: "王总监", Role: kamflow.UserDirector, Teams: []string{"team-east"}}
	stalled, candidates := digestDeals()
	g, _ := kamflow.BuildDigest(dir, "2026-03-02", t0, stalled, candidates, kamflow.Escalation{})

	want := "每日简报 2026-03-02：2 个停滞商机，2 个待审批 / Daily digest 2026-03-02: 2 stalled deals, 2 approvals waiting"
	if got := g.Summary(); got != want {
		t.Errorf("summary %q\n     want %q", got, want)
	}
	if got := g.Subject(); got != "[kamflow] "+want {
		t.Errorf("subject %q", got)
	}
	one := kamflow.Digest{Date: "2026-03-02", Stalled: g.Stalled[:1]}
	if got := one.Summary(); !strings.HasSuffix(got, ": 1 stalled deal, 0 approvals waiting") || !strings.Contains(got, "1 个停滞商机，0 个待审批") {
		t.Errorf("singular summary %q", got)
	}

	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Skip(err)
	}
	text := g.Text(shanghai)
	zh, en, found := strings.Cut(text, "\n----\n")
	if !found {
		t.Fatalf("no separator between the languages:\n%s", text)
	}
	for _, s := range []string{
		"王总监，您好：",
		"2026-03-02 每日简报：2 个停滞商机，2 个待审批。",
		"1. Deal s1 — 销售进入阶段；负责人 kam.li；超出时限 15 天；停滞自 2026-02-15；已到总监升级时限；尚缺：insider_identified、key_person_engaged",
		"1. DCS retrofit — 商务谈判阶段；合同待审批；负责人 kam.zhang；金额 CNY 800,000.00；自 2026-02-25 起",
		"2. Feed pumps Line 3 — 投标阶段；毛利率 12.5% 低于底线 15%，待审批毛利；负责人 kam.li；金额 CNY 12,000,000.00；自 2026-02-28 起",
	} {
		if !strings.Contains(zh, s+"\n") {
			t.Errorf("the Chinese part lacks %q:\n%s", s, zh)
		}
	}
	for _, s := range []string{
		"Hello 王总监,",
		"Daily digest for 2026-03-02: 2 stalled deals, 2 approvals waiting.",
		"1. Deal s1 — entry stage; owner kam.li; 15 days over SLA; stalled since 2026-02-15; past the director's rung; missing: insider_identified, key_person_engaged",
		"2. Deal s3 — proposal stage; owner kam.li; 2 days over SLA; stalled since 2026-02-28; missing: criteria_favourable, proposal_submitted",
		"2. Feed pumps Line 3 — bid stage; margin 12.5% below the 15% floor, margin approval; owner kam.li; CNY 12,000,000.00; since 2026-02-28",
	} {
		if !strings.Contains(en, s+"\n") {
			t.Errorf("the English part lacks %q:\n%s", s, en)
		}
	}
	if strings.Contains(text, "\r") || strings.Contains(text, "pumps\n") {
		t.Errorf("a title broke its line:\n%s", text)
	}
	// Without stalled deals, no stalled section.
	approvalsOnly := kamflow.Digest{Director: "dir.wang", Date: "2026-03-02", Approvals: g.Approvals}
	if s := approvalsOnly.Text(nil); strings.Contains(s, "停滞商机（") || strings.Contains(s, "Stalled deals (") || !strings.Contains(s, "dir.wang，您好") {
		t.Errorf("approvals only:\n%s", s)
	}
}
