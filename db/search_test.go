package db_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/db"
	"github.com/kamflow/kamflow/db/dbtest"
)

// searchSeed stores two teams' records: east (kam-li's: the accounts 华东石化 and 王家港化工, the
// contacts 王工 and 老王, the deal "Boiler feed pumps, Line 3" in delivery with its tasks) and
// west (kam-wu's: the account 西部钢铁 with the contact 王总 and the deal "Boiler retrofit West").
func searchSeed(t *testing.T, d *db.DB) {
	t.Helper()
	for i, a := range []*kamflow.Account{
		{ID: "acc-ecp", Name: "华东石化 East China Petrochemical", Owner: "kam-li", TeamID: "east"},
		{ID: "acc-wjg", Name: "王家港化工", Owner: "kam-li", TeamID: "east"},
		{ID: "acc-west", Name: "西部钢铁 West Steel", Owner: "kam-wu", TeamID: "west"},
	} {
		a.CreatedAt, a.UpdatedAt = t0.Add(time.Duration(i)*time.Minute), t0.Add(time.Duration(i)*time.Minute)
		if err := d.CreateAccount(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	for i, c := range []*kamflow.Contact{
		{ID: "c-wang", AccountID: "acc-ecp", Name: "王工", Title: "Chief engineer 总工程师", Phone: "138-0013-8000", Email: "wang.gong@ecp.cn"},
		{ID: "c-laowang", AccountID: "acc-ecp", Name: "老王", Title: "Buyer"},
		{ID: "c-wangzong", AccountID: "acc-west", Name: "王总", Title: "Plant director", Email: "wang@weststeel.cn"},
	} {
		c.Stance, c.Deals, c.CreatedBy = kamflow.StanceNeutral, []kamflow.ContactDeal{}, "kam-li"
		c.CreatedAt, c.UpdatedAt = t0.Add(time.Duration(i+1)*time.Hour), t0.Add(time.Duration(i+1)*time.Hour)
		if err := d.CreateContact(ctx, c, nil); err != nil {
			t.Fatal(err)
		}
	}
	east, tr, err := kamflow.NewDeal("deal-pumps", kamflow.NewDealInput{AccountID: "acc-ecp", Title: "Boiler feed pumps, Line 3",
		Value: 12_000_000_00, Currency: "CNY", Owner: "kam-li", TeamID: "east"}, kam, t0, settings)
	if err != nil {
		t.Fatal(err)
	}
	east.Engineers = []string{"eng-chen"}
	project(t, d, east, tr)
	west, tr, err := kamflow.NewDeal("deal-west", kamflow.NewDealInput{AccountID: "acc-west", Title: "Boiler retrofit West",
		Value: 3_000_000_00, Currency: "CNY", Owner: "kam-wu", TeamID: "west"}, kamflow.Actor{ID: "kam-wu", Role: kamflow.UserKAM, Teams: []string{"west"}}, t0, settings)
	if err != nil {
		t.Fatal(err)
	}
	project(t, d, west, tr)
	p := kamflow.NewDeliveryPlan(east, t0.Add(2*time.Hour))
	p.Tasks[1].Title = "安装 pumps on skid"
	if err := d.ProjectDelivery(ctx, p); err != nil {
		t.Fatal(err)
	}
}

// found lists the results as "kind:id".
func found(t *testing.T, d *db.DB, q kamflow.SearchQuery) []string {
	t.Helper()
	rs, err := d.Search(ctx, q)
	if err != nil {
		t.Fatalf("search %q: %v", q.Text, err)
	}
	out := []string{}
	for _, r := range rs {
		out = append(out, string(r.Kind)+":"+r.ID)
	}
	return out
}

// TestSearch: the ranking (exact, prefix, word, part, then the newest), a part of a Chinese name,
// phone digits, e-mails, the kinds, and nothing of the other team's — for a KAM of either team, an
// engineer assigned or not, a director, an admin.
func TestSearch(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		searchSeed(t, d)
		kamWu := &kamflow.Actor{ID: "kam-wu", Role: kamflow.UserKAM, Teams: []string{"west"}}
		westDir := &kamflow.Actor{ID: "dir-w", Role: kamflow.UserDirector, Teams: []string{"west"}}
		eng := &kamflow.Actor{ID: "eng-chen", Role: kamflow.UserEngineer}
		idle := &kamflow.Actor{ID: "eng-idle", Role: kamflow.UserEngineer}
		admin := &kamflow.Actor{ID: "admin", Role: kamflow.UserAdmin}
		for _, c := range []struct {
			who   *kamflow.Actor
			text  string
			kinds []kamflow.SearchKind
			want  string
		}{
			// 王: the names starting with it (the newest first: the contact), then 老王, where it
			// is a part.
			{&kam, "王", nil, "contact:c-wang account:acc-wjg contact:c-laowang"},
			{&kam, "王家港化工", nil, "account:acc-wjg"},
			{&kam, "王工", nil, "contact:c-wang"},
			{&kam, "工", nil, "contact:c-wang account:acc-wjg"},
			{&kam, "化工", nil, "account:acc-wjg"},
			{&kam, "石化", nil, "account:acc-ecp"},
			{&kam, "总工", nil, "contact:c-wang"},
			{&kam, "Petro", nil, "account:acc-ecp"},
			{&kam, "chemical", nil, "account:acc-ecp"},
			{&kam, "ＰＵＭＰＳ", nil, "task:installation deal:deal-pumps"},
			{&kam, "pumps", []kamflow.SearchKind{kamflow.SearchDeal}, "deal:deal-pumps"},
			{&kam, "feed pumps", nil, "deal:deal-pumps"},
			{&kam, "boiler", nil, "deal:deal-pumps"},
			{&kam, "13800138000", nil, "contact:c-wang"},
			{&kam, "138-0013", nil, "contact:c-wang"},
			{&kam, "0013", nil, "contact:c-wang"},
			{&kam, "wang.gong@ecp.cn", nil, "contact:c-wang"},
			{&kam, "WANG", nil, "contact:c-wang contact:c-laowang"}, // an e-mail's start, a part of an ID
			{&kam, "commission", nil, "task:commissioning"},
			{&kam, "deal-pumps", nil, "deal:deal-pumps"},
			{&kam, "王", []kamflow.SearchKind{kamflow.SearchDeal, kamflow.SearchTask}, ""},
			{&kam, "nothing like it", nil, ""},
			{&kam, "  ", nil, ""},
			// The other team's: their own, and nothing of east's.
			{kamWu, "王", nil, "contact:c-wangzong"},
			{kamWu, "boiler", nil, "deal:deal-west"},
			{kamWu, "pumps", nil, ""},
			{kamWu, "deal-pumps", nil, ""},
			{westDir, "boiler", nil, "deal:deal-west"},
			{westDir, "commission", nil, ""},
			{eng, "boiler", nil, "deal:deal-pumps"},
			{eng, "commission", nil, "task:commissioning"},
			{eng, "王工", nil, "contact:c-wang"},
			{idle, "boiler", nil, ""},
			{idle, "王", nil, ""},
			{admin, "boiler", nil, ""},
			{nil, "boiler", nil, "deal:deal-pumps deal:deal-west"}, // as new as each other: by ID
		} {
			name := "nobody"
			if c.who != nil {
				name = c.who.ID
			}
			got := strings.Join(found(t, d, kamflow.SearchQuery{Text: c.text, Kinds: c.kinds, Viewer: c.who}), " ")
			if got != c.want {
				t.Errorf("%s searching %q %v: %q, want %q", name, c.text, c.kinds, got, c.want)
			}
		}
		rs, err := d.Search(ctx, kamflow.SearchQuery{Text: "王", Viewer: &kam, Limit: 1})
		if err != nil || len(rs) != 1 {
			t.Fatalf("limit 1: %v %v", rs, err)
		}
		if r := rs[0]; r.Title != "王工" || r.Detail != "Chief engineer 总工程师" || r.Context != "华东石化 East China Petrochemical" ||
			r.AccountID != "acc-ecp" || r.Field != "name" || r.Rank != kamflow.RankPrefix {
			t.Errorf("王工's result: %+v", r)
		}
		rs, _ = d.Search(ctx, kamflow.SearchQuery{Text: "commission", Viewer: &kam})
		if len(rs) != 1 || rs[0].DealID != "deal-pumps" || rs[0].Context != "Boiler feed pumps, Line 3" || rs[0].Title != "" {
			t.Errorf("the task's result: %+v", rs)
		}
	})
}

// searchDump is the whole index as text, to compare.
func searchDump(t *testing.T, d *db.DB) string {
	t.Helper()
	var entries []string
	err := d.Gorm().Raw(`SELECT kind || '|' || id || '|' || deal_id || '|' || account_id || '|' || title || '|' || detail || '|' ||
		names || '|' || body FROM search_entries ORDER BY kind, id`).Scan(&entries).Error
	if err != nil {
		t.Fatal(err)
	}
	var terms []string
	if err := d.Gorm().Raw(`SELECT term || '|' || kind || '|' || id FROM search_terms ORDER BY term, kind, id`).Scan(&terms).Error; err != nil {
		t.Fatal(err)
	}
	return strings.Join(entries, "\n") + "\n--\n" + strings.Join(terms, "\n")
}

// TestSearchIndexInStep: after every kind of write (edits, patches, an import, a stakeholder
// made a contact, a plan's change) a search finds the record as it now is and not as it was, and
// the index the writes kept is the one a rebuild from the records makes.
func TestSearchIndexInStep(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		searchSeed(t, d)
		c, err := d.Contact(ctx, "c-wang")
		if err != nil {
			t.Fatal(err)
		}
		c.Name, c.UpdatedAt = "张工", t0.Add(5*time.Hour)
		if err := d.UpdateContact(ctx, c, nil); err != nil {
			t.Fatal(err)
		}
		if got := found(t, d, kamflow.SearchQuery{Text: "王工", Viewer: &kam}); len(got) != 0 {
			t.Errorf("王工 after the rename: %v", got)
		}
		if got := found(t, d, kamflow.SearchQuery{Text: "张", Viewer: &kam}); fmt.Sprint(got) != "[contact:c-wang]" {
			t.Errorf("张 after the rename: %v", got)
		}
		name := "李工"
		if _, err := d.PatchContact(ctx, "acc-ecp", "c-laowang", kamflow.ContactInput{Name: &name}, kamflow.Edit{By: "kam-li", At: t0.Add(4 * time.Hour)}, nil); err != nil {
			t.Fatal(err)
		}
		if got := found(t, d, kamflow.SearchQuery{Text: "李", Viewer: &kam}); fmt.Sprint(got) != "[contact:c-laowang]" {
			t.Errorf("李 after the patch: %v", got)
		}
		aname := "王家港精细化工"
		if _, err := d.PatchAccount(ctx, "acc-wjg", kamflow.AccountInput{Name: &aname}, kamflow.Edit{By: "kam-li", At: t0.Add(5 * time.Hour)}, nil); err != nil {
			t.Fatal(err)
		}
		if got := found(t, d, kamflow.SearchQuery{Text: "精细", Viewer: &kam}); fmt.Sprint(got) != "[account:acc-wjg]" {
			t.Errorf("精细 after the patch: %v", got)
		}
		deal, err := d.Deal(ctx, "deal-pumps")
		if err != nil {
			t.Fatal(err)
		}
		apply(t, d, deal, kamflow.Command{Kind: kamflow.CmdStakeholder, Actor: kam, Stakeholder: &kamflow.Stakeholder{
			Name: "赵处长", Role: kamflow.RoleDecisionMaker, Stance: kamflow.StanceNeutral}}, t0.Add(6*time.Hour))
		if got := found(t, d, kamflow.SearchQuery{Text: "赵", Viewer: &kam}); len(got) != 1 || !strings.HasPrefix(got[0], "contact:") {
			t.Errorf("赵 after the stakeholder was added: %v", got)
		}
		before := searchDump(t, d)
		if err := d.RebuildSearch(ctx); err != nil {
			t.Fatal(err)
		}
		if after := searchDump(t, d); after != before {
			t.Errorf("the index the writes kept:\n%s\nrebuilt:\n%s", before, after)
		}
	})
}

// TestSearchMigration: migration 0140 indexes the accounts, contacts, deals and delivery tasks
// stored before it.
func TestSearchMigration(t *testing.T) {
	dbtest.EachURL(t, func(t *testing.T, url string) {
		old, err := db.OpenAt(ctx, url, 139)
		if err != nil {
			t.Fatal(err)
		}
		g := old.Gorm()
		exec := func(sql string, args ...any) {
			t.Helper()
			if err := g.Exec(sql, args...).Error; err != nil {
				t.Fatalf("%s: %v", sql, err)
			}
		}
		exec(`INSERT INTO accounts (id, name, name_fold, owner, team_id, created_at, updated_at) VALUES ('acc-a', '王家港化工', '王家港化工', 'kam-li', 'east', ?, ?)`, t0, t0)
		exec(`INSERT INTO contacts (id, account_id, name, name_fold, stance, phone, created_by, created_at, updated_at)
			VALUES ('c-wang', 'acc-a', '王工', '王工', 'neutral', '138 0000 0000', 'kam-li', ?, ?)`, t0.Add(time.Hour), t0.Add(time.Hour))
		deal, _, err := kamflow.NewDeal("deal-1", kamflow.NewDealInput{AccountID: "acc-a", Title: "Boiler feed pumps", Value: 100, Currency: "CNY",
			Owner: "kam-li", TeamID: "east"}, kam, t0, settings)
		if err != nil {
			t.Fatal(err)
		}
		data := asJSON(t, deal)
		exec(`INSERT INTO deals (id, account_id, title, value, currency, owner, team_id, stage, status, win_probability, stage_entered_at,
			last_progress_at, seq, created_at, updated_at, data) VALUES ('deal-1', 'acc-a', ?, 100, 'CNY', 'kam-li', 'east', 'development', 'open', 20, ?, ?, ?, ?, ?, ?)`,
			deal.Title, t0, t0, deal.Seq, t0, t0, data)
		exec(`INSERT INTO delivery_plans (deal_id, seq, data, updated_at) VALUES ('deal-1', 1, ?, ?)`, asJSON(t, kamflow.NewDeliveryPlan(deal, t0)), t0)
		old.Close()

		d := dbtest.Open(t, url)
		for text, want := range map[string]string{
			"王":           "contact:c-wang account:acc-a",
			"13800000000": "contact:c-wang",
			"pumps":       "deal:deal-1",
			"training":    "task:training",
		} {
			if got := strings.Join(found(t, d, kamflow.SearchQuery{Text: text, Viewer: &kam}), " "); got != want {
				t.Errorf("%q after the migration: %q, want %q", text, got, want)
			}
		}
	})
}
