package api

import (
	"context"
	"fmt"
	"iter"
	"slices"

	"github.com/labstack/echo/v4"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/sheet"
)

// Contacts in and out: the people at the team's accounts (contact.go), as the account's page
// lists them.

// contactsImport reports whether contacts can be imported and exported: always, now that the
// contact store is there. (It stays a switch for a store without contacts.)
func (s *Server) contactsImport() bool { return s.cfg.Imports != nil }

// planContacts sorts contact rows as planAccounts does: a row of a kamflow export (its id a
// contact's) is present; any other row is checked for its cells, the account it names and an
// earlier row of the same person (by external id, else by account, name and phone or e-mail:
// SamePerson), and then skipped when the person is in kamflow already.
func (x *importContext) planContacts(ctx context.Context, p *importPlan, rows iter.Seq[sheet.Row]) error {
	existing, err := x.s.cfg.Imports.TeamContacts(ctx, x.imp.TeamID)
	if err != nil {
		return err
	}
	byID := map[string]kamflow.ContactKey{}
	byAccount := map[string][]kamflow.ContactKey{} // by account id + NormName
	for _, c := range existing {
		byID[c.ID] = c
		k := c.AccountID + "\x00" + kamflow.NormName(c.Name)
		byAccount[k] = append(byAccount[k], c)
	}
	seenExt := map[string]int{}
	type seenRow struct {
		line int
		key  kamflow.ContactKey
	}
	seen := map[string][]seenRow{}
	now := x.imp.CreatedAt
	// The managers named in reports_to, by the planned contact's index: resolved once every row
	// is planned, since a manager may come later in the file.
	managers := map[int]string{}
	cells := map[int][]string{}
	for r := range rows {
		if ext := x.h.Value(r.Cells, "external_id"); ext != "" {
			if k, ok := byID[ext]; ok {
				p.skip(r.Line, x.column("external_id"), "external_id", k.ID, fmt.Sprintf("contact %s is already in kamflow", k.Name))
				continue
			}
		}
		rec, issues := kamflow.ParseContactRow(x.h, r.Line, r.Cells)
		var acc kamflow.AccountKey
		if !hasIssue(issues, "account") && !hasIssue(issues, "account_id") && (rec.AccountRef != "" || rec.Account != "") {
			var is *kamflow.ImportIssue
			if acc, is = x.account(r.Line, rec.AccountRef, rec.Account); is != nil {
				issues = append(issues, *is)
			}
		}
		key := kamflow.ContactKey{AccountID: acc.ID, Name: rec.Name, Phone: rec.Phone, Email: rec.Email}
		group := acc.ID + "\x00" + kamflow.NormName(rec.Name)
		if l, ok := seenExt[rec.ExternalID]; ok && rec.ExternalID != "" {
			issues = append(issues, x.issue(r.Line, "external_id", kamflow.IssueDuplicate, "the same contact as line %d (external id %s)", l, rec.ExternalID))
		} else if rec.ExternalID == "" && acc.ID != "" {
			for _, sr := range seen[group] {
				if kamflow.SamePerson(sr.key, key) {
					issues = append(issues, x.issue(r.Line, "name", kamflow.IssueDuplicate, "the same person as line %d (%s at %s)", sr.line, rec.Name, acc.Name))
					break
				}
			}
		}
		if len(issues) > 0 {
			p.reject(r.Line, r.Cells, sortIssues(x.h, issues))
			continue
		}
		id := x.derivedID("contact", "person:"+group+"\x00"+rec.Phone+"\x00"+rec.Email)
		if rec.ExternalID != "" {
			seenExt[rec.ExternalID] = r.Line
			id = x.derivedID("contact", "ext:"+rec.ExternalID)
		} else {
			seen[group] = append(seen[group], seenRow{r.Line, key})
		}
		if k, ok := byID[id]; ok {
			p.skip(r.Line, x.column("name"), "name", k.ID, fmt.Sprintf("contact %s is already in kamflow", k.Name))
			continue
		}
		if rec.ExternalID == "" {
			match := ""
			for _, c := range byAccount[group] {
				if kamflow.SamePerson(c, key) {
					match = c.ID
					break
				}
			}
			if match != "" {
				p.skip(r.Line, x.column("name"), "name", match, fmt.Sprintf("%s of %s is already in kamflow", rec.Name, acc.Name))
				continue
			}
		}
		if m := x.h.Value(r.Cells, "reports_to"); m != "" {
			managers[len(p.contacts)] = m
		}
		p.contacts = append(p.contacts, kamflow.ImportedContact{Line: r.Line, Contact: &kamflow.Contact{
			ID: id, AccountID: acc.ID, Name: rec.Name, Title: rec.Title, Department: rec.Department, Role: rec.Role,
			Stance: rec.Stance, Influence: rec.Influence, Relationship: rec.Relationship, Phone: rec.Phone, Email: rec.Email,
			Notes: rec.Notes, Deals: []kamflow.ContactDeal{}, CreatedBy: x.me.ID, CreatedAt: now, UpdatedAt: now,
		}})
		cells[len(p.contacts)-1] = r.Cells
	}
	x.resolveManagers(p, existing, managers, cells)
	return nil
}

// resolveManagers sets each planned contact's reports_to from what its row named: a contact's id
// (as an export writes it) or the name of one person of the same account, in kamflow already or
// in the file. A name that matches no one or several people, or managers that would report to
// each other in a circle, reject the row: nothing is dropped silently.
func (x *importContext) resolveManagers(p *importPlan, existing []kamflow.ContactKey, managers map[int]string, cells map[int][]string) {
	if len(managers) == 0 {
		return
	}
	type person struct{ id, account string }
	byID := map[string]person{}
	byName := map[string][]string{} // account + NormName → ids
	add := func(id, account, name string) {
		byID[id] = person{id, account}
		k := account + "\x00" + kamflow.NormName(name)
		byName[k] = append(byName[k], id)
	}
	for _, c := range existing {
		add(c.ID, c.AccountID, c.Name)
	}
	for _, ic := range p.contacts {
		add(ic.Contact.ID, ic.Contact.AccountID, ic.Contact.Name)
	}
	bad := map[int]kamflow.ImportIssue{}
	issue := func(i int, format string, args ...any) {
		bad[i] = x.issue(p.contacts[i].Line, "reports_to", kamflow.IssueManager, format, args...)
	}
	for i, m := range managers {
		c := p.contacts[i].Contact
		if pr, ok := byID[m]; ok && pr.account == c.AccountID {
			c.ReportsTo = m
		} else if ids := byName[c.AccountID+"\x00"+kamflow.NormName(m)]; len(ids) == 1 {
			c.ReportsTo = ids[0]
		} else if len(ids) > 1 {
			issue(i, "several people of the account are called %s: name the manager by id", m)
			continue
		} else {
			issue(i, "no one called %s at this account: add the manager first, or in the same file", m)
			continue
		}
		if c.ReportsTo == c.ID {
			issue(i, "%s cannot report to themselves", c.Name)
		}
	}
	// A circle can only be among the file's new people: someone in kamflow already reports to no
	// one of them.
	planned := map[string]int{}
	for i, ic := range p.contacts {
		planned[ic.Contact.ID] = i
	}
	for i := range managers {
		if _, done := bad[i]; done {
			continue
		}
		start := p.contacts[i].Contact.ID
		seen := map[string]bool{}
		for cur := p.contacts[i].Contact.ReportsTo; cur != "" && !seen[cur]; {
			if cur == start {
				issue(i, "%s and their managers would report to each other in a circle", p.contacts[i].Contact.Name)
				break
			}
			j, ok := planned[cur]
			if !ok {
				break
			}
			seen[cur] = true // a circle not through i: its own rows are rejected, and i with them below
			cur = p.contacts[j].Contact.ReportsTo
		}
	}
	// Someone whose manager's row is rejected would report to no one that exists: rejected too.
	for changed := true; changed; {
		changed = false
		for i, ic := range p.contacts {
			if _, done := bad[i]; done {
				continue
			}
			if j, ok := planned[ic.Contact.ReportsTo]; ok {
				if _, mgrBad := bad[j]; mgrBad {
					issue(i, "the row of their manager %s (line %d) is rejected", p.contacts[j].Contact.Name, p.contacts[j].Line)
					changed = true
				}
			}
		}
	}
	if len(bad) == 0 {
		return
	}
	kept := p.contacts[:0]
	for i, ic := range p.contacts {
		if is, ok := bad[i]; ok {
			p.reject(ic.Line, cells[i], []kamflow.ImportIssue{is})
			continue
		}
		kept = append(kept, ic)
	}
	p.contacts = kept
	slices.SortStableFunc(p.rows, func(a, b kamflow.ImportRow) int { return a.Line - b.Line })
}

func (s *Server) commitContacts(ctx context.Context, imp *kamflow.Import, p *importPlan, prog kamflow.ImportProgress, me kamflow.Actor) (kamflow.ImportProgress, error) {
	for start := 0; start < len(p.contacts); start += importBatch {
		batch := p.contacts[start:min(len(p.contacts), start+importBatch)]
		next, err := s.cfg.Imports.ImportContacts(ctx, imp.ID, prog, batch, me.ID, s.cfg.Now().UTC())
		if err != nil {
			return prog, s.stopped(imp, batch[0].Line, err)
		}
		prog = next
	}
	return prog, nil
}

var contactHeads = []head{{"id", "编号"}, {"account_id", "客户编号"}, {"account", "客户名称"}, {"name", "姓名"},
	{"title", "职务"}, {"department", "部门"}, {"role", "角色"}, {"stance", "态度"}, {"influence", "影响力"},
	{"relationship", "关系"}, {"phone", "电话"}, {"email", "邮箱"}, {"notes", "备注"}, {"reports_to", "上级"},
	{"last_contact_at", "最近联系"}, {"created_at", "创建时间"}, {"updated_at", "更新时间"}}

// Chinese names of roles and stances in exports: the ones imports read back.
var (
	roleZH = map[kamflow.Role]string{
		kamflow.RoleDecisionMaker: "决策者", kamflow.RoleInfluencer: "影响者", kamflow.RoleUser: "使用者",
		kamflow.RoleTechnicalEvaluator: "技术评估者", kamflow.RolePurchaser: "采购者", kamflow.RoleExecutor: "执行者",
		kamflow.RoleInsider: "内线",
	}
	stanceZH = map[kamflow.Stance]string{kamflow.StanceSupporter: "支持", kamflow.StanceNeutral: "中立", kamflow.StanceOpponent: "反对"}
)

// exportContacts answers the contacts of the accounts the user may see, with their account's
// name.
func (s *Server) exportContacts(c echo.Context, f sheet.Format, name string, zh bool) error {
	ctx := c.Request().Context()
	me := s.actor(c)
	names := map[string]string{}
	err := s.cfg.Imports.ExportAccounts(ctx, &me, func(a *kamflow.Account) error {
		names[a.ID] = a.Name
		return nil
	})
	if err != nil {
		return err
	}
	rating := func(n int) any { // 0 is unknown: an empty cell
		if n == 0 {
			return nil
		}
		return n
	}
	return s.spreadsheet(c, f, name, "contacts", func(w sheet.Writer) error {
		if err := w.Write(pickHeads(zh, contactHeads)...); err != nil {
			return err
		}
		return s.cfg.Imports.ExportContacts(ctx, &me, func(ct *kamflow.Contact) error {
			role, stance := string(ct.Role), string(ct.Stance)
			if zh {
				role, stance = roleZH[ct.Role], stanceZH[ct.Stance]
			}
			var last any
			if ct.LastContactAt != nil {
				last = *ct.LastContactAt
			}
			return w.Write(ct.ID, ct.AccountID, names[ct.AccountID], ct.Name, ct.Title, ct.Department, role, stance,
				rating(ct.Influence), rating(ct.Relationship), ct.Phone, ct.Email, ct.Notes, ct.ReportsTo, last, ct.CreatedAt, ct.UpdatedAt)
		})
	})
}
