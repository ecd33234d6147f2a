package kamflow

import (
	"math"
	"time"
)

// Settings are the team-wide knobs an admin sets: stage SLAs, the assessment model and the bid
// margin floor. A deal's workflow holds a copy (refreshed when they change), because Update
// validators must decide from workflow state alone.
type Settings struct {
	SLA         map[Stage]Duration `json:"sla"`
	Assessment  AssessmentModel    `json:"assessment"`
	MarginFloor float64            `json:"margin_floor"` // gross margin in percent below which a director must approve a bid
	// ServiceCadence is when the proactive service visits come after a project closes; empty is
	// DefaultServiceCadence (30, 90, 180 and 365 days).
	ServiceCadence []Duration `json:"service_cadence,omitempty"`
	// LossReasons are the reasons a lost deal is closed with (and "other"); empty is
	// DefaultLossReasons. The deals hold them to check a close's reason code.
	LossReasons []LossReason `json:"loss_reasons,omitempty"`
}

// DefaultSettings are the settings of a fresh installation.
func DefaultSettings() Settings {
	return Settings{
		SLA: map[Stage]Duration{
			Development: Duration(30 * Day),
			Entry:       Duration(45 * Day),
			Proposal:    Duration(30 * Day),
			Bid:         Duration(21 * Day),
			Negotiation: Duration(30 * Day),
			Delivery:    Duration(120 * Day),
		},
		Assessment:  DefaultAssessmentModel(),
		MarginFloor: 15,
	}
}

// StageSLA returns the SLA of stage s, falling back to the default for a stage with none set.
func (s Settings) StageSLA(st Stage) time.Duration {
	if d, ok := s.SLA[st]; ok && d > 0 {
		return time.Duration(d)
	}
	return time.Duration(DefaultSettings().SLA[st])
}

// Validate checks every field.
func (s Settings) Validate() error {
	for st, d := range s.SLA {
		if !st.Valid() {
			return Errorf(EINVALID, "SLA for unknown stage %q", st)
		}
		if d <= 0 {
			return Errorf(EINVALID, "SLA for %s must be positive", st)
		}
	}
	if len(s.ServiceCadence) > 0 {
		if err := ValidateCadence(s.ServiceCadence); err != nil {
			return err
		}
	}
	if len(s.LossReasons) > 0 {
		if err := ValidateLossReasons(s.LossReasons); err != nil {
			return err
		}
	}
	if math.IsNaN(s.MarginFloor) || s.MarginFloor < 0 || s.MarginFloor > 100 {
		return Errorf(EINVALID, "margin floor must be a percentage from 0 to 100")
	}
	return s.Assessment.Validate()
}
