package kamflow_test

import (
	"testing"

	"github.com/kamflow/kamflow"
)

// The people of a small sales organisation: team east (kam1, kam2, director d1, engineer e1
// assigned to the deal), team west (kam3, director d2), and an admin.
var (
	kam1  = kamflow.Actor{ID: "kam1", Role: kamflow.UserKAM, Teams: []string{"east"}}
	kam2  = kamflow.Actor{ID: "kam2", Role: kamflow.UserKAM, Teams: []string{"east"}}
	kam3  = kamflow.Actor{ID: "kam3", Role: kamflow.UserKAM, Teams: []string{"west"}}
	dir1  = kamflow.Actor{ID: "d1", Role: kamflow.UserDirector, Teams: []string{"east"}}
	dir2  = kamflow.Actor{ID: "d2", Role: kamflow.UserDirector, Teams: []string{"west"}}
	eng1  = kamflow.Actor{ID: "e1", Role: kamflow.UserEngineer, Teams: []string{"east"}}
	eng2  = kamflow.Actor{ID: "e2", Role: kamflow.UserEngineer, Teams: []string{"east"}}
	admin = kamflow.Actor{ID: "admin", Role: kamflow.UserAdmin}
)

func eastDeal(t *testing.T) *kamflow.Deal {
	t.Helper()
	in := newDealInput()
	in.TeamID = "east"
	d, _, err := kamflow.NewDeal("deal-east", in, kam1, t0, kamflow.DefaultSettings())
	if err != nil {
		t.Fatal(err)
	}
	d.Engineers = []string{"e1"}
	return d
}

func TestWhoSeesADeal(t *testing.T) {
	d := eastDeal(t)
	for _, tt := range []struct {
		who  kamflow.Actor
		sees bool
	}{
		{kam1, true}, {kam2, true}, {kam3, false}, {dir1, true}, {dir2, false},
		{eng1, true}, {eng2, false}, {admin, false},
		{kamflow.Actor{ID: "kamflow", Role: kamflow.UserSystem}, true},
	} {
		if got := tt.who.CanSeeDeal(d); got != tt.sees {
			t.Errorf("%s (%s) sees the east deal: %v, want %v", tt.who.ID, tt.who.Role, got, tt.sees)
		}
	}
	acc := &kamflow.Account{ID: "a", Owner: "kam1", TeamID: "east"}
	for _, tt := range []struct {
		who  kamflow.Actor
		sees bool
	}{{kam1, true}, {kam2, true}, {kam3, false}, {dir1, true}, {dir2, false}, {admin, false}} {
		if got := tt.who.CanSeeAccount(acc); got != tt.sees {
			t.Errorf("%s sees the east account: %v, want %v", tt.who.ID, got, tt.sees)
		}
	}
}

// TestWhoMayDoWhat is the permission rule of every command for every role, checked by Check (and
// so by the workflow's Update validator, whoever calls it).
func TestWhoMayDoWhat(t *testing.T) {
	force := kamflow.Command{Kind: kamflow.CmdAdvance, Advance: &kamflow.AdvanceInput{Force: true, Reason: "tender out early"}}
	cases := []struct {
		name string
		cmd  kamflow.Command
		// want is the code each actor gets: "" allowed.
		kam, otherTeamKAM, director, otherDirector, engineer, adm string
	}{
		{"stakeholder", person("Wang", kamflow.RoleInsider, kamflow.StanceSupporter, true), "", "not_found", "", "not_found", "forbidden", "not_found"},
		{"force", force, "forbidden", "not_found", "", "not_found", "forbidden", "not_found"},
		{"approve contract", simple(kamflow.CmdApproveContract, kam), "forbidden", "not_found", "", "not_found", "forbidden", "not_found"},
		{"reassign", kamflow.Command{Kind: kamflow.CmdReassign, Reassign: &kamflow.ReassignInput{Owner: "kam2"}}, "forbidden", "not_found", "", "not_found", "forbidden", "not_found"},
		{"close", closeAs(kamflow.StatusLost, "price", "Acme"), "", "not_found", "", "not_found", "forbidden", "not_found"},
	}
	for _, tt := range cases {
		for _, who := range []struct {
			a    kamflow.Actor
			want string
		}{{kam1, tt.kam}, {kam3, tt.otherTeamKAM}, {dir1, tt.director}, {dir2, tt.otherDirector}, {eng1, tt.engineer}, {admin, tt.adm}} {
			d := eastDeal(t)
			if tt.cmd.Kind == kamflow.CmdApproveContract {
				d.Stage = kamflow.Negotiation
			}
			cmd := tt.cmd
			cmd.Actor = who.a
			err := d.Check(cmd, t0, kamflow.DefaultSettings())
			if got := kamflow.ErrorCode(err); got != who.want {
				t.Errorf("%s by %s (%s): %q (%v), want %q", tt.name, who.a.ID, who.a.Role, got, err, who.want)
			}
		}
	}
	// An engineer works on delivery: acceptance and project close.
	d := eastDeal(t)
	d.Stage, d.Status = kamflow.Delivery, kamflow.StatusWon
	acc := acceptance(kamflow.AcceptancePass)
	acc.Actor = eng1
	if err := d.Check(acc, t0, kamflow.DefaultSettings()); err != nil {
		t.Errorf("engineer recording acceptance: %v", err)
	}
	// A forced advance by a KAM whose gate is met is a plain advance: allowed.
	d = eastDeal(t)
	fx := fullEvidence(kamflow.Development)
	for _, c := range fx {
		c.Actor = kam1
		if _, err := d.Apply(c, t0, kamflow.DefaultSettings()); err != nil {
			t.Fatal(err)
		}
	}
	f := force
	f.Actor = kam1
	if err := d.Check(f, t0, kamflow.DefaultSettings()); err != nil {
		t.Errorf("force by a KAM with the gate met: %v", err)
	}
}

// TestDeliveryCommandsFailClosed: a delivery command with no role, kamflow's own role in its
// payload, or from a KAM or director outside the deal's team is refused, as deal commands are.
func TestDeliveryCommandsFailClosed(t *testing.T) {
	d := eastDeal(t)
	start := kamflow.DeliveryCommand{Kind: kamflow.DelivStart, Task: "commissioning"}
	for _, tt := range []struct {
		who  kamflow.Actor
		code string
	}{
		{kamflow.Actor{ID: "someone", Teams: []string{"east"}}, kamflow.EFORBIDDEN},
		{kamflow.Actor{ID: "kamflow", Role: kamflow.UserSystem}, kamflow.EFORBIDDEN},
		{kamflow.Actor{ID: "x", Role: "superuser", Teams: []string{"east"}}, kamflow.EFORBIDDEN},
		{kamflow.Actor{ID: "kam1", Role: kamflow.UserKAM}, kamflow.EFORBIDDEN}, // the owner, outside the team
		{dir2, kamflow.ENOTFOUND},
		{eng2, kamflow.ENOTFOUND},
		{eng1, ""},
		{dir1, ""},
	} {
		cmd := start
		cmd.Actor = tt.who
		if err := tt.who.AuthorizeDelivery(cmd, d); kamflow.ErrorCode(err) != tt.code {
			t.Errorf("%s (%q) starts a task: %v, want %q", tt.who.ID, tt.who.Role, err, tt.code)
		}
	}
}
