package db_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/db"
	"github.com/kamflow/kamflow/db/dbtest"
)

var dvSystem = kamflow.Actor{ID: "kamflow", Role: kamflow.UserSystem}

// dvDeal projects a deal of the account and team, with the engineers assigned.
func dvDeal(t *testing.T, d *db.DB, id, account, owner, team, title string, engineers ...string) *kamflow.Deal {
	t.Helper()
	deal, created, err := kamflow.NewDeal(id, kamflow.NewDealInput{
		AccountID: account, Title: title, Value: 3_600_000_00, Currency: "CNY", Owner: owner, TeamID: team,
	}, dvSystem, t0, settings)
	if err != nil {
		t.Fatal(err)
	}
	project(t, d, deal, created)
	if len(engineers) > 0 {
		apply(t, d, deal, kamflow.Command{Kind: kamflow.CmdAssignEngineers, Actor: dvSystem, Engineers: engineers}, t0.Add(time.Minute))
	}
	return deal
}

// dvClosedPlan is the deal's default plan, closed at t0, with its first visits added, each at its
// due date, for assignee.
func dvClosedPlan(t *testing.T, deal *kamflow.Deal, visits int, assignee string) *kamflow.DeliveryPlan {
	t.Helper()
	p := kamflow.NewDeliveryPlan(deal, t0)
	p.CloseProject(t0)
	for range visits {
		due, round := p.NextVisitDue()
		if round == 0 || p.AddVisit(assignee, due) == nil {
			t.Fatalf("no visit %d for %s", round, deal.ID)
		}
	}
	return p
}

// dvClone deep-copies a plan, so that a snapshot is not changed by later changes.
func dvClone(t *testing.T, p *kamflow.DeliveryPlan) *kamflow.DeliveryPlan {
	t.Helper()
	var c kamflow.DeliveryPlan
	if err := json.Unmarshal([]byte(asJSON(t, p)), &c); err != nil {
		t.Fatal(err)
	}
	return &c
}

func dvProject(t *testing.T, d *db.DB, p *kamflow.DeliveryPlan) {
	t.Helper()
	if err := d.ProjectDelivery(ctx, p); err != nil {
		t.Fatalf("project the plan of %s at seq %d: %v", p.DealID, p.Seq, err)
	}
}

func dvReport(t *testing.T, p *kamflow.DeliveryPlan, visit string, r kamflow.VisitReport, at time.Time) {
	t.Helper()
	if err := p.Apply(kamflow.DeliveryCommand{Kind: kamflow.DelivReport, Actor: dvSystem, Visit: visit, Report: &r}, at); err != nil {
		t.Fatalf("report %s: %v", visit, err)
	}
}

func dvRead(t *testing.T, d *db.DB, dealID string) *kamflow.DeliveryPlan {
	t.Helper()
	p, err := d.DeliveryPlan(ctx, dealID)
	if err != nil {
		t.Fatalf("read the plan of %s: %v", dealID, err)
	}
	return p
}

func visitIDs(vs []kamflow.ServiceVisit) []string {
	ids := []string{}
	for _, v := range vs {
		ids = append(ids, v.ID)
	}
	return ids
}

// A plan through delivery — steps with their refs, completion notes and attachments, an acceptance
// with a punch list, one item resolved — and a reported visit, in Chinese, read back exactly as
// written.
func TestDeliveryPlanRoundTrip(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		deal := dvDeal(t, d, "dv-rt", "acc-宝钢", "kam-li", "east", "宝钢冷轧线 DCS 改造（二期）", "工程师-王")
		at := t0.Add(40 * kamflow.Day).Add(123456789 * time.Nanosecond)
		p := kamflow.NewDeliveryPlan(deal, at)
		do := func(cmd kamflow.DeliveryCommand) {
			t.Helper()
			cmd.Actor = director
			if err := p.Apply(cmd, at); err != nil {
				t.Fatalf("%s %s: %v", cmd.Kind, cmd.Task, err)
			}
		}
		for _, task := range []string{kamflow.TaskSiteSurvey, kamflow.TaskInstallation, kamflow.TaskCommissioning,
			kamflow.TaskTraining, kamflow.TaskAcceptanceTest} {
			do(kamflow.DeliveryCommand{Kind: kamflow.DelivStart, Task: task})
			for s := p.Task(task).NextStep(); s != ""; s = p.Task(task).NextStep() {
				p.StepStarted(task, s, at)
				p.StepProgress(task, s, 40, at)
				p.StepDone(task, s, "WO-"+task+"-"+s, at)
			}
			in := &kamflow.CompleteInput{Notes: task + "：现场完成，客户签字确认",
				Attachments: []kamflow.Attachment{{Name: "验收单.pdf", Ref: "dms://kamflow/" + task + "/验收单.pdf"}}}
			if task == kamflow.TaskAcceptanceTest {
				in.Result, in.PunchList = kamflow.AcceptancePassPunchList, []string{"3# 泵振动偏高，需复测", "操作手册中文版待交付"}
			}
			do(kamflow.DeliveryCommand{Kind: kamflow.DelivComplete, Task: task, Complete: in})
		}
		do(kamflow.DeliveryCommand{Kind: kamflow.DelivResolve, Punch: "p2"})
		p.CloseProject(at)
		due, _ := p.NextVisitDue()
		p.AddVisit("工程师-王", due)
		dvReport(t, p, "dv-rt-v1", kamflow.VisitReport{VisitedOn: kamflow.DateOf(due), FaultsFound: 2, FaultsUnresolved: 1,
			Satisfaction: kamflow.Satisfied, Notes: "更换 2# 泵机械密封；1 处仪表漂移待备件"}, due)

		dvProject(t, d, p)
		got := dvRead(t, d, "dv-rt")
		if asJSON(t, got) != asJSON(t, p) {
			t.Fatalf("read back\n%s\nwant\n%s", asJSON(t, got), asJSON(t, p))
		}
		acc := got.Task(kamflow.TaskAcceptanceTest)
		if got.Site != "宝钢冷轧线 DCS 改造（二期）" || acc.Result != kamflow.AcceptancePassPunchList ||
			len(acc.PunchList) != 2 || !acc.PunchList[1].Done || acc.PunchList[0].Text != "3# 泵振动偏高，需复测" ||
			acc.Attachments[0].Name != "验收单.pdf" || acc.Steps[0].Ref != "WO-acceptance_test-work_order" ||
			!got.UpdatedAt.Equal(p.UpdatedAt) {
			t.Errorf("plan %s", asJSON(t, got))
		}
		v, err := d.ServiceVisit(ctx, "dv-rt-v1")
		if err != nil {
			t.Fatal(err)
		}
		if asJSON(t, v) != asJSON(t, p.Visits[0]) || v.Report.Notes != "更换 2# 泵机械密封；1 处仪表漂移待备件" {
			t.Errorf("visit %s, want %s", asJSON(t, v), asJSON(t, p.Visits[0]))
		}

		_, err = d.DeliveryPlan(ctx, "dv-none")
		wantCode(t, err, kamflow.ENOTFOUND)
		_, err = d.ServiceVisit(ctx, "dv-rt-v2")
		wantCode(t, err, kamflow.ENOTFOUND)
		if vs, err := d.ServiceVisits(ctx, kamflow.VisitFilter{DealID: "dv-none"}); err != nil || vs == nil || len(vs) != 0 {
			t.Errorf("visits of a deal without a plan: %v, %v", vs, err)
		}
	})
}

// The plan moves only forward in its seq: a retry changes nothing, a late write of an older plan
// rolls back neither the plan nor its visits; visits are added and reported with the plan.
func TestDeliveryProjectionSeqGuard(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		deal := dvDeal(t, d, "dv-seq", "acc-1", "kam-li", "east", "Boiler feed pumps", "e1")
		p := kamflow.NewDeliveryPlan(deal, t0)
		dvProject(t, d, p)
		first := dvClone(t, p)

		p.CloseProject(t0.Add(kamflow.Day))
		due, _ := p.NextVisitDue()
		p.AddVisit("e1", due)
		dvProject(t, d, p)
		dvProject(t, d, p) // a retry
		due, _ = p.NextVisitDue()
		p.AddVisit("e1", due)
		dvProject(t, d, p)
		twoDue := dvClone(t, p)
		v, err := d.ServiceVisit(ctx, "dv-seq-v1")
		if err != nil || v.Status != kamflow.VisitDue || v.Report != nil || v.Assignee != "e1" || v.Round != 1 {
			t.Fatalf("visit 1 before its report: %+v, %v", v, err)
		}

		dvReport(t, p, "dv-seq-v1", kamflow.VisitReport{VisitedOn: kamflow.DateOf(due), FaultsFound: 3, FaultsUnresolved: 1,
			Satisfaction: kamflow.Dissatisfied}, due)
		dvProject(t, d, p)
		latest := asJSON(t, p)

		for _, stale := range []*kamflow.DeliveryPlan{first, twoDue} {
			dvProject(t, d, stale)
			if got := dvRead(t, d, "dv-seq"); asJSON(t, got) != latest {
				t.Fatalf("after the late write of seq %d: seq %d, %d visits", stale.Seq, got.Seq, len(got.Visits))
			}
		}
		v, err = d.ServiceVisit(ctx, "dv-seq-v1")
		if err != nil || v.Status != kamflow.VisitReported || v.Report == nil || v.Report.FaultsFound != 3 {
			t.Fatalf("visit 1 after the late writes: %+v, %v", v, err)
		}
		// The columns follow the report (they are what a report by SQL would read).
		var row struct {
			Status           string
			FaultsFound      int
			FaultsUnresolved int
			Satisfaction     string
			VisitedOn        string
			ReportedAt       *time.Time
		}
		if err := d.Gorm().Raw(`SELECT status, faults_found, faults_unresolved, satisfaction, visited_on, reported_at
			FROM service_visits WHERE id = ?`, "dv-seq-v1").Scan(&row).Error; err != nil {
			t.Fatal(err)
		}
		if row.Status != "reported" || row.FaultsFound != 3 || row.FaultsUnresolved != 1 || row.Satisfaction != "dissatisfied" ||
			row.VisitedOn != string(kamflow.DateOf(due)) || row.ReportedAt == nil || !row.ReportedAt.Equal(due) {
			t.Errorf("row %+v", row)
		}
		vs, err := d.AccountServiceVisits(ctx, "acc-1")
		if err != nil {
			t.Fatal(err)
		}
		if got := visitIDs(vs); !slices.Equal(got, []string{"dv-seq-v1", "dv-seq-v2"}) || vs[1].Status != kamflow.VisitDue {
			t.Errorf("the account's visits %v", got)
		}
		r := kamflow.BuildServiceReport("acc-1", 0, vs)
		if r.SitesVisited != 1 || r.SitesWithFaults != 1 || r.SitesUnresolved != 1 || r.Satisfied != 0 {
			t.Errorf("service report %+v", r)
		}
	})
}

// A plan is written only for a deal that is projected, and its visits only for it.
func TestDeliveryProjectionRefused(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ghost := &kamflow.Deal{ID: "dv-ghost", AccountID: "acc-1", Title: "No row", Owner: "kam-li"}
		if err := d.ProjectDelivery(ctx, kamflow.NewDeliveryPlan(ghost, t0)); err == nil {
			t.Error("the plan of a deal without a row was written")
		}
		deal := dvDeal(t, d, "dv-own", "acc-1", "kam-li", "east", "Compressors")
		p := dvClosedPlan(t, deal, 1, "e1")
		p.Visits[0].DealID = "dv-other"
		wantCode(t, d.ProjectDelivery(ctx, p), kamflow.EINVALID)
		wantCode(t, d.ProjectDelivery(ctx, &kamflow.DeliveryPlan{}), kamflow.EINVALID)
		if _, err := d.DeliveryPlan(ctx, "dv-own"); kamflow.ErrorCode(err) != kamflow.ENOTFOUND {
			t.Errorf("a refused plan was written: %v", err)
		}
	})
}

// The visit lists: by assignee, account, deal and status, the earliest due first, and for a viewer
// exactly the visits of the deals the viewer may see.
func TestDeliveryServiceVisitFilters(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		type spec struct {
			id, account, owner, team string
			engineers                []string
			visits                   int
			assignee                 string
			offset                   time.Duration // of the close, so that the due dates interleave
		}
		specs := []spec{
			{"dv-a", "acc-east", "kam1", "east", []string{"e1"}, 2, "e1", 0},
			{"dv-b", "acc-east", "kam2", "east", []string{"e2"}, 1, "e2", 2 * kamflow.Day},
			{"dv-c", "acc-west", "kam3", "west", []string{"e2"}, 1, "e2", kamflow.Day},
			// No team; e1 is the visit's assignee but not one of the deal's engineers.
			{"dv-d", "acc-x", "kam1", "", nil, 1, "e1", 3 * kamflow.Day},
		}
		deals := map[string]*kamflow.Deal{}
		for _, s := range specs {
			deal := dvDeal(t, d, s.id, s.account, s.owner, s.team, "Site "+s.id, s.engineers...)
			deals[s.id] = deal
			p := kamflow.NewDeliveryPlan(deal, t0)
			p.CloseProject(t0.Add(s.offset))
			for range s.visits {
				due, _ := p.NextVisitDue()
				p.AddVisit(s.assignee, due)
			}
			if s.id == "dv-a" {
				dvReport(t, p, "dv-a-v1", kamflow.VisitReport{VisitedOn: "2025-04-03", Satisfaction: kamflow.Satisfied}, t0.Add(31*kamflow.Day))
			}
			dvProject(t, d, p)
		}
		// Due: a-v1 +30d, c-v1 +31d, b-v1 +32d, d-v1 +33d, a-v2 +90d.
		all := []string{"dv-a-v1", "dv-c-v1", "dv-b-v1", "dv-d-v1", "dv-a-v2"}
		list := func(f kamflow.VisitFilter) []string {
			t.Helper()
			vs, err := d.ServiceVisits(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			return visitIDs(vs)
		}
		actor := func(id string, role kamflow.UserRole, teams ...string) *kamflow.Actor {
			return &kamflow.Actor{ID: id, Role: role, Teams: teams}
		}
		for name, c := range map[string]struct {
			f    kamflow.VisitFilter
			want []string
		}{
			"all":                  {kamflow.VisitFilter{}, all},
			"assignee":             {kamflow.VisitFilter{Assignee: "e2"}, []string{"dv-c-v1", "dv-b-v1"}},
			"assignee and due":     {kamflow.VisitFilter{Assignee: "e1", Status: kamflow.VisitDue}, []string{"dv-d-v1", "dv-a-v2"}},
			"account":              {kamflow.VisitFilter{AccountID: "acc-east"}, []string{"dv-a-v1", "dv-b-v1", "dv-a-v2"}},
			"deal":                 {kamflow.VisitFilter{DealID: "dv-a"}, []string{"dv-a-v1", "dv-a-v2"}},
			"reported":             {kamflow.VisitFilter{Status: kamflow.VisitReported}, []string{"dv-a-v1"}},
			"due":                  {kamflow.VisitFilter{Status: kamflow.VisitDue}, all[1:]},
			"limit":                {kamflow.VisitFilter{Limit: 2}, all[:2]},
			"KAM: own and team":    {kamflow.VisitFilter{Viewer: actor("kam1", kamflow.UserKAM, "east")}, []string{"dv-a-v1", "dv-b-v1", "dv-d-v1", "dv-a-v2"}},
			"KAM: team":            {kamflow.VisitFilter{Viewer: actor("kam2", kamflow.UserKAM, "east")}, []string{"dv-a-v1", "dv-b-v1", "dv-a-v2"}},
			"KAM: own only":        {kamflow.VisitFilter{Viewer: actor("kam1", kamflow.UserKAM)}, []string{"dv-a-v1", "dv-d-v1", "dv-a-v2"}},
			"KAM: other team":      {kamflow.VisitFilter{Viewer: actor("kam9", kamflow.UserKAM, "north")}, []string{}},
			"KAM: west":            {kamflow.VisitFilter{Viewer: actor("kam3", kamflow.UserKAM, "west")}, []string{"dv-c-v1"}},
			"director of east":     {kamflow.VisitFilter{Viewer: actor("dir-e", kamflow.UserDirector, "east")}, []string{"dv-a-v1", "dv-b-v1", "dv-a-v2"}},
			"director of both":     {kamflow.VisitFilter{Viewer: actor("dir-x", kamflow.UserDirector, "west", "east")}, []string{"dv-a-v1", "dv-c-v1", "dv-b-v1", "dv-a-v2"}},
			"director of no team":  {kamflow.VisitFilter{Viewer: actor("dir-0", kamflow.UserDirector)}, []string{}},
			"engineer e1":          {kamflow.VisitFilter{Viewer: actor("e1", kamflow.UserEngineer, "east")}, []string{"dv-a-v1", "dv-a-v2"}},
			"engineer e1's to do":  {kamflow.VisitFilter{Viewer: actor("e1", kamflow.UserEngineer), Assignee: "e1", Status: kamflow.VisitDue}, []string{"dv-a-v2"}},
			"engineer e2":          {kamflow.VisitFilter{Viewer: actor("e2", kamflow.UserEngineer)}, []string{"dv-c-v1", "dv-b-v1"}},
			"engineer of nothing":  {kamflow.VisitFilter{Viewer: actor("e9", kamflow.UserEngineer, "east")}, []string{}},
			"admin":                {kamflow.VisitFilter{Viewer: actor("admin", kamflow.UserAdmin, "east")}, []string{}},
			"system":               {kamflow.VisitFilter{Viewer: &dvSystem}, all},
			"viewer and account":   {kamflow.VisitFilter{Viewer: actor("kam1", kamflow.UserKAM, "east"), AccountID: "acc-x"}, []string{"dv-d-v1"}},
			"viewer, deal, status": {kamflow.VisitFilter{Viewer: actor("dir-e", kamflow.UserDirector, "east"), DealID: "dv-a", Status: kamflow.VisitDue}, []string{"dv-a-v2"}},
		} {
			if got := list(c.f); !slices.Equal(got, c.want) {
				t.Errorf("%s: %v, want %v", name, got, c.want)
			}
			// Whatever the filter, a viewer gets exactly the visits of the deals it may open.
			if v := c.f.Viewer; v != nil && c.f == (kamflow.VisitFilter{Viewer: v}) {
				want := []string{}
				for _, id := range all {
					if v.CanSeeDeal(deals[id[:strings.LastIndex(id, "-v")]]) {
						want = append(want, id)
					}
				}
				if got := list(c.f); !slices.Equal(got, want) {
					t.Errorf("%s: %v, but CanSeeDeal lets through %v", name, got, want)
				}
			}
		}
		vs, err := d.AccountServiceVisits(ctx, "acc-east")
		if err != nil {
			t.Fatal(err)
		}
		if got := visitIDs(vs); !slices.Equal(got, []string{"dv-a-v1", "dv-b-v1", "dv-a-v2"}) {
			t.Errorf("the account's visits: %v", got)
		}
		if vs, err := d.AccountServiceVisits(ctx, "acc-none"); err != nil || vs == nil || len(vs) != 0 {
			t.Errorf("the visits of an account without any: %v, %v", vs, err)
		}
	})
}

// Many visits: the list stops at its limit, whatever is asked.
func TestDeliveryServiceVisitsLimit(t *testing.T) {
	d := dbtest.SQLite(t)
	for i := range 130 {
		deal := dvDeal(t, d, fmt.Sprintf("dv-%03d", i), "acc-1", "kam-li", "east", "Site")
		dvProject(t, d, dvClosedPlan(t, deal, 4, "e1"))
	}
	for _, c := range []struct{ limit, want int }{{0, db.MaxVisits}, {-1, db.MaxVisits}, {10, 10}, {5000, db.MaxVisits}} {
		vs, err := d.ServiceVisits(ctx, kamflow.VisitFilter{Limit: c.limit})
		if err != nil {
			t.Fatal(err)
		}
		if len(vs) != c.want {
			t.Errorf("limit %d: %d visits, want %d", c.limit, len(vs), c.want)
		}
	}
	if vs, err := d.AccountServiceVisits(ctx, "acc-1"); err != nil || len(vs) != 520 {
		t.Errorf("the account's visits: %d, %v", len(vs), err)
	}
}
