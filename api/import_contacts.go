package api

import (
	"context"
	"fmt"

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
func (x *importContext) planContacts(ctx context.Context, p *importPlan, rows []sheet.Row) error {
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
	for _, r := range rows {
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
		p.contacts = append(p.contacts, kamflow.ImportedContact{Line: r.Line, Contact: &kamflow.Contact{
			ID: id, AccountID: acc.ID, Name: rec.Name, Title: rec.Title, Department: rec.Department, Role: rec.Role,
			Stance: rec.Stance, Influence: rec.Influence, Relationship: rec.Relationship, Phone: rec.Phone, Email: rec.Email,
			Notes: rec.Notes, Deals: []kamflow.ContactDeal{}, CreatedBy: x.me.ID, CreatedAt: now, UpdatedAt: now,
		}})
	}
	return nil
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
