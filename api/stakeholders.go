package api

import (
	"context"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/kamflow/kamflow"
)

// One buying center per account (kamflow's stakeholder.go): a deal's stakeholders are its
// account's contacts. POST /deals/:id/stakeholders records one — an existing contact of the
// account by contact_id, or a new person by name, whom the store makes (or finds, by the contacts
// import's rule) the account's contact; PUT /deals/:id/stakeholders/:contactId edits one and POST
// /deals/:id/stakeholders/:contactId/remove takes one off the deal. Both may carry an override
// (force and reason) for a change the deal's current stage rests on.

// stakeholderRequest is a stakeholder as POST and PUT take it.
type stakeholderRequest struct {
	kamflow.Stakeholder
	Override *kamflow.GateOverride `json:"override,omitempty"`
}

// removeRequest is the body of a removal: none, or an override.
type removeRequest struct {
	Override *kamflow.GateOverride `json:"override,omitempty"`
}

// readStakeholder is CmdStakeholder's input: the stakeholder and the override.
func readStakeholder(cmd *kamflow.Command, v *stakeholderRequest) error {
	p := v.Stakeholder
	cmd.Stakeholder, cmd.Override = &p, v.Override
	return nil
}

// stakeholderLinks is what a store that links stakeholders to contacts answers (db.DB).
type stakeholderLinks interface {
	StakeholderContacts(ctx context.Context, dealID string) (map[string]string, error)
}

// withContacts returns the deal with each stakeholder's contact id: a record from before
// stakeholders were contacts names some by name only, and the store knows whom they are.
func (s *Server) withContacts(ctx context.Context, d *kamflow.Deal) (*kamflow.Deal, error) {
	st, ok := s.cfg.Deals.(stakeholderLinks)
	if !ok || !strings.Contains(stakeholderIDs(d), "\x00\x00") {
		return d, nil
	}
	links, err := st.StakeholderContacts(ctx, d.ID)
	if err != nil || len(links) == 0 {
		return d, err
	}
	d = d.Clone()
	for i, p := range d.Stakeholders {
		if p.ContactID == "" {
			d.Stakeholders[i].ContactID = links[kamflow.NormName(p.Name)]
		}
	}
	return d, nil
}

// stakeholderIDs joins the contact ids of the stakeholders, each closed by NUL: "\x00\x00"
// shows one without (a cheap test that needs no store).
func stakeholderIDs(d *kamflow.Deal) string {
	var b strings.Builder
	b.WriteByte(0)
	for _, p := range d.Stakeholders {
		b.WriteString(p.ContactID)
		b.WriteByte(0)
	}
	return b.String()
}

// checkStakeholder fills in, on a stakeholder command, what only the API can look up: a
// contact_id must name a contact of the deal's account, whose name the stakeholder then takes
// (and their title, unless one is given).
func (s *Server) checkStakeholder(ctx context.Context, d *kamflow.Deal, cmd *kamflow.Command) error {
	if cmd.Kind != kamflow.CmdStakeholder || cmd.Stakeholder == nil || cmd.Stakeholder.ContactID == "" {
		return nil
	}
	p := cmd.Stakeholder
	ct, err := s.cfg.Accounts.Contact(ctx, p.ContactID)
	if kamflow.ErrorCode(err) == kamflow.ENOTFOUND || (err == nil && ct.AccountID != d.AccountID) {
		return kamflow.Errorf(kamflow.EINVALID, "contact %q is not a contact of the deal's account", p.ContactID).WithDetail("field", "contact_id")
	} else if err != nil {
		return err
	}
	p.Name = ct.Name
	if strings.TrimSpace(p.Title) == "" {
		p.Title = ct.Title
	}
	return nil
}

// dealStakeholder finds the deal's stakeholder who is contact contactId (not_found if none).
func (s *Server) dealStakeholder(c echo.Context) (*kamflow.Deal, kamflow.Stakeholder, error) {
	d, err := s.visibleDeal(c)
	if err != nil {
		return nil, kamflow.Stakeholder{}, err
	}
	linked, err := s.withContacts(c.Request().Context(), d)
	if err != nil {
		return nil, kamflow.Stakeholder{}, err
	}
	id := c.Param("contactId")
	for _, p := range linked.Stakeholders {
		if p.ContactID == id {
			return d, p, nil
		}
	}
	return nil, kamflow.Stakeholder{}, kamflow.Errorf(kamflow.ENOTFOUND, "contact %q is no stakeholder of the deal", id)
}

// editStakeholder changes a stakeholder's part on the deal (role, stance, engagement, influence,
// title, notes); who they are stays.
func (s *Server) editStakeholder(c echo.Context) error {
	_, p, err := s.dealStakeholder(c)
	if err != nil {
		return err
	}
	var v stakeholderRequest
	if err := bind(c, &v); err != nil {
		return err
	}
	in := v.Stakeholder
	in.ContactID, in.Name = p.ContactID, p.Name
	return s.execute(c, kamflow.Command{Kind: kamflow.CmdStakeholder, Actor: s.actor(c), Stakeholder: &in, Override: v.Override})
}

// removeStakeholder takes a stakeholder off the deal; they stay the account's contact.
func (s *Server) removeStakeholder(c echo.Context) error {
	_, p, err := s.dealStakeholder(c)
	if err != nil {
		return err
	}
	var v removeRequest
	if err := bind(c, &v); err != nil {
		return err
	}
	return s.execute(c, kamflow.Command{Kind: kamflow.CmdRemoveStakeholder, Actor: s.actor(c),
		RemoveStakeholder: &kamflow.RemoveStakeholderInput{ContactID: p.ContactID, Name: p.Name}, Override: v.Override})
}
