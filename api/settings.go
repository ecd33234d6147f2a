package api

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"time"

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
	// Fanout is the latest change's fan-out to the running deals (GET /settings only).
	Fanout *fanoutView `json:"fanout,omitempty"`
}

// fanoutView is how far the fan-out of a settings version to the running deals has come: pending
// until the fan-out has begun, then running, and done (or superseded, when a newer change's
// fan-out tells every deal instead). ID is the fan-out's job (one for the whole settings).
type fanoutView struct {
	ID         string     `json:"id"`
	Version    int64      `json:"version"`
	Status     string     `json:"status"`
	Total      int        `json:"total"`
	Told       int        `json:"told"`
	StartedAt  *time.Time `json:"started_at,omitempty"`
	UpdatedAt  *time.Time `json:"updated_at,omitempty"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
}

// fanoutPending is the status of a fan-out not begun yet.
const fanoutPending = "pending"

func viewOfFanout(p kamflow.FanoutProgress) *fanoutView {
	started, updated := p.StartedAt, p.UpdatedAt
	return &fanoutView{ID: kamflow.SettingsFanoutID, Version: p.Version, Status: p.Status, Total: p.Total, Told: p.Told,
		StartedAt: &started, UpdatedAt: &updated, FinishedAt: p.FinishedAt}
}

func viewOfSettings(v kamflow.VersionedSettings) settingsView {
	esc := v.Escalation
	if esc.Stages == nil {
		esc.Stages = map[kamflow.Stage]kamflow.StageEscalation{}
	}
	if esc.Teams == nil {
		esc.Teams = map[string]map[kamflow.Stage]kamflow.TeamEscalation{}
	}
	set := v.Settings
	set.LossReasons = set.LossReasonsOf() // the defaults shown while none are set, to pick from
	return settingsView{Settings: set, Escalation: esc, Version: v.Version, UpdatedBy: v.UpdatedBy}
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
	out := viewOfSettings(v)
	if s.cfg.Fanouts != nil {
		p, ok, err := s.cfg.Fanouts.LatestFanout(c.Request().Context())
		if err != nil {
			return err
		}
		if ok {
			out.Fanout = viewOfFanout(p)
		}
	}
	c.Response().Header().Set("ETag", kamflow.ETag(v.Version))
	return c.JSON(http.StatusOK, out)
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

// stageSettingsResult is a stage's ladder after a change, the settings' version now, how many
// running deals are to be told, and how far their fan-out has come.
type stageSettingsResult struct {
	Stage         kamflow.Stage                     `json:"stage"`
	SLA           kamflow.Duration                  `json:"sla"`
	DirectorAfter float64                           `json:"director_after"`
	Teams         map[string]kamflow.TeamEscalation `json:"teams"`
	Version       int64                             `json:"version"`
	fanoutResult
}

// fanoutResult is what a change of the settings answers of their fan-out: how many running deals
// are to be told (0 for a change that saved nothing), and how far the fan-out has come (absent
// then).
type fanoutResult struct {
	DealsToTell int         `json:"deals_to_tell"`
	Fanout      *fanoutView `json:"fanout,omitempty"`
}

// putStageSettings sets a stage's SLA and director's rung, for everyone or for one team, and
// has every active deal's workflow told (changeSettings), so that deals already in the stage are
// held to the new ladder (and deals reaching it later start with it). Only what is sent changes,
// on the settings as stored (EditSettings): a change of another stage made meanwhile stays.
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
	saved, told, err := s.changeSettings(ctx, e, func(settings *kamflow.Settings, esc *kamflow.Escalation) ([]*kamflow.AuditEntry, error) {
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
	out := stageSettingsResult{Stage: st, Version: saved.Version, fanoutResult: told}
	out.SLA, out.DirectorAfter, out.Teams = after["sla"].(kamflow.Duration), after["director_after"].(float64), after["teams"].(map[string]kamflow.TeamEscalation)
	c.Response().Header().Set("ETag", kamflow.ETag(saved.Version))
	return c.JSON(http.StatusOK, out)
}

// changeSettings saves a change of the settings (EditSettings's e and change) and has every
// active deal told of it by the fan-out, which runs on the worker: the request holds no work.
// The fan-out is told what is intended first — the version after the one stored now — then the
// change is saved, then the fan-out is told the version saved; a request that dies in between
// leaves a fan-out that waits a while for a save that never comes, and ends with nothing done.
// The answer counts the deals to tell and shows the fan-out's progress once it is done or
// FanoutWait has passed; a change that saved nothing (the settings were so already) tells none.
func (s *Server) changeSettings(ctx context.Context, e kamflow.Edit, change func(*kamflow.Settings, *kamflow.Escalation) ([]*kamflow.AuditEntry, error)) (kamflow.VersionedSettings, fanoutResult, error) {
	if s.cfg.Fanout == nil || s.cfg.Fanouts == nil {
		return kamflow.VersionedSettings{}, fanoutResult{}, kamflow.Errorf(kamflow.EUNAVAILABLE, "settings changes are not available on this server: it cannot tell the running deals")
	}
	before, err := s.cfg.Settings.VersionedSettings(ctx)
	if err != nil {
		return before, fanoutResult{}, err
	}
	if err := s.cfg.Fanout.TellSettings(ctx, before.Version+1); err != nil {
		s.logCtx(ctx).Error("the settings fan-out could not be told of a change", "err", err)
		return before, fanoutResult{}, kamflow.Errorf(kamflow.EUNAVAILABLE, "the settings were not changed: the running deals cannot be told of a change now; repeat the request")
	}
	saved, err := s.cfg.Settings.EditSettings(ctx, e, change)
	if err != nil || saved.Version <= before.Version {
		return saved, fanoutResult{}, err
	}
	if err := s.cfg.Fanout.TellSettings(ctx, saved.Version); err != nil {
		// The fan-out was told of the change before it was saved: it finds it by itself.
		s.logCtx(ctx).Warn("the settings fan-out was not told of the version saved; it finds it by itself", "version", saved.Version, "err", err)
	}
	n, err := s.cfg.Fanouts.CountActiveDeals(ctx)
	if err != nil {
		return saved, fanoutResult{}, err
	}
	return saved, fanoutResult{DealsToTell: n, Fanout: s.fanoutProgress(ctx, saved.Version, n)}, nil
}

// fanoutProgress reads the fan-out of version, waiting up to FanoutWait for it to be over;
// pending (of total deals) until it has begun.
func (s *Server) fanoutProgress(ctx context.Context, version int64, total int) *fanoutView {
	deadline := time.Now().Add(s.cfg.FanoutWait)
	for wait := 10 * time.Millisecond; ; wait = min(2*wait, 200*time.Millisecond) {
		p, err := s.cfg.Fanouts.Fanout(ctx, version)
		switch {
		case err == nil && p.Status != kamflow.FanoutRunning:
			return viewOfFanout(p)
		case err != nil && kamflow.ErrorCode(err) != kamflow.ENOTFOUND:
			s.logCtx(ctx).Warn("the settings fan-out's progress could not be read", "version", version, "err", err)
		}
		if !time.Now().Add(wait).Before(deadline) {
			if err == nil {
				return viewOfFanout(p)
			}
			return &fanoutView{ID: kamflow.SettingsFanoutID, Version: version, Status: fanoutPending, Total: total}
		}
		select {
		case <-ctx.Done():
			return &fanoutView{ID: kamflow.SettingsFanoutID, Version: version, Status: fanoutPending, Total: total}
		case <-time.After(wait):
		}
	}
}

// serviceCadenceInput sets when the service visits come after a project closes; Version (or
// If-Match) is the settings' version the change was made against.
type serviceCadenceInput struct {
	Cadence []kamflow.Duration `json:"service_cadence"`
	Version *int64             `json:"version"`
}

// serviceCadenceResult is the cadence after a change, the settings' version now, and their
// fan-out to the running deals.
type serviceCadenceResult struct {
	Cadence []kamflow.Duration `json:"service_cadence"`
	Version int64              `json:"version"`
	fanoutResult
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
	// The open deals hold a copy of the settings: they plan their service with it when they enter
	// delivery.
	saved, told, err := s.changeSettings(ctx, e, func(settings *kamflow.Settings, _ *kamflow.Escalation) ([]*kamflow.AuditEntry, error) {
		before := settings.ServiceCadence
		settings.ServiceCadence = in.Cadence
		return []*kamflow.AuditEntry{s.entry(c, &kamflow.AuditEntry{Action: "settings.service_cadence",
			EntityType: "settings", EntityID: "service_cadence", Summary: "service cadence set",
			Before: map[string]any{"service_cadence": before}, After: map[string]any{"service_cadence": in.Cadence}})}, nil
	})
	if err != nil {
		return s.conflict(c, err, settingsConflict)
	}
	c.Response().Header().Set("ETag", kamflow.ETag(saved.Version))
	return c.JSON(http.StatusOK, serviceCadenceResult{Cadence: in.Cadence, Version: saved.Version, fanoutResult: told})
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
