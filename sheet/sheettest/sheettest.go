// Package sheettest builds workbooks for the tests and benchmarks of imports: a worksheet of many
// wide rows written straight into a zip, a row at a time, so that a file as small and as large as
// a zip bomb's (27,000 rows of 1,200 cells: 1 MB deflated, 486 MB unpacked) takes seconds and no
// memory to make.
package sheettest

import (
	"archive/zip"
	"bufio"
	"fmt"
	"html"
	"io"
	"strings"
)

// The parts of a minimal workbook besides its worksheet.
var parts = []struct{ name, body string }{
	{"[Content_Types].xml", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>`},
	{"_rels/.rels", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>`},
	{"xl/workbook.xml", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>`},
	{"xl/_rels/workbook.xml.rels", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>`},
}

// WideXLSX writes a workbook to w whose worksheet Sheet1 has head as its first row (text cells)
// and then rows-1 rows of cols number cells, each holding value (a number such as 1): 15 bytes
// of XML a cell, as compact as a worksheet gets, so that it compresses as a zip bomb does.
func WideXLSX(w io.Writer, head []string, rows, cols int, value string) error {
	line := strings.Repeat(`<c><v>`+html.EscapeString(value)+`</v></c>`, cols)
	return writeXLSX(w, func(b *bufio.Writer) {
		textRow(b, 1, head)
		for r := 2; r <= rows; r++ {
			fmt.Fprintf(b, `<row r="%d">`, r)
			b.WriteString(line)
			b.WriteString(`</row>`)
		}
	})
}

// RowsXLSX writes a workbook to w whose worksheet Sheet1 has head as its first row and then n
// rows of row(i) (i from 0), every cell an inline text cell: a large workbook of real-looking
// rows, written a row at a time.
func RowsXLSX(w io.Writer, head []string, n int, row func(i int) []string) error {
	return writeXLSX(w, func(b *bufio.Writer) {
		textRow(b, 1, head)
		for i := range n {
			textRow(b, i+2, row(i))
		}
	})
}

// writeXLSX writes the workbook's fixed parts and a worksheet whose rows rows writes.
func writeXLSX(w io.Writer, rows func(b *bufio.Writer)) error {
	z := zip.NewWriter(w)
	for _, p := range parts {
		f, err := z.Create(p.name)
		if err != nil {
			return err
		}
		if _, err := io.WriteString(f, p.body); err != nil {
			return err
		}
	}
	f, err := z.Create("xl/worksheets/sheet1.xml")
	if err != nil {
		return err
	}
	b := bufio.NewWriterSize(f, 1<<16)
	b.WriteString(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\n" +
		`<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>`)
	rows(b)
	b.WriteString(`</sheetData></worksheet>`)
	if err := b.Flush(); err != nil {
		return err
	}
	return z.Close()
}

// textRow writes row r of inline text cells.
func textRow(b *bufio.Writer, r int, cells []string) {
	fmt.Fprintf(b, `<row r="%d">`, r)
	for _, c := range cells {
		fmt.Fprintf(b, `<c t="inlineStr"><is><t>%s</t></is></c>`, html.EscapeString(c))
	}
	b.WriteString(`</row>`)
}
