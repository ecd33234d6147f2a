package kamflow

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Phase is where the relationship with a customer stands in its lifecycle (客户生命周期). The
// seeds divide it by business volume and profit into four phases; a relationship can fall into
// decline from any of the others.
type Phase string

// The lifecycle phases.
const (
	PhaseExploration Phase = "exploration" // 考察期: both sides test each other; no business yet
	PhaseFormation   Phase = "formation"   // 形成期: first business; fast growth, still fragile
	PhaseStability   Phase = "stability"   // 稳定期: repeated business, mutual dependence
	PhaseDecline     Phase = "decline"     // 退化期: business fading or gone
)

// Phases lists the phases in their usual order.
var Phases = []Phase{PhaseExploration, PhaseFormation, PhaseStability, PhaseDecline}

// ParsePhase parses a phase name.
func ParsePhase(s string) (Phase, error) {
	v := Phase(strings.ToLower(strings.TrimSpace(s)))
	if slices.Contains(Phases, v) {
		return v, nil
	}
	return "", Errorf(EINVALID, "unknown lifecycle phase %q (want exploration, formation, stability or decline)", s)
}

// LoyaltyRung is a rung of the loyalty ladder (忠诚度阶梯). The first three follow from what the
// customer bought; the upper three are a KAM's judgement of how the customer behaves, which no
// record shows, so they are only ever set by hand.
type LoyaltyRung string

// The rungs, from the bottom of the ladder.
const (
	RungProspect       LoyaltyRung = "prospect"         // 潜在客户
	RungFirstTimeBuyer LoyaltyRung = "first_time_buyer" // 首次购买客户
	RungRepeatBuyer    LoyaltyRung = "repeat_buyer"     // 重复购买客户: may still buy from competitors too
	RungSupporter      LoyaltyRung = "supporter"        // 支持者: buys this product category from us only
	RungAdvocate       LoyaltyRung = "advocate"         // 宣传者: praises and recommends us
	RungPartner        LoyaltyRung = "partner"          // 合作伙伴: we take part in the customer's development plans
)

// LoyaltyRungs lists the rungs from the bottom.
var LoyaltyRungs = []LoyaltyRung{RungProspect, RungFirstTimeBuyer, RungRepeatBuyer, RungSupporter, RungAdvocate, RungPartner}

// WonDeal is a deal the customer signed, as the lifecycle reads it.
type WonDeal struct {
	DealID   string    `json:"deal_id"`
	Value    Money     `json:"value"`
	Currency string    `json:"currency"`
	At       time.Time `json:"at"` // when the contract was signed
}

// AccountHistory is what the lifecycle is derived from: the account's won deals and when the
// customer was last dealt with. A zero time is never.
type AccountHistory struct {
	Won               []WonDeal
	LastDealAt        time.Time // the newest deal opened
	LastInteractionAt time.Time // the newest interaction logged
	LastServiceAt     time.Time // the newest service visit reported
}

// Lifecycle reasons: why the derivation gave its phase. The API and the UI key on them.
const (
	ReasonNoWonDeal     = "no_won_deal"
	ReasonOneWonDeal    = "one_won_deal"
	ReasonWinsSpreadOut = "wins_spread_out"
	ReasonRepeatWins    = "repeat_wins"
	ReasonDormant       = "dormant"
	ReasonFallingValue  = "falling_value"
)

// LifecycleDerivation is the phase and rung the account's record gives, and why.
type LifecycleDerivation struct {
	Phase  Phase       `json:"phase"`
	Rung   LoyaltyRung `json:"rung"`
	Reason string      `json:"reason"`
	Detail string      `json:"detail"`
	// WonDeals counts the deals ever won, WonInWindow those won in the repeat window.
	WonDeals    int `json:"won_deals"`
	WonInWindow int `json:"won_in_window"`
	// LastActivityAt is the newest deal opened or won, interaction or service visit.
	LastActivityAt *time.Time `json:"last_activity_at,omitempty"`
	// Falling is set when each of the last three won deals was worth less than the one before.
	Falling bool `json:"falling"`
}

// DeriveLifecycle derives the lifecycle phase and loyalty rung from the account's history:
//
//	no won deal                                          exploration, prospect
//	won, but nothing for DormantMonths (no deal opened
//	or won, no interaction, no service visit)           decline
//	won, and the last three won deals each smaller       decline
//	≥ 2 won within RepeatWindowYears                     stability
//	otherwise (one won, or wins spread out)              formation
//
// and the rung is prospect without a won deal, first_time_buyer with one, repeat_buyer with
// more. A prospect that goes quiet stays in exploration: there is no relationship to decline yet.
// Values are compared only when the three deals are in one currency.
func DeriveLifecycle(h AccountHistory, now time.Time, s AccountSettings) LifecycleDerivation {
	won := slices.Clone(h.Won)
	slices.SortFunc(won, func(a, b WonDeal) int {
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		return strings.Compare(a.DealID, b.DealID)
	})
	n := len(won)
	d := LifecycleDerivation{WonDeals: n, Rung: RungProspect}
	switch {
	case n == 1:
		d.Rung = RungFirstTimeBuyer
	case n > 1:
		d.Rung = RungRepeatBuyer
	}
	windowStart := now.AddDate(-s.RepeatWindowYears, 0, 0)
	for _, w := range won {
		if !w.At.Before(windowStart) {
			d.WonInWindow++
		}
	}
	last := h.LastDealAt
	for _, t := range []time.Time{h.LastInteractionAt, h.LastServiceAt} {
		if t.After(last) {
			last = t
		}
	}
	if n > 0 && won[n-1].At.After(last) {
		last = won[n-1].At
	}
	if !last.IsZero() {
		l := last.UTC()
		d.LastActivityAt = &l
	}
	if n >= 3 {
		a, b, c := won[n-3], won[n-2], won[n-1]
		d.Falling = a.Currency == b.Currency && b.Currency == c.Currency && a.Value > b.Value && b.Value > c.Value
	}
	dormantSince := now.AddDate(0, -s.DormantMonths, 0)
	switch {
	case n == 0:
		d.Phase, d.Reason, d.Detail = PhaseExploration, ReasonNoWonDeal, "no deal won yet"
	case last.Before(dormantSince):
		d.Phase, d.Reason = PhaseDecline, ReasonDormant
		d.Detail = fmt.Sprintf("no deal, interaction or service visit since %s (over %d months)", DateOf(last.UTC()), s.DormantMonths)
	case d.Falling:
		a, b, c := won[n-3], won[n-2], won[n-1]
		d.Phase, d.Reason = PhaseDecline, ReasonFallingValue
		d.Detail = fmt.Sprintf("the last three won deals fell: %s, %s, %s %s", a.Value, b.Value, c.Value, c.Currency)
	case d.WonInWindow >= 2:
		d.Phase, d.Reason = PhaseStability, ReasonRepeatWins
		d.Detail = fmt.Sprintf("%d deals won in the last %d years", d.WonInWindow, s.RepeatWindowYears)
	case n >= 2:
		d.Phase, d.Reason = PhaseFormation, ReasonWinsSpreadOut
		d.Detail = fmt.Sprintf("%d deals won, but fewer than 2 in the last %d years", n, s.RepeatWindowYears)
	default:
		d.Phase, d.Reason, d.Detail = PhaseFormation, ReasonOneWonDeal, "one deal won"
	}
	return d
}

// LifecycleOverride is a KAM's or director's judgement over the derived lifecycle: the phase, the
// rung or both ("" keeps the derived one), with who set it, when and why.
type LifecycleOverride struct {
	Phase  Phase       `json:"phase,omitempty"`
	Rung   LoyaltyRung `json:"rung,omitempty"`
	Reason string      `json:"reason"`
	By     string      `json:"by"`
	At     time.Time   `json:"at"`
}

// LifecycleInput sets or removes the override: a phase, a rung or both, always with a reason.
// Neither removes the override, and the account follows its record again.
type LifecycleInput struct {
	Phase  Phase       `json:"phase,omitempty"`
	Rung   LoyaltyRung `json:"rung,omitempty"`
	Reason string      `json:"reason"`
}

// Override checks the input and returns the override it sets (nil: none).
func (in LifecycleInput) Override(by string, now time.Time) (*LifecycleOverride, error) {
	if in.Phase != "" && !slices.Contains(Phases, in.Phase) {
		return nil, Errorf(EINVALID, "unknown lifecycle phase %q (want exploration, formation, stability or decline)", in.Phase).WithDetail("field", "phase")
	}
	if in.Rung != "" && !slices.Contains(LoyaltyRungs, in.Rung) {
		return nil, Errorf(EINVALID, "unknown loyalty rung %q (want prospect, first_time_buyer, repeat_buyer, supporter, advocate or partner)", in.Rung).WithDetail("field", "rung")
	}
	reason := strings.TrimSpace(in.Reason)
	if err := checkText("reason", reason, true, maxReason); err != nil {
		return nil, err
	}
	if in.Phase == "" && in.Rung == "" {
		return nil, nil
	}
	return &LifecycleOverride{Phase: in.Phase, Rung: in.Rung, Reason: reason, By: by, At: now}, nil
}

// LifecycleAudit is the audit entry of a change of an account's override.
func LifecycleAudit(accountID string, before, after *LifecycleOverride, by, reason string, now time.Time) *AuditEntry {
	e := &AuditEntry{At: now, Actor: by, Action: "account.lifecycle", EntityType: "account", EntityID: accountID}
	if before != nil {
		e.Before = before
	}
	if after != nil {
		e.After = after
		var parts []string
		if after.Phase != "" {
			parts = append(parts, "phase "+string(after.Phase))
		}
		if after.Rung != "" {
			parts = append(parts, "rung "+string(after.Rung))
		}
		e.Summary = fmt.Sprintf("lifecycle set by hand to %s: %s", strings.Join(parts, ", "), reason)
	} else {
		e.Summary = "lifecycle override removed, derived from the record again: " + reason
	}
	return e
}

// Lifecycle is an account's lifecycle as shown: the override's phase and rung where it sets them,
// the derived ones elsewhere, and the marketing mix for the phase.
type Lifecycle struct {
	Phase        Phase               `json:"phase"`
	Rung         LoyaltyRung         `json:"rung"`
	Derived      LifecycleDerivation `json:"derived"`
	Override     *LifecycleOverride  `json:"override,omitempty"`
	MarketingMix MarketingMix        `json:"marketing_mix"`
}

// ResolveLifecycle combines the derivation and the override.
func ResolveLifecycle(d LifecycleDerivation, o *LifecycleOverride) Lifecycle {
	l := Lifecycle{Phase: d.Phase, Rung: d.Rung, Derived: d, Override: o}
	if o != nil {
		if o.Phase != "" {
			l.Phase = o.Phase
		}
		if o.Rung != "" {
			l.Rung = o.Rung
		}
	}
	l.MarketingMix = PhaseMarketingMix[l.Phase]
	return l
}

// Marketing approaches of the lifecycle's marketing mix.
const (
	MarketingRelationship = "relationship" // 关系营销
	MarketingBrand        = "brand"        // 品牌营销
)

// MarketingMix is the seeds' compound marketing approach for a lifecycle phase: the main approach,
// the supporting one ("" for none), and the advice.
type MarketingMix struct {
	Primary   string `json:"primary"`
	Secondary string `json:"secondary,omitempty"`
	Advice    Advice `json:"advice"`
}

// PhaseMarketingMix is the marketing mix of each phase (客户生命周期各阶段营销对策): relationship
// marketing where there is little or no business (exploration and decline), relationship first
// and brand second while the relationship forms, brand first and relationship second once stable.
var PhaseMarketingMix = map[Phase]MarketingMix{
	PhaseExploration: {Primary: MarketingRelationship, Advice: Advice{
		ZH: "考察期以关系营销为主。双方在考察和测试彼此的相容性、诚意和绩效,工业品一旦成交采购量大,客户不会轻易做出购买决策:通过关系营销加强彼此了解,找出妨碍合作的原因,及时增补和调整营销策略。",
		EN: "Exploration: relationship marketing. Both sides are testing each other's fit, sincerity and performance, and with so much at stake the customer will not decide lightly: deepen mutual understanding through the relationship, find what stands in the way of cooperation, and adjust the approach in time.",
	}},
	PhaseFormation: {Primary: MarketingRelationship, Secondary: MarketingBrand, Advice: Advice{
		ZH: "形成期以关系营销为主,品牌营销为辅。关系发展快但破裂风险大:保持与客户的良好关系,同时重视新闻媒体、政府和公众等公共关系,巩固考察期的信任成果;在双向交流中向客户渗透企业品牌的内涵,维持良好的企业形象。",
		EN: "Formation: relationship marketing first, brand marketing second. The relationship grows fast but can still break: keep it close, and tend the wider public relations (press, government, the public) to consolidate the trust won; in two-way exchange with the customer, convey what the brand stands for and keep a good company image.",
	}},
	PhaseStability: {Primary: MarketingBrand, Secondary: MarketingRelationship, Advice: Advice{
		ZH: "稳定期以品牌营销为主,关系营销为辅。双方高度满意、依赖程度最高:以品牌营销维持长期合作,借助品牌树立竞争对手无法模仿的差异化优势,利用各利益相关者的忠诚获得更多市场支持。",
		EN: "Stability: brand marketing first, relationship marketing second. Both sides are highly satisfied and depend on each other most: keep the long-term cooperation through the brand, a differentiation competitors cannot copy, and draw on the loyalty of all stakeholders for wider market support.",
	}},
	PhaseDecline: {Primary: MarketingRelationship, Advice: Advice{
		ZH: "退化期以关系营销为主。交易量小甚至没有,原因多是客户需求变化或有了更好的合作者:通过关系营销找出无法维持合作的原因,及时增补和调整营销策略。",
		EN: "Decline: relationship marketing. There is little or no business, usually because the customer's needs changed or a better partner appeared: use the relationship to find out why the cooperation is fading, and adjust the approach in time.",
	}},
}
