package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// CheckOpenAPI checks one exchange against openapi.json, for the scenario tests: the status must be
// documented for the route, and the answer must fit the documented schema (objects may hold only
// documented properties). A request body is checked against the request schema when reqBody is
// not nil. A path that no documented route matches is not checked.
func CheckOpenAPI(method, path string, reqBody []byte, status int, respBody []byte) error {
	d, err := docForChecks()
	if err != nil {
		return err
	}
	path, _, _ = strings.Cut(path, "?")
	tmpl, op, ok := d.match(method, path)
	if !ok {
		return nil
	}
	var errs []error
	if reqBody != nil && op.RequestBody != nil {
		var v any
		if err := json.Unmarshal(reqBody, &v); err == nil {
			errs = append(errs, d.validate(op.RequestBody.Content["application/json"].Schema, v, "request", true)...)
		}
	}
	r, ok := op.Responses[strconv.Itoa(status)]
	if !ok {
		errs = append(errs, fmt.Errorf("status %d is not documented for %s %s", status, method, tmpl))
	} else if r, err := d.response(r); err != nil {
		errs = append(errs, err)
	} else if strings.HasPrefix(string(respBody), "\ufeff") { // a CSV report
		if _, ok := r.Content["text/csv"]; !ok {
			errs = append(errs, fmt.Errorf("%s %s %d: the answer is CSV, which is not documented", method, tmpl, status))
		}
	} else if mt, ok := r.Content["application/json"]; ok {
		var v any
		if err := json.Unmarshal(respBody, &v); err != nil {
			errs = append(errs, fmt.Errorf("%s %s %d: the answer is not JSON: %q", method, tmpl, status, respBody))
		} else {
			errs = append(errs, d.validate(mt.Schema, v, "response", false)...)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s %s → %d does not fit openapi.json: %w", method, tmpl, status, errors.Join(errs...))
	}
	return nil
}

var (
	checkDocOnce sync.Once
	checkDoc     *oaDoc
	checkDocErr  error
	checkOps     map[string]oaOperation
)

func docForChecks() (*oaDoc, error) {
	checkDocOnce.Do(func() {
		var d oaDoc
		if checkDocErr = json.Unmarshal(openAPIDoc, &d); checkDocErr != nil {
			return
		}
		checkOps = map[string]oaOperation{}
		for path, item := range d.Paths {
			for method, raw := range item {
				var op oaOperation
				if err := json.Unmarshal(raw, &op); err == nil {
					checkOps[strings.ToUpper(method)+" "+path] = op
				}
			}
		}
		checkDoc = &d
	})
	return checkDoc, checkDocErr
}

// match finds the documented operation for a concrete path, preferring the template with the
// most literal segments.
func (d *oaDoc) match(method, path string) (string, oaOperation, bool) {
	segs := strings.Split(path, "/")
	best, bestLit := "", -1
	for key := range checkOps {
		m, tmpl, _ := strings.Cut(key, " ")
		if m != method {
			continue
		}
		ts := strings.Split(tmpl, "/")
		if len(ts) != len(segs) {
			continue
		}
		lit := 0
		ok := true
		for i, s := range ts {
			if strings.HasPrefix(s, "{") {
				continue
			}
			if s != segs[i] {
				ok = false
				break
			}
			lit++
		}
		if ok && lit > bestLit {
			best, bestLit = tmpl, lit
		}
	}
	if best == "" {
		return "", oaOperation{}, false
	}
	return best, checkOps[method+" "+best], true
}

// validate checks v against schema s: the subset of JSON Schema the document uses.
func (d *oaDoc) validate(s map[string]any, v any, at string, request bool) []error {
	if ref, ok := s["$ref"].(string); ok {
		return d.validate(d.Components.Schemas[strings.TrimPrefix(ref, "#/components/schemas/")], v, at, request)
	}
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", at, fmt.Sprintf(format, args...)))
	}
	for _, sub := range asSlice(s["allOf"]) {
		errs = append(errs, d.validate(sub.(map[string]any), v, at, request)...)
	}
	if enum, ok := s["enum"].([]any); ok {
		found := false
		for _, e := range enum {
			found = found || reflect.DeepEqual(e, v)
		}
		if !found {
			bad("%v is not one of %v", v, enum)
		}
	}
	typ, _ := s["type"].(string)
	switch typ {
	case "object":
		m, ok := v.(map[string]any)
		if !ok {
			bad("want an object, not %T", v)
			break
		}
		props, _ := s["properties"].(map[string]any)
		for _, r := range asSlice(s["required"]) {
			if _, ok := m[r.(string)]; !ok {
				bad("required property %q is missing", r)
			}
		}
		for k, pv := range m {
			if p, ok := props[k].(map[string]any); ok {
				if request && p["readOnly"] == true {
					bad("property %q is read-only", k)
				}
				errs = append(errs, d.validate(p, pv, at+"."+k, request)...)
				continue
			}
			switch ap := s["additionalProperties"].(type) {
			case map[string]any:
				errs = append(errs, d.validate(ap, pv, at+"."+k, request)...)
			case bool:
				if !ap {
					bad("property %q is not documented", k)
				}
			case nil:
				// Closed unless said otherwise: the document must name every field the API writes.
				if props != nil {
					bad("property %q is not documented", k)
				}
			}
		}
	case "array":
		a, ok := v.([]any)
		if !ok {
			bad("want an array, not %T", v)
			break
		}
		if n, ok := s["minItems"].(float64); ok && float64(len(a)) < n {
			bad("fewer than %v items", n)
		}
		if n, ok := s["maxItems"].(float64); ok && float64(len(a)) > n {
			bad("more than %v items", n)
		}
		if items, ok := s["items"].(map[string]any); ok {
			for i, e := range a {
				errs = append(errs, d.validate(items, e, fmt.Sprintf("%s[%d]", at, i), request)...)
			}
		}
	case "string":
		str, ok := v.(string)
		if !ok {
			bad("want a string, not %T %v", v, v)
			break
		}
		if p, ok := s["pattern"].(string); ok && !regexp.MustCompile(p).MatchString(str) {
			bad("%q does not match %s", str, p)
		}
		switch s["format"] {
		case "date":
			if _, err := time.Parse(time.DateOnly, str); err != nil {
				bad("%q is not a date", str)
			}
		case "date-time":
			if _, err := time.Parse(time.RFC3339Nano, str); err != nil {
				bad("%q is not a date-time", str)
			}
		}
		if n, ok := s["maxLength"].(float64); ok && float64(utf8.RuneCountInString(str)) > n {
			bad("longer than %v", n)
		}
		if n, ok := s["minLength"].(float64); ok && float64(utf8.RuneCountInString(str)) < n {
			bad("shorter than %v", n)
		}
	case "integer", "number":
		f, ok := v.(float64)
		if !ok {
			bad("want a number, not %T %v", v, v)
			break
		}
		if typ == "integer" && f != math.Trunc(f) {
			bad("%v is not a whole number", f)
		}
		if n, ok := s["minimum"].(float64); ok && f < n {
			bad("%v is below %v", f, n)
		}
		if n, ok := s["maximum"].(float64); ok && f > n {
			bad("%v is above %v", f, n)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			bad("want true or false, not %T %v", v, v)
		}
	}
	return errs
}
