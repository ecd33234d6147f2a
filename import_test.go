package kamflow_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/kamflow/kamflow"
)

func TestParseImportMoney(t *testing.T) {
	for in, want := range map[string]string{
		"12000000":           "12000000.00",
		"12,000,000.00":      "12000000.00",
		"¥1,200,000":         "1200000.00",
		"￥1200000.5元":        "1200000.50",
		"RMB 800000":         "800000.00",
		"1200万":              "12000000.00",
		"1.5万":               "15000.00",
		"1.2E7":              "12000000.00",
		"1234.5600000000001": "1234.56",
		"０.５":                "0.50",
		"0":                  "0.00",
		"999999999999.99":    "999999999999.99",
		" 42 ":               "42.00",
		"12,3":               `"12,3" is not an amount like 1200000.00`,
		"1,2345":             `"1,2345" is not an amount like 1200000.00`,
		"-5":                 `"-5" is negative`,
		"4.125":              `"4.125" has more than two decimals`,
		"1000000000000":      `"1000000000000" is too large (at most 999999999999.99)`,
		"1e300":              `"1e300" is too large (at most 999999999999.99)`,
		"abc":                `"abc" is not an amount like 1200000.00`,
		"¥":                  `"¥" is not an amount`,
		"NaN万":               `"NaN万" is not an amount like 1200000.00`,
	} {
		m, err := kamflow.ParseImportMoney(in)
		got := m.String()
		if err != nil {
			got = err.Error()
		}
		if got != want {
			t.Errorf("ParseImportMoney(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestParseImportDate(t *testing.T) {
	for _, c := range []struct {
		in            string
		serial, y1904 bool
		want          string
	}{
		{"2027-03-31", false, false, "2027-03-31"},
		{"2027/3/31", false, false, "2027-03-31"},
		{"2027.03.31", false, false, "2027-03-31"},
		{"2027年3月31日", false, false, "2027-03-31"},
		{"2027-03-31 00:00:00", false, false, "2027-03-31"},
		{"2027-03-31T08:00:00Z", false, false, "2027-03-31"},
		{"２０２７－０３－３１", false, false, "2027-03-31"}, // full-width, as Chinese input methods type it
		{"2027-02-29", false, false, `"2027-02-29" is not a date: write it as YYYY-MM-DD`},
		{"31/03/2027", false, false, `"31/03/2027" is not a date: write it as YYYY-MM-DD`},
		{"3/31/2027", false, false, `"3/31/2027" is not a date: write it as YYYY-MM-DD`},
		{"46477", false, false, `"46477" is not a date: write it as YYYY-MM-DD`}, // a bare number in a CSV
		// Excel serials (XLSX cells): 1900 counts a 29 February 1900 that never was.
		{"46477", true, false, "2027-03-31"},
		{"46477.75", true, false, "2027-03-31"},
		{"1", true, false, "1900-01-01"},
		{"59", true, false, "1900-02-28"},
		{"60", true, false, `"60" is not a date`},
		{"61", true, false, "1900-03-01"},
		{"45015", true, true, "2027-03-31"},
		{"0", true, false, `"0" is not a date`},
		{"2027-03-31", true, false, "2027-03-31"}, // a text cell in an XLSX file
	} {
		d, err := kamflow.ParseImportDate(c.in, c.serial, c.y1904)
		got := string(d)
		if err != nil {
			got = err.Error()
		}
		if got != c.want {
			t.Errorf("ParseImportDate(%q, %v, %v) = %s, want %s", c.in, c.serial, c.y1904, got, c.want)
		}
	}
}

func TestFormulas(t *testing.T) {
	for in, want := range map[string]bool{
		"=SUM(A1:A9)": true, "@SUM(A1)": true, "+cmd": true, "-cmd|' /C calc'!A0": true, "-": true, "+": true,
		"- see mail": true, "+86 21 5555 1234": false, "-5": false, "-12.50": false, "+1 (555) 010-9999": false,
		"86-21-5555": false, "ACME = best": false, "": false, "'=x": false,
	} {
		if got := kamflow.IsFormula(in); got != want {
			t.Errorf("IsFormula(%q) = %v, want %v", in, got, want)
		}
	}
	for in, want := range map[string]string{"'=SUM(A1)": "=SUM(A1)", "'+86 21": "+86 21", "'-5": "-5", "'@x": "@x",
		"'quoted'": "'quoted'", "'": "'", "plain": "plain"} {
		if got := kamflow.Unguard(in); got != want {
			t.Errorf("Unguard(%q) = %q, want %q", in, got, want)
		}
	}
	if got := kamflow.NormName("  Ｅａｓｔ　Ｓｔｅｅｌ   Co（上海） "); got != "east steel co(上海)" {
		t.Errorf("NormName = %q", got)
	}
}

func TestMapImportHeader(t *testing.T) {
	h, err := kamflow.MapImportHeader(kamflow.ImportDeals, []string{"商机编号", " Account Name ", "项目名称*", "金额（元）",
		"Expected-Close", "STAGE", "", "赢单率", "导入问题"})
	if err != nil {
		t.Fatal(err)
	}
	want := []kamflow.ImportColumn{{Column: "商机编号", Field: "external_id"}, {Column: "Account Name", Field: "account"},
		{Column: "项目名称*", Field: "title"}, {Column: "金额（元）", Field: "value"}, {Column: "Expected-Close", Field: "expected_close"},
		{Column: "STAGE", Field: "stage"}, {}, {Column: "赢单率"}, {Column: "导入问题"}}
	if !reflect.DeepEqual(h.Columns, want) {
		t.Errorf("columns %+v\nwant %+v", h.Columns, want)
	}
	for _, c := range []struct {
		kind kamflow.ImportKind
		head []string
		want string
	}{
		{kamflow.ImportAccounts, []string{"name", "industy", "电话"}, "invalid: the file has columns kamflow does not know: industy, 电话 (the accounts template lists the columns) map[line:0 reason:unknown_columns unknown:[industy 电话]]"},
		{kamflow.ImportAccounts, []string{"industry"}, "invalid: the file lacks required columns: name (客户名称) map[missing:[name (客户名称)] reason:missing_columns]"},
		{kamflow.ImportContacts, []string{"name", "phone"}, "invalid: the file lacks required columns: account (客户名称) or account_id (客户编号) map[missing:[account (客户名称) or account_id (客户编号)] reason:missing_columns]"},
		{kamflow.ImportDeals, []string{"account", "title", "title "}, "invalid: the file has two columns for one field: title map[duplicate:[title] reason:duplicate_columns]"},
		{kamflow.ImportDeals, []string{"account"}, "invalid: the file lacks required columns: title (商机名称), value (金额), stage (阶段) map[missing:[title (商机名称) value (金额) stage (阶段)] reason:missing_columns]"},
	} {
		_, err := kamflow.MapImportHeader(c.kind, c.head)
		var e *kamflow.Error
		got := "no error"
		if err != nil && asImportError(err, &e) {
			got = fmt.Sprintf("%v %v", e, e.Details)
		}
		if got != c.want {
			t.Errorf("%s %q:\n%s\nwant\n%s", c.kind, c.head, got, c.want)
		}
	}
	if got := strings.Join(kamflow.Template(kamflow.ImportAccounts, true), ","); got != "外部编号,客户名称*,行业,地区,地址,负责人,备注" {
		t.Errorf("template %s", got)
	}
}

func asImportError(err error, e **kamflow.Error) bool {
	x, ok := err.(*kamflow.Error)
	*e = x
	return ok
}

func TestParseRows(t *testing.T) {
	h, err := kamflow.MapImportHeader(kamflow.ImportAccounts, []string{"name", "industry", "notes"})
	if err != nil {
		t.Fatal(err)
	}
	rec, issues := kamflow.ParseAccountRow(h, 7, []string{" 华东石化 ", "'=1", "a\x00b", "", "spill"})
	if rec.Name != "华东石化" || rec.Industry != "" {
		t.Errorf("record %+v", rec)
	}
	var got []string
	for _, is := range issues {
		got = append(got, fmt.Sprintf("%d %s %s %s", is.Line, is.Column, is.Code, is.Message))
	}
	want := []string{
		"7 column E extra_cells a value (spill) in a column without a head",
		`7 industry formula "=1" starts like a spreadsheet formula (= + - @); kamflow does not store formulas: remove the leading character`,
		"7 notes invalid_text holds a control character",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("issues %q\nwant %q", got, want)
	}
	_, issues = kamflow.ParseAccountRow(h, 8, []string{strings.Repeat("名", 201)})
	if len(issues) != 1 || issues[0].Code != kamflow.IssueTooLong || issues[0].Message != "is longer than 200 characters" {
		t.Errorf("long name: %+v", issues)
	}

	dh, _ := kamflow.MapImportHeader(kamflow.ImportDeals, []string{"account", "title", "value", "stage", "status", "currency"})
	for _, c := range []struct {
		cells []string
		want  string
	}{
		{[]string{"ACME", "Pumps", "1,000", "谈判", "", ""}, "negotiation open CNY 1000.00 <nil>"},
		{[]string{"ACME", "Pumps", "1", "Bid", "跟进中", "usd"}, "bid open USD 1.00 <nil>"},
		{[]string{"ACME", "Pumps", "1", "bid", "won", "美元"}, "bid won USD 1.00 &{Line:2 Column:status Field:status Code:not_open Message:the deal is won: only open deals are imported}"},
		{[]string{"ACME", "Pumps", "1", "工程实施阶段", "", ""}, "delivery open CNY 1.00 &{Line:2 Column:stage Field:stage Code:not_open Message:a deal in delivery has its contract signed: only open deals (development to negotiation) are imported}"},
	} {
		rec, issues := kamflow.ParseDealRow(dh, 2, c.cells)
		if len(issues) > 0 {
			t.Errorf("%q: %+v", c.cells, issues)
		}
		if got := fmt.Sprintf("%s %s %s %s %+v", rec.Stage, rec.Status, rec.Currency, rec.Value, rec.NotOpen(dh)); got != c.want {
			t.Errorf("%q:\n%s\nwant\n%s", c.cells, got, c.want)
		}
	}
}

func TestSamePerson(t *testing.T) {
	wang := kamflow.ContactKey{AccountID: "a", Name: "王工", Phone: "+86 138-0000-0000", Email: "Wang@x.cn"}
	for _, c := range []struct {
		other kamflow.ContactKey
		same  bool
	}{
		{kamflow.ContactKey{AccountID: "a", Name: " 王工 "}, true},
		{kamflow.ContactKey{AccountID: "a", Name: "王工", Phone: "8613800000000"}, true},
		{kamflow.ContactKey{AccountID: "a", Name: "王工", Email: "wang@x.cn"}, true},
		{kamflow.ContactKey{AccountID: "a", Name: "王工", Phone: "13900000000"}, false},
		{kamflow.ContactKey{AccountID: "a", Name: "王工", Email: "other@x.cn"}, false},
		{kamflow.ContactKey{AccountID: "b", Name: "王工"}, false},
		{kamflow.ContactKey{AccountID: "a", Name: "李工"}, false},
	} {
		if got := kamflow.SamePerson(wang, c.other); got != c.same {
			t.Errorf("SamePerson(%+v) = %v, want %v", c.other, got, c.same)
		}
	}
}

// TestImportDeal: an imported deal opens at its stage, its first history row of kind imported;
// the gates before it count as met by the import unless evidence says so itself, its own gate
// does not; and it carries on from there like any deal.
func TestImportDeal(t *testing.T) {
	s := kamflow.DefaultSettings()
	// A KAM's import of a deal past development needs a director's approval.
	if _, _, err := kamflow.ImportDeal("deal-9", newDealInput(), kamflow.Proposal, kamflow.DealImport{ImportID: "imp-1", Line: 4}, kam, t0, s); kamflow.ErrorCode(err) != kamflow.EFORBIDDEN {
		t.Errorf("a KAM's import at proposal without approval: %v", err)
	}
	d, tr, err := kamflow.ImportDeal("deal-9", newDealInput(), kamflow.Proposal, kamflow.DealImport{ImportID: "imp-1", Line: 4, ApprovedBy: "dir.wang"}, kam, t0, s)
	if err != nil {
		t.Fatal(err)
	}
	if d.Stage != kamflow.Proposal || d.Status != kamflow.StatusOpen || d.StageSLA != kamflow.Duration(s.StageSLA(kamflow.Proposal)) ||
		!d.StageEnteredAt.Equal(t0) || d.Seq != 1 || d.Title != "Cold-rolling line DCS retrofit" {
		t.Errorf("deal %+v", d)
	}
	if want := (kamflow.DealImport{ImportID: "imp-1", Line: 4, Stage: kamflow.Proposal, By: "kam.li", At: t0, ApprovedBy: "dir.wang"}); *d.Imported != want {
		t.Errorf("marker %+v", d.Imported)
	}
	if tr.Kind != kamflow.TransitionImported || tr.FromStage != "" || tr.ToStage != kamflow.Proposal || tr.Seq != 1 || tr.Actor != "kam.li" {
		t.Errorf("transition %+v", tr)
	}
	// An insider recorded after the import: the entry gate shows the evidence where there is some.
	if _, err := d.Apply(person("王工", kamflow.RoleInsider, kamflow.StanceSupporter, true), t0, s); err != nil {
		t.Fatal(err)
	}
	entry := d.GateOf(kamflow.Entry)
	if !entry.Met || entry.Items[0].Detail != "insider: 王工" || entry.Items[1].Detail != kamflow.ImportedEvidence {
		t.Errorf("entry gate %+v", entry)
	}
	if g := d.GateOf(kamflow.Development); !g.Met || g.Items[0].Detail != kamflow.ImportedEvidence {
		t.Errorf("development gate %+v", g)
	}
	if g := d.Gate(); g.Met {
		t.Errorf("the proposal gate is met without evidence: %+v", g)
	}
	if _, err := d.Apply(advance(), t0, s); kamflow.ErrorCode(err) != kamflow.EGATENOTMET {
		t.Errorf("advance without the proposal's evidence: %v", err)
	}
	if p := d.WinProbability(); p.Value != kamflow.StageBaseProbability[kamflow.Proposal] {
		t.Errorf("win probability %d", p.Value)
	}
	audit := kamflow.CreatedAudit(d)
	if audit.Summary != "deal imported at the proposal stage (import imp-1, line 4): Cold-rolling line DCS retrofit, 8000000.00 CNY, owner kam.li" {
		t.Errorf("audit %q", audit.Summary)
	}
	for _, st := range []kamflow.Stage{kamflow.Delivery, "nowhere"} {
		if _, _, err := kamflow.ImportDeal("x", newDealInput(), st, kamflow.DealImport{}, kam, t0, s); kamflow.ErrorCode(err) != kamflow.EINVALID {
			t.Errorf("import at %s: %v", st, err)
		}
	}
	// A director of the team, or a KAM at development, needs no approval.
	if _, _, err := kamflow.ImportDeal("y", newDealInput(), kamflow.Negotiation, kamflow.DealImport{}, director, t0, s); err != nil {
		t.Errorf("a director's import at negotiation: %v", err)
	}
	if _, _, err := kamflow.ImportDeal("z", newDealInput(), kamflow.Development, kamflow.DealImport{}, kam, t0, s); err != nil {
		t.Errorf("a KAM's import at development: %v", err)
	}
}

// TestImportApproval: the deals past development a KAM imports wait for a director of the team;
// only a director of the import's team decides.
func TestImportApproval(t *testing.T) {
	west := kamflow.Actor{ID: "dir.qian", Role: kamflow.UserDirector, Teams: []string{"team-west"}}
	admin := kamflow.Actor{ID: "root", Role: kamflow.UserAdmin}
	for _, c := range []struct {
		a    kamflow.Actor
		st   kamflow.Stage
		want bool
	}{
		{kam, kamflow.Development, false}, {kam, kamflow.Entry, true}, {kam, kamflow.Negotiation, true},
		{director, kamflow.Bid, false}, {west, kamflow.Bid, true}, {admin, kamflow.Proposal, true},
	} {
		if got := c.a.ImportNeedsApproval("team-east", c.st); got != c.want {
			t.Errorf("%s imports at %s: needs approval %v, want %v", c.a.ID, c.st, got, c.want)
		}
	}
	imp := &kamflow.Import{CreatedBy: "kam.li", TeamID: "team-east"}
	for _, c := range []struct {
		a    kamflow.Actor
		want bool
	}{{director, true}, {west, false}, {kam, false}, {admin, false}, {engineer, false}} {
		if got := c.a.CanDecideImport(imp); got != c.want {
			t.Errorf("%s decides: %v, want %v", c.a.ID, got, c.want)
		}
	}
	if err := (kamflow.ImportDecisionInput{Reason: "  "}).Validate(false); kamflow.ErrorCode(err) != kamflow.EINVALID {
		t.Errorf("a rejection without a reason: %v", err)
	}
	if err := (kamflow.ImportDecisionInput{}).Validate(true); err != nil {
		t.Errorf("an approval without a reason: %v", err)
	}
}

func TestCanReadImport(t *testing.T) {
	imp := &kamflow.Import{CreatedBy: "kam.li", TeamID: "team-east"}
	for _, c := range []struct {
		a    kamflow.Actor
		want bool
	}{
		{kam, true}, {director, true}, {kamflow.Actor{ID: "kam.zhou", Role: kamflow.UserKAM, Teams: []string{"team-east"}}, false},
		{kamflow.Actor{ID: "dir.qian", Role: kamflow.UserDirector, Teams: []string{"team-west"}}, false},
		{kamflow.Actor{ID: "root", Role: kamflow.UserAdmin}, true}, {engineer, false},
	} {
		if got := c.a.CanReadImport(imp); got != c.want {
			t.Errorf("%s reads: %v, want %v", c.a.ID, got, c.want)
		}
	}
}
