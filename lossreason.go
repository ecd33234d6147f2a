package kamflow

import (
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// LossReason is one of the reasons an admin lists for a lost deal: a code that the losses report
// counts by (so that "price" and "Price" typed by two KAMs are one reason), and its label in each
// language of the UI.
type LossReason struct {
	Code   string            `json:"code"`
	Labels map[string]string `json:"labels"` // by language: "en", "zh-CN"
}

// LossOther is the reason code of a loss whose reason is none of the listed ones: the KAM says it
// in words (the closing's reason). It is always offered and never listed.
const LossOther = "other"

// LossReasonLanguages are the languages a loss reason is labelled in: the UI's.
var LossReasonLanguages = []string{"en", "zh-CN"}

// MaxLossReasons bounds the list: a longer one is no longer a choice a KAM can make at a glance.
const MaxLossReasons = 30

var lossCodeRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`)

// DefaultLossReasons are the reasons of a fresh installation: why industrial deals are lost.
func DefaultLossReasons() []LossReason {
	r := func(code, en, zh string) LossReason {
		return LossReason{Code: code, Labels: map[string]string{"en": en, "zh-CN": zh}}
	}
	return []LossReason{
		r("price", "Price", "价格"),
		r("technical_fit", "Technical fit", "技术方案不符"),
		r("relationship", "Customer relationship", "客户关系"),
		r("timing", "Timing", "时机"),
		r("competitor", "A competitor's offer", "竞争对手方案"),
		r("budget_cancelled", "Budget cancelled", "预算取消"),
	}
}

// LossReasonsOf is the list in force: s's own, or the defaults while none is set.
func (s Settings) LossReasonsOf() []LossReason {
	if len(s.LossReasons) == 0 {
		return DefaultLossReasons()
	}
	return s.LossReasons
}

// ValidateLossReasons checks a list an admin sets: one to MaxLossReasons reasons, each with a
// code of lower-case letters, digits and underscores (not "other", which is always there), unique,
// and a label in every language.
func ValidateLossReasons(list []LossReason) error {
	if len(list) == 0 || len(list) > MaxLossReasons {
		return Errorf(EINVALID, "loss reasons must list 1 to %d reasons", MaxLossReasons).WithDetail("field", "loss_reasons")
	}
	seen := map[string]bool{}
	for i, r := range list {
		field := "loss_reasons"
		switch {
		case !lossCodeRE.MatchString(r.Code):
			return Errorf(EINVALID, "loss reason %d: code %q must be lower-case letters, digits and _ (such as budget_cancelled)", i+1, r.Code).WithDetail("field", field).WithDetail("reason", "loss_reason_code")
		case r.Code == LossOther:
			return Errorf(EINVALID, "loss reason %d: %q is always offered and is not listed", i+1, LossOther).WithDetail("field", field).WithDetail("reason", "loss_reason_code")
		case seen[r.Code]:
			return Errorf(EINVALID, "loss reason %q is listed twice", r.Code).WithDetail("field", field).WithDetail("reason", "loss_reason_twice")
		}
		seen[r.Code] = true
		for _, lang := range LossReasonLanguages {
			l := r.Labels[lang]
			if Blank(l) || textProblem(l) != "" || utf8.RuneCountInString(l) > 100 {
				return Errorf(EINVALID, "loss reason %q needs a label in %s of at most 100 characters", r.Code, lang).WithDetail("field", field).WithDetail("reason", "loss_reason_label")
			}
		}
		for lang := range r.Labels {
			if !slices.Contains(LossReasonLanguages, lang) {
				return Errorf(EINVALID, "loss reason %q: no UI language %q (en, zh-CN)", r.Code, lang).WithDetail("field", field)
			}
		}
	}
	return nil
}

// NormalizeLossReasons trims the labels of a list as it is to be kept.
func NormalizeLossReasons(list []LossReason) []LossReason {
	out := make([]LossReason, len(list))
	for i, r := range list {
		labels := make(map[string]string, len(r.Labels))
		for k, v := range r.Labels {
			labels[k] = strings.TrimSpace(v)
		}
		out[i] = LossReason{Code: strings.TrimSpace(r.Code), Labels: labels}
	}
	return out
}

// checkLossReason checks a close's reason code against the settings' list: only a lost deal
// takes one; "other" needs the reason in words, a listed reason takes words as a note.
func checkLossReason(in *CloseInput, s Settings) error {
	if in.ReasonCode == "" {
		return checkText("reason", in.Reason, true, maxReason)
	}
	if in.Outcome != StatusLost {
		return Errorf(EINVALID, "reason_code is for a lost deal; a %s deal gives its reason in words", in.Outcome).WithDetail("field", "reason_code")
	}
	if in.ReasonCode == LossOther {
		if err := checkText("reason", in.Reason, true, maxReason); err != nil {
			return Errorf(EINVALID, "a loss for another reason says it in words").WithDetail("field", "reason").WithDetail("reason", "loss_other_text")
		}
		return nil
	}
	if !slices.ContainsFunc(s.LossReasonsOf(), func(r LossReason) bool { return r.Code == in.ReasonCode }) {
		return Errorf(EINVALID, "loss reason %q is not in the settings' list", in.ReasonCode).WithDetail("field", "reason_code").WithDetail("reason", "loss_reason_unknown")
	}
	return checkText("reason", in.Reason, false, maxReason)
}
