package ui

import (
	"regexp"
	"strings"
	"testing"

	"github.com/kamflow/kamflow"
)

// TestAttentionView: the admin's screen of the deals needing attention is routed for admins and in
// their navigation, and every string it shows — the reasons a deal needs attention, the timeline's
// entry of a deal back to normal and what a user is told of a command on such a deal among them —
// is translated in both languages.
func TestAttentionView(t *testing.T) {
	main, err := static.ReadFile("static/js/main.js")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`re: /\^\\/attention\$/, view: attentionView, roles: \['admin'\], nav: 'nav\.attention'`).Match(main) ||
		!regexp.MustCompile(`admin: \[[^\]]*'/attention'`).Match(main) {
		t.Error("main.js does not route /attention for admins, or leaves it out of their navigation")
	}
	view, err := static.ReadFile("static/js/views/attention.js")
	if err != nil {
		t.Fatal(err)
	}
	// Every view tells a user whose command met a deal needing attention so (errorText).
	apiJS, err := static.ReadFile("static/js/api.js")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(apiJS), "if (d.attention === true) return t('error.attention');") {
		t.Error("errorText does not tell a deal needing attention from a slow service")
	}
	keys := map[string]bool{"action.deal.attention_cleared": true, "attention.reason.unknown": true, "error.attention": true}
	for _, r := range []string{kamflow.AttentionRefused, kamflow.AttentionExhausted} {
		keys["attention.reason."+r] = true
	}
	for _, m := range regexp.MustCompile(`\bt\('([a-z_.]+)'`).FindAllSubmatch(view, -1) {
		keys[string(m[1])] = true
	}
	for _, m := range regexp.MustCompile(`\btp\('([a-z_.]+)'`).FindAllSubmatch(view, -1) {
		keys[string(m[1])+".one"] = true
		keys[string(m[1])+".other"] = true
	}
	if len(keys) < 20 {
		t.Fatalf("found only %d keys in attention.js", len(keys))
	}
	for _, lang := range []string{"en", "zh-CN"} {
		d := dictionary(t, lang)
		for k := range keys {
			if strings.TrimSpace(d[k]) == "" {
				t.Errorf("%s.json lacks %q", lang, k)
			}
		}
	}
}
