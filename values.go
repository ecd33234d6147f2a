package kamflow

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// Money is an amount in minor units (分, cents) of the deal's currency. On the wire it is a decimal
// string with at most two decimals ("1000000.00"), never a float, so no amount is ever rounded.
type Money int64

// MaxMoney is the largest amount kamflow accepts: 999,999,999,999.99. Anything larger is a typo
// (the largest industrial projects are far below it) and is rejected rather than stored.
const MaxMoney Money = 99999999999999

// ParseMoney parses a non-negative decimal string such as "800000", "800000.5" or "800000.00".
func ParseMoney(s string) (Money, error) {
	orig := s
	s = strings.TrimSpace(s)
	bad := func(why string) (Money, error) {
		return 0, Errorf(EINVALID, "amount %q %s", orig, why)
	}
	if s == "" {
		return bad("is empty")
	}
	if strings.HasPrefix(s, "-") {
		return bad("is negative")
	}
	whole, frac, hasDot := strings.Cut(s, ".")
	if whole == "" || (hasDot && frac == "") {
		return bad("is not a decimal number like 1000000.00")
	}
	if len(frac) > 2 {
		return bad("has more than two decimals")
	}
	for _, r := range whole + frac {
		if r < '0' || r > '9' {
			return bad("is not a decimal number like 1000000.00")
		}
	}
	if len(whole) > 12 {
		return bad("is too large (at most 999999999999.99)")
	}
	for len(frac) < 2 {
		frac += "0"
	}
	n, err := strconv.ParseInt(whole+frac, 10, 64)
	if err != nil || Money(n) > MaxMoney {
		return bad("is too large (at most 999999999999.99)")
	}
	return Money(n), nil
}

// String formats m as a decimal string with two decimals.
func (m Money) String() string {
	sign := ""
	v := int64(m)
	if v < 0 {
		sign, v = "-", -v
	}
	return sign + strconv.FormatInt(v/100, 10) + "." + leftPad(strconv.FormatInt(v%100, 10), 2)
}

func leftPad(s string, n int) string {
	for len(s) < n {
		s = "0" + s
	}
	return s
}

// MarshalJSON writes m as a decimal string.
func (m Money) MarshalJSON() ([]byte, error) { return json.Marshal(m.String()) }

// UnmarshalJSON reads a decimal string; a JSON number is refused so that clients never send floats.
func (m *Money) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return Errorf(EINVALID, "amount must be a decimal string such as \"1000000.00\", not %s", string(b))
	}
	v, err := ParseMoney(s)
	if err != nil {
		return err
	}
	*m = v
	return nil
}

// Date is a calendar date, "YYYY-MM-DD". The zero value is the empty string: no date.
type Date string

// ParseDate parses "YYYY-MM-DD".
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, strings.TrimSpace(s))
	if err != nil {
		return "", Errorf(EINVALID, "date %q is not a calendar date YYYY-MM-DD", s)
	}
	return Date(t.Format(time.DateOnly)), nil
}

// DateOf returns the date of t in t's location.
func DateOf(t time.Time) Date { return Date(t.Format(time.DateOnly)) }

// Time returns midnight UTC at the start of d; the zero time for the empty date.
func (d Date) Time() time.Time {
	t, _ := time.Parse(time.DateOnly, string(d))
	return t
}

// UnmarshalJSON validates the date's format.
func (d *Date) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return Errorf(EINVALID, "date must be a string YYYY-MM-DD, not %s", string(b))
	}
	if s == "" {
		*d = ""
		return nil
	}
	v, err := ParseDate(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// Duration is a span such as a stage SLA. On the wire it is a string: whole days as "30d",
// anything else in Go's notation ("36h", "2s"); "1d12h" is accepted too.
type Duration time.Duration

// Day is 24 hours; SLAs count calendar days, not business days.
const Day = 24 * time.Hour

// ParseDuration parses "30d", "2s", "1d12h", "90m" and the like. It must be positive.
func ParseDuration(s string) (Duration, error) {
	orig := s
	s = strings.TrimSpace(strings.ToLower(s))
	var total time.Duration
	if i := strings.Index(s, "d"); i > 0 {
		days, err := strconv.Atoi(s[:i])
		if err != nil || days < 0 || days > 3650 {
			return 0, Errorf(EINVALID, "duration %q: days must be a whole number up to 3650", orig)
		}
		total = time.Duration(days) * Day
		s = s[i+1:]
	}
	if s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			return 0, Errorf(EINVALID, "duration %q is not like \"30d\", \"36h\" or \"2s\"", orig)
		}
		total += d
	}
	if total <= 0 {
		return 0, Errorf(EINVALID, "duration %q must be positive", orig)
	}
	// The same cap as for "Nd": String writes whole days as "Nd", so a longer span given in hours
	// ("87624h") would be written as a string that no longer parses.
	if total > 3650*Day {
		return 0, Errorf(EINVALID, "duration %q is longer than 3650 days", orig)
	}
	return Duration(total), nil
}

// String formats whole days as "Nd" and anything else in Go's notation.
func (d Duration) String() string {
	td := time.Duration(d)
	if td > 0 && td%Day == 0 {
		return strconv.FormatInt(int64(td/Day), 10) + "d"
	}
	// Whole seconds as one would type them ("36h", "1h30m", "90s" as "1m30s"), not Go's "36h0m0s".
	if td > 0 && td%time.Second == 0 {
		s := ""
		if h := td / time.Hour; h > 0 {
			s += strconv.FormatInt(int64(h), 10) + "h"
		}
		if m := td % time.Hour / time.Minute; m > 0 {
			s += strconv.FormatInt(int64(m), 10) + "m"
		}
		if sec := td % time.Minute / time.Second; sec > 0 {
			s += strconv.FormatInt(int64(sec), 10) + "s"
		}
		return s
	}
	return td.String()
}

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads a duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return Errorf(EINVALID, "duration must be a string such as \"30d\" or \"2s\", not %s", string(b))
	}
	if s == "0s" || s == "0" {
		// Zero is "not set" (a deal's SLA before it has one); it is written as "0s" and must read back.
		*d = 0
		return nil
	}
	v, err := ParseDuration(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}
