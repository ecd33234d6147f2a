package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/kamflow/kamflow/importer"
	"github.com/kamflow/kamflow/workflows"
)

// recordImports records ImportWorkflow's runs: a plain import of accounts (one row rejected); a
// KAM's import holding a deal past development, its first run and the approved run of the held
// row; and an import of deals cancelled while it commits.
func recordImports(t *testing.T, r *recorder) {
	kam, director := r.as(t, "kam1"), r.as(t, "director")
	plain := kam.await(kam.upload("kind=accounts&dry_run=false", "accounts.csv", []byte("name,industry\nNorth Steel,steel\n=bad,steel\nSouth Power,power\n")))
	if plain["status"] != "done" || plain["imported"] != float64(2) || plain["rejected"] != float64(1) {
		t.Fatalf("the plain import: %v", plain)
	}
	r.record(t, "import-plain", workflows.ImportWorkflowID(plain["id"].(string), importer.RunFirst), true)

	held := kam.await(kam.upload("kind=deals&dry_run=false", "deals.csv", []byte("account,title,value,stage\n"+
		"North Steel,Blast furnace pumps,9000000,bid\nNorth Steel,Cooling water,300000,development\n")))
	if held["status"] != "awaiting_approval" || held["held"] != float64(1) || held["imported"] != float64(1) {
		t.Fatalf("the held import: %v", held)
	}
	id := held["id"].(string)
	director.do("POST", "/api/v1/imports/"+id+"/approve", map[string]any{"reason": "assessed in the old CRM"}, 200)
	if done := kam.await(held); done["status"] != "done" || done["imported"] != float64(2) {
		t.Fatalf("the approved import: %v", done)
	}
	r.record(t, "import-held", workflows.ImportWorkflowID(id, importer.RunFirst), true)
	r.record(t, "import-approved", workflows.ImportWorkflowID(id, importer.RunApproved), true)

	// Enough deals for the cancel to come while they are committed (eight at a time).
	var b strings.Builder
	b.WriteString("account,title,value,stage\n")
	for i := range 400 {
		fmt.Fprintf(&b, "South Power,Turbine overhaul %03d,%d,development\n", i, 100000+i)
	}
	running := kam.upload("kind=deals&dry_run=false", "many.csv", []byte(b.String()))
	id = running["id"].(string)
	kam.do("POST", "/api/v1/imports/"+id+"/cancel", nil, 202)
	var last map[string]any
	awaitState(t, "the import cancelled", func() (bool, string) {
		last = kam.do("GET", "/api/v1/imports/"+id, nil, 200)
		return last["status"] == "cancelled", fmt.Sprint(last["status"], " ", last["processed"], " of ", last["total"])
	})
	if last["not_imported"] == float64(0) || last["imported"].(float64)+last["not_imported"].(float64) != 400 {
		t.Fatalf("the cancelled import: %v", last)
	}
	r.record(t, "import-cancelled", workflows.ImportWorkflowID(id, importer.RunFirst), true)
}
