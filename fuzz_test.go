package kamflow_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/kamflow/kamflow"
)

func FuzzParseMoney(f *testing.F) {
	for _, s := range []string{
		"0", "0.00", "0.01", "1000000", "1000000.5", "800000.00", "999999999999.99", "1000000000000",
		"", " ", "-1", "-0", "1e6", "1,000", "1.234", "abc", ".5", "5.", ".", "+5", "１２", "007", " 12.30 ",
		"99999999999999999999", "9223372036854775807", "1.2.3", "\x00", "0.\xff",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := kamflow.ParseMoney(s)
		if err != nil {
			if code := kamflow.ErrorCode(err); code != kamflow.EINVALID {
				t.Fatalf("ParseMoney(%q): code %q", s, code)
			}
			if m != 0 {
				t.Fatalf("ParseMoney(%q) failed with %d", s, m)
			}
			return
		}
		if m < 0 || m > kamflow.MaxMoney {
			t.Fatalf("ParseMoney(%q) = %d, out of range", s, m)
		}
		str := m.String()
		back, err := kamflow.ParseMoney(str)
		if err != nil || back != m {
			t.Fatalf("ParseMoney(%q) = %d; String %q parses to %d, %v", s, m, str, back, err)
		}
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		var j kamflow.Money
		if err := json.Unmarshal(b, &j); err != nil || j != m {
			t.Fatalf("JSON %s reads back as %d, %v", b, j, err)
		}
	})
}

func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{
		"30d", "2s", "1d12h", "36h", "90m", "1500ms", " 7D ", "3650d", "87600h", "87624h",
		"0s", "-1d", "abc", "99999d", "d", "1d1d", "1d-12h", "1d-48h", "", "3650d2562047h", "1.5d", "1µs",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := kamflow.ParseDuration(s)
		if err != nil {
			if code := kamflow.ErrorCode(err); code != kamflow.EINVALID {
				t.Fatalf("ParseDuration(%q): code %q", s, code)
			}
			return
		}
		if d <= 0 || time.Duration(d) > 3650*kamflow.Day {
			t.Fatalf("ParseDuration(%q) = %v, out of range", s, time.Duration(d))
		}
		// What the settings store writes must read back.
		str := d.String()
		back, err := kamflow.ParseDuration(str)
		if err != nil || back != d {
			t.Fatalf("ParseDuration(%q) = %v; String %q parses to %v, %v", s, time.Duration(d), str, time.Duration(back), err)
		}
	})
}

func FuzzDateJSON(f *testing.F) {
	for _, s := range []string{
		`"2026-03-02"`, `" 2026-03-02 "`, `""`, `null`, `"2024-02-29"`, `"2026-02-29"`, `20260302`, `"2026-13-01"`,
		`"0000-01-01"`, `"9999-12-31"`, `"2026-03-02T00:00:00Z"`, `"\u0032026-03-02"`, `{`, `"`, `true`, `[]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var d kamflow.Date
		err := d.UnmarshalJSON(b)
		if err != nil {
			if code := kamflow.ErrorCode(err); code != kamflow.EINVALID {
				t.Fatalf("UnmarshalJSON(%q): code %q", b, code)
			}
			if d != "" {
				t.Fatalf("UnmarshalJSON(%q) failed but set %q", b, d)
			}
			return
		}
		if d == "" {
			return
		}
		// A date read from JSON is canonical: it parses to itself and has a time.
		if p, err := kamflow.ParseDate(string(d)); err != nil || p != d {
			t.Fatalf("UnmarshalJSON(%q) = %q, which ParseDate reads as %q, %v", b, d, p, err)
		}
		if kamflow.DateOf(d.Time()) != d {
			t.Fatalf("%q.Time() = %v", d, d.Time())
		}
		out, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		var back kamflow.Date
		if err := json.Unmarshal(out, &back); err != nil || back != d {
			t.Fatalf("%q → %s → %q, %v", d, out, back, err)
		}
	})
}
