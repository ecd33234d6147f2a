package requestid

import (
	"context"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
)

func TestValid(t *testing.T) {
	for id, want := range map[string]bool{
		"abc": true, "0190b0e4-7c1f-7d2a-9b1e-4f2d3c4b5a69": true, "Root=1-5759e988;x": false,
		"": false, strings.Repeat("a", MaxLen): true, strings.Repeat("a", MaxLen+1): false,
		"a b": false, "a\nb": false, "a\"b": false, "é": false, "trace/span:1+2=": true,
	} {
		if got := Valid(id); got != want {
			t.Errorf("Valid(%q) = %v, want %v", id, got, want)
		}
	}
	if id := New(); !Valid(id) {
		t.Errorf("New() = %q is not Valid", id)
	}
}

type header map[string]*commonpb.Payload

func (h header) Set(k string, v *commonpb.Payload) { h[k] = v }
func (h header) Get(k string) (*commonpb.Payload, bool) {
	v, ok := h[k]
	return v, ok
}
func (h header) ForEachKey(fn func(string, *commonpb.Payload) error) error {
	for k, v := range h {
		if err := fn(k, v); err != nil {
			return err
		}
	}
	return nil
}

// TestPropagator: the ID goes into the headers and comes out again; no ID, no header; an ID that
// was not valid is dropped on the way in; the lack of one hides the parent's.
func TestPropagator(t *testing.T) {
	p := Propagator()
	h := header{}
	if err := p.Inject(With(context.Background(), "abc"), h); err != nil {
		t.Fatal(err)
	}
	ctx, err := p.Extract(context.Background(), h)
	if err != nil || From(ctx) != "abc" {
		t.Fatalf("extracted %q, %v; want abc", From(ctx), err)
	}
	empty := header{}
	if err := p.Inject(context.Background(), empty); err != nil || len(empty) != 0 {
		t.Fatalf("no ID injected %v, %v; want no header", empty, err)
	}
	if ctx, _ := p.Extract(With(context.Background(), "parent"), empty); From(ctx) != "" {
		t.Errorf("no header extracted as %q; want none", From(ctx))
	}
	bad, _ := converter.GetDefaultDataConverter().ToPayload("a b\n")
	if ctx, _ := p.Extract(context.Background(), header{temporalHeader: bad}); From(ctx) != "" {
		t.Errorf("an invalid ID extracted as %q; want none", From(ctx))
	}
}
