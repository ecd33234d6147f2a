package kamflow

import (
	_ "embed"
	"strings"
	"sync"
	"unicode"
)

// commonPasswordList is the list of commonly used passwords that ValidatePassword refuses, one a
// line, lower case; "#" starts a comment line. passwords_gen.go writes it (go generate): the most
// common passwords of the well-known breach compilations and yearly top lists, the words and names
// they are made of, keyboard walks, digit patterns (including the Chinese number puns such as
// 5201314) and those words with the suffixes people add.
//
//go:generate go run passwords_gen.go
//go:embed passwords.txt
var commonPasswordList string

var commonPasswords = sync.OnceValue(func() map[string]struct{} {
	set := make(map[string]struct{}, 8192)
	for _, line := range strings.Split(commonPasswordList, "\n") {
		line = strings.ToLower(strings.TrimSpace(line))
		if line != "" && !strings.HasPrefix(line, "#") {
			set[line] = struct{}{}
		}
	}
	return set
})

// CommonPasswords is how many passwords the list of common passwords holds.
func CommonPasswords() int { return len(commonPasswords()) }

var (
	// deleet undoes the digits and symbols written for look-alike letters (p@ssw0rd).
	deleet = strings.NewReplacer("0", "o", "1", "i", "3", "e", "4", "a", "5", "s", "7", "t", "8", "b", "9", "g",
		"@", "a", "$", "s", "!", "i", "+", "t", "|", "l")
	// unshift undoes the shift key on the digit row (!qaz@wsx).
	unshift = strings.NewReplacer("!", "1", "@", "2", "#", "3", "$", "4", "%", "5", "^", "6", "&", "7", "*", "8", "(", "9", ")", "0")
)

// commonPassword reports whether p is a common password, but for its case, look-alike digits and
// symbols, the spaces and punctuation inside it, the digits and symbols before and after it
// (Password2024!, 1iloveyou), or written backwards.
func commonPassword(p string) bool {
	set := commonPasswords()
	l := strings.ToLower(p)
	notLetter := func(r rune) bool { return !unicode.IsLetter(r) }
	trimmed := strings.TrimFunc(l, notLetter)
	squeezed := strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return r
		}
		return -1
	}, l)
	for _, c := range []string{
		l, trimmed, deleet.Replace(l), deleet.Replace(trimmed), strings.TrimFunc(deleet.Replace(trimmed), notLetter),
		squeezed, strings.TrimFunc(squeezed, notLetter), deleet.Replace(strings.TrimFunc(squeezed, notLetter)),
		unshift.Replace(l), reverse(l), reverse(trimmed),
	} {
		if _, ok := set[c]; ok && c != "" {
			return true
		}
	}
	return false
}

func reverse(s string) string {
	r := []rune(s)
	for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
		r[i], r[j] = r[j], r[i]
	}
	return string(r)
}

// keyboardRows are the rows of a US keyboard, unshifted and shifted: neighbours on a row are a
// keyboard walk.
var keyboardRows = []string{"`1234567890-=", "qwertyuiop[]\\", "asdfghjkl;'", "zxcvbnm,./", "~!@#$%^&*()_+", "{}|", ":\"", "<>?"}

var keyboardPos = func() map[rune][2]int {
	m := map[rune][2]int{}
	for i, row := range keyboardRows {
		for j, r := range []rune(row) {
			m[r] = [2]int{i, j}
		}
	}
	return m
}()

// predictable reports whether p is a repetition (a part repeated: abcabcabc, 1212121212) or made
// mostly of sequences: runs of one character, of consecutive characters (abcdef, 987654), of an
// even step (13579) or of keyboard neighbours (qwertyuiop, asdfghjkl). A character that does not
// follow from those before it is new; fewer than 4 new characters, or new characters for a
// quarter of the password or less, is predictable.
func predictable(p string) bool {
	r := []rune(strings.ToLower(p))
	n := len(r)
	for k := 1; k <= n/2; k++ {
		repeated := true
		for i := k; i < n && repeated; i++ {
			repeated = r[i] == r[i-k]
		}
		if repeated {
			return true
		}
	}
	fresh := 0
	for i := range r {
		if i == 0 || !follows(r, i) {
			fresh++
		}
	}
	return fresh < 4 || fresh*4 <= n
}

// follows reports whether r[i] follows from the characters before it in a sequence.
func follows(r []rune, i int) bool {
	a, b := r[i-1], r[i]
	if b == a || b == a+1 || b == a-1 {
		return true
	}
	if i >= 2 && b-a == a-r[i-2] {
		return true
	}
	pa, okA := keyboardPos[a]
	pb, okB := keyboardPos[b]
	if okA && okB && pa[0] == pb[0] && (pa[1]-pb[1] == 1 || pb[1]-pa[1] == 1) {
		return true
	}
	// The digit row's 0 and 1 are neighbours when counting round (7890123).
	return (a == '0' && b == '1') || (a == '1' && b == '0') || (a == '9' && b == '0') || (a == '0' && b == '9')
}

// contextWord returns the first context word found in p, regardless of case: "kamflow", each of
// words if it has 3 characters or more (forwards or backwards), and each part of 4 characters or
// more of a word (split at spaces and punctuation); "" when there is none.
func contextWord(p string, words []string) string {
	l := strings.ToLower(p)
	for _, w := range append([]string{"kamflow"}, words...) {
		lw := strings.ToLower(strings.TrimSpace(w))
		if len([]rune(lw)) >= 3 && (strings.Contains(l, lw) || strings.Contains(l, reverse(lw))) {
			return w
		}
		for _, part := range strings.FieldsFunc(lw, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
			if len([]rune(part)) >= 4 && strings.Contains(l, part) {
				return part
			}
		}
	}
	return ""
}
