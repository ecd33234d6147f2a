package kamflow_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/kamflow/kamflow"
)

// TestLongTextsLiveOutsideTheDeal: notes and summaries leave the command for the text store,
// by the hash of their content, and come back in place for the people who read the deal; with
// them out of the record, a full buying center with long notes stays far below its budget.
func TestLongTextsLiveOutsideTheDeal(t *testing.T) {
	st := dealInState(t, kamflow.Entry)
	at := t0.Add(30 * kamflow.Day)
	texts := map[string]string{}
	for i := 0; i < kamflow.MaxStakeholders; i++ {
		c := person(fmt.Sprintf("Person %02d", i), kamflow.RoleInfluencer, kamflow.StanceNeutral, false)
		c.Stakeholder.Notes = fmt.Sprintf("%02d ", i) + strings.Repeat("长", 3990)
		c.Stakeholder.NotesRef = "sha256:forged" // a caller's ref is replaced
		moved, err := c.MoveTexts()
		if err != nil {
			t.Fatal(err)
		}
		if c.Stakeholder.Notes != "" || len(moved) != 1 || moved[c.Stakeholder.NotesRef] == "" {
			t.Fatalf("notes not moved: %+v, %d texts", c.Stakeholder, len(moved))
		}
		for r, x := range moved {
			texts[r] = x
		}
		handle(t, st, command(c), at, kamflow.FxProject)
	}
	if n := st.Deal.EncodedSize(); n > 64<<10 {
		t.Errorf("sixty stakeholders with long notes make a %d-byte record", n)
	}
	d := st.Deal.Clone()
	d.FillTexts(texts)
	if !strings.HasPrefix(d.Stakeholders[7].Notes, "07 长长") || len([]rune(d.Stakeholders[7].Notes)) != 3993 {
		t.Errorf("notes not back in place: %.20q", d.Stakeholders[7].Notes)
	}
	if len(d.TextRefs()) != kamflow.MaxStakeholders {
		t.Errorf("%d refs", len(d.TextRefs()))
	}

	// Too long is refused before anything is stored; blank notes are no text at all.
	c := person("Wang Gong", kamflow.RoleInsider, kamflow.StanceSupporter, true)
	c.Stakeholder.Notes = strings.Repeat("x", 4001)
	_, err := c.MoveTexts()
	checkField(t, asError(t, err, kamflow.EINVALID), "notes")
	c.Stakeholder.Notes = " \u200b "
	if moved, err := c.MoveTexts(); err != nil || len(moved) != 0 || c.Stakeholder.NotesRef != "" {
		t.Errorf("blank notes: %v %v %q", moved, err, c.Stakeholder.NotesRef)
	}
	// A ref that is no ref is refused by the deal's own rules.
	c.Stakeholder.NotesRef = "sha256:nothex"
	checkField(t, asError(t, st.Check(command(c), at), kamflow.EINVALID), "notes_ref")

	// Criteria notes and a proposal's summary too.
	w := dealInState(t, kamflow.Proposal)
	crit := criteria(kamflow.Criterion{Name: "API 610", Favours: kamflow.FavoursUs, Notes: "a long clause"})
	prop := proposal("2026-04-01")
	prop.Proposal.Summary = "Two pumps, one spare."
	for _, cmd := range []*kamflow.Command{&crit, &prop} {
		moved, err := cmd.MoveTexts()
		if err != nil || len(moved) != 1 {
			t.Fatalf("%s: %v %v", cmd.Kind, moved, err)
		}
		for r, x := range moved {
			texts[r] = x
		}
		handle(t, w, command(*cmd), at, kamflow.FxProject)
	}
	d = w.Deal.Clone()
	d.FillTexts(texts)
	if d.Criteria[0].Notes != "a long clause" || d.Proposal.Summary != "Two pumps, one spare." || w.Deal.Proposal.Summary != "" {
		t.Errorf("criteria %+v, proposal %+v", d.Criteria, d.Proposal)
	}
}
