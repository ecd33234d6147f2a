package sheet

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"
	uni "golang.org/x/text/encoding/unicode"

	"github.com/kamflow/kamflow/sheet/sheettest"
)

const chinese = "客户名称,行业,地区\r\n华东石化,石化,上海\r\n\"北方重工\n(沈阳)\",机械,辽宁\r\n\r\n南方电力,电力,广东\r\n"

// want is chinese as rows: the blank line 5 is left out, and the row whose cell holds a line
// break starts on line 3 and ends on line 4.
var want = []Row{
	{1, []string{"客户名称", "行业", "地区"}},
	{2, []string{"华东石化", "石化", "上海"}},
	{3, []string{"北方重工\n(沈阳)", "机械", "辽宁"}},
	{6, []string{"南方电力", "电力", "广东"}},
}

func TestReadEncodings(t *testing.T) {
	gbk, err := simplifiedchinese.GBK.NewEncoder().Bytes([]byte(chinese))
	if err != nil {
		t.Fatal(err)
	}
	u16le, _ := uni.UTF16(uni.LittleEndian, uni.UseBOM).NewEncoder().Bytes([]byte(chinese))
	u16be, _ := uni.UTF16(uni.BigEndian, uni.UseBOM).NewEncoder().Bytes([]byte(chinese))
	for _, c := range []struct {
		name string
		data []byte
		enc  string
	}{
		{"utf-8", []byte(chinese), "utf-8"},
		{"utf-8 with BOM", append([]byte("\ufeff"), chinese...), "utf-8-bom"},
		{"GBK", gbk, "gb18030"},
		{"UTF-16LE", u16le, "utf-16le"},
		{"UTF-16BE", u16be, "utf-16be"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, err := Read(c.data, "accounts.csv", 100)
			if err != nil {
				t.Fatal(err)
			}
			if f.Format != CSV || f.Encoding != c.enc {
				t.Errorf("format %s, encoding %s; want csv, %s", f.Format, f.Encoding, c.enc)
			}
			if !reflect.DeepEqual(f.Rows, want) {
				t.Errorf("rows %+v\nwant %+v", f.Rows, want)
			}
		})
	}
}

func TestReadRefusesGarbage(t *testing.T) {
	utf16NoBOM, _ := uni.UTF16(uni.LittleEndian, uni.IgnoreBOM).NewEncoder().Bytes([]byte("name\nACME\n"))
	for _, c := range []struct {
		name, file string
		data       []byte
		reason     string
		message    string
	}{
		{"not GBK either", "a.csv", []byte("name,industry\nACME,\x80\xff\xfe\n"), "bad_encoding",
			"the file's text cannot be read (line 2): it is neither UTF-8 nor GBK/GB18030; save it as CSV UTF-8 or as .xlsx"},
		{"UTF-16 without BOM", "a.csv", utf16NoBOM, "bad_encoding",
			"the file's text cannot be read (line 1): it holds NUL bytes: a binary file, or UTF-16 without a byte-order mark; save it as CSV UTF-8 or as .xlsx"},
		{"replacement characters in UTF-8", "a.csv", []byte("name\nAC\uFFFDME\n"), "bad_encoding",
			"the file's text cannot be read (line 2): it does not decode as utf-8; save it as CSV UTF-8 or as .xlsx"},
		{"binary", "a.png", []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), "bad_encoding",
			"the file's text cannot be read (line 3): it holds NUL bytes: a binary file, or UTF-16 without a byte-order mark; save it as CSV UTF-8 or as .xlsx"},
		{"xls", "a.xls", append([]byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}, make([]byte, 100)...), "unsupported_format",
			"this is an Excel 97–2003 (.xls) or password-protected workbook: save it as .xlsx (without a password) or as CSV"},
		{"named xlsx", "a.xlsx", []byte("name\nACME\n"), "malformed", "the file is named .xlsx but is not an XLSX workbook"},
		{"broken zip", "a.xlsx", []byte("PK\x03\x04garbage"), "malformed", ""},
		{"empty", "a.csv", []byte("\ufeff\r\n  ,  \r\n"), "empty", "the file is empty: it needs a head row and rows under it"},
		{"unterminated quote", "a.csv", []byte("name,notes\nACME,ok\nBeta,\"never closed\nGamma,x\n"), "malformed",
			"the CSV cannot be read from line 3: extraneous or missing \" in quoted-field (a quote opened and never closed, or a quote in a cell that is not quoted)"},
		{"bare quote", "a.csv", []byte("name,notes\nACME,ok\nBeta \"Best\" Co,x\n"), "malformed",
			"the CSV cannot be read from line 3: bare \" in non-quoted-field (a quote opened and never closed, or a quote in a cell that is not quoted)"},
		{"too many rows", "a.csv", []byte("name\na\nb\nc\nd\n"), "too_many_rows", "the file has more than 3 rows: split it into several files"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Read(c.data, c.file, 3)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err %v, want a *sheet.Error", err)
			}
			if e.Reason != c.reason || (c.message != "" && e.Message != c.message) {
				t.Errorf("%s: %q\nwant %s: %q", e.Reason, e.Message, c.reason, c.message)
			}
		})
	}
}

func TestSeparators(t *testing.T) {
	for sep, data := range map[string]string{
		"semicolon": "name;industry;region\nACME, Inc.;steel;Jiangsu\n",
		"tab":       "name\tindustry\tregion\nACME, Inc.\tsteel\tJiangsu\n",
		"comma":     "name,industry,region\n\"ACME, Inc.\",steel,Jiangsu\n",
	} {
		f, err := Read([]byte(data), "x.csv", 10)
		if err != nil {
			t.Fatal(sep, err)
		}
		if got := f.Rows[1].Cells; !reflect.DeepEqual(got, []string{"ACME, Inc.", "steel", "Jiangsu"}) {
			t.Errorf("%s: %q", sep, got)
		}
	}
}

// TestXLSXRoundTrip writes a workbook with the Writer and reads it back: text as it was (a
// formula-like text is a text cell, not a formula), amounts and dates as their raw numbers.
func TestXLSXRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewWriter(&buf, XLSX, "accounts")
	if err != nil {
		t.Fatal(err)
	}
	rows := [][]any{
		{"客户名称", "金额", "预计成交日期", "更新时间", "得分"},
		{"=HYPERLINK(\"http://x\")", Money(1200000050), Date("2027-03-31"), time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC), Number(87.5)},
		{nil, Money(0), Date(""), time.Time{}, 3},
	}
	for _, r := range rows {
		if err := w.Write(r...); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := Read(buf.Bytes(), "export.bin", 10)
	if err != nil {
		t.Fatal(err)
	}
	if f.Format != XLSX || f.Encoding != "" {
		t.Errorf("format %s encoding %q", f.Format, f.Encoding)
	}
	wantRows := []Row{
		{1, []string{"客户名称", "金额", "预计成交日期", "更新时间", "得分"}},
		{2, []string{"=HYPERLINK(\"http://x\")", "12000000.5", "46477", "46083.395833333336", "87.5"}},
		{3, []string{"", "0", "", "", "3"}},
	}
	if !reflect.DeepEqual(f.Rows, wantRows) {
		t.Errorf("rows %+v\nwant %+v", f.Rows, wantRows)
	}
	// The cells are typed: the amount shows with two decimals, the date as a date.
	x, err := excelize.OpenReader(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	for cell, want := range map[string]string{"B2": "12,000,000.50", "C2": "2027-03-31", "D2": "2026-03-02 09:30:00"} {
		if got, _ := x.GetCellValue("accounts", cell); got != want {
			t.Errorf("%s shows %q, want %q", cell, got, want)
		}
	}
	if ft, _ := x.GetCellFormula("accounts", "A2"); ft != "" {
		t.Errorf("A2 is a formula %q: text must stay text", ft)
	}
}

// TestXLSXLines: the line of an XLSX row is its row number, blank rows skipped.
func TestXLSXLines(t *testing.T) {
	x := excelize.NewFile()
	x.SetCellValue("Sheet1", "A1", "name")
	x.SetCellValue("Sheet1", "A2", "ACME")
	x.SetCellValue("Sheet1", "C5", "stray")
	x.SetCellValue("Sheet1", "A7", 42)
	var buf bytes.Buffer
	if err := x.Write(&buf); err != nil {
		t.Fatal(err)
	}
	f, err := Read(buf.Bytes(), "x.xlsx", 10)
	if err != nil {
		t.Fatal(err)
	}
	wantRows := []Row{{1, []string{"name"}}, {2, []string{"ACME"}}, {5, []string{"", "", "stray"}}, {7, []string{"42"}}}
	if !reflect.DeepEqual(f.Rows, wantRows) {
		t.Errorf("rows %+v\nwant %+v", f.Rows, wantRows)
	}
}

func TestCSVWriter(t *testing.T) {
	var buf bytes.Buffer
	w, _ := NewWriter(&buf, CSV, "")
	w.Write("name", "value", "date", "n")
	w.Write("=cmd|' /C calc'!A0", Money(-5), Date("2027-03-31"), 7)
	w.Write("+86 21 5555 1234", Money(123456), nil, true)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	want := "\ufeffname,value,date,n\r\n'=cmd|' /C calc'!A0,-0.05,2027-03-31,7\r\n'+86 21 5555 1234,1234.56,,true\r\n"
	if got := buf.String(); got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
	// And it reads back as written.
	f, err := Read(buf.Bytes(), "x.csv", 10)
	if err != nil || f.Encoding != "utf-8-bom" || !strings.HasPrefix(f.Rows[1].Cells[0], "'=cmd") {
		t.Errorf("read back: %v %+v", err, f)
	}
}

// TestLimits: a file past one of its limits is refused whole at the first excess, with the limit
// and where it was passed; blank cells after a row's last value are not a row's width.
func TestLimits(t *testing.T) {
	small := Limits{Rows: 5, Columns: 4, CellChars: 8, Text: 1 << 20, Unpacked: 160 << 20, Ratio: 100}
	wide := func(head []string, rows, cols int) []byte {
		var b bytes.Buffer
		if err := sheettest.WideXLSX(&b, head, rows, cols, "1"); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	for _, c := range []struct {
		name, file string
		data       []byte
		lim        Limits
		want       string // reason line column sheet limit max: message ("" for no error)
		rows       int    // data rows read before it
	}{
		{"a value past the columns", "a.csv", []byte("name,industry\nACME,steel\nBeta,x,,,y\n"), small,
			"too_many_columns 3 E  columns 4: line 3 has a value in column E, past the 4 columns an import file may have: delete the columns past the data", 1},
		{"a wide head", "a.csv", []byte("a,b,c,d,e\n1\n"), small,
			"too_many_columns 1 E  columns 4: line 1 has a value in column E, past the 4 columns an import file may have: delete the columns past the data", 0},
		{"blank cells past the columns", "a.csv", []byte("name,industry,,,,,,\nACME,steel,,,,,,,,\n"), small, "", 1},
		{"a record of more than 16 times the columns", "a.csv", []byte("name\nACME\n" + strings.Repeat(",", 64) + "\nlater\n"), small,
			"too_many_columns 3 BM  columns 4: line 3 has more than 64 cells, past the 4 columns an import file may have: delete the columns past the data", 1},
		{"a separator in quotes is no cell", "a.csv", []byte("name\n\"" + strings.Repeat(",", 100) + "\"\n"), Limits{Rows: 5, Columns: 4, CellChars: 200, Text: 1 << 20}, "", 1},
		{"the first excess is told", "a.csv", []byte("name\nACME\n123456789\n" + strings.Repeat(",", 64) + "\n"), small,
			"cell_too_long 3 A  cell_chars 8: the cell in column A of line 3 holds more than 8 characters (a spreadsheet's own limit for a cell)", 1},
		{"characters, not bytes", "a.csv", []byte("name\n一二三四五六七八\n"), small, "", 1},
		{"too much text", "a.csv", []byte("name,notes\nabcde,abcde\nabcde,abcde\n"), Limits{Rows: 5, Columns: 4, CellChars: 5, Text: 25},
			"too_much_text 3   text_bytes 25: the cells of the file hold more than 25 bytes of text by line 3: split it into several files", 1},
		{"too many cells, blank rows too", "a.csv", []byte("name\n" + strings.Repeat(",,,,,,,\n", 7)), Limits{Rows: 2, Columns: 4, CellChars: 5, Text: 1 << 20},
			"too_many_cells 4   cells 24: the file holds more than 24 cells (empty formatted cells included) by line 4: clear the rows and columns past the data, or split the file", 0},
		{"too many rows", "a.csv", []byte("name\na\nb\nc\nd\ne\nf\n"), small,
			"too_many_rows 7   rows 5: the file has more than 5 rows: split it into several files", 5},
		{"a wide worksheet", "a.xlsx", wide([]string{"name"}, 4, 70), DefaultLimits,
			`too_many_columns 2 BM Sheet1 columns 64: row 2 of worksheet "Sheet1" has a value in column BM, past the 64 columns an import file may have: delete the columns past the data`, 0},
		{"a zip bomb", "a.xlsx", wide([]string{"name"}, 2000, 1200), DefaultLimits,
			"unpacked_too_large 0   unpack_ratio 100: the workbook unpacks to 34.4 MiB (its part xl/worksheets/sheet1.xml to 34.4 MiB), 435 times its own size, more than the 100 times an import file may", 0},
		{"a workbook unpacking past the limit", "a.xlsx", wide([]string{"name"}, 2000, 1200), Limits{Rows: 5, Columns: 4, CellChars: 5, Text: 1 << 20, Unpacked: 20 << 20, Ratio: 1000},
			"unpacked_too_large 0   unpacked_bytes 20971520: the workbook unpacks to 34.4 MiB (its part xl/worksheets/sheet1.xml to 34.4 MiB), more than the 20 MiB an import file may unpack to: this is not a spreadsheet of rows to import (save the data alone as a new .xlsx or as CSV)", 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, n := "", 0
			r, err := Open(c.data, c.file, c.lim)
			if err == nil {
				for range r.Rows() {
					n++
				}
				err = r.Err()
				r.Close()
			}
			if err != nil {
				var e *Error
				if !errors.As(err, &e) {
					t.Fatalf("err %v, want a *sheet.Error", err)
				}
				got = fmt.Sprintf("%s %d %s %s %s %d: %s", e.Reason, e.Line, e.Column, e.Sheet, e.Limit, e.Max, e.Message)
			}
			if !strings.HasPrefix(got, c.want) || (c.want == "") != (got == "") || n != c.rows {
				t.Errorf("%d rows, %s\nwant %d rows, %s", n, got, c.rows, c.want)
			}
		})
	}
}

// TestBlankCellsPastTheColumns: a row's blank cells past the limit (the empty formatted cells of
// a worksheet) are left out, not refused.
func TestBlankCellsPastTheColumns(t *testing.T) {
	x := excelize.NewFile()
	x.SetCellValue("Sheet1", "A1", "name")
	x.SetCellValue("Sheet1", "A2", "ACME")
	style, _ := x.NewStyle(&excelize.Style{Border: []excelize.Border{{Type: "left", Color: "000000", Style: 1}}})
	x.SetCellStyle("Sheet1", "A2", "ZZ2", style)
	var buf bytes.Buffer
	if err := x.Write(&buf); err != nil {
		t.Fatal(err)
	}
	f, err := Read(buf.Bytes(), "x.xlsx", 10)
	if err != nil {
		t.Fatal(err)
	}
	if want := []Row{{1, []string{"name"}}, {2, []string{"ACME"}}}; !reflect.DeepEqual(f.Rows, want) || cap(f.Rows[1].Cells) != 1 {
		t.Errorf("rows %+v (capacity %d)\nwant %+v", f.Rows, cap(f.Rows[1].Cells), want)
	}
}

// TestRowsStream: the rows come one at a time; a reader let go of early holds nothing more.
func TestRowsStream(t *testing.T) {
	var b bytes.Buffer
	if err := sheettest.WideXLSX(&b, []string{"name", "industry"}, 1000, 2, "7"); err != nil {
		t.Fatal(err)
	}
	r, err := Open(b.Bytes(), "w.xlsx", DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if h := r.Head(); h.Line != 1 || !reflect.DeepEqual(h.Cells, []string{"name", "industry"}) || r.Sheet != "Sheet1" || r.Format != XLSX {
		t.Errorf("head %+v of %s %s", h, r.Sheet, r.Format)
	}
	for row := range r.Rows() {
		if row.Line != 2 || !reflect.DeepEqual(row.Cells, []string{"7", "7"}) {
			t.Errorf("row %+v", row)
		}
		break
	}
	if r.Count() != 1 || r.Err() != nil {
		t.Errorf("count %d, err %v", r.Count(), r.Err())
	}
}
