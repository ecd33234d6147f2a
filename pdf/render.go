package pdf

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/signintech/gopdf"
)

// Page geometry, in points (1/72 in), measured from the page's top left corner as gopdf does.
const (
	pageWidth    = 595 // A4 as gopdf.PageSizeA4 has it: 210 × 297 mm, rounded
	pageHeight   = 842
	marginX      = 50
	contentWidth = pageWidth - 2*marginX
	contentTop   = 44
	contentEnd   = pageHeight - 58 // content stops above the footer
	footerRule   = pageHeight - 48
	footerLine   = pageHeight - 35 // baseline of the footer's text

	sizeBody  = 10
	sizeTable = 9
	leading   = 1.45 // line height as a multiple of the font size
	padX      = 5    // a table cell's inner margins
	padY      = 3
	boxSize   = 8 // the check box of a punch-list status
)

// missing replaces characters the font has no glyph for.
const missing = '□'

type colour struct{ r, g, b uint8 }

var (
	colourInk    = colour{0x1F, 0x23, 0x28}
	colourMuted  = colour{0x5B, 0x63, 0x6E}
	colourAccent = colour{0x1F, 0x3A, 0x5F}
	colourBorder = colour{0xB4, 0xBB, 0xC4}
	colourHead   = colour{0xE6, 0xEB, 0xF2} // table heading rows
	colourShade  = colour{0xF4, 0xF6, 0xF8} // label column
	colourPass   = colour{0x1B, 0x7A, 0x3D}
	colourWarn   = colour{0xA3, 0x5C, 0x00}
	colourFail   = colour{0xB4, 0x23, 0x18}
	tintPass     = colour{0xE9, 0xF6, 0xED}
	tintWarn     = colour{0xFD, 0xF3, 0xE0}
	tintFail     = colour{0xFB, 0xEA, 0xE8}
)

// doc is a certificate being laid out: a gopdf document and a cursor going down its pages.
//
// gopdf reports errors from many calls; doc keeps the first in err and turns later calls into
// no-ops, so the layout code reads straight through and finish reports it.
type doc struct {
	gp     *gopdf.GoPdf
	lab    *labels
	number string // the certificate number, repeated in every page's footer
	y      float64
	pages  int
	size   float64       // the font size set last
	glyphs map[rune]bool // whether the font has each rune met so far
	err    error
}

func newDoc(lab *labels, number string, created time.Time) (*doc, error) {
	ttf, err := font()
	if err != nil {
		return nil, err
	}
	gp := &gopdf.GoPdf{}
	gp.Start(gopdf.Config{PageSize: *gopdf.PageSizeA4, Unit: gopdf.UnitPT})
	number = clean(number, true)
	gp.SetInfo(gopdf.PdfInfo{
		Title:        titleZH + " " + titleEN + " " + number,
		Creator:      "kamflow",
		CreationDate: created,
	})
	err = gp.AddTTFFontDataWithOption(fontFamily, ttf, gopdf.TtfOption{
		// clean has already replaced what the font lacks; this is a backstop.
		OnGlyphNotFoundSubstitute: func(rune) rune { return missing },
	})
	if err != nil {
		return nil, fmt.Errorf("pdf: font: %w", err)
	}
	d := &doc{gp: gp, lab: lab, glyphs: map[rune]bool{}}
	d.setSize(sizeBody)
	d.number = d.clean(number, true)
	d.newPage()
	return d, d.err
}

// finish numbers the pages and writes the document to w. The document is made in memory
// first, as gopdf does not report its writer's errors.
func (d *doc) finish(w io.Writer) error {
	for p := 1; p <= d.pages && d.err == nil; p++ {
		d.fail(d.gp.SetPage(p))
		s := fmt.Sprintf(d.lab.page, p, d.pages)
		d.setSize(8)
		d.text(marginX+contentWidth-d.measure(s), footerLine, 8, colourMuted, s)
	}
	if d.err != nil {
		return fmt.Errorf("pdf: %w", d.err)
	}
	var b bytes.Buffer
	if _, err := d.gp.WriteTo(&b); err != nil {
		return fmt.Errorf("pdf: %w", err)
	}
	_, err := w.Write(b.Bytes())
	return err
}

func (d *doc) fail(err error) {
	if d.err == nil && err != nil {
		d.err = err
	}
}

// newPage starts a page with its footer, less the page number, which finish adds once the
// number of pages is known. Drawing the footer now also gives the page its content stream at
// once, which gopdf's SetPage relies on to find pages again.
func (d *doc) newPage() {
	d.gp.AddPage()
	d.pages++
	d.line(marginX, footerRule, marginX+contentWidth, footerRule, colourBorder, 0.5)
	d.text(marginX, footerLine, 8, colourMuted, d.lab.footer+d.number)
	d.y = contentTop
}

// room makes sure h points are left on the page, starting a new one if not.
func (d *doc) room(h float64) {
	if d.y+h > contentEnd {
		d.newPage()
	}
}

// clean is the package's clean, which also replaces the characters the font lacks with □.
func (d *doc) clean(s string, oneLine bool) string {
	s = clean(s, oneLine)
	return strings.Map(func(r rune) rune {
		if r == '\n' {
			return r
		}
		has, ok := d.glyphs[r]
		if !ok {
			var err error
			has, err = d.gp.IsCurrFontContainGlyph(r)
			d.fail(err)
			d.glyphs[r] = has
		}
		if !has {
			return missing
		}
		return r
	}, s)
}

func (d *doc) setSize(size float64) {
	if d.err == nil && size != d.size {
		d.fail(d.gp.SetFont(fontFamily, "", size))
		d.size = size
	}
}

// measure is the width of s at the current font size.
func (d *doc) measure(s string) float64 {
	if d.err != nil || s == "" {
		return 0
	}
	w, err := d.gp.MeasureTextWidth(s)
	d.fail(err)
	return w
}

// text draws s with its baseline at y.
func (d *doc) text(x, y, size float64, c colour, s string) {
	if d.err != nil || s == "" {
		return
	}
	d.setSize(size)
	d.gp.SetTextColor(c.r, c.g, c.b)
	d.gp.SetXY(x, y)
	d.fail(d.gp.Text(s))
}

// baseline is where text of the given size sits in a line of height h whose top is at top: it
// centres CJK ideographs, which run from about 0.12 em below the baseline to 0.88 em above.
func baseline(top, h, size float64) float64 {
	return top + h/2 + 0.36*size
}

func (d *doc) line(x1, y1, x2, y2 float64, c colour, width float64) {
	if d.err != nil {
		return
	}
	d.gp.SetLineWidth(width)
	d.gp.SetStrokeColor(c.r, c.g, c.b)
	d.gp.Line(x1, y1, x2, y2)
}

// rect draws a rectangle, filled with fill unless it is nil and outlined with stroke unless
// that is nil. Colours are set each time: text drawing changes the fill colour too.
func (d *doc) rect(x, y, w, h float64, fill, stroke *colour, width float64) {
	if d.err != nil {
		return
	}
	style := ""
	if fill != nil {
		d.gp.SetFillColor(fill.r, fill.g, fill.b)
		style += "F"
	}
	if stroke != nil {
		d.gp.SetLineWidth(width)
		d.gp.SetStrokeColor(stroke.r, stroke.g, stroke.b)
		style += "D"
	}
	if style != "" {
		d.gp.RectFromUpperLeftWithStyle(x, y, w, h, style)
	}
}

// rule draws a line across the content width at the cursor.
func (d *doc) rule(c colour, width float64) {
	d.line(marginX, d.y, marginX+contentWidth, d.y, c, width)
}

// centred draws one line of text centred across the page in a line h high.
func (d *doc) centred(s string, size float64, c colour, h float64) {
	d.setSize(size)
	s = d.clean(s, true)
	d.text(marginX+(contentWidth-d.measure(s))/2, baseline(d.y, h, size), size, c, s)
	d.y += h
}

// fit shortens s with "…" until it is no wider than width at the current font size.
func (d *doc) fit(s string, width float64) string {
	if d.measure(s) <= width {
		return s
	}
	r := []rune(s)
	for len(r) > 1 && d.measure(string(r)+"…") > width {
		r = r[:len(r)-1]
	}
	return string(r) + "…"
}

// wrap wraps s to width at the given size.
func (d *doc) wrap(s string, width, size float64) []string {
	d.setSize(size)
	return wrap(s, width, d.measure)
}

// paragraph draws wrapped text across the content width, running on to new pages.
func (d *doc) paragraph(s string, size float64, c colour) {
	lh := size * leading
	for _, l := range d.wrap(d.clean(s, false), contentWidth, size) {
		d.room(lh)
		d.text(marginX, baseline(d.y, lh, size), size, c, l)
		d.y += lh
	}
}

// section starts a section with its heading, kept on the same page as at least the first lines
// of what follows.
func (d *doc) section(title string) {
	const h, keep = 22, 60
	d.room(h + keep)
	d.y += 4
	d.rect(marginX, d.y+4, 3, h-8, &colourAccent, nil, 0)
	d.text(marginX+9, baseline(d.y, h, 12), 12, colourAccent, d.clean(title, true))
	d.y += h
}

// banner states the result in a box coloured after it, with the number of open punch-list
// items when there are any.
func (d *doc) banner(result string, open int) {
	const h = 36
	ink, tint := colourPass, tintPass
	switch result {
	case ResultPassWithPunchList:
		ink, tint = colourWarn, tintWarn
	case ResultFail:
		ink, tint = colourFail, tintFail
	}
	d.room(h)
	d.rect(marginX, d.y, contentWidth, h, &tint, &ink, 1.2)
	label := d.lab.result + d.lab.colon
	d.setSize(15)
	lw := d.measure(label)
	d.text(marginX+14, baseline(d.y, h, 15), 15, ink, label)
	d.text(marginX+14+lw, baseline(d.y, h, 15), 15, ink, d.lab.results[result])
	if open > 0 {
		s := fmt.Sprintf("%s%d", d.lab.openItems, open)
		d.setSize(sizeBody)
		d.text(marginX+contentWidth-14-d.measure(s), baseline(d.y, h, sizeBody), sizeBody, ink, s)
	}
	d.y += h
}

// A table is laid out row by row. A row moves to the next page whole when it does not fit
// where it would start but would fit on a fresh page; a row taller than a page is split
// between lines. The heading row, if any, starts the table and every page it runs on to.
type table struct {
	cols []column
	rows [][]cell
	size float64
	head bool // the columns' titles make a heading row
}

type column struct {
	title  string
	width  float64
	centre bool // centre the text rather than align it left
	shade  bool // a label column, on a grey ground
}

type cell struct {
	text   string
	colour colour // of the text; the zero value is ink
	box    int    // boxNone, or a check box before the text
}

const (
	boxNone = iota
	boxOpen
	boxChecked
)

func (d *doc) table(t table) {
	lh := t.size * leading
	var (
		headRow   []cell
		headLines [][]string
		headN     int
	)
	if t.head {
		headRow = make([]cell, len(t.cols))
		for i, c := range t.cols {
			headRow[i] = cell{text: c.title, colour: colourAccent}
		}
		headLines = d.linesOf(t, headRow)
		headN = maxLines(headLines)
	}
	heading := func() {
		if !t.head {
			return
		}
		d.rowPart(t, headRow, headLines, 0, headN, true)
	}
	headH := 0.0
	if t.head {
		headH = float64(headN)*lh + 2*padY
	}
	// Lines of a row that fit on an otherwise empty page.
	perPage := int((contentEnd - contentTop - headH - 2*padY) / lh)

	d.room(headH + lh + 2*padY)
	heading()
	for _, row := range t.rows {
		lines := d.linesOf(t, row)
		n := maxLines(lines)
		for from := 0; from < n && d.err == nil; {
			fit := int((contentEnd - d.y - 2*padY) / lh)
			left := n - from
			if fit < left && (left <= perPage || fit < 2) {
				d.newPage()
				heading()
				continue
			}
			to := from + min(fit, left)
			d.rowPart(t, row, lines, from, to, false)
			from = to
		}
	}
}

func maxLines(lines [][]string) int {
	n := 0
	for _, l := range lines {
		n = max(n, len(l))
	}
	return n
}

// linesOf wraps each cell of a row to its column.
func (d *doc) linesOf(t table, row []cell) [][]string {
	lines := make([][]string, len(row))
	for i, c := range row {
		w := t.cols[i].width - 2*padX
		if c.box != boxNone {
			w -= boxSize + 4
		}
		lines[i] = d.wrap(c.text, w, t.size)
	}
	return lines
}

// rowPart draws lines [from, to) of a row at the cursor and moves the cursor below them.
func (d *doc) rowPart(t table, row []cell, lines [][]string, from, to int, head bool) {
	lh := t.size * leading
	h := float64(to-from)*lh + 2*padY
	x := float64(marginX)
	for i, col := range t.cols {
		switch {
		case head:
			d.rect(x, d.y, col.width, h, &colourHead, &colourBorder, 0.5)
		case col.shade:
			d.rect(x, d.y, col.width, h, &colourShade, &colourBorder, 0.5)
		default:
			d.rect(x, d.y, col.width, h, nil, &colourBorder, 0.5)
		}
		c := row[i]
		ink := c.colour
		if ink == (colour{}) {
			ink = colourInk
		}
		tx := x + padX
		if c.box != boxNone && from == 0 {
			d.checkBox(tx, d.y+padY+(lh-boxSize)/2, c.box == boxChecked, ink)
		}
		if c.box != boxNone {
			tx += boxSize + 4
		}
		for j := from; j < to && j < len(lines[i]); j++ {
			l := lines[i][j]
			lx := tx
			if col.centre {
				d.setSize(t.size)
				lx = x + (col.width-d.measure(l))/2
			}
			d.text(lx, baseline(d.y+padY+float64(j-from)*lh, lh, t.size), t.size, ink, l)
		}
		x += col.width
	}
	d.y += h
}

// checkBox draws a square with its top left corner at (x, y), ticked when checked. The tick is
// drawn rather than set as text: the font has no ☐ or ☑.
func (d *doc) checkBox(x, y float64, checked bool, c colour) {
	d.rect(x, y, boxSize, boxSize, nil, &c, 0.8)
	if checked {
		d.line(x+1.6, y+boxSize*0.52, x+boxSize*0.42, y+boxSize-1.8, c, 1.2)
		d.line(x+boxSize*0.42, y+boxSize-1.8, x+boxSize-1.2, y+1.4, c, 1.2)
	}
}

// signatures draws the two signature blocks side by side, kept together on one page: the
// customer's representative on the left, the supplier's engineer on the right with the name of
// the engineer who recorded the acceptance printed on the name line.
func (d *doc) signatures(engineer string) {
	const gap, lineH, headH = 20, 25, 22
	w := (contentWidth - gap) / 2.0
	rows := []string{d.lab.name, d.lab.signature, d.lab.dated, d.lab.seal}
	h := headH + float64(len(rows))*lineH + 10
	d.y += 14
	d.room(h)
	blocks := []struct{ title, name string }{{d.lab.customerRep, ""}, {d.lab.supplierEng, engineer}}
	for i, b := range blocks {
		x := marginX + float64(i)*(w+gap)
		y := d.y
		d.rect(x, y, w, h, nil, &colourBorder, 0.5)
		d.text(x+10, baseline(y+4, headH, 11), 11, colourAccent, d.clean(b.title, true))
		y += headH + 4
		d.setSize(sizeBody)
		labelW := 0.0
		for _, r := range rows {
			labelW = max(labelW, d.measure(r+d.lab.colon))
		}
		lx, end := x+10+labelW+4, x+w-12 // where the lines to write on run
		for j, r := range rows {
			base := baseline(y, lineH, sizeBody) + 4
			d.text(x+10, base, sizeBody, colourMuted, r+d.lab.colon)
			d.line(lx, base+3, end, base+3, colourInk, 0.5)
			if j == 0 && b.name != "" {
				d.text(lx+4, base, sizeBody, colourInk, d.fit(b.name, end-lx-8))
			}
			y += lineH
		}
	}
	d.y += h
}
