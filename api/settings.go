package api

import (
	"fmt"
	"net/http"
	"slices"

	"github.com/labstack/echo/v4"

	"github.com/kamflow/kamflow"
)

// settingsView is the settings with the escalation ladder: every stage's SLA, the assessment
// model, the margin floor, and each stage's director's rung with the teams' overrides.
type settingsView struct {
	kamflow.Settings
	Escalation kamflow.Escalation `json:"escalation"`
}

func (s *Server) getSettings(c echo.Context) error {
	ctx := c.Request().Context()
	st, err := s.cfg.Settings.Settings(ctx)
	if err != nil {
		return err
	}
	esc, err := s.cfg.Escalations.Escalation(ctx)
	if err != nil {
		return err
	}
	if esc.Stages == nil {
		esc.Stages = map[kamflow.Stage]kamflow.StageEscalation{}
	}
	if esc.Teams == nil {
		esc.Teams = map[string]map[kamflow.Stage]kamflow.TeamEscalation{}
	}
	return c.JSON(http.StatusOK, settingsView{Settings: st, Escalation: esc})
}

// stageSettingsInput sets a stage's escalation ladder: its SLA (the KAM's rung) and its
// director's rung as a multiple of the SLA (0: the default, 2×). With team, both are that team's
// override for the stage instead (0 or absent: the stage's own), and reset removes the override.
type stageSettingsInput struct {
	SLA           *kamflow.Duration `json:"sla"`
	DirectorAfter *float64          `json:"director_after"`
	Team          string            `json:"team"`
	Reset         bool              `json:"reset"`
}

// stageSettingsResult is a stage's ladder after a change, and how many running deals were told.
type stageSettingsResult struct {
	Stage         kamflow.Stage                     `json:"stage"`
	SLA           kamflow.Duration                  `json:"sla"`
	DirectorAfter float64                           `json:"director_after"`
	Teams         map[string]kamflow.TeamEscalation `json:"teams"`
	DealsUpdated  int                               `json:"deals_updated"`
}

// putStageSettings sets a stage's SLA and director's rung, for everyone or for one team, and
// tells every active deal's workflow, so that deals already in the stage are held to the new
// ladder (and deals reaching it later start with it).
func (s *Server) putStageSettings(c echo.Context) error {
	st, err := kamflow.ParseStage(c.Param("stage"))
	if err != nil {
		return kamflow.Errorf(kamflow.ENOTFOUND, "%s", err.(*kamflow.Error).Message)
	}
	var in stageSettingsInput
	if err := bind(c, &in); err != nil {
		return err
	}
	switch {
	case in.Reset && in.Team == "":
		return kamflow.Errorf(kamflow.EINVALID, "reset removes a team's override: name the team").WithDetail("field", "team")
	case in.Reset && (in.SLA != nil || in.DirectorAfter != nil):
		return kamflow.Errorf(kamflow.EINVALID, "reset takes no sla or director_after").WithDetail("field", "reset")
	case !in.Reset && in.SLA == nil && in.DirectorAfter == nil:
		return kamflow.Errorf(kamflow.EINVALID, "sla (such as \"30d\" or \"2s\") or director_after (such as 2 for twice the SLA) is required").WithDetail("field", "sla")
	}
	ctx := c.Request().Context()
	if in.Team != "" {
		teams, err := s.cfg.Users.Teams(ctx)
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(teams, func(t *kamflow.Team) bool { return t.ID == in.Team }) {
			return kamflow.Errorf(kamflow.EINVALID, "no team %q", in.Team).WithDetail("field", "team")
		}
	}
	settings, err := s.cfg.Settings.Settings(ctx)
	if err != nil {
		return err
	}
	esc, err := s.cfg.Escalations.Escalation(ctx)
	if err != nil {
		return err
	}
	before := ladderOf(settings, esc, st)
	if in.Team == "" {
		if in.SLA != nil {
			settings.SLA = cloneMap(settings.SLA)
			settings.SLA[st] = *in.SLA
			if err := settings.Validate(); err != nil {
				return err
			}
		}
		if in.DirectorAfter != nil {
			esc.Stages = cloneMap(esc.Stages)
			esc.Stages[st] = kamflow.StageEscalation{DirectorAfter: *in.DirectorAfter}
		}
	} else {
		esc.Teams = cloneMap(esc.Teams)
		over := cloneMap(esc.Teams[in.Team])
		o := over[st]
		if in.SLA != nil {
			o.SLA = *in.SLA
		}
		if in.DirectorAfter != nil {
			o.DirectorAfter = *in.DirectorAfter
		}
		if in.Reset || o == (kamflow.TeamEscalation{}) {
			delete(over, st)
		} else {
			over[st] = o
		}
		if len(over) == 0 {
			delete(esc.Teams, in.Team)
		} else {
			esc.Teams[in.Team] = over
		}
	}
	if err := esc.Validate(); err != nil {
		return err
	}
	after := ladderOf(settings, esc, st)
	// Each change is saved with its audit entry in one transaction. The SLA alone changes only the
	// settings; anything else the ladder, after the settings when the stage's SLA changes too (a
	// deal created between the two saves gets the new SLA and the old rung, which the
	// ApplyEscalation below corrects).
	if in.Team == "" && in.DirectorAfter == nil {
		if err := s.cfg.Settings.SaveSettings(ctx, settings, s.entry(c, &kamflow.AuditEntry{Action: "settings.sla", EntityType: "settings",
			EntityID: string(st), Summary: fmt.Sprintf("SLA of the %s stage set from %s to %s", st, before["sla"], after["sla"]),
			Before: map[string]any{"sla": before["sla"]}, After: map[string]any{"sla": after["sla"]}})); err != nil {
			return err
		}
	} else {
		if in.Team == "" && in.SLA != nil {
			if err := s.cfg.Settings.SaveSettings(ctx, settings); err != nil {
				return err
			}
		}
		summary := fmt.Sprintf("Escalation of the %s stage changed", st)
		if in.Team != "" {
			summary = fmt.Sprintf("Escalation of the %s stage for team %s changed", st, in.Team)
		}
		if err := s.cfg.Escalations.SaveEscalation(ctx, esc, s.entry(c, &kamflow.AuditEntry{Action: "settings.escalation",
			EntityType: "settings", EntityID: string(st), Summary: summary, Before: before, After: after})); err != nil {
			return err
		}
	}
	ids, err := s.cfg.Deals.ActiveDealIDs(ctx, "")
	if err != nil {
		return err
	}
	if err := s.cfg.Escalator.ApplyEscalation(ctx, settings, esc, ids); err != nil {
		s.cfg.Logger.Error("settings saved but not every deal was told", "err", err)
		return kamflow.Errorf(kamflow.EUNAVAILABLE, "the settings are saved, but not every open deal could be told yet: repeat the request")
	}
	out := stageSettingsResult{Stage: st, DealsUpdated: len(ids)}
	out.SLA, out.DirectorAfter, out.Teams = after["sla"].(kamflow.Duration), after["director_after"].(float64), after["teams"].(map[string]kamflow.TeamEscalation)
	return c.JSON(http.StatusOK, out)
}

// ladderOf is a stage's ladder as the audit trail and the answer show it.
func ladderOf(s kamflow.Settings, e kamflow.Escalation, st kamflow.Stage) map[string]any {
	l := e.Resolve(s, "", st)
	teams := map[string]kamflow.TeamEscalation{}
	for team, over := range e.Teams {
		if o, ok := over[st]; ok {
			teams[team] = o
		}
	}
	return map[string]any{"sla": l.SLA, "director_after": l.DirectorAfter, "teams": teams}
}

// cloneMap copies m, so that a change is not seen by whoever else holds m; nil gives an empty map.
func cloneMap[K comparable, V any](m map[K]V) map[K]V {
	out := make(map[K]V, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	return out
}
