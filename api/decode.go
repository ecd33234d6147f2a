package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"reflect"
	"strings"

	"github.com/labstack/echo/v4"
	"golang.org/x/text/unicode/norm"

	"github.com/kamflow/kamflow"
)

// bind decodes the request's JSON body into v strictly: one JSON object, no unknown fields, the
// right types. An empty body decodes as {} so that bodiless actions such as approve accept none.
func bind(c echo.Context, v any) error {
	req := c.Request()
	if ct := req.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return kamflow.Errorf(kamflow.EINVALID, "Content-Type must be application/json, not %q", ct)
		}
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		var me *echo.HTTPError
		if errors.As(err, &me) {
			return me
		}
		return kamflow.Errorf(kamflow.EINVALID, "could not read the request body")
	}
	return decodeJSON(body, v)
}

// decodeJSON is bind's decoder, apart so that it can be fuzzed.
func decodeJSON(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return kamflow.Errorf(kamflow.EINVALID, "the body must hold one JSON object, but more follows it")
	}
	if _, err := dec.Token(); err != io.EOF {
		return kamflow.Errorf(kamflow.EINVALID, "the body must hold one JSON object, but more follows it")
	}
	if hasNUL(body) {
		// The database cannot store one; refused here rather than failing the write.
		return kamflow.Errorf(kamflow.EINVALID, "text must not contain the NUL character \\u0000")
	}
	nfc(reflect.ValueOf(v))
	return nil
}

// nfc puts every string held in v into Unicode normalisation form C, so that the same name typed
// on two keyboards (a precomposed é, or e and a combining accent) is stored, compared and
// searched as one. Map keys are codes (factors, stages), left as they are.
func nfc(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			nfc(v.Elem())
		}
	case reflect.Interface:
		if v.IsNil() {
			return
		}
		if e := v.Elem(); e.Kind() == reflect.String && v.CanSet() {
			v.Set(reflect.ValueOf(norm.NFC.String(e.String())).Convert(e.Type()))
		} else {
			nfc(e) // maps, slices and pointers share what they hold
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				nfc(v.Field(i))
			}
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			nfc(v.Index(i))
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			e := reflect.New(v.Type().Elem()).Elem()
			e.Set(v.MapIndex(k))
			nfc(e)
			v.SetMapIndex(k, e)
		}
	case reflect.String:
		if v.CanSet() && !norm.NFC.IsNormalString(v.String()) {
			v.SetString(norm.NFC.String(v.String()))
		}
	}
}

// hasNUL reports whether a string of the (valid) JSON text holds an escaped NUL, \u0000.
func hasNUL(body []byte) bool {
	for i := 0; i < len(body); i++ {
		if body[i] != '\\' {
			continue
		}
		if bytes.HasPrefix(body[i+1:], []byte("u0000")) {
			return true
		}
		i++ // the escaped character
	}
	return false
}

// jsonError explains a decoding failure in words a client developer can act on.
func jsonError(err error) error {
	var de *kamflow.Error
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &de):
		return de
	case errors.As(err, &syn):
		return kamflow.Errorf(kamflow.EINVALID, "malformed JSON at byte %d: %s", syn.Offset, syn.Error()).WithDetail("offset", syn.Offset)
	case errors.As(err, &typ):
		field := typ.Field
		// A field of an embedded struct comes with the struct's Go name first
		// ("AccountInput.name"); the client knows it by its JSON name alone, which is lower case.
		for head, rest, ok := strings.Cut(field, "."); ok && head != "" && head[0] >= 'A' && head[0] <= 'Z'; head, rest, ok = strings.Cut(field, ".") {
			field = rest
		}
		if field == "" {
			return kamflow.Errorf(kamflow.EINVALID, "the body must be a JSON object, not %s", typ.Value)
		}
		return kamflow.Errorf(kamflow.EINVALID, "field %q must be %s, not %s", field, jsonTypeName(typ.Type.Kind().String()), typ.Value).
			WithDetail("field", field)
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return kamflow.Errorf(kamflow.EINVALID, "malformed JSON: the body ends too early")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return kamflow.Errorf(kamflow.EINVALID, "unknown field %q", field).WithDetail("field", field)
	}
	return kamflow.Errorf(kamflow.EINVALID, "malformed JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
}

func jsonTypeName(kind string) string {
	switch kind {
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		return "a whole number"
	case "float32", "float64":
		return "a number"
	case "bool":
		return "true or false"
	case "string":
		return "a string"
	case "slice", "array":
		return "a list"
	case "map", "struct", "ptr":
		return "an object"
	}
	return fmt.Sprintf("a %s", kind)
}
