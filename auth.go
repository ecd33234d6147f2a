package kamflow

import (
	"context"
	"slices"
	"strings"
	"time"
)

// UserRole is what a user of kamflow does. (Role, by contrast, is a customer stakeholder's part
// in the buying decision.)
type UserRole string

// The four user roles.
const (
	UserKAM      UserRole = "kam"      // key-account manager: owns accounts and deals
	UserDirector UserRole = "director" // sales director: leads teams, approves, forces, reassigns
	UserEngineer UserRole = "engineer" // works the delivery of the deals assigned to them
	UserAdmin    UserRole = "admin"    // manages users and settings; not a salesperson
)

// UserRoles lists the roles.
var UserRoles = []UserRole{UserKAM, UserDirector, UserEngineer, UserAdmin}

// ParseUserRole parses a role name.
func ParseUserRole(s string) (UserRole, error) {
	r := UserRole(strings.ToLower(strings.TrimSpace(s)))
	if slices.Contains(UserRoles, r) {
		return r, nil
	}
	return "", Errorf(EINVALID, "role %q must be one of kam, director, engineer, admin", s).WithDetail("field", "role")
}

// User is a person who signs in to kamflow.
type User struct {
	ID       string   `json:"id"`
	Username string   `json:"username"`
	Name     string   `json:"name"`
	Role     UserRole `json:"role"`
	// Teams are the sales teams a KAM or engineer belongs to, or a director leads.
	Teams    []string `json:"teams"`
	Disabled bool     `json:"disabled"`
	// Language is the one the user reads kamflow in — the UI once signed in, the in-app notices
	// and the e-mails: LangEnglish or LangChinese, or "" until the user (or an admin) chose one.
	Language     string    `json:"language"`
	PasswordHash string    `json:"-"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
	// Version is 1 when the user is created and one more with every change, by UpdatedBy (a
	// username; see versions.go).
	Version   int64  `json:"version"`
	UpdatedBy string `json:"updated_by,omitempty"`
}

// The languages a user may read kamflow in (User.Language), as the UI's dictionaries name them.
const (
	LangEnglish = "en"
	LangChinese = "zh-CN"
)

// Languages lists them.
var Languages = []string{LangEnglish, LangChinese}

// ParseLanguage reads a user's language: en or zh-CN (in any case, "zh" and "zh-Hans" too), or ""
// for none chosen.
func ParseLanguage(s string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "":
		return "", nil
	case "en", "en-us", "en-gb":
		return LangEnglish, nil
	case "zh", "zh-cn", "zh-hans", "zh-hans-cn":
		return LangChinese, nil
	}
	return "", Errorf(EINVALID, "language %q must be one of en, zh-CN", s).WithDetail("field", "language")
}

// Actor is the user as recorded on a change and checked by the rules.
func (u *User) Actor() Actor {
	return Actor{ID: u.Username, Role: u.Role, Teams: slices.Clone(u.Teams)}
}

// Team is a sales team: KAMs and engineers, led by one or more directors.
type Team struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// ValidateUsername checks a username as it is to be kept: valid (see NormalizeUsername) and
// already in its normal form, so that every stored username is; NormalizeUsername gives it.
func ValidateUsername(s string) error {
	n, err := NormalizeUsername(s)
	if err != nil {
		return err
	}
	if n != s {
		return Errorf(EINVALID, "username must be written %q", n).WithDetail("field", "username")
	}
	return nil
}

// ValidatePassword checks a new password (NIST SP 800-63B): at least 10 characters and at most
// 72 bytes; not one of the commonly used passwords (passwords.txt), nor one but for its case,
// look-alike digits or the digits and symbols around it; not a repetition or a sequence
// ("1234567890", "qwertyuiop", "abcabcabc"); and not holding the context: "kamflow", or one of
// words (the username, the words of the person's name). Length beats composition rules: there
// are none. The demo password of dev mode is set apart from this check.
func ValidatePassword(p string, words ...string) error {
	if len([]rune(p)) < 10 {
		return Errorf(EINVALID, "password must be at least 10 characters").WithDetail("field", "password")
	}
	if len(p) > 72 {
		// bcrypt reads 72 bytes; a longer password would be silently cut.
		return Errorf(EINVALID, "password must be at most 72 bytes").WithDetail("field", "password")
	}
	if strings.Count(p, p[:1]) == len(p) {
		return Errorf(EINVALID, "password must not be one character repeated").WithDetail("field", "password")
	}
	if commonPassword(p) {
		return Errorf(EINVALID, "password is one of the most common passwords: choose another, such as a few unrelated words").
			WithDetail("field", "password")
	}
	if predictable(p) {
		return Errorf(EINVALID, "password is a repetition or a sequence (like 1234567890 or abcabcabc): choose another").
			WithDetail("field", "password")
	}
	if w := contextWord(p, words); w != "" {
		return Errorf(EINVALID, "password must not contain %q", w).WithDetail("field", "password")
	}
	return nil
}

func (a Actor) inTeam(team string) bool { return team != "" && slices.Contains(a.Teams, team) }

// CanSeeDeal reports whether the actor may see the deal at all. Who may not see a deal is told
// it does not exist (404), so that its existence does not leak.
func (a Actor) CanSeeDeal(d *Deal) bool {
	switch a.Role {
	case UserKAM:
		return d.Owner == a.ID || a.inTeam(d.TeamID)
	case UserDirector:
		return a.inTeam(d.TeamID)
	case UserEngineer:
		return slices.Contains(d.Engineers, a.ID)
	case UserSystem:
		return true
	}
	return false
}

// CanSeeAccount reports whether the actor may see the account: its owner, its account team's
// KAMs and their directors.
func (a Actor) CanSeeAccount(acc *Account) bool {
	switch a.Role {
	case UserKAM:
		return acc.Owner == a.ID || a.inTeam(acc.TeamID)
	case UserDirector:
		return a.inTeam(acc.TeamID)
	case UserSystem:
		return true
	}
	return false
}

// UserSystem is the role of kamflow itself (timers, imports); it is never a user's.
const UserSystem UserRole = "system"

// directorOnly are the commands only a sales director may give.
var directorOnly = map[CommandKind]string{
	CmdApproveMargin:   "approves a bid below the margin floor",
	CmdApproveContract: "approves a contract",
	CmdReassign:        "reassigns a deal to another KAM",
	CmdAnswerApproval:  "answers an approval request",
}

// Authorize decides whether the actor may give cmd on the deal. It is part of Check, so the
// workflow's Update validator enforces it even for a caller that bypasses the API. It fails
// closed: a command names a signed-in person's role, and kamflow's own work (UserSystem) never
// comes as a command — it reaches the deal by paths of its own (DealState.Handle). Visibility is
// checked too: an actor who may not see the deal gets not_found. A deal with a team is worked on
// by its team: a KAM or director outside it is refused, even the deal's owner.
func (a Actor) Authorize(cmd Command, d *Deal) error {
	switch a.Role {
	case UserKAM, UserDirector, UserEngineer, UserAdmin:
	case "":
		return Errorf(EFORBIDDEN, "the command names no role: every command is a signed-in person's")
	case UserSystem:
		return Errorf(EFORBIDDEN, "kamflow's own work never comes as a command")
	default:
		return Errorf(EFORBIDDEN, "%q is not a role", a.Role)
	}
	if !a.CanSeeDeal(d) {
		return Errorf(ENOTFOUND, "deal %q not found", d.ID)
	}
	if (a.Role == UserKAM || a.Role == UserDirector) && d.TeamID != "" && !a.inTeam(d.TeamID) {
		return Errorf(EFORBIDDEN, "only the members of the deal's team work on it")
	}
	if cmd.Kind == CmdContactStale {
		return Errorf(EFORBIDDEN, "kamflow marks stakeholders stale itself, from the contacts' interactions")
	}
	if cmd.Kind == CmdRequestApproval && a.Role != UserKAM {
		// A director approves at once (answer_approval, approve_margin, approve_contract).
		return Errorf(EFORBIDDEN, "the deal's KAM asks for an approval; a sales director gives it")
	}
	if a.Role == UserDirector {
		return nil
	}
	if d.forcesGate(cmd) {
		return Errorf(EFORBIDDEN, "only a sales director can force a change of the buying center past a key node the deal rests on")
	}
	if why, ok := directorOnly[cmd.Kind]; ok {
		return Errorf(EFORBIDDEN, "only a sales director %s", why)
	}
	if cmd.Kind == CmdAdvance && cmd.Advance != nil && cmd.Advance.Force && !d.Gate().Met {
		return Errorf(EFORBIDDEN, "only a sales director can force a deal past an unmet key node")
	}
	switch a.Role {
	case UserKAM:
		return nil
	case UserEngineer:
		if cmd.Kind == CmdAcceptance || cmd.Kind == CmdCloseProject {
			return nil
		}
		return Errorf(EFORBIDDEN, "an engineer works on delivery only")
	}
	return Errorf(EFORBIDDEN, "a %s does not work on deals", a.Role)
}

// Session is a signed-in user's session. Only the token's hash is stored.
type Session struct {
	ID        string     `json:"id"`
	TokenHash string     `json:"-"`
	CSRFToken string     `json:"-"`
	UserID    string     `json:"user_id"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt time.Time  `json:"expires_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
	Address   string     `json:"address,omitempty"`
}

// UserStore keeps users and teams.
type UserStore interface {
	// CreateUser, UpdateUser and CreateTeam append the audit entries given with the change.
	CreateUser(ctx context.Context, u *User, audit ...*AuditEntry) error // conflict when the username is taken
	User(ctx context.Context, id string) (*User, error)                  // not_found
	UserByUsername(ctx context.Context, username string) (*User, error)  // not_found
	Users(ctx context.Context) ([]*User, error)
	UpdateUser(ctx context.Context, u *User, audit ...*AuditEntry) error
	// EditUser calls change with the user as stored, locked against other changes, and writes
	// only the fields change alters, at the next version, with the audit entries it returns, in
	// one transaction — so that two edits of different fields made at once both stay. An Edit at
	// another version is a VersionConflict (current: the *User); an error from change is returned
	// as it is and writes nothing; a change that alters nothing writes nothing and leaves the
	// version. A username another user has, in any case, is a conflict.
	EditUser(ctx context.Context, id string, e Edit, change func(u *User) ([]*AuditEntry, error)) (*User, error)
	CreateTeam(ctx context.Context, t *Team, audit ...*AuditEntry) error
	// RenameTeam gives team id a new name (not_found; conflict when another team has it, in any case).
	RenameTeam(ctx context.Context, id, name string, audit ...*AuditEntry) error
	Teams(ctx context.Context) ([]*Team, error)
	CountUsers(ctx context.Context) (int, error)
}

// SessionStore keeps sessions and login attempts.
type SessionStore interface {
	CreateSession(ctx context.Context, s *Session) error
	SessionByTokenHash(ctx context.Context, hash string) (*Session, error) // not_found
	RevokeSession(ctx context.Context, id string, at time.Time) error
	RevokeUserSessions(ctx context.Context, userID string, at time.Time) error
	// LoginThrottle decides and counts sign-in attempts across every API process.
	LoginThrottle
}

// AuditEntry is one change, as the audit trail shows it: who, when, what, and for field edits the
// values before and after. Entries are only ever appended.
type AuditEntry struct {
	ID         int64     `json:"id"`
	At         time.Time `json:"at"`
	Actor      string    `json:"actor"`
	Action     string    `json:"action"`      // e.g. deal.advance, account.update, user.create
	EntityType string    `json:"entity_type"` // deal, account, user, team, settings
	EntityID   string    `json:"entity_id"`
	DealID     string    `json:"deal_id,omitempty"`
	Summary    string    `json:"summary"` // in English
	// Code and Params say the summary for the reader's language (TimelineTexts, says.go); no
	// code on an entry that is not on a deal's timeline, and on one kamflow cannot say otherwise.
	Code   string `json:"code,omitempty"`
	Params Params `json:"params,omitempty"`
	Before any    `json:"before,omitempty"`
	After  any    `json:"after,omitempty"`
	// Key makes appending idempotent (a retried projection writes its entry once).
	Key string `json:"key,omitempty"`
}

// AuditFilter selects audit entries, newest first.
type AuditFilter struct {
	// Viewer limits the entries to those the actor may read (nil: every entry). An admin reads
	// every entry; a director those about the deals and accounts of the teams they lead, and the
	// settings; any other role none (a deal's timeline is read by deal, once the deal is visible).
	Viewer     *Actor
	DealID     string
	EntityType string
	EntityID   string
	Actor      string
	// Actions, when set, keeps the entries of these actions only (e.g. the approval history:
	// deal.request_approval and deal.answer_approval).
	Actions []string
	Page
}

// AuditStore keeps the audit trail. There is no update and no delete.
type AuditStore interface {
	AppendAudit(ctx context.Context, e *AuditEntry) error
	Audit(ctx context.Context, f AuditFilter) ([]AuditEntry, int, error)
}
