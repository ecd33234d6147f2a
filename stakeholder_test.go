package kamflow_test

import (
	"slices"
	"testing"

	"github.com/kamflow/kamflow"
)

func removeStakeholder(contactID, name string, by kamflow.Actor, override *kamflow.GateOverride) kamflow.Command {
	return kamflow.Command{Kind: kamflow.CmdRemoveStakeholder, Actor: by,
		RemoveStakeholder: &kamflow.RemoveStakeholderInput{ContactID: contactID, Name: name}, Override: override}
}

func contactPerson(id, name string, role kamflow.Role, engaged bool) kamflow.Command {
	c := person(name, role, kamflow.StanceSupporter, engaged)
	c.Stakeholder.ContactID = id
	return c
}

// In the entry stage a removal re-evaluates the key node: the insider gone, it is unmet again.
func TestRemoveStakeholderReevaluatesGate(t *testing.T) {
	w := dealIn(t, kamflow.Entry)
	w.do(contactPerson("c-liu", "Liu Yang", kamflow.RoleInsider, false), contactPerson("c-zhang", "Zhang Wei", kamflow.RoleDecisionMaker, true))
	if !w.d.Gate().Met {
		t.Fatalf("entry gate not met: %v", w.d.Gate().Missing())
	}
	w.do(removeStakeholder("c-liu", "", kam, nil))
	if got := w.d.Gate().Missing(); !slices.Equal(got, []string{kamflow.GateInsiderIdentified}) {
		t.Errorf("missing after removing the insider = %v", got)
	}
	if len(w.d.Stakeholders) != 1 || w.d.Stakeholders[0].ContactID != "c-zhang" {
		t.Errorf("stakeholders = %+v", w.d.Stakeholders)
	}
	if w.d.Forced {
		t.Error("a removal in the stage itself is no force")
	}
	w.fail(removeStakeholder("c-liu", "", kam, nil), kamflow.ENOTFOUND)
	w.fail(removeStakeholder("", "", kam, nil), kamflow.EINVALID)
}

// Past entry, the deal rests on its insider and engaged decision maker: removing either (or
// editing them out of their role) is refused with gate_depends, a KAM may not force it, a
// director may with a reason, which records a force and cuts the win probability.
func TestRemoveStakeholderRefusedWhereTheStageRestsOnThem(t *testing.T) {
	w := dealIn(t, kamflow.Proposal) // Liu Yang (insider) and Zhang Wei (engaged decision maker), by name only
	w.do(person("Chen Jie", kamflow.RoleInfluencer, kamflow.StanceNeutral, false))

	e := w.fail(removeStakeholder("", "Liu Yang", kam, nil), kamflow.EGATEDEPENDS)
	if e.Details["stage"] != string(kamflow.Entry) || !slices.Equal(e.Details["missing"].([]string), []string{kamflow.GateInsiderIdentified}) {
		t.Errorf("details = %v", e.Details)
	}
	// Editing the insider into another role undoes the key node too.
	edit := contactPerson("c-liu", "Liu Yang", kamflow.RoleUser, false)
	w.fail(edit, kamflow.EGATEDEPENDS)
	// A KAM may not force it; a director needs a reason.
	w.fail(removeStakeholder("", "Liu Yang", kam, &kamflow.GateOverride{Force: true, Reason: "left the company"}), kamflow.EFORBIDDEN)
	w.fail(removeStakeholder("", "Liu Yang", director, &kamflow.GateOverride{Force: true}), kamflow.EINVALID)
	// Someone the stage does not rest on goes without a force.
	w.do(removeStakeholder("", "Chen Jie", kam, nil))
	if w.d.Forced {
		t.Error("removing an influencer forced the deal")
	}

	before := w.d.WinProbability().Value
	w.do(removeStakeholder("", "Liu Yang", director, &kamflow.GateOverride{Force: true, Reason: "left the company"}))
	if !w.d.Forced || len(w.d.Forces) != 1 {
		t.Fatalf("forced removal: forced=%v forces=%+v", w.d.Forced, w.d.Forces)
	}
	f := w.d.Forces[0]
	if f.From != kamflow.Entry || f.To != kamflow.Proposal || f.Actor != director.ID || f.Reason != "left the company" ||
		!slices.Equal(f.Missing, []string{kamflow.GateInsiderIdentified}) {
		t.Errorf("force = %+v", f)
	}
	if after := w.d.WinProbability().Value; after >= before {
		t.Errorf("win probability %d → %d: a forced removal must cut it", before, after)
	}
	if w.d.StakeholderIndex("", "Liu Yang") >= 0 {
		t.Error("Liu Yang still on the deal")
	}
	// Once forced past, the entry key node no longer rests on anyone: Zhang Wei goes freely.
	w.do(removeStakeholder("", "Zhang Wei", kam, nil))
}

// An edit by contact id finds a stakeholder recorded by name only (before stakeholders were
// contacts) and gives it the id; an edit keeps kamflow's stale mark.
func TestStakeholderGainsContactID(t *testing.T) {
	w := dealIn(t, kamflow.Entry)
	w.do(person("Liu Yang", kamflow.RoleInsider, kamflow.StanceNeutral, false))
	c := contactPerson("c-liu", "liu yang", kamflow.RoleInsider, true)
	w.do(c)
	if len(w.d.Stakeholders) != 1 {
		t.Fatalf("stakeholders = %+v", w.d.Stakeholders)
	}
	s := w.d.Stakeholders[0]
	if s.ContactID != "c-liu" || !s.Engaged || s.Stance != kamflow.StanceSupporter {
		t.Errorf("stakeholder = %+v", s)
	}
	// Another contact of the same name is another person: refused, stale marks go by name.
	w.fail(contactPerson("c-liu-2", "Liu Yang", kamflow.RoleUser, false), kamflow.ECONFLICT)
	// A new contact is added.
	w.do(contactPerson("c-zhang", "Zhang Wei", kamflow.RoleDecisionMaker, true))
	if i := w.d.StakeholderIndex("c-zhang", ""); i != 1 {
		t.Errorf("index of c-zhang = %d", i)
	}
}
