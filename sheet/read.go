// Package sheet reads and writes the spreadsheets of imports and exports: CSV in the encodings
// spreadsheets save it in (UTF-8 with or without a byte-order mark, UTF-16 with one, and GBK /
// GB18030, which Excel on a Chinese Windows writes), and XLSX. It knows nothing of kamflow's
// records: a file is rows of text cells, each with the line the user sees it on.
//
// A file is read a row at a time (Open, then Reader.Rows): an XLSX worksheet through excelize's
// streaming row iterator, never loaded whole. What a file may hold is bounded (Limits), and a file
// past a limit is refused whole at the first excess, with the limit and where it was passed — so
// that what reading a file costs follows from its rows, whatever its bytes unpack to.
package sheet

import (
	"archive/zip"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"iter"
	"path"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"
	uni "golang.org/x/text/encoding/unicode"
	"golang.org/x/text/encoding/unicode/utf32"
)

// Format is a file format.
type Format string

// The formats.
const (
	CSV  Format = "csv"
	XLSX Format = "xlsx"
)

// ParseFormat reads a format's name; "" is CSV.
func ParseFormat(s string) (Format, bool) {
	switch Format(strings.ToLower(strings.TrimSpace(s))) {
	case "", CSV:
		return CSV, true
	case XLSX:
		return XLSX, true
	}
	return "", false
}

// Limits bound what a file may hold. A file past one of them is refused whole at the first
// excess (an Error naming the limit, and the row, column, worksheet or part where it was passed).
type Limits struct {
	// Rows is how many data rows a file may have: rows after the head, blank rows not counted
	// (too_many_rows).
	Rows int
	// Columns is how far to the right a row's values may go (too_many_columns). Blank cells after
	// a row's last value — the empty formatted cells a worksheet keeps — do not count; but a row
	// of more than 16 times as many cells, blank or not, is refused too, as is a worksheet of more
	// than 2 × (Rows + 1) × Columns cells in all (too_many_cells), so that no row, nor the file,
	// costs more to read than its values.
	Columns int
	// CellChars is how many characters one cell may hold (cell_too_long): Excel's own limit is
	// 32,767.
	CellChars int
	// Text is how many bytes of text the cells may hold together (too_much_text): a workbook's
	// shared strings let a small file repeat a long text in every cell.
	Text int64
	// Unpacked is how many bytes an XLSX workbook may unpack to, and Ratio how many times its own
	// size it may unpack to once past 16 MiB (unpacked_too_large): a small zip of repeated cells
	// can hold gigabytes. Both are read from the zip's directory, before anything is unpacked;
	// the unpacking itself stops at the sizes declared there.
	Unpacked int64
	Ratio    int
}

// DefaultLimits are the limits of an import file.
var DefaultLimits = Limits{Rows: 100_000, Columns: 64, CellChars: 32_767, Text: 64 << 20, Unpacked: 160 << 20, Ratio: 100}

// ratioFloor is the unpacked size under which Limits.Ratio does not apply: a small workbook of
// repeated cells may compress a hundredfold and costs nothing to read.
const ratioFloor = 16 << 20

// xmlInMemory is the largest worksheet or shared-string table excelize keeps in memory; larger
// ones it unpacks to a temporary file and reads from there.
const xmlInMemory = 4 << 20

// Error is a file that cannot be read at all. Reason is a stable code: bad_encoding,
// unsupported_format, malformed, empty, or — a file past one of its Limits — too_many_rows,
// too_many_columns, too_many_cells, cell_too_long, too_much_text or unpacked_too_large.
type Error struct {
	Reason  string
	Message string
	// Line is the row where it went wrong (a CSV line, a worksheet's row number), when known;
	// Column the column's letters (A, B, … BM) and Sheet the worksheet, when known.
	Line   int
	Column string
	Sheet  string
	// Part is the workbook's part (xl/worksheets/sheet1.xml) that unpacks the most, for
	// unpacked_too_large.
	Part string
	// Limit names the limit passed (rows, columns, cells, cell_chars, text_bytes, unpacked_bytes,
	// unpack_ratio) and Max is its value.
	Limit string
	Max   int64
}

func (e *Error) Error() string { return e.Message }

// Row is one row of a file: its line (1-based, as the user sees it: the line of a CSV file where
// the row starts, the row number of a worksheet) and its cells.
type Row struct {
	Line  int
	Cells []string
}

// File is a file's rows, blank rows left out: the first is the head.
type File struct {
	Format Format
	// Encoding is how a CSV file's bytes were read: utf-8, utf-8-bom, utf-16le, utf-16be or
	// gb18030. "" for XLSX.
	Encoding string
	// Date1904 says an XLSX workbook counts its dates from 1904.
	Date1904 bool
	Rows     []Row
}

// The magic numbers of the containers: XLSX is a zip; an OLE2 compound file is an Excel 97–2003
// .xls or a password-protected workbook.
var (
	zipMagic = []byte("PK\x03\x04")
	oleMagic = []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}
)

// Read reads a whole file under DefaultLimits with at most maxRows data rows: Open and every row.
func Read(data []byte, name string, maxRows int) (*File, error) {
	lim := DefaultLimits
	lim.Rows = maxRows
	r, err := Open(data, name, lim)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	f := &File{Format: r.Format, Encoding: r.Encoding, Date1904: r.Date1904, Rows: []Row{r.Head()}}
	for row := range r.Rows() {
		f.Rows = append(f.Rows, row)
	}
	if err := r.Err(); err != nil {
		return nil, err
	}
	return f, nil
}

// Reader reads a file a row at a time: the head at once, then the data rows (Rows), blank rows
// left out.
type Reader struct {
	Format Format
	// Encoding is how a CSV file's bytes were read (see File); "" for XLSX.
	Encoding string
	// Date1904 says an XLSX workbook counts its dates from 1904; Sheet is the worksheet read (the
	// first).
	Date1904 bool
	Sheet    string

	lim   Limits
	head  Row
	next  func() (cells []string, line int, ok bool, err error) // the file's next row, blank or not
	close func() error
	rows  int   // data rows handed out
	cells int64 // cells read, blank ones and blank rows too
	text  int64 // bytes of the cells' text
	err   error
}

// Open starts reading a file — XLSX when it is a zip, else CSV text — and reads its head: the
// first row that is not blank. A file that cannot be read, or has no head, is an *Error.
func Open(data []byte, name string, lim Limits) (*Reader, error) {
	r := &Reader{lim: lim, close: func() error { return nil }}
	var err error
	switch {
	case bytes.HasPrefix(data, zipMagic):
		err = r.openXLSX(data)
	case bytes.HasPrefix(data, oleMagic):
		err = &Error{Reason: "unsupported_format", Message: "this is an Excel 97–2003 (.xls) or password-protected workbook: save it as .xlsx (without a password) or as CSV"}
	case strings.EqualFold(path.Ext(name), ".xlsx"):
		err = &Error{Reason: "malformed", Message: "the file is named .xlsx but is not an XLSX workbook"}
	default:
		err = r.openCSV(data)
	}
	if err != nil {
		r.Close()
		return nil, err
	}
	head, ok := r.read()
	if !ok {
		r.Close()
		if r.err != nil {
			return nil, r.err
		}
		if r.Format == XLSX {
			return nil, &Error{Reason: "empty", Sheet: r.Sheet, Message: "the first worksheet is empty: it needs a head row and rows under it"}
		}
		return nil, &Error{Reason: "empty", Message: "the file is empty: it needs a head row and rows under it"}
	}
	r.head = head
	return r, nil
}

// Head is the file's head row.
func (r *Reader) Head() Row { return r.head }

// Rows yields the data rows, one at a time. It stops at the end of the file, or at the first row
// the file cannot be read past (Err says why); a yielded row's cells are the caller's to keep.
func (r *Reader) Rows() iter.Seq[Row] {
	return func(yield func(Row) bool) {
		for r.err == nil {
			row, ok := r.read()
			if !ok {
				return
			}
			if r.rows == r.lim.Rows {
				r.err = r.fail("too_many_rows", row.Line, "", "rows", int64(r.lim.Rows),
					fmt.Sprintf("the file has more than %d rows: split it into several files", r.lim.Rows))
				return
			}
			r.rows++
			if !yield(row) {
				return
			}
		}
	}
}

// Count is how many data rows Rows has yielded.
func (r *Reader) Count() int { return r.rows }

// Err is why Rows stopped before the end of the file: an *Error.
func (r *Reader) Err() error { return r.err }

// Close lets go of what reading holds (an XLSX file's temporary files).
func (r *Reader) Close() error { return r.close() }

// read returns the next row that is not blank, checked against the limits.
func (r *Reader) read() (Row, bool) {
	for r.err == nil {
		cells, line, ok, err := r.next()
		if err != nil {
			r.err = err
			return Row{}, false
		}
		if !ok {
			return Row{}, false
		}
		cells, err = r.check(line, cells)
		if err != nil {
			r.err = err
			return Row{}, false
		}
		if cells != nil {
			return Row{Line: line, Cells: cells}, true
		}
	}
	return Row{}, false
}

// check holds a row to the limits. It returns its cells up to the last value (nil for a blank
// row) when the row has blank cells past the column limit; otherwise the cells as they are.
func (r *Reader) check(line int, cells []string) ([]string, error) {
	r.cells += int64(len(cells))
	if maxCells := 2 * int64(r.lim.Rows+1) * int64(r.lim.Columns); r.cells > maxCells {
		return nil, r.fail("too_many_cells", line, "", "cells", maxCells,
			fmt.Sprintf("%s holds more than %d cells (empty formatted cells included) by %s: clear the rows and columns past the data, or split the file",
				r.what(), maxCells, r.where(line)))
	}
	if len(cells) > 16*r.lim.Columns {
		return nil, r.fail("too_many_columns", line, columnName(16*r.lim.Columns), "columns", int64(r.lim.Columns),
			fmt.Sprintf("%s has more than %d cells, past the %d columns an import file may have: delete the columns past the data",
				r.where(line), 16*r.lim.Columns, r.lim.Columns))
	}
	last := len(cells) - 1
	for last >= 0 && blankCell(cells[last]) {
		last--
	}
	if last < 0 {
		return nil, nil
	}
	if last >= r.lim.Columns {
		first := r.lim.Columns
		for blankCell(cells[first]) {
			first++
		}
		return nil, r.fail("too_many_columns", line, columnName(first), "columns", int64(r.lim.Columns),
			fmt.Sprintf("%s has a value in column %s, past the %d columns an import file may have: delete the columns past the data",
				r.where(line), columnName(first), r.lim.Columns))
	}
	if len(cells) > r.lim.Columns {
		cells = slices.Clone(cells[:last+1]) // not the blank cells past the limit, nor their array
	}
	for i, c := range cells {
		if len(c) > r.lim.CellChars && utf8.RuneCountInString(c) > r.lim.CellChars {
			return nil, r.fail("cell_too_long", line, columnName(i), "cell_chars", int64(r.lim.CellChars),
				fmt.Sprintf("the cell in column %s of %s holds more than %d characters (a spreadsheet's own limit for a cell)",
					columnName(i), r.where(line), r.lim.CellChars))
		}
		r.text += int64(len(c))
	}
	if r.text > r.lim.Text {
		return nil, r.fail("too_much_text", line, "", "text_bytes", r.lim.Text,
			fmt.Sprintf("the cells of %s hold more than %s of text by %s: split it into several files",
				r.what(), mib(r.lim.Text), r.where(line)))
	}
	return cells, nil
}

// fail is a limit's error at a row.
func (r *Reader) fail(reason string, line int, column, limit string, max int64, msg string) *Error {
	return &Error{Reason: reason, Message: msg, Line: line, Column: column, Sheet: r.Sheet, Limit: limit, Max: max}
}

// what names the file in a message: the file, or its worksheet.
func (r *Reader) what() string {
	if r.Format == XLSX {
		return fmt.Sprintf("worksheet %q", r.Sheet)
	}
	return "the file"
}

// where names a row in a message: a CSV file's line, a worksheet's row.
func (r *Reader) where(line int) string {
	if r.Format == XLSX {
		return fmt.Sprintf("row %d of worksheet %q", line, r.Sheet)
	}
	return fmt.Sprintf("line %d", line)
}

// columnName is a column's spreadsheet letters (0: A, 25: Z, 26: AA).
func columnName(i int) string {
	s := ""
	for i++; i > 0; i = (i - 1) / 26 {
		s = string(rune('A'+(i-1)%26)) + s
	}
	return s
}

func mib(n int64) string {
	if n < 1<<20 {
		return fmt.Sprintf("%d bytes", n)
	}
	if n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

func blankCell(c string) bool { return strings.TrimFunc(c, unicode.IsSpace) == "" }

// decodeText turns a CSV file's bytes into text. A byte-order mark says UTF-8 or UTF-16; without
// one, valid UTF-8 is UTF-8 and anything else is read as GB18030 (a superset of GBK and GB2312).
// What decodes to garbage — replacement characters, NULs (UTF-16 without a mark), control
// characters of a binary file — is refused with the line it starts on.
func decodeText(data []byte) (string, string, error) {
	var text, enc string
	switch {
	case bytes.HasPrefix(data, []byte{0xEF, 0xBB, 0xBF}):
		text, enc = string(data[3:]), "utf-8-bom"
	case bytes.HasPrefix(data, []byte{0xFF, 0xFE, 0, 0}), bytes.HasPrefix(data, []byte{0, 0, 0xFE, 0xFF}):
		b, err := utf32.UTF32(utf32.BigEndian, utf32.ExpectBOM).NewDecoder().Bytes(data)
		if err != nil {
			return "", "", badEncoding(0, "it is UTF-32 and does not decode")
		}
		text, enc = string(b), "utf-32"
	case bytes.HasPrefix(data, []byte{0xFF, 0xFE}), bytes.HasPrefix(data, []byte{0xFE, 0xFF}):
		enc = "utf-16le"
		if data[0] == 0xFE {
			enc = "utf-16be"
		}
		b, err := uni.UTF16(uni.BigEndian, uni.ExpectBOM).NewDecoder().Bytes(data)
		if err != nil {
			return "", "", badEncoding(0, "it is UTF-16 and does not decode")
		}
		text = string(b)
	case utf8.Valid(data):
		text, enc = string(data), "utf-8"
	default:
		b, err := simplifiedchinese.GB18030.NewDecoder().Bytes(data)
		if err != nil {
			return "", "", badEncoding(0, "it is neither UTF-8 nor GBK/GB18030")
		}
		text, enc = string(b), "gb18030"
	}
	i := strings.IndexByte(text, 0)
	if i < 0 {
		i = strings.IndexFunc(text, garbage)
	}
	if i >= 0 {
		line := 1 + strings.Count(text[:i], "\n")
		switch {
		case text[i] == 0:
			return "", "", badEncoding(line, "it holds NUL bytes: a binary file, or UTF-16 without a byte-order mark")
		case enc == "gb18030":
			return "", "", badEncoding(line, "it is neither UTF-8 nor GBK/GB18030")
		default:
			return "", "", badEncoding(line, "it does not decode as "+enc)
		}
	}
	return text, enc, nil
}

// garbage is what no spreadsheet's text holds: the replacement character of a byte that did not
// decode, and control characters other than tab and line breaks.
func garbage(r rune) bool {
	return r == utf8.RuneError || (r < 0x20 && r != '\t' && r != '\n' && r != '\r') || r == 0x7F
}

func badEncoding(line int, why string) *Error {
	where := ""
	if line > 0 {
		where = fmt.Sprintf(" (line %d)", line)
	}
	return &Error{Reason: "bad_encoding", Line: line,
		Message: "the file's text cannot be read" + where + ": " + why + "; save it as CSV UTF-8 or as .xlsx"}
}

// openCSV reads CSV text a record at a time. The separator is what the head line uses most of: a
// comma, or the semicolon (Excel in many European locales) or tab that some spreadsheets write.
func (r *Reader) openCSV(data []byte) error {
	text, enc, err := decodeText(data)
	if err != nil {
		return err
	}
	r.Format, r.Encoding = CSV, enc
	sep := separator(text)
	// A record of millions of separators would cost gigabytes before its row could be checked:
	// the text stops before the first record far wider than the limit, which is refused when
	// the reader gets there (after the rows before it, so that the first excess is the one told).
	var wide *Error
	if at, line := wideRecord(text, sep, 16*r.lim.Columns); at >= 0 {
		text = text[:at]
		wide = r.fail("too_many_columns", line, columnName(16*r.lim.Columns), "columns", int64(r.lim.Columns),
			fmt.Sprintf("line %d has more than %d cells, past the %d columns an import file may have: delete the columns past the data",
				line, 16*r.lim.Columns, r.lim.Columns))
	}
	cr := csv.NewReader(strings.NewReader(text))
	cr.Comma = sep
	cr.FieldsPerRecord = -1
	// Quotes are strict: with lazy quotes a quote opened and never closed would swallow the rest
	// of the file into one cell without a word. Spreadsheets always quote a cell that holds one.
	r.next = func() ([]string, int, bool, error) {
		rec, err := cr.Read()
		if err == io.EOF {
			if wide != nil {
				return nil, 0, false, wide
			}
			return nil, 0, false, nil
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, 0, false, &Error{Reason: "malformed", Line: pe.StartLine,
					Message: fmt.Sprintf("the CSV cannot be read from line %d: %v (a quote opened and never closed, or a quote in a cell that is not quoted)", pe.StartLine, pe.Err)}
			}
			return nil, 0, false, &Error{Reason: "malformed", Message: "the CSV cannot be read: " + err.Error()}
		}
		line, _ := cr.FieldPos(0)
		return rec, line, true, nil
	}
	return nil
}

// wideRecord finds the first record of CSV text with more than max cells: where it starts (-1 for
// none) and its line. A quote toggles quoting, as in well-formed CSV (a doubled quote toggles it
// twice); in text that is not well formed the CSV reader stops at the bad quote first.
func wideRecord(text string, sep rune, max int) (int, int) {
	s := byte(sep) // the separators are ASCII
	cells, line, start, startLine := 1, 1, 0, 1
	quoted := false
	for i := 0; i < len(text); i++ {
		switch c := text[i]; {
		case c == '"':
			quoted = !quoted
		case c == '\n':
			line++
			if !quoted {
				cells, start, startLine = 1, i+1, line
			}
		case c == s && !quoted:
			if cells++; cells > max {
				return start, startLine
			}
		}
	}
	return -1, 0
}

func separator(text string) rune {
	head, _, _ := strings.Cut(text, "\n")
	best, n := ',', strings.Count(head, ",")
	for _, c := range []rune{';', '\t'} {
		if k := strings.Count(head, string(c)); k > n {
			best, n = c, k
		}
	}
	return best
}

// openXLSX reads the first worksheet of a workbook, row by row through excelize's streaming
// iterator, with the cells' raw values: the text of a text cell, the number of a number or date
// cell (12000000, or 46477 for 2027-03-31) rather than how the cell's format shows it
// ("12,000,000.00", "3/31/27"), so that amounts and dates read the same whatever the workbook's
// formats and locale. What the workbook unpacks to is checked first, from the zip's directory.
func (r *Reader) openXLSX(data []byte) error {
	r.Format = XLSX
	if err := r.checkZip(data); err != nil {
		return err
	}
	f, err := excelize.OpenReader(bytes.NewReader(data), excelize.Options{UnzipSizeLimit: r.lim.Unpacked,
		UnzipXMLSizeLimit: min(xmlInMemory, r.lim.Unpacked)})
	if err != nil {
		if strings.Contains(err.Error(), "unzip size") {
			return &Error{Reason: "unpacked_too_large", Limit: "unpacked_bytes", Max: r.lim.Unpacked,
				Message: fmt.Sprintf("the workbook unpacks to more than %s: split it into several files", mib(r.lim.Unpacked))}
		}
		return &Error{Reason: "malformed", Message: "the XLSX workbook cannot be read: " + err.Error()}
	}
	r.close = f.Close
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		return &Error{Reason: "empty", Message: "the workbook has no worksheet"}
	}
	r.Sheet = sheets[0]
	if props, err := f.GetWorkbookProps(); err == nil && props.Date1904 != nil {
		r.Date1904 = *props.Date1904
	}
	it, err := f.Rows(r.Sheet)
	if err != nil {
		return &Error{Reason: "malformed", Sheet: r.Sheet, Message: "the worksheet cannot be read: " + err.Error()}
	}
	r.close = func() error {
		it.Close()
		return f.Close()
	}
	line := 0
	r.next = func() ([]string, int, bool, error) {
		if !it.Next() {
			if err := it.Error(); err != nil {
				return nil, 0, false, &Error{Reason: "malformed", Sheet: r.Sheet, Message: "the worksheet cannot be read: " + err.Error()}
			}
			return nil, 0, false, nil
		}
		line++
		cells, err := it.Columns(excelize.Options{RawCellValue: true})
		if err != nil {
			return nil, 0, false, &Error{Reason: "malformed", Line: line, Sheet: r.Sheet,
				Message: fmt.Sprintf("row %d of the worksheet cannot be read: %v", line, err)}
		}
		return cells, line, true, nil
	}
	return nil
}

// checkZip refuses a workbook whose zip directory says it unpacks to more than the limit, or to
// more than Ratio times its own size once past ratioFloor. The directory's sizes hold: unpacking
// a part stops with an error at its declared size.
func (r *Reader) checkZip(data []byte) error {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return &Error{Reason: "malformed", Message: "the XLSX workbook cannot be read: " + err.Error()}
	}
	var total uint64
	var big *zip.File
	for _, f := range zr.File {
		total += f.UncompressedSize64
		if big == nil || f.UncompressedSize64 > big.UncompressedSize64 {
			big = f
		}
	}
	if big == nil {
		return nil // excelize says what is missing
	}
	fail := func(limit string, max int64, why string) error {
		return &Error{Reason: "unpacked_too_large", Part: big.Name, Limit: limit, Max: max,
			Message: fmt.Sprintf("the workbook unpacks to %s (its part %s to %s), %s: this is not a spreadsheet of rows to import (save the data alone as a new .xlsx or as CSV)",
				mib(int64(min(total, 1<<62))), big.Name, mib(int64(min(big.UncompressedSize64, 1<<62))), why)}
	}
	switch {
	case total > uint64(r.lim.Unpacked):
		return fail("unpacked_bytes", r.lim.Unpacked, fmt.Sprintf("more than the %s an import file may unpack to", mib(r.lim.Unpacked)))
	case total > ratioFloor && total/uint64(len(data)) > uint64(r.lim.Ratio):
		return fail("unpack_ratio", int64(r.lim.Ratio), fmt.Sprintf("%d times its own size, more than the %d times an import file may", total/uint64(len(data)), r.lim.Ratio))
	}
	return nil
}
