package db_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/db"
	"github.com/kamflow/kamflow/db/dbtest"
)

func ptr[T any](v T) *T { return &v }

// atOnce runs the functions together (released at the same moment) and waits for them all.
func atOnce(fns ...func()) {
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	for _, f := range fns {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			ready.Done()
			<-start
			f()
		}()
	}
	ready.Wait()
	close(start)
	done.Wait()
}

// TestPatchAccount: an edit changes the fields it sends, on the account as stored, at the next
// version; edits of different fields made at once both stay; an edit against an old version is a
// conflict holding the account as it is; the owner is not a field of an edit.
func TestPatchAccount(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		a := newAccount(t, d, "acc-v", "Version Steel", "kam-li", kamflow.AccountValue{GrossProfit: yuan(1000)})
		if a.Version != 1 {
			t.Fatalf("created at version %d", a.Version)
		}
		var audits []string
		audit := func(before, after *kamflow.Account) *kamflow.AuditEntry {
			audits = append(audits, fmt.Sprintf("%d→%d", before.Version, after.Version))
			return &kamflow.AuditEntry{At: t0, Actor: after.UpdatedBy, Action: "account.update", EntityType: "account", EntityID: after.ID, Before: before, After: after}
		}
		got, err := d.PatchAccount(ctx, a.ID, kamflow.AccountInput{Region: ptr("Jiangsu"), Value: &kamflow.AccountValueInput{Satisfaction: ptr(4)}},
			kamflow.Edit{IfVersion: 1, By: "kam-wang", At: t0.Add(time.Hour)}, audit)
		if err != nil {
			t.Fatal(err)
		}
		stored, _ := d.Account(ctx, a.ID)
		if got.Version != 2 || got.UpdatedBy != "kam-wang" || got.Region != "Jiangsu" || got.Value.GrossProfit != yuan(1000) ||
			got.Value.Satisfaction != 4 || asJSON(t, stored) != asJSON(t, got) {
			t.Errorf("patched: %s; stored %s", asJSON(t, got), asJSON(t, stored))
		}
		if fmt.Sprint(audits) != "[1→2]" {
			t.Errorf("audits %v", audits)
		}
		_, err = d.PatchAccount(ctx, a.ID, kamflow.AccountInput{Region: ptr("Zhejiang")}, kamflow.Edit{IfVersion: 1, By: "kam-li", At: t0}, audit)
		wantCode(t, err, kamflow.ECONFLICT)
		if e := err.(*kamflow.Error); e.Details["version"] != int64(2) || e.Details["updated_by"] != "kam-wang" || e.Details["current"].(*kamflow.Account).Region != "Jiangsu" {
			t.Errorf("conflict details %v", e.Details)
		}
		_, err = d.PatchAccount(ctx, a.ID, kamflow.AccountInput{Owner: ptr("kam-wang")}, kamflow.Edit{By: "kam-li", At: t0}, audit)
		wantCode(t, err, kamflow.EINVALID)
		_, err = d.PatchAccount(ctx, "acc-none", kamflow.AccountInput{Region: ptr("x")}, kamflow.Edit{By: "kam-li", At: t0}, audit)
		wantCode(t, err, kamflow.ENOTFOUND)
		// Nothing changed: nothing written, the version stays.
		same, err := d.PatchAccount(ctx, a.ID, kamflow.AccountInput{Region: ptr(" Jiangsu ")}, kamflow.Edit{IfVersion: 2, By: "kam-li", At: t0}, audit)
		if err != nil || same.Version != 2 || same.UpdatedBy != "kam-wang" || len(audits) != 1 {
			t.Errorf("an edit that changes nothing: %v %v, audits %v", same, err, audits)
		}

		for i := range 10 {
			atOnce(
				func() {
					if _, err := d.PatchAccount(ctx, a.ID, kamflow.AccountInput{Industry: ptr(fmt.Sprint("steel ", i))}, kamflow.Edit{By: "kam-li", At: t0}, nil); err != nil {
						t.Error(err)
					}
				},
				func() {
					if _, err := d.PatchAccount(ctx, a.ID, kamflow.AccountInput{Profile: &kamflow.AccountProfileInput{Market: ptr(fmt.Sprint("market ", i))}},
						kamflow.Edit{By: "kam-wang", At: t0}, nil); err != nil {
						t.Error(err)
					}
				},
				func() {
					if _, err := d.RecordHandover(ctx, kamflow.Handover{ID: fmt.Sprint("h-", i), AccountID: a.ID, From: map[bool]string{true: "kam-li", false: "kam-wang"}[i%2 == 0],
						To: map[bool]string{true: "kam-wang", false: "kam-li"}[i%2 == 0], Reason: "round", By: director.ID, At: t0}); err != nil {
						t.Error(err)
					}
				})
			got, _ := d.Account(ctx, a.ID)
			if got.Industry != fmt.Sprint("steel ", i) || got.Profile.Market != fmt.Sprint("market ", i) ||
				got.Owner != map[bool]string{true: "kam-wang", false: "kam-li"}[i%2 == 0] {
				t.Errorf("round %d: industry %q, market %q, owner %q: a change was lost", i, got.Industry, got.Profile.Market, got.Owner)
			}
			if got.Version != int64(2+3*(i+1)) {
				t.Errorf("round %d: version %d, want %d", i, got.Version, 2+3*(i+1))
			}
		}
	})
}

// TestEditSettings: changes of the settings and the ladder made at once all stay; each moves the
// version on by one; a change against an old version is a conflict; a refused change saves
// nothing.
func TestEditSettings(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		v, err := d.VersionedSettings(ctx)
		if err != nil || v.Version != 1 || asJSON(t, v.Settings) != asJSON(t, kamflow.DefaultSettings()) {
			t.Fatalf("fresh settings: %+v %v", v, err)
		}
		for i := range 8 {
			var fns []func()
			for j, st := range kamflow.Stages {
				fns = append(fns, func() {
					_, err := d.EditSettings(ctx, kamflow.Edit{By: "admin", At: t0}, func(s *kamflow.Settings, e *kamflow.Escalation) ([]*kamflow.AuditEntry, error) {
						s.SLA[st] = kamflow.Duration(time.Duration(i+j+1) * kamflow.Day)
						if e.Stages == nil {
							e.Stages = map[kamflow.Stage]kamflow.StageEscalation{}
						}
						e.Stages[st] = kamflow.StageEscalation{DirectorAfter: float64(2 + j)}
						return nil, nil
					})
					if err != nil {
						t.Error(err)
					}
				})
			}
			atOnce(fns...)
			got, _ := d.VersionedSettings(ctx)
			for j, st := range kamflow.Stages {
				if got.Settings.SLA[st] != kamflow.Duration(time.Duration(i+j+1)*kamflow.Day) || got.Escalation.Stages[st].DirectorAfter != float64(2+j) {
					t.Errorf("round %d: %s is %v / %v: a change was lost", i, st, got.Settings.SLA[st], got.Escalation.Stages[st])
				}
			}
		}
		got, _ := d.VersionedSettings(ctx)
		// Every change changed something: each moved the version on.
		if got.Version != int64(1+8*len(kamflow.Stages)) || got.UpdatedBy != "admin" {
			t.Errorf("version %d by %q after %d changes", got.Version, got.UpdatedBy, 8*len(kamflow.Stages))
		}
		_, err = d.EditSettings(ctx, kamflow.Edit{IfVersion: 3, By: "admin2", At: t0}, func(s *kamflow.Settings, _ *kamflow.Escalation) ([]*kamflow.AuditEntry, error) {
			s.MarginFloor = 10
			return nil, nil
		})
		wantCode(t, err, kamflow.ECONFLICT)
		_, err = d.EditSettings(ctx, kamflow.Edit{By: "admin2", At: t0}, func(s *kamflow.Settings, _ *kamflow.Escalation) ([]*kamflow.AuditEntry, error) {
			s.MarginFloor = 200
			return nil, nil
		})
		wantCode(t, err, kamflow.EINVALID)
		if after, _ := d.VersionedSettings(ctx); after.Version != got.Version || after.Settings.MarginFloor != 15 {
			t.Errorf("a refused change saved: %+v", after)
		}
		if s, _ := d.Settings(ctx); asJSON(t, s) != asJSON(t, got.Settings) {
			t.Errorf("Settings %s, VersionedSettings %s", asJSON(t, s), asJSON(t, got.Settings))
		}

		a, err := d.VersionedAccountSettings(ctx)
		if err != nil || a.Version != 1 {
			t.Fatalf("fresh key-account settings: %+v %v", a, err)
		}
		for i := range 5 {
			atOnce(
				func() {
					if _, err := d.EditAccountSettings(ctx, kamflow.Edit{By: "admin", At: t0}, func(s *kamflow.AccountSettings) (*kamflow.AuditEntry, error) {
						s.StrategicThreshold = float64(50 + i)
						return nil, nil
					}); err != nil {
						t.Error(err)
					}
				},
				func() {
					if _, err := d.EditAccountSettings(ctx, kamflow.Edit{By: "admin2", At: t0}, func(s *kamflow.AccountSettings) (*kamflow.AuditEntry, error) {
						s.StaleContactDays = 60 + i
						return nil, nil
					}); err != nil {
						t.Error(err)
					}
				})
			got, _ := d.VersionedAccountSettings(ctx)
			if got.StrategicThreshold != float64(50+i) || got.StaleContactDays != 60+i || got.Version != int64(1+2*(i+1)) {
				t.Errorf("round %d: %+v: a change was lost", i, got)
			}
		}
		_, err = d.EditAccountSettings(ctx, kamflow.Edit{IfVersion: 1, By: "admin", At: t0}, func(s *kamflow.AccountSettings) (*kamflow.AuditEntry, error) {
			s.DormantMonths = 6
			return nil, nil
		})
		wantCode(t, err, kamflow.ECONFLICT)
	})
}

// TestIdempotencyClaims: a key is claimed once; a claim is another request's until it is released
// or answered, and the same request's claim older than staleBefore is taken over; the first answer
// stays.
func TestIdempotencyClaims(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		claim := func(fp, token string, at time.Time) (*kamflow.IdempotentResponse, error) {
			return d.ClaimIdempotencyKey(ctx, &kamflow.IdempotentResponse{Key: "u:k1", Fingerprint: fp, Body: []byte(token), CreatedAt: at}, at.Add(-time.Minute))
		}
		if prev, err := claim("POST /a", "t1", t0); prev != nil || err != nil {
			t.Fatalf("first claim: %v %v", prev, err)
		}
		if prev, err := claim("POST /a", "t2", t0.Add(time.Second)); err != nil || prev == nil || prev.Status != 0 {
			t.Errorf("second claim: %+v %v, want the first's claim", prev, err)
		}
		if prev, err := claim("POST /b", "t2", t0.Add(time.Hour)); err != nil || prev == nil || prev.Fingerprint != "POST /a" {
			t.Errorf("another request's claim of the key: %+v %v", prev, err)
		}
		// Released by another's token: still there. By its own: gone.
		if err := d.ReleaseIdempotencyKey(ctx, "u:k1", []byte("t2")); err != nil {
			t.Fatal(err)
		}
		if prev, _ := claim("POST /a", "t3", t0.Add(time.Second)); prev == nil {
			t.Error("released by another token")
		}
		if err := d.ReleaseIdempotencyKey(ctx, "u:k1", []byte("t1")); err != nil {
			t.Fatal(err)
		}
		if prev, err := claim("POST /a", "t4", t0.Add(2*time.Second)); prev != nil || err != nil {
			t.Fatalf("claim after the release: %v %v", prev, err)
		}
		// A stale claim of the same request is taken over.
		if prev, err := claim("POST /a", "t5", t0.Add(time.Hour)); prev != nil || err != nil {
			t.Errorf("stale claim not taken over: %+v %v", prev, err)
		}
		if err := d.SaveIdempotentResponse(ctx, &kamflow.IdempotentResponse{Key: "u:k1", Fingerprint: "POST /a", Status: 201, Body: []byte(`{"id":1}`), CreatedAt: t0}); err != nil {
			t.Fatal(err)
		}
		if err := d.SaveIdempotentResponse(ctx, &kamflow.IdempotentResponse{Key: "u:k1", Fingerprint: "POST /a", Status: 200, Body: []byte(`{"id":2}`), CreatedAt: t0}); err != nil {
			t.Fatal(err)
		}
		if err := d.ReleaseIdempotencyKey(ctx, "u:k1", []byte("t5")); err != nil {
			t.Fatal(err)
		}
		prev, err := claim("POST /a", "t6", t0.Add(48*time.Hour))
		if err != nil || prev == nil || prev.Status != 201 || string(prev.Body) != `{"id":1}` {
			t.Errorf("after the answer: %+v %v, want the first answer", prev, err)
		}
		// Racing claims: one wins.
		won := 0
		var mu sync.Mutex
		var fns []func()
		for i := range 8 {
			fns = append(fns, func() {
				prev, err := d.ClaimIdempotencyKey(ctx, &kamflow.IdempotentResponse{Key: "u:race", Fingerprint: "POST /a", Body: []byte(fmt.Sprint("t", i)), CreatedAt: t0}, t0.Add(-time.Minute))
				if err != nil {
					t.Error(err)
				}
				if prev == nil {
					mu.Lock()
					won++
					mu.Unlock()
				}
			})
		}
		atOnce(fns...)
		if won != 1 {
			t.Errorf("%d racing claims won, want 1", won)
		}
	})
}
