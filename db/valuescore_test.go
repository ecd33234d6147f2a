package db_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/db"
	"github.com/kamflow/kamflow/db/dbtest"
)

// TestValueScoresAfterEdits: however accounts are edited — below the top, past it, and the top
// account falling back — every stored score is the one scoring all accounts afresh would give,
// although an edit that leaves the scale as it is scores its own account only.
func TestValueScoresAfterEdits(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		rng := rand.New(rand.NewPCG(7, 11))
		value := func() kamflow.AccountValue {
			gp := kamflow.Money(rng.IntN(50_000_000_00) + 1)
			return kamflow.AccountValue{GrossProfit: gp, SalesVolume: gp * kamflow.Money(rng.IntN(5)+2), MarketingCost: gp / 10,
				IndustryPosition: rng.IntN(5) + 1, CooperationYears: rng.IntN(12), Satisfaction: rng.IntN(5) + 1}
		}
		accounts := map[string]*kamflow.Account{}
		var ids []string
		for i := 0; i < 30; i++ {
			id := fmt.Sprintf("acct-%02d", i)
			accounts[id] = newAccount(t, d, id, "Account "+id, "kam1", value())
			ids = append(ids, id)
		}
		check := func(step string) {
			t.Helper()
			settings, err := d.AccountSettings(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var values []kamflow.AccountValue
			for _, id := range ids {
				values = append(values, accounts[id].Value)
			}
			scale := kamflow.ScaleOf(values)
			for _, id := range ids {
				want := kamflow.ScoreValue(accounts[id].Value, scale, settings)
				if score, seg := scoreOf(t, d, id); score != want.Score || seg != want.Segment {
					t.Fatalf("%s: %s scores %v %s, want %v %s", step, id, score, seg, want.Score, want.Segment)
				}
			}
		}
		check("created")
		edit := func(id string, v kamflow.AccountValue) {
			a := accounts[id]
			a.Value = v
			if err := d.UpdateAccount(ctx, a); err != nil {
				t.Fatal(err)
			}
		}
		for i := 0; i < 40; i++ {
			id := ids[rng.IntN(len(ids))]
			v := value()
			switch i % 5 {
			case 3: // past the top
				v.GrossProfit, v.SalesVolume = 90_000_000_00, 900_000_000_00
			case 4: // everyone's top falls back
				v.GrossProfit, v.SalesVolume = 1_00, 2_00
			}
			edit(id, v)
			check(fmt.Sprintf("edit %d of %s", i, id))
		}
	})
}

// BenchmarkAccountValueEdit: editing one account's value inputs among many, below the top, costs
// one account's scoring, not every account's (the figure is per edit; compare it with
// BenchmarkAccountValueEditMovingTheScale, which rescoring everything costs, in the same run).
func BenchmarkAccountValueEdit(b *testing.B) { benchValueEdit(b, false) }

// BenchmarkAccountValueEditMovingTheScale: each edit takes the top, so every score moves.
func BenchmarkAccountValueEditMovingTheScale(b *testing.B) { benchValueEdit(b, true) }

func benchValueEdit(b *testing.B, top bool) {
	d := dbtest.SQLite(b)
	const n = 5000 // created largest first, so that creating them does not move the scale each time
	for i := 0; i < n; i++ {
		a := &kamflow.Account{ID: fmt.Sprintf("acct-%05d", i), Name: fmt.Sprintf("Account %d", i), Owner: "kam1", TeamID: "east",
			Value:     kamflow.AccountValue{GrossProfit: kamflow.Money(1_000_00 + n - i), SalesVolume: kamflow.Money(5_000_00 + n - i), Satisfaction: 3},
			CreatedAt: t0, UpdatedAt: t0}
		if err := d.CreateAccount(ctx, a); err != nil {
			b.Fatal(err)
		}
	}
	a, err := d.Account(ctx, "acct-00042")
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		a.Value.Satisfaction = 1 + i%5
		if top {
			a.Value.GrossProfit = kamflow.Money(10_000_00 + i)
		}
		if err := d.UpdateAccount(ctx, a); err != nil {
			b.Fatal(err)
		}
	}
}
