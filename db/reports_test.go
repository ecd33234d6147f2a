package db_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/db"
	"github.com/kamflow/kamflow/db/dbtest"
)

// The seeded history of the report tests. Day n is rd(n) = Monday 2025-01-06 + n days (UTC); every
// answer below is worked out by hand from this table.
//
//	deal owner team currency value        story (day: what)
//	A    kam-a east CNY 1,000,000.00 0 open; 2 assessed (close 2025-06-30); 10 → entry; 12.25 paused;
//	                                 17.25 resumed (5 days paused); 25 insider + decision maker;
//	                                 30 → proposal; 35 criteria + proposal; 40 → bid; 42 bid;
//	                                 45 → negotiation; 50 approved + signed (won); 60 → delivery;
//	                                 90 accepted; 100 delivered
//	B    kam-a east CNY   500,000.00 1 open; 3 assessed (2025-04-30); 5 → entry; 6 insider;
//	                                 8.5 FORCED → proposal; 20 lost ("price", Acme)
//	C    kam-b east CNY 2,000,000.00 2 open; 4 assessed (2025-03-31); 9 → entry; 10 insider + dm;
//	                                 14 → proposal; 16 FORCED → bid; 18 bid; 20 → negotiation;
//	                                 30 approved + signed (won); 35 reassigned to kam-c
//	D    kam-b east USD    50,000.00 3 open; 5 assessed (2025-05-15); 6 → entry; 7 paused (still)
//	E    kam-a east CNY   100,000.00 4 open; 8 abandoned ("no budget")
//	F    kam-c west CNY   800,000.00 5 open; 6 assessed (2025-05-31); 7 → entry; 8 insider + dm;
//	                                 9 → proposal; 10 criteria + proposal; 11 → bid;
//	                                 15 withdrawn ("criteria against us", Beta)
//	G    kam-a east CNY   333,333.33 40 open (close 2025-04-30), nothing recorded
//	H    kam-b east CNY   400,000.00 6 open; 7 assessed (2025-04-30); 8 → entry; 9 insider + dm;
//	                                 10 → proposal; 12 lost ("delivery time", no competitor)
func rd(days float64) time.Time {
	return time.Date(2025, 1, 6, 0, 0, 0, 0, time.UTC).Add(time.Duration(days * float64(kamflow.Day)))
}

// sys gives the seeded commands: no role, so the rules of roles and visibility are not in the way.
var sys = kamflow.Actor{ID: "seed"}

type seeder struct {
	t     *testing.T
	d     *db.DB
	deals map[string]*kamflow.Deal
}

func (s *seeder) open(id, owner, team, currency string, value kamflow.Money, close kamflow.Date, day float64) {
	s.t.Helper()
	deal, tr, err := kamflow.NewDeal(id, kamflow.NewDealInput{AccountID: "acct-" + id, Title: "Deal " + id, Value: value,
		Currency: currency, Owner: owner, TeamID: team, ExpectedClose: close}, sys, rd(day), settings)
	if err != nil {
		s.t.Fatal(err)
	}
	project(s.t, s.d, deal, tr)
	s.deals[id] = deal
}

func (s *seeder) do(id string, day float64, cmds ...kamflow.Command) {
	s.t.Helper()
	for _, c := range cmds {
		c.Actor = sys
		apply(s.t, s.d, s.deals[id], c, rd(day))
	}
}

func assessed(close kamflow.Date) kamflow.Command {
	c := assess("")
	c.Assessment.ExpectedClose = close
	return c
}

var (
	insider       = stakeholder("Wang Gong", kamflow.RoleInsider)
	decisionMaker = stakeholder("Director Li", kamflow.RoleDecisionMaker)
	criteria      = kamflow.Command{Kind: kamflow.CmdCriteria, Criteria: []kamflow.Criterion{{Name: "API 610", Favours: kamflow.FavoursUs}}}
	proposal      = kamflow.Command{Kind: kamflow.CmdProposal, Proposal: &kamflow.ProposalInput{SubmittedOn: "2025-02-10"}}
	bid           = kamflow.Command{Kind: kamflow.CmdBid, Bid: &kamflow.BidInput{Cost: 80_00, Price: 100_00, Submitted: true}}
	approve       = kamflow.Command{Kind: kamflow.CmdApproveContract}
	sign          = kamflow.Command{Kind: kamflow.CmdSignContract, Sign: &kamflow.SignInput{SignedOn: "2025-02-24"}}
	force         = kamflow.Command{Kind: kamflow.CmdAdvance, Advance: &kamflow.AdvanceInput{Force: true, Reason: "tender out early"}}
)

func closeAs(outcome kamflow.Status, reason, competitor string) kamflow.Command {
	return kamflow.Command{Kind: kamflow.CmdClose, Close: &kamflow.CloseInput{Outcome: outcome, Reason: reason, Competitor: competitor}}
}

func seedHistory(t *testing.T, d *db.DB) {
	s := &seeder{t: t, d: d, deals: map[string]*kamflow.Deal{}}
	s.open("A", "kam-a", "east", "CNY", 1_000_000_00, "", 0)
	s.open("B", "kam-a", "east", "CNY", 500_000_00, "", 1)
	s.open("C", "kam-b", "east", "CNY", 2_000_000_00, "", 2)
	s.open("D", "kam-b", "east", "USD", 50_000_00, "", 3)
	s.open("E", "kam-a", "east", "CNY", 100_000_00, "", 4)
	s.open("F", "kam-c", "west", "CNY", 800_000_00, "", 5)
	s.open("H", "kam-b", "east", "CNY", 400_000_00, "", 6)
	s.open("G", "kam-a", "east", "CNY", 333_333_33, "2025-04-30", 40)

	s.do("A", 2, assessed("2025-06-30"))
	s.do("A", 10, advance())
	s.do("A", 12.25, kamflow.Command{Kind: kamflow.CmdPause, Pause: &kamflow.PauseInput{Reason: "budget approval", ResumeOn: "2025-02-05"}})
	s.do("A", 17.25, kamflow.Command{Kind: kamflow.CmdResume})
	s.do("A", 25, insider, decisionMaker)
	s.do("A", 30, advance())
	s.do("A", 35, criteria, proposal)
	s.do("A", 40, advance())
	s.do("A", 42, bid)
	s.do("A", 45, advance())
	s.do("A", 50, approve, sign)
	s.do("A", 60, advance())
	s.do("A", 90, kamflow.Command{Kind: kamflow.CmdAcceptance, Acceptance: &kamflow.AcceptanceInput{Result: kamflow.AcceptancePass}})
	s.do("A", 100, kamflow.Command{Kind: kamflow.CmdCloseProject})

	s.do("B", 3, assessed("2025-04-30"))
	s.do("B", 5, advance())
	s.do("B", 6, insider)
	s.do("B", 8.5, force)
	s.do("B", 20, closeAs(kamflow.StatusLost, "price", "Acme"))

	s.do("C", 4, assessed("2025-03-31"))
	s.do("C", 9, advance())
	s.do("C", 10, insider, decisionMaker)
	s.do("C", 14, advance())
	s.do("C", 16, force)
	s.do("C", 18, bid)
	s.do("C", 20, advance())
	s.do("C", 30, approve, sign)
	s.do("C", 35, kamflow.Command{Kind: kamflow.CmdReassign, Reassign: &kamflow.ReassignInput{Owner: "kam-c"}})

	s.do("D", 5, assessed("2025-05-15"))
	s.do("D", 6, advance())
	s.do("D", 7, kamflow.Command{Kind: kamflow.CmdPause, Pause: &kamflow.PauseInput{Reason: "customer reorganising", ResumeOn: "2025-03-01"}})

	s.do("E", 8, closeAs(kamflow.StatusAbandoned, "no budget", ""))

	s.do("F", 6, assessed("2025-05-31"))
	s.do("F", 7, advance())
	s.do("F", 8, insider, decisionMaker)
	s.do("F", 9, advance())
	s.do("F", 10, criteria, proposal)
	s.do("F", 11, advance())
	s.do("F", 15, closeAs(kamflow.StatusWithdrawn, "criteria against us", "Beta"))

	s.do("H", 7, assessed("2025-04-30"))
	s.do("H", 8, advance())
	s.do("H", 9, insider, decisionMaker)
	s.do("H", 10, advance())
	s.do("H", 12, closeAs(kamflow.StatusLost, "delivery time", ""))

	// The story went as the table says.
	want := map[string]string{"A": "delivered delivery", "B": "lost proposal", "C": "won negotiation", "D": "open entry",
		"E": "abandoned development", "F": "withdrawn bid", "G": "open development", "H": "lost proposal"}
	for id, w := range want {
		x := s.deals[id]
		if got := fmt.Sprintf("%s %s", x.Status, x.Stage); got != w {
			t.Fatalf("seeded deal %s is %s, want %s", id, got, w)
		}
	}
}

// funnelRow is a stage's funnel as "entered advanced forced closed open conversion".
func funnelRows(fs []kamflow.FunnelStage) []string {
	var out []string
	for _, f := range fs {
		out = append(out, fmt.Sprintf("%s %d %d %d %d %d %.4f", f.Stage, f.Entered, f.Advanced, f.Forced, f.Closed, f.Open, f.Conversion))
	}
	return out
}

func stageTimeRows(st []kamflow.StageTime) []string {
	var out []string
	for _, s := range st {
		out = append(out, fmt.Sprintf("%s %d %s %s %.2fh", s.Stage, s.Stays, s.Median, s.P90, s.PausedHours))
	}
	return out
}

func same(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got  %s\n want %s", what, strings.Join(got, "\n      "), strings.Join(want, "\n      "))
	}
}

func TestReports(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		seedHistory(t, d)
		eastDirector := &kamflow.Actor{ID: "dir-east", Role: kamflow.UserDirector, Teams: []string{"east"}}
		westDirector := &kamflow.Actor{ID: "dir-west", Role: kamflow.UserDirector, Teams: []string{"west"}}
		kamA := &kamflow.Actor{ID: "kam-a", Role: kamflow.UserKAM}
		h := 24 * time.Hour

		t.Run("funnel", func(t *testing.T) {
			for _, c := range []struct {
				name string
				f    kamflow.ReportFilter
				want []string
			}{
				{"days 0-30", kamflow.ReportFilter{From: rd(0), To: rd(30)}, []string{
					"development 7 6 0 1 0 0.8571", // A B C D E F H; E abandoned
					"entry 6 5 1 0 1 0.8333",       // A (left on day 30, after the period: by now counts) B* C F H; D open
					"proposal 4 2 1 2 0 0.5000",    // B C F H (A entered on day 30: not in [0, 30)); C* F; B H lost
					"bid 2 1 0 1 0 0.5000",         // C F; F withdrawn
					"negotiation 1 0 0 0 1 0.0000", // C, won, still there
					"delivery 0 0 0 0 0 0.0000",
				}},
				{"all time", kamflow.ReportFilter{}, []string{
					"development 8 6 0 1 1 0.7500",
					"entry 6 5 1 0 1 0.8333",
					"proposal 5 3 1 2 0 0.6000",
					"bid 3 2 0 1 0 0.6667",
					"negotiation 2 1 0 0 1 0.5000",
					"delivery 1 1 0 0 0 1.0000",
				}},
				{"owner kam-a", kamflow.ReportFilter{Owner: "kam-a", From: rd(0), To: rd(30)}, []string{
					"development 3 2 0 1 0 0.6667", "entry 2 2 1 0 0 1.0000", "proposal 1 0 0 1 0 0.0000",
					"bid 0 0 0 0 0 0.0000", "negotiation 0 0 0 0 0 0.0000", "delivery 0 0 0 0 0 0.0000",
				}},
				{"west director", kamflow.ReportFilter{Viewer: westDirector}, []string{
					"development 1 1 0 0 0 1.0000", "entry 1 1 0 0 0 1.0000", "proposal 1 1 0 0 0 1.0000",
					"bid 1 0 0 1 0 0.0000", "negotiation 0 0 0 0 0 0.0000", "delivery 0 0 0 0 0 0.0000",
				}},
				{"team west as east director", kamflow.ReportFilter{Viewer: eastDirector, TeamID: "west"}, []string{
					"development 0 0 0 0 0 0.0000", "entry 0 0 0 0 0 0.0000", "proposal 0 0 0 0 0 0.0000",
					"bid 0 0 0 0 0 0.0000", "negotiation 0 0 0 0 0 0.0000", "delivery 0 0 0 0 0 0.0000",
				}},
			} {
				got, err := d.Funnel(ctx, c.f)
				if err != nil {
					t.Fatal(err)
				}
				same(t, c.name, funnelRows(got), c.want)
			}
		})

		t.Run("time in stage", func(t *testing.T) {
			got, err := d.StageTimes(ctx, kamflow.ReportFilter{})
			if err != nil {
				t.Fatal(err)
			}
			same(t, "all time", stageTimeRows(got), []string{
				// 2 2 3 4 4 7 10 days: p50 rank ⌈3.5⌉ = 4, p90 rank ⌈6.3⌉ = 7
				"development 7 96h0m0s 240h0m0s 0.00h",
				// A 20 days less 5 paused = 15, B 3.5, C 5, F 2, H 2: sorted 2 2 3.5 5 15, p50 rank 3, p90 rank 5
				"entry 5 84h0m0s 360h0m0s 120.00h",
				// A 10, B 11.5, C 2, F 2, H 2: p50 rank 3 = 2, p90 rank 5 = 11.5
				"proposal 5 48h0m0s 276h0m0s 0.00h",
				"bid 3 96h0m0s 120h0m0s 0.00h", // A 5, C 4, F 4
				"negotiation 1 360h0m0s 360h0m0s 0.00h",
				"delivery 1 960h0m0s 960h0m0s 0.00h",
			})
			if got[1].MedianHours != 84 || got[1].P90Days != 15 || got[0].MedianDays != 4 {
				t.Errorf("hours and days of %+v", got[:2])
			}
			got, err = d.StageTimes(ctx, kamflow.ReportFilter{From: rd(0), To: rd(15)})
			if err != nil {
				t.Fatal(err)
			}
			same(t, "stays ended in days 0-15", stageTimeRows(got), []string{
				"development 7 96h0m0s 240h0m0s 0.00h",
				"entry 4 48h0m0s 120h0m0s 0.00h", // B 3.5, C 5, F 2, H 2 (A left on day 30)
				"proposal 2 48h0m0s 48h0m0s 0.00h",
				"bid 0 0s 0s 0.00h", // F left on day 15: not before it
				"negotiation 0 0s 0s 0.00h",
				"delivery 0 0s 0s 0.00h",
			})
			got, err = d.StageTimes(ctx, kamflow.ReportFilter{Viewer: kamA})
			if err != nil {
				t.Fatal(err)
			}
			// A, B, E (G has no completed stay): development 10, 4, 4; entry 15 (paused 5), 3.5
			if got[0].Stays != 3 || got[0].Median != 4*h || got[1].Stays != 2 || got[1].Median != 84*time.Hour || got[1].P90 != 15*h {
				t.Errorf("kam-a's time in stage: %s", stageTimeRows(got))
			}
		})

		t.Run("forcing", func(t *testing.T) {
			got, err := d.Forcing(ctx, kamflow.ReportFilter{})
			if err != nil {
				t.Fatal(err)
			}
			o := func(x kamflow.Outcome) string {
				return fmt.Sprintf("%d/%d/%d=%.4f", x.Deals, x.Closed, x.Won, x.WinRate)
			}
			var rows []string
			for _, s := range got.Stages {
				rows = append(rows, fmt.Sprintf("%s %d %d %.4f forced %s unforced %s", s.Stage, s.Advances, s.Forced, s.ForcedRate, o(s.ForcedOutcome), o(s.UnforcedOutcome)))
			}
			same(t, "forcing by stage", rows, []string{
				// A B C D F H out of development; closed A B C F H (D open), won A C
				"development 6 0 0.0000 forced 0/0/0=0.0000 unforced 6/5/2=0.4000",
				// B forced (lost); A C F H not (A delivered, C won, F withdrawn, H lost)
				"entry 5 1 0.2000 forced 1/1/0=0.0000 unforced 4/4/2=0.5000",
				// C forced (won); A F not
				"proposal 3 1 0.3333 forced 1/1/1=1.0000 unforced 2/2/1=0.5000",
				"bid 2 0 0.0000 forced 0/0/0=0.0000 unforced 2/2/2=1.0000",
				"negotiation 1 0 0.0000 forced 0/0/0=0.0000 unforced 1/1/1=1.0000",
			})
			// Forced: B (lost), C (won). Never forced: A (delivered), D, G (open), E (abandoned: not
			// counted as closed), F (withdrawn), H (lost).
			if o(got.Forced) != "2/2/1=0.5000" || o(got.Unforced) != "6/3/1=0.3333" {
				t.Errorf("forced %s, unforced %s", o(got.Forced), o(got.Unforced))
			}
			cohort, err := d.Forcing(ctx, kamflow.ReportFilter{From: rd(0), To: rd(5)}) // A B C D E
			if err != nil {
				t.Fatal(err)
			}
			if o(cohort.Forced) != "2/2/1=0.5000" || o(cohort.Unforced) != "3/1/1=1.0000" || cohort.Stages[1].Advances != 3 {
				t.Errorf("cohort of days 0-5: forced %s, unforced %s, %+v", o(cohort.Forced), o(cohort.Unforced), cohort.Stages[1])
			}
		})

		t.Run("losses", func(t *testing.T) {
			got, err := d.Losses(ctx, kamflow.ReportFilter{})
			if err != nil {
				t.Fatal(err)
			}
			var rows []string
			for _, s := range got {
				rows = append(rows, fmt.Sprintf("%s %d %d %v %v", s.Stage, s.Lost, s.Withdrawn, s.Reasons, s.Competitors))
			}
			same(t, "losses", rows, []string{
				"development 0 0 [] []", // E was abandoned, not lost
				"entry 0 0 [] []",
				"proposal 2 0 [{lost  delivery time 1} {lost  price 1}] [{  Acme 1}]", // {outcome code value count}
				"bid 0 1 [{withdrawn  criteria against us 1}] [{  Beta 1}]",
				"negotiation 0 0 [] []",
				"delivery 0 0 [] []",
			})
			got, err = d.Losses(ctx, kamflow.ReportFilter{From: rd(13), To: rd(30), Viewer: eastDirector})
			if err != nil {
				t.Fatal(err)
			}
			if got[2].Lost != 1 || got[2].Reasons[0].Value != "price" || got[3].Withdrawn != 0 {
				t.Errorf("east, days 13-30: %+v %+v", got[2], got[3])
			}
		})

		t.Run("forecast", func(t *testing.T) {
			row := func(r kamflow.ForecastRow) string {
				return strings.TrimSpace(fmt.Sprintf("%s%s %s %d %s %s", r.Month, r.Owner, r.Currency, r.Deals, r.Value, r.Weighted))
			}
			rows := func(f kamflow.Forecast) (out []string) {
				for _, r := range f.ByMonth {
					out = append(out, "month "+row(r))
				}
				for _, r := range f.ByOwner {
					out = append(out, "owner "+row(r))
				}
				for _, r := range f.Total {
					out = append(out, "total "+row(r))
				}
				return out
			}
			now, err := d.Forecast(ctx, kamflow.ReportFilter{}, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			// Active now: C (won: 100%), D (entry, nothing met: 20%), G (development: 10%).
			same(t, "forecast now", rows(now), []string{
				"month 2025-03 CNY 1 2000000.00 2000000.00",
				"month 2025-04 CNY 1 333333.33 33333.33", // 33,333.333 rounds to .33
				"month 2025-05 USD 1 50000.00 10000.00",
				"owner kam-a CNY 1 333333.33 33333.33",
				"owner kam-b USD 1 50000.00 10000.00",
				"owner kam-c CNY 1 2000000.00 2000000.00", // C was reassigned to kam-c on day 35
				"total CNY 2 2333333.33 2033333.33",
				"total USD 1 50000.00 10000.00",
			})
			asOf := kamflow.EndOfDay("2025-01-31", time.UTC) // day 26, 00:00
			if !asOf.Equal(rd(26)) {
				t.Fatalf("end of 2025-01-31 is %s", asOf)
			}
			then, err := d.Forecast(ctx, kamflow.ReportFilter{}, asOf)
			if err != nil {
				t.Fatal(err)
			}
			// Active at the end of day 25: A (entry, both items met: 35%), C (negotiation, nothing met,
			// forced once: 70% halved = 35%, owned by kam-b then), D (entry, paused: 20%). B E F H were
			// closed by then; G did not exist yet.
			same(t, "forecast as of 2025-01-31", rows(then), []string{
				"month 2025-03 CNY 1 2000000.00 700000.00",
				"month 2025-05 USD 1 50000.00 10000.00",
				"month 2025-06 CNY 1 1000000.00 350000.00",
				"owner kam-a CNY 1 1000000.00 350000.00",
				"owner kam-b CNY 1 2000000.00 700000.00",
				"owner kam-b USD 1 50000.00 10000.00",
				"total CNY 2 3000000.00 1050000.00",
				"total USD 1 50000.00 10000.00",
			})
			if !then.AsOf.Equal(asOf) || !now.AsOf.IsZero() {
				t.Errorf("as of %s / %s", then.AsOf, now.AsOf)
			}
			// The owner filter of an as-of forecast is the owner then; of the current one, the owner now.
			kamB, err := d.Forecast(ctx, kamflow.ReportFilter{Owner: "kam-b"}, asOf)
			if err != nil {
				t.Fatal(err)
			}
			if len(kamB.Total) != 2 || kamB.Total[0].Deals != 1 || kamB.Total[0].Weighted != 700_000_00 {
				t.Errorf("kam-b as of 2025-01-31: %v", rows(kamB))
			}
			kamB, err = d.Forecast(ctx, kamflow.ReportFilter{Owner: "kam-b"}, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			if len(kamB.Total) != 1 || kamB.Total[0].Currency != "USD" {
				t.Errorf("kam-b now: %v", rows(kamB))
			}
			// Visibility: the west director sees none of it (F is closed); the east director all of it.
			west, err := d.Forecast(ctx, kamflow.ReportFilter{Viewer: westDirector}, asOf)
			if err != nil {
				t.Fatal(err)
			}
			if len(west.Total) != 0 || west.ByMonth == nil {
				t.Errorf("west director as of: %v", rows(west))
			}
			east, err := d.Forecast(ctx, kamflow.ReportFilter{Viewer: eastDirector}, asOf)
			if err != nil {
				t.Fatal(err)
			}
			same(t, "east director as of", rows(east), rows(then))
			// Before anything: nothing.
			empty, err := d.Forecast(ctx, kamflow.ReportFilter{}, rd(-1))
			if err != nil || len(empty.Total) != 0 {
				t.Errorf("before the first deal: %v %v", rows(empty), err)
			}
		})
	})
}

// TestEscalationAndDirectory: the ladder's settings round-trip and are validated; the directors of
// a team are its enabled directors; e-mail addresses are found by username, in any case.
func TestEscalationAndDirectory(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e, err := d.Escalation(ctx)
		if err != nil || e.Stages != nil || e.Teams != nil {
			t.Fatalf("escalation before any is saved: %+v %v", e, err)
		}
		want := kamflow.Escalation{
			Stages: map[kamflow.Stage]kamflow.StageEscalation{kamflow.Bid: {DirectorAfter: 1.5}},
			Teams: map[string]map[kamflow.Stage]kamflow.TeamEscalation{
				"east": {kamflow.Bid: {SLA: kamflow.Duration(7 * kamflow.Day), DirectorAfter: 3}},
			},
		}
		if err := d.SaveEscalation(ctx, want); err != nil {
			t.Fatal(err)
		}
		if got, err := d.Escalation(ctx); err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("escalation read back %+v %v", got, err)
		}
		bad := kamflow.Escalation{Stages: map[kamflow.Stage]kamflow.StageEscalation{kamflow.Bid: {DirectorAfter: 0.5}}}
		wantCode(t, d.SaveEscalation(ctx, bad), kamflow.EINVALID)

		users := []*kamflow.User{
			{ID: "u1", Username: "Dir-Zhao", Role: kamflow.UserDirector, Teams: []string{"east", "north"}},
			{ID: "u2", Username: "dir-qian", Role: kamflow.UserDirector, Teams: []string{"east"}, Disabled: true},
			{ID: "u3", Username: "dir-sun", Role: kamflow.UserDirector, Teams: []string{"west"}},
			{ID: "u4", Username: "kam-li", Role: kamflow.UserKAM, Teams: []string{"east"}},
			{ID: "u5", Username: "dir-zhou", Role: kamflow.UserDirector, Teams: []string{"east"}},
		}
		for _, u := range users {
			if err := d.CreateUser(ctx, u); err != nil {
				t.Fatal(err)
			}
		}
		dirs, err := d.Directors(ctx, "east")
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, u := range dirs {
			names = append(names, u.Username)
		}
		if strings.Join(names, ",") != "Dir-Zhao,dir-zhou" {
			t.Errorf("directors of east: %v", names)
		}
		if dirs, _ := d.Directors(ctx, ""); len(dirs) != 0 {
			t.Errorf("directors of no team: %v", dirs)
		}

		if err := d.SetUserEmail(ctx, "u1", "zhao@example.com"); err != nil {
			t.Fatal(err)
		}
		if err := d.SetUserEmail(ctx, "u1", "zhao.wei@example.com"); err != nil { // replaced
			t.Fatal(err)
		}
		for _, u := range []string{"u2", "u4"} {
			if err := d.SetUserEmail(ctx, u, u+"@example.com"); err != nil {
				t.Fatal(err)
			}
		}
		wantCode(t, d.SetUserEmail(ctx, "nobody", "x@example.com"), kamflow.ENOTFOUND)
		wantCode(t, d.SetUserEmail(ctx, "u3", "Sun <sun@example.com>"), kamflow.EINVALID)
		got, err := d.UserEmails(ctx, []string{"dir-zhao", "dir-qian", "kam-li", "dir-sun", "nobody"})
		if err != nil {
			t.Fatal(err)
		}
		// dir-qian is disabled; dir-sun has no address.
		if len(got) != 2 || got["dir-zhao"] != "zhao.wei@example.com" || got["kam-li"] != "u4@example.com" {
			t.Errorf("e-mail addresses %v", got)
		}
		// By id, disabled users too (u2 is dir-qian): the admin sees every address.
		if byID, err := d.EmailsByUserID(ctx, []string{"u1", "u2", "u3", "nobody"}); err != nil || len(byID) != 2 ||
			byID["u1"] != "zhao.wei@example.com" || byID["u2"] != "u2@example.com" {
			t.Errorf("e-mail addresses by id %v, %v", byID, err)
		}
		if err := d.SetUserEmail(ctx, "u4", ""); err != nil {
			t.Fatal(err)
		}
		if got, _ := d.UserEmails(ctx, []string{"kam-li"}); len(got) != 0 {
			t.Errorf("removed address still there: %v", got)
		}
	})
}

// TestFunnelPathsAgree: the funnel of all time (read off the deals) is the funnel of a period that
// holds all of history (read off the stage history), for every viewer.
func TestFunnelPathsAgree(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		seedHistory(t, d)
		everything := kamflow.ReportFilter{From: rd(-1000), To: rd(1000)}
		for _, v := range []*kamflow.Actor{nil, {ID: "dir-east", Role: kamflow.UserDirector, Teams: []string{"east"}},
			{ID: "kam-b", Role: kamflow.UserKAM}, {ID: "eng", Role: kamflow.UserEngineer}} {
			all, err := d.Funnel(ctx, kamflow.ReportFilter{Viewer: v})
			if err != nil {
				t.Fatal(err)
			}
			everything.Viewer = v
			period, err := d.Funnel(ctx, everything)
			if err != nil {
				t.Fatal(err)
			}
			same(t, fmt.Sprintf("viewer %+v", v), funnelRows(all), funnelRows(period))
		}
	})
}

// TestStayEndsProjectedOutOfOrder: how a stay ended is right even when the transition into the
// stage is projected after the transition out of it (a late retry).
func TestStayEndsProjectedOutOfOrder(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		deal, created, err := kamflow.NewDeal("late", kamflow.NewDealInput{AccountID: "acct", Title: "Late", Value: 1_00, Currency: "CNY", TeamID: "east"}, sys, rd(0), settings)
		if err != nil {
			t.Fatal(err)
		}
		step := func(cmd kamflow.Command, day float64) kamflow.Projection {
			cmd.Actor = sys
			fx, err := deal.ApplyRules(cmd, rd(day), settings) // seeded as its workflow wrote it
			if err != nil {
				t.Fatal(err)
			}
			return kamflow.Projection{Deal: *clone(t, deal), Transition: fx.Transition}
		}
		first := kamflow.Projection{Deal: *clone(t, deal), Transition: created}
		assessment := step(assessed("2025-06-30"), 1)
		moved := step(advance(), 2)                                     // out of development, into entry
		closed := step(closeAs(kamflow.StatusLost, "price", "Acme"), 5) // out of entry
		for _, p := range []kamflow.Projection{closed, assessment, moved, first, closed, moved} {
			if err := d.Project(ctx, p); err != nil {
				t.Fatal(err)
			}
		}
		got, err := d.Funnel(ctx, kamflow.ReportFilter{From: rd(0), To: rd(10)})
		if err != nil {
			t.Fatal(err)
		}
		same(t, "funnel", funnelRows(got)[:2], []string{"development 1 1 0 0 0 1.0000", "entry 1 0 0 1 0 0.0000"})
		times, err := d.StageTimes(ctx, kamflow.ReportFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if times[0].Median != 2*kamflow.Day || times[1].Median != 3*kamflow.Day {
			t.Errorf("time in stage %s", stageTimeRows(times))
		}
	})
}

// TestReportsMigration: migration 0004 fills in how each stay of the history so far ended.
func TestReportsMigration(t *testing.T) {
	dbtest.EachURL(t, func(t *testing.T, url string) {
		old, err := db.OpenAt(ctx, url, 3)
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range []struct {
			kind, from, to, status string
			day                    float64
		}{
			{"created", "", "development", "open", 0},
			{"advanced", "development", "entry", "open", 4},
			{"forced", "entry", "proposal", "open", 6},
			{"closed", "proposal", "proposal", "lost", 16},
		} {
			err := old.Gorm().Exec(`INSERT INTO stage_transitions (deal_id, seq, kind, from_stage, to_stage, status, actor, at)
				VALUES ('old-1', ?, ?, ?, ?, ?, 'kam', ?)`, i+1, r.kind, r.from, r.to, r.status, rd(r.day)).Error
			if err != nil {
				t.Fatal(err)
			}
		}
		old.Close()
		d := dbtest.Open(t, url)
		got, err := d.Funnel(ctx, kamflow.ReportFilter{From: rd(0), To: rd(30)})
		if err != nil {
			t.Fatal(err)
		}
		same(t, "funnel after migration", funnelRows(got)[:3], []string{
			"development 1 1 0 0 0 1.0000", "entry 1 1 1 0 0 1.0000", "proposal 1 0 0 1 0 0.0000"})
		times, err := d.StageTimes(ctx, kamflow.ReportFilter{})
		if err != nil {
			t.Fatal(err)
		}
		same(t, "time in stage after migration", stageTimeRows(times)[:3], []string{
			"development 1 96h0m0s 96h0m0s 0.00h", "entry 1 48h0m0s 48h0m0s 0.00h", "proposal 1 240h0m0s 240h0m0s 0.00h"})
	})
}
