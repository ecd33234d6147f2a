package api

import (
	"github.com/labstack/echo/v4"

	"context"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/sheet"
)

// Contacts are imported once the contact store is there (see contactsImport).

// contactsImport reports whether contacts can be imported and exported.
func (s *Server) contactsImport() bool { return false }

func (x *importContext) planContacts(_ context.Context, _ *importPlan, _ []sheet.Row) error {
	return kamflow.Errorf(kamflow.EINVALID, "contacts cannot be imported yet").WithDetail("field", "kind")
}

func (s *Server) commitContacts(_ context.Context, _ *kamflow.Import, _ *importPlan, prog kamflow.ImportProgress, _ kamflow.Actor) (kamflow.ImportProgress, error) {
	return prog, nil
}

func (s *Server) exportContacts(_ echo.Context, _ sheet.Format, _ string, _ bool) error {
	return kamflow.Errorf(kamflow.ENOTFOUND, "contacts cannot be exported yet")
}
