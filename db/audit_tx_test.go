package db_test

import (
	"context"
	"testing"
	"time"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/db"
	"github.com/kamflow/kamflow/db/dbtest"
)

// TestChangesAndTheirAuditEntriesTogether: an edit's audit entry is stored in the edit's
// transaction: a refused edit leaves no entry, an accepted one always has its entry.
func TestChangesAndTheirAuditEntriesTogether(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		at := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
		entry := func(action, id string) *kamflow.AuditEntry {
			return &kamflow.AuditEntry{At: at, Actor: "admin", Action: action, EntityType: "team", EntityID: id, Summary: action + " " + id}
		}
		count := func() int {
			_, n, err := d.Audit(ctx, kamflow.AuditFilter{EntityType: "team", Page: kamflow.Page{Limit: 1}})
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		if err := d.CreateTeam(ctx, &kamflow.Team{ID: "t1", Name: "East China Sales"}, entry("team.create", "t1")); err != nil {
			t.Fatal(err)
		}
		if n := count(); n != 1 {
			t.Fatalf("%d entries after a team was created, want 1", n)
		}
		// The same name again is refused: no entry for it.
		err := d.CreateTeam(ctx, &kamflow.Team{ID: "t2", Name: "east china sales"}, entry("team.create", "t2"))
		if kamflow.ErrorCode(err) != kamflow.ECONFLICT {
			t.Fatalf("second team of the name: %v", err)
		}
		if n := count(); n != 1 {
			t.Errorf("%d entries after a refused team, want still 1", n)
		}
		// Settings refused by validation leave no entry either.
		bad := kamflow.DefaultSettings()
		bad.MarginFloor = 150
		settingsEntry := &kamflow.AuditEntry{At: at, Actor: "admin", Action: "settings.sla", EntityType: "settings", EntityID: "bid", Summary: "x"}
		if err := d.SaveSettings(ctx, bad, settingsEntry); kamflow.ErrorCode(err) != kamflow.EINVALID {
			t.Fatalf("bad settings: %v", err)
		}
		if _, n, _ := d.Audit(ctx, kamflow.AuditFilter{EntityType: "settings", Page: kamflow.Page{Limit: 1}}); n != 0 {
			t.Errorf("%d settings entries after refused settings", n)
		}
		if err := d.SaveSettings(ctx, kamflow.DefaultSettings(), settingsEntry); err != nil {
			t.Fatal(err)
		}
		if _, n, _ := d.Audit(ctx, kamflow.AuditFilter{EntityType: "settings", Page: kamflow.Page{Limit: 1}}); n != 1 {
			t.Errorf("%d settings entries after saved settings, want 1", n)
		}
	})
}
