package api

import (
	"context"
	"fmt"
	"net/http"
	"slices"

	"github.com/labstack/echo/v4"

	"github.com/kamflow/kamflow"
)

// settingsView is the settings with the escalation ladder: every stage's SLA, the assessment
// model, the margin floor, and each stage's director's rung with the teams' overrides; and their
// version, which a change sends back (If-Match or version) to be refused when they moved on.
type settingsView struct {
	kamflow.Settings
	Escalation kamflow.Escalation `json:"escalation"`
	Version    int64              `json:"version"`
	UpdatedBy  string             `json:"updated_by,omitempty"`
}

func viewOfSettings(v kamflow.VersionedSettings) settingsView {
	esc := v.Escalation
	if esc.Stages == nil {
		esc.Stages = map[kamflow.Stage]kamflow.StageEscalation{}
	}
	if esc.Teams == nil {
		esc.Teams = map[string]map[kamflow.Stage]kamflow.TeamEscalation{}
	}
	return settingsView{Settings: v.Settings, Escalation: esc, Version: v.Version, UpdatedBy: v.UpdatedBy}
}

// settingsConflict shows the settings of a version conflict as GET /settings does.
func settingsConflict(current any) any {
	if v, ok := current.(kamflow.VersionedSettings); ok {
		return viewOfSettings(v)
	}
	return current
}

func (s *Server) getSettings(c echo.Context) error {
	v, err := s.cfg.Settings.VersionedSettings(c.Request().Context())
	if err != nil {
		return err
	}
	c.Response().Header().Set("ETag", kamflow.ETag(v.Version))
	return c.JSON(http.StatusOK, viewOfSettings(v))
}

// stageSettingsInput sets a stage's escalation ladder: its SLA (the KAM's rung) and its
// director's rung as a multiple of the SLA (0: the default, 2×). With team, both are that team's
// override for the stage instead (0 or absent: the stage's own), and reset removes the override.
// Version (or If-Match) is the settings' version the change was made against.
type stageSettingsInput struct {
	SLA           *kamflow.Duration `json:"sla"`
	DirectorAfter *float64          `json:"director_after"`
	Team          string            `json:"team"`
	Reset         bool              `json:"reset"`
	Version       *int64            `json:"version"`
}

// stageSettingsResult is a stage's ladder after a change, how many running deals were told, and
// the settings' version now.
type stageSettingsResult struct {
	Stage         kamflow.Stage                     `json:"stage"`
	SLA           kamflow.Duration                  `json:"sla"`
	DirectorAfter float64                           `json:"director_after"`
	Teams         map[string]kamflow.TeamEscalation `json:"teams"`
	DealsUpdated  int                               `json:"deals_updated"`
	Version       int64                             `json:"version"`
}

// putStageSettings sets a stage's SLA and director's rung, for everyone or for one team, and
// tells every active deal's workflow, so that deals already in the stage are held to the new
// ladder (and deals reaching it later start with it). Only what is sent changes, on the settings
// as stored (EditSettings): a change of another stage made meanwhile stays.
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
	e, err := s.edit(c, in.Version)
	if err != nil {
		return err
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
	var after map[string]any
	saved, err := s.cfg.Settings.EditSettings(ctx, e, func(settings *kamflow.Settings, esc *kamflow.Escalation) ([]*kamflow.AuditEntry, error) {
		before := ladderOf(*settings, *esc, st)
		if in.Team == "" {
			if in.SLA != nil {
				settings.SLA = cloneMap(settings.SLA)
				settings.SLA[st] = *in.SLA
				if err := settings.Validate(); err != nil {
					return nil, err
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
			return nil, err
		}
		after = ladderOf(*settings, *esc, st)
		// The SLA alone is recorded as an SLA change; anything else as the ladder's.
		if in.Team == "" && in.DirectorAfter == nil {
			return []*kamflow.AuditEntry{s.entry(c, &kamflow.AuditEntry{Action: "settings.sla", EntityType: "settings",
				EntityID: string(st), Summary: fmt.Sprintf("SLA of the %s stage set from %s to %s", st, before["sla"], after["sla"]),
				Before: map[string]any{"sla": before["sla"]}, After: map[string]any{"sla": after["sla"]}})}, nil
		}
		summary := fmt.Sprintf("Escalation of the %s stage changed", st)
		if in.Team != "" {
			summary = fmt.Sprintf("Escalation of the %s stage for team %s changed", st, in.Team)
		}
		return []*kamflow.AuditEntry{s.entry(c, &kamflow.AuditEntry{Action: "settings.escalation",
			EntityType: "settings", EntityID: string(st), Summary: summary, Before: before, After: after})}, nil
	})
	if err != nil {
		return s.conflict(c, err, settingsConflict)
	}
	n, err := s.tellDeals(ctx)
	if err != nil {
		s.cfg.Logger.Error("settings saved but not every deal was told", "err", err)
		return kamflow.Errorf(kamflow.EUNAVAILABLE, "the settings are saved, but not every open deal could be told yet: repeat the request")
	}
	out := stageSettingsResult{Stage: st, DealsUpdated: n, Version: saved.Version}
	out.SLA, out.DirectorAfter, out.Teams = after["sla"].(kamflow.Duration), after["director_after"].(float64), after["teams"].(map[string]kamflow.TeamEscalation)
	c.Response().Header().Set("ETag", kamflow.ETag(saved.Version))
	return c.JSON(http.StatusOK, out)
}

// tellDeals gives every active deal's workflow the settings and the ladder as they are stored now
// — read after the change, so that a change made meanwhile by someone else reaches them too — and
// returns how many deals were told.
func (s *Server) tellDeals(ctx context.Context) (int, error) {
	now, err := s.cfg.Settings.VersionedSettings(ctx)
	if err != nil {
		return 0, err
	}
	ids, err := s.cfg.Deals.ActiveDealIDs(ctx, "")
	if err != nil {
		return 0, err
	}
	return len(ids), s.cfg.Escalator.ApplyEscalation(ctx, now.Settings, now.Escalation, ids)
}

// serviceCadenceInput sets when the service visits come after a project closes; Version (or
// If-Match) is the settings' version the change was made against.
type serviceCadenceInput struct {
	Cadence []kamflow.Duration `json:"service_cadence"`
	Version *int64             `json:"version"`
}

// putServiceCadence sets the follow-up cadence of the projects closed from now on, on the
// settings as stored: a stage's change made meanwhile stays.
func (s *Server) putServiceCadence(c echo.Context) error {
	var in serviceCadenceInput
	if err := bind(c, &in); err != nil {
		return err
	}
	if err := kamflow.ValidateCadence(in.Cadence); err != nil {
		return err
	}
	e, err := s.edit(c, in.Version)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	saved, err := s.cfg.Settings.EditSettings(ctx, e, func(settings *kamflow.Settings, _ *kamflow.Escalation) ([]*kamflow.AuditEntry, error) {
		before := settings.ServiceCadence
		settings.ServiceCadence = in.Cadence
		return []*kamflow.AuditEntry{s.entry(c, &kamflow.AuditEntry{Action: "settings.service_cadence",
			EntityType: "settings", EntityID: "service_cadence", Summary: "service cadence set",
			Before: map[string]any{"service_cadence": before}, After: map[string]any{"service_cadence": in.Cadence}})}, nil
	})
	if err != nil {
		return s.conflict(c, err, settingsConflict)
	}
	// The open deals hold a copy of the settings: they plan their service with it when they enter
	// delivery.
	n, err := s.tellDeals(ctx)
	if err != nil {
		s.cfg.Logger.Error("service cadence saved but not every deal was told", "err", err)
		return kamflow.Errorf(kamflow.EUNAVAILABLE, "the cadence is saved, but not every open deal could be told yet: repeat the request")
	}
	c.Response().Header().Set("ETag", kamflow.ETag(saved.Version))
	return c.JSON(http.StatusOK, map[string]any{"service_cadence": in.Cadence, "deals_updated": n, "version": saved.Version})
}

// accountSettingsView is the key-account settings with their version.
type accountSettingsView struct {
	kamflow.AccountSettings
	Version   int64  `json:"version"`
	UpdatedBy string `json:"updated_by,omitempty"`
}

func viewOfAccountSettings(current any) any {
	if v, ok := current.(kamflow.VersionedAccountSettings); ok {
		return accountSettingsView{AccountSettings: v.AccountSettings, Version: v.Version, UpdatedBy: v.UpdatedBy}
	}
	return current
}

func (s *Server) getAccountSettings(c echo.Context) error {
	v, err := s.cfg.Settings.VersionedAccountSettings(c.Request().Context())
	if err != nil {
		return err
	}
	c.Response().Header().Set("ETag", kamflow.ETag(v.Version))
	return c.JSON(http.StatusOK, viewOfAccountSettings(v))
}

// accountSettingsInput is PUT /settings/segmentation's body: the settings to change, and the
// version they were made against (or If-Match).
type accountSettingsInput struct {
	kamflow.AccountSettingsInput
	Version *int64 `json:"version,omitempty"`
}

// putAccountSettings changes the key-account settings sent, on them as stored (a change of
// other ones made meanwhile stays); every account's value score is recomputed with them.
func (s *Server) putAccountSettings(c echo.Context) error {
	var in accountSettingsInput
	if err := bind(c, &in); err != nil {
		return err
	}
	if _, err := in.Apply(kamflow.DefaultAccountSettings()); err != nil { // refused as invalid before any version is compared
		return err
	}
	e, err := s.edit(c, in.Version)
	if err != nil {
		return err
	}
	saved, err := s.cfg.Settings.EditAccountSettings(c.Request().Context(), e, func(st *kamflow.AccountSettings) (*kamflow.AuditEntry, error) {
		before := *st
		after, err := in.Apply(before)
		if err != nil {
			return nil, err
		}
		*st = after
		return s.entry(c, &kamflow.AuditEntry{Action: "settings.segmentation", EntityType: "settings",
			EntityID: "segmentation", Before: before, After: after,
			Summary: fmt.Sprintf("key-account settings changed: strategic from a value score of %g, contacts stale after %d days",
				after.StrategicThreshold, after.StaleContactDays)}), nil
	})
	if err != nil {
		return s.conflict(c, err, viewOfAccountSettings)
	}
	c.Response().Header().Set("ETag", kamflow.ETag(saved.Version))
	return c.JSON(http.StatusOK, viewOfAccountSettings(saved))
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
