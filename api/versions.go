package api

import (
	"errors"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/kamflow/kamflow"
)

// The records people edit carry a version (kamflow.Edit, versions.go at the root): GET answers it
// in the record's version field and its ETag; an edit sends it back in If-Match or in a version
// field, and is 409 conflict — with the record as it now is, who changed it and their name — when
// the record has moved on. An edit without either changes only the fields it sends.

// edit is the signed-in user's change made now, against the version given in If-Match or in the
// body's version field (nil: none); both must agree when both are given. If-Match: * is no
// version.
func (s *Server) edit(c echo.Context, bodyVersion *int64) (kamflow.Edit, error) {
	e := kamflow.Edit{By: s.actor(c).ID, At: s.cfg.Now().UTC()}
	if bodyVersion != nil {
		if *bodyVersion < 1 {
			return e, kamflow.Errorf(kamflow.EINVALID, "version must be the version the record was read at, a whole number from 1").WithDetail("field", "version")
		}
		e.IfVersion = *bodyVersion
	}
	if h := strings.TrimSpace(c.Request().Header.Get("If-Match")); h != "" && h != "*" {
		v, err := kamflow.ParseVersion(h, "If-Match")
		if err != nil {
			return e, err
		}
		if e.IfVersion != 0 && e.IfVersion != v {
			return e, kamflow.Errorf(kamflow.EINVALID, "If-Match says version %d, the body's version %d: send one", v, e.IfVersion).WithDetail("field", "version")
		}
		e.IfVersion = v
	}
	return e, nil
}

// conflict adds to a version conflict the name of who made the change the edit had not seen
// (updated_by_name), and shows the current record as view makes it (nil: as the store gave it).
// Any other error is returned as it is.
func (s *Server) conflict(c echo.Context, err error, view func(current any) any) error {
	var e *kamflow.Error
	if !errors.As(err, &e) || e.Code != kamflow.ECONFLICT || e.Details["current"] == nil {
		return err
	}
	out := &kamflow.Error{Code: e.Code, Message: e.Message, Details: map[string]any{}}
	for k, v := range e.Details {
		out.Details[k] = v
	}
	if view != nil {
		out.Details["current"] = view(e.Details["current"])
	}
	by, _ := e.Details["updated_by"].(string)
	out.Details["updated_by_name"] = by
	if by != "" {
		if u, err := s.cfg.Users.UserByUsername(c.Request().Context(), by); err == nil && u.Name != "" {
			out.Details["updated_by_name"] = u.Name
			out.Message = strings.Replace(out.Message, "changed by "+by, "changed by "+u.Name+" ("+by+")", 1)
		}
	}
	return out
}
