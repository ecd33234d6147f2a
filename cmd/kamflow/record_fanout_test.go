package main

import (
	"fmt"
	"testing"

	"github.com/kamflow/kamflow/workflows"
)

// recordSettingsFanout: two changes of a stage's SLA, one right after the other, told to a few
// running deals by the settings fan-out: its wait for the first save, its pages, the second
// change's fan-out, and its end once nothing more is awaited.
func recordSettingsFanout(t *testing.T, r *recorder) {
	kam, admin := r.as(t, "kam1"), r.as(t, "admin")
	restore := r.stageSettings(t, admin, "entry")
	for i := range 3 {
		r.newDeal(t, kam, fmt.Sprintf("Feedwater heaters %d", i+1))
	}
	admin.do("PUT", "/api/v1/settings/stages/entry", map[string]any{"sla": "40d"}, 200)
	last := admin.do("PUT", "/api/v1/settings/stages/entry", map[string]any{"sla": "41d"}, 200)
	awaitState(t, "the fan-out of the second change done", func() (bool, string) {
		f, _ := admin.do("GET", "/api/v1/settings", nil, 200)["fanout"].(map[string]any)
		return f["version"] == last["version"] && f["status"] == "done", fmt.Sprintf("fan-out %v", f)
	})
	r.record(t, "settings-fanout", workflows.SettingsFanoutID, true)
	restore()
}
