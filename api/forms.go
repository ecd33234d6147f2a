package api

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/kamflow/kamflow"
)

// The forgiving inputs and the settings an admin edits besides the stages' ladders: an amount read
// as the import reads it, the loss reasons, the margin floor and the assessment model; and a
// team's new name.

// amountView is an amount as a person typed it and as kamflow read it.
type amountView struct {
	Text   string        `json:"text"`
	Amount kamflow.Money `json:"amount"`
}

// parseAmount reads ?text= by the import's rule (kamflow.ParseImportMoney): the UI shows the
// amount understood next to a money field as one types ("1200万" = ¥12,000,000.00) and sends
// the decimal string it is given. A refusal is 400 invalid with details.reason (amount_format,
// amount_negative, amount_decimals, amount_too_large, amount_empty).
func (s *Server) parseAmount(c echo.Context) error {
	text := c.QueryParam("text")
	if utf8.RuneCountInString(text) > 100 {
		return kamflow.Errorf(kamflow.EINVALID, "an amount is at most 100 characters").WithDetail("field", "text").WithDetail("reason", "amount_format")
	}
	m, err := kamflow.ParseAmountText(text, "text")
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, amountView{Text: text, Amount: m})
}

// lossReasonsInput is PUT /settings/loss-reasons's body: the whole list, in the order offered.
type lossReasonsInput struct {
	LossReasons []kamflow.LossReason `json:"loss_reasons"`
	Version     *int64               `json:"version"`
}

type lossReasonsResult struct {
	LossReasons []kamflow.LossReason `json:"loss_reasons"`
	Version     int64                `json:"version"`
	fanoutResult
}

// putLossReasons sets the list a lost deal's reason is picked from. The open deals hold it (a
// close's reason code is checked against it), so they are told as of any other settings change.
func (s *Server) putLossReasons(c echo.Context) error {
	var in lossReasonsInput
	if err := bind(c, &in); err != nil {
		return err
	}
	list := kamflow.NormalizeLossReasons(in.LossReasons)
	if err := kamflow.ValidateLossReasons(list); err != nil {
		return err
	}
	e, err := s.edit(c, in.Version)
	if err != nil {
		return err
	}
	saved, told, err := s.changeSettings(c.Request().Context(), e, func(settings *kamflow.Settings, _ *kamflow.Escalation) ([]*kamflow.AuditEntry, error) {
		before := settings.LossReasonsOf()
		settings.LossReasons = list
		codes := make([]string, len(list))
		for i, r := range list {
			codes[i] = r.Code
		}
		return []*kamflow.AuditEntry{s.entry(c, &kamflow.AuditEntry{Action: "settings.loss_reasons", EntityType: "settings",
			EntityID: "loss_reasons", Summary: "loss reasons set: " + strings.Join(codes, ", "),
			Before: map[string]any{"loss_reasons": before}, After: map[string]any{"loss_reasons": list}})}, nil
	})
	if err != nil {
		return s.conflict(c, err, settingsConflict)
	}
	c.Response().Header().Set("ETag", kamflow.ETag(saved.Version))
	return c.JSON(http.StatusOK, lossReasonsResult{LossReasons: saved.Settings.LossReasonsOf(), Version: saved.Version, fanoutResult: told})
}

// modelInput is PUT /settings/model's body: the margin floor, the assessment's weights (only the
// factors sent change) and pass threshold; what is absent stays.
type modelInput struct {
	MarginFloor *float64                   `json:"margin_floor"`
	Weights     map[kamflow.Factor]float64 `json:"weights"`
	Threshold   *float64                   `json:"threshold"`
	Version     *int64                     `json:"version"`
}

type modelResult struct {
	MarginFloor float64                 `json:"margin_floor"`
	Assessment  kamflow.AssessmentModel `json:"assessment"`
	Version     int64                   `json:"version"`
	fanoutResult
}

// putModel sets the margin floor and the assessment model. The open deals hold both (a bid's
// margin is checked against the floor when it is recorded, an assessment scored with the model),
// so they are told; a bid or an assessment recorded before keeps the floor or result it had.
func (s *Server) putModel(c echo.Context) error {
	var in modelInput
	if err := bind(c, &in); err != nil {
		return err
	}
	if in.MarginFloor == nil && in.Weights == nil && in.Threshold == nil {
		return kamflow.Errorf(kamflow.EINVALID, "margin_floor, weights or threshold is required").WithDetail("field", "margin_floor")
	}
	apply := func(st *kamflow.Settings) error {
		if in.MarginFloor != nil {
			st.MarginFloor = *in.MarginFloor
		}
		if in.Weights != nil {
			w := cloneMap(st.Assessment.Weights)
			for f, v := range in.Weights {
				w[f] = v
			}
			st.Assessment.Weights = w
		}
		if in.Threshold != nil {
			st.Assessment.Threshold = *in.Threshold
		}
		return st.Validate()
	}
	// Refused as invalid before any version is compared.
	probe := kamflow.DefaultSettings()
	if err := apply(&probe); err != nil {
		return fieldOfModel(err, in)
	}
	e, err := s.edit(c, in.Version)
	if err != nil {
		return err
	}
	saved, told, err := s.changeSettings(c.Request().Context(), e, func(settings *kamflow.Settings, _ *kamflow.Escalation) ([]*kamflow.AuditEntry, error) {
		before := map[string]any{"margin_floor": settings.MarginFloor, "assessment": settings.Assessment}
		if err := apply(settings); err != nil {
			return nil, fieldOfModel(err, in)
		}
		after := map[string]any{"margin_floor": settings.MarginFloor, "assessment": settings.Assessment}
		return []*kamflow.AuditEntry{s.entry(c, &kamflow.AuditEntry{Action: "settings.model", EntityType: "settings",
			EntityID: "model", Summary: fmt.Sprintf("margin floor %g%%, assessment threshold %g", settings.MarginFloor, settings.Assessment.Threshold),
			Before: before, After: after})}, nil
	})
	if err != nil {
		return s.conflict(c, err, settingsConflict)
	}
	c.Response().Header().Set("ETag", kamflow.ETag(saved.Version))
	return c.JSON(http.StatusOK, modelResult{MarginFloor: saved.Settings.MarginFloor, Assessment: saved.Settings.Assessment, Version: saved.Version, fanoutResult: told})
}

// fieldOfModel names the field of a refused model change, for the form to mark.
func fieldOfModel(err error, in modelInput) error {
	e, ok := err.(*kamflow.Error)
	if !ok || e.Details["field"] != nil {
		return err
	}
	switch {
	case strings.Contains(e.Message, "margin floor"):
		return e.WithDetail("field", "margin_floor")
	case strings.Contains(e.Message, "threshold"):
		return e.WithDetail("field", "threshold")
	default:
		return e.WithDetail("field", "weights")
	}
}

// patchTeam renames a team (its id, which users and deals name, stays). A name another team has,
// in any case, is a conflict.
func (s *Server) patchTeam(c echo.Context) error {
	var in struct {
		Name *string `json:"name"`
	}
	if err := bind(c, &in); err != nil {
		return err
	}
	if in.Name == nil {
		return kamflow.Errorf(kamflow.EINVALID, "name is required").WithDetail("field", "name")
	}
	name := strings.TrimSpace(*in.Name)
	if name == "" || utf8.RuneCountInString(name) > 200 {
		return kamflow.Errorf(kamflow.EINVALID, "name is required, at most 200 characters").WithDetail("field", "name")
	}
	ctx := c.Request().Context()
	teams, err := s.cfg.Users.Teams(ctx)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(teams, func(t *kamflow.Team) bool { return t.ID == c.Param("id") })
	if i < 0 {
		return kamflow.Errorf(kamflow.ENOTFOUND, "no team %q", c.Param("id"))
	}
	before := *teams[i]
	after := before
	after.Name = name
	if err := s.cfg.Users.RenameTeam(ctx, before.ID, name, s.entry(c, &kamflow.AuditEntry{Action: "team.rename", EntityType: "team",
		EntityID: before.ID, Summary: "team " + before.Name + " renamed " + name, Before: before, After: after})); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, after)
}
