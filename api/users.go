package api

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/kamflow/kamflow"
)

type userInput struct {
	Username *string           `json:"username"`
	Name     *string           `json:"name"`
	Role     *kamflow.UserRole `json:"role"`
	Teams    *[]string         `json:"teams"`
	Disabled *bool             `json:"disabled"`
	Password *string           `json:"password"`
	// Language is the one the user reads kamflow in: en, zh-CN, or "" for none chosen.
	Language *string `json:"language"`
	// Email is where the escalation ladder's and the digest's e-mails go; "" removes it.
	Email *string `json:"email"`
}

// userView is a user as the admin sees them: with their e-mail address, if any.
type userView struct {
	*kamflow.User
	Email string `json:"email,omitempty"`
}

// views adds the users' e-mail addresses.
func (s *Server) views(ctx context.Context, users ...*kamflow.User) ([]userView, error) {
	ids := make([]string, len(users))
	for i, u := range users {
		ids[i] = u.ID
	}
	emails, err := s.cfg.Emails.EmailsByUserID(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]userView, len(users))
	for i, u := range users {
		out[i] = userView{User: shown(u), Email: emails[u.ID]}
	}
	return out, nil
}

// setEmail stores the e-mail address of in, if it names one, once the user exists.
func (s *Server) setEmail(ctx context.Context, in userInput, u *kamflow.User) error {
	if in.Email == nil {
		return nil
	}
	return s.cfg.Emails.SetUserEmail(ctx, u.ID, strings.TrimSpace(*in.Email))
}

func checkEmail(in userInput) error {
	if in.Email == nil || strings.TrimSpace(*in.Email) == "" {
		return nil
	}
	return kamflow.ValidateEmail(strings.TrimSpace(*in.Email))
}

// applyUser checks in and copies it onto u; it reports whether the change must end the user's
// sessions (a new password, a disabled account, a new role or teams).
func (s *Server) applyUser(ctx context.Context, in userInput, u *kamflow.User) (revoke bool, err error) {
	ch, err := s.prepareUser(ctx, in, u)
	if err != nil {
		return false, err
	}
	return ch.apply(u)
}

// userChange is a userInput made ready to apply to the user as stored, within the store's
// transaction: the teams it names looked up and its password hashed beforehand, so that the
// transaction reads nothing else and does not wait on the hash.
type userChange struct {
	in    userInput
	teams []*kamflow.Team
	hash  string
}

// prepareUser checks what of in does not depend on the stored user beyond u (the password
// against the username and name it will have) and hashes the password.
func (s *Server) prepareUser(ctx context.Context, in userInput, u *kamflow.User) (userChange, error) {
	ch := userChange{in: in}
	if in.Teams != nil {
		teams, err := s.cfg.Users.Teams(ctx)
		if err != nil {
			return ch, err
		}
		ch.teams = teams
	}
	if in.Password != nil {
		probe := *u
		probe.PasswordHash = "-"
		names := in
		names.Password, names.Teams = nil, nil
		if _, err := (userChange{in: names}).apply(&probe); err != nil {
			return ch, err
		}
		if err := kamflow.ValidatePassword(*ch.in.Password, probe.Username, probe.Name); err != nil {
			return ch, err
		}
		hash, err := HashPassword(*ch.in.Password)
		if err != nil {
			return ch, err
		}
		ch.hash = hash
	}
	return ch, nil
}

// apply copies the change onto u.
func (ch userChange) apply(u *kamflow.User) (revoke bool, err error) {
	in := ch.in
	if in.Username != nil {
		// Kept in its PRECIS form (full-width letters made ordinary, NFC), and compared by
		// kamflow.UsernameKey: "ＫＡＭ１" is KAM1, which is taken when kam1 exists.
		name, err := kamflow.NormalizeUsername(*in.Username)
		if err != nil {
			return false, err
		}
		u.Username = name
	}
	if in.Name != nil {
		if len([]rune(*in.Name)) > 200 {
			return false, kamflow.Errorf(kamflow.EINVALID, "name is longer than 200 characters").WithDetail("field", "name")
		}
		u.Name = strings.TrimSpace(*in.Name)
	}
	if in.Role != nil {
		r, err := kamflow.ParseUserRole(string(*in.Role))
		if err != nil {
			return false, err
		}
		revoke = revoke || r != u.Role
		u.Role = r
	}
	if in.Teams != nil {
		for _, id := range *in.Teams {
			if !slices.ContainsFunc(ch.teams, func(t *kamflow.Team) bool { return t.ID == id }) {
				return false, kamflow.Errorf(kamflow.EINVALID, "team %q does not exist", id).WithDetail("field", "teams")
			}
		}
		revoke = revoke || !slices.Equal(u.Teams, *in.Teams)
		u.Teams = slices.Clone(*in.Teams)
	}
	if in.Language != nil {
		lang, err := kamflow.ParseLanguage(*in.Language)
		if err != nil {
			return false, err
		}
		u.Language = lang
	}
	if in.Disabled != nil {
		revoke = revoke || (*in.Disabled && !u.Disabled)
		u.Disabled = *in.Disabled
	}
	if in.Password != nil {
		if err := kamflow.ValidatePassword(*in.Password, u.Username, u.Name); err != nil {
			return false, err
		}
		if ch.hash != "" {
			u.PasswordHash = ch.hash
		}
		revoke = true
	}
	if u.Username == "" || u.Role == "" {
		return false, kamflow.Errorf(kamflow.EINVALID, "username and role are required")
	}
	if u.PasswordHash == "" {
		return false, kamflow.Errorf(kamflow.EINVALID, "password is required").WithDetail("field", "password")
	}
	if u.Teams == nil {
		u.Teams = []string{}
	}
	return revoke, nil
}

func (s *Server) createUser(c echo.Context) error {
	var in userInput
	if err := bind(c, &in); err != nil {
		return err
	}
	ctx := c.Request().Context()
	now := s.cfg.Now().UTC()
	u := &kamflow.User{ID: s.cfg.NewID(), CreatedAt: now, UpdatedAt: now, UpdatedBy: s.actor(c).ID}
	if _, err := s.applyUser(ctx, in, u); err != nil {
		return err
	}
	if err := checkEmail(in); err != nil {
		return err
	}
	if err := s.cfg.Users.CreateUser(ctx, u, s.entry(c, &kamflow.AuditEntry{Action: "user.create", EntityType: "user", EntityID: u.ID,
		Summary: "user " + u.Username + " created as " + string(u.Role), After: u})); err != nil {
		return err
	}
	if err := s.setEmail(ctx, in, u); err != nil {
		return err
	}
	c.Response().Header().Set("Location", "/api/v1/users/"+u.ID)
	v, err := s.views(ctx, u)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, v[0])
}

// shown is the user as the API answers: teams is a list even when empty (the store reads a
// user of no team with nil teams, which would be written as null).
func shown(u *kamflow.User) *kamflow.User {
	if u.Teams != nil {
		return u
	}
	c := *u
	c.Teams = []string{}
	return &c
}

func (s *Server) listUsers(c echo.Context) error {
	users, err := s.cfg.Users.Users(c.Request().Context())
	if err != nil {
		return err
	}
	out, err := s.views(c.Request().Context(), users...)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"items": out})
}

func (s *Server) getUser(c echo.Context) error {
	u, err := s.cfg.Users.User(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	c.Response().Header().Set("ETag", kamflow.ETag(u.Version))
	v, err := s.views(c.Request().Context(), u)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v[0])
}

// userPatch is PATCH /users/{id}'s body: the fields to change, and the version they were made
// against (or If-Match).
type userPatch struct {
	userInput
	Version *int64 `json:"version,omitempty"`
}

// patchUser changes the fields sent of the user — on the user as stored, in one transaction, so
// that an edit of other fields made meanwhile stays. With a version (If-Match or version) that
// the user has left, it is 409 conflict with the user as it is and who changed it.
func (s *Server) patchUser(c echo.Context) error {
	var in userPatch
	if err := bind(c, &in); err != nil {
		return err
	}
	ctx := c.Request().Context()
	u, err := s.cfg.Users.User(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	if err := checkEmail(in.userInput); err != nil {
		return err
	}
	ch, err := s.prepareUser(ctx, in.userInput, u)
	if err != nil {
		return err
	}
	if _, err := ch.apply(new(*u)); err != nil { // refused as invalid before any version is compared
		return err
	}
	e, err := s.edit(c, in.Version)
	if err != nil {
		return err
	}
	emails, err := s.cfg.Emails.EmailsByUserID(ctx, []string{u.ID})
	if err != nil {
		return err
	}
	email := emails[u.ID]
	me := current(c).user.ID
	var revoke bool
	out, err := s.cfg.Users.EditUser(ctx, u.ID, e, func(u *kamflow.User) ([]*kamflow.AuditEntry, error) {
		before := userView{User: shown(new(*u)), Email: email}
		if revoke, err = ch.apply(u); err != nil {
			return nil, err
		}
		if u.ID == me && (u.Disabled || u.Role != kamflow.UserAdmin) {
			return nil, kamflow.Errorf(kamflow.EINVALID, "an admin cannot disable or demote themselves; ask another admin")
		}
		after := userView{User: shown(u), Email: email}
		if in.Email != nil {
			after.Email = strings.TrimSpace(*in.Email)
		}
		return []*kamflow.AuditEntry{s.entry(c, &kamflow.AuditEntry{Action: "user.update", EntityType: "user", EntityID: u.ID,
			Summary: "user " + u.Username + " updated", Before: before, After: after})}, nil
	})
	if err != nil {
		return s.conflict(c, err, func(current any) any {
			if cur, ok := current.(*kamflow.User); ok {
				return userView{User: shown(cur), Email: email}
			}
			return current
		})
	}
	if revoke && out.Version != u.Version {
		if err := s.cfg.Sessions.RevokeUserSessions(ctx, out.ID, out.UpdatedAt); err != nil {
			return err
		}
	}
	if err := s.setEmail(ctx, in.userInput, out); err != nil {
		return err
	}
	afterView, err := s.views(ctx, out)
	if err != nil {
		return err
	}
	c.Response().Header().Set("ETag", kamflow.ETag(out.Version))
	return c.JSON(http.StatusOK, afterView[0])
}

func (s *Server) listTeams(c echo.Context) error {
	teams, err := s.cfg.Users.Teams(c.Request().Context())
	if err != nil {
		return err
	}
	if teams == nil {
		teams = []*kamflow.Team{}
	}
	return c.JSON(http.StatusOK, map[string]any{"items": teams})
}

func (s *Server) createTeam(c echo.Context) error {
	var in struct {
		Name string `json:"name"`
	}
	if err := bind(c, &in); err != nil {
		return err
	}
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" || len([]rune(in.Name)) > 200 {
		return kamflow.Errorf(kamflow.EINVALID, "name is required, at most 200 characters").WithDetail("field", "name")
	}
	t := &kamflow.Team{ID: s.cfg.NewID(), Name: in.Name, CreatedAt: s.cfg.Now().UTC()}
	if err := s.cfg.Users.CreateTeam(c.Request().Context(), t,
		s.entry(c, &kamflow.AuditEntry{Action: "team.create", EntityType: "team", EntityID: t.ID, Summary: "team " + t.Name + " created", After: t})); err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, t)
}

func (s *Server) listAudit(c echo.Context) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	me := s.actor(c)
	items, total, err := s.cfg.Audit.Audit(c.Request().Context(), kamflow.AuditFilter{
		Viewer: &me, DealID: c.QueryParam("deal_id"), EntityType: c.QueryParam("entity_type"), EntityID: c.QueryParam("entity_id"),
		Actor: c.QueryParam("actor"), Page: p,
	})
	if err != nil {
		return err
	}
	if items == nil {
		items = []kamflow.AuditEntry{}
	}
	return c.JSON(http.StatusOK, list[kamflow.AuditEntry]{Items: items, Total: total, Limit: p.Limit, Offset: p.Offset})
}
