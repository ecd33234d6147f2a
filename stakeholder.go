package kamflow

import (
	"strings"
	"time"
)

// One buying center per account: a deal's stakeholders are the account's contacts, each with a
// role and stance on that deal. The deal's record keeps what its gates read (name, role, stance,
// engagement, staleness) and, once known, the contact's id (Stakeholder.ContactID); the store
// links every stakeholder to its contact when it projects the deal (ResolveStakeholders), so a
// stakeholder recorded before stakeholders were contacts, whose record has no contact id, is
// found by name there and gains the id the next time it is recorded.

// CmdRemoveStakeholder takes a person off the deal's buying center. They stay the account's
// contact. A removal that would undo a key node the deal has passed is refused unless forced.
const CmdRemoveStakeholder CommandKind = "remove_stakeholder"

// EGATEDEPENDS: a change of a deal's buying center would undo a key node the deal's current
// stage rests on (a stage it has passed).
const EGATEDEPENDS = "gate_depends"

// RemoveStakeholderInput names the stakeholder to remove: by contact id, or by name for one whose
// record has no contact id yet (the API sends both).
type RemoveStakeholderInput struct {
	ContactID string `json:"contact_id,omitempty"`
	Name      string `json:"name,omitempty"`
}

// GateOverride forces a buying-center change (an edit or a removal) past the key node it would
// undo: a sales director's decision, with a reason, recorded as a force on the deal (Force) as a
// forced advance is, and cutting the win probability as that does.
type GateOverride struct {
	Force  bool   `json:"force"`
	Reason string `json:"reason,omitempty"`
}

// StakeholderIndex is the index of the stakeholder that contactID (when set) or name names, or -1.
// A stakeholder with a contact id is found by it; by name, only one whose record has none (one
// recorded before stakeholders were contacts), unless contactID is "".
func (d *Deal) StakeholderIndex(contactID, name string) int {
	contactID = strings.TrimSpace(contactID)
	if contactID != "" {
		for i, s := range d.Stakeholders {
			if s.ContactID == contactID {
				return i
			}
		}
	}
	name = strings.TrimSpace(name)
	for i, s := range d.Stakeholders {
		if (contactID == "" || s.ContactID == "") && strings.EqualFold(s.Name, name) {
			return i
		}
	}
	return -1
}

// GateRestingOn reports the first key node behind the deal's current stage that the deal reached
// and would no longer reach were its stakeholders others: the stage and the items then missing
// ("" when none). A key node the deal was forced past, or that the import counts as met, does
// not rest on anyone. The current stage's own key node is not asked: a change there is
// re-evaluated, not refused.
func (d *Deal) GateRestingOn(others []Stakeholder) (Stage, []string) {
	after := *d
	after.Stakeholders = others
	for _, st := range Stages[:max(d.Stage.Index(), 0)] {
		if !d.GateOf(st).Met {
			continue
		}
		if g := after.GateOf(st); !g.Met {
			return st, g.Missing()
		}
	}
	return "", nil
}

// buyingCenterAfter is the deal's stakeholders as a stakeholder command would leave them (the
// changed one at i, -1 for a new one), for GateRestingOn; nil for a command of another kind.
func (d *Deal) buyingCenterAfter(cmd Command) (others []Stakeholder, ok bool) {
	switch {
	case cmd.Kind == CmdRemoveStakeholder && cmd.RemoveStakeholder != nil:
		i := d.StakeholderIndex(cmd.RemoveStakeholder.ContactID, cmd.RemoveStakeholder.Name)
		if i < 0 {
			return nil, false
		}
		others = append(others, d.Stakeholders[:i]...)
		return append(others, d.Stakeholders[i+1:]...), true
	case cmd.Kind == CmdStakeholder && cmd.Stakeholder != nil:
		i := d.StakeholderIndex(cmd.Stakeholder.ContactID, cmd.Stakeholder.Name)
		if i < 0 {
			return nil, false // a new person undoes nothing
		}
		others = append(others, d.Stakeholders...)
		p := *cmd.Stakeholder
		p.Stale = d.Stakeholders[i].Stale // kamflow's mark stays (see Apply)
		others[i] = p
		return others, true
	}
	return nil, false
}

// forcesGate reports whether cmd changes the buying center past a key node the deal rests on
// and says to force it: only a director may (Authorize).
func (d *Deal) forcesGate(cmd Command) bool {
	if cmd.Override == nil || !cmd.Override.Force {
		return false
	}
	others, ok := d.buyingCenterAfter(cmd)
	if !ok {
		return false
	}
	st, _ := d.GateRestingOn(others)
	return st != ""
}

// checkGateRests refuses a buying-center change that would undo a key node the deal rests on,
// unless forced with a reason.
func (d *Deal) checkGateRests(cmd Command) error {
	others, ok := d.buyingCenterAfter(cmd)
	if !ok {
		return nil
	}
	st, missing := d.GateRestingOn(others)
	if st == "" {
		return nil
	}
	if cmd.Override == nil || !cmd.Override.Force {
		return Errorf(EGATEDEPENDS, "the deal is in the %s stage past the key node of %s, which rests on this person (%s would be missing): a sales director may force the change with a reason",
			d.Stage, st, strings.Join(missing, ", ")).
			WithDetail("stage", string(st)).WithDetail("missing", missing)
	}
	if err := checkText("reason", cmd.Override.Reason, true, maxReason); err != nil {
		return Errorf(EINVALID, "a forced change of the buying center needs a reason").WithDetail("field", "reason")
	}
	return nil
}

// checkRemoveStakeholder is CheckRules for CmdRemoveStakeholder.
func (d *Deal) checkRemoveStakeholder(cmd Command) error {
	in := cmd.RemoveStakeholder
	if in == nil || (strings.TrimSpace(in.ContactID) == "" && strings.TrimSpace(in.Name) == "") {
		return Errorf(EINVALID, "contact_id or name of the stakeholder is required").WithDetail("field", "contact_id")
	}
	if d.StakeholderIndex(in.ContactID, in.Name) < 0 {
		return Errorf(ENOTFOUND, "no such stakeholder on the deal")
	}
	return d.checkGateRests(cmd)
}

// recordOverride records a forced buying-center change as a force on the deal, before the change
// (before is the deal as it was, its stakeholders not yet changed).
func (d *Deal) recordOverride(cmd Command, others []Stakeholder, who string, now time.Time) {
	if cmd.Override == nil || !cmd.Override.Force {
		return
	}
	st, missing := d.GateRestingOn(others)
	if st == "" {
		return
	}
	d.Forced = true
	d.Forces = append(d.Forces, Force{From: st, To: d.Stage, Missing: missing, Reason: strings.TrimSpace(cmd.Override.Reason), Actor: who, At: now})
}

// applyRemoveStakeholder is ApplyRules for CmdRemoveStakeholder (checked).
func (d *Deal) applyRemoveStakeholder(cmd Command, who string, now time.Time) {
	others, _ := d.buyingCenterAfter(cmd)
	d.recordOverride(cmd, others, who, now)
	d.Stakeholders = others
}
