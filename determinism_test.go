package kamflow_test

import (
	"testing"

	"github.com/kamflow/kamflow"
)

// TestAssessmentRefusesTheSameBadScore: an assessment with several bad scores is refused for the
// first of them in the factors' sorted order, every time, so that a workflow's Update is refused
// alike on every replay (workflowcheck would flag the map range this replaced).
func TestAssessmentRefusesTheSameBadScore(t *testing.T) {
	scores := scoresWith(scoresWith(scoresWith(walkScores(), kamflow.FactorSolution, 0), kamflow.FactorCredit, 9), "gut_feeling", 5)
	for range 50 {
		e := newWalker(t).fail(assess(scores, "2026-08-31", 70, ""), kamflow.EINVALID)
		checkField(t, e, "scores.credit")
	}
}
