package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
)

// exchange is one answer of send.
type exchange struct {
	status int
	header http.Header
	body   []byte
	json   map[string]any
}

func (x exchange) code() string {
	e, _ := x.json["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

// send is one request as the client's user, with extra headers; any status is returned.
func (c apiClient) send(method, path string, body any, headers map[string]string) exchange {
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.base+path, r)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.token)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Errorf("%s %s: %v", method, path, err)
		return exchange{}
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	x := exchange{status: resp.StatusCode, header: resp.Header, body: raw}
	json.Unmarshal(raw, &x.json)
	return x
}

// together sends n copies of one request at once.
func together(n int, send func() exchange) []exchange {
	out := make([]exchange, n)
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	for i := range out {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			ready.Done()
			<-start
			out[i] = send()
		}()
	}
	ready.Wait()
	close(start)
	done.Wait()
	return out
}

// TestDevRetriesRaceOnTheRealEngine is issue 12's findings on the real thing (the embedded
// Temporal server, the worker, SQLite): ten retries of one deal creation racing each other with one
// Idempotency-Key get the first answer or 409 in_progress, never 404, and open one deal; ten
// identical forced advances racing without a key, each saying the stage it leaves, move the deal
// once; two people editing different fields of one account at once both keep their edit.
func TestDevRetriesRaceOnTheRealEngine(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server")
	}
	_, c, stop := startTestDev(t, t.TempDir())
	defer stop()
	dir := login(t, c.base, "director")
	kam2 := login(t, c.base, "kam2")

	acct := c.do("POST", "/api/v1/accounts", map[string]any{"name": "Retry Petrochemical"}, 201)["id"].(string)
	create := map[string]any{"account_id": acct, "title": "Raced pumps", "value": "1000000.00", "currency": "CNY"}
	var id string
	for i, x := range together(10, func() exchange {
		return c.send("POST", "/api/v1/deals", create, map[string]string{"Idempotency-Key": "e2e-create"})
	}) {
		switch {
		case x.status == 201 && (id == "" || x.json["id"] == id):
			id = x.json["id"].(string)
		case x.status == 409 && x.code() == "in_progress" && x.header.Get("Retry-After") != "":
		default:
			t.Errorf("create %d: %d %s", i, x.status, x.body)
		}
	}
	if id == "" {
		t.Fatal("no create answered 201")
	}
	if x := c.send("POST", "/api/v1/deals", create, map[string]string{"Idempotency-Key": "e2e-create"}); x.status != 201 || x.json["id"] != id {
		t.Errorf("retry after the race: %d %s", x.status, x.body)
	}
	if l := c.do("GET", "/api/v1/deals?account_id="+acct, nil, 200); l["total"] != float64(1) {
		t.Errorf("racing creates opened %v deals, want 1", l["total"])
	}

	p := "/api/v1/deals/" + id
	force := map[string]any{"force": true, "reason": "tender published early", "from": "development"}
	moved := 0
	for i, x := range together(10, func() exchange { return dir.send("POST", p+"/advance", force, nil) }) {
		switch {
		case x.status == 200 && x.json["stage"] == "entry":
			moved++
		case x.status == 409 && x.code() == "conflict" && fmt.Sprint(x.json["error"].(map[string]any)["details"].(map[string]any)["stage"]) == "entry":
		default:
			t.Errorf("forced advance %d: %d %s", i, x.status, x.body)
		}
	}
	forced := 0
	for _, h := range c.do("GET", p+"/history", nil, 200)["items"].([]any) {
		if h.(map[string]any)["kind"] == "forced" {
			forced++
		}
	}
	if d := c.do("GET", p, nil, 200); moved != 1 || forced != 1 || d["stage"] != "entry" {
		t.Errorf("ten forced advances from development: %d moved, %d forced rows, deal in %v; want 1, 1, entry", moved, forced, d["stage"])
	}

	for i := range 5 {
		var wg sync.WaitGroup
		for _, e := range []struct {
			who  apiClient
			body map[string]any
		}{{c, map[string]any{"industry": fmt.Sprint("petrochemical ", i)}}, {kam2, map[string]any{"region": fmt.Sprint("east ", i)}}} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if x := e.who.send("PATCH", "/api/v1/accounts/"+acct, e.body, nil); x.status != 200 {
					t.Errorf("edit %v: %d %s", e.body, x.status, x.body)
				}
			}()
		}
		wg.Wait()
		a := c.do("GET", "/api/v1/accounts/"+acct, nil, 200)
		if a["industry"] != fmt.Sprint("petrochemical ", i) || a["region"] != fmt.Sprint("east ", i) {
			t.Errorf("round %d: industry %v, region %v: an edit was lost", i, a["industry"], a["region"])
		}
	}
}
