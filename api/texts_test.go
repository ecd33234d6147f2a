package api_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/kamflow/kamflow/db"
	"github.com/kamflow/kamflow/db/dbtest"
)

// TestLongTextsAreKeptOutOfTheDealsRecord: a stakeholder's notes are read back as typed, while
// the deal's record (what its workflow holds and the store projects) carries only their ref.
func TestLongTextsAreKeptOutOfTheDealsRecord(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		acct := e.must(201, "POST", "/api/v1/accounts", "kam1", `{"name":"Baowu Steel Zhanjiang"}`)["id"].(string)
		deal := e.must(201, "POST", "/api/v1/deals", "kam1", fmt.Sprintf(`{"account_id":%q,"title":"Coke oven gas analysers","currency":"CNY"}`, acct))["id"].(string)
		p := "/api/v1/deals/" + deal
		e.must(200, "PUT", p+"/assessment", "kam1", assessPass)
		e.must(200, "POST", p+"/advance", "kam1", "")
		notes := strings.Repeat("王工负责技术评审。", 400)
		got := e.must(200, "POST", p+"/stakeholders", "kam1",
			fmt.Sprintf(`{"name":"Wang Gong","role":"insider","stance":"supporter","engaged":true,"notes":%q,"notes_ref":"sha256:forged"}`, notes))
		if n, _ := lookup(got, "stakeholders.0.notes"); n != notes {
			t.Fatalf("the answer's notes: %.40v", n)
		}
		got = e.must(200, "GET", p, "kam1", "")
		if n, _ := lookup(got, "stakeholders.0.notes"); n != notes {
			t.Fatalf("the deal's notes read back: %.40v", n)
		}
		stored, err := d.Deal(context.Background(), deal)
		if err != nil {
			t.Fatal(err)
		}
		s := stored.Stakeholders[0]
		if s.Notes != "" || !strings.HasPrefix(s.NotesRef, "sha256:") || s.NotesRef == "sha256:forged" {
			t.Errorf("the record holds notes %.20q, ref %q", s.Notes, s.NotesRef)
		}
		if n := stored.EncodedSize(); n > 4096 {
			t.Errorf("the record is %d bytes with 10 KB of notes kept outside it", n)
		}
	})
}
