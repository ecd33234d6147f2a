package api_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/api"
	"github.com/kamflow/kamflow/db"
	"github.com/kamflow/kamflow/db/dbtest"
)

// TestDeliveryUndoFailedResolvedByHand: a cancelled task whose undo the field-service system
// refuses is undo_failed, naming what to clean up by hand; its engineer and the KAM are told, the
// timeline says so, and the acceptance certificate and the project's close are refused until an
// engineer of the deal (or a director) resolves it with a note. Then the task is cancelled and
// both go through.
func TestDeliveryUndoFailedResolvedByHand(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		m := &matrixRun{env: e}
		_, deal := m.fresh(accepted)
		p := "/api/v1/deals/" + deal
		// checked sends a request and checks its status and that the exchange fits openapi.json (a
		// request body that is wrong on purpose, marked with a leading "!", is not checked).
		checked := func(status int, method, path, as, body string) map[string]any {
			t.Helper()
			bad := strings.HasPrefix(body, "!")
			body = strings.TrimPrefix(body, "!")
			res := e.serve(request{method: method, path: path, body: body, as: as})
			if res.status != status {
				t.Fatalf("%s %s as %s: %d, want %d: %s", method, path, as, res.status, status, res.body)
			}
			var reqBody []byte
			if body != "" && !bad {
				reqBody = []byte(body)
			}
			if err := api.CheckOpenAPI(method, path, reqBody, res.status, res.body); err != nil {
				t.Error(err)
			}
			out, _ := res.json.(map[string]any)
			return out
		}
		errCode := func(res map[string]any) string { v, _ := lookup(res, "error.code"); return fmt.Sprint(v) }

		// A cable-pulling task added after the acceptance, started: its work order done.
		plan := `{"tasks":[{"key":"site_survey","depends_on":[]},{"key":"installation","depends_on":["site_survey"]},` +
			`{"key":"commissioning","depends_on":["installation"]},{"key":"training","depends_on":["commissioning"]},` +
			`{"key":"acceptance_test","depends_on":["commissioning","training"]},{"key":"cable_pulling","title":"Cable pulling","assignee":"e1","depends_on":[]}]}`
		checked(200, "PUT", p+"/delivery", "kam1", plan)
		checked(200, "POST", p+"/delivery/tasks/cable_pulling/start", "e1", "")
		// Not undo_failed: nothing to resolve.
		if res := checked(422, "POST", p+"/delivery/tasks/cable_pulling/resolve-undo", "e1", `{"note":"nothing"}`); errCode(res) != kamflow.EWRONGSTAGE {
			t.Errorf("resolve of an active task: %v", res)
		}
		e.svc.refuseUndo(deal, "cable_pulling")
		got := checked(200, "POST", p+"/delivery/tasks/cable_pulling/cancel", "e1", "")
		task := func(plan map[string]any) map[string]any {
			for _, x := range plan["tasks"].([]any) {
				if x.(map[string]any)["key"] == "cable_pulling" {
					return x.(map[string]any)
				}
			}
			t.Fatal("no cable_pulling task")
			return nil
		}
		tk := task(got)
		if tk["status"] != "undo_failed" || tk["undo_to"] != "cancelled" || fmt.Sprint(got["undo_failed"]) != "[cable_pulling]" {
			t.Fatalf("cancelled with its undo refused: %v (to %v), plan undo_failed %v", tk["status"], tk["undo_to"], got["undo_failed"])
		}
		if f, _ := lookup(tk, "undo_failures.0.step"); f != "work_order" {
			t.Errorf("undo failures %v", tk["undo_failures"])
		}
		if f, _ := lookup(tk, "undo_failures.0.error"); !strings.Contains(fmt.Sprint(f), "409 Conflict") {
			t.Errorf("undo failures %v", tk["undo_failures"])
		}
		again := checked(200, "GET", p+"/delivery", "kam1", "")
		if task(again)["status"] != "undo_failed" {
			t.Errorf("the projection: %v", task(again)["status"])
		}

		// Told: the task's engineer and the KAM, once each.
		for _, who := range []string{"e1", "kam1"} {
			n := checked(200, "GET", "/api/v1/notifications", who, "")
			count := 0
			for _, x := range n["items"].([]any) {
				if x.(map[string]any)["kind"] == kamflow.NoticeUndoFailed {
					count++
					if msg := fmt.Sprint(x.(map[string]any)["message"]); !strings.Contains(msg, "clean up by hand work_order") {
						t.Errorf("%s told %q", who, msg)
					}
				}
			}
			if count != 1 {
				t.Errorf("%s has %d undo_failed notifications", who, count)
			}
		}

		// The certificate and the project's close wait.
		res := checked(409, "GET", p+"/acceptance/certificate.pdf", "e1", "")
		if errCode(res) != kamflow.EGATENOTMET || !strings.Contains(fmt.Sprint(res), "cleaned up by hand") {
			t.Errorf("certificate with an undo_failed task: %v", res)
		}
		if v, _ := lookup(res, "error.details.undo_failed"); fmt.Sprint(v) != "[cable_pulling]" {
			t.Errorf("certificate refusal details %v", res)
		}
		if res := checked(409, "POST", p+"/project/close", "e1", ""); errCode(res) != kamflow.EGATENOTMET {
			t.Errorf("close with an undo_failed task: %v", res)
		} else if v, _ := lookup(res, "error.details.undo_failed"); fmt.Sprint(v) != "[cable_pulling]" {
			t.Errorf("close refusal details %v", res)
		}

		// Who resolves it, and with what.
		checked(403, "POST", p+"/delivery/tasks/cable_pulling/resolve-undo", "kam1", `{"note":"done"}`)
		checked(404, "POST", p+"/delivery/tasks/cable_pulling/resolve-undo", "e2", `{"note":"done"}`)
		if res := checked(400, "POST", p+"/delivery/tasks/cable_pulling/resolve-undo", "e1", `{"note":"  "}`); errCode(res) != kamflow.EINVALID {
			t.Errorf("no note: %v", res)
		}
		checked(400, "POST", p+"/delivery/tasks/cable_pulling/resolve-undo", "e1", fmt.Sprintf(`!{"note":%q}`, strings.Repeat("x", 4001)))
		checked(400, "POST", p+"/delivery/tasks/cable_pulling/resolve-undo", "e1", `!{"note":"done","extra":1}`)
		note := "Work order closed by hand in the ERP (ticket 4711)"
		got = checked(200, "POST", p+"/delivery/tasks/cable_pulling/resolve-undo", "e1", fmt.Sprintf(`{"note":%q}`, note))
		tk = task(got)
		if tk["status"] != "cancelled" || fmt.Sprint(got["undo_failed"]) != "[]" {
			t.Errorf("resolved: %v, plan undo_failed %v", tk["status"], got["undo_failed"])
		}
		if c, _ := lookup(tk, "cleanups.0.note"); c != note {
			t.Errorf("clean-ups %v", tk["cleanups"])
		}
		tl := checked(200, "GET", p+"/timeline", "kam1", "")
		var actions []string
		for _, x := range tl["items"].([]any) {
			actions = append(actions, fmt.Sprint(x.(map[string]any)["action"]))
		}
		if !slices.Contains(actions, "delivery.undo_failed") || !slices.Contains(actions, "delivery.resolve_undo") {
			t.Errorf("timeline actions %v", actions)
		}
		b, _ := json.Marshal(tl)
		if !strings.Contains(string(b), note) {
			t.Errorf("the note is not on the timeline: %s", b)
		}

		// Resolved: the certificate and the close go through.
		if res := e.serve(request{method: "GET", path: p + "/acceptance/certificate.pdf", as: "e1"}); res.status != 200 || !strings.HasPrefix(string(res.body), "%PDF-") {
			t.Errorf("certificate after the clean-up: %d %.60s", res.status, res.body)
		}
		if got := checked(200, "POST", p+"/project/close", "e1", ""); got["status"] != "delivered" {
			t.Errorf("closed: %v", got["status"])
		}
	})
}
