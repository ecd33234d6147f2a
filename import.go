package kamflow

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Imports bring a team's accounts, contacts and open deals in from spreadsheets (CSV or XLSX).
// This file holds what an import is, which columns each kind of file has (heads in English and
// Chinese), and how one row's cells become a record or a list of problems, each with the row's
// line, the column and a stable code. Reading the file itself (encodings, XLSX) is the sheet
// package's; looking rows up against the database and committing them, package importer's.

// ImportKind is what a file holds.
type ImportKind string

// The kinds of import (and export).
const (
	ImportAccounts ImportKind = "accounts"
	ImportContacts ImportKind = "contacts"
	ImportDeals    ImportKind = "deals"
)

// ImportKinds lists the kinds.
var ImportKinds = []ImportKind{ImportAccounts, ImportContacts, ImportDeals}

// ParseImportKind parses a kind's name.
func ParseImportKind(s string) (ImportKind, error) {
	k := ImportKind(strings.ToLower(strings.TrimSpace(s)))
	for _, x := range ImportKinds {
		if k == x {
			return k, nil
		}
	}
	return "", Errorf(EINVALID, "kind %q must be one of accounts, contacts, deals", s).WithDetail("field", "kind")
}

// ImportStatus is where an import stands. An import is pending from its upload until its rows are
// planned (read and checked, on the worker); a dry run is then done. A real run is running while
// its rows are committed, and then done, or failed when it had to stop (Error says why; the rows
// committed so far stay, and running the same file again skips them), or cancelled when its
// importer (or an admin) stopped it: the rows committed so far stay, the rest are not_imported. A
// KAM's run holding deals past development (Held) is awaiting_approval once its other rows are
// committed, until a director of its team approves it (it runs again, for the held rows, and is
// done) or rejects it (done, the held rows rejected).
type ImportStatus string

// Import statuses.
const (
	ImportPending   ImportStatus = "pending"
	ImportRunning   ImportStatus = "running"
	ImportDone      ImportStatus = "done"
	ImportFailed    ImportStatus = "failed"
	ImportAwaiting  ImportStatus = "awaiting_approval"
	ImportCancelled ImportStatus = "cancelled"
)

// The limits of an import file: a file past one is refused whole, at the first excess, with the
// limit and where it was passed (too_large). What a file may unpack to and hold is bounded as
// well as its bytes, so that what an import costs follows from its rows.
const (
	MaxImportBytes   = 20 << 20 // 20 MiB
	MaxImportRows    = 100_000  // data rows, not counting the head and blank rows
	MaxImportColumns = 64       // how far right a row's values may go: the widest kind has 20 columns
	// MaxImportCellChars is the characters of one cell: a spreadsheet's own limit.
	MaxImportCellChars = 32_767
	// MaxImportText is the bytes of text of all the cells together: a workbook's shared strings
	// let a small file repeat a long text in every cell.
	MaxImportText = 64 << 20
	// MaxImportUnpacked is what an XLSX workbook may unpack to, and MaxImportUnpackRatio how many
	// times its own size (once past 16 MiB): a zip bomb is refused from its directory.
	MaxImportUnpacked    = 160 << 20
	MaxImportUnpackRatio = 100
)

// What a dry run keeps of the rows it will not import: the report lists the first
// MaxReportIssues issues, and the rows they are of are stored; the first DryRunSampleRows
// rejected rows (and at most DryRunSampleBytes of their text) keep their cells, a sample of its
// rejected file. The others are counted. A real run keeps every row for its rejected file.
const (
	MaxReportIssues   = 10_000
	DryRunSampleRows  = 100
	DryRunSampleBytes = 1 << 20
)

// Import is one file brought in, or tried in a dry run: its counts and how far it got. Total is
// the file's data rows; Processed those dealt with so far, each of which was Imported (created;
// in a dry run, would be), Skipped (already in kamflow: not an error), Rejected (with the
// reasons in its issues) or NotImported (valid, but its run was cancelled or stopped before it).
// Nothing is dropped without being counted and reported.
type Import struct {
	ID     string       `json:"id"`
	Kind   ImportKind   `json:"kind"`
	DryRun bool         `json:"dry_run"`
	Status ImportStatus `json:"status"`
	// FileName is the uploaded file's name; Format is csv or xlsx; Encoding is how a CSV file's
	// text was read (utf-8, utf-8-bom, utf-16le, utf-16be or gb18030), "" for XLSX.
	FileName string `json:"file_name"`
	Format   string `json:"format"`
	Encoding string `json:"encoding,omitempty"`
	// Columns are the file's columns and the fields they fed.
	Columns   []ImportColumn `json:"columns"`
	TeamID    string         `json:"team_id"`
	CreatedBy string         `json:"created_by"`
	Total     int            `json:"total"`
	Processed int            `json:"processed"`
	Imported  int            `json:"imported"`
	Skipped   int            `json:"skipped"`
	Rejected  int            `json:"rejected"`
	// NotImported are the rows a cancelled (or stopped) run did not come to.
	NotImported int `json:"not_imported"`
	// Held are the rows of deals past development in a KAM's import: they wait for a director of
	// the team (outcome held) and are not processed until one decides. Approval is the decision.
	Held     int             `json:"held"`
	Approval *ImportApproval `json:"approval,omitempty"`
	// Date1904 says the workbook counts its dates from 1904: what reading its held rows again
	// needs.
	Date1904 bool `json:"-"`
	// Error is why a failed import stopped.
	Error      string     `json:"error,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
}

// ImportApproval is a director's decision on the deals past development an import holds.
type ImportApproval struct {
	// Decision is approved or rejected.
	Decision string    `json:"decision"`
	By       string    `json:"by"`
	At       time.Time `json:"at"`
	Reason   string    `json:"reason,omitempty"`
}

// The decisions on an import's held rows.
const (
	ImportApproved = "approved"
	ImportRejected = "rejected"
)

// ImportDecisionInput is the body of POST /imports/{id}/approve and /reject: a reason, required to
// reject (the KAM reads it on each rejected row).
type ImportDecisionInput struct {
	Reason string `json:"reason"`
}

// Validate checks a decision's reason: required to reject, and no longer than a note.
func (in ImportDecisionInput) Validate(approve bool) error {
	r := strings.TrimSpace(in.Reason)
	switch {
	case !approve && r == "":
		return Errorf(EINVALID, "a reason is required to reject an import: the KAM reads it on each rejected row").WithDetail("field", "reason")
	case utf8.RuneCountInString(r) > maxText:
		return Errorf(EINVALID, "the reason is longer than %d characters", maxText).WithDetail("field", "reason")
	}
	return nil
}

// Kinds of the in-app notifications of imports.
const (
	// NoticeImportApproval tells a team's directors that a KAM's import holds deals past
	// development for their approval.
	NoticeImportApproval = "import_approval"
	// NoticeImportDecision tells the KAM a director's decision on their held rows.
	NoticeImportDecision = "import_decision"
)

// ImportColumn is one column of a file: its head as written, and the field it feeds ("" for a
// column that kamflow writes in its exports and ignores on import, such as created_at).
type ImportColumn struct {
	Column string `json:"column"`
	Field  string `json:"field"`
}

// ImportOutcome is what became of a row that was not imported.
type ImportOutcome string

// Row outcomes.
const (
	// OutcomeRejected rows have at least one problem and were not imported; they make up the
	// rejected file.
	OutcomeRejected ImportOutcome = "rejected"
	// OutcomeSkipped rows are already in kamflow (from an earlier run, or created by hand):
	// importing them again would duplicate them.
	OutcomeSkipped ImportOutcome = "skipped"
	// OutcomeHeld rows are deals past development in a KAM's import: they wait for a director of
	// the team to approve their import (see Actor.ImportNeedsApproval).
	OutcomeHeld ImportOutcome = "held"
	// OutcomeNotImported rows are valid rows a run did not come to: it was cancelled (or stopped).
	// They keep their cells, so they are in the rejected file, to import again.
	OutcomeNotImported ImportOutcome = "not_imported"
	// OutcomePending rows are planned for import and not committed yet: what they create is their
	// Record. A row committed leaves no pending row behind (an imported row no row at all), so
	// the pending rows are what is left of a run, whatever process runs it.
	OutcomePending ImportOutcome = "pending"
)

// Row issue codes. They are stable: the UI and clients key on them.
const (
	IssueRequired   = "required"        // a required cell is empty
	IssueTooLong    = "too_long"        // longer than the field allows
	IssueFormula    = "formula"         // starts like a spreadsheet formula (= + - @); never stored
	IssueText       = "invalid_text"    // holds a control character
	IssueDate       = "bad_date"        // not a date (YYYY-MM-DD, or an Excel date)
	IssueMoney      = "bad_money"       // not an amount
	IssueNumber     = "bad_number"      // not a whole number in range
	IssueCurrency   = "bad_currency"    // not an ISO 4217 code
	IssueEmail      = "bad_email"       // not an e-mail address
	IssueStage      = "unknown_stage"   // not one of the six stages
	IssueStatus     = "unknown_status"  // not a deal status
	IssueNotOpen    = "not_open"        // a won, delivered or closed deal: only open deals are imported
	IssueRole       = "unknown_role"    // not a buying-center role
	IssueStance     = "unknown_stance"  // not supporter, neutral or opponent
	IssueOwner      = "unknown_owner"   // not a KAM of the import's team
	IssueAccount    = "unknown_account" // no such account in the import's team
	IssueManager    = "unknown_manager" // reports_to names no one (or several) of the account, or makes a circle
	IssueDuplicate  = "duplicate"       // the same record as an earlier row of the file
	IssueExtraCells = "extra_cells"     // a value in a column without a head
	IssueExists     = "exists"          // already in kamflow: skipped, not an error
	IssueFailed     = "failed"          // valid, but creating it failed (a deal's workflow refused it)
	// IssueNeedsApproval is a held row's: a deal past development, imported by a KAM, waits for
	// a director of the team.
	IssueNeedsApproval = "needs_approval"
	// IssueNotApproved rejects a held row: the director rejected the import of its deal.
	IssueNotApproved = "not_approved"
	// IssueCancelled is a not-imported row's: the run was cancelled before it.
	IssueCancelled = "cancelled"
	// IssueStopped is a not-imported row's: the run stopped (failed) before it.
	IssueStopped = "stopped"
)

// ImportIssue is one problem of one row: its line as the user sees it in the file (1-based, the
// head being a line too; for XLSX the sheet's row number), the column by its head in the file
// (and the field it feeds), a stable code and a message.
type ImportIssue struct {
	Line    int    `json:"line"`
	Column  string `json:"column,omitempty"`
	Field   string `json:"field,omitempty"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// ImportRow is a row that was not imported: rejected with its issues, or skipped as already
// present (EntityID is then the record it matched). Cells are the row as it was in the file,
// kept for the rejected file.
type ImportRow struct {
	Line     int           `json:"line"`
	Outcome  ImportOutcome `json:"outcome"`
	EntityID string        `json:"entity_id,omitempty"`
	Issues   []ImportIssue `json:"issues"`
	Cells    []string      `json:"-"`
	// Record is a pending row's record to create, encoded by the planner (JSON).
	Record []byte `json:"-"`
}

// Reason joins the row's issues for one cell of the rejected file: "column: message; …".
func (r ImportRow) Reason() string {
	parts := make([]string, len(r.Issues))
	for i, is := range r.Issues {
		parts[i] = is.Message
		if is.Column != "" {
			parts[i] = is.Column + ": " + is.Message
		}
	}
	return strings.Join(parts, "; ")
}

// ImportProgress is an import's counts at some point of its run.
type ImportProgress struct {
	Processed int
	Imported  int
	Skipped   int
	Rejected  int
	Held      int
	// NotImported are the rows a cancelled or stopped run did not come to.
	NotImported int
}

// Progress is the import's counts.
func (imp *Import) Progress() ImportProgress {
	return ImportProgress{Processed: imp.Processed, Imported: imp.Imported, Skipped: imp.Skipped, Rejected: imp.Rejected,
		Held: imp.Held, NotImported: imp.NotImported}
}

// ImportFilter selects imports, newest first.
type ImportFilter struct {
	// Viewer limits the list to the imports the actor may read (see CanReadImport; nil: all).
	Viewer *Actor
	// Status limits the list to imports of that status ("" for any).
	Status ImportStatus
	Limit  int
}

// CanReadImport reports whether the actor may read an import's report and rejected rows: whoever
// ran it, the directors of its team, and admins (who look after imports that went wrong). Anyone
// else is told it does not exist.
func (a Actor) CanReadImport(imp *Import) bool {
	switch a.Role {
	case UserAdmin, UserSystem:
		return true
	case UserDirector:
		return imp.CreatedBy == a.ID || a.inTeam(imp.TeamID)
	}
	return imp.CreatedBy == a.ID
}

// ImportNeedsApproval reports whether an open deal the actor imports into the team at stage st
// waits for a director: a deal past development comes in with the key nodes before its stage
// passed — the assessment, the bid, the margin approval — which only a sales director of the team
// may let it skip (as a forced advance would). A director of the team imports it at once.
func (a Actor) ImportNeedsApproval(team string, st Stage) bool {
	if st.Index() <= Development.Index() {
		return false
	}
	return a.Role != UserDirector || !a.inTeam(team)
}

// CanDecideImport reports whether the actor may approve or reject the deals an import holds: a
// sales director of its team, and no one else (an admin is not a salesperson).
func (a Actor) CanDecideImport(imp *Import) bool {
	return a.Role == UserDirector && a.inTeam(imp.TeamID)
}

// ImportedAccount is an account to create with the line it came from.
type ImportedAccount struct {
	Line    int
	Account *Account
}

// ImportedContact is a contact to create with the line it came from.
type ImportedContact struct {
	Line    int
	Contact *Contact
}

// AccountKey is what an import needs to know of an existing account: to find a duplicate by
// name, and the account a deal or contact row refers to.
type AccountKey struct {
	ID    string
	Name  string
	Owner string
}

// DealKey is what an import needs to know of an existing deal to find a duplicate.
type DealKey struct {
	ID        string
	AccountID string
	Title     string
}

// ContactKey is what an import needs to know of an existing contact to find a duplicate.
type ContactKey struct {
	ID        string
	AccountID string
	Name      string
	Phone     string
	Email     string
}

// SamePerson reports whether two contacts of one account are the same person: the same
// normalised name, and no phone number or e-mail address that tells them apart (two 王工 with
// different mobiles are two people; one without a number is either).
func SamePerson(a, b ContactKey) bool {
	if a.AccountID != b.AccountID || NormName(a.Name) != NormName(b.Name) {
		return false
	}
	pa, pb := phoneDigits(a.Phone), phoneDigits(b.Phone)
	ea, eb := strings.ToLower(a.Email), strings.ToLower(b.Email)
	return (pa == "" || pb == "" || pa == pb) && (ea == "" || eb == "" || ea == eb)
}

// phoneDigits is a phone number's digits: "+86 21-5555 1234" and "8621 55551234" are one number.
func phoneDigits(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, foldWidth(s))
}

// ImportService runs imports: each is a workflow on the worker (intent first: the workflow is
// started before the record it works on is stored, and waits a while for it), which plans the
// stored file's rows, commits them in batches and finishes the import. run is "" for an
// import's first run and "approved" for the run of its held rows after a director's approval;
// by is whose rows they are.
type ImportService interface {
	StartImport(ctx context.Context, importID, run string, by Actor) error
	// CancelImport asks the import's running run to stop after its current batch: conflict when
	// none is running.
	CancelImport(ctx context.Context, importID string) error
}

// ImportStore keeps imports, commits their rows and reads what exports write. A run's progress
// is the store's: each batch commits its records, settles its pending rows and counts them in one
// transaction, so that a run taken up again (a worker killed) carries on from the rows still
// pending, each row counted once.
type ImportStore interface {
	// CreateImport stores a new import (pending, no rows) with its file's bytes, in one
	// transaction; conflict when the ID is taken.
	CreateImport(ctx context.Context, imp *Import, file []byte) error
	Import(ctx context.Context, id string) (*Import, error) // not_found when missing
	// ImportFile is the file an import was uploaded with: not_found once its run is over.
	ImportFile(ctx context.Context, id string) ([]byte, error)
	Imports(ctx context.Context, f ImportFilter) ([]*Import, error)
	// ImportRows calls fn with the import's rows of the outcome ("" for every outcome but
	// pending), by line.
	ImportRows(ctx context.Context, id string, outcome ImportOutcome, fn func(ImportRow) error) error
	// PlanImport records a pending import's plan in one transaction: its held rows (if any) are
	// replaced by rows — every row's fate: rejected, skipped, held, or pending with its record —
	// and the import takes the counts p and status. Conflict when the import is not pending (it
	// was planned already).
	PlanImport(ctx context.Context, importID string, p ImportProgress, status ImportStatus, rows []ImportRow, now time.Time) error
	// PendingImportRows lists up to limit of the import's pending rows after line, by line.
	PendingImportRows(ctx context.Context, importID string, after, limit int) ([]ImportRow, error)
	// ImportAccounts commits a batch of an import's pending rows of accounts in one transaction:
	// each row still pending is settled — its account created, with an audit entry, unless one
	// with its ID exists (the row is then skipped) — and counted. A row no longer pending
	// (settled by an earlier attempt) is left as it is. The accounts carry no value inputs, so
	// no value score changes.
	ImportAccounts(ctx context.Context, importID string, batch []ImportedAccount, actor string, now time.Time) error
	// SettleImportRows settles pending rows whose records were created elsewhere (deals, by their
	// workflows), in one transaction: of lines, those still pending are no longer; rows are those
	// of them that were not imported (skipped, rejected), the others count as imported.
	SettleImportRows(ctx context.Context, importID string, lines []int, rows []ImportRow, now time.Time) error
	// FinishImport ends a run: done, awaiting_approval, failed with why, or cancelled. Its rows
	// still pending become not_imported with the issue rest (its line set to each row's) and are
	// counted; the file is dropped once the import is over (not awaiting approval).
	FinishImport(ctx context.Context, importID string, status ImportStatus, why string, rest ImportIssue, now time.Time) error
	// TeamAccounts lists the accounts of a team.
	TeamAccounts(ctx context.Context, teamID string) ([]AccountKey, error)
	// ImportContacts is ImportAccounts for contacts (their accounts exist).
	ImportContacts(ctx context.Context, importID string, batch []ImportedContact, actor string, now time.Time) error
	// TeamDeals lists the deals of a team.
	TeamDeals(ctx context.Context, teamID string) ([]DealKey, error)
	// TeamContacts lists the contacts of a team's accounts.
	TeamContacts(ctx context.Context, teamID string) ([]ContactKey, error)
	// DecideImport records a director's decision on an import awaiting approval, in one
	// transaction: the import takes the status and counts p, its held rows are replaced by rows
	// (the rejected rows of a rejection; none on an approval: the import is then pending, and its
	// approved run plans the held rows). It is a conflict when the import is not awaiting
	// approval (decided already, by another director).
	DecideImport(ctx context.Context, importID string, a ImportApproval, status ImportStatus, p ImportProgress, rows []ImportRow, now time.Time) error
	// ExportAccounts calls fn with every account the viewer may see, by name.
	ExportAccounts(ctx context.Context, viewer *Actor, fn func(*Account) error) error
	// ExportDeals calls fn with every deal the viewer may see, oldest first.
	ExportDeals(ctx context.Context, viewer *Actor, fn func(*Deal) error) error
	// ExportContacts calls fn with the contacts of every account the viewer may see, by account
	// and name (without their deal links).
	ExportContacts(ctx context.Context, viewer *Actor, fn func(*Contact) error) error
}

// Fields and heads.

// ImportField is one column of an import file: the field's name (its English head), its Chinese
// head, other heads accepted for it, and whether a row must fill it. A read-only field is one
// that exports write (created_at, win_probability …): accepted in a file and ignored, so that an
// export can be imported again.
type ImportField struct {
	Name     string
	ZH       string
	Aliases  []string
	Required bool
	ReadOnly bool
}

// Heads accepted in every file: the two columns the rejected file adds, so that a corrected
// rejected file imports as it is.
var rejectedFileFields = []ImportField{
	{Name: "import_line", ZH: "导入行号", ReadOnly: true},
	{Name: "import_errors", ZH: "导入问题", ReadOnly: true},
}

// ImportFields are the columns of each kind of file, in template order.
var ImportFields = map[ImportKind][]ImportField{
	ImportAccounts: {
		{Name: "external_id", ZH: "外部编号", Aliases: []string{"id", "编号", "客户编号", "account_id", "客户id"}},
		{Name: "name", ZH: "客户名称", Required: true, Aliases: []string{"account", "account_name", "客户", "名称", "公司名称", "单位名称"}},
		{Name: "industry", ZH: "行业", Aliases: []string{"所属行业"}},
		{Name: "region", ZH: "地区", Aliases: []string{"区域", "省份", "所在地区"}},
		{Name: "address", ZH: "地址", Aliases: []string{"详细地址", "公司地址"}},
		{Name: "owner", ZH: "负责人", Aliases: []string{"客户经理", "大客户经理", "kam"}},
		{Name: "notes", ZH: "备注", Aliases: []string{"note", "remarks", "说明"}},
		{Name: "team_id", ZH: "团队", ReadOnly: true},
		{Name: "created_at", ZH: "创建时间", ReadOnly: true},
		{Name: "updated_at", ZH: "更新时间", ReadOnly: true},
	},
	ImportContacts: {
		{Name: "external_id", ZH: "外部编号", Aliases: []string{"id", "编号", "联系人编号", "contact_id"}},
		{Name: "account_id", ZH: "客户编号", Aliases: []string{"account_external_id", "客户id", "客户外部编号"}},
		{Name: "account", ZH: "客户名称", Aliases: []string{"account_name", "客户", "customer"}},
		{Name: "name", ZH: "姓名", Required: true, Aliases: []string{"联系人", "联系人姓名", "contact"}},
		{Name: "title", ZH: "职务", Aliases: []string{"职位", "job_title"}},
		{Name: "department", ZH: "部门"},
		{Name: "role", ZH: "角色", Aliases: []string{"采购角色"}},
		{Name: "stance", ZH: "态度", Aliases: []string{"立场"}},
		{Name: "influence", ZH: "影响力"},
		{Name: "relationship", ZH: "关系", Aliases: []string{"关系强度"}},
		{Name: "phone", ZH: "电话", Aliases: []string{"手机", "手机号", "联系电话", "mobile"}},
		{Name: "email", ZH: "邮箱", Aliases: []string{"e-mail", "电子邮箱", "mail"}},
		{Name: "notes", ZH: "备注", Aliases: []string{"note", "remarks", "说明"}},
		{Name: "reports_to", ZH: "上级", Aliases: []string{"manager", "直属上级", "汇报对象"}},
		{Name: "last_contact_at", ZH: "最近联系", ReadOnly: true},
		{Name: "created_at", ZH: "创建时间", ReadOnly: true},
		{Name: "updated_at", ZH: "更新时间", ReadOnly: true},
	},
	ImportDeals: {
		{Name: "external_id", ZH: "外部编号", Aliases: []string{"id", "编号", "商机编号", "deal_id", "deal_no", "商机id"}},
		{Name: "account_id", ZH: "客户编号", Aliases: []string{"account_external_id", "客户id", "客户外部编号"}},
		{Name: "account", ZH: "客户名称", Aliases: []string{"account_name", "客户", "customer"}},
		{Name: "title", ZH: "商机名称", Required: true, Aliases: []string{"商机", "项目", "项目名称", "deal"}},
		{Name: "value", ZH: "金额", Required: true, Aliases: []string{"amount", "商机金额", "预计金额"}},
		{Name: "currency", ZH: "币种", Aliases: []string{"货币"}},
		{Name: "expected_close", ZH: "预计成交日期", Aliases: []string{"预计签约日期", "预计成交", "close_date"}},
		{Name: "owner", ZH: "负责人", Aliases: []string{"客户经理", "销售", "kam"}},
		{Name: "stage", ZH: "阶段", Required: true, Aliases: []string{"销售阶段", "当前阶段"}},
		{Name: "status", ZH: "状态", Aliases: []string{"商机状态"}},
		{Name: "team_id", ZH: "团队", ReadOnly: true},
		{Name: "grade", ZH: "等级", ReadOnly: true},
		{Name: "win_probability", ZH: "赢单率", ReadOnly: true},
		{Name: "stalled", ZH: "停滞", ReadOnly: true},
		{Name: "forced", ZH: "强推", ReadOnly: true},
		{Name: "imported", ZH: "导入", ReadOnly: true},
		{Name: "created_at", ZH: "创建时间", ReadOnly: true},
		{Name: "updated_at", ZH: "更新时间", ReadOnly: true},
	},
}

// normHead is the form heads are compared in: lower case, full-width letters folded to their
// ASCII forms, a parenthesised note at the end ("金额（元）", "value (CNY)") and the required
// marker "*" dropped, and no spaces, underscores or hyphens ("Expected Close" is expected_close).
func normHead(s string) string {
	s = strings.ToLower(foldWidth(strings.TrimSpace(s)))
	if i := strings.LastIndex(s, "("); i > 0 && strings.HasSuffix(s, ")") {
		s = s[:i]
	}
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || r == '_' || r == '-' || r == '*' || r == ':' {
			return -1
		}
		return r
	}, s)
}

// foldWidth maps full-width ASCII (Ａ, １, （) to ASCII and the ideographic space to a space, as
// Chinese input methods produce them.
func foldWidth(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 0xFF01 && r <= 0xFF5E:
			return r - 0xFF01 + '!'
		case r == 0x3000:
			return ' '
		}
		return r
	}, s)
}

// ImportHeader is a file's head row mapped onto a kind's fields.
type ImportHeader struct {
	Kind    ImportKind
	Columns []ImportColumn
	// Date1904 says that the file's Excel dates count from 1904 (old Mac workbooks).
	Date1904 bool
	// SerialDates says that a bare number in a date column is an Excel date (XLSX cells); in a
	// CSV file it is refused as ambiguous.
	SerialDates bool
	field       map[string]int // field → column index
}

// MapImportHeader maps the head row of a file of the given kind. It refuses (invalid, with
// details.reason) a head without a required column, with a column it does not know — a typo
// would otherwise drop that column's data without a word — or with two columns for one field.
func MapImportHeader(kind ImportKind, head []string) (*ImportHeader, error) {
	fields, ok := ImportFields[kind]
	if !ok {
		return nil, Errorf(EINVALID, "unknown import kind %q", kind)
	}
	byHead := map[string]ImportField{}
	for _, f := range append(append([]ImportField{}, fields...), rejectedFileFields...) {
		for _, h := range append([]string{f.Name, f.ZH}, f.Aliases...) {
			byHead[normHead(h)] = f
		}
	}
	h := &ImportHeader{Kind: kind, field: map[string]int{}}
	var unknown, dup []string
	for i, raw := range head {
		col := strings.TrimSpace(raw)
		if col == "" {
			h.Columns = append(h.Columns, ImportColumn{})
			continue
		}
		f, ok := byHead[normHead(col)]
		switch {
		case !ok:
			unknown = append(unknown, col)
		case f.ReadOnly:
		case hasKey(h.field, f.Name):
			dup = append(dup, col)
		default:
			h.field[f.Name] = i
		}
		name := f.Name
		if f.ReadOnly {
			name = ""
		}
		h.Columns = append(h.Columns, ImportColumn{Column: col, Field: name})
	}
	if len(unknown) > 0 {
		return nil, Errorf(EINVALID, "the file has columns kamflow does not know: %s (the %s template lists the columns)",
			strings.Join(unknown, ", "), kind).WithDetail("reason", "unknown_columns").WithDetail("unknown", unknown).
			WithDetail("line", 0)
	}
	if len(dup) > 0 {
		return nil, Errorf(EINVALID, "the file has two columns for one field: %s", strings.Join(dup, ", ")).
			WithDetail("reason", "duplicate_columns").WithDetail("duplicate", dup)
	}
	var missing []string
	for _, f := range fields {
		if f.Required && !hasKey(h.field, f.Name) {
			missing = append(missing, f.Name+" ("+f.ZH+")")
		}
	}
	if kind != ImportAccounts && !hasKey(h.field, "account") && !hasKey(h.field, "account_id") {
		missing = append(missing, "account (客户名称) or account_id (客户编号)")
	}
	if len(missing) > 0 {
		return nil, Errorf(EINVALID, "the file lacks required columns: %s", strings.Join(missing, ", ")).
			WithDetail("reason", "missing_columns").WithDetail("missing", missing)
	}
	return h, nil
}

func hasKey(m map[string]int, k string) bool {
	_, ok := m[k]
	return ok
}

// Value is a row's cell of the field, trimmed and unguarded as rows read it, without any check;
// "" when the file has no such column.
func (h *ImportHeader) Value(cells []string, field string) string {
	return (&row{h: h, cells: cells}).raw(field)
}

// Has reports whether the file has a column for the field.
func (h *ImportHeader) Has(field string) bool { return hasKey(h.field, field) }

// Template returns the heads of a kind's template: its writable fields, the required ones marked
// with "*" (which the import ignores), in English or Chinese.
func Template(kind ImportKind, zh bool) []string {
	var out []string
	for _, f := range ImportFields[kind] {
		if f.ReadOnly {
			continue
		}
		h := f.Name
		if zh {
			h = f.ZH
		}
		if f.Required {
			h += "*"
		}
		out = append(out, h)
	}
	return out
}

// Rows.

// row reads one data row's cells by field and collects its issues.
type row struct {
	h      *ImportHeader
	line   int
	cells  []string
	issues []ImportIssue
}

func newRow(h *ImportHeader, line int, cells []string) *row {
	r := &row{h: h, line: line, cells: cells}
	for i, c := range cells {
		if strings.TrimSpace(c) == "" {
			continue
		}
		if i >= len(h.Columns) || h.Columns[i].Column == "" {
			r.issues = append(r.issues, ImportIssue{Line: line, Column: columnLetter(i), Code: IssueExtraCells,
				Message: fmt.Sprintf("a value (%s) in a column without a head", clip(c))})
			break
		}
	}
	return r
}

// columnLetter is a column's spreadsheet letter: A, B, …, Z, AA.
func columnLetter(i int) string {
	s := ""
	for i++; i > 0; i = (i - 1) / 26 {
		s = string(rune('A'+(i-1)%26)) + s
	}
	return "column " + s
}

// clip shortens a cell for a message.
func clip(s string) string {
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) > 40 {
		return string([]rune(s)[:40]) + "…"
	}
	return s
}

func (r *row) column(field string) string {
	if i, ok := r.h.field[field]; ok {
		return r.h.Columns[i].Column
	}
	return field
}

func (r *row) fail(field, code, format string, args ...any) {
	r.issues = append(r.issues, ImportIssue{Line: r.line, Column: r.column(field), Field: field, Code: code,
		Message: fmt.Sprintf(format, args...)})
}

// raw is the field's cell, trimmed (spaces and full-width spaces), with the guard a kamflow CSV
// export puts before a cell that starts like a formula taken off.
func (r *row) raw(field string) string {
	i, ok := r.h.field[field]
	if !ok || i >= len(r.cells) {
		return ""
	}
	return Unguard(strings.TrimFunc(r.cells[i], unicode.IsSpace))
}

// text reads a text field: required or not, at most max characters, no control characters, and
// not a formula.
func (r *row) text(field string, required bool, max int) string {
	v := r.raw(field)
	switch {
	case v == "":
		if required {
			r.fail(field, IssueRequired, "%s is required", field)
		}
	case IsFormula(v):
		r.fail(field, IssueFormula, "%q starts like a spreadsheet formula (= + - @); kamflow does not store formulas: remove the leading character", clip(v))
		return ""
	case !utf8.ValidString(v) || strings.ContainsFunc(v, badControl):
		r.fail(field, IssueText, "holds a control character")
		return ""
	case utf8.RuneCountInString(v) > max:
		r.fail(field, IssueTooLong, "is longer than %d characters", max)
		return ""
	}
	return v
}

// badControl reports a control character other than tab and line breaks, which multi-line
// cells (addresses, notes) hold.
func badControl(r rune) bool {
	return (r < 0x20 && r != '\t' && r != '\n' && r != '\r') || r == 0x7F || r == utf8.RuneError
}

// IsFormula reports whether a (trimmed) cell would run as a formula in a spreadsheet: it starts
// with = or @, or with + or - followed by anything but a number or phone number ("-5",
// "+86 21 5555 1234" are data). Such cells are refused rather than stored, so that no export
// can carry one back into a spreadsheet.
func IsFormula(s string) bool {
	if s == "" {
		return false
	}
	switch s[0] {
	case '=', '@':
		return true
	case '+', '-':
		rest := s[1:]
		return rest == "" || strings.ContainsFunc(rest, func(r rune) bool {
			return !(r >= '0' && r <= '9' || r == ' ' || r == '-' || r == '(' || r == ')' || r == '.' || r == '/')
		})
	}
	return false
}

// Unguard takes off the ' that kamflow's CSV exports (and careful spreadsheet users) put before a
// cell starting with = + - @ so that it is shown rather than run.
func Unguard(s string) string {
	if len(s) > 1 && s[0] == '\'' && strings.ContainsRune("=+-@\t\r", rune(s[1])) {
		return s[1:]
	}
	return s
}

// NormName is the form in which names are compared to find a duplicate: full-width letters
// folded, lower case, runs of spaces as one.
func NormName(s string) string {
	return strings.Join(strings.Fields(strings.ToLower(foldWidth(s))), " ")
}

// Account rows.

// AccountRecord is an account row of a file.
type AccountRecord struct {
	Line       int
	ExternalID string
	Name       string
	Industry   string
	Region     string
	Address    string
	Owner      string
	Notes      string
}

// ParseAccountRow reads an account row; any issue rejects the row.
func ParseAccountRow(h *ImportHeader, line int, cells []string) (AccountRecord, []ImportIssue) {
	r := newRow(h, line, cells)
	rec := AccountRecord{
		Line:       line,
		ExternalID: r.text("external_id", false, maxName),
		Name:       r.text("name", true, maxName),
		Industry:   r.text("industry", false, maxName),
		Region:     r.text("region", false, maxName),
		Address:    r.text("address", false, maxText),
		Owner:      r.text("owner", false, maxName),
		Notes:      r.text("notes", false, maxText),
	}
	return rec, r.issues
}

// Contact rows.

// ContactRecord is a contact row of a file. AccountID is set by the importer once the account
// is found.
type ContactRecord struct {
	Line         int
	ExternalID   string
	AccountRef   string // the account_id column: a kamflow id or an account's external id
	Account      string // the account column: the account's name
	AccountID    string
	Name         string
	Title        string
	Department   string
	Role         Role
	Stance       Stance
	Influence    int
	Relationship int
	Phone        string
	Email        string
	Notes        string
}

// Chinese names of roles and stances, as a spreadsheet may have them.
var (
	roleNames = map[string]Role{
		"决策者": RoleDecisionMaker, "影响者": RoleInfluencer, "使用者": RoleUser, "技术评估者": RoleTechnicalEvaluator,
		"采购者": RolePurchaser, "谈判者": RolePurchaser, "采购/谈判者": RolePurchaser, "执行者": RoleExecutor, "内线": RoleInsider,
	}
	stanceNames = map[string]Stance{
		"支持": StanceSupporter, "支持者": StanceSupporter, "中立": StanceNeutral, "反对": StanceOpponent, "反对者": StanceOpponent,
	}
)

// ParseContactRow reads a contact row; any issue rejects the row.
func ParseContactRow(h *ImportHeader, line int, cells []string) (ContactRecord, []ImportIssue) {
	r := newRow(h, line, cells)
	rec := ContactRecord{
		Line:       line,
		ExternalID: r.text("external_id", false, maxName),
		AccountRef: r.text("account_id", false, maxName),
		Account:    r.text("account", false, maxName),
		Name:       r.text("name", true, maxName),
		Title:      r.text("title", false, maxName),
		Department: r.text("department", false, maxName),
		Phone:      r.text("phone", false, maxName),
		Email:      r.text("email", false, maxName),
		Notes:      r.text("notes", false, maxText),
	}
	if rec.AccountRef == "" && rec.Account == "" && !r.failed("account_id", "account") {
		r.fail(pick(h, "account", "account_id"), IssueRequired, "the account is required (its name or id)")
	}
	if v := r.text("role", false, maxName); v != "" {
		if role, ok := roleNames[v]; ok {
			rec.Role = role
		} else if validRole(Role(strings.ToLower(v))) {
			rec.Role = Role(strings.ToLower(v))
		} else {
			r.fail("role", IssueRole, "%q is not a buying-center role (decision_maker, influencer, user, technical_evaluator, purchaser, executor, insider, or 决策者 …)", clip(v))
		}
	}
	rec.Stance = StanceNeutral
	if v := r.text("stance", false, maxName); v != "" {
		if st, ok := stanceNames[v]; ok {
			rec.Stance = st
		} else if st := Stance(strings.ToLower(v)); validStanceName(st) {
			rec.Stance = st
		} else {
			r.fail("stance", IssueStance, "%q is not supporter, neutral or opponent (支持, 中立, 反对)", clip(v))
		}
	}
	rec.Influence = r.scale("influence")
	rec.Relationship = r.scale("relationship")
	if rec.Email != "" && !plausibleEmail(rec.Email) {
		r.fail("email", IssueEmail, "%q is not an e-mail address", clip(rec.Email))
	}
	return rec, r.issues
}

func validStanceName(s Stance) bool {
	return s == StanceSupporter || s == StanceNeutral || s == StanceOpponent
}

// failed reports whether one of the fields already has an issue.
func (r *row) failed(fields ...string) bool {
	for _, is := range r.issues {
		for _, f := range fields {
			if is.Field == f {
				return true
			}
		}
	}
	return false
}

// pick returns the first of the fields the file has a column for.
func pick(h *ImportHeader, fields ...string) string {
	for _, f := range fields {
		if h.Has(f) {
			return f
		}
	}
	return fields[0]
}

// scale reads a 1–5 rating; empty (or 0) is unknown.
func (r *row) scale(field string) int {
	v := r.raw(field)
	if v == "" {
		return 0
	}
	n, err := strconv.Atoi(strings.TrimSuffix(v, ".0"))
	if err != nil || n < 0 || n > 5 {
		r.fail(field, IssueNumber, "%q must be a whole number from 1 to 5", clip(v))
		return 0
	}
	return n
}

func plausibleEmail(s string) bool {
	at := strings.LastIndex(s, "@")
	return at > 0 && at < len(s)-1 && strings.Contains(s[at:], ".") && !strings.ContainsAny(s, " ,;<>")
}

// Deal rows.

// DealRecord is a deal row of a file. AccountID is set by the importer once the account is
// found.
type DealRecord struct {
	Line          int
	ExternalID    string
	AccountRef    string // the account_id column: a kamflow id or an account's external id
	Account       string // the account column: the account's name
	AccountID     string
	Title         string
	Value         Money
	Currency      string
	ExpectedClose Date
	Owner         string
	Stage         Stage
	Status        Status
}

// Chinese names of the stages, as the README, the reports and spreadsheets spell them.
var stageNames = map[string]Stage{
	"开发阶段": Development, "开发": Development,
	"销售进入阶段": Entry, "销售进入": Entry, "进入": Entry, "切入": Entry,
	"提案阶段": Proposal, "提案": Proposal, "方案": Proposal,
	"投标阶段": Bid, "投标": Bid,
	"商务谈判阶段": Negotiation, "商务谈判": Negotiation, "谈判": Negotiation,
	"工程实施阶段": Delivery, "工程实施": Delivery, "交付": Delivery, "实施": Delivery,
}

var statusNames = map[string]Status{
	"进行中": StatusOpen, "跟进中": StatusOpen, "开放": StatusOpen, "赢单": StatusWon, "已签约": StatusWon,
	"丢单": StatusLost, "输单": StatusLost, "撤出": StatusWithdrawn, "放弃": StatusAbandoned, "已交付": StatusDelivered,
}

// currencyNames are the currencies a Chinese spreadsheet may name in words.
var currencyNames = map[string]string{"人民币": "CNY", "rmb": "CNY", "元": "CNY", "美元": "USD", "欧元": "EUR", "港币": "HKD", "日元": "JPY"}

// ParseDealRow reads a deal row; any issue rejects the row. The deal's stage and status are
// read whatever they are: whether the deal can be imported (it must be open) is NotOpen's
// question, asked only of a deal that is not in kamflow already.
func ParseDealRow(h *ImportHeader, line int, cells []string) (DealRecord, []ImportIssue) {
	r := newRow(h, line, cells)
	rec := DealRecord{
		Line:       line,
		ExternalID: r.text("external_id", false, maxName),
		AccountRef: r.text("account_id", false, maxName),
		Account:    r.text("account", false, maxName),
		Title:      r.text("title", true, maxName),
		Owner:      r.text("owner", false, maxName),
		Currency:   "CNY",
		Status:     StatusOpen,
	}
	if rec.AccountRef == "" && rec.Account == "" && !r.failed("account_id", "account") {
		r.fail(pick(h, "account", "account_id"), IssueRequired, "the account is required (its name or id)")
	}
	if v := r.raw("value"); v == "" {
		r.fail("value", IssueRequired, "value is required")
	} else if m, err := ParseImportMoney(v); err != nil {
		r.fail("value", IssueMoney, "%s", err)
	} else {
		rec.Value = m
	}
	if v := r.raw("currency"); v != "" {
		c := strings.ToUpper(v)
		if code, ok := currencyNames[strings.ToLower(v)]; ok {
			c = code
		}
		if len(c) != 3 || strings.Trim(c, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
			r.fail("currency", IssueCurrency, "%q is not a currency code such as CNY or USD", clip(v))
		} else {
			rec.Currency = c
		}
	}
	if v := r.raw("expected_close"); v != "" {
		if d, err := ParseImportDate(v, h.SerialDates, h.Date1904); err != nil {
			r.fail("expected_close", IssueDate, "%s", err)
		} else {
			rec.ExpectedClose = d
		}
	}
	if v := r.text("stage", true, maxName); v != "" {
		if st, ok := stageNames[v]; ok {
			rec.Stage = st
		} else if st, err := ParseStage(v); err == nil {
			rec.Stage = st
		} else {
			r.fail("stage", IssueStage, "%q is not a stage (development, entry, proposal, bid, negotiation, or 开发阶段 …)", clip(v))
		}
	}
	if v := r.text("status", false, maxName); v != "" {
		if st, ok := statusNames[v]; ok {
			rec.Status = st
		} else if st, err := ParseStatus(v); err == nil {
			rec.Status = st
		} else {
			r.fail("status", IssueStatus, "%q is not a deal status (open, or 进行中)", clip(v))
		}
	}
	return rec, r.issues
}

// NotOpen is the issue of a deal row that is not an open deal before delivery: a won deal is in
// its delivery (or done), a closed one over, and neither can start its workflow at a sales stage.
func (rec DealRecord) NotOpen(h *ImportHeader) *ImportIssue {
	r := &row{h: h, line: rec.Line}
	switch {
	case rec.Status != StatusOpen:
		r.fail("status", IssueNotOpen, "the deal is %s: only open deals are imported", rec.Status)
	case rec.Stage == Delivery:
		r.fail("stage", IssueNotOpen, "a deal in delivery has its contract signed: only open deals (development to negotiation) are imported")
	default:
		return nil
	}
	return &r.issues[0]
}

// Values.

// ParseImportMoney reads an amount as spreadsheets write it: "12000000", "12,000,000.00",
// "¥1,200,000", "1200万" (ten thousands, as Chinese figures are often given; "1.5亿", hundred
// millions, too), or an XLSX number such as "1.2E7". At most two decimals (a float's noise past
// them is rounded away), never negative. A refusal is an *AmountError. The UI reads what people
// type into money fields by this same rule (GET /amounts/parse).
func ParseImportMoney(s string) (Money, error) {
	orig := strings.TrimSpace(s)
	v := strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, foldWidth(orig))
	for _, p := range []string{"¥", "￥", "$", "€", "RMB", "CNY", "rmb"} {
		v = strings.TrimPrefix(v, p)
	}
	v = strings.TrimSuffix(v, "元")
	scale := 1.0
	if w, ok := strings.CutSuffix(v, "万"); ok {
		v, scale = w, 10000
	} else if w, ok := strings.CutSuffix(v, "亿"); ok {
		v, scale = w, 100000000
	}
	bad := func(problem string) (Money, error) { return 0, &AmountError{Text: orig, Problem: problem} }
	if v == "" {
		return bad(AmountEmpty)
	}
	if strings.Contains(v, ",") {
		// Commas group thousands: "1,200,000.00". Anything else ("12,3", a decimal comma) is
		// refused rather than read as 123.
		whole, frac, hasDot := strings.Cut(v, ".")
		groups := strings.Split(strings.TrimPrefix(whole, "-"), ",")
		for i, g := range groups {
			if g == "" || len(g) > 3 || (i > 0 && len(g) != 3) {
				return bad(AmountFormat)
			}
		}
		v = strings.ReplaceAll(whole, ",", "")
		if hasDot {
			v += "." + frac
		}
	}
	if strings.HasPrefix(v, "-") {
		return bad(AmountNegative)
	}
	if strings.ContainsAny(v, "eE") || scale != 1 {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return bad(AmountFormat)
		}
		return moneyOfFloat(orig, f*scale)
	}
	whole, frac, _ := strings.Cut(v, ".")
	if len(frac) > 2 {
		// An XLSX cell holds the float, which may print as 1234.5600000000001.
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return bad(AmountFormat)
		}
		return moneyOfFloat(orig, f)
	}
	m, err := ParseMoney(whole + "." + frac + strings.Repeat("0", 2-len(frac)))
	if err != nil {
		if strings.Contains(err.Error(), "too large") {
			return bad(AmountTooLarge)
		}
		return bad(AmountFormat)
	}
	return m, nil
}

func moneyOfFloat(orig string, f float64) (Money, error) {
	cents := f * 100
	r := math.Round(cents)
	switch {
	case f < 0:
		return 0, &AmountError{Text: orig, Problem: AmountNegative}
	case math.Abs(cents-r) > 1e-6*math.Max(1, math.Abs(cents)):
		return 0, &AmountError{Text: orig, Problem: AmountDecimals}
	case r > float64(MaxMoney):
		return 0, &AmountError{Text: orig, Problem: AmountTooLarge}
	}
	return Money(r), nil
}

// ParseImportDate reads a date as spreadsheets write it: 2027-03-31, 2027/3/31, 2027.3.31,
// 2027年3月31日, with a time after it or not; with serial, a bare number is an Excel date
// (counted from 1900, or from 1904 with date1904). Day-first and month-first dates (31/3/2027,
// 3/31/2027) are refused: which one a file means cannot be told.
func ParseImportDate(s string, serial, date1904 bool) (Date, error) {
	orig := strings.TrimSpace(s)
	v := foldWidth(orig)
	if serial {
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			if d, ok := excelDate(f, date1904); ok {
				return d, nil
			}
			return "", fmt.Errorf("%q is not a date", clip(orig))
		}
	}
	// The date part: up to a space or a T before a time.
	if i := strings.IndexAny(v, " T"); i > 0 {
		v = v[:i]
	}
	v = strings.NewReplacer("年", "-", "月", "-", "日", "", "/", "-", ".", "-").Replace(v)
	parts := strings.Split(v, "-")
	if len(parts) == 3 && len(parts[0]) == 4 {
		y, e1 := strconv.Atoi(parts[0])
		m, e2 := strconv.Atoi(parts[1])
		d, e3 := strconv.Atoi(parts[2])
		if e1 == nil && e2 == nil && e3 == nil {
			t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
			if t.Year() == y && int(t.Month()) == m && t.Day() == d {
				return DateOf(t), nil
			}
		}
	}
	return "", fmt.Errorf("%q is not a date: write it as YYYY-MM-DD", clip(orig))
}

// excelDate converts an Excel serial date. Excel's 1900 calendar counts a 29 February 1900 that
// never was (serial 60), so serials past it are one day ahead.
func excelDate(f float64, date1904 bool) (Date, bool) {
	n := int(math.Floor(f))
	if n < 1 || n > 2958465 { // 9999-12-31
		return "", false
	}
	base := time.Date(1899, 12, 31, 0, 0, 0, 0, time.UTC)
	switch {
	case date1904:
		base = time.Date(1904, 1, 1, 0, 0, 0, 0, time.UTC)
	case n == 60:
		return "", false
	case n > 60:
		n--
	}
	return DateOf(base.AddDate(0, 0, n)), true
}

// Imported deals.

// DealImport marks a deal imported from a spreadsheet: from which import (and line), by whom,
// when, and at which stage it came in; ApprovedBy is the director who approved a KAM's import of
// a deal past development.
type DealImport struct {
	ImportID   string    `json:"import_id"`
	Line       int       `json:"line"`
	Stage      Stage     `json:"stage"`
	By         string    `json:"by"`
	At         time.Time `json:"at"`
	ApprovedBy string    `json:"approved_by,omitempty"`
}

// ImportedEvidence is the detail of a gate item met by an import rather than by evidence
// recorded in kamflow.
const ImportedEvidence = "imported: passed before the deal came into kamflow"

// ImportDeal opens a deal imported from a spreadsheet, open and already at stage st (development
// to negotiation): as NewDeal, but its first stage-history row is of kind imported, at st, and
// the gates before st count as passed by the import. Its stage clock starts now. A deal past
// development imported by anyone but a director of its team needs the director who approved it
// (mark.ApprovedBy): forbidden otherwise.
func ImportDeal(id string, in NewDealInput, st Stage, mark DealImport, by Actor, now time.Time, s Settings) (*Deal, *StageTransition, error) {
	if !st.Valid() || st == Delivery {
		return nil, nil, Errorf(EINVALID, "an imported deal must be open, in development to negotiation, not in %q", st).WithDetail("field", "stage")
	}
	if by.ImportNeedsApproval(in.TeamID, st) && mark.ApprovedBy == "" {
		return nil, nil, Errorf(EFORBIDDEN, "a deal imported at the %s stage skips its key nodes: a sales director of the team approves its import", st)
	}
	d, t, err := NewDeal(id, in, by, now, s)
	if err != nil {
		return nil, nil, err
	}
	mark.Stage, mark.By, mark.At = st, by.ID, now
	d.Stage, d.StageSLA, d.Imported = st, Duration(s.StageSLA(st)), &mark
	t.Kind, t.ToStage = TransitionImported, st
	return d, t, nil
}
