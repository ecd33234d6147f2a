package kamflow

import (
	"slices"
	"strings"
)

// CmdEdit changes the deal's own particulars: title, value, currency, expected close, notes.
// It is not stage work (no key node depends on them), so it does not restart the stall clock.
const CmdEdit CommandKind = "edit"

// EditInput is CmdEdit's input: only the fields set are changed; an edit that changes nothing is
// refused, so that the timeline has no empty entries. Notes set to "" clears them.
type EditInput struct {
	Title         *string `json:"title,omitempty"`
	Value         *Money  `json:"value,omitempty"`
	Currency      *string `json:"currency,omitempty"`
	ExpectedClose *Date   `json:"expected_close,omitempty"`
	Notes         *string `json:"notes,omitempty"`
	// NotesRef is set by MoveTexts (never by a caller): the notes are kept as a long text.
	NotesRef string `json:"notes_ref,omitempty"`
}

// The fields an edit changes, as its audit entry names them.
const (
	EditTitle         = "title"
	EditValue         = "value"
	EditCurrency      = "currency"
	EditExpectedClose = "expected_close"
	EditNotes         = "notes"
)

// checkEdit is CheckRules for CmdEdit.
func (d *Deal) checkEdit(in *EditInput) error {
	if in == nil {
		return Errorf(EINVALID, "nothing to edit: give title, value, currency, expected_close or notes")
	}
	if in.Title != nil {
		if err := checkText("title", *in.Title, true, maxName); err != nil {
			return err
		}
	}
	if in.Value != nil && (*in.Value < 0 || *in.Value > MaxMoney) {
		return Errorf(EINVALID, "value must be from 0 to 999999999999.99").WithDetail("field", "value")
	}
	if in.Currency != nil {
		if !ValidCurrency(*in.Currency) {
			return Errorf(EINVALID, "currency %q must be an ISO 4217 code such as CNY or USD", *in.Currency).WithDetail("field", "currency")
		}
		// The bid's cost and price are figures in the deal's currency: a new currency would
		// silently restate them.
		if *in.Currency != d.Currency && d.Bid != nil {
			return Errorf(EINVALID, "the currency cannot change once a bid is recorded in %s", d.Currency).
				WithDetail("field", "currency").WithDetail("reason", "bid_recorded")
		}
	}
	if in.ExpectedClose != nil {
		if err := checkDate("expected_close", *in.ExpectedClose, true); err != nil {
			return err
		}
	}
	if in.Notes != nil {
		if err := checkText("notes", *in.Notes, false, maxText); err != nil {
			return err
		}
	}
	if in.NotesRef != "" && !validTextRef(in.NotesRef) {
		return Errorf(EINVALID, "notes_ref %q is not a text reference", in.NotesRef).WithDetail("field", "notes_ref")
	}
	if len(d.editedFields(in)) == 0 {
		return Errorf(EINVALID, "the edit changes nothing").WithDetail("reason", "unchanged")
	}
	return nil
}

// editedFields lists the fields in would change, in a fixed order.
func (d *Deal) editedFields(in *EditInput) []string {
	var out []string
	if in.Title != nil && strings.TrimSpace(*in.Title) != d.Title {
		out = append(out, EditTitle)
	}
	if in.Value != nil && *in.Value != d.Value {
		out = append(out, EditValue)
	}
	if in.Currency != nil && *in.Currency != d.Currency {
		out = append(out, EditCurrency)
	}
	if in.ExpectedClose != nil && *in.ExpectedClose != d.ExpectedClose {
		out = append(out, EditExpectedClose)
	}
	if in.Notes != nil {
		// After MoveTexts the text is in the ref; the notes change when the ref (or the inline
		// text, when no text store keeps them) does.
		notes, ref := strings.TrimSpace(*in.Notes), in.NotesRef
		if notes != d.Notes || ref != d.NotesRef {
			out = append(out, EditNotes)
		}
	}
	return out
}

// applyEdit is ApplyRules for CmdEdit, once checked.
func (d *Deal) applyEdit(in *EditInput) {
	for _, f := range d.editedFields(in) {
		switch f {
		case EditTitle:
			d.Title = strings.TrimSpace(*in.Title)
		case EditValue:
			d.Value = *in.Value
		case EditCurrency:
			d.Currency = *in.Currency
		case EditExpectedClose:
			d.ExpectedClose = *in.ExpectedClose
		case EditNotes:
			d.Notes, d.NotesRef = strings.TrimSpace(*in.Notes), in.NotesRef
		}
	}
}

// editAudit is what an edit's audit entry records before and after: the changed fields only.
// The notes are named, not copied (their text may be a long text kept by reference).
func editAudit(before, after *Deal) (b, a map[string]any) {
	b, a = map[string]any{}, map[string]any{}
	if before.Title != after.Title {
		b[EditTitle], a[EditTitle] = before.Title, after.Title
	}
	if before.Value != after.Value || before.Currency != after.Currency {
		// A value is read with its currency: both are recorded when either changes.
		b[EditValue], a[EditValue] = before.Value, after.Value
		b[EditCurrency], a[EditCurrency] = before.Currency, after.Currency
	}
	if before.ExpectedClose != after.ExpectedClose {
		b[EditExpectedClose], a[EditExpectedClose] = before.ExpectedClose, after.ExpectedClose
	}
	if before.Notes != after.Notes || before.NotesRef != after.NotesRef {
		b[EditNotes], a[EditNotes] = before.Notes != "" || before.NotesRef != "", after.Notes != "" || after.NotesRef != ""
	}
	fields := make([]string, 0, len(a))
	for _, f := range []string{EditTitle, EditValue, EditCurrency, EditExpectedClose, EditNotes} {
		if _, ok := a[f]; ok {
			fields = append(fields, f)
		}
	}
	a["fields"] = slices.Clone(fields)
	return b, a
}

// editTexts say what an edit changed, a text for each field (the "edit_*" texts).
func editTexts(before, after *Deal) []Text {
	out := []Text{}
	if before.Title != after.Title {
		out = append(out, Text{Code: "edit_title", Params: Params{"title_from": before.Title, "title_to": after.Title}})
	}
	if before.Value != after.Value || before.Currency != after.Currency {
		out = append(out, Text{Code: "edit_value", Params: Params{"value_from": money(before.Value, before.Currency), "value_to": money(after.Value, after.Currency)}})
	}
	if before.ExpectedClose != after.ExpectedClose {
		if before.ExpectedClose == "" {
			out = append(out, Text{Code: "edit_close_set", Params: Params{"date_to": string(after.ExpectedClose)}})
		} else {
			out = append(out, Text{Code: "edit_close", Params: Params{"date_from": string(before.ExpectedClose), "date_to": string(after.ExpectedClose)}})
		}
	}
	if before.Notes != after.Notes || before.NotesRef != after.NotesRef {
		if after.Notes == "" && after.NotesRef == "" {
			out = append(out, Text{Code: "edit_notes_cleared"})
		} else {
			out = append(out, Text{Code: "edit_notes"})
		}
	}
	return out
}

// editSummary is an edit's audit summary (English; the UI says it from the entry's values).
func editSummary(before, after *Deal) string {
	var parts []string
	if before.Title != after.Title {
		parts = append(parts, "title "+quote(before.Title)+" → "+quote(after.Title))
	}
	if before.Value != after.Value || before.Currency != after.Currency {
		parts = append(parts, "value "+before.Value.String()+" "+before.Currency+" → "+after.Value.String()+" "+after.Currency)
	}
	if before.ExpectedClose != after.ExpectedClose {
		from := string(before.ExpectedClose)
		if from == "" {
			from = "none"
		}
		parts = append(parts, "expected close "+from+" → "+string(after.ExpectedClose))
	}
	if before.Notes != after.Notes || before.NotesRef != after.NotesRef {
		parts = append(parts, "notes updated")
	}
	return "edited: " + strings.Join(parts, "; ")
}

func quote(s string) string { return "“" + s + "”" }

// MayOwn reports whether u may be given the deal (CmdReassign's new owner): an enabled KAM of
// the deal's account team. The workflow cannot look users up, so the API checks a
// reassignment's owner with it, and its people picker offers only such people (and only those
// the deal's Check accepts: not its owner already).
func (d *Deal) MayOwn(u *User) bool { return KAMOf(u, d.TeamID) }

// KAMOf reports whether u is an enabled KAM of the team: who may own its accounts and deals.
func KAMOf(u *User, team string) bool {
	return u != nil && u.Role == UserKAM && !u.Disabled && slices.Contains(u.Teams, team)
}

// MayDeliver reports whether u may be assigned to the deal's delivery (CmdAssignEngineers): an
// enabled engineer, of the deal's team when it has one (an engineer of the deal sees it and its
// account's contacts).
func (d *Deal) MayDeliver(u *User) bool {
	return u != nil && u.Role == UserEngineer && !u.Disabled && (d.TeamID == "" || slices.Contains(u.Teams, d.TeamID))
}
