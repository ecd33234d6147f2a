package api_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/db"
	"github.com/kamflow/kamflow/db/dbtest"
)

// TestEngineersComeFromTheDealsTeam: an engineer assigned to a deal sees it and its account's
// contacts, so only the deal's team's engineers can be assigned; one of another team is refused
// and sees nothing.
func TestEngineersComeFromTheDealsTeam(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		west := &kamflow.User{ID: "user-e3", Username: "e3", Name: "Engineer West", Role: kamflow.UserEngineer, Teams: []string{"west"},
			PasswordHash: passwordHash(), CreatedAt: T0, UpdatedAt: T0}
		if err := d.CreateUser(context.Background(), west); err != nil {
			t.Fatal(err)
		}
		e.users["e3"] = west
		acct := e.must(201, "POST", "/api/v1/accounts", "kam1", `{"name":"Baowu Steel Zhanjiang"}`)["id"].(string)
		deal := e.must(201, "POST", "/api/v1/deals", "kam1", fmt.Sprintf(`{"account_id":%q,"title":"Coke oven gas analysers","currency":"CNY"}`, acct))["id"].(string)
		p := "/api/v1/deals/" + deal
		res := e.serve(request{method: "PUT", path: p + "/engineers", as: "kam1", body: `{"engineers":["e1","e3"]}`})
		code, _ := lookup(res.json, "error.code")
		field, _ := lookup(res.json, "error.details.field")
		if res.status != 400 || code != kamflow.EINVALID || field != "engineers" {
			t.Fatalf("an engineer of another team: %d %s", res.status, res.body)
		}
		e.must(404, "GET", p, "e3", "")
		got := e.must(200, "PUT", p+"/engineers", "kam1", `{"engineers":["e1"]}`)
		if eng, _ := lookup(got, "engineers.0"); eng != "e1" {
			t.Errorf("engineers %v", got["engineers"])
		}
	})
}
