package db_test

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/db"
	"github.com/kamflow/kamflow/db/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

var (
	ctx = context.Background()
	t0  = time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC)
	// The deals of the tests belong to the account team "east" of these two, so that they may work
	// on every one of them (kamflow.Actor.Authorize).
	kam      = kamflow.Actor{ID: "kam-li", Role: kamflow.UserKAM, Teams: []string{"east"}}
	director = kamflow.Actor{ID: "dir-zhao", Role: kamflow.UserDirector, Teams: []string{"east"}}
	settings = kamflow.DefaultSettings()
)

// asJSON renders v for comparisons: times compare by instant, not by location or monotonic clock.
func asJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := kamflow.ErrorCode(err); got != code {
		t.Fatalf("error %v: code %q, want %q", err, got, code)
	}
}

func project(t *testing.T, d *db.DB, deal *kamflow.Deal, tr *kamflow.StageTransition) {
	t.Helper()
	if err := d.Project(ctx, kamflow.Projection{Deal: *deal, Transition: tr}); err != nil {
		t.Fatalf("project %s seq %d: %v", deal.ID, deal.Seq, err)
	}
}

// clone deep-copies a deal, so that a snapshot is not changed by later commands.
func clone(t *testing.T, deal *kamflow.Deal) *kamflow.Deal {
	t.Helper()
	var c kamflow.Deal
	if err := json.Unmarshal([]byte(asJSON(t, deal)), &c); err != nil {
		t.Fatal(err)
	}
	return &c
}

// newDeal opens a deal at time at and projects it.
func newDeal(t *testing.T, d *db.DB, id, account, owner string, at time.Time) *kamflow.Deal {
	t.Helper()
	deal, tr, err := kamflow.NewDeal(id, kamflow.NewDealInput{
		AccountID: account, Title: "DCS retrofit " + id, Value: 1_250_000_00, Currency: "CNY", Owner: owner,
		TeamID: "east",
	}, kam, at, settings)
	if err != nil {
		t.Fatal(err)
	}
	project(t, d, deal, tr)
	return deal
}

// apply applies cmd at time at and projects the result.
func apply(t *testing.T, d *db.DB, deal *kamflow.Deal, cmd kamflow.Command, at time.Time) *kamflow.StageTransition {
	t.Helper()
	// The store's tests seed deals as their workflows would have written them: the deal's rules
	// apply, who may give the command is the workflow's business (and its tests').
	fx, err := deal.ApplyRules(cmd, at, settings)
	if err != nil {
		t.Fatalf("%s on %s: %v", cmd.Kind, deal.ID, err)
	}
	project(t, d, deal, fx.Transition)
	return fx.Transition
}

func assess(grade kamflow.Grade) kamflow.Command {
	scores := map[kamflow.Factor]int{}
	for _, f := range kamflow.Factors {
		scores[f] = 4
	}
	return kamflow.Command{Kind: kamflow.CmdAssessment, Actor: kam, Assessment: &kamflow.AssessmentInput{
		Scores: scores, ExpectedClose: "2025-09-30", Likelihood: 80, Grade: grade,
	}}
}

func advance() kamflow.Command {
	return kamflow.Command{Kind: kamflow.CmdAdvance, Actor: kam}
}

func stakeholder(name string, role kamflow.Role) kamflow.Command {
	return kamflow.Command{Kind: kamflow.CmdStakeholder, Actor: kam, Stakeholder: &kamflow.Stakeholder{
		Name: name, Role: role, Stance: kamflow.StanceSupporter, Engaged: true, Influence: 4,
	}}
}

func migrationCount(t *testing.T, d *db.DB) int64 {
	t.Helper()
	var n int64
	if err := d.Gorm().Raw("SELECT count(*) FROM schema_migrations").Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

func TestMigrations(t *testing.T) {
	dbtest.EachURL(t, func(t *testing.T, url string) {
		d, err := db.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		n := migrationCount(t, d)
		if n == 0 {
			t.Fatal("no migration recorded")
		}
		acc := &kamflow.Account{ID: "acc-1", Name: "Baosteel", Owner: "kam-li", CreatedAt: t0, UpdatedAt: t0}
		if err := d.CreateAccount(ctx, acc); err != nil {
			t.Fatal(err)
		}
		d.Close()

		// Reopening a migrated database changes nothing.
		d = dbtest.Open(t, url)
		if got := migrationCount(t, d); got != n {
			t.Fatalf("after reopening: %d migrations recorded, want %d", got, n)
		}
		if _, err := d.Account(ctx, "acc-1"); err != nil {
			t.Fatalf("data lost on reopening: %v", err)
		}

		// A database migrated by a newer kamflow is refused.
		if err := d.Gorm().Exec("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
			9999, "from_the_future", t0).Error; err != nil {
			t.Fatal(err)
		}
		d.Close()
		d, err = db.Open(ctx, url)
		if err == nil {
			d.Close()
			t.Fatal("opened a database with a schema newer than the binary")
		}
		if !errors.Is(err, db.ErrSchemaTooNew) || !strings.Contains(err.Error(), "9999") {
			t.Fatalf("error %q, want ErrSchemaTooNew naming version 9999", err)
		}
	})
}

func TestConcurrentOpenMigratesOnce(t *testing.T) {
	dbtest.EachURL(t, func(t *testing.T, url string) {
		const n = 4
		var wg sync.WaitGroup
		errs := make([]error, n)
		dbs := make([]*db.DB, n)
		for i := range n {
			wg.Go(func() { dbs[i], errs[i] = db.Open(ctx, url) })
		}
		wg.Wait()
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("open %d: %v", i, errs[i])
			}
			defer dbs[i].Close()
		}
		var rows []struct {
			Version int64
			N       int64
		}
		if err := dbs[0].Gorm().Raw("SELECT version, count(*) AS n FROM schema_migrations GROUP BY version").Scan(&rows).Error; err != nil {
			t.Fatal(err)
		}
		if len(rows) == 0 {
			t.Fatal("no migration recorded")
		}
		for _, r := range rows {
			if r.N != 1 {
				t.Errorf("migration %d recorded %d times", r.Version, r.N)
			}
		}
	})
}

func TestOpenSQLiteForms(t *testing.T) {
	for name, url := range map[string]string{
		"memory":     "sqlite::memory:",
		"plain path": filepath.Join(t.TempDir(), "plain.db"),
		"subdir":     "sqlite:" + filepath.Join(t.TempDir(), "a", "b", "kamflow.db"),
	} {
		t.Run(name, func(t *testing.T) {
			d := dbtest.Open(t, url)
			if d.Dialect() != db.DialectSQLite {
				t.Fatalf("dialect %q", d.Dialect())
			}
			acc := &kamflow.Account{ID: "acc-1", Name: "Sinopec", Owner: "kam-li", CreatedAt: t0, UpdatedAt: t0}
			if err := d.CreateAccount(ctx, acc); err != nil {
				t.Fatal(err)
			}
			if _, err := d.Account(ctx, "acc-1"); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestOpenUnreachablePostgres(t *testing.T) {
	c, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err := db.Open(c, "postgres://kamflow:secret@127.0.0.1:1/kamflow?sslmode=disable")
	if err == nil {
		t.Fatal("opened a database at port 1")
	}
	if kamflow.ErrorCode(err) != kamflow.EINTERNAL || !strings.HasPrefix(err.Error(), "db: connect to postgres") {
		t.Fatalf("error %q", err)
	}
	if strings.Contains(err.Error(), "secret") {
		t.Fatalf("error %q shows the password", err)
	}
}

func TestProjectNeverRollsBack(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		deal := newDeal(t, d, "deal-1", "acc-1", "kam-li", t0)
		apply(t, d, deal, assess(kamflow.GradeA), t0.Add(time.Hour))
		seq2 := clone(t, deal)
		apply(t, d, deal, stakeholder("Zhang Wei", kamflow.RoleInsider), t0.Add(2*time.Hour))
		seq3 := clone(t, deal)
		if seq2.Seq != 2 || seq3.Seq != 3 {
			t.Fatalf("seqs %d, %d; want 2, 3", seq2.Seq, seq3.Seq)
		}

		// Seq 3 is stored; a late seq 2 and a retried seq 3 leave it so.
		project(t, d, seq2, nil)
		project(t, d, seq3, nil)
		got, err := d.Deal(ctx, "deal-1")
		if err != nil {
			t.Fatal(err)
		}
		if got.Seq != 3 || len(got.Stakeholders) != 1 {
			t.Fatalf("deal at seq %d with %d stakeholders, want seq 3 with 1", got.Seq, len(got.Stakeholders))
		}
		if asJSON(t, got) != asJSON(t, seq3) {
			t.Fatalf("deal read back differs:\n got %s\nwant %s", asJSON(t, got), asJSON(t, seq3))
		}

		// Out of order from the start: seq 3 first, then seq 2.
		other := clone(t, seq3)
		other.ID = "deal-2"
		older := clone(t, seq2)
		older.ID = "deal-2"
		older.Title = "stale title"
		project(t, d, other, nil)
		project(t, d, older, nil)
		got, err = d.Deal(ctx, "deal-2")
		if err != nil {
			t.Fatal(err)
		}
		if got.Seq != 3 || got.Title == "stale title" {
			t.Fatalf("deal-2 rolled back to seq %d %q", got.Seq, got.Title)
		}
		// The filter columns were not rolled back either.
		items, total, err := d.Deals(ctx, kamflow.DealFilter{Grade: kamflow.GradeA})
		if err != nil {
			t.Fatal(err)
		}
		if total != 2 || len(items) != 2 {
			t.Fatalf("grade A: %d deals (total %d), want 2", len(items), total)
		}
	})
}

func TestProjectConcurrentOutOfOrder(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		deal, created, err := kamflow.NewDeal("deal-c", kamflow.NewDealInput{
			AccountID: "acc-1", Title: "Boiler controls", Value: 300_000_00, Currency: "CNY", TeamID: "east",
		}, kam, t0, settings)
		if err != nil {
			t.Fatal(err)
		}
		ps := []kamflow.Projection{{Deal: *clone(t, deal), Transition: created}}
		for i := range 9 {
			cmd := stakeholder(fmt.Sprintf("Person %d", i), kamflow.RoleUser)
			if i == 8 {
				cmd = kamflow.Command{Kind: kamflow.CmdAdvance, Actor: director, Advance: &kamflow.AdvanceInput{Force: true, Reason: "tender announced"}}
			}
			fx, err := deal.Apply(cmd, t0.Add(time.Duration(i+1)*time.Minute), settings)
			if err != nil {
				t.Fatal(err)
			}
			ps = append(ps, kamflow.Projection{Deal: *clone(t, deal), Transition: fx.Transition})
		}
		// Every projection twice, newest first, from many goroutines at once.
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
		got, err := d.Deal(ctx, "deal-c")
		if err != nil {
			t.Fatal(err)
		}
		if got.Seq != deal.Seq || got.Stage != kamflow.Entry {
			t.Fatalf("deal at seq %d in %s, want seq %d in entry", got.Seq, got.Stage, deal.Seq)
		}
		hist, err := d.StageHistory(ctx, "deal-c")
		if err != nil {
			t.Fatal(err)
		}
		if len(hist) != 2 || hist[0].Kind != kamflow.TransitionCreated || hist[1].Kind != kamflow.TransitionForced {
			t.Fatalf("history %s, want created then forced", asJSON(t, hist))
		}
	})
}

func TestStageHistory(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		deal, created, err := kamflow.NewDeal("deal-h", kamflow.NewDealInput{
			AccountID: "acc-1", Title: "Flow meters", Value: 80_000_00, Currency: "CNY", TeamID: "east",
		}, kam, t0, settings)
		if err != nil {
			t.Fatal(err)
		}
		want := []kamflow.StageTransition{*created}
		// A retried write of the creation stores it once.
		project(t, d, deal, created)
		project(t, d, deal, created)

		forced := apply(t, d, deal, kamflow.Command{Kind: kamflow.CmdAdvance, Actor: director,
			Advance: &kamflow.AdvanceInput{Force: true, Reason: "customer's budget is approved"}}, t0.Add(24*time.Hour))
		want = append(want, *forced)
		closed := apply(t, d, deal, kamflow.Command{Kind: kamflow.CmdClose, Actor: kam,
			Close: &kamflow.CloseInput{Outcome: kamflow.StatusLost, Reason: "price", Competitor: "Yokogawa"}}, t0.Add(48*time.Hour))
		want = append(want, *closed)
		project(t, d, deal, closed) // retried

		got, err := d.StageHistory(ctx, "deal-h")
		if err != nil {
			t.Fatal(err)
		}
		if asJSON(t, got) != asJSON(t, want) {
			t.Fatalf("history:\n got %s\nwant %s", asJSON(t, got), asJSON(t, want))
		}
		if len(got[1].Missing) == 0 {
			t.Fatal("forced transition lost its missing gate items")
		}
		if got, err := d.StageHistory(ctx, "no-such-deal"); err != nil || len(got) != 0 {
			t.Fatalf("history of an unknown deal: %v, %v", got, err)
		}

		// A transition that names another deal is refused.
		err = d.Project(ctx, kamflow.Projection{Deal: *deal, Transition: &kamflow.StageTransition{DealID: "other", Seq: 99}})
		wantCode(t, err, kamflow.EINVALID)
	})
}

func TestDealNotFound(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		_, err := d.Deal(ctx, "no-such-deal")
		wantCode(t, err, kamflow.ENOTFOUND)
	})
}

// dealSet builds deals that differ in every filtered column, each updated at its own time.
func dealSet(t *testing.T, d *db.DB) []*kamflow.Deal {
	t.Helper()
	at := func(i int, min int) time.Time {
		return t0.Add(time.Duration(i)*time.Hour + time.Duration(min)*time.Minute)
	}
	var deals []*kamflow.Deal
	add := func(deal *kamflow.Deal) { deals = append(deals, deal) }

	add(newDeal(t, d, "d01", "acc-1", "kam-li", at(1, 0))) // development, open, ungraded

	d2 := newDeal(t, d, "d02", "acc-1", "kam-li", at(2, 0))
	apply(t, d, d2, assess(kamflow.GradeA), at(2, 5))
	add(d2)

	d3 := newDeal(t, d, "d03", "acc-2", "kam-wang", at(3, 0))
	apply(t, d, d3, assess(kamflow.GradeB), at(3, 5))
	apply(t, d, d3, advance(), at(3, 10))
	add(d3)

	d4 := newDeal(t, d, "d04", "acc-2", "kam-li", at(4, 0))
	apply(t, d, d4, assess(kamflow.GradeA), at(4, 5))
	apply(t, d, d4, advance(), at(4, 10))
	if !d4.MarkStalled(at(4, 10).Add(50 * kamflow.Day)) {
		t.Fatal("d04 did not stall")
	}
	project(t, d, d4, nil)
	add(d4)

	d5 := newDeal(t, d, "d05", "acc-1", "kam-wang", at(5, 0))
	if !d5.MarkStalled(at(5, 0).Add(31 * kamflow.Day)) {
		t.Fatal("d05 did not stall")
	}
	project(t, d, d5, nil)
	add(d5)

	d6 := newDeal(t, d, "d06", "acc-2", "kam-wang", at(6, 0))
	apply(t, d, d6, kamflow.Command{Kind: kamflow.CmdClose, Actor: kam,
		Close: &kamflow.CloseInput{Outcome: kamflow.StatusAbandoned, Reason: "no funding"}}, at(6, 5))
	add(d6)

	// Hand-made states that would take a long command history: a won deal that stalled in
	// delivery (active, so it counts), and a lost one that still says stalled (final, so not).
	d7 := clone(t, d5)
	d7.ID, d7.Stage, d7.Status = "d07", kamflow.Delivery, kamflow.StatusWon
	since := at(7, 0)
	d7.StalledSince, d7.UpdatedAt = &since, since
	project(t, d, d7, nil)
	add(d7)
	d8 := clone(t, d7)
	d8.ID, d8.Status = "d08", kamflow.StatusLost
	early := t0.Add(-time.Hour)
	d8.StalledSince = &early
	project(t, d, d8, nil)
	add(d8)
	return deals
}

// expect is the reference for Deals: the deals matching keep, newest update first.
func expect(deals []*kamflow.Deal, keep func(*kamflow.Deal) bool) []string {
	var sel []*kamflow.Deal
	for _, x := range deals {
		if keep(x) {
			sel = append(sel, x)
		}
	}
	slices.SortFunc(sel, func(a, b *kamflow.Deal) int {
		if c := b.UpdatedAt.Compare(a.UpdatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	ids := []string{}
	for _, x := range sel {
		ids = append(ids, x.ID)
	}
	return ids
}

func dealIDs(deals []*kamflow.Deal) []string {
	ids := []string{}
	for _, x := range deals {
		ids = append(ids, x.ID)
	}
	return ids
}

func TestDealsFilters(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		deals := dealSet(t, d)
		yes, no := true, false
		cases := []struct {
			name string
			f    kamflow.DealFilter
			keep func(*kamflow.Deal) bool
			want []string // a hand-checked answer, so the reference cannot be wrong alike
		}{
			{"all", kamflow.DealFilter{}, func(*kamflow.Deal) bool { return true }, nil},
			{"stage", kamflow.DealFilter{Stage: kamflow.Entry},
				func(x *kamflow.Deal) bool { return x.Stage == kamflow.Entry }, []string{"d04", "d03"}},
			{"status", kamflow.DealFilter{Status: kamflow.StatusAbandoned},
				func(x *kamflow.Deal) bool { return x.Status == kamflow.StatusAbandoned }, []string{"d06"}},
			{"owner", kamflow.DealFilter{Owner: "kam-wang"},
				func(x *kamflow.Deal) bool { return x.Owner == "kam-wang" }, nil},
			{"grade", kamflow.DealFilter{Grade: kamflow.GradeA},
				func(x *kamflow.Deal) bool { return x.Grade() == kamflow.GradeA }, []string{"d04", "d02"}},
			{"stalled", kamflow.DealFilter{Stalled: &yes},
				func(x *kamflow.Deal) bool { return x.Stalled }, nil},
			{"not stalled", kamflow.DealFilter{Stalled: &no},
				func(x *kamflow.Deal) bool { return !x.Stalled }, nil},
			{"account", kamflow.DealFilter{AccountID: "acc-2"},
				func(x *kamflow.Deal) bool { return x.AccountID == "acc-2" }, nil},
			{"combined", kamflow.DealFilter{AccountID: "acc-2", Owner: "kam-li", Stage: kamflow.Entry, Stalled: &yes},
				func(x *kamflow.Deal) bool {
					return x.AccountID == "acc-2" && x.Owner == "kam-li" && x.Stage == kamflow.Entry && x.Stalled
				}, []string{"d04"}},
			{"none", kamflow.DealFilter{Owner: "nobody"}, func(*kamflow.Deal) bool { return false }, []string{}},
		}
		for _, c := range cases {
			want := expect(deals, c.keep)
			if c.want != nil && !slices.Equal(want, c.want) {
				t.Fatalf("%s: the test's reference says %v, the hand-checked answer %v", c.name, want, c.want)
			}
			items, total, err := d.Deals(ctx, c.f)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			if got := dealIDs(items); !slices.Equal(got, want) || total != len(want) {
				t.Errorf("%s: got %v (total %d), want %v (total %d)", c.name, got, total, want, len(want))
			}
		}

		// Paging: a window of the same order, and the total of all.
		all := expect(deals, func(*kamflow.Deal) bool { return true })
		items, total, err := d.Deals(ctx, kamflow.DealFilter{Page: kamflow.Page{Limit: 3, Offset: 2}})
		if err != nil {
			t.Fatal(err)
		}
		if got := dealIDs(items); !slices.Equal(got, all[2:5]) || total != len(all) {
			t.Errorf("page: got %v (total %d), want %v (total %d)", got, total, all[2:5], len(all))
		}
		items, total, err = d.Deals(ctx, kamflow.DealFilter{Page: kamflow.Page{Limit: 3, Offset: 100}})
		if err != nil || len(items) != 0 || total != len(all) {
			t.Errorf("page past the end: %d items, total %d, %v", len(items), total, err)
		}

		// The read is the deal as projected.
		for _, x := range items {
			for _, y := range deals {
				if x.ID == y.ID && asJSON(t, x) != asJSON(t, y) {
					t.Errorf("%s read back differs", x.ID)
				}
			}
		}

		stalled, err := d.StalledDeals(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		// d07 stalled first (at(7,0), before the others' 31 and 50 days); d08 is lost.
		if got, want := dealIDs(stalled), []string{"d07", "d05", "d04"}; !slices.Equal(got, want) {
			t.Errorf("stalled deals %v, want %v", got, want)
		}

		ids, err := d.ActiveDealIDs(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"d01", "d02", "d03", "d04", "d05", "d07"}; !slices.Equal(ids, want) {
			t.Errorf("active deals %v, want %v", ids, want)
		}
		ids, err = d.ActiveDealIDs(ctx, kamflow.Entry)
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"d03", "d04"}; !slices.Equal(ids, want) {
			t.Errorf("active deals in entry %v, want %v", ids, want)
		}
	})
}

func TestDealsPageLimits(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		const n = db.DefaultLimit + 10
		for i := range n {
			newDeal(t, d, fmt.Sprintf("deal-%03d", i), "acc-1", "kam-li", t0.Add(time.Duration(i)*time.Minute))
		}
		items, total, err := d.Deals(ctx, kamflow.DealFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(items) != db.DefaultLimit || total != n {
			t.Fatalf("no limit: %d items, total %d; want %d of %d", len(items), total, db.DefaultLimit, n)
		}
		if items[0].ID != fmt.Sprintf("deal-%03d", n-1) {
			t.Fatalf("first %s, want the newest", items[0].ID)
		}
		items, _, err = d.Deals(ctx, kamflow.DealFilter{Page: kamflow.Page{Limit: 10 * db.MaxLimit, Offset: -5}})
		if err != nil {
			t.Fatal(err)
		}
		if len(items) != n {
			t.Fatalf("large limit: %d items, want all %d", len(items), n)
		}
	})
}

func TestAccounts(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		accounts := []*kamflow.Account{
			{ID: "acc-1", Name: "Baosteel Group", Industry: "steel", Region: "East", Owner: "kam-li", CreatedAt: t0, UpdatedAt: t0},
			{ID: "acc-2", Name: "Shougang STEEL", Industry: "steel", Region: "North", Owner: "kam-wang",
				Address: "Beijing", Notes: "new CEO", CreatedAt: t0.Add(time.Hour), UpdatedAt: t0.Add(time.Hour)},
			{ID: "acc-3", Name: "中国石化 镇海炼化", Industry: "petrochemical", Owner: "kam-li", CreatedAt: t0, UpdatedAt: t0},
			{ID: "acc-4", Name: "Zöllner Öl 100% GmbH", Owner: "kam-li", CreatedAt: t0, UpdatedAt: t0},
		}
		for _, a := range accounts {
			if err := d.CreateAccount(ctx, a); err != nil {
				t.Fatal(err)
			}
		}
		dup := *accounts[0]
		dup.Name = "Someone else"
		wantCode(t, d.CreateAccount(ctx, &dup), kamflow.ECONFLICT)

		got, err := d.Account(ctx, "acc-2")
		if err != nil {
			t.Fatal(err)
		}
		if asJSON(t, got) != asJSON(t, accounts[1]) {
			t.Fatalf("account read back:\n got %s\nwant %s", asJSON(t, got), asJSON(t, accounts[1]))
		}
		_, err = d.Account(ctx, "acc-404")
		wantCode(t, err, kamflow.ENOTFOUND)

		list := func(f kamflow.AccountFilter) ([]string, int) {
			t.Helper()
			items, total, err := d.Accounts(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			ids := []string{}
			for _, a := range items {
				ids = append(ids, a.ID)
			}
			return ids, total
		}
		for _, c := range []struct {
			f     kamflow.AccountFilter
			want  []string
			total int
		}{
			{kamflow.AccountFilter{}, []string{"acc-1", "acc-2", "acc-4", "acc-3"}, 4}, // by name
			{kamflow.AccountFilter{Owner: "kam-li"}, []string{"acc-1", "acc-4", "acc-3"}, 3},
			{kamflow.AccountFilter{Query: "steel"}, []string{"acc-1", "acc-2"}, 2},
			{kamflow.AccountFilter{Query: " STEEL ", Owner: "kam-wang"}, []string{"acc-2"}, 1},
			{kamflow.AccountFilter{Query: "石化"}, []string{"acc-3"}, 1},
			{kamflow.AccountFilter{Query: "ZÖLLNER ÖL"}, []string{"acc-4"}, 1}, // beyond ASCII
			{kamflow.AccountFilter{Query: "%"}, []string{"acc-4"}, 1},          // literal, not a wildcard
			{kamflow.AccountFilter{Query: "_"}, []string{}, 0},
			{kamflow.AccountFilter{Page: kamflow.Page{Limit: 2, Offset: 1}}, []string{"acc-2", "acc-4"}, 4},
		} {
			ids, total := list(c.f)
			if !slices.Equal(ids, c.want) || total != c.total {
				t.Errorf("%+v: got %v (total %d), want %v (total %d)", c.f, ids, total, c.want, c.total)
			}
		}

		upd := *accounts[0]
		upd.Name, upd.Notes, upd.UpdatedAt = "Baowu Steel Group", "merged", t0.Add(48*time.Hour)
		if err := d.UpdateAccount(ctx, &upd); err != nil {
			t.Fatal(err)
		}
		got, err = d.Account(ctx, "acc-1")
		if err != nil {
			t.Fatal(err)
		}
		if asJSON(t, got) != asJSON(t, &upd) {
			t.Fatalf("updated account:\n got %s\nwant %s", asJSON(t, got), asJSON(t, &upd))
		}
		if ids, _ := list(kamflow.AccountFilter{Query: "baowu"}); !slices.Equal(ids, []string{"acc-1"}) {
			t.Errorf("search by the new name: %v", ids)
		}
		missing := upd
		missing.ID = "acc-404"
		wantCode(t, d.UpdateAccount(ctx, &missing), kamflow.ENOTFOUND)
	})
}

func TestNotifications(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		n := func(user, key, msg string, min int) kamflow.Notification {
			return kamflow.Notification{UserID: user, DealID: "deal-1", Kind: "stalled", Key: key,
				Message: msg, CreatedAt: t0.Add(time.Duration(min) * time.Minute)}
		}
		if err := d.Notify(ctx, []kamflow.Notification{
			n("kam-li", "stalled:deal-1:3", "deal-1 stalled", 1),
			n("dir-zhao", "stalled:deal-1:3:director", "deal-1 stalled (director)", 2),
			n("kam-li", "", "no key", 3),
		}); err != nil {
			t.Fatal(err)
		}
		// A retried delivery: the keyed one is not stored again, a keyless one is.
		if err := d.Notify(ctx, []kamflow.Notification{
			n("kam-li", "stalled:deal-1:3", "deal-1 stalled (retry)", 4),
			n("kam-li", "", "no key", 5),
		}); err != nil {
			t.Fatal(err)
		}
		if err := d.Notify(ctx, nil); err != nil {
			t.Fatal(err)
		}
		got, err := d.Notifications(ctx, "kam-li", 0)
		if err != nil {
			t.Fatal(err)
		}
		var msgs []string
		for _, x := range got {
			msgs = append(msgs, x.Message)
			if x.ID == 0 || x.UserID != "kam-li" || x.DealID != "deal-1" || x.Kind != "stalled" || x.ReadAt != nil {
				t.Errorf("notification read back: %+v", x)
			}
		}
		if want := []string{"no key", "no key", "deal-1 stalled"}; !slices.Equal(msgs, want) {
			t.Fatalf("notifications %q, want %q (newest first)", msgs, want)
		}
		if !got[2].CreatedAt.Equal(t0.Add(time.Minute)) || got[2].Key != "stalled:deal-1:3" {
			t.Errorf("first notification: %+v", got[2])
		}
		if got, err := d.Notifications(ctx, "kam-li", 1); err != nil || len(got) != 1 || got[0].Message != "no key" {
			t.Errorf("limit 1: %+v, %v", got, err)
		}
		if got, err := d.Notifications(ctx, "dir-zhao", 10); err != nil || len(got) != 1 {
			t.Errorf("director's: %+v, %v", got, err)
		}
	})
}

func TestSettings(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s, err := d.Settings(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if asJSON(t, s) != asJSON(t, kamflow.DefaultSettings()) {
			t.Fatalf("fresh settings %s, want the defaults", asJSON(t, s))
		}
		s.SLA[kamflow.Bid] = kamflow.Duration(10 * kamflow.Day)
		s.MarginFloor = 18.5
		s.Assessment.Threshold = 65
		if err := d.SaveSettings(ctx, s); err != nil {
			t.Fatal(err)
		}
		got, err := d.Settings(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if asJSON(t, got) != asJSON(t, s) {
			t.Fatalf("saved settings:\n got %s\nwant %s", asJSON(t, got), asJSON(t, s))
		}
		bad := got
		bad.MarginFloor = 150
		wantCode(t, d.SaveSettings(ctx, bad), kamflow.EINVALID)
		if again, _ := d.Settings(ctx); again.MarginFloor != 18.5 {
			t.Fatalf("invalid settings were saved: margin floor %v", again.MarginFloor)
		}
		// Saving again replaces the row rather than adding one.
		got.MarginFloor = 12
		if err := d.SaveSettings(ctx, got); err != nil {
			t.Fatal(err)
		}
		if again, _ := d.Settings(ctx); again.MarginFloor != 12 {
			t.Fatalf("margin floor %v after the second save, want 12", again.MarginFloor)
		}
	})
}

func TestIdempotencyKeys(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		r, err := d.IdempotentResponse(ctx, "key-1")
		if r != nil || err != nil {
			t.Fatalf("unknown key: %+v, %v", r, err)
		}
		first := &kamflow.IdempotentResponse{Key: "key-1", Fingerprint: "POST /api/deals 3f2a", Status: 201,
			Body: []byte(`{"id":"deal-1"}` + "\x00\xff"), CreatedAt: t0}
		if err := d.SaveIdempotentResponse(ctx, first); err != nil {
			t.Fatal(err)
		}
		second := *first
		second.Status, second.Body = 500, []byte("other")
		if err := d.SaveIdempotentResponse(ctx, &second); err != nil {
			t.Fatalf("saving a known key again: %v", err)
		}
		r, err = d.IdempotentResponse(ctx, "key-1")
		if err != nil {
			t.Fatal(err)
		}
		if asJSON(t, r) != asJSON(t, first) {
			t.Fatalf("stored answer:\n got %s\nwant %s", asJSON(t, r), asJSON(t, first))
		}
		empty := &kamflow.IdempotentResponse{Key: "key-2", Fingerprint: "DELETE /x", Status: 204, CreatedAt: t0.Add(time.Hour)}
		if err := d.SaveIdempotentResponse(ctx, empty); err != nil {
			t.Fatal(err)
		}
		if r, err := d.IdempotentResponse(ctx, "key-2"); err != nil || asJSON(t, r) != asJSON(t, empty) {
			t.Fatalf("empty body: %+v, %v", r, err)
		}
		wantCode(t, d.SaveIdempotentResponse(ctx, &kamflow.IdempotentResponse{}), kamflow.EINVALID)

		n, err := d.PurgeIdempotentResponses(ctx, t0.Add(time.Minute))
		if err != nil || n != 1 {
			t.Fatalf("purge: %d, %v; want 1", n, err)
		}
		if r, _ := d.IdempotentResponse(ctx, "key-1"); r != nil {
			t.Fatal("purged key still there")
		}
	})
}

// A failure of the database is a plain error that names the operation, never a domain error:
// the API answers it with a generic 500.
func TestDriverErrorsAreWrapped(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		d.Close()
		_, err := d.Deal(ctx, "deal-1")
		if err == nil {
			t.Fatal("read from a closed database succeeded")
		}
		if kamflow.ErrorCode(err) != kamflow.EINTERNAL || !strings.HasPrefix(err.Error(), "db: read deal") {
			t.Fatalf("error %q (code %s)", err, kamflow.ErrorCode(err))
		}
	})
}

// seedDeals projects n deals spread over owners, accounts, account teams, stages, statuses,
// grades and stalls; every tenth deal has an engineer.
func seedDeals(tb testing.TB, d *db.DB, n int) {
	tb.Helper()
	base, _, err := kamflow.NewDeal("seed", kamflow.NewDealInput{
		AccountID: "acc", Title: "Compressor station", Value: 5_000_000_00, Currency: "CNY",
	}, kam, t0, settings)
	if err != nil {
		tb.Fatal(err)
	}
	grades := []kamflow.Grade{"", kamflow.GradeA, kamflow.GradeB, kamflow.GradeC, kamflow.GradeD}
	for i := range n {
		x := *base
		x.ID = fmt.Sprintf("deal-%05d", i)
		x.AccountID = fmt.Sprintf("acc-%03d", i%500)
		x.TeamID = fmt.Sprintf("team-%d", i%500%8) // the account's team
		x.Owner = fmt.Sprintf("kam-%02d", i%20)
		x.Stage = kamflow.Stages[i%len(kamflow.Stages)]
		x.Status = kamflow.Statuses[i%7%len(kamflow.Statuses)]
		if g := grades[i%len(grades)]; g != "" {
			x.Assessment = &kamflow.Assessment{Grade: g, ExpectedClose: "2025-12-31", Passed: true}
		}
		if i%13 == 0 {
			since := t0.Add(time.Duration(i) * time.Minute)
			x.Stalled, x.StalledSince = true, &since
		}
		if i%10 == 0 {
			x.Engineers = []string{fmt.Sprintf("eng-%d", i/10%7)}
		}
		x.UpdatedAt = t0.Add(time.Duration(i*7919%n) * time.Second)
		if err := d.Project(ctx, kamflow.Projection{Deal: x}); err != nil {
			tb.Fatal(err)
		}
	}
}

// benchViewers are the viewers of the benchmarks over seedDeals: about 1,250 deals per team, 500
// per owner, 140 per engineer.
var benchViewers = map[string]*kamflow.Actor{
	"kam":      {ID: "kam-07", Role: kamflow.UserKAM, Teams: []string{"team-3"}},
	"kam2":     {ID: "kam-07", Role: kamflow.UserKAM, Teams: []string{"team-3", "team-5"}},
	"director": {ID: "dir-1", Role: kamflow.UserDirector, Teams: []string{"team-1", "team-2"}},
	"engineer": {ID: "eng-3", Role: kamflow.UserEngineer},
	"idle":     {ID: "eng-99", Role: kamflow.UserEngineer}, // assigned to nothing
}

// BenchmarkDeals lists pages of 10,000 deals the ways the deal list filters them, and reports the
// 99th percentile of a list's time (target: p99 ≤ 50 ms).
func BenchmarkDeals(b *testing.B) {
	yes := true
	filters := []struct {
		name string
		f    kamflow.DealFilter
	}{
		{"all", kamflow.DealFilter{}},
		{"owner", kamflow.DealFilter{Owner: "kam-07"}},
		{"stage+status", kamflow.DealFilter{Stage: kamflow.Bid, Status: kamflow.StatusOpen}},
		{"grade", kamflow.DealFilter{Grade: kamflow.GradeA}},
		{"stalled", kamflow.DealFilter{Stalled: &yes}},
		{"account", kamflow.DealFilter{AccountID: "acc-042"}},
		{"page 20", kamflow.DealFilter{Page: kamflow.Page{Limit: 50, Offset: 1000}}},
		{"kam", kamflow.DealFilter{Viewer: benchViewers["kam"]}},
		{"kam 2 teams", kamflow.DealFilter{Viewer: benchViewers["kam2"]}},
		{"kam stage", kamflow.DealFilter{Viewer: benchViewers["kam"], Stage: kamflow.Bid}},
		{"kam page 10", kamflow.DealFilter{Viewer: benchViewers["kam"], Page: kamflow.Page{Limit: 50, Offset: 500}}},
		{"director", kamflow.DealFilter{Viewer: benchViewers["director"]}},
		{"director stalled", kamflow.DealFilter{Viewer: benchViewers["director"], Stalled: &yes}},
		{"engineer", kamflow.DealFilter{Viewer: benchViewers["engineer"]}},
		{"engineer idle", kamflow.DealFilter{Viewer: benchViewers["idle"]}},
	}
	for _, dialect := range []string{db.DialectSQLite, db.DialectPostgres} {
		b.Run(dialect, func(b *testing.B) {
			var d *db.DB
			if dialect == db.DialectSQLite {
				d = dbtest.SQLite(b)
			} else {
				d = dbtest.Postgres(b)
			}
			seedDeals(b, d, 10_000)
			if d.Dialect() == db.DialectPostgres {
				d.Gorm().Exec("ANALYZE")
			}
			for _, f := range filters {
				b.Run(f.name, func(b *testing.B) {
					var lat []time.Duration
					for b.Loop() {
						start := time.Now()
						if _, _, err := d.Deals(ctx, f.f); err != nil {
							b.Fatal(err)
						}
						lat = append(lat, time.Since(start))
					}
					reportP99(b, lat)
				})
			}
			for _, v := range []string{"", "kam", "director", "engineer"} {
				b.Run("stalled review "+cmp.Or(v, "all"), func(b *testing.B) {
					var lat []time.Duration
					for b.Loop() {
						start := time.Now()
						if _, err := d.StalledDeals(ctx, benchViewers[v]); err != nil {
							b.Fatal(err)
						}
						lat = append(lat, time.Since(start))
					}
					reportP99(b, lat)
				})
			}
		})
	}
}

func reportP99(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}
