package sheet

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"
)

// Typed cells for Writer.Write. Text is any string.
type (
	// Money is an amount in minor units (cents): a number with two decimals.
	Money int64
	// Date is a calendar date "YYYY-MM-DD" ("" for none): a date cell in XLSX.
	Date string
	// Number is a number shown as it is (a score, a percentage).
	Number float64
)

// Writer writes rows to a file, one at a time: CSV straight to its output, XLSX through
// excelize's stream writer, which keeps the rows in a temporary file rather than in memory.
type Writer interface {
	// Write writes one row: strings, ints, bools, Money, Date, Number and time.Time (a date
	// and time, in UTC), nil for an empty cell.
	Write(cells ...any) error
	// Close finishes the file (an XLSX file is written to the output only now).
	Close() error
}

// NewWriter starts a file of the format on w. sheetName names an XLSX file's worksheet.
func NewWriter(w io.Writer, f Format, sheetName string) (Writer, error) {
	// A nil *xlsxWriter or *csvWriter in the interface would not be nil: return nil itself.
	if f == XLSX {
		x, err := newXLSXWriter(w, sheetName)
		if err != nil {
			return nil, err
		}
		return x, nil
	}
	c, err := newCSVWriter(w)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Guard keeps a spreadsheet from running a text cell as a formula: one starting with = + - @ or
// a tab or line break gets a ' before it, which spreadsheets show rather than run. Only CSV
// needs it: an XLSX text cell is never a formula.
func Guard(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r\n", rune(s[0])) {
		return "'" + s
	}
	return s
}

// csvWriter writes UTF-8 with a byte-order mark (without it, Excel on a Chinese Windows reads the
// file as GBK) and CRLF line ends, as Excel writes and expects.
type csvWriter struct {
	buf *bufio.Writer
	w   *csv.Writer
	rec []string
}

func newCSVWriter(w io.Writer) (*csvWriter, error) {
	buf := bufio.NewWriterSize(w, 64<<10)
	if _, err := buf.WriteString("\ufeff"); err != nil {
		return nil, err
	}
	cw := csv.NewWriter(buf)
	cw.UseCRLF = true
	return &csvWriter{buf: buf, w: cw}, nil
}

func (c *csvWriter) Write(cells ...any) error {
	c.rec = c.rec[:0]
	for _, v := range cells {
		c.rec = append(c.rec, csvCell(v))
	}
	return c.w.Write(c.rec)
}

func csvCell(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return Guard(v)
	case Money:
		return moneyText(v)
	case Date:
		return string(v)
	case Number:
		return strconv.FormatFloat(float64(v), 'f', -1, 64)
	case time.Time:
		if v.IsZero() {
			return ""
		}
		return v.UTC().Format(time.RFC3339)
	case int:
		return strconv.Itoa(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case bool:
		return strconv.FormatBool(v)
	}
	return Guard(fmt.Sprint(v))
}

func moneyText(m Money) string {
	sign, v := "", int64(m)
	if v < 0 {
		sign, v = "-", -v
	}
	return fmt.Sprintf("%s%d.%02d", sign, v/100, v%100)
}

func (c *csvWriter) Close() error {
	c.w.Flush()
	if err := c.w.Error(); err != nil {
		return err
	}
	return c.buf.Flush()
}

// xlsxWriter writes typed cells: amounts as numbers with two decimals, dates as dates, so that a
// spreadsheet sums and sorts them.
type xlsxWriter struct {
	out                      io.Writer
	f                        *excelize.File
	sw                       *excelize.StreamWriter
	row                      int
	head, money, date, stamp int // style ids
	cells                    []any
}

func newXLSXWriter(w io.Writer, sheetName string) (*xlsxWriter, error) {
	f := excelize.NewFile()
	if sheetName == "" {
		sheetName = "Sheet1"
	}
	if err := f.SetSheetName(f.GetSheetName(0), sheetName); err != nil {
		f.Close()
		return nil, err
	}
	x := &xlsxWriter{out: w, f: f}
	var err error
	dateFmt, stampFmt := "yyyy-mm-dd", "yyyy-mm-dd hh:mm:ss"
	styles := []struct {
		id    *int
		style *excelize.Style
	}{
		{&x.head, &excelize.Style{Font: &excelize.Font{Bold: true}}},
		{&x.money, &excelize.Style{NumFmt: 4}}, // #,##0.00
		{&x.date, &excelize.Style{CustomNumFmt: &dateFmt}},
		{&x.stamp, &excelize.Style{CustomNumFmt: &stampFmt}},
	}
	for _, s := range styles {
		if *s.id, err = f.NewStyle(s.style); err != nil {
			f.Close()
			return nil, err
		}
	}
	if x.sw, err = f.NewStreamWriter(sheetName); err != nil {
		f.Close()
		return nil, err
	}
	return x, nil
}

func (x *xlsxWriter) Write(cells ...any) error {
	x.row++
	x.cells = x.cells[:0]
	for _, v := range cells {
		x.cells = append(x.cells, x.cell(v))
	}
	ref, err := excelize.CoordinatesToCellName(1, x.row)
	if err != nil {
		return err
	}
	return x.sw.SetRow(ref, x.cells)
}

func (x *xlsxWriter) cell(v any) any {
	style := 0
	if x.row == 1 {
		style = x.head
	}
	switch v := v.(type) {
	case nil:
		return nil
	case Money:
		f, _ := strconv.ParseFloat(moneyText(v), 64)
		return excelize.Cell{StyleID: x.money, Value: f}
	case Date:
		t, err := time.Parse(time.DateOnly, string(v))
		if err != nil {
			return string(v)
		}
		return excelize.Cell{StyleID: x.date, Value: t}
	case time.Time:
		if v.IsZero() {
			return nil
		}
		return excelize.Cell{StyleID: x.stamp, Value: v.UTC()}
	case Number:
		return float64(v)
	case string:
		return excelize.Cell{StyleID: style, Value: v}
	}
	return v
}

func (x *xlsxWriter) Close() error {
	defer x.f.Close()
	if err := x.sw.Flush(); err != nil {
		return err
	}
	return x.f.Write(x.out)
}
