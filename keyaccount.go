package kamflow

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// This file holds the account as a key-account record (大客户档案): its profile (the customer's
// organisation, decision structure and business trends), its value segmentation, the settings of
// both, the Pareto view of the account base, and the handover of an account to another KAM. The
// buying center across deals (contacts) and the interactions are in contact.go, the lifecycle and
// the loyalty ladder in lifecycle.go.

// AccountProfile is what the account record knows of the customer beyond its name and address
// (the seeds' 客户基本信息 and 客户经营动向). Every field is free text the KAM keeps up to date.
type AccountProfile struct {
	Phone   string `json:"phone,omitempty"`
	Email   string `json:"email,omitempty"`
	Website string `json:"website,omitempty"`
	// Organisation is the customer's organisation and decision structure: departments, factions,
	// the decision process (组织结构、决策结构、派系结构、决策流程). The people themselves are contacts.
	Organisation string `json:"organisation,omitempty"`
	Products     string `json:"products,omitempty"`    // 产品结构
	Market       string `json:"market,omitempty"`      // 市场销售状况
	Finance      string `json:"finance,omitempty"`     // 财务状况
	Credit       string `json:"credit,omitempty"`      // 信用状况
	Competitors  string `json:"competitors,omitempty"` // 竞争对手
	Strategy     string `json:"strategy,omitempty"`    // 经营战略规划
}

// AccountProfileInput patches a profile: the non-nil fields are set.
type AccountProfileInput struct {
	Phone        *string `json:"phone,omitempty"`
	Email        *string `json:"email,omitempty"`
	Website      *string `json:"website,omitempty"`
	Organisation *string `json:"organisation,omitempty"`
	Products     *string `json:"products,omitempty"`
	Market       *string `json:"market,omitempty"`
	Finance      *string `json:"finance,omitempty"`
	Credit       *string `json:"credit,omitempty"`
	Competitors  *string `json:"competitors,omitempty"`
	Strategy     *string `json:"strategy,omitempty"`
}

// ApplyTo checks the input and copies its set fields onto p.
func (in AccountProfileInput) ApplyTo(p *AccountProfile) error {
	for _, f := range []struct {
		name string
		v    *string
		dst  *string
		max  int
	}{
		{"profile.phone", in.Phone, &p.Phone, maxName},
		{"profile.email", in.Email, &p.Email, maxName},
		{"profile.website", in.Website, &p.Website, maxName},
		{"profile.organisation", in.Organisation, &p.Organisation, maxText},
		{"profile.products", in.Products, &p.Products, maxText},
		{"profile.market", in.Market, &p.Market, maxText},
		{"profile.finance", in.Finance, &p.Finance, maxText},
		{"profile.credit", in.Credit, &p.Credit, maxText},
		{"profile.competitors", in.Competitors, &p.Competitors, maxText},
		{"profile.strategy", in.Strategy, &p.Strategy, maxText},
	} {
		if f.v == nil {
			continue
		}
		v := strings.TrimSpace(*f.v)
		if err := checkText(f.name, v, false, f.max); err != nil {
			return err
		}
		*f.dst = v
	}
	return nil
}

// ValueFactor is one indicator of a customer's value (客户价值). The seeds split it into current
// value, computed from the trading record, and future value, which can only be judged.
type ValueFactor string

// The value factors.
const (
	// Current value (当前价值), over the last twelve months, in the reporting currency.
	ValueGrossProfit   ValueFactor = "gross_profit"   // 毛利润
	ValueSalesVolume   ValueFactor = "sales_volume"   // 销售量
	ValueMarketingCost ValueFactor = "marketing_cost" // 营销成本: sales discounts plus finance costs
	// Future value (未来价值).
	ValueIndustryPosition ValueFactor = "industry_position" // 客户行业地位
	ValueCooperation      ValueFactor = "cooperation_years" // 合作期限
	ValueSatisfaction     ValueFactor = "satisfaction"      // 客户满意度
)

// ValueFactors lists the factors: current value first, then future value.
var ValueFactors = []ValueFactor{ValueGrossProfit, ValueSalesVolume, ValueMarketingCost,
	ValueIndustryPosition, ValueCooperation, ValueSatisfaction}

// AccountValue holds the inputs of an account's value score. The amounts are the last twelve
// months' figures in the company's reporting currency (whatever currencies the deals were in);
// the judgements are on a scale of 1 to 5, 0 while not judged.
type AccountValue struct {
	GrossProfit   Money `json:"gross_profit"`
	SalesVolume   Money `json:"sales_volume"`
	MarketingCost Money `json:"marketing_cost"`
	// IndustryPosition is the customer's standing in its industry: 1 a marginal player, 5 the
	// leader.
	IndustryPosition int `json:"industry_position"`
	// CooperationYears is how many years the customer has worked with us.
	CooperationYears int `json:"cooperation_years"`
	// Satisfaction is the customer's satisfaction with us: 1 very dissatisfied, 5 very satisfied.
	Satisfaction int `json:"satisfaction"`
}

// Empty reports whether no input is set: such an account is not segmented yet.
func (v AccountValue) Empty() bool { return v == AccountValue{} }

// AccountValueInput patches the value inputs: the non-nil fields are set.
type AccountValueInput struct {
	GrossProfit      *Money `json:"gross_profit,omitempty"`
	SalesVolume      *Money `json:"sales_volume,omitempty"`
	MarketingCost    *Money `json:"marketing_cost,omitempty"`
	IndustryPosition *int   `json:"industry_position,omitempty"`
	CooperationYears *int   `json:"cooperation_years,omitempty"`
	Satisfaction     *int   `json:"satisfaction,omitempty"`
}

// MaxCooperationYears bounds the years of cooperation: more is a typo.
const MaxCooperationYears = 200

// ApplyTo checks the input and copies its set fields onto v.
func (in AccountValueInput) ApplyTo(v *AccountValue) error {
	for _, m := range []struct {
		v   *Money
		dst *Money
	}{{in.GrossProfit, &v.GrossProfit}, {in.SalesVolume, &v.SalesVolume}, {in.MarketingCost, &v.MarketingCost}} {
		if m.v != nil {
			*m.dst = *m.v // Money's decoder already refused negative, malformed and huge amounts
		}
	}
	for _, n := range []struct {
		name     string
		v        *int
		dst      *int
		min, max int
	}{
		{"value.industry_position", in.IndustryPosition, &v.IndustryPosition, 0, 5},
		{"value.cooperation_years", in.CooperationYears, &v.CooperationYears, 0, MaxCooperationYears},
		{"value.satisfaction", in.Satisfaction, &v.Satisfaction, 0, 5},
	} {
		if n.v == nil {
			continue
		}
		if *n.v < n.min || *n.v > n.max {
			return Errorf(EINVALID, "%s must be from %d to %d", n.name, n.min, n.max).WithDetail("field", n.name)
		}
		*n.dst = *n.v
	}
	return nil
}

// Segment is a customer's value segment (客户细分).
type Segment string

// The segments. The seeds' Pareto rule: the strategic customers (战略客户), about a fifth of
// them, bring about four fifths of the profit; the rest are general customers (一般客户). An
// account without any value input has no segment ("").
const (
	SegmentStrategic Segment = "strategic"
	SegmentGeneral   Segment = "general"
)

// Segments lists the segments.
var Segments = []Segment{SegmentStrategic, SegmentGeneral}

// ParseSegment parses a segment name.
func ParseSegment(s string) (Segment, error) {
	v := Segment(strings.ToLower(strings.TrimSpace(s)))
	if slices.Contains(Segments, v) {
		return v, nil
	}
	return "", Errorf(EINVALID, "unknown segment %q (want strategic or general)", s).WithDetail("field", "segment")
}

// AccountSettings are the admin's knobs of the key-account record: the value score's weights and
// the strategic threshold, and the windows that derive the lifecycle and flag stale contacts.
type AccountSettings struct {
	// Weights weigh the value factors; only their ratios matter (they need not sum to 100).
	Weights map[ValueFactor]float64 `json:"weights"`
	// StrategicThreshold is the value score (0–100) from which an account is strategic.
	StrategicThreshold float64 `json:"strategic_threshold"`
	// FullCooperationYears is the years of cooperation that score full marks.
	FullCooperationYears int `json:"full_cooperation_years"`
	// StaleContactDays is how long a contact may go without an interaction before it is stale.
	StaleContactDays int `json:"stale_contact_days"`
	// RepeatWindowYears is the window in which two won deals make the relationship stable.
	RepeatWindowYears int `json:"repeat_window_years"`
	// DormantMonths is how long an account with business may go without a deal, an interaction or
	// a service visit before it is in decline.
	DormantMonths int `json:"dormant_months"`
}

// DefaultAccountSettings are the settings of a fresh installation. Current value weighs 60,
// future value 40; profit counts most, then what the customer's satisfaction and standing promise.
func DefaultAccountSettings() AccountSettings {
	return AccountSettings{
		Weights: map[ValueFactor]float64{
			ValueGrossProfit: 30, ValueSalesVolume: 20, ValueMarketingCost: 10,
			ValueIndustryPosition: 15, ValueCooperation: 10, ValueSatisfaction: 15,
		},
		StrategicThreshold:   60,
		FullCooperationYears: 10,
		StaleContactDays:     90,
		RepeatWindowYears:    3,
		DormantMonths:        12,
	}
}

// Validate checks every field.
func (s AccountSettings) Validate() error {
	var sum float64
	for f, w := range s.Weights {
		if !slices.Contains(ValueFactors, f) {
			return Errorf(EINVALID, "unknown value factor %q", f).WithDetail("field", "weights")
		}
		if math.IsNaN(w) || w < 0 || w > 100 {
			return Errorf(EINVALID, "the weight of %s must be from 0 to 100", f).WithDetail("field", "weights")
		}
		sum += w
	}
	if sum <= 0 {
		return Errorf(EINVALID, "at least one value factor must weigh more than 0").WithDetail("field", "weights")
	}
	if math.IsNaN(s.StrategicThreshold) || s.StrategicThreshold <= 0 || s.StrategicThreshold > 100 {
		return Errorf(EINVALID, "strategic_threshold must be above 0 and at most 100").WithDetail("field", "strategic_threshold")
	}
	for _, n := range []struct {
		name     string
		v        int
		min, max int
	}{
		{"full_cooperation_years", s.FullCooperationYears, 1, 50},
		{"stale_contact_days", s.StaleContactDays, 1, 3650},
		{"repeat_window_years", s.RepeatWindowYears, 1, 20},
		{"dormant_months", s.DormantMonths, 1, 120},
	} {
		if n.v < n.min || n.v > n.max {
			return Errorf(EINVALID, "%s must be from %d to %d", n.name, n.min, n.max).WithDetail("field", n.name)
		}
	}
	return nil
}

// StaleAfter is how long a contact may go without an interaction.
func (s AccountSettings) StaleAfter() time.Duration { return time.Duration(s.StaleContactDays) * Day }

// AccountSettingsInput changes the settings: the fields sent are set, the weights sent replace
// those of their factors, and everything left out stays as it is.
type AccountSettingsInput struct {
	Weights              map[ValueFactor]float64 `json:"weights,omitempty"`
	StrategicThreshold   *float64                `json:"strategic_threshold,omitempty"`
	FullCooperationYears *int                    `json:"full_cooperation_years,omitempty"`
	StaleContactDays     *int                    `json:"stale_contact_days,omitempty"`
	RepeatWindowYears    *int                    `json:"repeat_window_years,omitempty"`
	DormantMonths        *int                    `json:"dormant_months,omitempty"`
}

// Apply returns s changed by the input, checked.
func (in AccountSettingsInput) Apply(s AccountSettings) (AccountSettings, error) {
	out := s
	out.Weights = make(map[ValueFactor]float64, len(ValueFactors))
	for f, w := range s.Weights {
		out.Weights[f] = w
	}
	for f, w := range in.Weights {
		out.Weights[f] = w
	}
	if in.StrategicThreshold != nil {
		out.StrategicThreshold = *in.StrategicThreshold
	}
	for _, n := range []struct {
		v   *int
		dst *int
	}{
		{in.FullCooperationYears, &out.FullCooperationYears}, {in.StaleContactDays, &out.StaleContactDays},
		{in.RepeatWindowYears, &out.RepeatWindowYears}, {in.DormantMonths, &out.DormantMonths},
	} {
		if n.v != nil {
			*n.dst = *n.v
		}
	}
	return out, out.Validate()
}

// ValueScale is what the amounts of the value score are measured against: the largest gross
// profit and sales volume of any account.
type ValueScale struct {
	MaxGrossProfit Money `json:"max_gross_profit"`
	MaxSalesVolume Money `json:"max_sales_volume"`
}

// ScaleOf returns the scale of a set of accounts' value inputs.
func ScaleOf(values []AccountValue) ValueScale {
	var s ValueScale
	for _, v := range values {
		s.MaxGrossProfit = max(s.MaxGrossProfit, v.GrossProfit)
		s.MaxSalesVolume = max(s.MaxSalesVolume, v.SalesVolume)
	}
	return s
}

// MarketingCostCeiling is the share of the sales volume at which the marketing cost scores
// nothing: serving a customer who takes a fifth of what they buy back in discounts and finance
// costs is as costly as it gets.
const MarketingCostCeiling = 0.20

// FactorScore is one factor's part in a value score.
type FactorScore struct {
	Factor ValueFactor `json:"factor"`
	// Score is the factor's normalised input, from 0 (worst) to 1 (best), to four decimals.
	Score  float64 `json:"score"`
	Weight float64 `json:"weight"`
	// Points is what the factor adds to the 0–100 value score, to two decimals.
	Points float64 `json:"points"`
}

// ValueScore is an account's value score with its reasons.
type ValueScore struct {
	// Score is from 0 to 100, to one decimal.
	Score     float64       `json:"score"`
	Segment   Segment       `json:"segment,omitempty"`
	Threshold float64       `json:"threshold"`
	Factors   []FactorScore `json:"factors"`
	// Care is what the seeds advise for the segment; left out for an account without a segment.
	Care *Advice `json:"care,omitempty"`
}

// ScoreValue computes an account's value score (0–100) and segment. Each factor is normalised to
// a score from 0 to 1:
//
//	gross_profit       gross profit ÷ the largest gross profit of any account (scale)
//	sales_volume       sales volume ÷ the largest sales volume of any account (scale)
//	marketing_cost     1 − (marketing cost ÷ sales volume) ÷ MarketingCostCeiling, at least 0;
//	                   0 without sales (a cost that buys nothing)
//	industry_position  (position − 1) ÷ 4; 0 when not judged
//	cooperation_years  years ÷ FullCooperationYears, at most 1
//	satisfaction       (satisfaction − 1) ÷ 4; 0 when not judged
//
// and the value score is 100 × Σ weight × score ÷ Σ weight, rounded to one decimal. The amounts
// are measured against the best account, so that the score ranks the account base whatever its
// size or currency; the judgements and the years are on fixed scales. An account whose score
// reaches the strategic threshold is strategic, any other general, and one without any value
// input has no segment (and scores 0).
func ScoreValue(v AccountValue, scale ValueScale, s AccountSettings) ValueScore {
	ratio := func(x, of Money) float64 {
		if of <= 0 {
			return 0
		}
		return min(1, float64(x)/float64(of))
	}
	judged := func(n int) float64 {
		if n < 1 {
			return 0
		}
		return float64(min(n, 5)-1) / 4
	}
	cost := 0.0
	if v.SalesVolume > 0 {
		cost = max(0, 1-float64(v.MarketingCost)/float64(v.SalesVolume)/MarketingCostCeiling)
	}
	years := 0.0
	if s.FullCooperationYears > 0 {
		years = min(1, float64(v.CooperationYears)/float64(s.FullCooperationYears))
	}
	scores := map[ValueFactor]float64{
		ValueGrossProfit: ratio(v.GrossProfit, scale.MaxGrossProfit), ValueSalesVolume: ratio(v.SalesVolume, scale.MaxSalesVolume),
		ValueMarketingCost: cost, ValueIndustryPosition: judged(v.IndustryPosition), ValueCooperation: years,
		ValueSatisfaction: judged(v.Satisfaction),
	}
	var total float64
	for _, f := range ValueFactors {
		total += s.Weights[f]
	}
	out := ValueScore{Threshold: s.StrategicThreshold, Factors: make([]FactorScore, 0, len(ValueFactors))}
	var sum float64
	for _, f := range ValueFactors {
		w := s.Weights[f]
		fs := FactorScore{Factor: f, Score: round(scores[f], 4), Weight: w}
		if total > 0 {
			fs.Points = round(100*w*scores[f]/total, 2)
			sum += w * scores[f]
		}
		out.Factors = append(out.Factors, fs)
	}
	if v.Empty() || total <= 0 {
		return out
	}
	out.Score = round(100*sum/total, 1)
	out.Segment = SegmentGeneral
	if out.Score >= s.StrategicThreshold {
		out.Segment = SegmentStrategic
	}
	care := SegmentCare[out.Segment]
	out.Care = &care
	return out
}

// round rounds x to n decimals, halves away from zero.
func round(x float64, n int) float64 {
	p := math.Pow(10, float64(n))
	return math.Round(x*p) / p
}

// Advice is a piece of the seeds' advice in both of the UI's languages.
type Advice struct {
	ZH string `json:"zh-CN"`
	EN string `json:"en"`
}

// SegmentCare is how the seeds would have each segment served (客户细分化管理).
var SegmentCare = map[Segment]Advice{
	SegmentStrategic: {
		ZH: "战略客户是企业利润的主要来源:在现有服务基础上增加个性化增值服务;客户经理定期拜访,定期组织双方高层交流;服务贯穿售前、售中和售后,营销政策上有所优惠。",
		EN: "Strategic customers bring most of the profit: add personalised value-added services to the standard ones; the KAM visits regularly and arranges regular exchanges between both sides' top management; serve before, during and after the sale, on preferential terms.",
	},
	SegmentGeneral: {
		ZH: "一般客户:保持现有的服务项目和营销政策,严格控制销售拜访次数和服务成本。",
		EN: "General customers: keep the standard services and commercial terms, and strictly control the number of sales visits and the cost to serve.",
	},
}

// ParetoAccount is one account's gross profit, for the Pareto view.
type ParetoAccount struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	GrossProfit Money  `json:"gross_profit"`
}

// ParetoPoint is one account on the Pareto curve, in descending order of gross profit.
type ParetoPoint struct {
	Rank        int    `json:"rank"`
	AccountID   string `json:"account_id"`
	Name        string `json:"name"`
	GrossProfit Money  `json:"gross_profit"`
	// AccountShare is the share of the accounts ranked up to here (rank ÷ accounts), and
	// ProfitShare the share of the gross profit they bring, both from 0 to 1 to four decimals:
	// together the cumulative (Lorenz) curve.
	AccountShare float64 `json:"account_share"`
	ProfitShare  float64 `json:"profit_share"`
}

// ParetoView tests the 80/20 rule (二八原理) on the account base: how much of the gross profit its
// top fifth brings.
type ParetoView struct {
	Accounts         int   `json:"accounts"`
	TotalGrossProfit Money `json:"total_gross_profit"`
	// TopAccounts is the top fifth of the accounts by gross profit, rounded up (at least one when
	// there is any account), and TopShare the share of the gross profit they bring (0–1).
	TopAccounts int           `json:"top_accounts"`
	TopShare    float64       `json:"top_share"`
	Points      []ParetoPoint `json:"points"`
}

// ParetoTop is the share of the accounts whose profit share the Pareto view reports.
const ParetoTop = 0.2

// Pareto ranks the accounts by gross profit (ties by name, then id) and computes the curve.
func Pareto(accounts []ParetoAccount) ParetoView {
	rows := slices.Clone(accounts)
	slices.SortFunc(rows, func(a, b ParetoAccount) int {
		if a.GrossProfit != b.GrossProfit {
			if a.GrossProfit > b.GrossProfit {
				return -1
			}
			return 1
		}
		if c := strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	v := ParetoView{Accounts: len(rows), Points: make([]ParetoPoint, 0, len(rows))}
	for _, r := range rows {
		v.TotalGrossProfit += r.GrossProfit
	}
	if len(rows) == 0 {
		return v
	}
	// A tiny epsilon keeps 0.2 × 10 from rounding up to 3 through floating point.
	v.TopAccounts = int(math.Ceil(ParetoTop*float64(len(rows)) - 1e-9))
	var cum Money
	for i, r := range rows {
		cum += r.GrossProfit
		p := ParetoPoint{Rank: i + 1, AccountID: r.ID, Name: r.Name, GrossProfit: r.GrossProfit,
			AccountShare: round(float64(i+1)/float64(len(rows)), 4)}
		if v.TotalGrossProfit > 0 {
			p.ProfitShare = round(float64(cum)/float64(v.TotalGrossProfit), 4)
		}
		if i+1 == v.TopAccounts {
			v.TopShare = p.ProfitShare
		}
		v.Points = append(v.Points, p)
	}
	return v
}

// HandoverInput hands an account over to another KAM: a sales director's decision, with a reason.
type HandoverInput struct {
	Owner  string `json:"owner"`
	Reason string `json:"reason"`
}

// Validate checks the input.
func (in HandoverInput) Validate() error {
	if err := checkText("owner", strings.TrimSpace(in.Owner), true, maxName); err != nil {
		return err
	}
	return checkText("reason", strings.TrimSpace(in.Reason), true, maxReason)
}

// Handover is an account's handover as a director asked for it (see handover.go).
type Handover struct {
	ID        string
	AccountID string
	From, To  string // the KAM who owned the account when it was asked for, and who is to own it
	Reason    string
	By        string // the director
	At        time.Time
}

// HandoverAudit is the audit entry of a handover.
func HandoverAudit(h Handover, deals []string) *AuditEntry {
	return &AuditEntry{
		At: h.At, Actor: h.By, Action: "account.handover", EntityType: "account", EntityID: h.AccountID,
		Summary: fmt.Sprintf("account handed over from %s to %s: %s", h.From, h.To, h.Reason),
		Before:  map[string]any{"owner": h.From},
		After:   map[string]any{"owner": h.To, "reason": h.Reason, "deals_to_reassign": deals},
	}
}

// KeyAccountStore keeps what makes an account a key-account record: its buying center (contacts),
// the interactions with it, its value segmentation and lifecycle (its handovers: HandoverStore). Each write
// that takes an audit entry writes it in the same transaction as the change.
type KeyAccountStore interface {
	// AccountSettings returns the saved key-account settings, or DefaultAccountSettings while
	// none are saved.
	AccountSettings(ctx context.Context) (AccountSettings, error)
	// SaveAccountSettings validates and saves s, and recomputes every account's value score.
	SaveAccountSettings(ctx context.Context, s AccountSettings, audit *AuditEntry) error
	// ValueScale returns the scale the value scores are computed on now.
	ValueScale(ctx context.Context) (ValueScale, error)
	// AccountHistories returns the deal, interaction and service history the lifecycle is derived
	// from, for each of the given accounts (an unknown one gets an empty history).
	AccountHistories(ctx context.Context, ids []string) (map[string]AccountHistory, error)
	// Lifecycles derives each account's lifecycle as of now (the time of the call when zero) and
	// resolves it with the account's override, by account id.
	Lifecycles(ctx context.Context, accounts []*Account, now time.Time) (map[string]Lifecycle, error)
	// ParetoAccounts lists the gross profit of the accounts the viewer may see (nil: all) that
	// have any value input.
	ParetoAccounts(ctx context.Context, viewer *Actor) ([]ParetoAccount, error)
	// SetLifecycleOverride sets (nil: removes) the account's lifecycle override and returns the
	// account as it now is.
	SetLifecycleOverride(ctx context.Context, accountID string, o *LifecycleOverride, updatedAt time.Time, audit *AuditEntry) (*Account, error)

	// CreateContact stores a new contact with its deal links; its manager (ReportsTo) must be a
	// contact of the same account, without making a cycle.
	CreateContact(ctx context.Context, c *Contact, audit *AuditEntry) error
	Contact(ctx context.Context, id string) (*Contact, error) // not_found when missing
	// Contacts lists an account's contacts by name.
	Contacts(ctx context.Context, accountID string) ([]*Contact, error)
	// UpdateContact overwrites the contact (all but its account, creator and last contact) and
	// adds or updates the deal links in c.Deals; links are never removed, for they are history.
	UpdateContact(ctx context.Context, c *Contact, audit *AuditEntry) error
	// PatchContact changes the fields in sets on the account's contact as stored — read locked,
	// checked against e's version, only the columns of the fields sent written, with the next
	// version, in one transaction — so that two edits of different fields made at once both
	// stay. An Edit at another version is a VersionConflict with the contact as it is (*Contact);
	// not_found when the account has no such contact. An edit that changes nothing writes nothing
	// and leaves the version. audit, if not nil, makes the entry from the contact before and after.
	PatchContact(ctx context.Context, accountID, id string, in ContactInput, e Edit, audit func(before, after *Contact) *AuditEntry) (*Contact, error)
	// StaleKeyContacts lists the stale contacts f selects with the open deals each is linked to.
	StaleKeyContacts(ctx context.Context, f StaleContactFilter) ([]StaleContact, error)

	// LogInteraction stores an interaction, moves its contacts' last contact up to its time, and
	// links its contacts to its deal.
	LogInteraction(ctx context.Context, in *Interaction, audit *AuditEntry) error
	// AccountTimeline lists an account's interactions and its deals' stage history, newest first,
	// and counts them.
	AccountTimeline(ctx context.Context, f TimelineFilter) ([]TimelineEntry, int, error)
}
