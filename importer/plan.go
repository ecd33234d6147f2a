package importer

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/sheet"
)

// Planning: every row of the file is checked against the file's own rows and the team's data and
// sorted — rejected, skipped as present, held for a director, or to import. No row is ever
// imported twice: each record's ID follows from its natural key (the external id of the row, else
// the account's normalised name within the team, the deal's account and title, the contact's
// account, name and phone or e-mail), so a second run — even one racing the first — finds the
// record there: the account's insert does nothing, the deal's workflow ID is taken.

// importIDSpace namespaces the IDs derived from natural keys.
var importIDSpace = uuid.MustParse("0b9a3f0e-6c1d-4e57-9d0a-6b616d696d70")

// maxReportIssues bounds the issues a dry run keeps rows of; the rejected file of a real run has
// every row.
const maxReportIssues = kamflow.MaxReportIssues

// importPlan is what a run will do: the rows it will not import, and the records it will create.
type importPlan struct {
	kind     kamflow.ImportKind
	rows     []kamflow.ImportRow // rejected, skipped and held, by line
	progress kamflow.ImportProgress
	accounts []kamflow.ImportedAccount
	contacts []kamflow.ImportedContact
	deals    []plannedDeal
	// dryRun keeps rows as far as the report lists them (issues of them), and the cells of the
	// first rejected ones (sampled of them, sampledBytes of text): the others are counted only.
	dryRun       bool
	issues       int
	sampled      int
	sampledBytes int
	// approvedBy is the director who approved the held rows the plan reads again.
	approvedBy string
	// cells are the cells of the rows to import, by line (keepCells).
	cells map[int][]string
}

// plannedDeal is a deal to open at its stage when the run commits.
type plannedDeal struct {
	line  int
	cells []string // for the rejected file, should its workflow refuse it
	id    string
	in    kamflow.NewDealInput
	stage kamflow.Stage
}

// dealRecord is a pending deal row's record. The input's team is its own field: NewDealInput
// does not encode it (a client never sets it).
type dealRecord struct {
	ID     string               `json:"id"`
	In     kamflow.NewDealInput `json:"in"`
	TeamID string               `json:"team_id"`
	Stage  kamflow.Stage        `json:"stage"`
}

// keepCells keeps a row to import's cells (a real run's): a cancelled run reports it not imported,
// in its rejected file.
func (p *importPlan) keepCells(line int, cells []string) {
	if p.dryRun {
		return
	}
	if p.cells == nil {
		p.cells = map[int][]string{}
	}
	p.cells[line] = cells
}

func (p *importPlan) size() int { return len(p.accounts) + len(p.contacts) + len(p.deals) }

// keep records a row that is not imported. A real run keeps every one; a dry run those of the
// issues its report lists, and the cells of a sample of its rejected rows.
func (p *importPlan) keep(r kamflow.ImportRow) {
	if p.dryRun {
		if p.issues+len(r.Issues) > maxReportIssues {
			return // counted, not kept
		}
		size := 0
		for _, c := range r.Cells {
			size += len(c)
		}
		if r.Outcome != kamflow.OutcomeRejected || p.sampled == kamflow.DryRunSampleRows || p.sampledBytes+size > kamflow.DryRunSampleBytes {
			r.Cells = nil
		} else {
			p.sampled++
			p.sampledBytes += size
		}
	}
	p.issues += len(r.Issues)
	p.rows = append(p.rows, r)
}

func (p *importPlan) reject(line int, cells []string, issues []kamflow.ImportIssue) {
	p.keep(kamflow.ImportRow{Line: line, Outcome: kamflow.OutcomeRejected, Issues: issues, Cells: cells})
	p.progress.Rejected++
}

func (p *importPlan) skip(line int, column, field, entityID, message string) {
	p.keep(kamflow.ImportRow{Line: line, Outcome: kamflow.OutcomeSkipped, EntityID: entityID,
		Issues: []kamflow.ImportIssue{{Line: line, Column: column, Field: field, Code: kamflow.IssueExists, Message: message}}})
	p.progress.Skipped++
}

// hold records a deal row that waits for a director's approval, with its cells: read again when a
// director approves.
func (p *importPlan) hold(line int, cells []string, issue kamflow.ImportIssue) {
	p.keep(kamflow.ImportRow{Line: line, Outcome: kamflow.OutcomeHeld, Issues: []kamflow.ImportIssue{issue}, Cells: cells})
	p.progress.Held++
}

// importContext is what checking a file's rows needs to know of the team.
type importContext struct {
	i      *Importer
	imp    *kamflow.Import
	h      *kamflow.ImportHeader
	me     kamflow.Actor
	users  map[string]*kamflow.User // by lower-case username
	byID   map[string]kamflow.AccountKey
	byName map[string]kamflow.AccountKey // by NormName
	// approval is a director's approval of the held rows being read again: nothing is held then.
	approval *kamflow.ImportApproval
}

// issue builds a row's issue about a field.
func (x *importContext) issue(line int, field, code, format string, args ...any) kamflow.ImportIssue {
	col := field
	for _, c := range x.h.Columns {
		if c.Field == field {
			col = c.Column
		}
	}
	return kamflow.ImportIssue{Line: line, Column: col, Field: field, Code: code, Message: fmt.Sprintf(format, args...)}
}

// derivedID is the ID of a record with the given natural key in the import's team.
func (x *importContext) derivedID(what, key string) string {
	return uuid.NewSHA1(importIDSpace, []byte(what+"\x00"+x.imp.TeamID+"\x00"+key)).String()
}

// owner checks a row's owner: the importer by default, or a KAM of the team.
func (x *importContext) owner(line int, owner string) (string, *kamflow.ImportIssue) {
	if owner == "" || strings.EqualFold(owner, x.me.ID) {
		return x.me.ID, nil
	}
	u := x.users[strings.ToLower(owner)]
	if u == nil || u.Role != kamflow.UserKAM || u.Disabled || !containsTeam(u.Teams, x.imp.TeamID) {
		is := x.issue(line, "owner", kamflow.IssueOwner, "%s is not a KAM of the team", owner)
		return "", &is
	}
	return u.Username, nil
}

func containsTeam(teams []string, team string) bool {
	for _, t := range teams {
		if t == team {
			return true
		}
	}
	return false
}

// rowAccount finds the account a deal or contact row names (see account), unless the row's
// account cells have an issue already or name none; the issue of an unknown account is added to
// the row's.
func (x *importContext) rowAccount(line int, issues []kamflow.ImportIssue, ref, name string) (kamflow.AccountKey, []kamflow.ImportIssue) {
	if hasIssue(issues, "account") || hasIssue(issues, "account_id") || (ref == "" && name == "") {
		return kamflow.AccountKey{}, issues
	}
	acc, is := x.account(line, ref, name)
	if is != nil {
		issues = append(issues, *is)
	}
	return acc, issues
}

// account finds the account a deal or contact row names: by id (a kamflow id, or the external id
// of an imported account), else by name, among the team's accounts.
func (x *importContext) account(line int, ref, name string) (kamflow.AccountKey, *kamflow.ImportIssue) {
	if ref != "" {
		if k, ok := x.byID[ref]; ok {
			return k, nil
		}
		if k, ok := x.byID[x.derivedID("account", "ext:"+ref)]; ok {
			return k, nil
		}
	}
	if name != "" {
		if k, ok := x.byName[kamflow.NormName(name)]; ok {
			return k, nil
		}
	}
	var is kamflow.ImportIssue
	switch {
	case ref != "" && name != "":
		is = x.issue(line, "account_id", kamflow.IssueAccount, "no account %s (nor one named %s) in the team: import the accounts first", ref, name)
	case ref != "":
		is = x.issue(line, "account_id", kamflow.IssueAccount, "no account %s in the team: import the accounts first", ref)
	default:
		is = x.issue(line, "account", kamflow.IssueAccount, "no account named %s in the team: import the accounts first", name)
	}
	return kamflow.AccountKey{}, &is
}

// planImport checks every row as it comes and sorts it: rejected, skipped as present, held for a
// director, or to import. approval is set when the rows are an import's held rows, approved.
func (i *Importer) planImport(ctx context.Context, imp *kamflow.Import, h *kamflow.ImportHeader, rows iter.Seq[sheet.Row], me kamflow.Actor, approval *kamflow.ImportApproval) (*importPlan, error) {
	users, err := i.Users.Users(ctx)
	if err != nil {
		return nil, err
	}
	keys, err := i.Imports.TeamAccounts(ctx, imp.TeamID)
	if err != nil {
		return nil, err
	}
	x := &importContext{i: i, imp: imp, h: h, me: me, users: map[string]*kamflow.User{},
		byID: map[string]kamflow.AccountKey{}, byName: map[string]kamflow.AccountKey{}, approval: approval}
	for _, u := range users {
		x.users[strings.ToLower(u.Username)] = u
	}
	for _, k := range keys {
		x.byID[k.ID] = k
		if n := kamflow.NormName(k.Name); n != "" {
			if _, dup := x.byName[n]; !dup {
				x.byName[n] = k
			}
		}
	}
	p := &importPlan{kind: imp.Kind, dryRun: imp.DryRun}
	if approval != nil {
		p.approvedBy = approval.By
	}
	switch imp.Kind {
	case kamflow.ImportAccounts:
		x.planAccounts(p, rows)
	case kamflow.ImportDeals:
		if err := x.planDeals(ctx, p, rows); err != nil {
			return nil, err
		}
	case kamflow.ImportContacts:
		if err := x.planContacts(ctx, p, rows); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// planAccounts sorts account rows. A row of a kamflow export (its id column an account's id) is
// present, whatever its cells. Any other row is checked for what the file alone decides — its
// cells, its owner (the importer, or a KAM of the team), an earlier row of the same account (by
// external id, else by normalised name) — and rejected with every issue it has; a good row is
// then skipped when the account is in kamflow already, else imported. So each run of a file gives
// its bad rows the same verdicts, and a good row is imported once.
func (x *importContext) planAccounts(p *importPlan, rows iter.Seq[sheet.Row]) {
	seenExt, seenName := map[string]int{}, map[string]int{}
	now := x.imp.CreatedAt
	for r := range rows {
		if ext := x.h.Value(r.Cells, "external_id"); ext != "" {
			// An account created by hand may have a name no import would take.
			if k, ok := x.byID[ext]; ok {
				p.skip(r.Line, x.column("external_id"), "external_id", k.ID, fmt.Sprintf("account %s is already in kamflow", k.Name))
				continue
			}
		}
		rec, issues := kamflow.ParseAccountRow(x.h, r.Line, r.Cells)
		owner := ""
		if !hasIssue(issues, "owner") {
			var is *kamflow.ImportIssue
			if owner, is = x.owner(r.Line, rec.Owner); is != nil {
				issues = append(issues, *is)
			}
		}
		norm := kamflow.NormName(rec.Name)
		if l, ok := seenExt[rec.ExternalID]; ok && rec.ExternalID != "" {
			issues = append(issues, x.issue(r.Line, "external_id", kamflow.IssueDuplicate, "the same account as line %d (external id %s)", l, rec.ExternalID))
		} else if l, ok := seenName[norm]; ok && norm != "" {
			issues = append(issues, x.issue(r.Line, "name", kamflow.IssueDuplicate, "the same account as line %d (%s)", l, rec.Name))
		}
		if len(issues) > 0 {
			p.reject(r.Line, r.Cells, sortIssues(x.h, issues))
			continue
		}
		seenName[norm] = r.Line
		if rec.ExternalID != "" {
			seenExt[rec.ExternalID] = r.Line
		}
		id := x.derivedID("account", "name:"+norm)
		if rec.ExternalID != "" {
			id = x.derivedID("account", "ext:"+rec.ExternalID)
		}
		if k, ok := x.byID[id]; ok {
			p.skip(r.Line, x.column("name"), "name", k.ID, fmt.Sprintf("account %s is already in kamflow", k.Name))
			continue
		}
		if k, ok := x.byName[norm]; ok {
			p.skip(r.Line, x.column("name"), "name", k.ID, fmt.Sprintf("an account named %s is already in kamflow", k.Name))
			continue
		}
		p.keepCells(r.Line, r.Cells)
		p.accounts = append(p.accounts, kamflow.ImportedAccount{Line: r.Line, Account: &kamflow.Account{
			ID: id, Name: rec.Name, Industry: rec.Industry, Region: rec.Region, Address: rec.Address, Owner: owner,
			TeamID: x.imp.TeamID, Notes: rec.Notes, CreatedAt: now, UpdatedAt: now,
		}})
	}
}

// sortIssues orders a row's issues by the file's columns, so that a report reads left to right.
func sortIssues(h *kamflow.ImportHeader, issues []kamflow.ImportIssue) []kamflow.ImportIssue {
	pos := func(is kamflow.ImportIssue) int {
		for i, c := range h.Columns {
			if c.Column == is.Column && is.Column != "" {
				return i
			}
		}
		return len(h.Columns) // an extra cell, the account …
	}
	slices.SortStableFunc(issues, func(a, b kamflow.ImportIssue) int { return pos(a) - pos(b) })
	return issues
}

func hasIssue(issues []kamflow.ImportIssue, field string) bool {
	for _, is := range issues {
		if is.Field == field {
			return true
		}
	}
	return false
}

// column is the file's head of a field.
func (x *importContext) column(field string) string { return x.issue(0, field, "", "").Column }

// planDeals sorts deal rows as planAccounts does: a row of a kamflow export is present; any other
// row is checked for its cells, the account it names (one of the team's), its owner and an earlier
// row of the same deal (by external id, else by account and title), then skipped when the deal is
// in kamflow already. A deal still to open must be open before delivery: a won or closed deal
// cannot start its workflow at a sales stage. A deal past development the importer may not bring
// in alone (Actor.ImportNeedsApproval) is held for a director, unless the rows are held rows a
// director approved.
func (x *importContext) planDeals(ctx context.Context, p *importPlan, rows iter.Seq[sheet.Row]) error {
	deals, err := x.i.Imports.TeamDeals(ctx, x.imp.TeamID)
	if err != nil {
		return err
	}
	byID, byTitle := map[string]kamflow.DealKey{}, map[string]kamflow.DealKey{}
	for _, d := range deals {
		byID[d.ID] = d
		byTitle[d.AccountID+"\x00"+kamflow.NormName(d.Title)] = d
	}
	seenExt, seenTitle := map[string]int{}, map[string]int{}
	for r := range rows {
		if ext := x.h.Value(r.Cells, "external_id"); ext != "" {
			if k, ok := byID[ext]; ok {
				p.skip(r.Line, x.column("external_id"), "external_id", k.ID, fmt.Sprintf("deal %s is already in kamflow", k.Title))
				continue
			}
		}
		rec, issues := kamflow.ParseDealRow(x.h, r.Line, r.Cells)
		acc, issues := x.rowAccount(r.Line, issues, rec.AccountRef, rec.Account)
		owner := ""
		if !hasIssue(issues, "owner") {
			var is *kamflow.ImportIssue
			if owner, is = x.owner(r.Line, rec.Owner); is != nil {
				issues = append(issues, *is)
			}
		}
		titleKey := acc.ID + "\x00" + kamflow.NormName(rec.Title)
		if l, ok := seenExt[rec.ExternalID]; ok && rec.ExternalID != "" {
			issues = append(issues, x.issue(r.Line, "external_id", kamflow.IssueDuplicate, "the same deal as line %d (external id %s)", l, rec.ExternalID))
		} else if l, ok := seenTitle[titleKey]; ok && rec.ExternalID == "" && acc.ID != "" {
			issues = append(issues, x.issue(r.Line, "title", kamflow.IssueDuplicate, "the same deal as line %d (%s on %s)", l, rec.Title, acc.Name))
		}
		if len(issues) > 0 {
			p.reject(r.Line, r.Cells, sortIssues(x.h, issues))
			continue
		}
		id := x.derivedID("deal", "title:"+titleKey)
		if rec.ExternalID != "" {
			seenExt[rec.ExternalID] = r.Line
			id = x.derivedID("deal", "ext:"+rec.ExternalID)
		} else {
			seenTitle[titleKey] = r.Line
		}
		if k, ok := byID[id]; ok {
			p.skip(r.Line, x.column("title"), "title", k.ID, fmt.Sprintf("deal %s is already in kamflow", k.Title))
			continue
		}
		if k, ok := byTitle[titleKey]; ok && rec.ExternalID == "" {
			p.skip(r.Line, x.column("title"), "title", k.ID, fmt.Sprintf("a deal %s on %s is already in kamflow", k.Title, acc.Name))
			continue
		}
		if is := rec.NotOpen(x.h); is != nil {
			p.reject(r.Line, r.Cells, []kamflow.ImportIssue{*is})
			continue
		}
		in := kamflow.NewDealInput{AccountID: acc.ID, Title: rec.Title, Value: rec.Value, Currency: rec.Currency,
			ExpectedClose: rec.ExpectedClose, Owner: owner, TeamID: x.imp.TeamID}
		if err := in.Validate(); err != nil {
			field := ""
			var de *kamflow.Error
			if errors.As(err, &de) {
				field, _ = de.Details["field"].(string)
			}
			p.reject(r.Line, r.Cells, []kamflow.ImportIssue{x.issue(r.Line, field, kamflow.EINVALID, "%s", kamflow.ErrorMessage(err))})
			continue
		}
		if x.approval == nil && x.me.ImportNeedsApproval(x.imp.TeamID, rec.Stage) {
			p.hold(r.Line, r.Cells, x.issue(r.Line, "stage", kamflow.IssueNeedsApproval,
				"%s is at the %s stage, past development: its key nodes before (assessment, bid, margin approval) count as passed, so a sales director of the team approves its import",
				rec.Title, rec.Stage))
			continue
		}
		p.deals = append(p.deals, plannedDeal{line: r.Line, cells: r.Cells, id: id, in: in, stage: rec.Stage})
	}
	return nil
}

// planContacts sorts contact rows as planAccounts does: a row of a kamflow export (its id a
// contact's) is present; any other row is checked for its cells, the account it names and an
// earlier row of the same person (by external id, else by account, name and phone or e-mail:
// SamePerson), and then skipped when the person is in kamflow already.
func (x *importContext) planContacts(ctx context.Context, p *importPlan, rows iter.Seq[sheet.Row]) error {
	existing, err := x.i.Imports.TeamContacts(ctx, x.imp.TeamID)
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
		acc, issues := x.rowAccount(r.Line, issues, rec.AccountRef, rec.Account)
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
		p.keepCells(r.Line, r.Cells)
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

// heldHeader is the head of the file an import read, as its held rows are read again.
func heldHeader(imp *kamflow.Import) (*kamflow.ImportHeader, error) {
	heads := make([]string, len(imp.Columns))
	for i, c := range imp.Columns {
		heads[i] = c.Column
	}
	h, err := kamflow.MapImportHeader(imp.Kind, heads)
	if err != nil {
		return nil, kamflow.Errorf(kamflow.ECONFLICT, "the held rows of import %s cannot be read again (%s): reject it and import the file again",
			imp.ID, kamflow.ErrorMessage(err))
	}
	h.SerialDates, h.Date1904 = imp.Format == string(sheet.XLSX), imp.Date1904
	return h, nil
}
