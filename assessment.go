package kamflow

import (
	"math"
	"sort"
	"time"
)

// Factor is one criterion of the opportunity assessment model (机会评估模型). Each is scored 1–5.
type Factor string

// Project factors judge the opportunity itself; competition factors judge us against the
// competitors on it.
const (
	FactorProjectLevel Factor = "project_level" // size and level of the project
	FactorFunding      Factor = "funding"       // is the money there
	FactorTechnicalFit Factor = "technical_fit" // can we meet the technical requirements
	FactorRelationship Factor = "relationship"  // our relationship with the customer
	FactorCredit       Factor = "credit"        // the customer's credit
	FactorProduct      Factor = "product"       // our product against the competitors'
	FactorPrice        Factor = "price"         // our price position
	FactorSolution     Factor = "solution"      // our technical solution
	FactorService      Factor = "service"       // our after-sales service
)

// Factors lists every factor, project factors first.
var Factors = []Factor{
	FactorProjectLevel, FactorFunding, FactorTechnicalFit, FactorRelationship, FactorCredit,
	FactorProduct, FactorPrice, FactorSolution, FactorService,
}

// AssessmentModel weighs the factors into a score from 0 to 100; a score at or above the threshold
// passes, and only a passed opportunity may enter the sales process.
type AssessmentModel struct {
	Weights   map[Factor]float64 `json:"weights"`
	Threshold float64            `json:"threshold"`
}

// DefaultAssessmentModel weighs funding and technical fit highest: an unfunded project or one we
// cannot build is not an opportunity, whatever else is true.
func DefaultAssessmentModel() AssessmentModel {
	return AssessmentModel{
		Weights: map[Factor]float64{
			FactorProjectLevel: 10, FactorFunding: 15, FactorTechnicalFit: 15, FactorRelationship: 10,
			FactorCredit: 10, FactorProduct: 10, FactorPrice: 10, FactorSolution: 10, FactorService: 10,
		},
		Threshold: 60,
	}
}

// Validate checks weights and threshold.
func (m AssessmentModel) Validate() error {
	total := 0.0
	for f, w := range m.Weights {
		if !f.valid() {
			return Errorf(EINVALID, "unknown assessment factor %q", f)
		}
		if math.IsNaN(w) || w < 0 || w > 1000 {
			return Errorf(EINVALID, "weight of %s must be from 0 to 1000", f)
		}
		total += w
	}
	if total <= 0 {
		return Errorf(EINVALID, "assessment weights must not all be zero")
	}
	if math.IsNaN(m.Threshold) || m.Threshold < 0 || m.Threshold > 100 {
		return Errorf(EINVALID, "assessment threshold must be from 0 to 100")
	}
	return nil
}

func (f Factor) valid() bool {
	for _, x := range Factors {
		if x == f {
			return true
		}
	}
	return false
}

// Score weighs scores (1–5 per factor) into 0–100, rounded to one decimal: a factor scored 1 adds
// nothing, a factor scored 5 adds its full weight.
func (m AssessmentModel) Score(scores map[Factor]int) float64 {
	var sum, total float64
	for _, f := range Factors {
		w := m.Weights[f]
		total += w
		sum += w * float64(scores[f]-1) / 4
	}
	if total == 0 {
		return 0
	}
	return math.Round(sum/total*1000) / 10
}

// Grade ranks an opportunity for the time the KAM puts in:
// A — all in, enter the sales process now; B — control the time, maintain; C — watch for changes;
// D — last priority.
type Grade string

// The four grades.
const (
	GradeA Grade = "A"
	GradeB Grade = "B"
	GradeC Grade = "C"
	GradeD Grade = "D"
)

// ParseGrade parses A–D.
func ParseGrade(s string) (Grade, error) {
	switch g := Grade(s); g {
	case GradeA, GradeB, GradeC, GradeD:
		return g, nil
	}
	return "", Errorf(EINVALID, "grade %q must be one of A, B, C, D", s)
}

// ComputeGrade grades by how soon the deal is expected to close and how likely we are to win it
// (0–100): A closes within six months at 70% or better, B within a year at 50% or better, C is any
// other deal at 30% or better, D the rest. A close date already past counts as imminent.
func ComputeGrade(expectedClose Date, likelihood int, today time.Time) Grade {
	days := expectedClose.Time().Sub(today.UTC().Truncate(Day)) / Day
	switch {
	case likelihood >= 70 && days <= 183:
		return GradeA
	case likelihood >= 50 && days <= 366:
		return GradeB
	case likelihood >= 30:
		return GradeC
	}
	return GradeD
}

// Assessment is the recorded result of assessing and grading the opportunity.
type Assessment struct {
	Scores        map[Factor]int `json:"scores"`
	ExpectedClose Date           `json:"expected_close"`
	Likelihood    int            `json:"likelihood"`
	Score         float64        `json:"score"`
	Threshold     float64        `json:"threshold"` // the model's threshold when it was assessed
	Passed        bool           `json:"passed"`
	Grade         Grade          `json:"grade"`
	GradeComputed bool           `json:"grade_computed"` // false when the KAM set the grade by hand
	AssessedBy    string         `json:"assessed_by"`
	AssessedAt    time.Time      `json:"assessed_at"`
}

// missingFactors lists the factors absent from scores, sorted.
func missingFactors(scores map[Factor]int) []string {
	var out []string
	for _, f := range Factors {
		if _, ok := scores[f]; !ok {
			out = append(out, string(f))
		}
	}
	sort.Strings(out)
	return out
}

// scoredFactors lists the factors scored in scores, known ones or not, sorted, so that a check
// that stops at the first bad score reports the same one every time (and on every replay of a
// workflow), which ranging over the map would not.
func scoredFactors(scores map[Factor]int) []Factor {
	out := make([]Factor, 0, len(scores))
	// The keys are sorted below: the map's order never shows.
	//workflowcheck:ignore
	for f := range scores {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
