package db_test

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/db"
	"github.com/kamflow/kamflow/db/dbtest"
)

// contactNames lists an account's contacts as "name (title) role/stance", by name.
func contactNames(t *testing.T, d *db.DB, account string) []string {
	t.Helper()
	cs, err := d.Contacts(ctx, account)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range cs {
		out = append(out, c.Name+" ("+c.Title+") "+string(c.Role)+"/"+string(c.Stance))
	}
	return out
}

// stakeholderLinks lists the contact each of the deal's stakeholders is linked to, as the
// contact's name and the stakeholder's role on the deal, by name.
func stakeholderLinks(t *testing.T, d *db.DB, deal *kamflow.Deal) map[string]string {
	t.Helper()
	links, err := d.StakeholderContacts(ctx, deal.ID)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, s := range deal.Stakeholders {
		id := links[kamflow.NormName(s.Name)]
		if id == "" {
			t.Errorf("deal %s: stakeholder %s is linked to no contact", deal.ID, s.Name)
			continue
		}
		c, err := d.Contact(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if c.AccountID != deal.AccountID {
			t.Errorf("stakeholder %s of deal %s linked to contact %s of account %s", s.Name, deal.ID, id, c.AccountID)
		}
		i := slices.IndexFunc(c.StakeholderOn, func(x kamflow.ContactStakeholder) bool { return x.DealID == deal.ID })
		if i < 0 || c.StakeholderOn[i].Role != s.Role || c.StakeholderOn[i].Stance != s.Stance {
			t.Errorf("contact %s's part on deal %s: %+v, want %s/%s", c.Name, deal.ID, c.StakeholderOn, s.Role, s.Stance)
		}
		if !slices.ContainsFunc(c.Deals, func(l kamflow.ContactDeal) bool { return l.DealID == deal.ID }) {
			t.Errorf("contact %s not linked to deal %s: %+v", c.Name, deal.ID, c.Deals)
		}
		out[s.Name] = c.Name + "=" + id
	}
	return out
}

// TestStakeholderMigration: migration 0120 maps the stakeholders of the deals stored before onto
// the accounts' contacts by the contacts import's rule (SamePerson: the same normalised name, so
// "ＬＩ  na" is Li Na), makes a contact of each one without a match (once per person and account,
// however many deals they are on), and loses none; a later projection keeps the links.
func TestStakeholderMigration(t *testing.T) {
	dbtest.EachURL(t, func(t *testing.T, url string) {
		old, err := db.OpenAt(ctx, url, 119)
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
		for _, a := range []string{"acc-a", "acc-b"} {
			exec(`INSERT INTO accounts (id, name, name_fold, owner, created_at, updated_at) VALUES (?, ?, ?, 'kam-li', ?, ?)`, a, a, a, t0, t0)
		}
		exec(`INSERT INTO contacts (id, account_id, name, name_fold, stance, phone, created_by, created_at, updated_at)
			VALUES ('c-wang', 'acc-a', '王工', '王工', 'neutral', '138 0000 0000', 'kam-li', ?, ?)`, t0, t0)
		exec(`INSERT INTO contacts (id, account_id, name, name_fold, stance, created_by, created_at, updated_at)
			VALUES ('c-li', 'acc-a', 'Li Na', 'li na', 'supporter', 'kam-li', ?, ?)`, t0.Add(time.Minute), t0.Add(time.Minute))
		person := func(name, title string, role kamflow.Role, stance kamflow.Stance) kamflow.Stakeholder {
			return kamflow.Stakeholder{Name: name, Title: title, Role: role, Stance: stance, Engaged: true, RecordedBy: "kam-li", RecordedAt: t0.Add(time.Hour)}
		}
		deals := map[string]*kamflow.Deal{}
		oldDeal := func(id, account string, people ...kamflow.Stakeholder) {
			deal, _, err := kamflow.NewDeal(id, kamflow.NewDealInput{AccountID: account, Title: "DCS " + id, Value: 100, Currency: "CNY",
				Owner: "kam-li", TeamID: "east"}, kam, t0, settings)
			if err != nil {
				t.Fatal(err)
			}
			deal.Stakeholders = people
			data, _ := json.Marshal(deal)
			exec(`INSERT INTO deals (id, account_id, title, value, currency, owner, stage, status, win_probability, stage_entered_at,
				last_progress_at, seq, created_at, updated_at, data) VALUES (?, ?, ?, 100, 'CNY', 'kam-li', 'entry', 'open', 20, ?, ?, ?, ?, ?, ?)`,
				id, account, deal.Title, t0, t0, deal.Seq, t0, t0, string(data))
			deals[id] = deal
		}
		oldDeal("deal-1", "acc-a",
			person("王工", "总工", kamflow.RoleDecisionMaker, kamflow.StanceSupporter),
			person("ＬＩ  na", "", kamflow.RoleInsider, kamflow.StanceSupporter),
			person("Zhao Min", "采购经理", kamflow.RolePurchaser, kamflow.StanceOpponent))
		oldDeal("deal-2", "acc-a", person("zhao min", "", kamflow.RoleInfluencer, kamflow.StanceNeutral))
		oldDeal("deal-3", "acc-b", person("王工", "", kamflow.RoleUser, kamflow.StanceNeutral))
		oldDeal("deal-4", "acc-a") // no stakeholders
		old.Close()

		d := dbtest.Open(t, url)
		if got, want := contactNames(t, d, "acc-a"), []string{
			"Li Na () /supporter", "Zhao Min (采购经理) purchaser/opponent", "王工 () /neutral",
		}; !slices.Equal(got, want) {
			t.Errorf("contacts of acc-a after the migration:\n got %q\nwant %q", got, want)
		}
		if got, want := contactNames(t, d, "acc-b"), []string{"王工 () user/neutral"}; !slices.Equal(got, want) {
			t.Errorf("contacts of acc-b after the migration: %q, want %q", got, want)
		}
		l1 := stakeholderLinks(t, d, deals["deal-1"])
		if l1["王工"] != "王工=c-wang" || l1["ＬＩ  na"] != "Li Na=c-li" {
			t.Errorf("deal-1 links: %v", l1)
		}
		l2 := stakeholderLinks(t, d, deals["deal-2"])
		if l1["Zhao Min"] == "" || l2["zhao min"] != l1["Zhao Min"] {
			t.Errorf("Zhao Min is two contacts: %v, %v", l1, l2)
		}
		l3 := stakeholderLinks(t, d, deals["deal-3"])
		if l3["王工"] == "王工=c-wang" {
			t.Errorf("acc-b's 王工 linked to acc-a's: %v", l3)
		}
		// The deal's records are as they were: the store maps them, the workflows own them.
		got, err := d.Deal(ctx, "deal-1")
		if err != nil {
			t.Fatal(err)
		}
		if asJSON(t, got.Stakeholders) != asJSON(t, deals["deal-1"].Stakeholders) {
			t.Errorf("deal-1's stakeholders changed: %s", asJSON(t, got.Stakeholders))
		}

		// The next change of deal-1, its record still by name: the same contacts, none new.
		deal := deals["deal-1"]
		apply(t, d, deal, kamflow.Command{Kind: kamflow.CmdStakeholder, Actor: kam, Stakeholder: &kamflow.Stakeholder{
			Name: "Zhao Min", Role: kamflow.RolePurchaser, Stance: kamflow.StanceNeutral}}, t0.Add(2*time.Hour))
		if got := stakeholderLinks(t, d, deal); got["Zhao Min"] != l1["Zhao Min"] || got["王工"] != l1["王工"] {
			t.Errorf("links after a change: %v, were %v", got, l1)
		}
		// A person added by contact id (a new contact the API named) becomes the account's
		// contact; one removed is unlinked from the deal but stays the account's contact.
		apply(t, d, deal, kamflow.Command{Kind: kamflow.CmdStakeholder, Actor: kam, Stakeholder: &kamflow.Stakeholder{
			ContactID: "c-new", Name: "Sun Li", Title: "设备部", Role: kamflow.RoleTechnicalEvaluator, Stance: kamflow.StanceSupporter}}, t0.Add(3*time.Hour))
		if got := stakeholderLinks(t, d, deal); got["Sun Li"] != "Sun Li=c-new" {
			t.Errorf("new contact: %v", got)
		}
		apply(t, d, deal, kamflow.Command{Kind: kamflow.CmdRemoveStakeholder, Actor: kam,
			RemoveStakeholder: &kamflow.RemoveStakeholderInput{Name: "Zhao Min"}}, t0.Add(4*time.Hour))
		links, _ := d.StakeholderContacts(ctx, deal.ID)
		if len(links) != 3 || links["zhao min"] != "" {
			t.Errorf("links after the removal: %v", links)
		}
		if got := len(contactNames(t, d, "acc-a")); got != 4 {
			t.Errorf("acc-a has %d contacts, want 4 (Sun Li added, Zhao Min kept)", got)
		}
	})
}
