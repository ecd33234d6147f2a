package kamflow

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Text as people type it is checked here once for every field: what a screen shows must be what
// is stored, so characters that change how text reads without being seen are refused, and a
// field that holds nothing visible is empty. (The API normalises text to NFC as it decodes it.)

// textProblem says what is wrong with s, "" when nothing is: C0 and C1 control characters (tab
// and line breaks aside, which notes may hold) and the bidirectional embedding, override and
// isolate controls, which make text read in another order than it is stored (a file name, an
// amount or a name that is not what it seems).
func textProblem(s string) string {
	if !utf8.ValidString(s) {
		return "is not valid UTF-8"
	}
	for _, r := range s {
		switch {
		case r == '\t' || r == '\n' || r == '\r':
		case r < 0x20 || (r >= 0x7f && r <= 0x9f):
			return "must not contain control characters"
		case (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069):
			return "must not contain bidirectional override or isolate characters"
		}
	}
	return ""
}

// invisible reports whether r shows nothing by itself: spaces, format characters (zero-width
// space and joiners, the byte-order mark, the soft hyphen, direction marks) and the fillers that
// render blank.
func invisible(r rune) bool {
	switch r {
	case '\u115f', '\u1160', '\u3164', '\uffa0', '\u2800':
		return true
	}
	return unicode.IsSpace(r) || unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Mn, r) && r >= 0xfe00 && r <= 0xfe0f
}

// Blank reports whether s has nothing visible in it.
func Blank(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return !invisible(r) }) < 0
}
