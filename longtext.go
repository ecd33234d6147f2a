package kamflow

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// Long texts — a stakeholder's or a purchasing criterion's notes, a proposal's summary — live in
// the database, not in the deal's record as its workflow holds it: a deal with sixty
// stakeholders' notes would otherwise carry hundreds of kilobytes in every Update's answer and
// every projection of its history. The record keeps a reference to each text by its content's
// hash (TextRef); the text is stored before the command that refers to it is sent (so that a
// change accepted never refers to a text not kept), and a command that is refused leaves only a
// text that nothing refers to. People read the deal with its texts back in place (FillTexts).

// TextStore keeps long texts by their TextRef.
type TextStore interface {
	// PutTexts stores each text under its ref; a text stored already is left as it is.
	PutTexts(ctx context.Context, texts map[string]string) error
	// Texts returns the texts of the refs it has, by ref.
	Texts(ctx context.Context, refs []string) (map[string]string, error)
}

const textRefPrefix = "sha256:"

// TextRef is the reference of a long text: the SHA-256 of its UTF-8 bytes.
func TextRef(body string) string {
	sum := sha256.Sum256([]byte(body))
	return textRefPrefix + hex.EncodeToString(sum[:])
}

// MoveTexts checks the long texts cmd carries and moves each out of the command into the map
// returned, by ref, leaving the ref in its place. Refs a caller sent are replaced: only kamflow
// sets them. A command without long texts returns an empty map.
func (cmd *Command) MoveTexts() (map[string]string, error) {
	out := map[string]string{}
	move := func(field string, text, ref *string) error {
		if err := checkText(field, *text, false, maxText); err != nil {
			return err
		}
		*ref = ""
		if Blank(*text) {
			*text = ""
			return nil
		}
		*ref = TextRef(*text)
		out[*ref] = *text
		*text = ""
		return nil
	}
	switch {
	case cmd.Kind == CmdStakeholder && cmd.Stakeholder != nil:
		if err := move("notes", &cmd.Stakeholder.Notes, &cmd.Stakeholder.NotesRef); err != nil {
			return nil, err
		}
	case cmd.Kind == CmdCriteria:
		for i := range cmd.Criteria {
			if err := move("criterion notes", &cmd.Criteria[i].Notes, &cmd.Criteria[i].NotesRef); err != nil {
				return nil, err
			}
		}
	case cmd.Kind == CmdProposal && cmd.Proposal != nil:
		if err := move("summary", &cmd.Proposal.Summary, &cmd.Proposal.SummaryRef); err != nil {
			return nil, err
		}
	case cmd.Kind == CmdEdit && cmd.Edit != nil && cmd.Edit.Notes != nil:
		if err := move("notes", cmd.Edit.Notes, &cmd.Edit.NotesRef); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// TextRefs lists the refs of the deal's long texts.
func (d *Deal) TextRefs() []string {
	var refs []string
	for _, s := range d.Stakeholders {
		if s.NotesRef != "" {
			refs = append(refs, s.NotesRef)
		}
	}
	for _, c := range d.Criteria {
		if c.NotesRef != "" {
			refs = append(refs, c.NotesRef)
		}
	}
	if d.Proposal != nil && d.Proposal.SummaryRef != "" {
		refs = append(refs, d.Proposal.SummaryRef)
	}
	if d.NotesRef != "" {
		refs = append(refs, d.NotesRef)
	}
	return refs
}

// FillTexts puts the texts back in place of their refs, for the people who read the deal. A ref
// without its text (never the case for a change the workflow accepted) leaves the text empty.
func (d *Deal) FillTexts(texts map[string]string) {
	for i := range d.Stakeholders {
		if r := d.Stakeholders[i].NotesRef; r != "" {
			d.Stakeholders[i].Notes = texts[r]
		}
	}
	for i := range d.Criteria {
		if r := d.Criteria[i].NotesRef; r != "" {
			d.Criteria[i].Notes = texts[r]
		}
	}
	if d.Proposal != nil && d.Proposal.SummaryRef != "" {
		d.Proposal.Summary = texts[d.Proposal.SummaryRef]
	}
	if d.NotesRef != "" {
		d.Notes = texts[d.NotesRef]
	}
}

// validTextRef reports whether r is a TextRef.
func validTextRef(r string) bool {
	h, ok := strings.CutPrefix(r, textRefPrefix)
	if !ok || len(h) != 64 {
		return false
	}
	_, err := hex.DecodeString(h)
	return err == nil
}
