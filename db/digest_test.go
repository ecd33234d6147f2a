package db_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/db"
	"github.com/kamflow/kamflow/db/dbtest"
)

// TestEnabledDirectors lists the enabled directors, with their teams, in username order regardless
// of case: not the disabled ones, not the other roles.
func TestEnabledDirectors(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		if dirs, err := d.EnabledDirectors(ctx); err != nil || len(dirs) != 0 {
			t.Fatalf("no users: %v %v", dirs, err)
		}
		for _, u := range []*kamflow.User{
			{ID: "u1", Username: "dir-zhou", Name: "周总", Role: kamflow.UserDirector, Teams: []string{"east"}},
			{ID: "u2", Username: "dir-qian", Role: kamflow.UserDirector, Teams: []string{"east"}, Disabled: true},
			{ID: "u3", Username: "Dir-Sun", Role: kamflow.UserDirector, Teams: []string{"west", "north"}},
			{ID: "u4", Username: "kam-li", Role: kamflow.UserKAM, Teams: []string{"east"}},
			{ID: "u5", Username: "dir-new", Role: kamflow.UserDirector}, // leads no team yet
			{ID: "u6", Username: "admin", Role: kamflow.UserAdmin},
		} {
			if err := d.CreateUser(ctx, u); err != nil {
				t.Fatal(err)
			}
		}
		dirs, err := d.EnabledDirectors(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, u := range dirs {
			got = append(got, u.Username+"="+strings.Join(u.Teams, "+"))
			if u.Role != kamflow.UserDirector || u.Disabled {
				t.Errorf("listed %+v", u)
			}
		}
		if want := []string{"dir-new=", "Dir-Sun=west+north", "dir-zhou=east"}; !slices.Equal(got, want) {
			t.Fatalf("directors %q, want %q", got, want)
		}
		if dirs[2].ID != "u1" || dirs[2].Name != "周总" {
			t.Errorf("user read back %+v", dirs[2])
		}
		// Directors of one team are the same users, filtered.
		if east, err := d.Directors(ctx, "east"); err != nil || len(east) != 1 || east[0].Username != "dir-zhou" {
			t.Errorf("directors of east: %v %v", east, err)
		}
	})
}

// TestDigestFromTheDatabase builds a director's digest from what the stores answer for the
// director, as the digest activity does: the stalled deals and the open deals of the approval
// stages of the director's teams, not another team's.
func TestDigestFromTheDatabase(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		stalled := newDeal(t, d, "deal-stalled", "acct-1", "kam-li", t0)
		since := t0.Add(30 * kamflow.Day)
		stalled.Stalled, stalled.StalledSince, stalled.Seq = true, &since, stalled.Seq+1
		project(t, d, stalled, nil)

		bid := newDeal(t, d, "deal-bid", "acct-1", "kam-li", t0)
		bid.Stage, bid.Seq, bid.UpdatedAt = kamflow.Bid, bid.Seq+1, t0.Add(2*kamflow.Day)
		bid.Bid = &kamflow.BidWork{Cost: 1_100_000_00, Price: 1_250_000_00, MarginPct: 12, Floor: 15}
		project(t, d, bid, nil)

		contract := newDeal(t, d, "deal-contract", "acct-1", "kam-li", t0)
		contract.Stage, contract.Seq, contract.UpdatedAt = kamflow.Negotiation, contract.Seq+1, t0.Add(kamflow.Day)
		project(t, d, contract, nil)

		west := newDeal(t, d, "deal-west", "acct-2", "kam-wu", t0)
		west.TeamID, west.Stage, west.Seq = "west", kamflow.Negotiation, west.Seq+1
		project(t, d, west, nil)

		dir := &kamflow.User{Username: "dir-zhao", Role: kamflow.UserDirector, Teams: []string{"east"}}
		viewer := dir.Actor()
		st, err := d.StalledDeals(ctx, &viewer)
		if err != nil {
			t.Fatal(err)
		}
		var candidates []*kamflow.Deal
		for _, stage := range kamflow.ApprovalStages {
			ds, _, err := d.Deals(ctx, kamflow.DealFilter{Viewer: &viewer, Stage: stage, Status: kamflow.StatusOpen,
				Page: kamflow.Page{Limit: 100}})
			if err != nil {
				t.Fatal(err)
			}
			candidates = append(candidates, ds...)
		}
		g, ok := kamflow.BuildDigest(dir, "2025-04-10", t0.Add(38*kamflow.Day+time.Hour), st, candidates, kamflow.Escalation{})
		if !ok || len(g.Stalled) != 1 || g.Stalled[0].DealID != "deal-stalled" || g.Stalled[0].DaysOverSLA != 8 {
			t.Fatalf("stalled of the digest %+v", g.Stalled)
		}
		if len(g.Approvals) != 2 || g.Approvals[0].DealID != "deal-contract" || g.Approvals[1].DealID != "deal-bid" ||
			g.Approvals[1].Kind != kamflow.ApprovalMargin || *g.Approvals[1].MarginPct != 12 {
			t.Fatalf("approvals of the digest %+v", g.Approvals)
		}
	})
}
