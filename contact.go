package kamflow

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Contact is a person at the customer: one node of the account's org chart and, across all of
// the account's deals, of its buying center (采购中心). A deal's stakeholders are the deal's own
// record for its gate; a contact is the account's, kept from one deal to the next.
type Contact struct {
	ID         string `json:"id"`
	AccountID  string `json:"account_id"`
	Name       string `json:"name"`
	Title      string `json:"title,omitempty"`
	Department string `json:"department,omitempty"`
	// ReportsTo is the contact this person reports to ("" for none): the org chart's edges.
	ReportsTo string `json:"reports_to,omitempty"`
	// Role is the person's usual part in the account's buying decisions ("" while not mapped).
	Role Role `json:"role,omitempty"`
	// Stance is the person's usual stance toward us; a deal may see them otherwise (Deals).
	Stance       Stance `json:"stance"`
	Influence    int    `json:"influence,omitempty"`    // 1–5, how much their word weighs
	Relationship int    `json:"relationship,omitempty"` // 1–5, how strong our relationship with them is
	Phone        string `json:"phone,omitempty"`
	Email        string `json:"email,omitempty"`
	Notes        string `json:"notes,omitempty"`
	// LastContactAt is the newest interaction with the person; nil while there was none.
	LastContactAt *time.Time `json:"last_contact_at,omitempty"`
	// Deals are the account's deals the person is part of, each with their stance on it when it
	// differs from their usual one.
	Deals []ContactDeal `json:"deals"`
	// StakeholderOn are the account's deals on which the person is a stakeholder, with their
	// role and stance there: the account's one buying center across its deals.
	StakeholderOn []ContactStakeholder `json:"stakeholder_on,omitempty"`
	CreatedBy     string               `json:"created_by"`
	CreatedAt     time.Time            `json:"created_at"`
	UpdatedAt     time.Time            `json:"updated_at"`
	// Version is 1 when the contact is created and one more with every change a person makes,
	// by UpdatedBy (see versions.go); an interaction moving LastContactAt is not such a change.
	Version   int64  `json:"version"`
	UpdatedBy string `json:"updated_by,omitempty"`
}

// ContactDeal links a contact to a deal of the account, with the person's stance on that deal
// ("" when it is their usual stance).
type ContactDeal struct {
	DealID string `json:"deal_id"`
	Stance Stance `json:"stance,omitempty"`
}

// ContactStakeholder is a contact's part on one deal of the account, as the deal records them.
type ContactStakeholder struct {
	DealID  string `json:"deal_id"`
	Role    Role   `json:"role"`
	Stance  Stance `json:"stance"`
	Engaged bool   `json:"engaged"`
}

// StanceOn is the person's stance on a deal: the deal's own if set, else their usual one.
func (c *Contact) StanceOn(dealID string) Stance {
	for _, l := range c.Deals {
		if l.DealID == dealID && l.Stance != "" {
			return l.Stance
		}
	}
	return c.Stance
}

// SinceContact is the time the staleness of a contact is counted from: the last interaction, or
// the contact's creation while there was none.
func (c *Contact) SinceContact() time.Time {
	if c.LastContactAt != nil {
		return *c.LastContactAt
	}
	return c.CreatedAt
}

// Stale reports whether the person has gone without an interaction for after or longer: a
// relationship left alone that long cannot be counted on (an insider's most of all).
func (c *Contact) Stale(now time.Time, after time.Duration) bool {
	return !now.Before(c.SinceContact().Add(after))
}

// DaysSinceContact counts the whole days since SinceContact.
func (c *Contact) DaysSinceContact(now time.Time) int {
	if d := now.Sub(c.SinceContact()); d > 0 {
		return int(d / Day)
	}
	return 0
}

// ContactInput creates a contact (name required) or patches one (the non-nil fields). Deals adds
// deal links or changes their stance: a link is never removed, an empty stance takes the
// person's usual one.
type ContactInput struct {
	Name         *string       `json:"name,omitempty"`
	Title        *string       `json:"title,omitempty"`
	Department   *string       `json:"department,omitempty"`
	ReportsTo    *string       `json:"reports_to,omitempty"`
	Role         *Role         `json:"role,omitempty"`
	Stance       *Stance       `json:"stance,omitempty"`
	Influence    *int          `json:"influence,omitempty"`
	Relationship *int          `json:"relationship,omitempty"`
	Phone        *string       `json:"phone,omitempty"`
	Email        *string       `json:"email,omitempty"`
	Notes        *string       `json:"notes,omitempty"`
	Deals        []ContactDeal `json:"deals,omitempty"`
}

// maxContactDeals bounds the deal links a request may send.
const maxContactDeals = 100

// ApplyTo checks the input and copies its set fields onto c; deal links are merged by deal. That
// a linked deal is the account's, and that the manager makes no cycle, the caller checks
// (CheckReportsTo).
func (in ContactInput) ApplyTo(c *Contact) error {
	for _, f := range []struct {
		name     string
		v        *string
		dst      *string
		required bool
		max      int
	}{
		{"name", in.Name, &c.Name, true, maxName},
		{"title", in.Title, &c.Title, false, maxName},
		{"department", in.Department, &c.Department, false, maxName},
		{"reports_to", in.ReportsTo, &c.ReportsTo, false, maxName},
		{"phone", in.Phone, &c.Phone, false, maxName},
		{"email", in.Email, &c.Email, false, maxName},
		{"notes", in.Notes, &c.Notes, false, maxText},
	} {
		if f.v == nil {
			continue
		}
		v := strings.TrimSpace(*f.v)
		if err := checkText(f.name, v, f.required, f.max); err != nil {
			return err
		}
		*f.dst = v
	}
	if strings.TrimSpace(c.Name) == "" {
		return Errorf(EINVALID, "name is required").WithDetail("field", "name")
	}
	if in.Role != nil {
		if *in.Role != "" && !slices.Contains(Roles, *in.Role) {
			return Errorf(EINVALID, "unknown role %q", *in.Role).WithDetail("field", "role")
		}
		c.Role = *in.Role
	}
	if in.Stance != nil {
		if !validStance(*in.Stance) {
			return Errorf(EINVALID, "unknown stance %q (want supporter, neutral or opponent)", *in.Stance).WithDetail("field", "stance")
		}
		c.Stance = *in.Stance
	}
	if c.Stance == "" {
		c.Stance = StanceNeutral
	}
	for _, n := range []struct {
		name string
		v    *int
		dst  *int
	}{{"influence", in.Influence, &c.Influence}, {"relationship", in.Relationship, &c.Relationship}} {
		if n.v == nil {
			continue
		}
		if *n.v < 0 || *n.v > 5 {
			return Errorf(EINVALID, "%s must be from 1 to 5 (0 for unknown)", n.name).WithDetail("field", n.name)
		}
		*n.dst = *n.v
	}
	if len(in.Deals) > maxContactDeals {
		return Errorf(EINVALID, "at most %d deals at a time", maxContactDeals).WithDetail("field", "deals")
	}
	for _, l := range in.Deals {
		l.DealID = strings.TrimSpace(l.DealID)
		if err := checkText("deals.deal_id", l.DealID, true, maxName); err != nil {
			return err
		}
		if l.Stance != "" && !validStance(l.Stance) {
			return Errorf(EINVALID, "unknown stance %q (want supporter, neutral or opponent)", l.Stance).WithDetail("field", "deals.stance")
		}
		if i := slices.IndexFunc(c.Deals, func(x ContactDeal) bool { return x.DealID == l.DealID }); i >= 0 {
			c.Deals[i].Stance = l.Stance
		} else {
			c.Deals = append(c.Deals, l)
		}
	}
	if c.Deals == nil {
		c.Deals = []ContactDeal{}
	}
	return nil
}

func validStance(s Stance) bool {
	return s == StanceSupporter || s == StanceNeutral || s == StanceOpponent
}

// CheckReportsTo checks that contact id may report to manager, given whom each of the account's
// contacts reports to now (reportsTo, by contact id; a new contact need not be in it): the manager
// must be another contact of the account, and following the chain up from the manager must never
// come back to id, or the org chart would have a cycle.
func CheckReportsTo(id, manager string, reportsTo map[string]string) error {
	if manager == "" {
		return nil
	}
	if manager == id {
		return Errorf(EINVALID, "a person cannot report to themselves").WithDetail("field", "reports_to")
	}
	if _, ok := reportsTo[manager]; !ok {
		return Errorf(EINVALID, "reports_to %q is not a contact of this account", manager).WithDetail("field", "reports_to")
	}
	chain := []string{id, manager}
	seen := map[string]bool{manager: true}
	for cur := reportsTo[manager]; cur != ""; cur = reportsTo[cur] {
		chain = append(chain, cur)
		if cur == id {
			return Errorf(EINVALID, "reports_to %q would make a cycle in the org chart: %s", manager, strings.Join(chain, " → ")).
				WithDetail("field", "reports_to").WithDetail("cycle", chain)
		}
		if seen[cur] {
			break // a cycle already stored (which this check keeps from happening) that id is not on
		}
		seen[cur] = true
	}
	return nil
}

// ContactAudit is the audit entry of a contact's creation (before nil) or change. It is filed
// under the account, so that whoever reads the account's trail reads it.
func ContactAudit(before, after *Contact, by string, now time.Time) *AuditEntry {
	e := &AuditEntry{At: now, Actor: by, EntityType: "account", EntityID: after.AccountID, After: after}
	if before == nil {
		e.Action = "contact.create"
		e.Summary = fmt.Sprintf("contact %s added", after.Name)
		if after.Title != "" {
			e.Summary += " (" + after.Title + ")"
		}
	} else {
		e.Action, e.Before = "contact.update", before
		e.Summary = fmt.Sprintf("contact %s updated", after.Name)
	}
	return e
}

// StaleContactFilter selects stale contacts.
type StaleContactFilter struct {
	Now time.Time
	// After is how long without an interaction makes a contact stale; 0 is the settings'.
	After time.Duration
	// Roles are the roles of the contacts listed; none: the insider and the decision maker, whom
	// the entry stage's key node rests on.
	Roles []Role
	// AccountID limits the list to one account ("" for all).
	AccountID string
	// WithOpenDeals keeps only the contacts linked to at least one open deal.
	WithOpenDeals bool
}

// StaleContact is a stale contact and the open deals (status open) it is linked to: the deals
// whose entry-stage key node may rest on a relationship gone cold.
type StaleContact struct {
	Contact   Contact  `json:"contact"`
	DaysSince int      `json:"days_since"`
	OpenDeals []string `json:"open_deals"`
}

// InteractionKind is how we met the customer's people.
type InteractionKind string

// The interaction kinds.
const (
	InteractionVisit          InteractionKind = "visit"           // 拜访
	InteractionCall           InteractionKind = "call"            // 电话
	InteractionMeeting        InteractionKind = "meeting"         // 会议
	InteractionDemo           InteractionKind = "demo"            // 演示
	InteractionFactoryVisit   InteractionKind = "factory_visit"   // 工厂参观: the customer visits our works
	InteractionReferenceVisit InteractionKind = "reference_visit" // 样板客户参观: a visit to a reference site
)

// InteractionKinds lists the kinds.
var InteractionKinds = []InteractionKind{InteractionVisit, InteractionCall, InteractionMeeting, InteractionDemo,
	InteractionFactoryVisit, InteractionReferenceVisit}

// Reaction is how the customer took an interaction.
type Reaction string

// The reactions.
const (
	ReactionPositive Reaction = "positive"
	ReactionNeutral  Reaction = "neutral"
	ReactionNegative Reaction = "negative"
)

// Reactions lists the reactions.
var Reactions = []Reaction{ReactionPositive, ReactionNeutral, ReactionNegative}

// Interaction is one contact with the customer: with whom, about which deal if any, and how they
// took it. Interactions are the account's memory: whoever takes the account over reads them all.
type Interaction struct {
	ID         string          `json:"id"`
	AccountID  string          `json:"account_id"`
	DealID     string          `json:"deal_id,omitempty"`
	ContactIDs []string        `json:"contact_ids"`
	Kind       InteractionKind `json:"kind"`
	At         time.Time       `json:"at"`
	Summary    string          `json:"summary"`
	Reaction   Reaction        `json:"reaction"`
	// ReactionText is what the customer said or did, in the KAM's words.
	ReactionText string    `json:"reaction_text,omitempty"`
	RecordedBy   string    `json:"recorded_by"`
	CreatedAt    time.Time `json:"created_at"`
}

// InteractionInput logs an interaction. At defaults to now and may not be in the future.
type InteractionInput struct {
	AccountID    string          `json:"account_id"`
	DealID       string          `json:"deal_id,omitempty"`
	ContactIDs   []string        `json:"contact_ids,omitempty"`
	Kind         InteractionKind `json:"kind"`
	At           *time.Time      `json:"at,omitempty"`
	Summary      string          `json:"summary"`
	Reaction     Reaction        `json:"reaction"`
	ReactionText string          `json:"reaction_text,omitempty"`
}

// maxInteractionContacts bounds the people of one interaction.
const maxInteractionContacts = 50

// futureSlack is how far ahead of the server's clock an interaction's time may be: a phone's
// clock runs a little fast.
const futureSlack = 5 * time.Minute

// Interaction checks the input and returns the interaction it logs (without its ID).
func (in InteractionInput) Interaction(by string, now time.Time) (*Interaction, error) {
	it := &Interaction{
		AccountID: strings.TrimSpace(in.AccountID), DealID: strings.TrimSpace(in.DealID), Kind: in.Kind, At: now,
		Summary: strings.TrimSpace(in.Summary), Reaction: in.Reaction, ReactionText: strings.TrimSpace(in.ReactionText),
		RecordedBy: by, CreatedAt: now, ContactIDs: []string{},
	}
	if err := checkText("account_id", it.AccountID, true, maxName); err != nil {
		return nil, err
	}
	if err := checkText("deal_id", it.DealID, false, maxName); err != nil {
		return nil, err
	}
	if !slices.Contains(InteractionKinds, it.Kind) {
		return nil, Errorf(EINVALID, "unknown interaction kind %q (want visit, call, meeting, demo, factory_visit or reference_visit)", it.Kind).WithDetail("field", "kind")
	}
	if !slices.Contains(Reactions, it.Reaction) {
		return nil, Errorf(EINVALID, "reaction %q must be positive, neutral or negative", it.Reaction).WithDetail("field", "reaction")
	}
	if err := checkText("summary", it.Summary, true, maxText); err != nil {
		return nil, err
	}
	if err := checkText("reaction_text", it.ReactionText, false, maxText); err != nil {
		return nil, err
	}
	if in.At != nil {
		if in.At.After(now.Add(futureSlack)) {
			return nil, Errorf(EINVALID, "at is in the future: log an interaction once it happened").WithDetail("field", "at")
		}
		if in.At.Year() < 2000 {
			return nil, Errorf(EINVALID, "at is before the year 2000").WithDetail("field", "at")
		}
		it.At = in.At.UTC()
	}
	if len(in.ContactIDs) > maxInteractionContacts {
		return nil, Errorf(EINVALID, "at most %d people per interaction", maxInteractionContacts).WithDetail("field", "contact_ids")
	}
	for _, id := range in.ContactIDs {
		id = strings.TrimSpace(id)
		if err := checkText("contact_ids", id, true, maxName); err != nil {
			return nil, err
		}
		if !slices.Contains(it.ContactIDs, id) {
			it.ContactIDs = append(it.ContactIDs, id)
		}
	}
	return it, nil
}

// InteractionAudit is the audit entry of a logged interaction, filed under its account.
func InteractionAudit(it *Interaction) *AuditEntry {
	return &AuditEntry{
		At: it.CreatedAt, Actor: it.RecordedBy, Action: "interaction.create", EntityType: "account", EntityID: it.AccountID,
		DealID: it.DealID, Summary: fmt.Sprintf("%s logged (%s): %s", it.Kind, it.Reaction, it.Summary), After: it,
		Code: "interaction", Params: Params{"interaction": it.Kind, "reaction": it.Reaction, "summary": it.Summary},
	}
}

// Timeline entry kinds.
const (
	TimelineInteraction = "interaction"
	TimelineStage       = "stage"
)

// TimelineEntry is one line of an account's timeline: an interaction, or a move in the stage
// history of one of its deals.
type TimelineEntry struct {
	Kind        string           `json:"kind"`
	At          time.Time        `json:"at"`
	Interaction *Interaction     `json:"interaction,omitempty"`
	Transition  *StageTransition `json:"transition,omitempty"`
	// DealTitle names the deal of a stage move.
	DealTitle string `json:"deal_title,omitempty"`
}

// TimelineFilter selects an account's timeline, for a viewer: the stage history only of the
// deals the viewer may see, and the interactions about no deal or such a deal.
type TimelineFilter struct {
	AccountID string
	Viewer    *Actor // nil: everything
	Page
}
