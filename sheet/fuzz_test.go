package sheet

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/kamflow/kamflow/sheet/sheettest"
)

// reasons are the stable codes of a file refused whole.
var reasons = map[string]bool{"bad_encoding": true, "unsupported_format": true, "malformed": true, "empty": true,
	"too_many_rows": true, "too_many_columns": true, "too_many_cells": true, "cell_too_long": true, "too_much_text": true,
	"unpacked_too_large": true}

// FuzzOpen reads arbitrary bytes as an upload is read, under small limits: whatever comes in,
// reading never panics, a refusal is an *Error with a known reason, and every row handed out is
// within the limits — no more rows than Rows, no value past Columns, no cell longer than
// CellChars, no more text than Text.
func FuzzOpen(f *testing.F) {
	for _, s := range []string{"name\nACME\n", "a,b\n1,2,3,4,5\n", "a;b\n\"x;y\";z\n", "name\n\"open\n", "\ufeffa\tb\n1\t2\n",
		"a\n" + strings.Repeat(",", 70) + "\n", "a\n" + strings.Repeat("x", 40) + "\n", "a\n\n\n,,,,,,,,,,,,\nb\n"} {
		f.Add([]byte(s), false)
	}
	for _, w := range [][2]int{{3, 2}, {3, 9}, {40, 3}} {
		var b bytes.Buffer
		if err := sheettest.WideXLSX(&b, []string{"name", "notes"}, w[0], w[1], "1"); err != nil {
			f.Fatal(err)
		}
		f.Add(b.Bytes(), true)
	}
	lim := Limits{Rows: 20, Columns: 6, CellChars: 16, Text: 256, Unpacked: 1 << 20, Ratio: 100}
	f.Fuzz(func(t *testing.T, data []byte, xlsx bool) {
		name := "f.csv"
		if xlsx {
			name = "f.xlsx"
		}
		r, err := Open(data, name, lim)
		var rows []Row
		if err == nil {
			rows = append(rows, r.Head())
			for row := range r.Rows() {
				rows = append(rows, row)
			}
			err = r.Err()
			r.Close()
		}
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || !reasons[e.Reason] || e.Message == "" {
				t.Fatalf("refused with %T %v", err, err)
			}
		}
		if len(rows) > lim.Rows+1 {
			t.Fatalf("%d rows past the limit of %d", len(rows)-1, lim.Rows)
		}
		text := 0
		for _, row := range rows {
			for i, c := range row.Cells {
				if i >= lim.Columns && !blankCell(c) {
					t.Fatalf("line %d: a value in column %d, past %d", row.Line, i+1, lim.Columns)
				}
				if utf8.RuneCountInString(c) > lim.CellChars {
					t.Fatalf("line %d: a cell of %d characters", row.Line, utf8.RuneCountInString(c))
				}
				text += len(c)
			}
		}
		if int64(text) > lim.Text {
			t.Fatalf("%d bytes of text, past %d", text, lim.Text)
		}
	})
}
