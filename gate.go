package kamflow

import (
	"fmt"
	"math"
	"strings"
)

// Gate item keys. They are stable: the API, the UI's translations and reports key on them.
const (
	GateAssessmentPassed   = "assessment_passed"
	GateGraded             = "graded"
	GateInsiderIdentified  = "insider_identified"
	GateKeyPersonEngaged   = "key_person_engaged"
	GateCriteriaFavourable = "criteria_favourable"
	GateProposalSubmitted  = "proposal_submitted"
	GateBidSubmitted       = "bid_submitted"
	GateMarginApproved     = "margin_approved"
	GateContractApproved   = "contract_approved"
	GateContractSigned     = "contract_signed"
	GateAccepted           = "accepted"
)

// GateKeys lists each stage's gate items in the order they are shown.
var GateKeys = map[Stage][]string{
	Development: {GateAssessmentPassed, GateGraded},
	Entry:       {GateInsiderIdentified, GateKeyPersonEngaged},
	Proposal:    {GateCriteriaFavourable, GateProposalSubmitted},
	Bid:         {GateBidSubmitted, GateMarginApproved},
	Negotiation: {GateContractApproved, GateContractSigned},
	Delivery:    {GateAccepted},
}

// GateItem is one condition of a key node, evaluated over the deal's recorded evidence.
type GateItem struct {
	Key  string `json:"key"`
	Met  bool   `json:"met"`
	Code string `json:"code"` // what the detail says, for the reader's language (GateTexts)
	// Params are the code's (says.go).
	Params Params `json:"params,omitempty"`
	// Detail is the same in English.
	Detail string `json:"detail"`
}

// Gate is the key node (关键节点) of a stage: met when every item is.
type Gate struct {
	Stage Stage      `json:"stage"`
	Met   bool       `json:"met"`
	Items []GateItem `json:"items"`
}

// Missing lists the keys of the unmet items.
func (g Gate) Missing() []string {
	out := []string{}
	for _, it := range g.Items {
		if !it.Met {
			out = append(out, it.Key)
		}
	}
	return out
}

// Gate evaluates the key node of the deal's current stage.
func (d *Deal) Gate() Gate { return d.GateOf(d.Stage) }

// GateOf evaluates the key node of stage st over the deal's evidence. For a deal imported past
// st, whatever evidence kamflow lacks counts as met by the import: the deal passed that key node
// before it came into kamflow.
func (d *Deal) GateOf(st Stage) Gate {
	g := Gate{Stage: st, Met: true}
	for _, key := range GateKeys[st] {
		met, text, detail := d.gateItem(key)
		if !met && d.Imported != nil && st.Index() < d.Imported.Stage.Index() {
			met, text, detail = true, Text{Code: "imported"}, ImportedEvidence
		}
		g.Items = append(g.Items, GateItem{Key: key, Met: met, Code: text.Code, Params: text.Params, Detail: detail})
		g.Met = g.Met && met
	}
	return g
}

// gateItem evaluates one item: whether it is met, and why, as a text and in English.
func (d *Deal) gateItem(key string) (met bool, text Text, detail string) {
	say := func(met bool, code string, params Params, detail string) (bool, Text, string) {
		return met, Text{Code: code, Params: params}, detail
	}
	switch key {
	case GateAssessmentPassed:
		a := d.Assessment
		if a == nil {
			return say(false, "not_assessed", nil, "not assessed yet")
		}
		p := Params{"score": a.Score, "threshold": a.Threshold}
		if a.Passed {
			return say(true, "score_passes", p, fmt.Sprintf("score %.1f reaches the threshold %.1f", a.Score, a.Threshold))
		}
		return say(false, "score_below", p, fmt.Sprintf("score %.1f is below the threshold %.1f", a.Score, a.Threshold))
	case GateGraded:
		if d.Assessment == nil || d.Assessment.Grade == "" {
			return say(false, "no_grade", nil, "no grade yet")
		}
		return say(true, "grade", Params{"grade": string(d.Assessment.Grade)}, "grade "+string(d.Assessment.Grade))
	case GateInsiderIdentified:
		names := d.stakeholderNames(func(s Stakeholder) bool { return s.Role == RoleInsider && !s.Stale })
		if len(names) == 0 {
			if stale := d.stakeholderNames(func(s Stakeholder) bool { return s.Role == RoleInsider }); len(stale) > 0 {
				return say(false, "insider_stale", Params{"names": stale}, "insider gone stale (no contact for too long): "+strings.Join(stale, ", "))
			}
			return say(false, "no_insider", nil, "no insider (内线) recorded")
		}
		return say(true, "insider", Params{"names": names}, "insider: "+strings.Join(names, ", "))
	case GateKeyPersonEngaged:
		names := d.stakeholderNames(func(s Stakeholder) bool { return s.Role == RoleDecisionMaker && s.Engaged && !s.Stale })
		if len(names) == 0 {
			if stale := d.stakeholderNames(func(s Stakeholder) bool { return s.Role == RoleDecisionMaker && s.Engaged && s.Stale }); len(stale) > 0 {
				return say(false, "dm_stale", Params{"names": stale}, "decision maker gone stale (no contact for too long): "+strings.Join(stale, ", "))
			}
			if len(d.stakeholderNames(func(s Stakeholder) bool { return s.Role == RoleDecisionMaker })) > 0 {
				return say(false, "dm_not_engaged", nil, "decision maker recorded but not engaged")
			}
			return say(false, "no_dm", nil, "no decision maker recorded")
		}
		return say(true, "engaged", Params{"names": names}, "engaged decision maker: "+strings.Join(names, ", "))
	case GateCriteriaFavourable:
		if len(d.Criteria) == 0 {
			return say(false, "no_criteria", nil, "no purchasing criteria recorded")
		}
		us, neutral, them := d.criteriaBalance()
		return say(us > them, "criteria", Params{"us": us, "neutral": neutral, "them": them},
			fmt.Sprintf("%d favour us, %d neutral, %d favour a competitor", us, neutral, them))
	case GateProposalSubmitted:
		if d.Proposal == nil {
			return say(false, "no_proposal", nil, "no proposal submitted")
		}
		return say(true, "proposal", Params{"date": string(d.Proposal.SubmittedOn)}, "submitted on "+string(d.Proposal.SubmittedOn))
	case GateBidSubmitted:
		if d.Bid == nil {
			return say(false, "no_bid", nil, "no bid recorded")
		}
		if !d.Bid.Submitted {
			return say(false, "bid_not_submitted", nil, "bid recorded but not submitted")
		}
		return say(true, "bid_submitted", Params{"price": money(d.Bid.Price, d.Currency)},
			"bid of "+d.Bid.Price.String()+" submitted")
	case GateMarginApproved:
		b := d.Bid
		if b == nil {
			return say(false, "no_bid", nil, "no bid recorded")
		}
		p := Params{"margin": b.MarginPct, "floor": b.Floor}
		if !b.BelowFloor() {
			return say(true, "margin_ok", p, fmt.Sprintf("margin %.2f%% is at or above the floor %.2f%%", b.MarginPct, b.Floor))
		}
		if b.MarginApprovedBy != "" {
			p["by"] = b.MarginApprovedBy
			return say(true, "margin_approved", p, fmt.Sprintf("margin %.2f%% below the floor %.2f%%, approved by %s", b.MarginPct, b.Floor, b.MarginApprovedBy))
		}
		return say(false, "margin_below", p, fmt.Sprintf("margin %.2f%% is below the floor %.2f%%: a director must approve", b.MarginPct, b.Floor))
	case GateContractApproved:
		if d.Contract.ApprovedBy == "" {
			return say(false, "contract_not_approved", nil, "contract not approved by a director")
		}
		return say(true, "contract_approved", Params{"by": d.Contract.ApprovedBy}, "approved by "+d.Contract.ApprovedBy)
	case GateContractSigned:
		if d.Contract.SignedOn == "" {
			return say(false, "contract_not_signed", nil, "contract not signed")
		}
		return say(true, "contract_signed", Params{"date": string(d.Contract.SignedOn)}, "signed on "+string(d.Contract.SignedOn))
	case GateAccepted:
		a := d.Acceptance
		if a == nil {
			return say(false, "no_acceptance", nil, "no acceptance test recorded")
		}
		switch a.Result {
		case AcceptancePass:
			return say(true, "acceptance_pass", nil, "acceptance passed")
		case AcceptancePassPunchList:
			return say(true, "acceptance_pass_with_punch_list", nil, "acceptance passed with a punch list")
		}
		return say(false, "acceptance_fail", nil, "acceptance failed")
	}
	return say(false, "unknown", Params{"key": key}, "unknown gate item")
}

func (d *Deal) stakeholderNames(match func(Stakeholder) bool) []string {
	var out []string
	for _, s := range d.Stakeholders {
		if match(s) {
			out = append(out, s.Name)
		}
	}
	return out
}

func (d *Deal) criteriaBalance() (us, neutral, them int) {
	for _, c := range d.Criteria {
		switch c.Favours {
		case FavoursUs:
			us++
		case FavoursCompetitor:
			them++
		default:
			neutral++
		}
	}
	return
}

// Probability is a deal's win probability with the reasons for it, so that a KAM can see what
// moved it (the forced-advance cut in particular).
type Probability struct {
	Value   int          `json:"value"` // percent, 0–100
	Factors []ProbFactor `json:"factors"`
}

// ProbFactor is one step of the win-probability computation.
type ProbFactor struct {
	Key    string `json:"key"`    // base, evidence, forced, outcome: the code of its text (ProbabilityTexts)
	Effect int    `json:"effect"` // percentage points this step added (negative: removed)
	Params Params `json:"params,omitempty"`
	Detail string `json:"detail"` // the same in English
}

// StageBaseProbability is the win probability of a deal on entering each stage, before any of the
// stage's evidence. A deal that reaches the next stage's door has earned that stage's base.
var StageBaseProbability = map[Stage]int{
	Development: 10, Entry: 20, Proposal: 35, Bid: 50, Negotiation: 70, Delivery: 100,
}

// ForcedCut is the factor applied to the win probability for each forced advance: the seeds say
// a deal pushed past an unmet key node has a much lower chance ("大大地降低").
const ForcedCut = 0.5

// WinProbability computes the deal's win probability: the stage's base, plus the share of the
// stage's gate items met times the step to the next stage's base, halved for each forced advance.
// A won or delivered deal is 100, a lost, withdrawn or abandoned one 0.
func (d *Deal) WinProbability() Probability {
	switch d.Status {
	case StatusWon, StatusDelivered:
		return Probability{Value: 100, Factors: []ProbFactor{{Key: "outcome", Effect: 100, Params: Params{"status": d.Status}, Detail: "contract signed"}}}
	case StatusLost, StatusWithdrawn, StatusAbandoned:
		return Probability{Value: 0, Factors: []ProbFactor{{Key: "outcome", Effect: 0, Params: Params{"status": d.Status}, Detail: "deal " + string(d.Status)}}}
	}
	base := StageBaseProbability[d.Stage]
	p := Probability{Factors: []ProbFactor{{Key: "base", Effect: base, Params: Params{"stage": d.Stage},
		Detail: "base rate of the " + string(d.Stage) + " stage"}}}
	v := float64(base)
	if next, ok := d.Stage.Next(); ok {
		g := d.Gate()
		met := len(g.Items) - len(g.Missing())
		step := float64(StageBaseProbability[next]-base) * float64(met) / float64(len(g.Items))
		v += step
		p.Factors = append(p.Factors, ProbFactor{Key: "evidence", Effect: int(math.Round(step)),
			Params: Params{"met": met, "total": len(g.Items)}, Detail: fmt.Sprintf("%d of %d key-node items met", met, len(g.Items))})
	}
	for _, f := range d.Forces {
		before := v
		v *= ForcedCut
		p.Factors = append(p.Factors, ProbFactor{Key: "forced", Effect: int(math.Round(v - before)),
			Params: Params{"from": f.From, "to": f.To, "missing": orNone(f.Missing)}, Detail: fmt.Sprintf("forced from %s to %s past %s", f.From, f.To, strings.Join(f.Missing, ", "))})
	}
	p.Value = int(math.Round(v))
	return p
}
