// Package sheet reads and writes the spreadsheets of imports and exports: CSV in the encodings
// spreadsheets save it in (UTF-8 with or without a byte-order mark, UTF-16 with one, and GBK /
// GB18030, which Excel on a Chinese Windows writes), and XLSX. It knows nothing of kamflow's
// records: a file is rows of text cells, each with the line the user sees it on.
package sheet

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"path"
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

// Error is a file that cannot be read at all. Reason is a stable code: bad_encoding,
// unsupported_format, malformed, empty or too_many_rows. Line is where it went wrong, when known.
type Error struct {
	Reason  string
	Message string
	Line    int
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

// unzipLimit bounds what an XLSX file may unpack to: a 20 MiB zip of repeated cells can hold
// gigabytes.
const unzipLimit = 512 << 20

// Read reads a file: XLSX when it is a zip, else CSV text. It returns at most maxRows rows after
// the head and refuses a longer file (too_many_rows).
func Read(data []byte, name string, maxRows int) (*File, error) {
	switch {
	case bytes.HasPrefix(data, zipMagic):
		return readXLSX(data, maxRows)
	case bytes.HasPrefix(data, oleMagic):
		return nil, &Error{Reason: "unsupported_format", Message: "this is an Excel 97–2003 (.xls) or password-protected workbook: save it as .xlsx (without a password) or as CSV"}
	case strings.EqualFold(path.Ext(name), ".xlsx"):
		return nil, &Error{Reason: "malformed", Message: "the file is named .xlsx but is not an XLSX workbook"}
	}
	text, enc, err := decodeText(data)
	if err != nil {
		return nil, err
	}
	rows, err := readCSV(text, maxRows)
	if err != nil {
		return nil, err
	}
	return &File{Format: CSV, Encoding: enc, Rows: rows}, nil
}

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

// readCSV splits CSV text into rows. The separator is what the head line uses most of: a comma,
// or the semicolon (Excel in many European locales) or tab that some spreadsheets write.
func readCSV(text string, maxRows int) ([]Row, error) {
	r := csv.NewReader(strings.NewReader(text))
	r.Comma = separator(text)
	r.FieldsPerRecord = -1
	// Quotes are strict: with lazy quotes a quote opened and never closed would swallow the rest
	// of the file into one cell without a word. Spreadsheets always quote a cell that holds one.
	var rows []Row
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, &Error{Reason: "malformed", Line: pe.StartLine,
					Message: fmt.Sprintf("the CSV cannot be read from line %d: %v (a quote opened and never closed, or a quote in a cell that is not quoted)", pe.StartLine, pe.Err)}
			}
			return nil, &Error{Reason: "malformed", Message: "the CSV cannot be read: " + err.Error()}
		}
		line, _ := r.FieldPos(0)
		if blank(rec) {
			continue
		}
		if len(rows) > maxRows {
			return nil, tooMany(maxRows)
		}
		rows = append(rows, Row{Line: line, Cells: rec})
	}
	if len(rows) == 0 {
		return nil, &Error{Reason: "empty", Message: "the file is empty: it needs a head row and rows under it"}
	}
	return rows, nil
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

func blank(cells []string) bool {
	for _, c := range cells {
		if strings.TrimFunc(c, unicode.IsSpace) != "" {
			return false
		}
	}
	return true
}

func tooMany(maxRows int) *Error {
	return &Error{Reason: "too_many_rows", Message: fmt.Sprintf("the file has more than %d rows: split it into several files", maxRows)}
}

// readXLSX reads the first worksheet of a workbook, row by row, with the cells' raw values: the
// text of a text cell, the number of a number or date cell (12000000, or 46477 for 2027-03-31)
// rather than how the cell's format shows it ("12,000,000.00", "3/31/27"), so that amounts and
// dates read the same whatever the workbook's formats and locale.
func readXLSX(data []byte, maxRows int) (*File, error) {
	f, err := excelize.OpenReader(bytes.NewReader(data), excelize.Options{UnzipSizeLimit: unzipLimit})
	if err != nil {
		if errors.Is(err, excelize.ErrOptionsUnzipSizeLimit) || strings.Contains(err.Error(), "unzip size") {
			return nil, &Error{Reason: "too_large", Message: "the workbook unpacks to more than 512 MiB"}
		}
		return nil, &Error{Reason: "malformed", Message: "the XLSX workbook cannot be read: " + err.Error()}
	}
	defer f.Close()
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		return nil, &Error{Reason: "empty", Message: "the workbook has no worksheet"}
	}
	out := &File{Format: XLSX}
	if props, err := f.GetWorkbookProps(); err == nil && props.Date1904 != nil {
		out.Date1904 = *props.Date1904
	}
	it, err := f.Rows(sheets[0])
	if err != nil {
		return nil, &Error{Reason: "malformed", Message: "the worksheet cannot be read: " + err.Error()}
	}
	defer it.Close()
	for line := 1; it.Next(); line++ {
		cells, err := it.Columns(excelize.Options{RawCellValue: true})
		if err != nil {
			return nil, &Error{Reason: "malformed", Line: line, Message: fmt.Sprintf("row %d of the worksheet cannot be read: %v", line, err)}
		}
		if blank(cells) {
			continue
		}
		if len(out.Rows) > maxRows {
			return nil, tooMany(maxRows)
		}
		out.Rows = append(out.Rows, Row{Line: line, Cells: cells})
	}
	if err := it.Error(); err != nil {
		return nil, &Error{Reason: "malformed", Message: "the worksheet cannot be read: " + err.Error()}
	}
	if len(out.Rows) == 0 {
		return nil, &Error{Reason: "empty", Message: "the first worksheet is empty: it needs a head row and rows under it"}
	}
	return out, nil
}
