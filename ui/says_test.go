package ui

import (
	"regexp"
	"slices"
	"testing"

	"github.com/kamflow/kamflow"
)

var placeholderName = regexp.MustCompile(`\{(\w+)\}`)

// TestServerTextsAreTranslated: every code the server says a text by (says.go) has its text in
// both dictionaries, and each text's placeholders are params the code carries, so the UI can
// say every one of them in either language. (TestBrowserTimelineTexts then says them all.)
func TestServerTextsAreTranslated(t *testing.T) {
	for prefix, texts := range map[string]map[string][]string{
		"tl": kamflow.TimelineTexts, "gatedetail": kamflow.GateTexts, "prob": kamflow.ProbabilityTexts,
	} {
		for code, params := range texts {
			for _, lang := range kamflow.Languages {
				text, ok := dictionary(t, lang)[prefix+"."+code]
				if !ok {
					t.Errorf("%s.json lacks %s.%s", lang, prefix, code)
					continue
				}
				for _, m := range placeholderName.FindAllStringSubmatch(text, -1) {
					if !slices.Contains(params, m[1]) {
						t.Errorf("%s %s.%s: {%s} is not one of the code's params %v", lang, prefix, code, m[1], params)
					}
				}
			}
		}
	}
	for code := range kamflow.TimelineActions {
		action := kamflow.TimelineActions[code]
		for _, lang := range kamflow.Languages {
			if _, ok := dictionary(t, lang)["action."+action]; action != "" && !ok {
				t.Errorf("%s.json lacks action.%s (the head of %s entries)", lang, action, code)
			}
		}
	}
}
