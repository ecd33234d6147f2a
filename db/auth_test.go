package db_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/db"
	"github.com/kamflow/kamflow/db/dbtest"
)

// normJSON renders v as generic JSON, so that a struct and the map it decodes to compare equal.
func normJSON(t *testing.T, v any) string {
	t.Helper()
	var g any
	if err := json.Unmarshal([]byte(asJSON(t, v)), &g); err != nil {
		t.Fatal(err)
	}
	return asJSON(t, g)
}

func TestUsers(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		if n, err := d.CountUsers(ctx); err != nil || n != 0 {
			t.Fatalf("fresh database: %d users, %v", n, err)
		}
		users := []*kamflow.User{
			{ID: "u1", Username: "carol", Name: "Carol Chen", Role: kamflow.UserKAM, Teams: []string{"east", "west"},
				PasswordHash: "$2a$10$carol", CreatedAt: t0, UpdatedAt: t0},
			{ID: "u2", Username: "Bob", Name: "Bob Bai", Role: kamflow.UserDirector, Teams: []string{"east"},
				PasswordHash: "$2a$10$bob", CreatedAt: t0.Add(time.Minute), UpdatedAt: t0.Add(time.Minute)},
			{ID: "u3", Username: "alice", Role: kamflow.UserAdmin, CreatedAt: t0, UpdatedAt: t0}, // no teams
			{ID: "u4", Username: "Ölaf.Ü", Role: kamflow.UserEngineer, Disabled: true, CreatedAt: t0, UpdatedAt: t0},
		}
		for _, u := range users {
			if err := d.CreateUser(ctx, u); err != nil {
				t.Fatal(err)
			}
		}
		// The username is taken in any case, by another id; so is the id.
		wantCode(t, d.CreateUser(ctx, &kamflow.User{ID: "u9", Username: "CAROL", Role: kamflow.UserKAM}), kamflow.ECONFLICT)
		wantCode(t, d.CreateUser(ctx, &kamflow.User{ID: "u9", Username: "bob", Role: kamflow.UserKAM}), kamflow.ECONFLICT)
		wantCode(t, d.CreateUser(ctx, &kamflow.User{ID: "u9", Username: "ölaf.ü", Role: kamflow.UserKAM}), kamflow.ECONFLICT)
		wantCode(t, d.CreateUser(ctx, &kamflow.User{ID: "u1", Username: "dave", Role: kamflow.UserKAM}), kamflow.ECONFLICT)
		wantCode(t, d.CreateUser(ctx, &kamflow.User{ID: "u9", Role: kamflow.UserKAM}), kamflow.EINVALID)

		same := func(got, want *kamflow.User) {
			t.Helper()
			if asJSON(t, got) != asJSON(t, want) || got.PasswordHash != want.PasswordHash {
				t.Fatalf("user read back:\n got %s %q\nwant %s %q", asJSON(t, got), got.PasswordHash, asJSON(t, want), want.PasswordHash)
			}
		}
		for _, u := range users {
			got, err := d.User(ctx, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			same(got, u)
		}
		for name, want := range map[string]*kamflow.User{"CaRoL": users[0], "bob": users[1], "ÖLAF.ü": users[3]} {
			got, err := d.UserByUsername(ctx, name)
			if err != nil {
				t.Fatalf("by username %q: %v", name, err)
			}
			same(got, want)
		}
		_, err := d.User(ctx, "u404")
		wantCode(t, err, kamflow.ENOTFOUND)
		_, err = d.UserByUsername(ctx, "mallory")
		wantCode(t, err, kamflow.ENOTFOUND)

		list, err := d.Users(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, u := range list {
			names = append(names, u.Username)
		}
		if want := []string{"alice", "Bob", "carol", "Ölaf.Ü"}; !slices.Equal(names, want) {
			t.Fatalf("users %v, want %v (by username, regardless of case)", names, want)
		}
		if n, err := d.CountUsers(ctx); err != nil || n != 4 {
			t.Fatalf("%d users, %v; want 4", n, err)
		}

		upd := *users[0]
		upd.Username, upd.Name, upd.Role, upd.Teams = "Carol", "Carol Chen-Li", kamflow.UserDirector, []string{"north"}
		upd.Disabled, upd.PasswordHash, upd.UpdatedAt = true, "$2a$10$new", t0.Add(time.Hour)
		if err := d.UpdateUser(ctx, &upd); err != nil {
			t.Fatalf("a change of case of one's own username: %v", err)
		}
		got, err := d.UserByUsername(ctx, "carol")
		if err != nil {
			t.Fatal(err)
		}
		same(got, &upd)
		upd.Teams = nil
		if err := d.UpdateUser(ctx, &upd); err != nil {
			t.Fatal(err)
		}
		if got, _ := d.User(ctx, "u1"); got.Teams != nil {
			t.Fatalf("teams %#v, want none", got.Teams)
		}

		taken := upd
		taken.Username = "BOB"
		wantCode(t, d.UpdateUser(ctx, &taken), kamflow.ECONFLICT)
		if got, _ := d.User(ctx, "u1"); got.Username != "Carol" {
			t.Fatalf("a conflicting update changed the username to %q", got.Username)
		}
		missing := upd
		missing.ID, missing.Username = "u404", "nobody"
		wantCode(t, d.UpdateUser(ctx, &missing), kamflow.ENOTFOUND)
	})
}

func TestTeams(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		for _, tm := range []*kamflow.Team{
			{ID: "t-west", Name: "West", CreatedAt: t0},
			{ID: "t-east", Name: "east", CreatedAt: t0.Add(time.Minute)},
			{ID: "t-north", Name: "North China", CreatedAt: t0},
		} {
			if err := d.CreateTeam(ctx, tm); err != nil {
				t.Fatal(err)
			}
		}
		wantCode(t, d.CreateTeam(ctx, &kamflow.Team{ID: "t-2", Name: "EAST"}), kamflow.ECONFLICT)
		wantCode(t, d.CreateTeam(ctx, &kamflow.Team{ID: "t-west", Name: "Far west"}), kamflow.ECONFLICT)
		wantCode(t, d.CreateTeam(ctx, &kamflow.Team{ID: "t-3"}), kamflow.EINVALID)
		teams, err := d.Teams(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := `[{"id":"t-east","name":"east","created_at":"2025-03-03T09:01:00Z"},` +
			`{"id":"t-north","name":"North China","created_at":"2025-03-03T09:00:00Z"},` +
			`{"id":"t-west","name":"West","created_at":"2025-03-03T09:00:00Z"}]`
		if got := asJSON(t, teams); got != want {
			t.Fatalf("teams:\n got %s\nwant %s", got, want)
		}
	})
}

func TestSessions(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		for _, id := range []string{"u1", "u2"} {
			if err := d.CreateUser(ctx, &kamflow.User{ID: id, Username: "user-" + id, Role: kamflow.UserKAM}); err != nil {
				t.Fatal(err)
			}
		}
		sess := func(id, hash, user string) *kamflow.Session {
			return &kamflow.Session{ID: id, TokenHash: hash, CSRFToken: "csrf-" + id, UserID: user,
				CreatedAt: t0, ExpiresAt: t0.Add(12 * time.Hour), Address: "10.0.0.7"}
		}
		s1, s2, s3 := sess("s1", "h1", "u1"), sess("s2", "h2", "u1"), sess("s3", "h3", "u2")
		for _, s := range []*kamflow.Session{s1, s2, s3} {
			if err := d.CreateSession(ctx, s); err != nil {
				t.Fatal(err)
			}
		}
		wantCode(t, d.CreateSession(ctx, sess("s4", "h1", "u1")), kamflow.ECONFLICT) // the token's hash
		wantCode(t, d.CreateSession(ctx, sess("s1", "h9", "u1")), kamflow.ECONFLICT)
		wantCode(t, d.CreateSession(ctx, sess("s5", "h5", "u404")), kamflow.ENOTFOUND)

		read := func(hash string) *kamflow.Session {
			t.Helper()
			got, err := d.SessionByTokenHash(ctx, hash)
			if err != nil {
				t.Fatal(err)
			}
			return got
		}
		// Session hides the hash and the CSRF token from JSON: compare them too.
		same := func(got, want *kamflow.Session) {
			t.Helper()
			if asJSON(t, got) != asJSON(t, want) || got.TokenHash != want.TokenHash || got.CSRFToken != want.CSRFToken {
				t.Fatalf("session read back:\n got %s %+v\nwant %s %+v", asJSON(t, got), got, asJSON(t, want), want)
			}
		}
		same(read("h1"), s1)
		_, err := d.SessionByTokenHash(ctx, "h404")
		wantCode(t, err, kamflow.ENOTFOUND)

		at := t0.Add(time.Hour)
		if err := d.RevokeSession(ctx, "s1", at); err != nil {
			t.Fatal(err)
		}
		if err := d.RevokeSession(ctx, "s1", at.Add(time.Hour)); err != nil {
			t.Fatalf("revoking again: %v", err)
		}
		s1.RevokedAt = &at
		same(read("h1"), s1) // revoked when first revoked
		wantCode(t, d.RevokeSession(ctx, "s404", at), kamflow.ENOTFOUND)

		all := t0.Add(2 * time.Hour)
		if err := d.RevokeUserSessions(ctx, "u1", all); err != nil {
			t.Fatal(err)
		}
		if got := read("h1"); !got.RevokedAt.Equal(at) {
			t.Fatalf("s1 revoked at %v, want still %v", got.RevokedAt, at)
		}
		if got := read("h2"); got.RevokedAt == nil || !got.RevokedAt.Equal(all) {
			t.Fatalf("s2 revoked at %v, want %v", got.RevokedAt, all)
		}
		if got := read("h3"); got.RevokedAt != nil {
			t.Fatal("another user's session was revoked")
		}
		if err := d.RevokeUserSessions(ctx, "u404", all); err != nil {
			t.Fatal(err)
		}

		// Purging: s1 and s2 were revoked before t0+3h; s3 is live until t0+12h.
		n, err := d.PurgeSessions(ctx, t0.Add(3*time.Hour))
		if err != nil || n != 2 {
			t.Fatalf("purged %d, %v; want 2", n, err)
		}
		same(read("h3"), s3)
		if n, err := d.PurgeSessions(ctx, t0.Add(13*time.Hour)); err != nil || n != 1 {
			t.Fatalf("purged %d expired, %v; want 1", n, err)
		}
	})
}

func TestLoginFailures(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		for _, f := range []struct {
			user, addr string
			min        int
		}{
			{"Kam1", "10.0.0.1", 0}, {"kam1", "10.0.0.1", 5}, {"KAM1", "10.0.0.2", 10},
			{"other", "10.0.0.1", 10}, {"kam1", "", 12}, {"kam10", "10.0.0.3", 12},
		} {
			if err := d.RecordLoginFailure(ctx, f.user, f.addr, t0.Add(time.Duration(f.min)*time.Minute)); err != nil {
				t.Fatal(err)
			}
		}
		for _, c := range []struct {
			user, addr  string
			since       int
			byUser, byA int
		}{
			{"kam1", "10.0.0.1", -1, 4, 3},
			{"kAm1", "10.0.0.1", 5, 3, 2}, // since is inclusive
			{"kam1", "10.0.0.1", 6, 2, 1},
			{"kam1", "10.0.0.2", 11, 1, 0},
			{"nobody", "10.9.9.9", -1, 0, 0},
			{"kam1", "", -1, 4, 0}, // no address counts none
			{"", "10.0.0.1", -1, 0, 3},
		} {
			u, a, err := d.LoginFailures(ctx, c.user, c.addr, t0.Add(time.Duration(c.since)*time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			if u != c.byUser || a != c.byA {
				t.Errorf("%q from %q since +%dm: %d by user, %d by address; want %d, %d", c.user, c.addr, c.since, u, a, c.byUser, c.byA)
			}
		}
		n, err := d.PurgeLoginFailures(ctx, t0.Add(10*time.Minute))
		if err != nil || n != 2 {
			t.Fatalf("purged %d, %v; want 2", n, err)
		}
		if u, _, _ := d.LoginFailures(ctx, "kam1", "", t0.Add(-time.Hour)); u != 2 {
			t.Fatalf("%d failures after the purge, want 2", u)
		}
	})
}

// auditActions lists the entries' actions, for comparisons.
func auditActions(es []kamflow.AuditEntry) []string {
	out := []string{}
	for _, e := range es {
		out = append(out, e.Action)
	}
	return out
}

func TestAudit(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		bid := &kamflow.BidWork{Cost: 800_000_00, Price: 1_000_000_00, MarginPct: 20, Floor: 15, Submitted: true,
			RecordedBy: "kam-li", RecordedAt: t0}
		entries := []*kamflow.AuditEntry{
			{At: t0, Actor: "kam-li", Action: "deal.create", EntityType: "deal", EntityID: "deal-1", DealID: "deal-1",
				Summary: "deal opened", After: map[string]any{"title": "DCS", "value": 125000000}, Key: "deal:deal-1:1"},
			{At: t0.Add(time.Minute), Actor: "kam-li", Action: "deal.bid", EntityType: "deal", EntityID: "deal-1", DealID: "deal-1",
				Summary: "bid", Before: (*kamflow.BidWork)(nil), After: bid, Key: "deal:deal-1:2"},
			{At: t0.Add(2 * time.Minute), Actor: "admin", Action: "user.create", EntityType: "user", EntityID: "u1",
				Summary: "user kam-li created", After: []string{"east"}},
			{At: t0.Add(3 * time.Minute), Actor: "kam-li", Action: "account.update", EntityType: "account", EntityID: "acc-1",
				Summary: "notes", Before: "old notes", After: "new notes"},
			{At: t0.Add(4 * time.Minute), Actor: "dir-zhao", Action: "deal.advance", EntityType: "deal", EntityID: "deal-2", DealID: "deal-2",
				Summary: "advanced", Before: map[string]any{"stage": "bid", "forced": false}, After: map[string]any{"stage": "negotiation", "forced": true},
				Key: "deal:deal-2:5"},
			{At: t0.Add(5 * time.Minute), Actor: "admin", Action: "user.update", EntityType: "user", EntityID: "u1", Summary: "disabled"},
		}
		for _, e := range entries {
			if err := d.AppendAudit(ctx, e); err != nil {
				t.Fatal(err)
			}
			if e.ID == 0 {
				t.Fatalf("%s: no id set", e.Action)
			}
		}
		// A retried keyed entry is not appended again, and gets the stored entry's id.
		retry := *entries[1]
		retry.ID, retry.Summary = 0, "bid (retried)"
		if err := d.AppendAudit(ctx, &retry); err != nil {
			t.Fatal(err)
		}
		if retry.ID != entries[1].ID {
			t.Fatalf("retried entry: id %d, want the stored %d", retry.ID, entries[1].ID)
		}
		// An entry without a key is appended every time; a zero At is now.
		again := &kamflow.AuditEntry{Actor: "admin", Action: "user.update", EntityType: "user", EntityID: "u1", Summary: "enabled"}
		before := time.Now().Add(-time.Second)
		if err := d.AppendAudit(ctx, again); err != nil {
			t.Fatal(err)
		}
		if again.At.Before(before) {
			t.Fatalf("zero At stored as %v", again.At)
		}
		wantCode(t, d.AppendAudit(ctx, &kamflow.AuditEntry{Actor: "x", EntityType: "deal"}), kamflow.EINVALID)
		wantCode(t, d.AppendAudit(ctx, nil), kamflow.EINVALID)

		list := func(f kamflow.AuditFilter) ([]kamflow.AuditEntry, int) {
			t.Helper()
			es, total, err := d.Audit(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			return es, total
		}
		all, total := list(kamflow.AuditFilter{})
		if want := []string{"user.update", "user.update", "deal.advance", "account.update", "user.create", "deal.bid", "deal.create"}; !slices.Equal(auditActions(all), want) || total != 7 {
			t.Fatalf("all: %v (total %d), want %v (newest first)", auditActions(all), total, want)
		}
		for _, c := range []struct {
			f     kamflow.AuditFilter
			want  []string
			total int
		}{
			{kamflow.AuditFilter{DealID: "deal-1"}, []string{"deal.bid", "deal.create"}, 2},
			{kamflow.AuditFilter{EntityType: "user", EntityID: "u1"}, []string{"user.update", "user.update", "user.create"}, 3},
			{kamflow.AuditFilter{EntityType: "account"}, []string{"account.update"}, 1},
			{kamflow.AuditFilter{Actor: "kam-li"}, []string{"account.update", "deal.bid", "deal.create"}, 3},
			{kamflow.AuditFilter{Actor: "kam-li", DealID: "deal-1"}, []string{"deal.bid", "deal.create"}, 2},
			{kamflow.AuditFilter{DealID: "deal-404"}, []string{}, 0},
			{kamflow.AuditFilter{Page: kamflow.Page{Limit: 2, Offset: 2}}, []string{"deal.advance", "account.update"}, 7},
			{kamflow.AuditFilter{Actor: "admin", Page: kamflow.Page{Limit: 1, Offset: 1}}, []string{"user.update"}, 3},
		} {
			es, total := list(c.f)
			if got := auditActions(es); !slices.Equal(got, c.want) || total != c.total {
				t.Errorf("%+v: %v (total %d), want %v (total %d)", c.f, got, total, c.want, c.total)
			}
		}

		// Everything reads back; before and after as generic JSON.
		byID := map[int64]kamflow.AuditEntry{}
		for _, e := range all {
			byID[e.ID] = e
		}
		for _, want := range entries {
			got := byID[want.ID]
			w := *want
			w.Before, w.After = nil, nil
			g := got
			g.Before, g.After = nil, nil
			if asJSON(t, g) != asJSON(t, w) || g.Key != w.Key {
				t.Errorf("entry read back:\n got %s %q\nwant %s %q", asJSON(t, g), g.Key, asJSON(t, w), w.Key)
			}
			for _, v := range []struct{ name, got, want string }{
				{"before", normJSON(t, got.Before), normJSON(t, want.Before)},
				{"after", normJSON(t, got.After), normJSON(t, want.After)},
			} {
				if v.got != v.want {
					t.Errorf("%s %s: got %s, want %s", want.Action, v.name, v.got, v.want)
				}
			}
		}
		if got := byID[entries[1].ID]; got.Before != nil {
			t.Errorf("a nil pointer before read back as %#v", got.Before)
		}
		if m, ok := byID[entries[1].ID].After.(map[string]any); !ok || m["margin_pct"] != 20.0 {
			t.Errorf("after of the bid: %#v, want a generic JSON object", byID[entries[1].ID].After)
		}
		if got := byID[entries[3].ID]; got.Before != "old notes" {
			t.Errorf("a string before read back as %#v", got.Before)
		}

		// The trail cannot be changed, not even by hand.
		if err := d.Gorm().Exec("UPDATE audit_log SET summary = 'forged'").Error; err == nil {
			t.Error("an audit entry was updated")
		}
		if err := d.Gorm().Exec("DELETE FROM audit_log WHERE id = ?", entries[0].ID).Error; err == nil {
			t.Error("an audit entry was deleted")
		}
		if _, total := list(kamflow.AuditFilter{}); total != 7 {
			t.Errorf("%d entries after the attempts to change them, want 7", total)
		}
	})
}

// projectAudited applies cmd and projects the deal with the command's audit entry.
func projectAudited(t *testing.T, d *db.DB, deal *kamflow.Deal, cmd kamflow.Command, at time.Time) kamflow.Projection {
	t.Helper()
	before := deal.Clone()
	fx, err := deal.Apply(cmd, at, settings)
	if err != nil {
		t.Fatalf("%s on %s: %v", cmd.Kind, deal.ID, err)
	}
	p := kamflow.Projection{Deal: *deal.Clone(), Transition: fx.Transition, Audit: kamflow.DealAudit(cmd, before, deal, at)}
	if err := d.Project(ctx, p); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestProjectWritesAudit(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		deal, created, err := kamflow.NewDeal("deal-a", kamflow.NewDealInput{
			AccountID: "acc-1", Title: "Boiler controls", Value: 300_000_00, Currency: "CNY", TeamID: "east",
		}, kam, t0, settings)
		if err != nil {
			t.Fatal(err)
		}
		p1 := kamflow.Projection{Deal: *deal.Clone(), Transition: created, Audit: kamflow.CreatedAudit(deal)}
		if err := d.Project(ctx, p1); err != nil {
			t.Fatal(err)
		}
		p2 := projectAudited(t, d, deal, assess(kamflow.GradeA), t0.Add(time.Hour))
		p3 := projectAudited(t, d, deal, stakeholder("Zhang Wei", kamflow.RoleInsider), t0.Add(2*time.Hour))

		// Retried, in and out of order: every entry once.
		for _, p := range []kamflow.Projection{p3, p2, p1, p3} {
			if err := d.Project(ctx, p); err != nil {
				t.Fatal(err)
			}
		}
		es, total, err := d.Audit(ctx, kamflow.AuditFilter{DealID: "deal-a"})
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"deal.stakeholder", "deal.assessment", "deal.create"}; !slices.Equal(auditActions(es), want) || total != 3 {
			t.Fatalf("audit of deal-a: %v (total %d), want %v", auditActions(es), total, want)
		}
		if es[0].Actor != kam.ID || es[0].EntityType != "deal" || es[0].EntityID != "deal-a" || es[0].Key != "deal:deal-a:3" {
			t.Fatalf("entry of seq 3: %+v", es[0])
		}

		projectAudited(t, d, deal, advance(), t0.Add(3*time.Hour))
		projectAudited(t, d, deal, kamflow.Command{Kind: kamflow.CmdPause, Actor: kam,
			Pause: &kamflow.PauseInput{Reason: "waiting for the budget", ResumeOn: "2025-04-01"}}, t0.Add(4*time.Hour))
		if _, total, _ := d.Audit(ctx, kamflow.AuditFilter{DealID: "deal-a"}); total != 5 {
			t.Fatalf("deal-a: %d entries, want 5", total)
		}

		// A projection that arrives after a later one (the seq guard skips its deal row) still
		// writes its entry. It travels as JSON, as an activity's input does, which drops the
		// entry's key: the store gives it the deal's key for the change.
		other, created2, err := kamflow.NewDeal("deal-b", kamflow.NewDealInput{
			AccountID: "acc-1", Title: "Flow meters", Value: 80_000_00, Currency: "CNY", TeamID: "east",
		}, kam, t0, settings)
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Project(ctx, kamflow.Projection{Deal: *other.Clone(), Transition: created2, Audit: kamflow.CreatedAudit(other)}); err != nil {
			t.Fatal(err)
		}
		before := other.Clone()
		cmd := assess(kamflow.GradeB)
		if _, err := other.Apply(cmd, t0.Add(time.Hour), settings); err != nil {
			t.Fatal(err)
		}
		late := kamflow.Projection{Deal: *other.Clone(), Audit: kamflow.DealAudit(cmd, before, other, t0.Add(time.Hour))}
		before = other.Clone()
		cmd = stakeholder("Li Na", kamflow.RoleDecisionMaker)
		if _, err := other.Apply(cmd, t0.Add(2*time.Hour), settings); err != nil {
			t.Fatal(err)
		}
		newer := kamflow.Projection{Deal: *other.Clone(), Audit: kamflow.DealAudit(cmd, before, other, t0.Add(2*time.Hour))}
		if err := d.Project(ctx, newer); err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(late)
		if err != nil {
			t.Fatal(err)
		}
		var travelled kamflow.Projection
		if err := json.Unmarshal(b, &travelled); err != nil {
			t.Fatal(err)
		}
		// An entry that arrives without its key (an older worker's, say) gets the store's default
		// deal:<id>:<seq>, which is the one the domain gives: it is still written once.
		travelled.Audit.Key = ""
		for range 2 {
			if err := d.Project(ctx, travelled); err != nil {
				t.Fatal(err)
			}
		}
		got, err := d.Deal(ctx, "deal-b")
		if err != nil {
			t.Fatal(err)
		}
		if got.Seq != 3 {
			t.Fatalf("deal-b rolled back to seq %d", got.Seq)
		}
		es, total, err = d.Audit(ctx, kamflow.AuditFilter{DealID: "deal-b"})
		if err != nil {
			t.Fatal(err)
		}
		// Newest appended first: the late seq-2 entry was appended last.
		if want := []string{"deal.assessment", "deal.stakeholder", "deal.create"}; !slices.Equal(auditActions(es), want) || total != 3 {
			t.Fatalf("audit of deal-b: %v (total %d), want %v", auditActions(es), total, want)
		}
		if es[0].Key != "deal:deal-b:2" || es[0].After == nil || normJSON(t, es[0].After) != normJSON(t, late.Audit.After) {
			t.Fatalf("late entry: %+v", es[0])
		}

		// An entry that does not say what it is about is about the projected deal: the projection
		// must not fail for good.
		next := other.Clone()
		next.Seq++
		bare := kamflow.Projection{Deal: *next, Audit: &kamflow.AuditEntry{Actor: "kamflow", Summary: "?"}}
		if err := d.Project(ctx, bare); err != nil {
			t.Fatal(err)
		}
		es, _, err = d.Audit(ctx, kamflow.AuditFilter{EntityType: "deal", EntityID: "deal-b", Page: kamflow.Page{Limit: 1}})
		if err != nil || len(es) != 1 || es[0].Action != "deal.change" || es[0].DealID != "deal-b" || es[0].Key != "deal:deal-b:4" {
			t.Fatalf("bare entry: %+v, %v", es, err)
		}

		// An entry that names another deal is refused, and so is the whole projection.
		bad := p3
		bad.Audit = &kamflow.AuditEntry{Actor: "x", Action: "deal.x", EntityType: "deal", DealID: "deal-b"}
		wantCode(t, d.Project(ctx, bad), kamflow.EINVALID)
	})
}

// world is the small organisation of the visibility tests: team east (KAMs kam1 and kam2,
// director d1), team west (KAM kam3, director d2), engineer e1 on one east deal, an admin.
var world = map[string]*kamflow.Actor{
	"kam1":   {ID: "kam1", Role: kamflow.UserKAM, Teams: []string{"east"}},
	"kam2":   {ID: "kam2", Role: kamflow.UserKAM, Teams: []string{"east", ""}},
	"kam3":   {ID: "kam3", Role: kamflow.UserKAM, Teams: []string{"west"}},
	"kam4":   {ID: "kam4", Role: kamflow.UserKAM}, // in no team, owns nothing
	"d1":     {ID: "d1", Role: kamflow.UserDirector, Teams: []string{"east"}},
	"d2":     {ID: "d2", Role: kamflow.UserDirector, Teams: []string{"west", "west"}},
	"d3":     {ID: "d3", Role: kamflow.UserDirector}, // leads no team
	"e1":     {ID: "e1", Role: kamflow.UserEngineer, Teams: []string{"east"}},
	"e2":     {ID: "e2", Role: kamflow.UserEngineer, Teams: []string{"east"}},
	"admin":  {ID: "admin", Role: kamflow.UserAdmin, Teams: []string{"east"}},
	"system": {ID: "kamflow", Role: kamflow.UserSystem},
}

// buildWorld stores the world's accounts and deals.
func buildWorld(t *testing.T, d *db.DB) ([]*kamflow.Account, []*kamflow.Deal) {
	t.Helper()
	accounts := []*kamflow.Account{
		{ID: "acc-e1", Name: "East steel", Owner: "kam1", TeamID: "east"},
		{ID: "acc-e2", Name: "East power", Owner: "kam2", TeamID: "east"},
		{ID: "acc-w1", Name: "West chemicals", Owner: "kam3", TeamID: "west"},
		{ID: "acc-w2", Name: "West mining", Owner: "kam1", TeamID: "west"}, // kam1's, in the west team
		{ID: "acc-x", Name: "Lone cement", Owner: "kam1"},                  // in no team
		{ID: "acc-y", Name: "Orphan glass", Owner: "kam9"},
	}
	for i, a := range accounts {
		a.CreatedAt, a.UpdatedAt = t0.Add(time.Duration(i)*time.Minute), t0.Add(time.Duration(i)*time.Minute)
		if err := d.CreateAccount(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	var deals []*kamflow.Deal
	add := func(id, account, owner, team string, stalled bool, engineers ...string) {
		at := t0.Add(time.Duration(len(deals)) * time.Hour)
		deal, created, err := kamflow.NewDeal(id, kamflow.NewDealInput{
			AccountID: account, Title: "Project " + id, Value: 1_000_000_00, Currency: "CNY", Owner: owner, TeamID: team,
		}, *world["system"], at, settings)
		if err != nil {
			t.Fatal(err)
		}
		if len(engineers) > 0 {
			if _, err := deal.ApplyRules(kamflow.Command{Kind: kamflow.CmdAssignEngineers, Actor: *world["system"],
				Engineers: engineers}, at.Add(time.Minute), settings); err != nil {
				t.Fatal(err)
			}
		}
		if stalled && !deal.MarkStalled(at.Add(60*kamflow.Day)) {
			t.Fatalf("%s did not stall", id)
		}
		if err := d.Project(ctx, kamflow.Projection{Deal: *deal, Transition: created}); err != nil {
			t.Fatal(err)
		}
		deals = append(deals, deal)
	}
	add("de1", "acc-e1", "kam1", "east", true, "e1")
	add("de2", "acc-e2", "kam2", "east", false)
	add("dw1", "acc-w1", "kam3", "west", true)
	add("dw2", "acc-w2", "kam1", "west", false)
	add("dx", "acc-x", "kam1", "", true)
	add("dn", "acc-e2", "kam2", "", false)
	add("dy", "acc-y", "kam9", "", true, "e2")
	return accounts, deals
}

func TestVisibility(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		accounts, deals := buildWorld(t, d)
		all := []string{"dy", "dx", "dw1", "de1", "dn", "dw2", "de2"} // a stall updates a deal
		allAccounts := []string{"acc-e2", "acc-e1", "acc-x", "acc-y", "acc-w1", "acc-w2"}
		cases := []struct {
			viewer   string
			deals    []string // newest first
			stalled  []string // longest stalled first
			accounts []string // by name
		}{
			{"kam1", []string{"dx", "de1", "dw2", "de2"}, []string{"de1", "dx"}, []string{"acc-e2", "acc-e1", "acc-x", "acc-w2"}},
			{"kam2", []string{"de1", "dn", "de2"}, []string{"de1"}, []string{"acc-e2", "acc-e1"}},
			{"kam3", []string{"dw1", "dw2"}, []string{"dw1"}, []string{"acc-w1", "acc-w2"}},
			{"kam4", []string{}, []string{}, []string{}},
			{"d1", []string{"de1", "de2"}, []string{"de1"}, []string{"acc-e2", "acc-e1"}},
			{"d2", []string{"dw1", "dw2"}, []string{"dw1"}, []string{"acc-w1", "acc-w2"}},
			{"d3", []string{}, []string{}, []string{}},
			{"e1", []string{"de1"}, []string{"de1"}, []string{"acc-e1"}},
			{"e2", []string{"dy"}, []string{"dy"}, []string{"acc-y"}},
			{"admin", []string{}, []string{}, []string{}},
			{"system", all, []string{"de1", "dw1", "dx", "dy"}, allAccounts},
			{"", all, []string{"de1", "dw1", "dx", "dy"}, allAccounts}, // no viewer
		}
		for _, c := range cases {
			v := world[c.viewer]
			// The domain's rules are the reference; the hand-written answer guards the reference.
			if v != nil {
				if want := expect(deals, func(x *kamflow.Deal) bool { return v.CanSeeDeal(x) }); !slices.Equal(want, c.deals) {
					t.Fatalf("%s: CanSeeDeal says %v, the test %v", c.viewer, want, c.deals)
				}
				if v.Role != kamflow.UserEngineer {
					var want []string
					for _, a := range accounts {
						if v.CanSeeAccount(a) {
							want = append(want, a.ID)
						}
					}
					if !sameSet(want, c.accounts) {
						t.Fatalf("%s: CanSeeAccount says %v, the test %v", c.viewer, want, c.accounts)
					}
				}
			}
			items, total, err := d.Deals(ctx, kamflow.DealFilter{Viewer: v})
			if err != nil {
				t.Fatal(err)
			}
			if got := dealIDs(items); !slices.Equal(got, c.deals) || total != len(c.deals) {
				t.Errorf("%s sees deals %v (total %d), want %v", c.viewer, got, total, c.deals)
			}
			// A page: the total is still every visible deal.
			items, total, err = d.Deals(ctx, kamflow.DealFilter{Viewer: v, Page: kamflow.Page{Limit: 1, Offset: 1}})
			if err != nil {
				t.Fatal(err)
			}
			if want := c.deals[min(1, len(c.deals)):min(2, len(c.deals))]; !slices.Equal(dealIDs(items), want) || total != len(c.deals) {
				t.Errorf("%s, second page of one: %v (total %d), want %v (total %d)", c.viewer, dealIDs(items), total, want, len(c.deals))
			}
			stalled, err := d.StalledDeals(ctx, v)
			if err != nil {
				t.Fatal(err)
			}
			if got := dealIDs(stalled); !slices.Equal(got, c.stalled) {
				t.Errorf("%s sees stalled deals %v, want %v", c.viewer, got, c.stalled)
			}
			accs, total, err := d.Accounts(ctx, kamflow.AccountFilter{Viewer: v})
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, a := range accs {
				ids = append(ids, a.ID)
			}
			if !slices.Equal(nonNilIDs(ids), c.accounts) || total != len(c.accounts) {
				t.Errorf("%s sees accounts %v (total %d), want %v", c.viewer, ids, total, c.accounts)
			}
		}

		// The viewer combines with the other filters.
		yes := true
		items, total, err := d.Deals(ctx, kamflow.DealFilter{Viewer: world["kam1"], Stalled: &yes})
		if err != nil {
			t.Fatal(err)
		}
		if got := dealIDs(items); !slices.Equal(got, []string{"dx", "de1"}) || total != 2 {
			t.Errorf("kam1's stalled deals: %v (total %d)", got, total)
		}
		items, total, err = d.Deals(ctx, kamflow.DealFilter{Viewer: world["d1"], Owner: "kam2"})
		if err != nil {
			t.Fatal(err)
		}
		if got := dealIDs(items); !slices.Equal(got, []string{"de2"}) || total != 1 {
			t.Errorf("d1's deals of kam2: %v (total %d)", got, total)
		}
		accs, total, err := d.Accounts(ctx, kamflow.AccountFilter{Viewer: world["kam1"], Query: "west"})
		if err != nil {
			t.Fatal(err)
		}
		if len(accs) != 1 || accs[0].ID != "acc-w2" || total != 1 {
			t.Errorf("kam1's accounts named west: %+v (total %d)", accs, total)
		}
		accs, _, err = d.Accounts(ctx, kamflow.AccountFilter{Viewer: world["e1"], Owner: "kam1"})
		if err != nil || len(accs) != 1 {
			t.Errorf("e1's accounts of kam1: %+v, %v", accs, err)
		}
	})
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(nonNilIDs(a), nonNilIDs(b))
}

func nonNilIDs(ids []string) []string {
	if ids == nil {
		return []string{}
	}
	return ids
}

// The deal's engineers follow the deal row: replaced when it moves forward, never by a stale
// projection.
func TestDealEngineersFollowTheDeal(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		sys := world["system"]
		deal, created, err := kamflow.NewDeal("deal-e", kamflow.NewDealInput{
			AccountID: "acc-1", Title: "Turbine overhaul", Value: 9_000_000_00, Currency: "CNY", Owner: "kam1", TeamID: "east",
		}, *sys, t0, settings)
		if err != nil {
			t.Fatal(err)
		}
		project(t, d, deal, created)
		assign := func(at time.Duration, engineers ...string) *kamflow.Deal {
			t.Helper()
			apply(t, d, deal, kamflow.Command{Kind: kamflow.CmdAssignEngineers, Actor: *sys, Engineers: engineers}, t0.Add(at))
			return clone(t, deal)
		}
		sees := func(who string) bool {
			t.Helper()
			v := &kamflow.Actor{ID: who, Role: kamflow.UserEngineer}
			items, total, err := d.Deals(ctx, kamflow.DealFilter{Viewer: v})
			if err != nil {
				t.Fatal(err)
			}
			if len(items) != total {
				t.Fatalf("%s: %d deals, total %d", who, len(items), total)
			}
			return total == 1
		}
		first := assign(time.Hour, "e1", "e2")
		if !sees("e1") || !sees("e2") || sees("e3") {
			t.Fatal("after assigning e1 and e2")
		}
		assign(2*time.Hour, "e2", "e3")
		if sees("e1") || !sees("e2") || !sees("e3") {
			t.Fatal("after reassigning to e2 and e3")
		}
		project(t, d, first, nil) // late: changes nothing
		if sees("e1") || !sees("e2") || !sees("e3") {
			t.Fatal("a stale projection changed the engineers")
		}
		assign(3 * time.Hour)
		if sees("e1") || sees("e2") || sees("e3") {
			t.Fatal("after unassigning everyone")
		}
	})
}

// Migration 2 carries over what the initial schema holds: no team, no engineers, and the lists
// and the owner's visibility work on it.
func TestMigrationKeepsData(t *testing.T) {
	dbtest.EachURL(t, func(t *testing.T, url string) {
		old, err := db.OpenAt(ctx, url, 1)
		if err != nil {
			t.Fatal(err)
		}
		if n := migrationCount(t, old); n != 1 {
			t.Fatalf("%d migrations, want 1", n)
		}
		g := old.Gorm()
		if err := g.Exec(`INSERT INTO accounts (id, name, name_fold, owner, created_at, updated_at)
			VALUES ('acc-1', 'Baosteel', 'baosteel', 'kam1', ?, ?)`, t0, t0).Error; err != nil {
			t.Fatal(err)
		}
		deal, _, err := kamflow.NewDeal("deal-1", kamflow.NewDealInput{
			AccountID: "acc-1", Title: "DCS", Value: 100, Currency: "CNY", Owner: "kam1",
		}, kam, t0, settings)
		if err != nil {
			t.Fatal(err)
		}
		data := asJSON(t, deal)
		if err := g.Exec(`INSERT INTO deals (id, account_id, title, value, currency, owner, stage, status,
			win_probability, stage_entered_at, last_progress_at, seq, created_at, updated_at, data)
			VALUES ('deal-1', 'acc-1', 'DCS', 100, 'CNY', 'kam1', 'development', 'open', 10, ?, ?, 1, ?, ?, ?)`,
			t0, t0, t0, t0, data).Error; err != nil {
			t.Fatal(err)
		}
		old.Close()

		d := dbtest.Open(t, url)
		if n := migrationCount(t, d); n < 2 {
			t.Fatalf("%d migrations after reopening, want all", n)
		}
		acc, err := d.Account(ctx, "acc-1")
		if err != nil || acc.TeamID != "" || acc.Owner != "kam1" {
			t.Fatalf("account after the migration: %+v, %v", acc, err)
		}
		kam1 := &kamflow.Actor{ID: "kam1", Role: kamflow.UserKAM, Teams: []string{"east"}}
		items, total, err := d.Deals(ctx, kamflow.DealFilter{Viewer: kam1})
		if err != nil || total != 1 || items[0].ID != "deal-1" {
			t.Fatalf("kam1's deals after the migration: %v (total %d), %v", dealIDs(items), total, err)
		}
		if _, total, _ := d.Accounts(ctx, kamflow.AccountFilter{Viewer: kam1}); total != 1 {
			t.Fatalf("kam1's accounts after the migration: %d", total)
		}
		if _, total, _ := d.Deals(ctx, kamflow.DealFilter{Viewer: &kamflow.Actor{ID: "d1", Role: kamflow.UserDirector, Teams: []string{"east"}}}); total != 0 {
			t.Fatalf("a director sees %d deals of no team", total)
		}
		// The new tables work on the migrated database.
		if err := d.CreateUser(ctx, &kamflow.User{ID: "u1", Username: "kam1", Role: kamflow.UserKAM}); err != nil {
			t.Fatal(err)
		}
	})
}

// Account.TeamID is stored and changed.
func TestAccountTeam(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		a := &kamflow.Account{ID: "acc-1", Name: "Sinopec", Owner: "kam1", TeamID: "east", CreatedAt: t0, UpdatedAt: t0}
		if err := d.CreateAccount(ctx, a); err != nil {
			t.Fatal(err)
		}
		got, err := d.Account(ctx, "acc-1")
		if err != nil || got.TeamID != "east" {
			t.Fatalf("account %+v, %v", got, err)
		}
		a.TeamID, a.UpdatedAt = "west", t0.Add(time.Hour)
		if err := d.UpdateAccount(ctx, a); err != nil {
			t.Fatal(err)
		}
		got, err = d.Account(ctx, "acc-1")
		if err != nil || asJSON(t, got) != asJSON(t, a) {
			t.Fatalf("account %s, want %s (%v)", asJSON(t, got), asJSON(t, a), err)
		}
		for who, n := range map[string]int{"d1": 0, "d2": 1} {
			_, total, err := d.Accounts(ctx, kamflow.AccountFilter{Viewer: world[who]})
			if err != nil || total != n {
				t.Errorf("%s sees %d accounts, want %d (%v)", who, total, n, err)
			}
		}
	})
}

// Projections of one deal with their audit entries and engineers, each twice and all at once:
// every entry once, and the engineers of the newest.
func TestProjectAuditConcurrent(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		sys := *world["d1"] // a director of the deal's team: every command is a person's
		deal, created, err := kamflow.NewDeal("deal-c", kamflow.NewDealInput{
			AccountID: "acc-1", Title: "Boiler controls", Value: 300_000_00, Currency: "CNY", TeamID: "east",
		}, sys, t0, settings)
		if err != nil {
			t.Fatal(err)
		}
		ps := []kamflow.Projection{{Deal: *deal.Clone(), Transition: created, Audit: kamflow.CreatedAudit(deal)}}
		for i := range 9 {
			cmd := kamflow.Command{Kind: kamflow.CmdAssignEngineers, Actor: sys, Engineers: []string{fmt.Sprintf("e%d", i), "lead"}}
			if i%2 == 1 {
				cmd = stakeholder(fmt.Sprintf("Person %d", i), kamflow.RoleUser)
				cmd.Actor = sys
			}
			before := deal.Clone()
			at := t0.Add(time.Duration(i+1) * time.Minute)
			fx, err := deal.Apply(cmd, at, settings)
			if err != nil {
				t.Fatal(err)
			}
			ps = append(ps, kamflow.Projection{Deal: *deal.Clone(), Transition: fx.Transition, Audit: kamflow.DealAudit(cmd, before, deal, at)})
		}
		var wg sync.WaitGroup
		errs := make(chan error, 2*len(ps))
		for _, p := range slices.Concat(ps, ps) {
			wg.Go(func() { errs <- d.Project(ctx, p) })
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		es, total, err := d.Audit(ctx, kamflow.AuditFilter{DealID: "deal-c"})
		if err != nil {
			t.Fatal(err)
		}
		if total != len(ps) || len(es) != len(ps) {
			t.Fatalf("%d audit entries, want %d", total, len(ps))
		}
		keys := map[string]bool{}
		for _, e := range es {
			keys[e.Key] = true
		}
		if len(keys) != len(ps) {
			t.Fatalf("audit keys %v, want %d distinct", keys, len(ps))
		}
		// The newest assignment (i = 8, seq 10) is e8 and lead.
		for who, want := range map[string]bool{"e8": true, "lead": true, "e6": false, "e0": false} {
			_, n, err := d.Deals(ctx, kamflow.DealFilter{Viewer: &kamflow.Actor{ID: who, Role: kamflow.UserEngineer}})
			if err != nil {
				t.Fatal(err)
			}
			if (n == 1) != want {
				t.Errorf("engineer %s sees %d deals, want it to see it: %v", who, n, want)
			}
		}
	})
}

// TestUsernamesCompareByPRECIS: usernames are the same when their PRECIS UsernameCaseMapped forms
// are: full-width letters and digits, case and Unicode normalisation make no new username, and a
// user signs in by any of those spellings. A look-alike of another script is another username
// (the API refuses it, kamflow.NormalizeUsername).
func TestUsernamesCompareByPRECIS(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		for _, u := range []*kamflow.User{
			{ID: "u1", Username: "kam1", Role: kamflow.UserKAM, CreatedAt: t0, UpdatedAt: t0},
			{ID: "u2", Username: "Ölaf", Role: kamflow.UserKAM, CreatedAt: t0, UpdatedAt: t0},
		} {
			if err := d.CreateUser(ctx, u); err != nil {
				t.Fatal(err)
			}
		}
		for _, taken := range []string{"ＫＡＭ１", "ｋａｍ１", "Kam1", "O\u0308LAF"} {
			wantCode(t, d.CreateUser(ctx, &kamflow.User{ID: "u9", Username: taken, Role: kamflow.UserKAM}), kamflow.ECONFLICT)
			u, err := d.UserByUsername(ctx, taken)
			if err != nil || (u.ID != "u1" && u.ID != "u2") {
				t.Errorf("UserByUsername(%q) = %v, %v", taken, u, err)
			}
		}
		u, err := d.User(ctx, "u2")
		if err != nil {
			t.Fatal(err)
		}
		u.Username = "ＫＡＭ１"
		wantCode(t, d.UpdateUser(ctx, u), kamflow.ECONFLICT)
		if _, err := d.UserByUsername(ctx, "kаm1"); kamflow.ErrorCode(err) != kamflow.ENOTFOUND { // Cyrillic а
			t.Errorf("a look-alike found a user: %v", err)
		}
	})
}
