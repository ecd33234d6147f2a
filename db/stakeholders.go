package db

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/kamflow/kamflow"
)

// One buying center per account: every stakeholder of a deal is one of the account's contacts,
// linked in deal_stakeholders. linkStakeholders is the one place that decides which contact a
// stakeholder is; Project runs it with every change of a deal it writes, and migration 120 ran it
// over every deal stored before (goSteps), so the two cannot disagree.

// contactSpace derives the id of a contact made from a stakeholder, so that writing the same
// deal again (a retried projection) makes the same contact, never a second one.
var contactSpace = uuid.MustParse("6b616d66-6c6f-5773-8000-7374616b6568")

// linkStakeholders links each of deal's stakeholders to the account's contact it is, and makes
// deal_stakeholders the deal's stakeholders. A stakeholder is, in this order:
//   - the contact of its ContactID, made from the stakeholder when the account has none of that
//     id (a person the KAM added as new on the deal: the API gave them their id);
//   - the contact the deal's stakeholder of the same name was linked to before (a deal's record
//     from before stakeholders were contacts names them only);
//   - the first contact of the account (oldest first) who is the same person by the contacts
//     import's rule, kamflow.SamePerson (the same normalised name; a stakeholder has no phone or
//     e-mail that could tell two apart);
//   - else a new contact of the account, made from the stakeholder.
//
// Nothing is lost: every stakeholder gets a contact, and is linked to the deal in contact_deals
// too (the contact's deals). A deal whose account is not stored (only tests write such deals)
// has no contacts to be linked to and is left without links.
func linkStakeholders(tx *gorm.DB, deal *kamflow.Deal) error {
	fail := func(what string, err error) error {
		return fmt.Errorf("db: link the stakeholders of deal %s: %s: %w", deal.ID, what, err)
	}
	var before []struct {
		ContactID string
		NameFold  string
	}
	if err := tx.Raw("SELECT contact_id, name_fold FROM deal_stakeholders WHERE deal_id = ?", deal.ID).Scan(&before).Error; err != nil {
		return fail("read the links", err)
	}
	if err := tx.Exec("DELETE FROM deal_stakeholders WHERE deal_id = ?", deal.ID).Error; err != nil {
		return fail("clear the links", err)
	}
	if len(deal.Stakeholders) == 0 {
		return nil
	}
	var found []string
	if err := tx.Raw("SELECT id FROM accounts WHERE id = ?", deal.AccountID).Scan(&found).Error; err != nil {
		return fail("read the account", err)
	}
	if len(found) == 0 {
		return nil
	}
	var contacts []kamflow.ContactKey
	if err := tx.Raw("SELECT id, account_id, name, phone, email FROM contacts WHERE account_id = ? ORDER BY created_at, id",
		deal.AccountID).Scan(&contacts).Error; err != nil {
		return fail("read the account's contacts", err)
	}
	known := make(map[string]bool, len(contacts))
	for _, c := range contacts {
		known[c.ID] = true
	}
	linked := map[string]string{} // name_fold → contact id, as the deal was linked before
	for _, b := range before {
		if known[b.ContactID] {
			linked[b.NameFold] = b.ContactID
		}
	}
	done := map[string]bool{}
	for _, s := range deal.Stakeholders {
		nf := kamflow.NormName(s.Name)
		id := s.ContactID
		if id == "" {
			id = linked[nf]
		}
		if id == "" {
			key := kamflow.ContactKey{AccountID: deal.AccountID, Name: s.Name}
			for _, c := range contacts {
				if kamflow.SamePerson(c, key) {
					id = c.ID
					break
				}
			}
		}
		if id == "" {
			id = uuid.NewSHA1(contactSpace, []byte(deal.ID+"\x00"+nf)).String()
		}
		if !known[id] {
			if err := contactFromStakeholder(tx, deal, s, id); err != nil {
				return err
			}
			known[id] = true
			contacts = append(contacts, kamflow.ContactKey{ID: id, AccountID: deal.AccountID, Name: s.Name})
		}
		if done[id] {
			continue // two names of one person (they fold alike): linked once
		}
		done[id] = true
		err := tx.Exec(`INSERT INTO deal_stakeholders (deal_id, contact_id, name_fold, role, stance, engaged) VALUES (?, ?, ?, ?, ?, ?)`,
			deal.ID, id, nf, string(s.Role), string(s.Stance), s.Engaged).Error
		if err != nil {
			return fail("link "+id, err)
		}
		err = tx.Exec(`INSERT INTO contact_deals (contact_id, deal_id, stance, updated_by, updated_at) VALUES (?, ?, '', ?, ?)
			ON CONFLICT (contact_id, deal_id) DO NOTHING`, id, deal.ID, recorder(deal, s), ts(recordedAt(deal, s))).Error
		if err != nil {
			return fail("link contact "+id+" to the deal", err)
		}
	}
	return nil
}

func recorder(deal *kamflow.Deal, s kamflow.Stakeholder) string {
	if s.RecordedBy != "" {
		return s.RecordedBy
	}
	return deal.Owner
}

func recordedAt(deal *kamflow.Deal, s kamflow.Stakeholder) time.Time {
	if !s.RecordedAt.IsZero() {
		return s.RecordedAt
	}
	return deal.UpdatedAt
}

// contactFromStakeholder makes the account's contact id from a stakeholder of deal: their name,
// title, role, stance and influence, by whoever recorded them, with its audit entry under the
// account.
func contactFromStakeholder(tx *gorm.DB, deal *kamflow.Deal, s kamflow.Stakeholder, id string) error {
	by, at := recorder(deal, s), recordedAt(deal, s)
	c := &kamflow.Contact{
		ID: id, AccountID: deal.AccountID, Name: s.Name, Title: s.Title, Role: s.Role, Stance: s.Stance, Influence: s.Influence,
		Deals: []kamflow.ContactDeal{}, CreatedBy: by, CreatedAt: at, UpdatedAt: at, Version: 1, UpdatedBy: by,
	}
	if c.Stance == "" {
		c.Stance = kamflow.StanceNeutral
	}
	res := tx.Exec(`INSERT INTO contacts (id, account_id, name, name_fold, title, department, reports_to, role,
		stance, influence, relationship, phone, email, notes, last_contact_at, created_by, created_at, updated_at,
		version, updated_by)
		VALUES (?, ?, ?, ?, ?, '', '', ?, ?, ?, 0, '', '', '', NULL, ?, ?, ?, 1, ?) ON CONFLICT (id) DO NOTHING`,
		c.ID, c.AccountID, c.Name, fold(c.Name), c.Title, string(c.Role), string(c.Stance), c.Influence,
		by, ts(at), ts(at), by)
	if res.Error != nil {
		return fmt.Errorf("db: make contact %s from a stakeholder of deal %s: %w", id, deal.ID, res.Error)
	}
	if res.RowsAffected == 0 {
		// The id is another account's contact: never taken over from here.
		return kamflow.Errorf(kamflow.EINVALID, "contact %q of stakeholder %s is not a contact of the deal's account", id, s.Name)
	}
	return appendAudit(tx, kamflow.ContactAudit(nil, c, by, at))
}

// backfillStakeholders is migration 120's Go step: it links the stakeholders of every deal
// already stored to contacts (linkStakeholders), a page of deals at a time.
func backfillStakeholders(tx *gorm.DB) error {
	last := ""
	for {
		var rows []struct {
			ID   string
			Data string
		}
		if err := tx.Raw("SELECT id, data FROM deals WHERE id > ? ORDER BY id LIMIT 200", last).Scan(&rows).Error; err != nil {
			return fmt.Errorf("db: read deals after %q: %w", last, err)
		}
		if len(rows) == 0 {
			return nil
		}
		for _, r := range rows {
			deal, err := decodeDeal(r.Data)
			if err != nil {
				return fmt.Errorf("db: deal %s: %w", r.ID, err)
			}
			if err := linkStakeholders(tx, deal); err != nil {
				return err
			}
		}
		last = rows[len(rows)-1].ID
	}
}

// StakeholderContacts returns the contacts the deal's stakeholders are linked to, by their name
// folded (kamflow.NormName): for a deal's record that names some of them only.
func (d *DB) StakeholderContacts(ctx context.Context, dealID string) (map[string]string, error) {
	var rows []struct {
		ContactID string
		NameFold  string
	}
	if err := d.r.WithContext(ctx).Raw("SELECT contact_id, name_fold FROM deal_stakeholders WHERE deal_id = ?", dealID).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("db: read the stakeholders' contacts of deal %s: %w", dealID, err)
	}
	out := make(map[string]string, len(rows))
	for _, r := range rows {
		out[r.NameFold] = r.ContactID
	}
	return out, nil
}
