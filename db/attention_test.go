package db_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/db"
	"github.com/kamflow/kamflow/db/dbtest"
)

// TestAttention lists the deals needing attention, the oldest first; recording one tells every
// enabled admin once per deal and sequence number, however often it is recorded; clearing one
// takes it off the list and says so on the deal's timeline, once.
func TestAttention(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		for _, u := range []*kamflow.User{
			{ID: "u1", Username: "admin", Name: "管理员", Role: kamflow.UserAdmin},
			{ID: "u2", Username: "Admin-Two", Role: kamflow.UserAdmin},
			{ID: "u3", Username: "admin-gone", Role: kamflow.UserAdmin, Disabled: true},
			{ID: "u4", Username: "dir-zhao", Role: kamflow.UserDirector, Teams: []string{"east"}},
		} {
			if err := d.CreateUser(ctx, u); err != nil {
				t.Fatal(err)
			}
		}
		if as, err := d.Attentions(ctx); err != nil || len(as) != 0 {
			t.Fatalf("nothing recorded: %v %v", as, err)
		}
		if n, err := d.CountAttentions(ctx); err != nil || n != 0 {
			t.Fatalf("count %d %v, want 0", n, err)
		}
		stored := newDeal(t, d, "d-stored", "acc-1", "kam-li", t0)

		// d-new failed on its very first change: no row in deals, the attention names it.
		first := kamflow.Attention{DealID: "d-new", Title: "Boiler feed pumps", Owner: "kam-li", Seq: 1, Pending: 1,
			Error: "invalid: the database refused change 1 of deal d-new: value too long", Reason: kamflow.AttentionRefused, Since: t0.Add(time.Hour)}
		if fresh, err := d.RecordNewAttention(ctx, first); err != nil || !fresh {
			t.Fatalf("record: %v %v, want a new failure", fresh, err)
		}
		// d-stored failed earlier, and says neither title nor owner: the projection's are shown.
		older := kamflow.Attention{DealID: stored.ID, Seq: 4, Pending: 2, Error: "db: connection refused", Reason: kamflow.AttentionExhausted, Since: t0}
		if err := d.RecordAttention(ctx, older); err != nil {
			t.Fatal(err)
		}
		as, err := d.Attentions(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := []kamflow.Attention{older, first}
		want[0].Title, want[0].Owner = stored.Title, stored.Owner
		if asJSON(t, as) != asJSON(t, want) {
			t.Fatalf("attentions\n%s\nwant\n%s", asJSON(t, as), asJSON(t, want))
		}
		if n, _ := d.CountAttentions(ctx); n != 2 {
			t.Errorf("count %d, want 2", n)
		}

		// Recorded again (a retried activity, a change more held, a failed retry): updated in
		// place, since its first failure, and nobody is told twice.
		again := first
		again.Pending, again.Attempts, again.Error, again.Title, again.Since = 3, 1, "invalid: still too long", "", t0.Add(5*time.Hour)
		if fresh, err := d.RecordNewAttention(ctx, again); err != nil || fresh {
			t.Fatalf("record again: %v %v, want the same failure", fresh, err)
		}
		as, _ = d.Attentions(ctx)
		if len(as) != 2 || as[1].Pending != 3 || as[1].Attempts != 1 || as[1].Error != "invalid: still too long" ||
			as[1].Title != "Boiler feed pumps" || !as[1].Since.Equal(first.Since) {
			t.Fatalf("updated attention %+v", as[1])
		}

		notices := func(user string) []kamflow.Notification {
			t.Helper()
			ns, err := d.Notifications(ctx, user, 0)
			if err != nil {
				t.Fatal(err)
			}
			return slices.DeleteFunc(ns, func(n kamflow.Notification) bool { return n.Kind != kamflow.NoticeAttention })
		}
		for _, u := range []string{"admin", "Admin-Two"} {
			ns := notices(u)
			if len(ns) != 2 {
				t.Fatalf("%s told %d times, want once per deal: %+v", u, len(ns), ns)
			}
			var keys []string
			for _, n := range ns {
				keys = append(keys, n.Key)
			}
			slices.Sort(keys)
			if wantKeys := []string{"attention:d-new:1:" + u, "attention:d-stored:4:" + u}; !slices.Equal(keys, wantKeys) {
				t.Errorf("%s's keys %q, want %q", u, keys, wantKeys)
			}
			for _, n := range ns {
				title := "Boiler feed pumps"
				if n.DealID == stored.ID {
					title = stored.Title
				}
				if !strings.Contains(n.Message, title) || !strings.Contains(n.Message, "needs attention") || !strings.Contains(n.Message, "需要处理") {
					t.Errorf("message %q does not name the deal %q", n.Message, title)
				}
			}
		}
		if ns := notices("admin"); !strings.Contains(ns[0].Message+ns[1].Message, "value too long") {
			t.Errorf("messages %q do not say the error", ns[0].Message+ns[1].Message)
		}
		for _, u := range []string{"admin-gone", "dir-zhao"} {
			if ns := notices(u); len(ns) != 0 {
				t.Errorf("%s told: %+v", u, ns)
			}
		}
		// A later change failing is a new failure: told again.
		next := again
		next.Seq = 2
		if fresh, err := d.RecordNewAttention(ctx, next); err != nil || !fresh {
			t.Fatalf("record seq 2: %v %v, want a new failure", fresh, err)
		}
		if ns := notices("admin"); len(ns) != 3 || ns[0].Key != "attention:d-new:2:admin" {
			t.Errorf("after seq 2: %+v", ns)
		}

		// Cleared: off the list, and on the deal's timeline once, however often it is cleared.
		at := t0.Add(6 * time.Hour)
		for range 2 {
			if err := d.ClearAttention(ctx, stored.ID, at); err != nil {
				t.Fatal(err)
			}
		}
		as, _ = d.Attentions(ctx)
		if len(as) != 1 || as[0].DealID != "d-new" {
			t.Fatalf("after the clear: %+v", as)
		}
		entries, _, err := d.Audit(ctx, kamflow.AuditFilter{DealID: stored.ID, Actor: "kamflow"})
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 1 || entries[0].Action != "deal.attention_cleared" || entries[0].EntityType != "deal" ||
			entries[0].EntityID != stored.ID || !entries[0].At.Equal(at) || !strings.Contains(entries[0].Summary, "no longer needs attention") {
			t.Fatalf("timeline entries %+v", entries)
		}
		if err := d.ClearAttention(ctx, "d-unknown", at); err != nil {
			t.Errorf("clearing a deal not listed: %v", err)
		}
		wantCode(t, d.RecordAttention(ctx, kamflow.Attention{Error: "x"}), kamflow.EINVALID)
	})
}

// TestProjectRefused: a change the database refuses (a trigger standing in for a constraint the
// data breaks) is invalid — no retry writes it — and holds up no other deal; once the cause is
// gone the same projection is written. A write that fails for want of the database is not
// invalid: a retry may succeed.
func TestProjectRefused(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ok := newDeal(t, d, "d-ok", "acc-1", "kam-li", t0)
		bad := newDeal(t, d, "d-bad", "acc-1", "kam-li", t0)
		g := d.Gorm()
		install, drop := map[string][]string{
			db.DialectSQLite: {`CREATE TRIGGER refuse_deal BEFORE UPDATE ON deals WHEN NEW.id = 'd-bad'
				BEGIN SELECT RAISE(ABORT, 'deal d-bad refused by the test'); END`},
			db.DialectPostgres: {`CREATE FUNCTION refuse_deal() RETURNS trigger LANGUAGE plpgsql AS $$
				BEGIN
					IF NEW.id = 'd-bad' THEN
						RAISE EXCEPTION 'deal d-bad refused by the test' USING ERRCODE = 'check_violation';
					END IF;
					RETURN NEW;
				END $$`,
				`CREATE TRIGGER refuse_deal BEFORE UPDATE ON deals FOR EACH ROW EXECUTE FUNCTION refuse_deal()`},
		}[d.Dialect()], map[string][]string{
			db.DialectSQLite:   {`DROP TRIGGER refuse_deal`},
			db.DialectPostgres: {`DROP TRIGGER refuse_deal ON deals`, `DROP FUNCTION refuse_deal()`},
		}[d.Dialect()]
		for _, q := range install {
			if err := g.Exec(q).Error; err != nil {
				t.Fatal(err)
			}
		}
		change := func(deal *kamflow.Deal) kamflow.Projection {
			c := clone(t, deal)
			c.Seq++
			c.Title += " (revised)"
			c.UpdatedAt = t0.Add(time.Hour)
			return kamflow.Projection{Deal: *c, Audit: &kamflow.AuditEntry{Actor: "kam-li", Action: "deal.change", Summary: "title revised"}}
		}
		err := d.Project(ctx, change(bad))
		wantCode(t, err, kamflow.EINVALID)
		if !strings.Contains(err.Error(), "refused by the test") || !strings.Contains(err.Error(), "d-bad") {
			t.Errorf("error %q does not say the cause", err)
		}
		// Nothing of the refused change is stored: neither the row nor its audit entry.
		if got, _ := d.Deal(ctx, bad.ID); got.Seq != bad.Seq {
			t.Errorf("refused change stored: seq %d", got.Seq)
		}
		entries, _, err := d.Audit(ctx, kamflow.AuditFilter{DealID: bad.ID})
		if err != nil {
			t.Fatal(err)
		}
		if slices.ContainsFunc(entries, func(e kamflow.AuditEntry) bool { return e.Summary == "title revised" }) {
			t.Errorf("refused change audited: %+v", entries)
		}
		// Another deal goes on.
		if err := d.Project(ctx, change(ok)); err != nil {
			t.Fatalf("another deal: %v", err)
		}
		for _, q := range drop {
			if err := g.Exec(q).Error; err != nil {
				t.Fatal(err)
			}
		}
		if err := d.Project(ctx, change(bad)); err != nil {
			t.Fatalf("after the cause is fixed: %v", err)
		}
		if got, _ := d.Deal(ctx, bad.ID); got.Seq != bad.Seq+1 || !strings.HasSuffix(got.Title, "(revised)") {
			t.Errorf("after the retry: %+v", got)
		}

		if d.Dialect() == db.DialectPostgres {
			// Text PostgreSQL cannot store (SQLSTATE 22021) is refused as well.
			p := change(ok)
			p.Deal.Seq += 5
			p.Deal.Title = "NUL \x00 in a title"
			wantCode(t, d.Project(ctx, p), kamflow.EINVALID)
		}

		// No database to write to: not refused.
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		err = d.Project(cctx, change(ok))
		if err == nil || kamflow.ErrorCode(err) != kamflow.EINTERNAL {
			t.Errorf("cancelled write: %v (code %q), want a plain error", err, kamflow.ErrorCode(err))
		}
		d.Close()
		err = d.Project(ctx, change(ok))
		if err == nil || kamflow.ErrorCode(err) != kamflow.EINTERNAL {
			t.Errorf("closed database: %v (code %q), want a plain error", err, kamflow.ErrorCode(err))
		}
	})
}
