package kamflow_test

import (
	"math"
	"testing"
	"time"

	"github.com/kamflow/kamflow"
)

func TestAssessmentScore(t *testing.T) {
	m := kamflow.DefaultAssessmentModel()
	if m.Threshold != 60 {
		t.Errorf("default threshold %v, want 60", m.Threshold)
	}
	// With the default weights (funding and technical fit 15, the other seven 10: 100 in all) a
	// factor scored s adds weight·(s−1)/4 points.
	tests := []struct {
		name   string
		scores map[kamflow.Factor]int
		want   float64
	}{
		{"all 1", scoresAll(1), 0},
		{"all 5", scoresAll(5), 100},
		{"all 3", scoresAll(3), 50},
		{"all 2", scoresAll(2), 25},
		// 5 + 11.25 + 15 + 2.5 + 5 + 7.5 + 2.5 + 5 + 0 = 53.75 → 53.8
		{"mixed", mixedScores(), 53.8},
		{"walk", walkScores(), 76.3},
		// Funding and fit weigh 1.5×: both at 5 with the rest at 1 is 30, the reverse 70.
		{"only funding and fit", scoresWith(scoresWith(scoresAll(1), kamflow.FactorFunding, 5), kamflow.FactorTechnicalFit, 5), 30},
		{"everything but funding and fit", scoresWith(scoresWith(scoresAll(5), kamflow.FactorFunding, 1), kamflow.FactorTechnicalFit, 1), 70},
		{"threshold exactly", thresholdScores(0), 60},
		{"just below the threshold", thresholdScores(-1), 57.5},
		{"just above the threshold", thresholdScores(+1), 62.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := m.Score(tt.scores); got != tt.want {
				t.Errorf("score %v, want %v", got, tt.want)
			}
		})
	}

	custom := kamflow.AssessmentModel{Weights: map[kamflow.Factor]float64{kamflow.FactorFunding: 1, kamflow.FactorPrice: 2}, Threshold: 50}
	// funding 4 → ¾·1, price 2 → ¼·2: 1.25 of 3 = 41.666… → 41.7. The other factors weigh nothing.
	if got := custom.Score(scoresWith(scoresWith(scoresAll(5), kamflow.FactorFunding, 4), kamflow.FactorPrice, 2)); got != 41.7 {
		t.Errorf("custom model score %v, want 41.7", got)
	}
	if got := (kamflow.AssessmentModel{}).Score(scoresAll(5)); got != 0 {
		t.Errorf("weightless model score %v, want 0", got)
	}
}

func mixedScores() map[kamflow.Factor]int {
	return map[kamflow.Factor]int{
		kamflow.FactorProjectLevel: 3, kamflow.FactorFunding: 4, kamflow.FactorTechnicalFit: 5,
		kamflow.FactorRelationship: 2, kamflow.FactorCredit: 3, kamflow.FactorProduct: 4,
		kamflow.FactorPrice: 2, kamflow.FactorSolution: 3, kamflow.FactorService: 1,
	}
}

// thresholdScores scores funding and fit 5 (30 points) and the seven 10-weight factors so that
// they add 30 points (12 steps of 2.5), plus delta steps.
func thresholdScores(delta int) map[kamflow.Factor]int {
	m := scoresAll(3) // seven 10-weights at 3: 14 steps
	m[kamflow.FactorFunding], m[kamflow.FactorTechnicalFit] = 5, 5
	m[kamflow.FactorService] = 1 // 12 steps
	switch delta {
	case -1:
		m[kamflow.FactorSolution] = 2
	case 1:
		m[kamflow.FactorService] = 2
	}
	return m
}

// TestAssessmentThreshold: the threshold is inclusive and taken from the settings in force.
func TestAssessmentThreshold(t *testing.T) {
	tests := []struct {
		name      string
		threshold float64
		scores    map[kamflow.Factor]int
		score     float64
		passed    bool
	}{
		{"at the default threshold", 60, thresholdScores(0), 60, true},
		{"one step below", 60, thresholdScores(-1), 57.5, false},
		{"one step above", 60, thresholdScores(1), 62.5, true},
		{"threshold at a rounded score", 53.8, mixedScores(), 53.8, true},
		{"threshold a tenth above a rounded score", 53.9, mixedScores(), 53.8, false},
		{"walk without funding", 60, scoresWith(walkScores(), kamflow.FactorFunding, 1), 61.3, true},
		{"a score of 0 against threshold 0", 0, scoresAll(1), 0, true},
		{"full marks against threshold 100", 100, scoresAll(5), 100, true},
		{"almost full marks against threshold 100", 100, scoresWith(scoresAll(5), kamflow.FactorService, 4), 97.5, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWalker(t)
			w.s.Assessment.Threshold = tt.threshold
			w.do(assess(tt.scores, "2026-08-31", 70, ""))
			a := w.d.Assessment
			if a.Score != tt.score || a.Passed != tt.passed || a.Threshold != tt.threshold {
				t.Errorf("score %v passed %v threshold %v; want %v %v %v", a.Score, a.Passed, a.Threshold, tt.score, tt.passed, tt.threshold)
			}
			if got := w.d.GateOf(kamflow.Development).Items[0].Met; got != tt.passed {
				t.Errorf("assessment_passed met %v", got)
			}
		})
	}
	// A stored assessment keeps the threshold it was judged against.
	w := newWalker(t)
	w.do(assess(thresholdScores(0), "2026-08-31", 70, ""))
	w.s.Assessment.Threshold = 65
	if !w.d.Gate().Met {
		t.Errorf("raising the threshold later failed an assessment already passed")
	}
}

func TestComputeGrade(t *testing.T) {
	today := t0 // 2026-03-02 09:00 UTC
	tests := []struct {
		close      kamflow.Date
		likelihood int
		want       kamflow.Grade
	}{
		{dateIn(0), 70, kamflow.GradeA},
		{dateIn(183), 70, kamflow.GradeA},
		{dateIn(184), 70, kamflow.GradeB},
		{dateIn(183), 100, kamflow.GradeA},
		{dateIn(30), 69, kamflow.GradeB},
		{dateIn(366), 50, kamflow.GradeB},
		{dateIn(367), 50, kamflow.GradeC},
		{dateIn(367), 100, kamflow.GradeC},
		{dateIn(30), 49, kamflow.GradeC},
		{dateIn(2000), 30, kamflow.GradeC},
		{dateIn(30), 29, kamflow.GradeD},
		{dateIn(0), 0, kamflow.GradeD},
		{dateIn(-30), 70, kamflow.GradeA}, // a close date already past counts as imminent
		{dateIn(-30), 50, kamflow.GradeB},
		{"2026-09-01", 80, kamflow.GradeA}, // 183 days
		{"2026-09-02", 80, kamflow.GradeB}, // 184 days
		{"2027-03-03", 60, kamflow.GradeB}, // 366 days
		{"2027-03-04", 60, kamflow.GradeC}, // 367 days
	}
	for _, tt := range tests {
		t.Run(string(tt.close), func(t *testing.T) {
			if got := kamflow.ComputeGrade(tt.close, tt.likelihood, today); got != tt.want {
				t.Errorf("ComputeGrade(%s, %d) = %s, want %s", tt.close, tt.likelihood, got, tt.want)
			}
		})
	}
	// The time of day does not matter: late the same day is the same day.
	late := time.Date(2026, 3, 2, 23, 59, 59, 0, time.UTC)
	if got := kamflow.ComputeGrade("2026-09-01", 80, late); got != kamflow.GradeA {
		t.Errorf("late in the day: %s", got)
	}
}

func TestParseGrade(t *testing.T) {
	for _, g := range []string{"A", "B", "C", "D"} {
		if got, err := kamflow.ParseGrade(g); err != nil || string(got) != g {
			t.Errorf("ParseGrade(%q) = %q, %v", g, got, err)
		}
	}
	for _, g := range []string{"", "a", "E", "AB", " A"} {
		if _, err := kamflow.ParseGrade(g); kamflow.ErrorCode(err) != kamflow.EINVALID {
			t.Errorf("ParseGrade(%q) = %v, want invalid", g, err)
		}
	}
}

func TestAssessmentModelValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(*kamflow.AssessmentModel)
		ok   bool
	}{
		{"default", func(*kamflow.AssessmentModel) {}, true},
		{"a single weighted factor", func(m *kamflow.AssessmentModel) {
			m.Weights = map[kamflow.Factor]float64{kamflow.FactorFunding: 1}
		}, true},
		{"weights at the limits", func(m *kamflow.AssessmentModel) {
			m.Weights[kamflow.FactorPrice], m.Weights[kamflow.FactorService] = 0, 1000
		}, true},
		{"threshold 0 and 100", func(m *kamflow.AssessmentModel) { m.Threshold = 100 }, true},
		{"unknown factor", func(m *kamflow.AssessmentModel) { m.Weights["gut_feeling"] = 5 }, false},
		{"negative weight", func(m *kamflow.AssessmentModel) { m.Weights[kamflow.FactorPrice] = -1 }, false},
		{"weight over 1000", func(m *kamflow.AssessmentModel) { m.Weights[kamflow.FactorPrice] = 1000.5 }, false},
		{"NaN weight", func(m *kamflow.AssessmentModel) { m.Weights[kamflow.FactorPrice] = math.NaN() }, false},
		{"infinite weight", func(m *kamflow.AssessmentModel) { m.Weights[kamflow.FactorPrice] = math.Inf(1) }, false},
		{"all weights zero", func(m *kamflow.AssessmentModel) {
			for f := range m.Weights {
				m.Weights[f] = 0
			}
		}, false},
		{"no weights", func(m *kamflow.AssessmentModel) { m.Weights = nil }, false},
		{"threshold -1", func(m *kamflow.AssessmentModel) { m.Threshold = -1 }, false},
		{"threshold 101", func(m *kamflow.AssessmentModel) { m.Threshold = 101 }, false},
		{"threshold NaN", func(m *kamflow.AssessmentModel) { m.Threshold = math.NaN() }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := kamflow.DefaultAssessmentModel()
			tt.edit(&m)
			err := m.Validate()
			if tt.ok && err != nil {
				t.Errorf("unexpected %v", err)
			}
			if !tt.ok && kamflow.ErrorCode(err) != kamflow.EINVALID {
				t.Errorf("got %v, want invalid", err)
			}
		})
	}
}
