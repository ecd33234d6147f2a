package kamflow_test

import (
	"testing"

	"github.com/kamflow/kamflow"
)

// TestInputHygiene: what a screen shows is what is stored — invisible-only text is empty, control
// and bidi-override characters are refused, currencies are ISO 4217 codes in use, dates are in a
// sane range, and a bid costs something.
func TestInputHygiene(t *testing.T) {
	deal := func(f func(*kamflow.NewDealInput)) error {
		in := newDealInput()
		f(&in)
		return in.Validate()
	}
	for _, tt := range []struct {
		name  string
		set   func(*kamflow.NewDealInput)
		field string
	}{
		{"title of zero-width spaces", func(in *kamflow.NewDealInput) { in.Title = "\u200b\u200b\u200b" }, "title"},
		{"title of a BOM and a word joiner", func(in *kamflow.NewDealInput) { in.Title = "\ufeff\u2060 " }, "title"},
		{"title of ideographic spaces", func(in *kamflow.NewDealInput) { in.Title = "\u3000\u3000" }, "title"},
		{"title with a control character", func(in *kamflow.NewDealInput) { in.Title = "Line 3\x1b[31m" }, "title"},
		{"title with a C1 control", func(in *kamflow.NewDealInput) { in.Title = "Line\u0085 3" }, "title"},
		{"title with a right-to-left override", func(in *kamflow.NewDealInput) { in.Title = "invoice \u202egpj.exe" }, "title"},
		{"title with a bidi isolate", func(in *kamflow.NewDealInput) { in.Title = "pumps \u2067x\u2069" }, "title"},
		{"currency ZZZ", func(in *kamflow.NewDealInput) { in.Currency = "ZZZ" }, "currency"},
		{"currency in lower case", func(in *kamflow.NewDealInput) { in.Currency = "cny" }, "currency"},
		{"a withdrawn currency", func(in *kamflow.NewDealInput) { in.Currency = "HRK" }, "currency"},
		{"a fund code", func(in *kamflow.NewDealInput) { in.Currency = "CLF" }, "currency"},
		{"gold", func(in *kamflow.NewDealInput) { in.Currency = "XAU" }, "currency"},
		{"close in year 0", func(in *kamflow.NewDealInput) { in.ExpectedClose = "0000-01-01" }, "expected_close"},
		{"close in 9999", func(in *kamflow.NewDealInput) { in.ExpectedClose = "9999-12-31" }, "expected_close"},
		{"close in 1989", func(in *kamflow.NewDealInput) { in.ExpectedClose = "1989-12-31" }, "expected_close"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			checkField(t, asError(t, deal(tt.set), kamflow.EINVALID), tt.field)
		})
	}
	for _, ok := range []func(*kamflow.NewDealInput){
		func(in *kamflow.NewDealInput) { in.Title = "锅炉给水泵 Line 3" },
		func(in *kamflow.NewDealInput) { in.Title = "עברית pumps" }, // right-to-left text itself is fine
		func(in *kamflow.NewDealInput) { in.Currency = "EUR"; in.ExpectedClose = "2100-12-31" },
		func(in *kamflow.NewDealInput) { in.Currency = "XOF"; in.ExpectedClose = "1990-01-01" },
	} {
		if err := deal(ok); err != nil {
			t.Errorf("refused: %v", err)
		}
	}
	// Notes may hold line breaks and tabs.
	w := dealIn(t, kamflow.Entry)
	w.do(kamflow.Command{Kind: kamflow.CmdStakeholder, Actor: kam, Stakeholder: &kamflow.Stakeholder{Name: "Wang Gong",
		Role: kamflow.RoleInsider, Stance: kamflow.StanceSupporter, Influence: 3, Notes: "line one\n\tline two\r\n"}})
	e := w.fail(kamflow.Command{Kind: kamflow.CmdStakeholder, Actor: kam, Stakeholder: &kamflow.Stakeholder{Name: "\u200d",
		Role: kamflow.RoleInsider, Stance: kamflow.StanceSupporter, Influence: 3}}, kamflow.EINVALID)
	checkField(t, e, "name")

	b := dealIn(t, kamflow.Bid)
	checkField(t, b.fail(bid(0, 100000, true), kamflow.EINVALID), "cost")
	checkField(t, b.fail(kamflow.Command{Kind: kamflow.CmdBid, Actor: kam, Bid: &kamflow.BidInput{Cost: 1, Price: 2, Deadline: "9999-01-01"}}, kamflow.EINVALID), "deadline")
}
