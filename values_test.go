package kamflow_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/kamflow/kamflow"
)

func TestParseMoney(t *testing.T) {
	ok := []struct {
		in   string
		want kamflow.Money
		str  string
	}{
		{"0", 0, "0.00"},
		{"0.00", 0, "0.00"},
		{"0.01", 1, "0.01"},
		{"0.1", 10, "0.10"},
		{"1000000", 100000000, "1000000.00"},
		{"1000000.5", 100000050, "1000000.50"},
		{"800000.00", 80000000, "800000.00"},
		{"800000.05", 80000005, "800000.05"},
		{" 12.30 ", 1230, "12.30"},
		{"007", 700, "7.00"},
		{"999999999999.99", kamflow.MaxMoney, "999999999999.99"},
		{"999999999999", 99999999999900, "999999999999.00"},
	}
	for _, tt := range ok {
		got, err := kamflow.ParseMoney(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseMoney(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
			continue
		}
		if s := got.String(); s != tt.str {
			t.Errorf("Money(%d).String() = %q, want %q", got, s, tt.str)
		}
	}
	bad := []string{
		"", "   ", "-1", "-0", "-0.01", "1e6", "1E6", "1,000", "1 000", "1.234", "1.000", "abc", ".5", "5.", ".",
		"1000000000000", "1000000000000.00", "0000000000001", "+5", "1.2.3", "0x10", "NaN", "Inf",
		"１２", "12元", "¥12", "$12", "12.3a", "1_000",
	}
	for _, in := range bad {
		got, err := kamflow.ParseMoney(in)
		if kamflow.ErrorCode(err) != kamflow.EINVALID || got != 0 {
			t.Errorf("ParseMoney(%q) = %d, %v; want invalid", in, got, err)
		}
	}
}

func TestMoneyString(t *testing.T) {
	for m, want := range map[kamflow.Money]string{0: "0.00", 1: "0.01", 99: "0.99", 100: "1.00", 100000050: "1000000.50", -150: "-1.50", -5: "-0.05"} {
		if got := m.String(); got != want {
			t.Errorf("Money(%d).String() = %q, want %q", int64(m), got, want)
		}
	}
}

func TestMoneyJSON(t *testing.T) {
	type wire struct {
		Value kamflow.Money `json:"value"`
	}
	b, err := json.Marshal(wire{Value: 100000050})
	if err != nil || string(b) != `{"value":"1000000.50"}` {
		t.Fatalf("marshal: %s, %v", b, err)
	}
	var back wire
	if err := json.Unmarshal(b, &back); err != nil || back.Value != 100000050 {
		t.Errorf("round trip: %d, %v", back.Value, err)
	}
	for _, in := range []string{`{"value":"800000"}`, `{"value":" 800000.00 "}`} {
		var w wire
		if err := json.Unmarshal([]byte(in), &w); err != nil || w.Value != 80000000 {
			t.Errorf("%s: %d, %v", in, w.Value, err)
		}
	}
	for _, in := range []string{
		`{"value":1000000}`, `{"value":1000000.5}`, `{"value":1e6}`, `{"value":true}`, `{"value":["1"]}`,
		`{"value":"1.234"}`, `{"value":"-1"}`, `{"value":""}`, `{"value":"1,000.00"}`,
	} {
		var w wire
		err := json.Unmarshal([]byte(in), &w)
		var e *kamflow.Error
		if !errors.As(err, &e) || e.Code != kamflow.EINVALID {
			t.Errorf("%s: got %v, want an invalid *Error", in, err)
		}
	}
}

func TestParseDate(t *testing.T) {
	ok := map[string]kamflow.Date{
		"2026-03-02": "2026-03-02", " 2026-03-02 ": "2026-03-02", "2024-02-29": "2024-02-29",
		"2000-02-29": "2000-02-29", "2026-12-31": "2026-12-31",
	}
	for in, want := range ok {
		if got, err := kamflow.ParseDate(in); err != nil || got != want {
			t.Errorf("ParseDate(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{
		"", "2026-02-29", "1900-02-29", "2026-13-01", "2026-00-10", "2026-04-31", "2026-3-2", "26-03-02",
		"02/03/2026", "2026/03/02", "20260302", "2026-03-02T00:00:00Z", "2026-03-02 09:00", "tomorrow",
	} {
		if got, err := kamflow.ParseDate(in); kamflow.ErrorCode(err) != kamflow.EINVALID || got != "" {
			t.Errorf("ParseDate(%q) = %q, %v; want invalid", in, got, err)
		}
	}

	if got := kamflow.Date("2026-03-02").Time(); !got.Equal(time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("Time() = %v", got)
	}
	if got := kamflow.Date("").Time(); !got.IsZero() {
		t.Errorf("empty date Time() = %v", got)
	}
	// DateOf takes the date where t is: 01:00 in Shanghai is still the previous day in UTC.
	shanghai := time.FixedZone("CST", 8*3600)
	at := time.Date(2026, 3, 3, 1, 0, 0, 0, shanghai)
	if got := kamflow.DateOf(at); got != "2026-03-03" {
		t.Errorf("DateOf(Shanghai) = %s", got)
	}
	if got := kamflow.DateOf(at.UTC()); got != "2026-03-02" {
		t.Errorf("DateOf(UTC) = %s", got)
	}
}

func TestDateJSON(t *testing.T) {
	type wire struct {
		On kamflow.Date `json:"on"`
	}
	ok := map[string]kamflow.Date{
		`{"on":"2026-03-02"}`:   "2026-03-02",
		`{"on":" 2026-03-02 "}`: "2026-03-02", // normalised on the way in
		`{"on":""}`:             "",
		`{"on":null}`:           "",
		`{}`:                    "",
	}
	for in, want := range ok {
		var w wire
		if err := json.Unmarshal([]byte(in), &w); err != nil || w.On != want {
			t.Errorf("%s: %q, %v; want %q", in, w.On, err, want)
		}
	}
	for _, in := range []string{`{"on":20260302}`, `{"on":"2026-02-30"}`, `{"on":"03/02/2026"}`, `{"on":true}`} {
		var w wire
		if err := json.Unmarshal([]byte(in), &w); kamflow.ErrorCode(err) != kamflow.EINVALID {
			t.Errorf("%s: %v, want invalid", in, err)
		}
	}
	b, _ := json.Marshal(wire{On: "2026-03-02"})
	if string(b) != `{"on":"2026-03-02"}` {
		t.Errorf("marshal %s", b)
	}
}

func TestParseDuration(t *testing.T) {
	ok := []struct {
		in   string
		want time.Duration
		str  string
	}{
		{"30d", 30 * kamflow.Day, "30d"},
		{"1d", kamflow.Day, "1d"},
		{"2s", 2 * time.Second, "2s"},
		{"1d12h", 36 * time.Hour, "36h"},
		{"36h", 36 * time.Hour, "36h"},
		{"48h", 2 * kamflow.Day, "2d"},
		{"90m", 90 * time.Minute, "1h30m"},
		{" 7D ", 7 * kamflow.Day, "7d"},
		{"1500ms", 1500 * time.Millisecond, "1.5s"},
		{"3650d", 3650 * kamflow.Day, "3650d"},
		{"87600h", 3650 * kamflow.Day, "3650d"},
		{"1d-12h", 12 * time.Hour, "12h"},
	}
	for _, tt := range ok {
		got, err := kamflow.ParseDuration(tt.in)
		if err != nil || time.Duration(got) != tt.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", tt.in, time.Duration(got), err, tt.want)
			continue
		}
		if s := got.String(); s != tt.str {
			t.Errorf("Duration(%v).String() = %q, want %q", tt.want, s, tt.str)
		}
		if back, err := kamflow.ParseDuration(got.String()); err != nil || back != got {
			t.Errorf("%q does not round-trip: %v, %v", got.String(), back, err)
		}
	}
	for _, in := range []string{
		"", "0s", "0d", "0", "-1d", "-2s", "abc", "d", "99999d", "3651d", "87624h", "1.5d", "1w", "30 days",
		"1d1d", "1d-48h", "1d 12h", "30", "9999999999h",
	} {
		if got, err := kamflow.ParseDuration(in); kamflow.ErrorCode(err) != kamflow.EINVALID || got != 0 {
			t.Errorf("ParseDuration(%q) = %v, %v; want invalid", in, time.Duration(got), err)
		}
	}
}

func TestDurationJSON(t *testing.T) {
	var d kamflow.Duration
	if err := json.Unmarshal([]byte(`"45d"`), &d); err != nil || time.Duration(d) != 45*kamflow.Day {
		t.Errorf("45d: %v, %v", d, err)
	}
	for _, in := range []string{`45`, `"45"`, `"-1d"`, `null`, `""`} {
		if err := json.Unmarshal([]byte(in), &d); kamflow.ErrorCode(err) != kamflow.EINVALID {
			t.Errorf("%s: %v, want invalid", in, err)
		}
	}
	b, err := json.Marshal(kamflow.Duration(2 * time.Second))
	if err != nil || string(b) != `"2s"` {
		t.Errorf("marshal 2s: %s %v", b, err)
	}
}

// TestSettingsJSON: the settings an admin saves read back identically.
func TestSettingsJSON(t *testing.T) {
	s := kamflow.DefaultSettings()
	s.SLA[kamflow.Bid] = kamflow.Duration(36 * time.Hour)
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var back kamflow.Settings
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	if !reflect.DeepEqual(back, s) {
		t.Errorf("round trip\n got %+v\nwant %+v", back, s)
	}
	if err := back.Validate(); err != nil {
		t.Errorf("validate: %v", err)
	}
}

func TestSettingsValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(*kamflow.Settings)
		ok   bool
	}{
		{"defaults", func(*kamflow.Settings) {}, true},
		{"no SLAs (defaults apply)", func(s *kamflow.Settings) { s.SLA = nil }, true},
		{"floor 0", func(s *kamflow.Settings) { s.MarginFloor = 0 }, true},
		{"floor 100", func(s *kamflow.Settings) { s.MarginFloor = 100 }, true},
		{"SLA for an unknown stage", func(s *kamflow.Settings) { s.SLA["closing"] = kamflow.Duration(kamflow.Day) }, false},
		{"SLA zero", func(s *kamflow.Settings) { s.SLA[kamflow.Bid] = 0 }, false},
		{"SLA negative", func(s *kamflow.Settings) { s.SLA[kamflow.Entry] = kamflow.Duration(-kamflow.Day) }, false},
		{"floor negative", func(s *kamflow.Settings) { s.MarginFloor = -1 }, false},
		{"floor over 100", func(s *kamflow.Settings) { s.MarginFloor = 100.01 }, false},
		{"floor NaN", func(s *kamflow.Settings) { s.MarginFloor = math.NaN() }, false},
		{"floor infinite", func(s *kamflow.Settings) { s.MarginFloor = math.Inf(1) }, false},
		{"bad assessment threshold", func(s *kamflow.Settings) { s.Assessment.Threshold = 150 }, false},
		{"bad assessment weight", func(s *kamflow.Settings) { s.Assessment.Weights[kamflow.FactorCredit] = -3 }, false},
		{"no assessment weights", func(s *kamflow.Settings) { s.Assessment.Weights = nil }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := kamflow.DefaultSettings()
			tt.edit(&s)
			err := s.Validate()
			if tt.ok && err != nil {
				t.Errorf("unexpected %v", err)
			}
			if !tt.ok && kamflow.ErrorCode(err) != kamflow.EINVALID {
				t.Errorf("got %v, want invalid", err)
			}
		})
	}
}

func TestStageSLA(t *testing.T) {
	def := kamflow.DefaultSettings()
	want := map[kamflow.Stage]int{kamflow.Development: 30, kamflow.Entry: 45, kamflow.Proposal: 30, kamflow.Bid: 21, kamflow.Negotiation: 30, kamflow.Delivery: 120}
	for st, days := range want {
		if got := def.StageSLA(st); got != time.Duration(days)*kamflow.Day {
			t.Errorf("%s SLA %v, want %dd", st, got, days)
		}
	}
	s := kamflow.Settings{SLA: map[kamflow.Stage]kamflow.Duration{kamflow.Bid: kamflow.Duration(10 * kamflow.Day), kamflow.Entry: 0}}
	if got := s.StageSLA(kamflow.Bid); got != 10*kamflow.Day {
		t.Errorf("set SLA %v", got)
	}
	if got := s.StageSLA(kamflow.Entry); got != 45*kamflow.Day {
		t.Errorf("zero SLA falls back to the default: %v", got)
	}
	if got := s.StageSLA(kamflow.Delivery); got != 120*kamflow.Day {
		t.Errorf("missing SLA falls back to the default: %v", got)
	}
}

func TestStagesAndStatuses(t *testing.T) {
	for i, st := range kamflow.Stages {
		if st.Index() != i || !st.Valid() {
			t.Errorf("%s index %d", st, st.Index())
		}
		next, ok := st.Next()
		if i < 5 && (!ok || next != kamflow.Stages[i+1]) || i == 5 && (ok || next != "") {
			t.Errorf("%s.Next() = %s, %v", st, next, ok)
		}
		if got, err := kamflow.ParseStage(" " + string(st) + " "); err != nil || got != st {
			t.Errorf("ParseStage(%s) = %s, %v", st, got, err)
		}
	}
	if got, err := kamflow.ParseStage("BID"); err != nil || got != kamflow.Bid {
		t.Errorf("ParseStage(BID) = %s, %v", got, err)
	}
	for _, in := range []string{"", "closing", "won"} {
		if _, err := kamflow.ParseStage(in); kamflow.ErrorCode(err) != kamflow.EINVALID {
			t.Errorf("ParseStage(%q): %v", in, err)
		}
	}
	if kamflow.Stage("closing").Index() != -1 {
		t.Errorf("unknown stage has an index")
	}
	final := map[kamflow.Status]bool{kamflow.StatusOpen: false, kamflow.StatusWon: false, kamflow.StatusLost: true,
		kamflow.StatusWithdrawn: true, kamflow.StatusAbandoned: true, kamflow.StatusDelivered: true}
	for _, st := range kamflow.Statuses {
		if st.Final() != final[st] {
			t.Errorf("%s final %v", st, st.Final())
		}
		if got, err := kamflow.ParseStatus(string(st)); err != nil || got != st {
			t.Errorf("ParseStatus(%s): %s %v", st, got, err)
		}
	}
	if _, err := kamflow.ParseStatus("paused"); kamflow.ErrorCode(err) != kamflow.EINVALID {
		t.Errorf("ParseStatus(paused): %v", err)
	}
}

func TestErrorHelpers(t *testing.T) {
	e := kamflow.Errorf(kamflow.EGATENOTMET, "gate %s", "bid").WithDetail("missing", []string{"bid_submitted"})
	if e.Error() != "gate_not_met: gate bid" {
		t.Errorf("Error() = %q", e.Error())
	}
	wrapped := fmt.Errorf("advance: %w", e)
	if kamflow.ErrorCode(wrapped) != kamflow.EGATENOTMET || kamflow.ErrorMessage(wrapped) != "gate bid" {
		t.Errorf("wrapped: %s %s", kamflow.ErrorCode(wrapped), kamflow.ErrorMessage(wrapped))
	}
	plain := errors.New("pq: relation \"deals\" does not exist")
	if kamflow.ErrorCode(plain) != kamflow.EINTERNAL || kamflow.ErrorMessage(plain) != "internal error" {
		t.Errorf("plain error leaks: %s %s", kamflow.ErrorCode(plain), kamflow.ErrorMessage(plain))
	}
	if kamflow.ErrorCode(nil) != "" {
		t.Errorf("nil error has a code")
	}
	b, _ := json.Marshal(e)
	if string(b) != `{"code":"gate_not_met","message":"gate bid","details":{"missing":["bid_submitted"]}}` {
		t.Errorf("JSON %s", b)
	}
}

func TestMarginPct(t *testing.T) {
	tests := []struct {
		cost, price kamflow.Money
		want        float64
	}{
		{660000000, 760000000, 13.16},
		{85, 100, 15},
		{8501, 10000, 14.99},
		{0, 100, 100},
		{100, 100, 0},
		{110, 100, -10},
		{100, 0, 0},
		{1, 3, 66.67},
	}
	for _, tt := range tests {
		if got := kamflow.MarginPct(tt.cost, tt.price); got != tt.want {
			t.Errorf("MarginPct(%s, %s) = %v, want %v", tt.cost, tt.price, got, tt.want)
		}
	}
}

func TestMissingKeys(t *testing.T) {
	w := dealIn(t, kamflow.Bid)
	_, err := w.d.Apply(advance(), w.now, w.s)
	want := []string{kamflow.GateBidSubmitted, kamflow.GateMarginApproved}
	if got := kamflow.MissingKeys(err); !reflect.DeepEqual(got, want) {
		t.Errorf("MissingKeys = %v, want %v", got, want)
	}
	// Across a serialisation boundary (a Temporal payload, an HTTP body) the list is []any.
	b, _ := json.Marshal(err)
	var e kamflow.Error
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatal(err)
	}
	if got := kamflow.MissingKeys(fmt.Errorf("update: %w", &e)); !reflect.DeepEqual(got, want) {
		t.Errorf("MissingKeys after JSON = %v, want %v", got, want)
	}
	if got := kamflow.MissingKeys(errors.New("boom")); got != nil {
		t.Errorf("plain error: %v", got)
	}
	if got := kamflow.MissingKeys(kamflow.Errorf(kamflow.EINVALID, "x").WithDetail("field", "price")); got != nil {
		t.Errorf("no missing: %v", got)
	}
	if got := kamflow.MissingKeys(nil); got != nil {
		t.Errorf("nil: %v", got)
	}
}

func TestAccountInput(t *testing.T) {
	str := func(s string) *string { return &s }
	var a kamflow.Account
	in := kamflow.AccountInput{Name: str("  Baosteel Co., Ltd.  "), Industry: str("steel"), Region: str("Shanghai"),
		Address: str("Baoshan District"), Owner: str("kam.li"), Notes: str("cold-rolling mills 1–3")}
	if err := in.ApplyTo(&a); err != nil {
		t.Fatal(err)
	}
	if a.Name != "Baosteel Co., Ltd." || a.Industry != "steel" || a.Owner != "kam.li" || a.Notes != "cold-rolling mills 1–3" {
		t.Errorf("account %+v", a)
	}
	// A patch touches only the fields it sets.
	if err := (kamflow.AccountInput{Region: str("Shanghai Baoshan")}).ApplyTo(&a); err != nil || a.Region != "Shanghai Baoshan" || a.Name != "Baosteel Co., Ltd." {
		t.Errorf("patch: %+v %v", a, err)
	}
	tests := []struct {
		name  string
		in    kamflow.AccountInput
		field string
	}{
		{"blank name", kamflow.AccountInput{Name: str("  ")}, "name"},
		{"name too long", kamflow.AccountInput{Name: str(long(201))}, "name"},
		{"blank owner", kamflow.AccountInput{Owner: str("")}, "owner"},
		{"industry too long", kamflow.AccountInput{Industry: str(long(201))}, "industry"},
		{"address too long", kamflow.AccountInput{Address: str(long(4001))}, "address"},
		{"notes not UTF-8", kamflow.AccountInput{Notes: str("\xff")}, "notes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := a
			checkField(t, asError(t, tt.in.ApplyTo(&b), kamflow.EINVALID), tt.field)
		})
	}
	// A new account needs a name even if the input leaves it out.
	var fresh kamflow.Account
	checkField(t, asError(t, (kamflow.AccountInput{Owner: str("kam.li")}).ApplyTo(&fresh), kamflow.EINVALID), "name")
}

func TestZeroDurationReadsBack(t *testing.T) {
	var d struct {
		SLA kamflow.Duration `json:"sla"`
	}
	b, _ := json.Marshal(d)
	if err := json.Unmarshal(b, &d); err != nil || d.SLA != 0 {
		t.Fatalf("an unset SLA written as %s does not read back: %v", b, err)
	}
	if _, err := kamflow.ParseDuration("0s"); err == nil {
		t.Fatal("a zero SLA must still be refused as input")
	}
}
