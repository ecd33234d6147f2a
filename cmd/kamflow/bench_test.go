package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/api"
	"github.com/kamflow/kamflow/db"
	"github.com/kamflow/kamflow/db/dbtest"
	"github.com/kamflow/kamflow/engine"
	"github.com/kamflow/kamflow/workflows"
)

func TestMain(m *testing.M) {
	runKamflowIfAsked() // a kamflow process of a kill test (procs_test.go) runs main, not the tests
	dbtest.Main(m)
}

// latencies collects request durations and reports percentiles.
type latencies []time.Duration

func (l latencies) pct(p float64) time.Duration {
	s := slices.Clone(l)
	slices.Sort(s)
	i := int(float64(len(s))*p+0.5) - 1
	return s[max(0, min(i, len(s)-1))]
}

func (l latencies) report(b *testing.B, prefix string) {
	b.ReportMetric(float64(l.pct(0.50).Microseconds())/1000, prefix+"p50-ms")
	b.ReportMetric(float64(l.pct(0.99).Microseconds())/1000, prefix+"p99-ms")
}

// The benchmarks here are load measurements of a fixed size, reported as percentiles; run them
// once each (`make bench` passes -benchtime 1x).

// BenchmarkStageAdvance measures advancing a deal one stage: through the HTTP API (decode, read
// the deal, Update, projection, response) beside a raw Temporal Update of the same command on the
// same embedded server. Target: the API adds at most 30% on top of the raw Update.
func BenchmarkStageAdvance(b *testing.B) {
	const n = 200
	ctx := context.Background()
	app, err := startDev(ctx, quietLogger(), config{dataDir: b.TempDir(), namespace: "default", temporalPort: 0, demoPassword: "demo"})
	if err != nil {
		b.Fatal(err)
	}
	defer app.Close()
	srv := httptest.NewServer(app.api)
	defer srv.Close()

	// 2n deals with a passed assessment, ready to advance.
	kam1, err := app.db.UserByUsername(ctx, "kam1")
	if err != nil {
		b.Fatal(err)
	}
	token := benchLogin(b, srv.URL, "kam1", "demo")
	acct := &kamflow.Account{ID: "bench-account", Name: "Bench Steel", Owner: "kam1", TeamID: kam1.Teams[0], CreatedAt: time.Now(), UpdatedAt: time.Now()}
	if err := app.db.CreateAccount(ctx, acct); err != nil {
		b.Fatal(err)
	}
	svc := &engine.Client{Temporal: app.client}
	settings := kamflow.DefaultSettings()
	scores := map[kamflow.Factor]int{}
	for _, f := range kamflow.Factors {
		scores[f] = 4
	}
	ids := make([]string, 2*n)
	for i := range ids {
		d, created, err := kamflow.NewDeal(fmt.Sprintf("bench-%d", i), kamflow.NewDealInput{AccountID: acct.ID, Title: "Pump", Value: 100, Currency: "CNY", TeamID: acct.TeamID}, kam1.Actor(), time.Now(), settings)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := svc.CreateDeal(ctx, d, created, settings); err != nil {
			b.Fatal(err)
		}
		_, err = svc.Execute(ctx, d.ID, kamflow.Command{Kind: kamflow.CmdAssessment, Actor: kam1.Actor(),
			Assessment: &kamflow.AssessmentInput{Scores: scores, ExpectedClose: "2027-03-31", Likelihood: 80}}, "")
		if err != nil {
			b.Fatal(err)
		}
		ids[i] = d.ID
	}
	advance := kamflow.Command{Kind: kamflow.CmdAdvance, Actor: kam1.Actor(), Advance: &kamflow.AdvanceInput{}}

	var raw, viaAPI latencies
	b.ResetTimer()
	// Interleave the two so that both see the same server state and load.
	for i := 0; i < n; i++ {
		t0 := time.Now()
		h, err := app.client.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
			WorkflowID: workflows.WorkflowID(ids[2*i]), UpdateName: string(kamflow.CmdAdvance),
			Args: []any{advance}, WaitForStage: client.WorkflowUpdateStageCompleted,
		})
		if err == nil {
			err = h.Get(ctx, nil)
		}
		if err != nil {
			b.Fatal(err)
		}
		raw = append(raw, time.Since(t0))

		t0 = time.Now()
		req, _ := http.NewRequest("POST", srv.URL+"/api/v1/deals/"+ids[2*i+1]+"/advance", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			b.Fatalf("advance through the API: %v %v", err, resp.Status)
		}
		resp.Body.Close()
		viaAPI = append(viaAPI, time.Since(t0))
	}
	b.StopTimer()
	raw.report(b, "raw-update-")
	viaAPI.report(b, "api-")
	b.ReportMetric(float64(viaAPI.pct(0.5))/float64(raw.pct(0.5))*100-100, "api-overhead-p50-%")
}

// BenchmarkDealList measures GET /api/v1/deals over 10,000 deals, unfiltered and with the board's
// filters, on SQLite and PostgreSQL. Target: p99 ≤ 50 ms.
func BenchmarkDealList(b *testing.B) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		b.Run(dialect, func(b *testing.B) {
			var d *db.DB
			if dialect == "sqlite" {
				d = dbtest.SQLite(b)
			} else {
				d = dbtest.Postgres(b)
			}
			seedDeals(b, d, 10000)
			h := api.New(api.Config{Accounts: d, Deals: d, Notifications: d, Settings: d, Idempotency: d,
				Users: d, Sessions: d, Audit: d, Reports: d, Escalations: d, Emails: d, Logger: quietLogger()})
			// A director of all five teams sees every deal: the widest list.
			if _, err := addUser(context.Background(), d, "bench-director", "", kamflow.UserDirector, []string{"t0", "t1", "t2", "t3", "t4"}, "bench-password"); err != nil {
				b.Fatal(err)
			}
			srv := httptest.NewServer(h)
			defer srv.Close()
			token := benchLogin(b, srv.URL, "bench-director", "bench-password")
			teams, _ := d.Teams(context.Background())
			teamIDs := map[string]string{}
			for _, t := range teams {
				teamIDs[t.Name] = t.ID
			}
			retagTeams(b, d, teamIDs)
			queries := []string{
				"", "?stage=proposal", "?owner=kam7", "?stalled=true", "?grade=A&stage=bid",
				"?status=open&limit=200", "?offset=5000", "?account_id=acct-3",
			}
			var lat latencies
			b.ResetTimer()
			for round := 0; round < 25; round++ {
				for _, q := range queries {
					t0 := time.Now()
					rec := httptest.NewRecorder()
					req := httptest.NewRequest("GET", "/api/v1/deals"+q, nil)
					req.Header.Set("Authorization", "Bearer "+token)
					h.ServeHTTP(rec, req)
					if rec.Code != 200 {
						b.Fatalf("%s: %d %s", q, rec.Code, rec.Body)
					}
					lat = append(lat, time.Since(t0))
				}
			}
			b.StopTimer()
			lat.report(b, "list-")
		})
	}
}

func benchLogin(b *testing.B, base, user, password string) string {
	resp, err := http.Post(base+"/api/v1/auth/login", "application/json",
		strings.NewReader(fmt.Sprintf(`{"username":%q,"password":%q}`, user, password)))
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Token string `json:"token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.Token == "" {
		b.Fatalf("login as %s: %s %v", user, resp.Status, err)
	}
	return out.Token
}

// retagTeams puts the seeded deals into the real teams' IDs (seeded as team names t0–t4).
func retagTeams(b *testing.B, d *db.DB, ids map[string]string) {
	for name, id := range ids {
		if err := d.Gorm().Exec("UPDATE deals SET team_id = ? WHERE team_id = ?", id, name).Error; err != nil {
			b.Fatal(err)
		}
	}
}

// seedDeals projects n deals spread over stages, owners, grades and accounts, 5% of them stalled.
func seedDeals(b *testing.B, d *db.DB, n int) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	s := kamflow.DefaultSettings()
	start := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	grades := []kamflow.Grade{kamflow.GradeA, kamflow.GradeB, kamflow.GradeC, kamflow.GradeD}
	for i := 0; i < n; i++ {
		now := start.Add(time.Duration(i) * time.Minute)
		dl, created, err := kamflow.NewDeal(fmt.Sprintf("deal-%05d", i), kamflow.NewDealInput{
			AccountID: fmt.Sprintf("acct-%d", rng.IntN(500)), Title: fmt.Sprintf("Project %d", i),
			Value: kamflow.Money(rng.Int64N(1e10)), Currency: "CNY", Owner: fmt.Sprintf("kam%d", rng.IntN(20)),
			TeamID: fmt.Sprintf("t%d", rng.IntN(5)),
		}, kamflow.Actor{ID: "kam1"}, now, s)
		if err != nil {
			b.Fatal(err)
		}
		dl.Stage = kamflow.Stages[rng.IntN(5)]
		dl.Assessment = &kamflow.Assessment{Grade: grades[rng.IntN(4)], Passed: true}
		if rng.IntN(20) == 0 {
			dl.Stalled, dl.StalledSince = true, &now
		}
		if err := d.Project(ctx, kamflow.Projection{Deal: *dl, Transition: created}); err != nil {
			b.Fatal(err)
		}
	}
}
