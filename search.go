package kamflow

import (
	"context"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Search: one query over the accounts, contacts, deals and delivery tasks a user may see, by
// name, title, phone, e-mail or ID, in any language.
//
// Every record has one entry in the store's search index, with its searchable fields folded
// (SearchFold) and the terms a short query is looked up by (SearchTerms). A query matches a
// record when its folded text is
//
//   - a prefix of one of the record's terms: a whole field, a word of a field, or the tail of a
//     run of Chinese characters from any of its characters on (so that 王 and 王工 find 王工, and
//     工 finds it too); any query length, or
//   - a part of any field anywhere (only for queries of three or more characters: the store's
//     trigram index needs them).
//
// The ranking (SearchRank) is, best first:
//
//	0 exact      a field is the query (a contact whose phone is the number typed)
//	1 prefix     a field starts with the query (王 for 王工)
//	2 word       a word of a field starts with the query (pumps for "Boiler feed pumps")
//	3 part       the query is elsewhere in a field (工 for 王工, 0013 in a phone number)
//
// then the most recently changed record first, then by kind (account, contact, deal, task) and
// ID, so that the order is stable. Nothing a user may not see is ever a result: the store applies
// the lists' visibility (deals by owner and team, accounts likewise, contacts of the accounts
// and delivery tasks of the deals one may see).

// SearchKind is what a search result is.
type SearchKind string

// The kinds of search results, in the order of SearchKinds.
const (
	SearchAccount SearchKind = "account"
	SearchContact SearchKind = "contact"
	SearchDeal    SearchKind = "deal"
	SearchTask    SearchKind = "task"
)

// SearchKinds are every kind, in the order results of one rank and time are listed.
var SearchKinds = []SearchKind{SearchAccount, SearchContact, SearchDeal, SearchTask}

// The ranks of SearchRank, best first.
const (
	RankExact = iota
	RankPrefix
	RankWord
	RankPart
	rankNone
)

// Search limits: the default and the most results one query answers.
const (
	SearchDefaultLimit = 20
	SearchMaxLimit     = 100
	// SearchMaxQuery is the longest query text, in characters.
	SearchMaxQuery = 100
)

// SearchQuery is one search.
type SearchQuery struct {
	// Text is what was typed; SearchFold makes it the query.
	Text string
	// Kinds limits the kinds of results; empty is every kind.
	Kinds []SearchKind
	// Limit is the most results (SearchDefaultLimit when 0, at most SearchMaxLimit).
	Limit int
	// Viewer is who searches: only what they may see is found. nil sees everything (the system).
	Viewer *Actor
}

// SearchResult is one record found.
type SearchResult struct {
	Kind SearchKind `json:"kind"`
	// ID is the record's ID; a delivery task's is its key within the deal's plan.
	ID string `json:"id"`
	// Title is the record's name: an account's or contact's name, a deal's or task's title ("" for
	// a task without one of its own: it is named by its key).
	Title string `json:"title"`
	// Detail says more about it: a contact's job title.
	Detail string `json:"detail,omitempty"`
	// Context is what it belongs to: a contact's or deal's account, a task's deal (by name).
	Context string `json:"context,omitempty"`
	// DealID and AccountID are the deal and account the record is or belongs to (the page a
	// result leads to: a deal's, or a task's deal; an account's, or a contact's account).
	DealID    string `json:"deal_id,omitempty"`
	AccountID string `json:"account_id,omitempty"`
	// Field is which field matched best (name, title, phone, email, id) and Rank how
	// (RankExact … RankPart).
	Field     string    `json:"field"`
	Rank      int       `json:"rank"`
	UpdatedAt time.Time `json:"updated_at"`
}

// SearchStore answers searches.
type SearchStore interface {
	Search(ctx context.Context, q SearchQuery) ([]SearchResult, error)
}

// SearchField is one searchable field of a record: its name (name, title, phone, email, id)
// and its text.
type SearchField struct {
	Name string
	Text string
}

// SearchFold is the form in which texts are indexed and queries compared: lower case, full-width
// letters and digits as ASCII, runs of spaces as one, trimmed, at most SearchMaxQuery characters
// for a query (fields are cut at searchMaxField).
func SearchFold(s string) string {
	s = strings.ToLower(foldWidth(s))
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }), " ")
}

// searchMaxField is how much of a field is indexed, in characters: enough for any name, title,
// phone or e-mail.
const searchMaxField = 200

// searchMaxTerm is the longest term, in characters: a longer query is looked up only as a part.
const searchMaxTerm = 64

// isHan reports whether r is a Chinese character.
func isHan(r rune) bool { return unicode.Is(unicode.Han, r) }

// searchWords splits a folded text into its words: runs of letters and digits, a run of Chinese
// characters being a word of its own even when Latin letters touch it (王工abc is 王工 and abc).
func searchWords(s string) []string {
	var out []string
	start, han := -1, false
	for i, r := range s {
		word := unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r)
		switch {
		case !word:
			if start >= 0 {
				out = append(out, s[start:i])
			}
			start = -1
		case start < 0:
			start, han = i, isHan(r)
		case isHan(r) != han:
			out = append(out, s[start:i])
			start, han = i, isHan(r)
		}
	}
	if start >= 0 {
		out = append(out, s[start:])
	}
	return out
}

// cut returns s up to n characters.
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i := 0
	for j := range s {
		if n == 0 {
			i = j
			break
		}
		n--
	}
	return s[:i]
}

// SearchTerms are the terms a record with these fields is found by with a prefix of one: each
// field (folded) whole, each of its words, and every tail of a word of Chinese characters; a
// phone's digits alone too. Each term is at most searchMaxTerm characters, sorted, without
// repeats.
func SearchTerms(fields []SearchField) []string {
	var out []string
	add := func(t string) {
		if t = cut(t, searchMaxTerm); t != "" {
			out = append(out, t)
		}
	}
	for _, f := range fields {
		s := cut(SearchFold(f.Text), searchMaxField)
		if s == "" {
			continue
		}
		add(s)
		for _, w := range searchWords(s) {
			add(w)
			if r, _ := utf8.DecodeRuneInString(w); isHan(r) {
				for i := range w {
					if i > 0 {
						add(w[i:])
					}
				}
			}
		}
		if f.Name == "phone" {
			add(digits(s))
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// digits returns the digits of s.
func digits(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}

// SearchText is the folded text of the fields as the store's substring index holds it: the
// fields joined by a line break, which no folded field contains.
func SearchText(fields []SearchField) string {
	parts := make([]string, 0, len(fields))
	for _, f := range fields {
		if s := cut(SearchFold(f.Text), searchMaxField); s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, "\n")
}

// SearchRank is how well the folded query q matches the fields: the best rank of any field and
// the name of that field; ok is false when none matches.
func SearchRank(fields []SearchField, q string) (rank int, field string, ok bool) {
	rank = rankNone
	if q == "" {
		return rank, "", false
	}
	for _, f := range fields {
		s := cut(SearchFold(f.Text), searchMaxField)
		r := rankOf(s, q)
		if f.Name == "phone" && r > RankExact {
			if d := digits(q); d != "" && d == q {
				r = min(r, rankOf(digits(s), d))
			}
		}
		if r < rank {
			rank, field = r, f.Name
		}
	}
	return rank, field, rank < rankNone
}

// rankOf is how the folded query q matches the folded field s.
func rankOf(s, q string) int {
	switch {
	case s == "":
		return rankNone
	case s == q:
		return RankExact
	case strings.HasPrefix(s, q):
		return RankPrefix
	}
	for _, w := range searchWords(s) {
		if strings.HasPrefix(w, q) {
			return RankWord
		}
	}
	if i := strings.Index(s, q); i > 0 {
		// A query starting a word that the words above do not reach ("feed pumps" in
		// "boiler feed pumps") is a word match too.
		if r, _ := utf8.DecodeLastRuneInString(s[:i]); !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			return RankWord
		}
		return RankPart
	}
	return rankNone
}

// ParseSearchKinds reads a comma-separated list of kinds ("" is every kind); ok is false for an
// unknown kind.
func ParseSearchKinds(s string) (kinds []SearchKind, ok bool) {
	if strings.TrimSpace(s) == "" {
		return nil, true
	}
	for _, p := range strings.Split(s, ",") {
		k := SearchKind(strings.TrimSpace(p))
		if !slices.Contains(SearchKinds, k) {
			return nil, false
		}
		if !slices.Contains(kinds, k) {
			kinds = append(kinds, k)
		}
	}
	return kinds, true
}
