package kamflow

import (
	"context"
	"strconv"
	"strings"
	"time"
)

// Records a person edits (an account, the settings, the key-account settings) carry a version:
// 1 when created, one more with every change. An edit names the version it was made against (an
// HTTP If-Match, or a version field); when the record has moved on since, the edit is refused as
// a conflict that holds the record as it now is and who changed it (VersionConflict), so that
// nobody overwrites a change they have not seen. An edit without a version changes only the
// fields it sends, in one transaction with the read, so that it never loses a concurrent edit of
// another field either.

// Edit is who makes a change, when, and the version they saw.
type Edit struct {
	// IfVersion, when not 0, is the version the change was made against: the change is refused
	// with a VersionConflict when the record is at another.
	IfVersion int64
	By        string // the username of who makes the change
	At        time.Time
}

// Check refuses a change made against another version than current: conflict, with the current
// record (current), its version and who made its last change.
func (e Edit) Check(what string, version int64, updatedBy string, current any) error {
	if e.IfVersion == 0 || e.IfVersion == version {
		return nil
	}
	return VersionConflict(what, version, updatedBy, current)
}

// VersionConflict is the conflict of an edit made against a version the record has left.
func VersionConflict(what string, version int64, updatedBy string, current any) *Error {
	by := updatedBy
	if by == "" {
		by = "someone"
	}
	return Errorf(ECONFLICT, "the %s was changed by %s meanwhile (it is at version %d): reapply the change to it as it is now", what, by, version).
		WithDetail("version", version).WithDetail("updated_by", updatedBy).WithDetail("current", current)
}

// ParseVersion reads a version as If-Match or a version field gives it: a whole number from 1,
// optionally quoted as an entity tag ("3", W/"3"). field names the source in the error.
func ParseVersion(s, field string) (int64, error) {
	v := strings.TrimSpace(s)
	v = strings.TrimPrefix(v, "W/")
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		v = v[1 : len(v)-1]
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1 {
		return 0, Errorf(EINVALID, "%s must be a version the record was read at (a whole number from 1, such as \"3\"), not %q", field, s).WithDetail("field", field)
	}
	return n, nil
}

// ETag is the entity tag of a version, as ETag and If-Match carry it.
func ETag(version int64) string { return `"` + strconv.FormatInt(version, 10) + `"` }

// VersionedSettings are the settings and the escalation ladder, edited as one record: its
// version, who made its last change and when.
type VersionedSettings struct {
	Settings   Settings
	Escalation Escalation
	Version    int64
	UpdatedBy  string
	UpdatedAt  time.Time
}

// VersionedAccountSettings are the key-account settings with their version.
type VersionedAccountSettings struct {
	AccountSettings
	Version   int64
	UpdatedBy string
	UpdatedAt time.Time
}

// SettingsEditor changes the settings and the ladder field by field: each change reads, changes
// and writes them in one transaction, so that changes made at once never undo each other.
type SettingsEditor interface {
	// VersionedSettings reads the settings and the ladder with their version (the defaults, at
	// version 1, until something is saved).
	VersionedSettings(ctx context.Context) (VersionedSettings, error)
	// EditSettings calls change with the settings and the ladder as stored, locked against other
	// changes; what change leaves in them is validated and saved with the audit entries it
	// returns, at the next version. An Edit at another version is a VersionConflict (current:
	// the VersionedSettings); an error from change is returned as it is and saves nothing.
	EditSettings(ctx context.Context, e Edit, change func(s *Settings, esc *Escalation) ([]*AuditEntry, error)) (VersionedSettings, error)
	// VersionedAccountSettings and EditAccountSettings do the same for the key-account settings;
	// a change recomputes every account's value score.
	VersionedAccountSettings(ctx context.Context) (VersionedAccountSettings, error)
	EditAccountSettings(ctx context.Context, e Edit, change func(s *AccountSettings) (*AuditEntry, error)) (VersionedAccountSettings, error)
}
