package db_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/db"
	"github.com/kamflow/kamflow/db/dbtest"
)

func newImport(id, by, team string, at time.Time) *kamflow.Import {
	return &kamflow.Import{ID: id, Kind: kamflow.ImportAccounts, Status: kamflow.ImportPending, FileName: "客户.csv",
		Format: "csv", Encoding: "gb18030", Columns: []kamflow.ImportColumn{{Column: "客户名称", Field: "name"}, {Column: "创建时间"}},
		TeamID: team, CreatedBy: by, Total: 5, Processed: 2, Skipped: 1, Rejected: 1, CreatedAt: at, UpdatedAt: at}
}

func importAccount(id, name string, line int) kamflow.ImportedAccount {
	return kamflow.ImportedAccount{Line: line, Account: &kamflow.Account{ID: id, Name: name, Industry: "steel", Owner: "kam-li",
		TeamID: "east", CreatedAt: t0, UpdatedAt: t0}}
}

// plan creates imp with a file and plans it: rows and, pending, the accounts and contacts given.
func plan(t *testing.T, d *db.DB, imp *kamflow.Import, rows []kamflow.ImportRow, accounts []kamflow.ImportedAccount, contacts []kamflow.ImportedContact) {
	t.Helper()
	if err := d.CreateImport(ctx, imp, []byte("file")); err != nil {
		t.Fatal(err)
	}
	for _, a := range accounts {
		rows = append(rows, kamflow.ImportRow{Line: a.Line, Outcome: kamflow.OutcomePending, Record: []byte(asJSON(t, a.Account)), Cells: []string{a.Account.Name}})
	}
	for _, c := range contacts {
		rows = append(rows, kamflow.ImportRow{Line: c.Line, Outcome: kamflow.OutcomePending, Record: []byte(asJSON(t, c.Contact)), Cells: []string{c.Contact.Name}})
	}
	if err := d.PlanImport(ctx, imp.ID, imp.Progress(), kamflow.ImportRunning, rows, imp.CreatedAt); err != nil {
		t.Fatal(err)
	}
}

// TestImportStore: an import with its known rows, a batch of accounts committed with their audit
// entries and the counts in one go (an account that exists already is recorded as skipped), the
// rows read back by outcome, and the end of the run.
func TestImportStore(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		imp := newImport("imp-1", "kam-li", "east", t0)
		rows := []kamflow.ImportRow{
			{Line: 3, Outcome: kamflow.OutcomeRejected, Cells: []string{"=cmd", "x"}, Issues: []kamflow.ImportIssue{
				{Line: 3, Column: "客户名称", Field: "name", Code: kamflow.IssueFormula, Message: "formula"}}},
			{Line: 2, Outcome: kamflow.OutcomeSkipped, EntityID: "acc-old", Cells: []string{"dropped"}, Issues: []kamflow.ImportIssue{
				{Line: 2, Code: kamflow.IssueExists, Message: "exists"}}},
		}
		if err := d.CreateImport(ctx, imp, []byte("the file")); err != nil {
			t.Fatal(err)
		}
		wantCode(t, d.CreateImport(ctx, imp, nil), kamflow.ECONFLICT)
		got, err := d.Import(ctx, "imp-1")
		if err != nil {
			t.Fatal(err)
		}
		if asJSON(t, got) != asJSON(t, imp) {
			t.Errorf("read back %s\nwant %s", asJSON(t, got), asJSON(t, imp))
		}
		if file, err := d.ImportFile(ctx, "imp-1"); err != nil || string(file) != "the file" {
			t.Errorf("file %q %v", file, err)
		}
		_, err = d.Import(ctx, "nope")
		wantCode(t, err, kamflow.ENOTFOUND)

		// The plan: every row's fate, the rows to import pending with their records; once.
		batch := []kamflow.ImportedAccount{importAccount("acc-1", "华东石化", 4), importAccount("acc-2", "Old", 5), importAccount("acc-3", "北方重工", 6)}
		for _, a := range batch {
			rows = append(rows, kamflow.ImportRow{Line: a.Line, Outcome: kamflow.OutcomePending, Record: []byte(asJSON(t, a.Account)), Cells: []string{a.Account.Name}})
		}
		if err := d.PlanImport(ctx, "imp-1", imp.Progress(), kamflow.ImportRunning, rows, t0); err != nil {
			t.Fatal(err)
		}
		wantCode(t, d.PlanImport(ctx, "imp-1", imp.Progress(), kamflow.ImportRunning, rows, t0), kamflow.ECONFLICT)
		wantCode(t, d.PlanImport(ctx, "nope", imp.Progress(), kamflow.ImportRunning, rows, t0), kamflow.ENOTFOUND)
		pending, err := d.PendingImportRows(ctx, "imp-1", 4, 10)
		if err != nil || len(pending) != 2 || pending[0].Line != 5 || string(pending[0].Record) != asJSON(t, batch[1].Account) || pending[1].Cells[0] != "北方重工" {
			t.Errorf("pending after line 4: %+v %v", pending, err)
		}

		// acc-2 exists already: created meanwhile by another run.
		if err := d.CreateAccount(ctx, &kamflow.Account{ID: "acc-2", Name: "Old", Owner: "kam-li", TeamID: "east", CreatedAt: t0, UpdatedAt: t0}); err != nil {
			t.Fatal(err)
		}
		if err := d.ImportAccounts(ctx, "imp-1", batch, "kam-li", t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		got, _ = d.Import(ctx, "imp-1")
		if got.Status != kamflow.ImportRunning || got.Processed != 5 || got.Imported != 2 || got.Skipped != 2 || !got.UpdatedAt.Equal(t0.Add(time.Minute)) {
			t.Errorf("after the batch: %+v", got)
		}
		if pending, _ := d.PendingImportRows(ctx, "imp-1", 0, 10); len(pending) != 0 {
			t.Errorf("pending after the batch: %+v", pending)
		}
		a, err := d.Account(ctx, "acc-1")
		if err != nil || a.Name != "华东石化" || a.TeamID != "east" || a.Industry != "steel" {
			t.Errorf("imported account: %+v %v", a, err)
		}
		entries, _, err := d.Audit(ctx, kamflow.AuditFilter{EntityType: "account", EntityID: "acc-3"})
		if err != nil || len(entries) != 1 || entries[0].Summary != "account 北方重工 imported (import imp-1, line 6)" || entries[0].Actor != "kam-li" {
			t.Errorf("audit of acc-3: %+v %v", entries, err)
		}
		// A batch retried after it committed changes nothing: its rows are no longer pending.
		if err := d.ImportAccounts(ctx, "imp-1", batch[:1], "kam-li", t0.Add(2*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if entries, _, _ = d.Audit(ctx, kamflow.AuditFilter{EntityType: "account", EntityID: "acc-1"}); len(entries) != 1 {
			t.Errorf("acc-1 has %d audit entries after a retry, want 1", len(entries))
		}
		if again, _ := d.Import(ctx, "imp-1"); again.Processed != 5 || again.Imported != 2 || again.Skipped != 2 {
			t.Errorf("after a retried batch: %+v", again)
		}

		var lines []string
		collect := func(o kamflow.ImportOutcome) []string {
			lines = nil
			err := d.ImportRows(ctx, "imp-1", o, func(r kamflow.ImportRow) error {
				lines = append(lines, fmt.Sprintf("%d %s %s %q %s", r.Line, r.Outcome, r.EntityID, r.Cells, r.Reason()))
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			return lines
		}
		want := []string{
			`2 skipped acc-old [] exists`,
			`3 rejected  ["=cmd" "x"] 客户名称: formula`,
			`5 skipped acc-2 [] account Old was imported meanwhile (another run of the same file)`,
		}
		if got := collect(""); !slices.Equal(got, want) {
			t.Errorf("rows:\n%q\nwant\n%q", got, want)
		}
		if got := collect(kamflow.OutcomeRejected); !slices.Equal(got, want[1:2]) {
			t.Errorf("rejected rows: %q", got)
		}

		end := t0.Add(3 * time.Minute)
		if err := d.FinishImport(ctx, "imp-1", kamflow.ImportFailed, "the database went away", kamflow.ImportIssue{Code: kamflow.IssueStopped}, end); err != nil {
			t.Fatal(err)
		}
		got, _ = d.Import(ctx, "imp-1")
		if got.Status != kamflow.ImportFailed || got.Error != "the database went away" || got.FinishedAt == nil || !got.FinishedAt.Equal(end) {
			t.Errorf("finished: %+v", got)
		}
		_, err = d.ImportFile(ctx, "imp-1")
		wantCode(t, err, kamflow.ENOTFOUND) // dropped once the import is over
		wantCode(t, d.FinishImport(ctx, "nope", kamflow.ImportDone, "", kamflow.ImportIssue{}, end), kamflow.ENOTFOUND)

		keys, err := d.TeamAccounts(ctx, "east")
		slices.SortFunc(keys, func(a, b kamflow.AccountKey) int { return compare(a.ID, b.ID) })
		if err != nil || asJSON(t, keys) != `[{"ID":"acc-1","Name":"华东石化","Owner":"kam-li"},{"ID":"acc-2","Name":"Old","Owner":"kam-li"},{"ID":"acc-3","Name":"北方重工","Owner":"kam-li"}]` {
			t.Errorf("team accounts %s %v", asJSON(t, keys), err)
		}
	})
}

func compare(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// TestImportsVisibility: a user lists their own imports, a director also their teams', an admin
// all of them; newest first.
func TestImportsVisibility(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		for i, x := range []struct{ id, by, team string }{{"i1", "kam-li", "east"}, {"i2", "kam-wu", "east"}, {"i3", "kam-ma", "west"}, {"i4", "dir-zhao", "east"}} {
			if err := d.CreateImport(ctx, newImport(x.id, x.by, x.team, t0.Add(time.Duration(i)*time.Minute)), []byte("f")); err != nil {
				t.Fatal(err)
			}
		}
		for _, c := range []struct {
			viewer kamflow.Actor
			want   []string
		}{
			{kam, []string{"i1"}},
			{director, []string{"i4", "i2", "i1"}},
			{kamflow.Actor{ID: "dir-qian", Role: kamflow.UserDirector, Teams: []string{"west"}}, []string{"i3"}},
			{kamflow.Actor{ID: "root", Role: kamflow.UserAdmin}, []string{"i4", "i3", "i2", "i1"}},
			{kamflow.Actor{ID: "eng", Role: kamflow.UserEngineer, Teams: []string{"east"}}, nil},
		} {
			list, err := d.Imports(ctx, kamflow.ImportFilter{Viewer: &c.viewer})
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, imp := range list {
				ids = append(ids, imp.ID)
			}
			if !slices.Equal(ids, c.want) {
				t.Errorf("%s sees %v, want %v", c.viewer.ID, ids, c.want)
			}
		}
	})
}

// TestExports reads more than a chunk of accounts, in name order, only those the viewer may see;
// and the deals alike.
func TestExports(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		var batch []kamflow.ImportedAccount
		for i := range 1203 {
			ia := importAccount(fmt.Sprintf("a%05d", i), fmt.Sprintf("Account %05d", 1203-i), i+2)
			if i%2 == 1 {
				ia.Account.TeamID, ia.Account.Owner = "west", "kam-ma"
			}
			batch = append(batch, ia)
		}
		// Two accounts of one name: the order goes on by id.
		batch = append(batch, importAccount("b1", "account 00001", 2000), importAccount("b0", "Account 00001", 2001))
		plan(t, d, newImport("imp", "kam-li", "east", t0), nil, batch, nil)
		if err := d.ImportAccounts(ctx, "imp", batch, "kam-li", t0); err != nil {
			t.Fatal(err)
		}
		var names []string
		err := d.ExportAccounts(ctx, &kam, func(a *kamflow.Account) error {
			if a.TeamID != "east" {
				t.Fatalf("kam-li sees %+v", a)
			}
			names = append(names, a.Name+" "+a.ID)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(names) != 604 || names[0] != "Account 00001 a01202" || names[1] != "Account 00001 b0" || names[2] != "account 00001 b1" ||
			names[603] != "Account 01203 a00000" || !slices.IsSortedFunc(names[3:], func(a, b string) int { return compare(a, b) }) {
			t.Errorf("%d accounts: %q … %q", len(names), names[:4], names[len(names)-1])
		}
		n := 0
		if err := d.ExportAccounts(ctx, &kamflow.Actor{ID: "root", Role: kamflow.UserAdmin}, func(*kamflow.Account) error { n++; return nil }); err != nil || n != 0 {
			t.Errorf("an admin exports %d accounts (%v), want none", n, err)
		}

		for i := range 3 {
			newDeal(t, d, fmt.Sprintf("d%d", i), "a00000", "kam-li", t0)
		}
		west, tr, _ := kamflow.NewDeal("dw", kamflow.NewDealInput{AccountID: "a00001", Title: "West", Value: 1, Currency: "CNY", TeamID: "west"},
			kamflow.Actor{ID: "kam-ma"}, t0, settings)
		project(t, d, west, tr)
		var ids []string
		if err := d.ExportDeals(ctx, &director, func(x *kamflow.Deal) error { ids = append(ids, x.ID); return nil }); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ids, []string{"d0", "d1", "d2"}) {
			t.Errorf("director exports deals %v", ids)
		}
		deals, err := d.TeamDeals(ctx, "west")
		if err != nil || asJSON(t, deals) != `[{"ID":"dw","AccountID":"a00001","Title":"West"}]` {
			t.Errorf("west's deals %s %v", asJSON(t, deals), err)
		}
	})
}

// TestImportContactsStore: a batch of contacts with their audit entries under their accounts, a
// contact present already recorded as skipped; the team's contacts; the export of the contacts of
// the accounts a viewer may see, by account and name.
func TestImportContactsStore(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		accounts := []kamflow.ImportedAccount{importAccount("a1", "华东石化", 2), importAccount("a2", "北方重工", 3)}
		west := importAccount("w1", "West", 4)
		west.Account.TeamID, west.Account.Owner = "west", "kam-ma"
		plan(t, d, newImport("imp-a", "kam-li", "east", t0), nil, append(accounts, west), nil)
		if err := d.ImportAccounts(ctx, "imp-a", append(accounts, west), "kam-li", t0); err != nil {
			t.Fatal(err)
		}
		contact := func(id, account, name, phone string, line int) kamflow.ImportedContact {
			return kamflow.ImportedContact{Line: line, Contact: &kamflow.Contact{ID: id, AccountID: account, Name: name, Phone: phone,
				Role: kamflow.RoleInsider, Stance: kamflow.StanceSupporter, Influence: 4, Deals: []kamflow.ContactDeal{},
				CreatedBy: "kam-li", CreatedAt: t0, UpdatedAt: t0}}
		}
		first := []kamflow.ImportedContact{contact("c0", "a1", "王工", "1", 2)}
		plan(t, d, newImport("imp-0", "kam-li", "east", t0), nil, nil, first)
		if err := d.ImportContacts(ctx, "imp-0", first, "kam-li", t0); err != nil {
			t.Fatal(err)
		}
		batch := []kamflow.ImportedContact{contact("c0", "a1", "王工", "1", 5), contact("c2", "a2", "Zhao", "", 6),
			contact("c1", "a2", "alpha", "", 7), contact("c3", "w1", "West man", "", 8)}
		imp := newImport("imp", "kam-li", "east", t0)
		imp.Kind, imp.Total, imp.Processed, imp.Skipped, imp.Rejected = kamflow.ImportContacts, 8, 4, 0, 4
		plan(t, d, imp, nil, nil, batch)
		if err := d.ImportContacts(ctx, "imp", batch, "kam-li", t0); err != nil {
			t.Fatal(err)
		}
		if got, _ := d.Import(ctx, "imp"); got.Progress() != (kamflow.ImportProgress{Processed: 8, Imported: 3, Skipped: 1, Rejected: 4}) {
			t.Errorf("progress %+v", got.Progress())
		}
		c, err := d.Contact(ctx, "c2")
		if err != nil || c.Name != "Zhao" || c.Role != kamflow.RoleInsider || c.Stance != kamflow.StanceSupporter || c.Influence != 4 {
			t.Errorf("contact c2: %+v %v", c, err)
		}
		entries, _, _ := d.Audit(ctx, kamflow.AuditFilter{EntityType: "account", EntityID: "a2"})
		var summaries []string
		for _, e := range entries {
			summaries = append(summaries, e.Action+": "+e.Summary)
		}
		if want := []string{"contact.create: contact alpha added, imported (import imp, line 7)",
			"contact.create: contact Zhao added, imported (import imp, line 6)",
			"account.create: account 北方重工 imported (import imp-a, line 3)"}; !slices.Equal(summaries, want) {
			t.Errorf("audit of a2: %q", summaries)
		}
		keys, err := d.TeamContacts(ctx, "east")
		slices.SortFunc(keys, func(a, b kamflow.ContactKey) int { return compare(a.ID, b.ID) })
		if err != nil || asJSON(t, keys) != `[{"ID":"c0","AccountID":"a1","Name":"王工","Phone":"1","Email":""},{"ID":"c1","AccountID":"a2","Name":"alpha","Phone":"","Email":""},{"ID":"c2","AccountID":"a2","Name":"Zhao","Phone":"","Email":""}]` {
			t.Errorf("east's contacts %s %v", asJSON(t, keys), err)
		}
		var names []string
		if err := d.ExportContacts(ctx, &kam, func(c *kamflow.Contact) error { names = append(names, c.AccountID+"/"+c.Name); return nil }); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(names, []string{"a1/王工", "a2/alpha", "a2/Zhao"}) {
			t.Errorf("kam-li exports %v", names)
		}
	})
}

// TestImportDecision: an import awaiting a director keeps its held rows with their cells; a
// decision takes the import once (a second is a conflict), replaces its held rows and records who
// decided; the list filters by status.
func TestImportDecision(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		imp := newImport("imp-h", "kam-li", "east", t0)
		imp.Kind, imp.Total, imp.Processed, imp.Imported, imp.Skipped, imp.Rejected, imp.Held = kamflow.ImportDeals, 3, 1, 1, 0, 0, 2
		imp.Date1904 = true
		held := func(line int) kamflow.ImportRow {
			return kamflow.ImportRow{Line: line, Outcome: kamflow.OutcomeHeld, Cells: []string{"ACME", fmt.Sprint("Deal ", line), "bid"},
				Issues: []kamflow.ImportIssue{{Line: line, Code: kamflow.IssueNeedsApproval, Message: "waits"}}}
		}
		plan(t, d, imp, []kamflow.ImportRow{held(3), held(4)}, nil, nil)
		// Not awaiting yet: no decision.
		a := kamflow.ImportApproval{Decision: kamflow.ImportRejected, By: "dir-zhao", At: t0.Add(time.Hour), Reason: "not these"}
		wantCode(t, d.DecideImport(ctx, "imp-h", a, kamflow.ImportDone, kamflow.ImportProgress{}, nil, t0), kamflow.ECONFLICT)
		wantCode(t, d.DecideImport(ctx, "nope", a, kamflow.ImportDone, kamflow.ImportProgress{}, nil, t0), kamflow.ENOTFOUND)
		if err := d.FinishImport(ctx, "imp-h", kamflow.ImportAwaiting, "", kamflow.ImportIssue{}, t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		got, _ := d.Import(ctx, "imp-h")
		if got.Status != kamflow.ImportAwaiting || got.Held != 2 || got.FinishedAt != nil || !got.Date1904 || got.Approval != nil {
			t.Errorf("awaiting: %+v", got)
		}
		list, err := d.Imports(ctx, kamflow.ImportFilter{Viewer: &director, Status: kamflow.ImportAwaiting})
		if err != nil || len(list) != 1 || list[0].ID != "imp-h" {
			t.Errorf("awaiting list %v %v", list, err)
		}
		if list, _ := d.Imports(ctx, kamflow.ImportFilter{Viewer: &director, Status: kamflow.ImportDone}); len(list) != 0 {
			t.Errorf("done list %v", list)
		}
		var rows []string
		read := func() []string {
			rows = nil
			d.ImportRows(ctx, "imp-h", "", func(r kamflow.ImportRow) error {
				rows = append(rows, fmt.Sprintf("%d %s %q %s", r.Line, r.Outcome, r.Cells, r.Reason()))
				return nil
			})
			return rows
		}
		if got := read(); !slices.Equal(got, []string{`3 held ["ACME" "Deal 3" "bid"] waits`, `4 held ["ACME" "Deal 4" "bid"] waits`}) {
			t.Errorf("held rows %q", got)
		}
		// Rejected: the held rows become rejected rows, once.
		var rejected []kamflow.ImportRow
		for _, line := range []int{3, 4} {
			r := held(line)
			r.Outcome, r.Issues = kamflow.OutcomeRejected, []kamflow.ImportIssue{{Line: line, Code: kamflow.IssueNotApproved, Message: "not approved"}}
			rejected = append(rejected, r)
		}
		end := t0.Add(time.Hour)
		after := kamflow.ImportProgress{Processed: 3, Imported: 1, Rejected: 2}
		if err := d.DecideImport(ctx, "imp-h", a, kamflow.ImportDone, after, rejected, end); err != nil {
			t.Fatal(err)
		}
		wantCode(t, d.DecideImport(ctx, "imp-h", a, kamflow.ImportDone, after, rejected, end), kamflow.ECONFLICT)
		got, _ = d.Import(ctx, "imp-h")
		if got.Status != kamflow.ImportDone || got.Held != 0 || got.Rejected != 2 || got.Processed != 3 || got.FinishedAt == nil ||
			asJSON(t, got.Approval) != `{"decision":"rejected","by":"dir-zhao","at":"2025-03-03T10:00:00Z","reason":"not these"}` {
			t.Errorf("rejected: %+v %s", got, asJSON(t, got.Approval))
		}
		if got := read(); !slices.Equal(got, []string{`3 rejected ["ACME" "Deal 3" "bid"] not approved`, `4 rejected ["ACME" "Deal 4" "bid"] not approved`}) {
			t.Errorf("rejected rows %q", got)
		}
	})
}

// TestImportSettleAndFinish: deal rows settled elsewhere are counted once (a line settled again is
// left as it is); the rows still pending when a run is cancelled become not_imported with their
// cells; an approval leaves the held rows for the approved run's plan, which replaces them.
func TestImportSettleAndFinish(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		imp := newImport("imp-s", "kam-li", "east", t0)
		imp.Kind, imp.Total, imp.Processed, imp.Skipped, imp.Rejected = kamflow.ImportDeals, 5, 0, 0, 0
		var rows []kamflow.ImportRow
		for line := 2; line <= 6; line++ {
			rows = append(rows, kamflow.ImportRow{Line: line, Outcome: kamflow.OutcomePending, Record: []byte(`{}`), Cells: []string{fmt.Sprint("Deal ", line)}})
		}
		plan(t, d, imp, rows, nil, nil)
		refused := kamflow.ImportRow{Line: 3, Outcome: kamflow.OutcomeRejected, Cells: []string{"Deal 3"},
			Issues: []kamflow.ImportIssue{{Line: 3, Code: kamflow.IssueFailed, Message: "refused"}}}
		for range 2 { // the second time (a retried step) changes nothing
			if err := d.SettleImportRows(ctx, "imp-s", []int{2, 3}, []kamflow.ImportRow{refused}, t0); err != nil {
				t.Fatal(err)
			}
		}
		got, _ := d.Import(ctx, "imp-s")
		if got.Progress() != (kamflow.ImportProgress{Processed: 2, Imported: 1, Rejected: 1}) {
			t.Errorf("settled: %+v", got.Progress())
		}
		if err := d.FinishImport(ctx, "imp-s", kamflow.ImportCancelled, "", kamflow.ImportIssue{Code: kamflow.IssueCancelled, Message: "cancelled"}, t0); err != nil {
			t.Fatal(err)
		}
		got, _ = d.Import(ctx, "imp-s")
		if got.Status != kamflow.ImportCancelled || got.Progress() != (kamflow.ImportProgress{Processed: 5, Imported: 1, Rejected: 1, NotImported: 3}) || got.FinishedAt == nil {
			t.Errorf("cancelled: %s %+v", got.Status, got.Progress())
		}
		var out []string
		d.ImportRows(ctx, "imp-s", "", func(r kamflow.ImportRow) error {
			out = append(out, fmt.Sprintf("%d %s %q %s", r.Line, r.Outcome, r.Cells, r.Issues[0].Code))
			return nil
		})
		if want := []string{`3 rejected ["Deal 3"] failed`, `4 not_imported ["Deal 4"] cancelled`, `5 not_imported ["Deal 5"] cancelled`,
			`6 not_imported ["Deal 6"] cancelled`}; !slices.Equal(out, want) {
			t.Errorf("rows %q", out)
		}

		// Approved: pending again, the held rows kept; the plan of the approved run replaces them.
		h := newImport("imp-h", "kam-li", "east", t0)
		h.Kind, h.Total, h.Processed, h.Skipped, h.Rejected, h.Held = kamflow.ImportDeals, 1, 0, 0, 0, 1
		plan(t, d, h, []kamflow.ImportRow{{Line: 2, Outcome: kamflow.OutcomeHeld, Cells: []string{"Deal"}, Issues: []kamflow.ImportIssue{{Line: 2, Code: kamflow.IssueNeedsApproval}}}}, nil, nil)
		if err := d.FinishImport(ctx, "imp-h", kamflow.ImportAwaiting, "", kamflow.ImportIssue{}, t0); err != nil {
			t.Fatal(err)
		}
		a := kamflow.ImportApproval{Decision: kamflow.ImportApproved, By: "dir-zhao", At: t0}
		if err := d.DecideImport(ctx, "imp-h", a, kamflow.ImportPending, kamflow.ImportProgress{Held: 1}, nil, t0); err != nil {
			t.Fatal(err)
		}
		n := 0
		d.ImportRows(ctx, "imp-h", kamflow.OutcomeHeld, func(kamflow.ImportRow) error { n++; return nil })
		if file, err := d.ImportFile(ctx, "imp-h"); n != 1 || err != nil || string(file) != "file" {
			t.Errorf("approved: %d held rows, file %q %v", n, file, err)
		}
		pending := []kamflow.ImportRow{{Line: 2, Outcome: kamflow.OutcomePending, Record: []byte(`{}`), Cells: []string{"Deal"}}}
		if err := d.PlanImport(ctx, "imp-h", kamflow.ImportProgress{}, kamflow.ImportRunning, pending, t0); err != nil {
			t.Fatal(err)
		}
		n = 0
		d.ImportRows(ctx, "imp-h", kamflow.OutcomeHeld, func(kamflow.ImportRow) error { n++; return nil })
		if p, _ := d.PendingImportRows(ctx, "imp-h", 0, 10); n != 0 || len(p) != 1 {
			t.Errorf("re-planned: %d held, %d pending", n, len(p))
		}
	})
}
