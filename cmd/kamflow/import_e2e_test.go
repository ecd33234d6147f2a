package main

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"testing"
	"time"
)

// upload posts a file to /api/v1/imports as the client's user and returns the import.
func (c apiClient) upload(query, name string, data []byte) map[string]any {
	c.t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	fw, _ := w.CreateFormFile("file", name)
	fw.Write(data)
	w.Close()
	req, _ := http.NewRequest("POST", c.base+"/api/v1/imports?"+query, &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 201 {
		c.t.Fatalf("upload %s: %d %s", name, resp.StatusCode, raw)
	}
	out := map[string]any{}
	if err := json.Unmarshal(raw, &out); err != nil {
		c.t.Fatal(err)
	}
	return out
}

// await polls an import until it is done, or awaiting a director's approval.
func (c apiClient) await(imp map[string]any) map[string]any {
	c.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		got := c.do("GET", "/api/v1/imports/"+imp["id"].(string), nil, 200)
		switch got["status"] {
		case "done", "awaiting_approval":
			return got
		case "failed":
			c.t.Fatalf("import failed: %v", got)
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("import not done: %v", got)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestDevImportsDealsAtTheirStage imports accounts and open deals on the real thing (the embedded
// Temporal server, the worker, SQLite): the KAM's deals past development wait for the director,
// who approves them; then each deal's workflow starts at its stage, marked imported and approved,
// and goes on from there; running the file again opens nothing twice.
func TestDevImportsDealsAtTheirStage(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server")
	}
	_, c, stop := startTestDev(t, t.TempDir())
	defer stop()

	accounts := c.await(c.upload("kind=accounts&dry_run=false", "客户.csv", []byte("客户编号,客户名称,行业\nCRM-1,华东石化,石化\n")))
	if accounts["imported"] != float64(1) {
		t.Fatalf("accounts: %v", accounts)
	}
	deals := []byte("商机编号,客户编号,商机名称,金额,阶段,预计成交日期\n" +
		"D-1,CRM-1,Boiler feed pumps,12000000,投标阶段,2027-03-31\n" +
		"D-2,CRM-1,DCS retrofit,800000,entry,\n")
	held := c.await(c.upload("kind=deals&dry_run=false", "商机.csv", deals))
	if held["status"] != "awaiting_approval" || held["held"] != float64(2) || held["imported"] != float64(0) {
		t.Fatalf("deals held: %v", held)
	}
	login(t, c.base, "director").do("POST", "/api/v1/imports/"+held["id"].(string)+"/approve", map[string]any{"reason": "assessed in the old CRM"}, 200)
	done := c.await(held)
	if done["status"] != "done" || done["imported"] != float64(2) || done["rejected"] != float64(0) {
		t.Fatalf("deals: %v", done)
	}
	list := c.do("GET", "/api/v1/deals?stage=bid", nil, 200)["items"].([]any)
	if len(list) != 1 {
		t.Fatalf("deals in bid: %v", list)
	}
	p := "/api/v1/deals/" + list[0].(map[string]any)["id"].(string)
	deal := c.do("GET", p, nil, 200)
	imported, _ := deal["imported"].(map[string]any)
	if deal["status"] != "open" || imported["stage"] != "bid" || imported["import_id"] != done["id"] || imported["approved_by"] != "director" || deal["value"] != "12000000.00" {
		t.Fatalf("imported deal: %v", deal)
	}
	hist := c.do("GET", p+"/history", nil, 200)["items"].([]any)
	if len(hist) != 1 || hist[0].(map[string]any)["kind"] != "imported" || hist[0].(map[string]any)["to_stage"] != "bid" {
		t.Fatalf("history: %v", hist)
	}
	// The workflow takes the deal on from its stage.
	c.do("POST", p+"/advance", nil, 409)
	c.do("PUT", p+"/bid", map[string]any{"cost": "9000000.00", "price": "12000000.00", "submitted": true}, 200)
	if d := c.do("POST", p+"/advance", nil, 200); d["stage"] != "negotiation" {
		t.Fatalf("advance: %v", d["stage"])
	}
	again := c.await(c.upload("kind=deals&dry_run=false", "商机.csv", deals))
	if again["imported"] != float64(0) || again["skipped"] != float64(2) {
		t.Fatalf("again: %v", again)
	}
}
