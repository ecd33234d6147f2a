package kamflow

import (
	"strings"
	"unicode"

	"golang.org/x/text/secure/precis"
)

// Usernames are PRECIS identifiers (RFC 8265). A username is kept in the UsernameCasePreserved
// form (full-width letters and digits mapped to their ordinary width, Unicode normalisation form
// C), and two usernames are the same when their UsernameCaseMapped forms (the same, lower-cased)
// are equal: "ＫＡＭ１", "KAM1" and "kam1" are one username. UsernameKey is that comparison
// form; the store keeps it in a unique column and looks users up by it, and sign-in throttling
// counts by it, so that no spelling of a username is a fresh one.

// NormalizeUsername returns the form in which a new username is kept, or invalid: 2–64
// characters once normalised; letters, digits, '.', '_' and '-' only (a combining mark may follow
// a letter); and every letter of one script — or of Latin with Han, kana, Bopomofo or Hangul, as
// Chinese, Japanese and Korean names are written — so that a look-alike mixing, say, Cyrillic
// "а" into a Latin name ("kаm1") is refused.
func NormalizeUsername(s string) (string, error) {
	n, err := precis.UsernameCasePreserved.String(s)
	if err != nil || n == "" {
		return "", Errorf(EINVALID, "username may hold letters, digits, '.', '_' and '-' only").WithDetail("field", "username")
	}
	if l := len([]rune(n)); l < 2 || l > 64 {
		return "", Errorf(EINVALID, "username must be 2 to 64 characters").WithDetail("field", "username")
	}
	prevLetter := false
	for _, r := range n {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
		case unicode.In(r, unicode.Mn, unicode.Mc) && prevLetter:
			continue // keeps prevLetter: several marks may follow a letter
		case r == '.' || r == '_' || r == '-':
		default:
			return "", Errorf(EINVALID, "username may hold letters, digits, '.', '_' and '-' only").WithDetail("field", "username")
		}
		prevLetter = unicode.IsLetter(r)
	}
	if !singleScript(n) {
		return "", Errorf(EINVALID, "username mixes the letters of several scripts (such as Latin and Cyrillic look-alikes)").
			WithDetail("field", "username")
	}
	return n, nil
}

// UsernameKey is the form in which usernames are compared: UsernameCaseMapped. A string that is
// no valid username (it cannot name a user) is only lower-cased, so that it still has a stable key,
// e.g. for counting failed sign-ins.
func UsernameKey(s string) string {
	if k, err := precis.UsernameCaseMapped.String(s); err == nil {
		return k
	}
	return strings.ToLower(s)
}

// The scripts that may be mixed with Latin and each other in a username (Unicode UTS #39's
// "highly restrictive" profile): Chinese (Han, Bopomofo), Japanese (Han, Hiragana, Katakana) and
// Korean (Han, Hangul).
var (
	cjkSets = [][]*unicode.RangeTable{
		{unicode.Latin, unicode.Han, unicode.Bopomofo},
		{unicode.Latin, unicode.Han, unicode.Hiragana, unicode.Katakana},
		{unicode.Latin, unicode.Han, unicode.Hangul},
	}
	// scriptTables are the scripts a letter or digit is tested against, CJK and Latin first as
	// the most frequent here.
	scriptTables = func() []*unicode.RangeTable {
		first := []*unicode.RangeTable{unicode.Latin, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul, unicode.Bopomofo}
		out := append([]*unicode.RangeTable{}, first...)
		for name, t := range unicode.Scripts {
			if name == "Common" || name == "Inherited" {
				continue
			}
			known := false
			for _, f := range first {
				known = known || f == t
			}
			if !known {
				out = append(out, t)
			}
		}
		return out
	}()
)

// singleScript reports whether the letters and digits of s are of one script, or of one of the
// CJK combinations. Characters of no particular script (ASCII digits, '.', '-', the prolonged
// sound mark) and combining marks do not count.
func singleScript(s string) bool {
	var scripts []*unicode.RangeTable
	for _, r := range s {
		if unicode.Is(unicode.Common, r) || unicode.Is(unicode.Inherited, r) {
			continue
		}
		for _, t := range scriptTables {
			if unicode.Is(t, r) {
				seen := false
				for _, x := range scripts {
					seen = seen || x == t
				}
				if !seen {
					scripts = append(scripts, t)
				}
				break
			}
		}
	}
	if len(scripts) <= 1 {
		return true
	}
	for _, set := range cjkSets {
		all := true
		for _, x := range scripts {
			in := false
			for _, y := range set {
				in = in || x == y
			}
			all = all && in
		}
		if all {
			return true
		}
	}
	return false
}
