package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/kamflow/kamflow"
)

// mePatch is PATCH /auth/me's body: what any signed-in user may change of their own profile.
type mePatch struct {
	// Language is the one the user reads kamflow in: en, zh-CN, or "" for none chosen.
	Language *string `json:"language"`
}

// patchMe changes the signed-in user's own profile (their language), whatever their role; it
// answers as GET /auth/me does, with the user as changed. The change is audited as an admin's
// edit of the user would be.
func (s *Server) patchMe(c echo.Context) error {
	var in mePatch
	if err := bind(c, &in); err != nil {
		return err
	}
	if in.Language == nil {
		return kamflow.Errorf(kamflow.EINVALID, "nothing to change: send language").WithDetail("field", "language")
	}
	lang, err := kamflow.ParseLanguage(*in.Language)
	if err != nil {
		return err
	}
	p := current(c)
	e := kamflow.Edit{By: s.actor(c).ID, At: s.cfg.Now().UTC()}
	out, err := s.cfg.Users.EditUser(c.Request().Context(), p.user.ID, e, func(u *kamflow.User) ([]*kamflow.AuditEntry, error) {
		if u.Language == lang {
			return nil, nil
		}
		before := u.Language
		u.Language = lang
		return []*kamflow.AuditEntry{s.entry(c, &kamflow.AuditEntry{Action: "user.update", EntityType: "user", EntityID: u.ID,
			Summary: "user " + u.Username + " set their language", Before: map[string]string{"language": before},
			After: map[string]string{"language": lang}})}, nil
	})
	if err != nil {
		return err
	}
	c.Response().Header().Set("ETag", kamflow.ETag(out.Version))
	return c.JSON(http.StatusOK, map[string]any{"user": shown(out), "csrf_token": p.session.CSRFToken, "expires_at": p.session.ExpiresAt})
}
