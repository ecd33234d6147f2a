package db_test

import (
	"slices"
	"testing"
	"time"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/db"
	"github.com/kamflow/kamflow/db/dbtest"
)

func yuan(n int64) kamflow.Money { return kamflow.Money(n * 100) }

// newAccount stores an account of team east.
func newAccount(t *testing.T, d *db.DB, id, name, owner string, v kamflow.AccountValue) *kamflow.Account {
	t.Helper()
	a := &kamflow.Account{ID: id, Name: name, Owner: owner, TeamID: "east", Value: v, CreatedAt: t0, UpdatedAt: t0}
	if err := d.CreateAccount(ctx, a); err != nil {
		t.Fatal(err)
	}
	return a
}

func scoreOf(t *testing.T, d *db.DB, id string) (float64, kamflow.Segment) {
	t.Helper()
	a, err := d.Account(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return a.ValueScore, a.Segment
}

// win records the deal as won at time at, as the deal's workflow projects a signature.
func win(t *testing.T, d *db.DB, deal *kamflow.Deal, at time.Time) {
	t.Helper()
	deal.Status, deal.Seq, deal.UpdatedAt = kamflow.StatusWon, deal.Seq+1, at
	project(t, d, deal, &kamflow.StageTransition{DealID: deal.ID, Seq: deal.Seq, Kind: kamflow.TransitionWon,
		ToStage: deal.Stage, Status: kamflow.StatusWon, Actor: kam.ID, At: at})
}

// TestValueScores: the scores the store keeps follow every change of any account's inputs and of
// the settings (the scale is the best account's), and the list sorts and filters by them. The
// expected scores are worked by hand with the default weights (30/20/10/15/10/15).
func TestValueScores(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		// Alone, a is its own scale: 30 + 20 + 5 (a tenth of sales in marketing cost) + 11.25 + 5 + 15.
		a := newAccount(t, d, "acc-a", "Anshan Steel", "kam-li", kamflow.AccountValue{GrossProfit: yuan(2_000_000),
			SalesVolume: yuan(10_000_000), MarketingCost: yuan(1_000_000), IndustryPosition: 4, CooperationYears: 5, Satisfaction: 5})
		if a.ValueScore != 86.3 || a.Segment != kamflow.SegmentStrategic {
			t.Fatalf("a alone: %v %q, want 86.3 strategic", a.ValueScore, a.Segment)
		}
		// b doubles the top gross profit: a's half of it now scores 15 of 30 (71.3); b scores
		// 30 + 10 (half the top sales) + 10 + 15 + 10 + 15 = 90.
		b := newAccount(t, d, "acc-b", "Baotou Steel", "kam-wang", kamflow.AccountValue{GrossProfit: yuan(4_000_000),
			SalesVolume: yuan(5_000_000), IndustryPosition: 5, CooperationYears: 12, Satisfaction: 5})
		c := newAccount(t, d, "acc-c", "Chongqing Steel", "kam-li", kamflow.AccountValue{})
		for _, w := range []struct {
			id    string
			score float64
			seg   kamflow.Segment
		}{{"acc-a", 71.3, kamflow.SegmentStrategic}, {"acc-b", 90, kamflow.SegmentStrategic}, {"acc-c", 0, ""}} {
			if s, seg := scoreOf(t, d, w.id); s != w.score || seg != w.seg {
				t.Errorf("%s: %v %q, want %v %q", w.id, s, seg, w.score, w.seg)
			}
		}
		if b.ValueScore != 90 || c.ValueScore != 0 || c.Segment != "" {
			t.Errorf("the created accounts carry %v/%q and %v/%q", b.ValueScore, b.Segment, c.ValueScore, c.Segment)
		}

		// a's gross profit doubles past b's: a is the scale (86.3 again), b's half scores 15 (75).
		a.Value.GrossProfit, a.UpdatedAt = yuan(8_000_000), t0.Add(time.Hour)
		if err := d.UpdateAccount(ctx, a); err != nil {
			t.Fatal(err)
		}
		if a.ValueScore != 86.3 {
			t.Errorf("a after its update: %v", a.ValueScore)
		}
		if s, _ := scoreOf(t, d, "acc-b"); s != 75 {
			t.Errorf("b after a's update: %v, want 75", s)
		}
		// b renamed, its inputs as they were: the stored score, not the stale one b carries.
		b.Name, b.UpdatedAt = "Baotou Steel Group", t0.Add(2*time.Hour)
		if err := d.UpdateAccount(ctx, b); err != nil {
			t.Fatal(err)
		}
		if b.ValueScore != 75 || b.Segment != kamflow.SegmentStrategic {
			t.Errorf("b after its rename: %v %q, want 75 strategic", b.ValueScore, b.Segment)
		}
		if sc, err := d.ValueScale(ctx); err != nil || sc != (kamflow.ValueScale{MaxGrossProfit: yuan(8_000_000), MaxSalesVolume: yuan(10_000_000)}) {
			t.Errorf("scale %+v, %v", sc, err)
		}

		// A threshold of 80 leaves b general; the change is on the audit trail.
		s, err := d.AccountSettings(ctx)
		if err != nil || s.StrategicThreshold != 60 {
			t.Fatalf("the default settings: %+v, %v", s, err)
		}
		s.StrategicThreshold = 80
		if err := d.SaveAccountSettings(ctx, s, &kamflow.AuditEntry{Actor: "admin", Action: "settings.segmentation",
			EntityType: "settings", EntityID: "segmentation", Summary: "threshold 80"}); err != nil {
			t.Fatal(err)
		}
		if got, _ := d.AccountSettings(ctx); got.StrategicThreshold != 80 || got.Weights[kamflow.ValueGrossProfit] != 30 {
			t.Errorf("saved settings %+v", got)
		}
		if _, seg := scoreOf(t, d, "acc-b"); seg != kamflow.SegmentGeneral {
			t.Errorf("b under a threshold of 80: %q", seg)
		}
		if _, n, _ := d.Audit(ctx, kamflow.AuditFilter{EntityType: "settings", EntityID: "segmentation"}); n != 1 {
			t.Errorf("%d audit entries of the settings, want 1", n)
		}
		bad := s
		bad.StaleContactDays = 0
		wantCode(t, d.SaveAccountSettings(ctx, bad, nil), kamflow.EINVALID)

		list := func(f kamflow.AccountFilter) []string {
			t.Helper()
			items, total, err := d.Accounts(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			ids := []string{}
			for _, a := range items {
				ids = append(ids, a.ID)
			}
			if f.Limit == 0 && total != len(ids) {
				t.Errorf("%+v: total %d for %d items", f, total, len(ids))
			}
			return ids
		}
		for _, c := range []struct {
			f    kamflow.AccountFilter
			want []string
		}{
			{kamflow.AccountFilter{Sort: kamflow.AccountsByValue}, []string{"acc-a", "acc-b", "acc-c"}},
			{kamflow.AccountFilter{Sort: kamflow.AccountsByValue, Owner: "kam-li"}, []string{"acc-a", "acc-c"}},
			{kamflow.AccountFilter{Segment: kamflow.SegmentStrategic}, []string{"acc-a"}},
			{kamflow.AccountFilter{Segment: kamflow.SegmentGeneral, Viewer: &director}, []string{"acc-b"}},
			{kamflow.AccountFilter{Sort: kamflow.AccountsByValue, Viewer: &kam}, []string{"acc-a", "acc-b", "acc-c"}},
		} {
			if got := list(c.f); !slices.Equal(got, c.want) {
				t.Errorf("%+v: %v, want %v", c.f, got, c.want)
			}
		}
		_, _, err = d.Accounts(ctx, kamflow.AccountFilter{Sort: "revenue"})
		wantCode(t, err, kamflow.EINVALID)

		pareto, err := d.ParetoAccounts(ctx, &kam)
		if err != nil {
			t.Fatal(err)
		}
		if want := []kamflow.ParetoAccount{{ID: "acc-a", Name: "Anshan Steel", GrossProfit: yuan(8_000_000)},
			{ID: "acc-b", Name: "Baotou Steel Group", GrossProfit: yuan(4_000_000)}}; !slices.Equal(pareto, want) {
			t.Errorf("pareto accounts %+v", pareto)
		}
		other := kamflow.Actor{ID: "kam-zhou", Role: kamflow.UserKAM, Teams: []string{"west"}}
		if p, _ := d.ParetoAccounts(ctx, &other); len(p) != 0 {
			t.Errorf("another team's KAM sees %+v", p)
		}
	})
}

// TestLifecycles: the lifecycle is derived from the won deals and the newest activity, as of the
// time asked, and a person's override wins; the list filters by the result.
func TestLifecycles(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		newAccount(t, d, "acc-1", "Baosteel", "kam-li", kamflow.AccountValue{})
		newAccount(t, d, "acc-2", "Shougang", "kam-li", kamflow.AccountValue{})
		d1 := newDeal(t, d, "deal-1", "acc-1", "kam-li", t0)
		win(t, d, d1, t0.Add(24*time.Hour))
		newDeal(t, d, "deal-2", "acc-1", "kam-li", t0.Add(48*time.Hour)) // open
		newDeal(t, d, "deal-3", "acc-2", "kam-li", t0)                   // open, no business yet

		hs, err := d.AccountHistories(ctx, []string{"acc-1", "acc-2", "acc-none"})
		if err != nil {
			t.Fatal(err)
		}
		h := hs["acc-1"]
		if len(h.Won) != 1 || h.Won[0].DealID != "deal-1" || !h.Won[0].At.Equal(t0.Add(24*time.Hour)) ||
			h.Won[0].Value != 1_250_000_00 || h.Won[0].Currency != "CNY" || !h.LastDealAt.Equal(t0.Add(48*time.Hour)) ||
			!h.LastInteractionAt.IsZero() || !h.LastServiceAt.IsZero() {
			t.Errorf("history of acc-1: %+v", h)
		}
		if h := hs["acc-none"]; len(h.Won) != 0 || !h.LastDealAt.IsZero() {
			t.Errorf("history of an unknown account: %+v", h)
		}

		phases := func(now time.Time) map[string]kamflow.Phase {
			t.Helper()
			accs, _, err := d.Accounts(ctx, kamflow.AccountFilter{})
			if err != nil {
				t.Fatal(err)
			}
			lcs, err := d.Lifecycles(ctx, accs, now)
			if err != nil {
				t.Fatal(err)
			}
			out := map[string]kamflow.Phase{}
			for id, l := range lcs {
				out[id] = l.Phase
			}
			return out
		}
		filter := func(p kamflow.Phase, now time.Time) []string {
			t.Helper()
			items, total, err := d.Accounts(ctx, kamflow.AccountFilter{Lifecycle: p, Now: now})
			if err != nil {
				t.Fatal(err)
			}
			ids := []string{}
			for _, a := range items {
				ids = append(ids, a.ID)
			}
			if total != len(ids) {
				t.Errorf("%s: total %d for %v", p, total, ids)
			}
			return ids
		}
		soon := t0.Add(30 * 24 * time.Hour)
		if got := phases(soon); got["acc-1"] != kamflow.PhaseFormation || got["acc-2"] != kamflow.PhaseExploration {
			t.Errorf("a month on: %v", got)
		}
		if got := filter(kamflow.PhaseFormation, soon); !slices.Equal(got, []string{"acc-1"}) {
			t.Errorf("formation: %v", got)
		}
		// Thirteen months of silence: decline.
		late := t0.AddDate(1, 1, 0)
		if got := filter(kamflow.PhaseDecline, late); !slices.Equal(got, []string{"acc-1"}) {
			t.Errorf("decline thirteen months on: %v", got)
		}
		// A second won deal within the window: stability.
		d4 := newDeal(t, d, "deal-4", "acc-1", "kam-li", t0.Add(96*time.Hour))
		win(t, d, d4, t0.Add(120*time.Hour))
		if got := phases(soon); got["acc-1"] != kamflow.PhaseStability {
			t.Errorf("two won: %v", got)
		}

		// The override wins, and the filter follows it; removing it goes back to the record.
		o := &kamflow.LifecycleOverride{Phase: kamflow.PhaseDecline, Rung: kamflow.RungPartner, Reason: "lost the framework agreement",
			By: "dir-zhao", At: t0.Add(time.Hour)}
		a, err := d.SetLifecycleOverride(ctx, "acc-1", o, t0.Add(time.Hour), kamflow.LifecycleAudit("acc-1", nil, o, "dir-zhao", o.Reason, t0.Add(time.Hour)))
		if err != nil {
			t.Fatal(err)
		}
		if a.LifecycleOverride == nil || *a.LifecycleOverride != *o || !a.UpdatedAt.Equal(t0.Add(time.Hour)) {
			t.Errorf("the account after the override: %+v", a)
		}
		if got := filter(kamflow.PhaseDecline, soon); !slices.Equal(got, []string{"acc-1"}) {
			t.Errorf("decline by hand: %v", got)
		}
		if got := filter(kamflow.PhaseStability, soon); len(got) != 0 {
			t.Errorf("stability under an override: %v", got)
		}
		if page, total, _ := d.Accounts(ctx, kamflow.AccountFilter{Lifecycle: kamflow.PhaseDecline, Now: soon, Page: kamflow.Page{Limit: 1, Offset: 1}}); len(page) != 0 || total != 1 {
			t.Errorf("past the end of the filtered list: %d items of %d", len(page), total)
		}
		if _, n, _ := d.Audit(ctx, kamflow.AuditFilter{EntityType: "account", EntityID: "acc-1"}); n != 1 {
			t.Errorf("%d audit entries, want the override's", n)
		}
		if a, err = d.SetLifecycleOverride(ctx, "acc-1", nil, t0.Add(2*time.Hour), nil); err != nil || a.LifecycleOverride != nil {
			t.Errorf("removing the override: %+v, %v", a, err)
		}
		if got := phases(soon); got["acc-1"] != kamflow.PhaseStability {
			t.Errorf("after the override: %v", got)
		}
		_, err = d.SetLifecycleOverride(ctx, "acc-404", o, t0, nil)
		wantCode(t, err, kamflow.ENOTFOUND)
	})
}

// TestContactsAndInteractions: the buying center across deals — the org chart without cycles,
// per-deal stances, interactions moving the last contact, and the stale insiders and decision
// makers with their open deals.
func TestContactsAndInteractions(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		newAccount(t, d, "acc-1", "Baosteel", "kam-li", kamflow.AccountValue{})
		newAccount(t, d, "acc-2", "Shougang", "kam-li", kamflow.AccountValue{})
		open := newDeal(t, d, "deal-1", "acc-1", "kam-li", t0)
		closed := newDeal(t, d, "deal-2", "acc-1", "kam-li", t0)
		apply(t, d, closed, kamflow.Command{Kind: kamflow.CmdClose, Actor: kam,
			Close: &kamflow.CloseInput{Outcome: kamflow.StatusAbandoned, Reason: "no funding"}}, t0.Add(time.Hour))
		newDeal(t, d, "deal-other", "acc-2", "kam-li", t0)

		contact := func(id, account, name string, role kamflow.Role, reportsTo string, deals ...kamflow.ContactDeal) *kamflow.Contact {
			return &kamflow.Contact{ID: id, AccountID: account, Name: name, Role: role, Stance: kamflow.StanceNeutral,
				ReportsTo: reportsTo, Deals: append([]kamflow.ContactDeal{}, deals...), CreatedBy: "kam-li", CreatedAt: t0, UpdatedAt: t0}
		}
		gm := contact("c-gm", "acc-1", "Liu Zong", kamflow.RoleDecisionMaker, "")
		chief := contact("c-chief", "acc-1", "Chen Gong", kamflow.RoleInsider, "c-gm",
			kamflow.ContactDeal{DealID: "deal-1", Stance: kamflow.StanceSupporter})
		buyer := contact("c-buyer", "acc-1", "Ma Jingli", kamflow.RolePurchaser, "c-gm")
		for _, c := range []*kamflow.Contact{gm, chief, buyer} {
			if err := d.CreateContact(ctx, c, kamflow.ContactAudit(nil, c, "kam-li", t0)); err != nil {
				t.Fatalf("create %s: %v", c.ID, err)
			}
		}
		wantCode(t, d.CreateContact(ctx, gm, nil), kamflow.ECONFLICT)
		wantCode(t, d.CreateContact(ctx, contact("c-x", "acc-404", "X", "", ""), nil), kamflow.ENOTFOUND)
		wantCode(t, d.CreateContact(ctx, contact("c-x", "acc-2", "X", "", "c-gm"), nil), kamflow.EINVALID) // another account's manager
		wantCode(t, d.CreateContact(ctx, contact("c-x", "acc-1", "X", "", "", kamflow.ContactDeal{DealID: "deal-other"}), nil), kamflow.EINVALID)
		wantCode(t, d.CreateContact(ctx, contact("c-x", "acc-1", "X", "", "", kamflow.ContactDeal{DealID: "deal-404"}), nil), kamflow.EINVALID)

		got, err := d.Contact(ctx, "c-chief")
		if err != nil {
			t.Fatal(err)
		}
		if asJSON(t, got) != asJSON(t, chief) {
			t.Errorf("contact read back:\n got %s\nwant %s", asJSON(t, got), asJSON(t, chief))
		}
		_, err = d.Contact(ctx, "c-404")
		wantCode(t, err, kamflow.ENOTFOUND)

		// The general manager cannot report to his chief engineer, who reports to him.
		loop := *gm
		loop.ReportsTo, loop.Deals = "c-chief", []kamflow.ContactDeal{}
		wantCode(t, d.UpdateContact(ctx, &loop, nil), kamflow.EINVALID)
		// A stance of its own on the closed deal; the link to deal-1 keeps its stance.
		upd := *chief
		upd.Title, upd.UpdatedAt = "Chief engineer", t0.Add(time.Hour)
		upd.Deals = []kamflow.ContactDeal{{DealID: "deal-2", Stance: kamflow.StanceOpponent}}
		if err := d.UpdateContact(ctx, &upd, &kamflow.AuditEntry{Actor: "kam-li", Action: "contact.update", EntityType: "account", EntityID: "acc-1"}); err != nil {
			t.Fatal(err)
		}
		got, _ = d.Contact(ctx, "c-chief")
		if got.Title != "Chief engineer" || got.StanceOn("deal-1") != kamflow.StanceSupporter || got.StanceOn("deal-2") != kamflow.StanceOpponent ||
			len(got.Deals) != 2 {
			t.Errorf("contact after the update: %+v", got)
		}
		missing := *buyer
		missing.ID = "c-404"
		wantCode(t, d.UpdateContact(ctx, &missing, nil), kamflow.ENOTFOUND)

		cs, err := d.Contacts(ctx, "acc-1")
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, c := range cs {
			names = append(names, c.Name)
		}
		if !slices.Equal(names, []string{"Chen Gong", "Liu Zong", "Ma Jingli"}) {
			t.Errorf("contacts by name: %v", names)
		}

		// A meeting with both on deal-1 ten days in; a call logged late, from before, moves
		// nothing back.
		met := t0.Add(10 * 24 * time.Hour)
		meeting := &kamflow.Interaction{ID: "i-1", AccountID: "acc-1", DealID: "deal-1", ContactIDs: []string{"c-chief", "c-gm"},
			Kind: kamflow.InteractionMeeting, At: met, Summary: "Technical clarification", Reaction: kamflow.ReactionPositive,
			RecordedBy: "kam-li", CreatedAt: met}
		if err := d.LogInteraction(ctx, meeting, kamflow.InteractionAudit(meeting)); err != nil {
			t.Fatal(err)
		}
		call := &kamflow.Interaction{ID: "i-2", AccountID: "acc-1", ContactIDs: []string{"c-gm"}, Kind: kamflow.InteractionCall,
			At: met.Add(-5 * 24 * time.Hour), Summary: "Budget", Reaction: kamflow.ReactionNeutral, RecordedBy: "kam-li", CreatedAt: met.Add(time.Hour)}
		if err := d.LogInteraction(ctx, call, nil); err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{"c-gm", "c-chief"} {
			c, _ := d.Contact(ctx, id)
			if c.LastContactAt == nil || !c.LastContactAt.Equal(met) {
				t.Errorf("%s: last contact %v, want %v", id, c.LastContactAt, met)
			}
		}
		if c, _ := d.Contact(ctx, "c-gm"); !slices.Equal(c.Deals, []kamflow.ContactDeal{{DealID: "deal-1"}}) {
			t.Errorf("the meeting on deal-1 did not link the general manager to it: %+v", c.Deals)
		}
		if c, _ := d.Contact(ctx, "c-buyer"); c.LastContactAt != nil {
			t.Errorf("the buyer was not there: %v", c.LastContactAt)
		}
		bad := func(change func(it *kamflow.Interaction)) {
			t.Helper()
			it := *call
			it.ID = "i-bad"
			change(&it)
			wantCode(t, d.LogInteraction(ctx, &it, nil), kamflow.EINVALID)
		}
		bad(func(it *kamflow.Interaction) { it.ContactIDs = []string{"c-404"} })
		bad(func(it *kamflow.Interaction) { it.DealID = "deal-other" })
		bad(func(it *kamflow.Interaction) { it.AccountID = "acc-404" })
		wantCode(t, d.LogInteraction(ctx, call, nil), kamflow.ECONFLICT)

		// Stale at 90 days after the meeting, not a second before; the buyer is neither an
		// insider nor a decision maker.
		stale := func(f kamflow.StaleContactFilter) ([]string, [][]string, []int) {
			t.Helper()
			got, err := d.StaleKeyContacts(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			var deals [][]string
			var days []int
			for _, s := range got {
				ids, deals, days = append(ids, s.Contact.ID), append(deals, s.OpenDeals), append(days, s.DaysSince)
			}
			return ids, deals, days
		}
		if ids, _, _ := stale(kamflow.StaleContactFilter{Now: met.Add(90*24*time.Hour - time.Second)}); len(ids) != 0 {
			t.Errorf("stale before 90 days: %v", ids)
		}
		ids, deals, days := stale(kamflow.StaleContactFilter{Now: met.Add(90 * 24 * time.Hour)})
		if !slices.Equal(ids, []string{"c-chief", "c-gm"}) || !slices.Equal(days, []int{90, 90}) ||
			!slices.Equal(deals[0], []string{"deal-1"}) || !slices.Equal(deals[1], []string{"deal-1"}) {
			t.Errorf("stale after 90 days: %v %v %v", ids, deals, days)
		}
		if ids, _, _ := stale(kamflow.StaleContactFilter{Now: met.Add(31 * 24 * time.Hour), After: 30 * 24 * time.Hour, AccountID: "acc-1"}); len(ids) != 2 {
			t.Errorf("stale after 30 days by the filter's own window: %v", ids)
		}
		if ids, _, days := stale(kamflow.StaleContactFilter{Now: t0.Add(90 * 24 * time.Hour), Roles: []kamflow.Role{kamflow.RolePurchaser}}); !slices.Equal(ids, []string{"c-buyer"}) ||
			days[0] != 90 {
			t.Errorf("the buyer, never contacted, 90 days after being added: %v %v", ids, days)
		}
		if ids, _, _ := stale(kamflow.StaleContactFilter{Now: met.Add(90 * 24 * time.Hour), AccountID: "acc-2"}); len(ids) != 0 {
			t.Errorf("another account's: %v", ids)
		}
		// Once deal-1 is closed, no stale contact is linked to an open deal.
		apply(t, d, open, kamflow.Command{Kind: kamflow.CmdClose, Actor: kam,
			Close: &kamflow.CloseInput{Outcome: kamflow.StatusLost, Reason: "price"}}, met.Add(time.Hour))
		if ids, _, _ := stale(kamflow.StaleContactFilter{Now: met.Add(90 * 24 * time.Hour), WithOpenDeals: true}); len(ids) != 0 {
			t.Errorf("stale with open deals after deal-1 closed: %v", ids)
		}
		if ids, deals, _ := stale(kamflow.StaleContactFilter{Now: met.Add(90 * 24 * time.Hour)}); len(ids) != 2 || len(deals[0]) != 0 {
			t.Errorf("stale without open deals: %v %v", ids, deals)
		}
	})
}

// TestAccountTimeline: interactions and the stage history of the account's deals, newest first,
// paged, and for a viewer only what the viewer may see.
func TestAccountTimeline(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		newAccount(t, d, "acc-1", "Baosteel", "kam-li", kamflow.AccountValue{})
		deal := newDeal(t, d, "deal-1", "acc-1", "kam-li", t0)              // created at t0
		apply(t, d, deal, assess(kamflow.GradeA), t0.Add(time.Hour))        // no transition
		apply(t, d, deal, advance(), t0.Add(3*time.Hour))                   // to entry at t0+3h
		newDeal(t, d, "deal-other", "acc-2", "kam-li", t0.Add(2*time.Hour)) // another account's
		c := &kamflow.Contact{ID: "c-1", AccountID: "acc-1", Name: "Chen Gong", Stance: kamflow.StanceNeutral, Deals: []kamflow.ContactDeal{},
			CreatedBy: "kam-li", CreatedAt: t0, UpdatedAt: t0}
		if err := d.CreateContact(ctx, c, nil); err != nil {
			t.Fatal(err)
		}
		log := func(id, dealID string, at time.Time) {
			it := &kamflow.Interaction{ID: id, AccountID: "acc-1", DealID: dealID, ContactIDs: []string{"c-1"}, Kind: kamflow.InteractionVisit,
				At: at, Summary: "visit " + id, Reaction: kamflow.ReactionPositive, RecordedBy: "kam-li", CreatedAt: at}
			if err := d.LogInteraction(ctx, it, nil); err != nil {
				t.Fatal(err)
			}
		}
		log("i-1", "", t0.Add(2*time.Hour))
		log("i-2", "deal-1", t0.Add(4*time.Hour))

		read := func(v *kamflow.Actor, p kamflow.Page) ([]string, int) {
			t.Helper()
			entries, total, err := d.AccountTimeline(ctx, kamflow.TimelineFilter{AccountID: "acc-1", Viewer: v, Page: p})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range entries {
				switch e.Kind {
				case kamflow.TimelineInteraction:
					got = append(got, e.Interaction.ID)
					if !e.At.Equal(e.Interaction.At) || !slices.Equal(e.Interaction.ContactIDs, []string{"c-1"}) {
						t.Errorf("interaction entry %+v", e)
					}
				default:
					got = append(got, e.Transition.DealID+"/"+e.Transition.Kind)
					if e.DealTitle != deal.Title || !e.At.Equal(e.Transition.At) {
						t.Errorf("stage entry %+v", e)
					}
				}
			}
			return got, total
		}
		all := []string{"i-2", "deal-1/advanced", "i-1", "deal-1/created"}
		if got, total := read(nil, kamflow.Page{}); !slices.Equal(got, all) || total != 4 {
			t.Errorf("timeline %v (%d), want %v", got, total, all)
		}
		if got, total := read(&kam, kamflow.Page{Limit: 2, Offset: 1}); !slices.Equal(got, all[1:3]) || total != 4 {
			t.Errorf("second page %v (%d)", got, total)
		}
		// An engineer not on deal-1 sees only the visit about no deal.
		eng := kamflow.Actor{ID: "eng-wu", Role: kamflow.UserEngineer, Teams: []string{"east"}}
		if got, total := read(&eng, kamflow.Page{}); !slices.Equal(got, []string{"i-1"}) || total != 1 {
			t.Errorf("an engineer's timeline %v (%d)", got, total)
		}
	})
}

// TestRecordHandover: the account changes owner, with the deals the previous owner still runs
// on it listed for reassignment in the handover's record, and the handover on the audit trail,
// in one transaction; recording the same handover again returns it as it is.
func TestRecordHandover(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		newAccount(t, d, "acc-1", "Baosteel", "kam-li", kamflow.AccountValue{})
		newDeal(t, d, "deal-1", "acc-1", "kam-li", t0)
		newDeal(t, d, "deal-2", "acc-1", "kam-wang", t0.Add(time.Hour))          // someone else's
		newDeal(t, d, "deal-0", "acc-1", "kam-li", t0.Add(-time.Hour))           // older: listed first
		won := newDeal(t, d, "deal-won", "acc-1", "kam-li", t0.Add(2*time.Hour)) // won, in delivery: still the KAM's
		win(t, d, won, t0.Add(3*time.Hour))
		gone := newDeal(t, d, "deal-lost", "acc-1", "kam-li", t0)
		apply(t, d, gone, kamflow.Command{Kind: kamflow.CmdClose, Actor: kam,
			Close: &kamflow.CloseInput{Outcome: kamflow.StatusLost, Reason: "price"}}, t0.Add(time.Hour))
		newDeal(t, d, "deal-x", "acc-2", "kam-li", t0) // another account's

		_, err := d.LatestHandover(ctx, "acc-1")
		wantCode(t, err, kamflow.ENOTFOUND)
		at := t0.Add(24 * time.Hour)
		h := kamflow.Handover{ID: "h-1", AccountID: "acc-1", From: "kam-li", To: "kam-zhou", Reason: "kam-li moves to the export team", By: "dir-zhao", At: at}
		rec, err := d.RecordHandover(ctx, h)
		if err != nil {
			t.Fatal(err)
		}
		dealIDs := func(r *kamflow.HandoverRecord) []string {
			var out []string
			for _, d := range r.Deals {
				out = append(out, d.DealID+":"+string(d.Status))
			}
			return out
		}
		if rec.Status != kamflow.HandoverRunning || rec.Total != 3 || rec.Done != 0 || rec.From != "kam-li" || rec.To != "kam-zhou" ||
			!rec.At.Equal(at) || rec.FinishedAt != nil || rec.Deals[0].Title == "" ||
			!slices.Equal(dealIDs(rec), []string{"deal-0:pending", "deal-1:pending", "deal-won:pending"}) ||
			!slices.Equal(rec.Pending(), []string{"deal-0", "deal-1", "deal-won"}) {
			t.Errorf("handover: %+v", rec)
		}
		if a, _ := d.Account(ctx, "acc-1"); a.Owner != "kam-zhou" || !a.UpdatedAt.Equal(at) {
			t.Errorf("owner after the handover: %s", a.Owner)
		}
		entries, _, err := d.Audit(ctx, kamflow.AuditFilter{EntityType: "account", EntityID: "acc-1"})
		if err != nil || len(entries) != 1 {
			t.Fatalf("audit: %+v, %v", entries, err)
		}
		if e := entries[0]; e.Action != "account.handover" || e.Actor != "dir-zhao" || !e.At.Equal(at) ||
			asJSON(t, e.After) != `{"deals_to_reassign":["deal-0","deal-1","deal-won"],"owner":"kam-zhou","reason":"kam-li moves to the export team"}` ||
			asJSON(t, e.Before) != `{"owner":"kam-li"}` {
			t.Errorf("audit entry %+v", e)
		}

		// The same handover again (a retried step): the same record, nothing written twice.
		again, err := d.RecordHandover(ctx, h)
		if err != nil || again.Status != kamflow.HandoverRunning || again.Total != 3 || !slices.Equal(dealIDs(again), dealIDs(rec)) {
			t.Errorf("recorded again: %+v, %v", again, err)
		}
		if entries, _, _ := d.Audit(ctx, kamflow.AuditFilter{EntityType: "account", EntityID: "acc-1"}); len(entries) != 1 {
			t.Errorf("audit after a retry: %d entries", len(entries))
		}

		// The deals end one by one; a deal ended already is not counted twice.
		later := at.Add(time.Minute)
		rec, err = d.FinishHandoverDeal(ctx, "h-1", kamflow.HandoverDeal{DealID: "deal-0", Status: kamflow.HandoverDealDone}, later)
		if err != nil || rec.Done != 1 || rec.Status != kamflow.HandoverRunning {
			t.Errorf("one done: %+v, %v", rec, err)
		}
		rec, err = d.FinishHandoverDeal(ctx, "h-1", kamflow.HandoverDeal{DealID: "deal-0", Status: kamflow.HandoverDealRefused, Code: "x"}, later)
		if err != nil || rec.Done != 1 || rec.Refused != 0 {
			t.Errorf("done again: %+v, %v", rec, err)
		}
		rec, err = d.FinishHandoverDeal(ctx, "h-1", kamflow.HandoverDeal{DealID: "deal-1", Status: kamflow.HandoverDealRefused,
			Code: kamflow.EWRONGSTAGE, Message: "the deal is closed"}, later)
		if err != nil || rec.Refused != 1 || rec.Status != kamflow.HandoverRunning || rec.Deals[1].Code != kamflow.EWRONGSTAGE ||
			rec.Deals[1].Message != "the deal is closed" {
			t.Errorf("one refused: %+v, %v", rec, err)
		}
		_, err = d.FinishHandoverDeal(ctx, "h-1", kamflow.HandoverDeal{DealID: "deal-won", Status: kamflow.HandoverDealPending}, later)
		wantCode(t, err, kamflow.EINVALID)
		_, err = d.FinishHandoverDeal(ctx, "h-404", kamflow.HandoverDeal{DealID: "deal-won", Status: kamflow.HandoverDealDone}, later)
		wantCode(t, err, kamflow.ENOTFOUND)
		rec, err = d.FinishHandoverDeal(ctx, "h-1", kamflow.HandoverDeal{DealID: "deal-won", Status: kamflow.HandoverDealDone}, later)
		if err != nil || rec.Done != 2 || rec.Refused != 1 || rec.Status != kamflow.HandoverDoneWithRefusals ||
			rec.FinishedAt == nil || !rec.FinishedAt.Equal(later) || len(rec.Pending()) != 0 {
			t.Errorf("all ended: %+v, %v", rec, err)
		}
		if got, err := d.Handover(ctx, "h-1"); err != nil || got.Status != kamflow.HandoverDoneWithRefusals {
			t.Errorf("read back: %+v, %v", got, err)
		}

		// Another handover naming kam-li, who no longer owns the account: recorded as a conflict,
		// nothing else changed.
		stale := kamflow.Handover{ID: "h-2", AccountID: "acc-1", From: "kam-li", To: "kam-wang", Reason: "late", By: "dir-zhao", At: at.Add(time.Hour)}
		rec, err = d.RecordHandover(ctx, stale)
		if err != nil || rec.Status != kamflow.HandoverConflict || rec.Message == "" || rec.Total != 0 || rec.FinishedAt == nil {
			t.Errorf("conflict: %+v, %v", rec, err)
		}
		if a, _ := d.Account(ctx, "acc-1"); a.Owner != "kam-zhou" {
			t.Errorf("owner after the conflict: %s", a.Owner)
		}
		if latest, err := d.LatestHandover(ctx, "acc-1"); err != nil || latest.ID != "h-2" {
			t.Errorf("latest: %+v, %v", latest, err)
		}
		stale.ID, stale.AccountID = "h-3", "acc-404"
		_, err = d.RecordHandover(ctx, stale)
		wantCode(t, err, kamflow.ENOTFOUND)
		_, err = d.RecordHandover(ctx, kamflow.Handover{ID: "h-4", AccountID: "acc-1", From: "kam-zhou", To: "kam-zhou", By: "dir-zhao", At: at})
		wantCode(t, err, kamflow.EINVALID)
		// No deals left to the previous owner: done at once, an empty list, not null.
		rec, err = d.RecordHandover(ctx, kamflow.Handover{ID: "h-5", AccountID: "acc-1", From: "kam-zhou", To: "kam-li", Reason: "back", By: "dir-zhao", At: at.Add(2 * time.Hour)})
		if err != nil || rec.Status != kamflow.HandoverDone || rec.Deals == nil || len(rec.Deals) != 0 || rec.FinishedAt == nil {
			t.Errorf("handing back: %+v, %v", rec, err)
		}
	})
}

// A deal won without a won transition (brought in already won) counts as won at its signing date.
func TestWonWithoutTransition(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		newAccount(t, d, "acc-1", "Baosteel", "kam-li", kamflow.AccountValue{})
		deal := newDeal(t, d, "deal-1", "acc-1", "kam-li", t0)
		deal.Status, deal.Seq, deal.Contract.SignedOn = kamflow.StatusWon, deal.Seq+1, "2024-11-05"
		project(t, d, deal, nil)
		bare := newDeal(t, d, "deal-2", "acc-1", "kam-li", t0.Add(time.Hour))
		bare.Status, bare.Seq = kamflow.StatusDelivered, bare.Seq+1
		project(t, d, bare, nil)
		hs, err := d.AccountHistories(ctx, []string{"acc-1"})
		if err != nil {
			t.Fatal(err)
		}
		won := hs["acc-1"].Won
		slices.SortFunc(won, func(a, b kamflow.WonDeal) int { return a.At.Compare(b.At) })
		if len(won) != 2 || won[0].DealID != "deal-1" || !won[0].At.Equal(time.Date(2024, 11, 5, 0, 0, 0, 0, time.UTC)) ||
			won[1].DealID != "deal-2" || !won[1].At.Equal(t0.Add(time.Hour)) {
			t.Errorf("won deals %+v", won)
		}
	})
}
