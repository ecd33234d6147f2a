package pdf

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// wrap breaks s into lines no wider than width as measured by measure. Each "\n" starts a new
// line. A line may break between any two CJK characters but only at spaces within Latin text,
// as Chinese typesetting does; a word wider than a whole line is cut where it overflows.
// Closing punctuation (，。）」 …) is kept off the start of a line and opening punctuation
// （「 … off its end, by carrying the neighbouring character over with it (simple kinsoku).
// The result has at least one line, possibly empty.
func wrap(s string, width float64, measure func(string) float64) []string {
	var lines []string
	for _, para := range strings.Split(s, "\n") {
		lines = append(lines, wrapParagraph(para, width, measure)...)
	}
	return lines
}

func wrapParagraph(p string, width float64, measure func(string) float64) []string {
	var (
		lines []string
		line  []string // tokens
		w     float64  // width of line, trailing blanks included
	)
	emit := func() {
		for len(line) > 0 && isBlank(line[len(line)-1]) {
			line = line[:len(line)-1]
		}
		lines = append(lines, strings.Join(line, ""))
		line, w = nil, 0
	}
	// content tells whether the line holds anything but blanks.
	content := func() bool {
		for _, t := range line {
			if !isBlank(t) {
				return true
			}
		}
		return false
	}
	for _, t := range tokenize(p) {
		tw := measure(t)
		switch {
		case isBlank(t):
			// Blanks may hang past the edge: they are trimmed where the line ends. A wrapped
			// line does not start with them.
			if len(line) > 0 || len(lines) == 0 {
				line, w = append(line, t), w+tw
			}
		case w+tw <= width:
			line, w = append(line, t), w+tw
		case tw > width:
			// Too wide for any line: cut it by characters, filling lines in turn.
			if content() {
				emit()
			}
			line, w = nil, 0
			for _, r := range t {
				rs := string(r)
				rw := measure(rs)
				if w+rw > width && len(line) > 0 {
					emit()
				}
				line, w = append(line, rs), w+rw
			}
		case noStart(t) && content():
			// Closing punctuation may not start a line: take the token before it along, if
			// something remains behind; otherwise let the punctuation overhang the edge.
			last := len(line) - 1
			if last >= 1 && !isBlank(line[last]) && !isBlank(line[last-1]) {
				prev := line[last]
				line = line[:last]
				emit()
				line, w = []string{prev, t}, measure(prev)+tw
			} else {
				line, w = append(line, t), w+tw
			}
		default:
			// Opening punctuation may not end a line: it moves down with what it opens.
			var carry []string
			for len(line) > 1 && noEnd(line[len(line)-1]) {
				c := line[len(line)-1]
				if measure(c+strings.Join(carry, ""))+tw > width {
					break
				}
				carry = append([]string{c}, carry...)
				line = line[:len(line)-1]
			}
			if content() {
				emit()
			}
			line, w = nil, 0
			for _, c := range carry {
				line, w = append(line, c), w+measure(c)
			}
			line, w = append(line, t), w+tw
		}
	}
	if len(line) > 0 || len(lines) == 0 {
		emit()
	}
	return lines
}

// tokenize splits a paragraph into the units wrap never breaks inside (unless one alone is too
// wide): runs of blanks, single wide (CJK) characters, and runs of everything else (words).
func tokenize(p string) []string {
	var toks []string
	start, startBlank := -1, false // the pending run of blanks or of word characters
	for i, r := range p {
		blank, wide := r == ' ', isWide(r)
		if start >= 0 && (wide || blank != startBlank) {
			toks = append(toks, p[start:i])
			start = -1
		}
		switch {
		case wide:
			toks = append(toks, string(r))
		case start < 0:
			start, startBlank = i, blank
		}
	}
	if start >= 0 {
		toks = append(toks, p[start:])
	}
	return toks
}

func isBlank(t string) bool { return t != "" && strings.Trim(t, " ") == "" }

// isWide tells whether r is a CJK character, after or before which a line may break. These are
// the blocks of East Asian Wide and Fullwidth characters.
func isWide(r rune) bool {
	switch {
	case r >= 0x1100 && r <= 0x115F, // Hangul Jamo initials
		r >= 0x2E80 && r <= 0x303E, // CJK radicals, Kangxi, CJK symbols and punctuation
		r >= 0x3041 && r <= 0x33FF, // Kana, Bopomofo, Hangul compatibility Jamo, CJK compatibility
		r >= 0x3400 && r <= 0x4DBF, // CJK Extension A
		r >= 0x4E00 && r <= 0x9FFF, // CJK Unified Ideographs
		r >= 0xA000 && r <= 0xA4CF, // Yi
		r >= 0xAC00 && r <= 0xD7A3, // Hangul syllables
		r >= 0xF900 && r <= 0xFAFF, // CJK compatibility ideographs
		r >= 0xFE30 && r <= 0xFE4F, // CJK compatibility forms
		r >= 0xFF01 && r <= 0xFF60, // fullwidth forms
		r >= 0xFFE0 && r <= 0xFFE6,
		r >= 0x20000 && r <= 0x3FFFD: // CJK Extensions B and later
		return true
	}
	return false
}

const (
	closing = "、。，．：；？！）］｝〕〉》」』】〙〗〟’”…‥・ー々〜～％,.;:!?)]}%"
	opening = "（［｛〔〈《「『【〘〖〝‘“([{"
)

func noStart(t string) bool {
	r, _ := utf8.DecodeRuneInString(t)
	return strings.ContainsRune(closing, r)
}

func noEnd(t string) bool {
	r, _ := utf8.DecodeRuneInString(t)
	return utf8.RuneCountInString(t) == 1 && strings.ContainsRune(opening, r)
}

// clean makes free text printable: line ends become "\n" (or a space when oneLine), tabs
// become spaces, and control and invisible format characters (zero-width spaces, bidi marks,
// BOM) are dropped, since the font has no glyph for them.
func clean(s string, oneLine bool) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\n' || r == '\r' || r == '\u2028' || r == '\u2029':
			if oneLine {
				b.WriteByte(' ')
			} else {
				b.WriteByte('\n')
			}
		case r == '\t' || r == '\u00A0':
			b.WriteByte(' ')
		case r == utf8.RuneError, unicode.IsControl(r), unicode.Is(unicode.Cf, r):
		default:
			b.WriteRune(r)
		}
	}
	if oneLine {
		return strings.Join(strings.Fields(b.String()), " ")
	}
	return strings.TrimRight(b.String(), " \n")
}
