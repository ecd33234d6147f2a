package kamflow

import "fmt"

// Why an amount a person typed (or a spreadsheet held) was not read, as ParseImportMoney says
// it: a stable code for each, which the UI translates (error.amount.<problem>), and the English
// words the import's rejected rows have always shown.
const (
	AmountEmpty    = "empty"     // nothing but a currency sign or unit
	AmountFormat   = "format"    // not a number, or commas that do not group thousands
	AmountNegative = "negative"  // below zero
	AmountDecimals = "decimals"  // more than two decimals
	AmountTooLarge = "too_large" // above MaxMoney
)

var amountWhy = map[string]string{
	AmountEmpty:    "is not an amount",
	AmountFormat:   "is not an amount like 1200000.00",
	AmountNegative: "is negative",
	AmountDecimals: "has more than two decimals",
	AmountTooLarge: "is too large (at most 999999999999.99)",
}

// AmountError is an amount refused by ParseImportMoney: the text (clipped) and the problem.
type AmountError struct {
	Text    string
	Problem string
}

func (e *AmountError) Error() string { return fmt.Sprintf("%q %s", clip(e.Text), amountWhy[e.Problem]) }

// Coded is the refusal as an API error: invalid, with the problem under details.reason
// ("amount_format", …) and the field named.
func (e *AmountError) Coded(field string) *Error {
	err := Errorf(EINVALID, "amount %s", e.Error()).WithDetail("reason", "amount_"+e.Problem)
	if field != "" {
		err = err.WithDetail("field", field)
	}
	return err
}

// ParseAmountText reads an amount a person typed by the import's rule (ParseImportMoney: "11,200,000",
// "¥1200000", "1200万", "1.5亿"); a refusal is an invalid *Error naming field and the problem.
func ParseAmountText(s, field string) (Money, error) {
	m, err := ParseImportMoney(s)
	if ae, ok := err.(*AmountError); ok {
		return 0, ae.Coded(field)
	}
	return m, err
}
