package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/kamflow/kamflow"
)

// The bodies the API decodes, by route. Bid and criteria bodies are the handlers' own shapes.
type bidBody struct {
	Cost      *kamflow.Money `json:"cost"`
	Price     *kamflow.Money `json:"price"`
	Deadline  kamflow.Date   `json:"deadline"`
	Submitted bool           `json:"submitted"`
}

type criteriaBody struct {
	Criteria []kamflow.Criterion `json:"criteria"`
}

type slaBody struct {
	SLA *kamflow.Duration `json:"sla"`
}

// decodeTargets returns a fresh value of every input type.
func decodeTargets() map[string]any {
	return map[string]any{
		"AccountInput":    &kamflow.AccountInput{},
		"NewDealInput":    &kamflow.NewDealInput{},
		"AssessmentInput": &kamflow.AssessmentInput{},
		"Stakeholder":     &kamflow.Stakeholder{},
		"criteria":        &criteriaBody{},
		"ProposalInput":   &kamflow.ProposalInput{},
		"bid":             &bidBody{},
		"SignInput":       &kamflow.SignInput{},
		"AcceptanceInput": &kamflow.AcceptanceInput{},
		"AdvanceInput":    &kamflow.AdvanceInput{},
		"CloseInput":      &kamflow.CloseInput{},
		"PauseInput":      &kamflow.PauseInput{},
		"none":            &struct{}{},
		"sla":             &slaBody{},
	}
}

// decodeSeeds are valid bodies of every input and bodies that are wrong in every way we could
// think of.
var decodeSeeds = []string{
	// valid
	``, ` `, `{}`, "\t{ }\n",
	`{"name":"Baowu Steel Zhanjiang","industry":"steel","region":"Guangdong","address":"Zhanjiang","owner":"kam.li","notes":"x"}`,
	`{"account_id":"a1","title":"Blast furnace TRT retrofit","value":"12000000","currency":"CNY","expected_close":"2026-09-30","owner":"kam.li"}`,
	`{"scores":{"project_level":5,"funding":5,"technical_fit":5,"relationship":4,"credit":5,"product":4,"price":3,"solution":4,"service":4},"expected_close":"2026-07-31","likelihood":80,"grade":"A"}`,
	`{"name":"Chen Gong","title":"Deputy chief engineer","role":"insider","stance":"supporter","engaged":true,"influence":3,"notes":"x"}`,
	`{"criteria":[{"name":"SIL2","favours":"us","notes":"n"},{"name":"Price","favours":"competitor"}]}`,
	`{"submitted_on":"2026-04-10","summary":"Radar gauging"}`,
	`{"cost":"9000000.00","price":"11500000.00","deadline":"2026-05-15","submitted":true}`,
	`{"signed_on":"2026-04-11"}`, `{"result":"pass_with_punch_list","notes":"paint"}`,
	`{"force":true,"reason":"Strategic account"}`, `{"outcome":"lost","reason":"price","competitor":"Siemens"}`,
	`{"reason":"Budget approval","resume_on":"2026-05-01"}`, `{"sla":"30d"}`, `{"sla":"1d12h"}`, `{"sla":"2s"}`,
	// not one JSON object
	`null`, `[]`, `[{}]`, `"x"`, `1`, `true`, `{`, `}`, `{"a":`, `{"name" "x"}`, `{"name":"x",}`, `{'name':'x'}`,
	`{"name":"x"}}`, `{"name":"x"} {"name":"y"}`, `{}]`, `{} x`, `{}` + "\x00", "\xef\xbb\xbf{}", "\xff", `{"name":"\xff"}`,
	strings.Repeat("[", 10001), strings.Repeat(`{"a":`, 5000), `{"name":"x"}` + strings.Repeat(" ", 1000) + `,`,
	// unknown fields and case games
	`{"nmae":"x"}`, `{"NAME":"x"}`, `{"Value":"1"}`, `{"name":"a","name":"b"}`, `{"recorded_by":"mallory"}`,
	// wrong types
	`{"value":12000000}`, `{"value":1.5e7}`, `{"value":null}`, `{"value":true}`, `{"value":{}}`, `{"likelihood":"high"}`,
	`{"likelihood":1e400}`, `{"likelihood":-1}`, `{"likelihood":9223372036854775808}`, `{"likelihood":1.5}`,
	`{"scores":[1,2]}`, `{"scores":{"funding":"5"}}`, `{"scores":{"funding":1e999}}`, `{"scores":{"":1}}`,
	`{"engaged":"yes"}`, `{"force":1}`, `{"criteria":"x"}`, `{"criteria":[null]}`, `{"criteria":[{"name":null}]}`,
	`{"cost":null,"price":null}`, `{"sla":30}`, `{"sla":null}`, `{"expected_close":20260930}`,
	// amounts
	`{"value":"-5"}`, `{"value":"1e20"}`, `{"value":"99999999999999999"}`, `{"value":"999999999999.99"}`,
	`{"value":"1000000000000"}`, `{"value":"12.345"}`, `{"value":"1,000"}`, `{"value":""}`, `{"value":"."}`,
	`{"value":"1."}`, `{"value":".5"}`, `{"value":" 12 "}`, `{"value":"+12"}`, `{"value":"0x10"}`, `{"value":"١٢"}`,
	`{"value":"00000000000001.00"}`, `{"value":"NaN"}`, `{"value":"Infinity"}`, `{"cost":"9223372036854775807","price":"1"}`,
	// dates and durations
	`{"expected_close":"2026-02-29"}`, `{"expected_close":"2026-02-30"}`, `{"expected_close":"0000-00-00"}`,
	`{"expected_close":"2026-9-3"}`, `{"expected_close":"30/09/2026"}`, `{"expected_close":"2026-09-30T00:00:00Z"}`,
	`{"expected_close":" 2026-09-30 "}`, `{"expected_close":""}`,
	`{"sla":"abc"}`, `{"sla":"0s"}`, `{"sla":"-3d"}`, `{"sla":"3651d"}`, `{"sla":"1d-5h"}`, `{"sla":"d"}`, `{"sla":"5dd"}`,
	`{"sla":"9999999999999999999d"}`, `{"sla":"3650d2562047h"}`, `{"sla":"1e3h"}`, `{"sla":""}`,
	// text
	`{"name":"a\u0000b"}`, `{"name":"\u0000"}`, `{"n\u0000me":"x"}`, `{"name":"C:\\u0000"}`, `{"name":"\\\u0000"}`,
	`{"name":"\ud800"}`, `{"name":"\udc00\ud800"}`, `{"name":"\u00e9\u4e2d"}`, `{"name":"` + strings.Repeat("x", 5000) + `"}`,
}

// checkDecodeError asserts the decoder's contract: no panic (the fuzzer sees one), and every
// error an invalid *kamflow.Error with a message.
func checkDecodeError(t *testing.T, target string, body []byte, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var e *kamflow.Error
	if !errors.As(err, &e) {
		t.Fatalf("%s: decoding %q: %T %v is not a *kamflow.Error", target, body, err, err)
	}
	if e.Code != kamflow.EINVALID || e.Message == "" {
		t.Fatalf("%s: decoding %q: code %q message %q, want invalid with a message", target, body, e.Code, e.Message)
	}
}

// checkDecoded asserts what an accepted body is: empty or one valid JSON value, with no NUL in
// what was decoded; and the value survives a round trip through JSON unchanged.
func checkDecoded(t *testing.T, target string, body []byte, v any) {
	t.Helper()
	if len(bytes.TrimSpace(body)) > 0 && !json.Valid(body) {
		t.Fatalf("%s: accepted %q, which is not valid JSON", target, body)
	}
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("%s: accepted %q but cannot encode the result: %v", target, body, err)
	}
	var generic any
	if err := json.Unmarshal(out, &generic); err != nil {
		t.Fatal(err)
	}
	if anyNUL(generic) {
		t.Fatalf("%s: accepted %q with a NUL character: %s", target, body, out)
	}
	again := reflect.New(reflect.TypeOf(v).Elem()).Interface()
	if err := decodeJSON(out, again); err != nil {
		t.Fatalf("%s: accepted %q but refuses its own encoding %s: %v", target, body, out, err)
	}
	if !reflect.DeepEqual(v, again) {
		t.Fatalf("%s: %q decodes to %+v, but its encoding %s to %+v", target, body, v, out, again)
	}
}

// FuzzDecodeJSON feeds every body to the decoder of every input type.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range decodeSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for name, v := range decodeTargets() {
			if err := decodeJSON(body, v); err != nil {
				checkDecodeError(t, name, body, err)
			} else {
				checkDecoded(t, name, body, v)
			}
		}
	})
}

// fuzzDecode is a fuzz target for one input type, seeded with bodies of its own fields.
func fuzzDecode[T any](f *testing.F, seeds ...string) {
	for _, s := range append(seeds, decodeSeeds...) {
		f.Add([]byte(s))
	}
	name := reflect.TypeFor[T]().String()
	f.Fuzz(func(t *testing.T, body []byte) {
		v := new(T)
		if err := decodeJSON(body, v); err != nil {
			checkDecodeError(t, name, body, err)
			return
		}
		checkDecoded(t, name, body, v)
	})
}

func FuzzDecodeNewDealInput(f *testing.F) {
	fuzzDecode[kamflow.NewDealInput](f,
		`{"account_id":"a","title":"t","value":"0.01","currency":"USD"}`,
		`{"account_id":"a","title":"t","value":"999999999999.99","currency":"CNY","expected_close":"2027-01-01"}`)
}

func FuzzDecodeAssessmentInput(f *testing.F) {
	fuzzDecode[kamflow.AssessmentInput](f,
		`{"scores":{"funding":1,"credit":5},"expected_close":"2026-12-31","likelihood":0,"grade":"D"}`,
		`{"scores":{"weather":3},"likelihood":100}`)
}

func FuzzDecodeStakeholder(f *testing.F) {
	fuzzDecode[kamflow.Stakeholder](f,
		`{"name":"Liu Zong","role":"decision_maker","stance":"opponent","engaged":false,"influence":5}`,
		`{"name":"x","recorded_at":"2026-01-01T00:00:00Z"}`, `{"recorded_at":"yesterday"}`)
}

func FuzzDecodeBid(f *testing.F) {
	fuzzDecode[bidBody](f, `{"cost":"0","price":"0.01"}`, `{"cost":"1.5","price":"2","deadline":"2026-12-31","submitted":false}`)
}

func FuzzDecodeAdvanceInput(f *testing.F) {
	fuzzDecode[kamflow.AdvanceInput](f, `{"force":false}`, `{"reason":"x"}`, `{"force":true,"reason":""}`)
}

func FuzzDecodeCloseInput(f *testing.F) {
	fuzzDecode[kamflow.CloseInput](f, `{"outcome":"withdrawn","reason":"criteria against us"}`, `{"outcome":"abandoned","reason":"no funding"}`)
}

func FuzzDecodeSLA(f *testing.F) {
	fuzzDecode[slaBody](f, `{"sla":"36h"}`, `{"sla":"90m"}`, `{"sla":"1.5h"}`, `{"sla":"3650d"}`)
}

// TestDecodeJSONMessages pins the messages a client developer reads for the common mistakes.
func TestDecodeJSONMessages(t *testing.T) {
	for _, c := range []struct {
		body, field, msg string
	}{
		{`{"name":`, "", "malformed JSON: the body ends too early"},
		{`{"name" 1}`, "", "malformed JSON at byte"},
		{`{"name":"x"} {}`, "", "but more follows it"},
		{`{"name":"x"}}`, "", "but more follows it"},
		{`[]`, "", "the body must be a JSON object"},
		{`{"nmae":"x"}`, "nmae", `unknown field "nmae"`},
		{`{"name":1}`, "name", `field "name" must be a string, not number`},
		{`{"value":12}`, "", `amount must be a decimal string such as "1000000.00", not 12`},
		{`{"name":"a\u0000"}`, "", "NUL"},
	} {
		var err error
		if strings.Contains(c.body, "value") {
			err = decodeJSON([]byte(c.body), &kamflow.NewDealInput{})
		} else {
			err = decodeJSON([]byte(c.body), &kamflow.AccountInput{})
		}
		var e *kamflow.Error
		if !errors.As(err, &e) || e.Code != kamflow.EINVALID {
			t.Errorf("%s: %v, want invalid", c.body, err)
			continue
		}
		if !strings.Contains(e.Message, c.msg) {
			t.Errorf("%s: message %q, want it to say %q", c.body, e.Message, c.msg)
		}
		if got, _ := e.Details["field"].(string); got != c.field {
			t.Errorf("%s: field %q, want %q", c.body, got, c.field)
		}
	}
}

func TestHasNUL(t *testing.T) {
	for body, want := range map[string]bool{
		`{}`: false, `{"a":"\u0000"}`: true, `{"a":"x\u0000y"}`: true, `{"a":"\\u0000"}`: false,
		`{"a":"\\\u0000"}`: true, `{"\u0000":1}`: true, `{"a":"\u00001"}`: true, `{"a":"\u0001"}`: false, `{"a":"\\\\u0000"}`: false,
	} {
		if got := hasNUL([]byte(body)); got != want {
			t.Errorf("hasNUL(%s) = %v, want %v", body, got, want)
		}
	}
}

// anyNUL reports whether a string (or key) of decoded JSON holds a NUL character.
func anyNUL(v any) bool {
	switch x := v.(type) {
	case string:
		return strings.ContainsRune(x, 0)
	case []any:
		for _, e := range x {
			if anyNUL(e) {
				return true
			}
		}
	case map[string]any:
		for k, e := range x {
			if strings.ContainsRune(k, 0) || anyNUL(e) {
				return true
			}
		}
	}
	return false
}

// TestDecodeNormalisesToNFC: a name typed with a combining accent is stored as the precomposed
// one, wherever it sits in the body (a field, a list, a map, a pointer).
func TestDecodeNormalisesToNFC(t *testing.T) {
	decomposed := "Caf\u0065\u0301 Zhou" // e + combining acute
	composed := "Caf\u00e9 Zhou"
	var cmd kamflow.Command
	body := `{"kind":"criteria","actor":{"id":"kam1"},"stakeholder":{"name":"` + decomposed + `","role":"insider","stance":"neutral"},` +
		`"criteria":[{"name":"` + decomposed + `","favours":"us"}]}`
	if err := decodeJSON([]byte(body), &cmd); err != nil {
		t.Fatal(err)
	}
	if cmd.Stakeholder.Name != composed || cmd.Criteria[0].Name != composed {
		t.Errorf("not NFC: %q, %q", cmd.Stakeholder.Name, cmd.Criteria[0].Name)
	}
	var m map[string]any
	if err := decodeJSON([]byte(`{"a":"`+decomposed+`","b":["`+decomposed+`"],"c":{"d":"`+decomposed+`"}}`), &m); err != nil {
		t.Fatal(err)
	}
	if m["a"] != composed || m["b"].([]any)[0] != composed || m["c"].(map[string]any)["d"] != composed {
		t.Errorf("not NFC in a map: %q", m)
	}
}
