package db

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"
	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/kamflow/kamflow"
)

// Usernames and team names are unique regardless of case: the users and teams tables keep the
// fold of each in a column with a unique index, and a username is looked up by its fold. A
// username's fold is kamflow.UsernameKey (PRECIS UsernameCaseMapped: case, width and Unicode
// normalisation do not make two usernames), a team name's is fold.

// userRow is a users row.
type userRow struct {
	ID           string
	Username     string
	Name         string
	Role         string
	Teams        string
	Disabled     bool
	Language     string
	PasswordHash string
	CreatedAt    time.Time
	UpdatedAt    time.Time
	Version      int64
	UpdatedBy    string
}

func (r userRow) user() (*kamflow.User, error) {
	u := &kamflow.User{ID: r.ID, Username: r.Username, Name: r.Name, Role: kamflow.UserRole(r.Role),
		Disabled: r.Disabled, Language: r.Language, PasswordHash: r.PasswordHash, CreatedAt: utc(r.CreatedAt), UpdatedAt: utc(r.UpdatedAt),
		Version: r.Version, UpdatedBy: r.UpdatedBy}
	if err := json.Unmarshal([]byte(r.Teams), &u.Teams); err != nil {
		return nil, fmt.Errorf("db: decode teams of user %s: %w", r.ID, err)
	}
	if len(u.Teams) == 0 {
		u.Teams = nil
	}
	return u, nil
}

const userColumns = "id, username, name, role, teams, disabled, language, password_hash, created_at, updated_at, version, updated_by"

// isUniqueViolation reports whether err is a unique constraint's violation, in either dialect.
func isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23505"
	}
	var se *msqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

func encodeTeams(teams []string) (string, error) {
	b, err := json.Marshal(nonNil(teams))
	if err != nil {
		return "", fmt.Errorf("db: encode teams: %w", err)
	}
	return string(b), nil
}

// usernameTaken is the conflict of a username another user has, whatever its case.
func usernameTaken(username string) error {
	return kamflow.Errorf(kamflow.ECONFLICT, "username %q is taken", username).WithDetail("field", "username")
}

// CreateUser stores a new user. The caller sets its ID; a zero CreatedAt or UpdatedAt is the
// current time. A username another user has, in any case, is a conflict, and so is an ID taken.
func (d *DB) CreateUser(ctx context.Context, u *kamflow.User, audit ...*kamflow.AuditEntry) error {
	if u.ID == "" || u.Username == "" || u.Role == "" {
		return kamflow.Errorf(kamflow.EINVALID, "user without an id, a username or a role")
	}
	teams, err := encodeTeams(u.Teams)
	if err != nil {
		return err
	}
	now := time.Now()
	if u.CreatedAt.IsZero() {
		u.CreatedAt = now
	}
	if u.UpdatedAt.IsZero() {
		u.UpdatedAt = u.CreatedAt
	}
	return d.inTx(ctx, "create user "+u.ID, func(tx *gorm.DB) error {
		// DO NOTHING (on the id or the username) rather than catching the violation: a failed
		// statement would abort the PostgreSQL transaction.
		res := tx.Exec(`INSERT INTO users (id, username, username_fold, name, role, teams, disabled, language,
			password_hash, created_at, updated_at, version, updated_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?)
			ON CONFLICT DO NOTHING`,
			u.ID, u.Username, kamflow.UsernameKey(u.Username), u.Name, string(u.Role), teams, u.Disabled, u.Language, u.PasswordHash,
			ts(u.CreatedAt), ts(u.UpdatedAt), u.UpdatedBy)
		if res.Error != nil {
			return fmt.Errorf("db: create user %s: %w", u.ID, res.Error)
		}
		if res.RowsAffected > 0 {
			u.Version = 1
			return appendEach(tx, audit)
		}
		var n int64
		if err := tx.Raw("SELECT count(*) FROM users WHERE username_fold = ?", kamflow.UsernameKey(u.Username)).Scan(&n).Error; err != nil {
			return fmt.Errorf("db: create user %s: %w", u.ID, err)
		}
		if n > 0 {
			return usernameTaken(u.Username)
		}
		return kamflow.Errorf(kamflow.ECONFLICT, "user %q already exists", u.ID)
	})
}

func (d *DB) readUser(ctx context.Context, what, cond string, arg any) (*kamflow.User, error) {
	var rows []userRow
	if err := d.r.WithContext(ctx).Raw("SELECT "+userColumns+" FROM users WHERE "+cond, arg).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("db: read user %s: %w", what, err)
	}
	if len(rows) == 0 {
		return nil, kamflow.Errorf(kamflow.ENOTFOUND, "user %s not found", what)
	}
	return rows[0].user()
}

// User returns the user with the given id.
func (d *DB) User(ctx context.Context, id string) (*kamflow.User, error) {
	return d.readUser(ctx, fmt.Sprintf("%q", id), "id = ?", id)
}

// UserByUsername returns the user with the given username, in any spelling (kamflow.UsernameKey).
func (d *DB) UserByUsername(ctx context.Context, username string) (*kamflow.User, error) {
	return d.readUser(ctx, fmt.Sprintf("%q", username), "username_fold = ?", kamflow.UsernameKey(username))
}

// Users lists every user, disabled ones too, in username order (regardless of case).
func (d *DB) Users(ctx context.Context) ([]*kamflow.User, error) {
	var rows []userRow
	if err := d.r.WithContext(ctx).Raw("SELECT " + userColumns + " FROM users ORDER BY username_fold, id").Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("db: list users: %w", err)
	}
	out := make([]*kamflow.User, len(rows))
	for i, r := range rows {
		u, err := r.user()
		if err != nil {
			return nil, err
		}
		out[i] = u
	}
	return out, nil
}

// UpdateUser overwrites the stored user with u (every field but ID, CreatedAt and Version) at the
// next version, by u.UpdatedBy. A username another user has, in any case, is a conflict.
func (d *DB) UpdateUser(ctx context.Context, u *kamflow.User, audit ...*kamflow.AuditEntry) error {
	if u.Username == "" || u.Role == "" {
		return kamflow.Errorf(kamflow.EINVALID, "user without a username or a role")
	}
	teams, err := encodeTeams(u.Teams)
	if err != nil {
		return err
	}
	return d.inTx(ctx, "update user "+u.ID, func(tx *gorm.DB) error {
		var n int64
		err := tx.Raw("SELECT count(*) FROM users WHERE username_fold = ? AND id <> ?", kamflow.UsernameKey(u.Username), u.ID).Scan(&n).Error
		if err != nil {
			return fmt.Errorf("db: update user %s: %w", u.ID, err)
		}
		if n > 0 {
			return usernameTaken(u.Username)
		}
		res := tx.Exec(`UPDATE users SET username = ?, username_fold = ?, name = ?, role = ?, teams = ?,
			disabled = ?, language = ?, password_hash = ?, updated_at = ?, version = version + 1, updated_by = ? WHERE id = ?`,
			u.Username, kamflow.UsernameKey(u.Username), u.Name, string(u.Role), teams, u.Disabled, u.Language, u.PasswordHash,
			ts(u.UpdatedAt), u.UpdatedBy, u.ID)
		if res.Error != nil {
			// Two renames to one username at once on PostgreSQL: the check above passed both.
			if isUniqueViolation(res.Error) {
				return usernameTaken(u.Username)
			}
			return fmt.Errorf("db: update user %s: %w", u.ID, res.Error)
		}
		if res.RowsAffected == 0 {
			return kamflow.Errorf(kamflow.ENOTFOUND, "user %q not found", u.ID)
		}
		if err := tx.Raw("SELECT version FROM users WHERE id = ?", u.ID).Scan(&u.Version).Error; err != nil {
			return fmt.Errorf("db: read the version of user %s: %w", u.ID, err)
		}
		return appendEach(tx, audit)
	})
}

// EditUser changes the user as stored: the row is read locked, checked against e's version,
// handed to change, and only the columns change altered are written, with the next version by
// e.By, in one transaction (see kamflow.UserStore).
func (d *DB) EditUser(ctx context.Context, id string, e kamflow.Edit, change func(u *kamflow.User) ([]*kamflow.AuditEntry, error)) (*kamflow.User, error) {
	var out *kamflow.User
	err := d.inTx(ctx, "edit user "+id, func(tx *gorm.DB) error {
		var rows []userRow
		if err := tx.Raw("SELECT "+userColumns+" FROM users WHERE id = ?"+d.forUpdate(), id).Scan(&rows).Error; err != nil {
			return fmt.Errorf("db: read user %s: %w", id, err)
		}
		if len(rows) == 0 {
			return kamflow.Errorf(kamflow.ENOTFOUND, "user %q not found", id)
		}
		before, err := rows[0].user()
		if err != nil {
			return err
		}
		if err := e.Check("user", before.Version, before.UpdatedBy, before); err != nil {
			return err
		}
		after := *before
		after.Teams = slices.Clone(before.Teams)
		audit, err := change(&after)
		if err != nil {
			return err
		}
		if after.Username == "" || after.Role == "" {
			return kamflow.Errorf(kamflow.EINVALID, "user without a username or a role")
		}
		var cols columns
		col := cols.add
		col("username", after.Username != before.Username, after.Username)
		col("username_fold", after.Username != before.Username, kamflow.UsernameKey(after.Username))
		col("name", after.Name != before.Name, after.Name)
		col("role", after.Role != before.Role, string(after.Role))
		if !slices.Equal(after.Teams, before.Teams) {
			teams, err := encodeTeams(after.Teams)
			if err != nil {
				return err
			}
			col("teams", true, teams)
		}
		col("disabled", after.Disabled != before.Disabled, after.Disabled)
		col("language", after.Language != before.Language, after.Language)
		col("password_hash", after.PasswordHash != before.PasswordHash, after.PasswordHash)
		if cols.empty() {
			out = before
			return nil
		}
		if after.Username != before.Username {
			var n int64
			err := tx.Raw("SELECT count(*) FROM users WHERE username_fold = ? AND id <> ?", kamflow.UsernameKey(after.Username), id).Scan(&n).Error
			if err != nil {
				return fmt.Errorf("db: edit user %s: %w", id, err)
			}
			if n > 0 {
				return usernameTaken(after.Username)
			}
		}
		after.Version, after.UpdatedBy, after.UpdatedAt = before.Version+1, e.By, utc(ts(e.At))
		cols.edit(after.Version, after.UpdatedBy, ts(e.At))
		if err := cols.update(tx, "users", id); err != nil {
			if isUniqueViolation(err) { // two renames to one username at once on PostgreSQL
				return usernameTaken(after.Username)
			}
			return fmt.Errorf("db: edit user %s: %w", id, err)
		}
		if err := appendEach(tx, audit); err != nil {
			return err
		}
		out = &after
		return nil
	})
	return out, err
}

// CountUsers counts the users, disabled ones too.
func (d *DB) CountUsers(ctx context.Context) (int, error) {
	var n int64
	if err := d.r.WithContext(ctx).Raw("SELECT count(*) FROM users").Scan(&n).Error; err != nil {
		return 0, fmt.Errorf("db: count users: %w", err)
	}
	return int(n), nil
}

// CreateTeam stores a new team. The caller sets its ID; a zero CreatedAt is the current time. A
// name another team has, in any case, is a conflict, and so is an ID taken.
func (d *DB) CreateTeam(ctx context.Context, t *kamflow.Team, audit ...*kamflow.AuditEntry) error {
	if t.ID == "" || t.Name == "" {
		return kamflow.Errorf(kamflow.EINVALID, "team without an id or a name")
	}
	if t.CreatedAt.IsZero() {
		t.CreatedAt = time.Now()
	}
	return d.inTx(ctx, "create team "+t.ID, func(tx *gorm.DB) error {
		res := tx.Exec(`INSERT INTO teams (id, name, name_fold, created_at) VALUES (?, ?, ?, ?)
			ON CONFLICT DO NOTHING`, t.ID, t.Name, fold(t.Name), ts(t.CreatedAt))
		if res.Error != nil {
			return fmt.Errorf("db: create team %s: %w", t.ID, res.Error)
		}
		if res.RowsAffected == 0 {
			return kamflow.Errorf(kamflow.ECONFLICT, "team %q or a team named %q exists already", t.ID, t.Name).WithDetail("field", "name")
		}
		return appendEach(tx, audit)
	})
}

// Teams lists the teams in name order (regardless of case).
func (d *DB) Teams(ctx context.Context) ([]*kamflow.Team, error) {
	var rows []struct {
		ID        string
		Name      string
		CreatedAt time.Time
	}
	if err := d.r.WithContext(ctx).Raw("SELECT id, name, created_at FROM teams ORDER BY name_fold, id").Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("db: list teams: %w", err)
	}
	out := make([]*kamflow.Team, len(rows))
	for i, r := range rows {
		out[i] = &kamflow.Team{ID: r.ID, Name: r.Name, CreatedAt: utc(r.CreatedAt)}
	}
	return out, nil
}
