package kamflow_test

import (
	"errors"
	"testing"

	"github.com/kamflow/kamflow"
)

// TestParseAmountText: a money field reads what the import reads, 亿 too, and a refusal says why
// by a stable reason the UI translates.
func TestParseAmountText(t *testing.T) {
	for in, want := range map[string]string{
		"11,200,000":   "11200000.00",
		"1,200,000.00": "1200000.00",
		"¥1200000":     "1200000.00",
		"1200万":        "12000000.00",
		"1.5亿":         "150000000.00",
		"￥ 3 万":        "30000.00",
		"１２００万":        "12000000.00",
		"800000":       "800000.00",
		"RMB 1,000.5":  "1000.50",
		"9999.99亿":     "999999000000.00",
	} {
		m, err := kamflow.ParseAmountText(in, "value")
		if err != nil || m.String() != want {
			t.Errorf("ParseAmountText(%q) = %s, %v; want %s", in, m, err, want)
		}
	}
	for in, reason := range map[string]string{
		"abc":        "amount_format",
		"12,3":       "amount_format",
		"":           "amount_empty",
		"¥":          "amount_empty",
		"-5":         "amount_negative",
		"4.125":      "amount_decimals",
		"10000亿":     "amount_too_large",
		"0.0000001万": "amount_decimals",
		"1e300":      "amount_too_large",
		"twelve万":    "amount_format",
	} {
		_, err := kamflow.ParseAmountText(in, "value")
		var e *kamflow.Error
		if !errors.As(err, &e) || e.Code != kamflow.EINVALID || e.Details["reason"] != reason || e.Details["field"] != "value" {
			t.Errorf("ParseAmountText(%q) = %v (%#v); want invalid, reason %s, field value", in, err, e, reason)
		}
	}
	// The import's rejected rows keep their words.
	if _, err := kamflow.ParseImportMoney("-5"); err == nil || err.Error() != `"-5" is negative` {
		t.Errorf("ParseImportMoney(-5) = %v", err)
	}
}

func lostFor(code, reason string) kamflow.Command {
	return kamflow.Command{Kind: kamflow.CmdClose, Actor: kam, Close: &kamflow.CloseInput{
		Outcome: kamflow.StatusLost, ReasonCode: code, Reason: reason, Competitor: "ABB"}}
}

// TestCloseWithLossReason: a lost deal's reason is picked from the settings' list (a note
// optional) or is "other" with words; the code is on the closing and its transition.
func TestCloseWithLossReason(t *testing.T) {
	w := dealIn(t, kamflow.Bid)
	fx := w.do(lostFor("price", ""))
	if w.d.Closing == nil || w.d.Closing.ReasonCode != "price" || w.d.Closing.Reason != "" || fx.Transition.ReasonCode != "price" {
		t.Fatalf("closing %+v, transition %+v", w.d.Closing, fx.Transition)
	}

	w = dealIn(t, kamflow.Bid)
	w.do(lostFor(kamflow.LossOther, "  the customer merged with a rival  "))
	if w.d.Closing.ReasonCode != kamflow.LossOther || w.d.Closing.Reason != "the customer merged with a rival" {
		t.Errorf("closing %+v", w.d.Closing)
	}

	w = dealIn(t, kamflow.Bid)
	for _, c := range []struct {
		cmd           kamflow.Command
		field, reason string
	}{
		{lostFor(kamflow.LossOther, " "), "reason", "loss_other_text"},
		{lostFor("Price", ""), "reason_code", "loss_reason_unknown"},
		{lostFor("weather", "it rained"), "reason_code", "loss_reason_unknown"},
		{kamflow.Command{Kind: kamflow.CmdClose, Actor: kam, Close: &kamflow.CloseInput{Outcome: kamflow.StatusWithdrawn, ReasonCode: "price", Reason: "x"}}, "reason_code", ""},
		{lostFor("", ""), "reason", ""}, // without a code, the reason in words as before
	} {
		e := w.fail(c.cmd, kamflow.EINVALID)
		checkField(t, e, c.field)
		if c.reason != "" && e.Details["reason"] != c.reason {
			t.Errorf("%+v: reason %v, want %s", c.cmd.Close, e.Details["reason"], c.reason)
		}
	}

	// An admin's own list: its codes, not the defaults', are what a close may pick.
	w = dealIn(t, kamflow.Bid)
	w.s.LossReasons = []kamflow.LossReason{{Code: "delivery_time", Labels: map[string]string{"en": "Delivery time", "zh-CN": "交货期"}}}
	w.fail(lostFor("price", ""), kamflow.EINVALID)
	w.do(lostFor("delivery_time", "they needed it in May"))
	if w.d.Closing.ReasonCode != "delivery_time" || w.d.Closing.Reason != "they needed it in May" {
		t.Errorf("closing %+v", w.d.Closing)
	}
}

func TestValidateLossReasons(t *testing.T) {
	if err := kamflow.ValidateLossReasons(kamflow.DefaultLossReasons()); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	s := kamflow.DefaultSettings()
	if got := s.LossReasonsOf(); len(got) != 6 || got[0].Code != "price" || got[0].Labels["zh-CN"] != "价格" {
		t.Errorf("defaults in force: %+v", got)
	}
	r := func(code, en, zh string) kamflow.LossReason {
		return kamflow.LossReason{Code: code, Labels: map[string]string{"en": en, "zh-CN": zh}}
	}
	for name, list := range map[string][]kamflow.LossReason{
		"empty":          {},
		"other listed":   {r("other", "Other", "其他")},
		"upper case":     {r("Price", "Price", "价格")},
		"twice":          {r("price", "Price", "价格"), r("price", "Cost", "成本")},
		"no Chinese":     {r("price", "Price", "")},
		"blank English":  {r("price", "  ", "价格")},
		"unknown lang":   {{Code: "price", Labels: map[string]string{"en": "Price", "zh-CN": "价格", "fr": "Prix"}}},
		"label too long": {r("price", long(101), "价格")},
	} {
		err := kamflow.ValidateLossReasons(list)
		var e *kamflow.Error
		if !errors.As(err, &e) || e.Code != kamflow.EINVALID || e.Details["field"] != "loss_reasons" {
			t.Errorf("%s: %v, want invalid loss_reasons", name, err)
		}
	}
	s.LossReasons = []kamflow.LossReason{r("Bad", "x", "y")}
	if s.Validate() == nil {
		t.Errorf("settings with a bad loss reason validated")
	}
}

// TestLossesByReasonCode: the losses report counts a listed reason by its code, and reasons in
// words (old closes, "other") regardless of case and spacing, shown as written most often.
func TestLossesByReasonCode(t *testing.T) {
	rows := []kamflow.ClosingRow{
		{Stage: kamflow.Bid, Outcome: kamflow.StatusLost, ReasonCode: "price", Reason: "", N: 2},
		{Stage: kamflow.Bid, Outcome: kamflow.StatusLost, ReasonCode: "price", Reason: "15% under us", N: 1},
		{Stage: kamflow.Bid, Outcome: kamflow.StatusLost, Reason: "Price", N: 2},
		{Stage: kamflow.Bid, Outcome: kamflow.StatusLost, Reason: "price ", N: 1},
		{Stage: kamflow.Bid, Outcome: kamflow.StatusLost, ReasonCode: kamflow.LossOther, Reason: "PRICE", N: 1},
		{Stage: kamflow.Bid, Outcome: kamflow.StatusWithdrawn, Reason: "criteria against us", N: 1},
	}
	got := kamflow.Losses(rows)[kamflow.Bid.Index()]
	want := []kamflow.Count{
		{Outcome: kamflow.StatusLost, Value: "Price", Count: 4},
		{Outcome: kamflow.StatusLost, Code: "price", Value: "price", Count: 3},
		{Outcome: kamflow.StatusWithdrawn, Value: "criteria against us", Count: 1},
	}
	if got.Lost != 7 || got.Withdrawn != 1 || len(got.Reasons) != len(want) {
		t.Fatalf("losses %+v", got)
	}
	for i := range want {
		if got.Reasons[i] != want[i] {
			t.Errorf("reason %d = %+v, want %+v", i, got.Reasons[i], want[i])
		}
	}
}
