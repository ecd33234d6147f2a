package kamflow_test

import (
	"strings"
	"testing"
	"time"

	"github.com/kamflow/kamflow"
)

// TestUsernames: usernames are PRECIS identifiers. Full-width letters and digits are the
// ordinary ones (ＫＡＭ１ is KAM1, the same username as kam1); a look-alike that mixes scripts
// (a Cyrillic а in kаm1) is refused; Chinese, Japanese and Korean mixed with Latin are not.
func TestUsernames(t *testing.T) {
	for _, tc := range []struct {
		in, kept, key string // kept "" = refused
	}{
		{"kam1", "kam1", "kam1"},
		{"KAM1", "KAM1", "kam1"},
		{"ＫＡＭ１", "KAM1", "kam1"},
		{"ｋａｍ１", "kam1", "kam1"},
		{"Ölaf.Ü", "Ölaf.Ü", "ölaf.ü"},
		{"O\u0308laf", "Ölaf", "ölaf"}, // decomposed: normalised to NFC
		{"li.wei_2-x", "li.wei_2-x", "li.wei_2-x"},
		{"张伟", "张伟", "张伟"},
		{"zhang伟", "zhang伟", "zhang伟"},
		{"田中たろう", "田中たろう", "田中たろう"},
		{"김민준", "김민준", "김민준"},
		{"иван", "иван", "иван"}, // one script: Cyrillic is fine by itself
		{"kаm1", "", ""},         // Cyrillic а among Latin letters
		{"pаypal", "", ""},
		{"αdmin", "", ""}, // Greek alpha
		{"ivan-иван", "", ""},
		{"kam 1", "", ""},
		{"kam@1", "", ""},
		{"k", "", ""},
		{"ＫＡＭ１ ", "", ""},
		{strings.Repeat("a", 64), strings.Repeat("a", 64), strings.Repeat("a", 64)},
		{strings.Repeat("a", 65), "", ""},
		{"ﬁx", "", ""}, // a compatibility ligature: no identifier
		{"", "", ""},
	} {
		got, err := kamflow.NormalizeUsername(tc.in)
		if tc.kept == "" {
			if kamflow.ErrorCode(err) != kamflow.EINVALID {
				t.Errorf("NormalizeUsername(%q) = %q, %v; want invalid", tc.in, got, err)
			}
			continue
		}
		if err != nil || got != tc.kept {
			t.Errorf("NormalizeUsername(%q) = %q, %v; want %q", tc.in, got, err, tc.kept)
		}
		if k := kamflow.UsernameKey(tc.in); k != tc.key {
			t.Errorf("UsernameKey(%q) = %q, want %q", tc.in, k, tc.key)
		}
		// ValidateUsername takes the kept form only.
		if err := kamflow.ValidateUsername(got); err != nil {
			t.Errorf("ValidateUsername(%q): %v", got, err)
		}
		if got != tc.in {
			if err := kamflow.ValidateUsername(tc.in); kamflow.ErrorCode(err) != kamflow.EINVALID || !strings.Contains(err.Error(), got) {
				t.Errorf("ValidateUsername(%q) = %v, want invalid naming %q", tc.in, err, got)
			}
		}
	}
	if msg := kamflow.ErrorMessage(func() error { _, err := kamflow.NormalizeUsername("kаm1"); return err }()); !strings.Contains(msg, "scripts") {
		t.Errorf("the mixed-script refusal says %q", msg)
	}
}

// TestPasswords: a new password is long enough, not a common one (however capitalised, leeted
// or padded), not a repetition or sequence, and holds neither the username nor kamflow.
func TestPasswords(t *testing.T) {
	if n := kamflow.CommonPasswords(); n < 3000 {
		t.Fatalf("the common-password list has %d entries, want thousands", n)
	}
	for _, p := range []string{
		"correct horse battery staple", "correct horse battery", "a long enough passphrase", "another long passphrase",
		"a long passphrase", "bench-password", "Tr0ub4dor&3x", "mei hua shan 2024 spring", "长城永远不会倒下来吧", "vatten-klocka-7",
		"purple-gravel-harbour", "8g$kQ2!zLw", "steel mill tangshan",
	} {
		if err := kamflow.ValidatePassword(p, "kam1", "Li Wei"); err != nil {
			t.Errorf("ValidatePassword(%q): %v", p, err)
		}
	}
	for _, tc := range []struct{ p, why string }{
		{"short", "at least 10"},
		{strings.Repeat("长", 9), "at least 10"},
		{strings.Repeat("é", 37), "at most 72 bytes"},
		{"aaaaaaaaaaaa", "repeated"},
		// Common passwords, as they are and disguised.
		{"1234567890", "common"},
		{"qwertyuiop", "common"},
		{"password123", "common"},
		{"Password2024!", "common"},
		{"P@ssw0rd1234", "common"},
		{"iloveyou!!!!", "common"},
		{"I love you 1234", "common"},
		{"1qaz2wsx3edc", "common"},
		{"!QAZ2wsx#EDC", "common"},
		{"woaini1314520", "common"},
		{"5201314520", "common"},
		{"1314520520", "common"},
		{"sunshine2026", "common"},
		{"drowssap1234", "common"},
		{"Football#1999", "common"},
		{"changeme123", "common"},
		// Repetitions and sequences not on the list.
		{"abcdefghijk", "sequence"},
		{"0987654321a", "sequence"},
		{"kjhgfdsazxcv", "sequence"},
		{"ababababab", "repetition"},
		{"xyzxyzxyzxyz", "repetition"},
		{"tiger7tiger7tiger7", "repetition"},
		{"1111122222", "sequence"},
		{"13579135791", "sequence"},
		{"zyxwvutsrq", "sequence"},
		{"mnbvcxzlkjhg", "sequence"},
		// Context.
		{"my kamflow secret", "kamflow"},
		{"kam1 is my name", "kam1"},
		{"the 1mak reversed", "kam1"},
		{"Wei Li of Tangshan", ""}, // the name's words are too short: allowed
	} {
		err := kamflow.ValidatePassword(tc.p, "kam1", "Li Wei")
		if tc.why == "" {
			if err != nil {
				t.Errorf("ValidatePassword(%q): %v", tc.p, err)
			}
			continue
		}
		if kamflow.ErrorCode(err) != kamflow.EINVALID {
			t.Errorf("ValidatePassword(%q) = %v, want invalid (%s)", tc.p, err, tc.why)
			continue
		}
		msg := kamflow.ErrorMessage(err)
		if !strings.Contains(msg, tc.why) {
			t.Errorf("ValidatePassword(%q): %q, want it to say %s", tc.p, msg, tc.why)
		}
		if e, ok := err.(*kamflow.Error); !ok || e.Details["field"] != "password" {
			t.Errorf("ValidatePassword(%q): %#v, want field password", tc.p, err)
		}
	}
	// A person's name counts by its longer words.
	if err := kamflow.ValidatePassword("zhangsanfeng forever", "zsf", "Zhangsanfeng"); err == nil {
		t.Error("a password holding the person's name was accepted")
	}
}

// TestLoginPolicy: the pair and address limits refuse until the counted attempt leaves the
// window; a username's failures from everywhere delay it from PerUser on, doubling, capped, but
// not from a known address.
func TestLoginPolicy(t *testing.T) {
	p := kamflow.DefaultLoginPolicy
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		c    kamflow.LoginCounts
		want time.Duration
	}{
		{"nothing counted", kamflow.LoginCounts{}, 0},
		{"the pair's fifth failure just now", kamflow.LoginCounts{PairNth: now}, 15 * time.Minute},
		{"the pair's fifth failure 10 minutes ago", kamflow.LoginCounts{PairNth: now.Add(-10 * time.Minute)}, 5 * time.Minute},
		{"the address's twentieth 14 minutes ago", kamflow.LoginCounts{AddressNth: now.Add(-14 * time.Minute)}, time.Minute},
		{"both: the longer", kamflow.LoginCounts{PairNth: now.Add(-14 * time.Minute), AddressNth: now.Add(-time.Minute)}, 14 * time.Minute},
		{"49 failures of the username", kamflow.LoginCounts{User: 49, UserLatest: now}, 0},
		{"50 failures of the username", kamflow.LoginCounts{User: 50, UserLatest: now}, time.Second},
		{"53 failures of the username", kamflow.LoginCounts{User: 53, UserLatest: now}, 8 * time.Second},
		{"53, the latest 3 s ago", kamflow.LoginCounts{User: 53, UserLatest: now.Add(-3 * time.Second)}, 5 * time.Second},
		{"53, the latest 8 s ago", kamflow.LoginCounts{User: 53, UserLatest: now.Add(-8 * time.Second)}, 0},
		{"500: at most 15 minutes", kamflow.LoginCounts{User: 500, UserLatest: now}, 15 * time.Minute},
		{"500, from a known address", kamflow.LoginCounts{User: 500, UserLatest: now, Known: true}, 0},
		{"known, but the pair is locked", kamflow.LoginCounts{User: 500, UserLatest: now, Known: true, PairNth: now}, 15 * time.Minute},
	} {
		if got := p.Wait(tc.c, now); got != tc.want {
			t.Errorf("%s: wait %v, want %v", tc.name, got, tc.want)
		}
	}
	if d := p.Delay(1_000_000); d != 15*time.Minute {
		t.Errorf("Delay(1e6) = %v", d)
	}
}
