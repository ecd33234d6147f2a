package kamflow

import (
	"context"
	"fmt"
	"math"
	"net/mail"
	"slices"
	"strings"
	"time"
)

// The escalation ladder of a stalled deal has two rungs:
//
//  1. the stage's SLA passes without progress: the deal is stalled and its KAM is told;
//  2. DirectorAfter × the SLA passes without progress (default 2×): the directors of the deal's
//     team are told.
//
// Progress (stage work recorded: Effects.Progress) resets both rungs; a pause stops both clocks
// (the time paused is added to LastProgressAt on resume, so it never counts); a change of SLA or
// of DirectorAfter applies to deals already in the stage.
//
// The ladder's configuration is Escalation, kept apart from Settings (whose JSON the API serves
// as it is): per stage, DirectorAfter; per team and stage, optional overrides of the SLA and of
// DirectorAfter. A deal's effective SLA is its team's override for its stage, else the stage's
// SLA in Settings; its DirectorAfter is its team's override, else the stage's, else
// DefaultDirectorAfter.

// DefaultDirectorAfter is the director's rung when none is set: twice the stage's SLA.
const DefaultDirectorAfter = 2.0

// MaxDirectorAfter bounds DirectorAfter: a director told after more than 20 SLAs is not told.
const MaxDirectorAfter = 20.0

// Escalation configures the escalation ladder. The zero value is the default ladder: every
// stage's SLA from Settings, directors told at DefaultDirectorAfter × SLA.
type Escalation struct {
	// Stages holds each stage's ladder; a stage without one uses the defaults.
	Stages map[Stage]StageEscalation `json:"stages,omitempty"`
	// Teams holds per-team overrides, by team id and stage.
	Teams map[string]map[Stage]TeamEscalation `json:"teams,omitempty"`
}

// StageEscalation is one stage's ladder.
type StageEscalation struct {
	// DirectorAfter is the director's rung as a multiple of the SLA (≥ 1); 0 is the default.
	DirectorAfter float64 `json:"director_after,omitempty"`
}

// TeamEscalation overrides one stage's ladder for one team. Zero fields are not overridden.
type TeamEscalation struct {
	SLA           Duration `json:"sla,omitempty"`
	DirectorAfter float64  `json:"director_after,omitempty"`
}

// Ladder is the ladder in force for a deal of one team in one stage.
type Ladder struct {
	Stage Stage  `json:"stage"`
	Team  string `json:"team,omitempty"`
	// SLA is when the deal stalls and its KAM is told; SLASource says where it comes from:
	// "team" (the team's override) or "stage" (Settings).
	SLA       Duration `json:"sla"`
	SLASource string   `json:"sla_source"`
	// DirectorAfter is when the directors are told, as a multiple of SLA; DirectorSource is
	// "team", "stage" or "default".
	DirectorAfter  float64 `json:"director_after"`
	DirectorSource string  `json:"director_source"`
}

// DirectorDelay is how long after the last progress the directors are told.
func (l Ladder) DirectorDelay() time.Duration {
	return DirectorDelay(time.Duration(l.SLA), l.DirectorAfter)
}

// DirectorDelay is after × sla, to the nanosecond (rounded half away from zero), the same on every
// machine: the workflow computes it, and replays must compute it again identically.
func DirectorDelay(sla time.Duration, after float64) time.Duration {
	if after < 1 || math.IsNaN(after) {
		after = DefaultDirectorAfter
	}
	return time.Duration(math.Round(float64(sla) * after))
}

// Resolve returns the ladder of a deal of team in stage st under s and e.
func (e Escalation) Resolve(s Settings, team string, st Stage) Ladder {
	l := Ladder{Stage: st, Team: team, SLA: Duration(s.StageSLA(st)), SLASource: "stage",
		DirectorAfter: DefaultDirectorAfter, DirectorSource: "default"}
	if se, ok := e.Stages[st]; ok && se.DirectorAfter >= 1 {
		l.DirectorAfter, l.DirectorSource = se.DirectorAfter, "stage"
	}
	if team != "" {
		if te, ok := e.Teams[team][st]; ok {
			if te.SLA > 0 {
				l.SLA, l.SLASource = te.SLA, "team"
			}
			if te.DirectorAfter >= 1 {
				l.DirectorAfter, l.DirectorSource = te.DirectorAfter, "team"
			}
		}
	}
	return l
}

// DirectorAfter is the director's rung of a deal of team in stage st.
func (e Escalation) DirectorAfter(team string, st Stage) float64 {
	return e.Resolve(Settings{}, team, st).DirectorAfter
}

// SettingsFor returns s as it applies to the deals of team: the team's SLA overrides in place of
// the stages' SLAs. s itself is not changed. Without overrides for the team it returns s.
func (e Escalation) SettingsFor(s Settings, team string) Settings {
	over := e.Teams[team]
	if team == "" || len(over) == 0 {
		return s
	}
	sla := make(map[Stage]Duration, len(Stages))
	for _, st := range Stages {
		sla[st] = Duration(s.StageSLA(st))
		if o, ok := over[st]; ok && o.SLA > 0 {
			sla[st] = o.SLA
		}
	}
	s.SLA = sla
	return s
}

// Validate checks every field.
func (e Escalation) Validate() error {
	checkAfter := func(where string, v float64) error {
		if v == 0 {
			return nil
		}
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 1 || v > MaxDirectorAfter {
			return Errorf(EINVALID, "director_after of %s must be from 1 to %g times the SLA (0 for the default, %g)", where, MaxDirectorAfter, DefaultDirectorAfter).
				WithDetail("field", "director_after")
		}
		return nil
	}
	for st, se := range e.Stages {
		if !st.Valid() {
			return Errorf(EINVALID, "escalation for unknown stage %q", st)
		}
		if err := checkAfter(string(st), se.DirectorAfter); err != nil {
			return err
		}
	}
	for team, stages := range e.Teams {
		if err := checkText("team", team, true, 64); err != nil {
			return err
		}
		for st, te := range stages {
			if !st.Valid() {
				return Errorf(EINVALID, "escalation of team %s for unknown stage %q", team, st)
			}
			if te.SLA < 0 || time.Duration(te.SLA) > 3650*Day {
				return Errorf(EINVALID, "SLA of %s for team %s must be positive and at most 3650 days (0: the stage's)", st, team).WithDetail("field", "sla")
			}
			if err := checkAfter(fmt.Sprintf("%s for team %s", st, team), te.DirectorAfter); err != nil {
				return err
			}
		}
	}
	return nil
}

// DirectorDeadline is when the deal's directors are to be told: after × the deal's SLA past its
// last progress. Zero when the clock is stopped (paused, closed, no SLA), like StallDeadline.
func (d *Deal) DirectorDeadline(after float64) time.Time {
	if d.StallDeadline().IsZero() {
		return time.Time{}
	}
	return d.LastProgressAt.Add(DirectorDelay(time.Duration(d.StageSLA), after))
}

// Notification kinds of the escalation ladder.
const (
	NoticeStalled   = "stalled"   // to the KAM: the deal passed its SLA
	NoticeEscalated = "escalated" // to the team's directors: the deal passed DirectorAfter × its SLA
)

// EscalationStore keeps the escalation ladder's configuration.
type EscalationStore interface {
	Escalation(ctx context.Context) (Escalation, error)                           // the zero Escalation until one is saved
	SaveEscalation(ctx context.Context, e Escalation, audit ...*AuditEntry) error // audit appended with the change
}

// Directory tells who is to be told: a team's directors and the users' e-mail addresses.
type Directory interface {
	// Directors lists the enabled directors who lead team, by username.
	Directors(ctx context.Context, team string) ([]*User, error)
	// UserEmails returns the e-mail addresses of the enabled users among usernames that have one,
	// by username.
	UserEmails(ctx context.Context, usernames []string) (map[string]string, error)
	// SetUserEmail sets (or, with "", removes) a user's e-mail address; not_found for no user.
	SetUserEmail(ctx context.Context, userID, email string) error
}

// UserEmailStore keeps the users' e-mail addresses, for the admin's user pages.
type UserEmailStore interface {
	// EmailsByUserID returns the e-mail addresses of those of the users (by id, enabled or not)
	// that have one, by id.
	EmailsByUserID(ctx context.Context, userIDs []string) (map[string]string, error)
	SetUserEmail(ctx context.Context, userID, email string) error
}

// EscalationService tells running deals that the settings or the escalation ladder changed, so
// that deals already in a stage are held to the new SLA and thresholds: each deal of dealIDs gets
// v (a deal holding v or a newer version ignores it). A deal that has ended is skipped.
type EscalationService interface {
	ApplyEscalation(ctx context.Context, v VersionedSettings, dealIDs []string) error
}

// ValidateEmail checks an e-mail address: a bare address (no display name), at most 254 bytes.
func ValidateEmail(s string) error {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s || len(s) > 254 || strings.ContainsAny(s, "\r\n") {
		return Errorf(EINVALID, "%q is not an e-mail address such as li.ming@example.com", s).WithDetail("field", "email")
	}
	return nil
}

// StalledEntry is one deal of the stalled review: where it is stuck, for how long, how far up the
// ladder it is, and what its key node still lacks (why it is stuck).
type StalledEntry struct {
	DealID       string     `json:"deal_id"`
	Title        string     `json:"title"`
	AccountID    string     `json:"account_id"`
	Owner        string     `json:"owner"`
	TeamID       string     `json:"team_id,omitempty"`
	Stage        Stage      `json:"stage"`
	StalledSince *time.Time `json:"stalled_since,omitempty"`
	SLA          Duration   `json:"sla"`
	DaysInStage  int        `json:"days_in_stage"`
	DaysOverSLA  int        `json:"days_over_sla"`
	// DirectorAfter is the deal's director rung; DirectorDue is whether it has been passed.
	DirectorAfter float64  `json:"director_after"`
	DirectorDue   bool     `json:"director_due"`
	Missing       []string `json:"missing"`
}

// StalledCount is one group of the stalled review: how many stalled deals a stage, an owner or a
// team has, and the most days over SLA among them.
type StalledCount struct {
	Key            string `json:"key"`
	Deals          int    `json:"deals"`
	DirectorDue    int    `json:"director_due"`
	MaxDaysOverSLA int    `json:"max_days_over_sla"`
}

// StalledReview is the director's review of the stalled deals.
type StalledReview struct {
	Entries []StalledEntry `json:"entries"`
	ByStage []StalledCount `json:"by_stage"` // every stage, in order
	ByOwner []StalledCount `json:"by_owner"` // most deals first, then by owner
	ByTeam  []StalledCount `json:"by_team"`  // most deals first, then by team
}

// ReviewStalled builds the stalled review of deals (as StalledDeals lists them) at now. Deals that
// are not stalled or not active are left out; the order of deals is kept.
func ReviewStalled(deals []*Deal, now time.Time, e Escalation) StalledReview {
	r := StalledReview{Entries: []StalledEntry{}}
	stage := map[Stage]*StalledCount{}
	for _, st := range Stages {
		stage[st] = &StalledCount{Key: string(st)}
	}
	owner, team := map[string]*StalledCount{}, map[string]*StalledCount{}
	count := func(m map[string]*StalledCount, key string, en StalledEntry) {
		c := m[key]
		if c == nil {
			c = &StalledCount{Key: key}
			m[key] = c
		}
		add(c, en)
	}
	for _, d := range deals {
		if d == nil || !d.Stalled || !d.Active() {
			continue
		}
		after := e.DirectorAfter(d.TeamID, d.Stage)
		dl := d.DirectorDeadline(after)
		en := StalledEntry{
			DealID: d.ID, Title: d.Title, AccountID: d.AccountID, Owner: d.Owner, TeamID: d.TeamID, Stage: d.Stage,
			StalledSince: d.StalledSince, SLA: d.StageSLA, DaysInStage: d.DaysInStage(now), DaysOverSLA: d.DaysOverSLA(now),
			DirectorAfter: after, DirectorDue: !dl.IsZero() && !now.Before(dl), Missing: d.Gate().Missing(),
		}
		r.Entries = append(r.Entries, en)
		if c := stage[d.Stage]; c != nil {
			add(c, en)
		}
		count(owner, d.Owner, en)
		count(team, d.TeamID, en)
	}
	for _, st := range Stages {
		r.ByStage = append(r.ByStage, *stage[st])
	}
	r.ByOwner, r.ByTeam = sortedCounts(owner), sortedCounts(team)
	return r
}

func add(c *StalledCount, en StalledEntry) {
	c.Deals++
	if en.DirectorDue {
		c.DirectorDue++
	}
	c.MaxDaysOverSLA = max(c.MaxDaysOverSLA, en.DaysOverSLA)
}

func sortedCounts(m map[string]*StalledCount) []StalledCount {
	out := make([]StalledCount, 0, len(m))
	for _, c := range m {
		out = append(out, *c)
	}
	slices.SortFunc(out, func(a, b StalledCount) int {
		if a.Deals != b.Deals {
			return b.Deals - a.Deals
		}
		return strings.Compare(a.Key, b.Key)
	})
	return out
}
