package kamflow

// Texts for people. What kamflow itself says about a deal — a key-node item's detail, a step of
// the win probability, a timeline entry — goes out as a code with params, and each reader's UI
// says it in their language: the dictionaries' "gatedetail.<code>", "prob.<code>" and
// "tl.<code>" texts with the params filled in. The English Detail and Summary strings beside the
// codes stay for logs, e-mails of old and API clients that show text as it is.
//
// A param is shown as its name says, the same way wherever it appears (ui/static/js/text.js):
//
//	stage, from, to            a stage key, by the stage's name
//	missing                    key-node item keys ([]string), by their names
//	status                     a deal status; result an acceptance result; satisfaction a
//	                           service visit's; role and stance a stakeholder's; interaction
//	                           and reaction an interaction's kind and the reaction to it
//	subject                    an approval's subject (margin, contract), said with the params
//	                           margin and floor for a margin
//	sla                        a duration as the API writes it ("5d", "36h"), in words
//	date, date_from, date_to   a calendar day (YYYY-MM-DD)
//	price, cost, value,        an amount with its currency (MoneyParam)
//	value_from, value_to
//	margin, floor              a percentage (a number)
//	score, threshold           an assessment score (a number), one decimal
//	owner, by, owner_from,     a username, by the person's display name
//	owner_to
//	engineers                  usernames ([]string), by display names
//	names                      people's names as recorded ([]string)
//	task                       a delivery task key, by the title in task_title or its name
//	tasks                      delivery tasks ([]TaskRef), by their titles or names
//	steps                      delivery step keys ([]string), by their names
//	changes                    texts ([]Text) of the same kind, listed
//	days, met, total, us,      counts (numbers)
//	neutral, them, faults,
//	unresolved, punch_items,
//	line
//
// Any other param (title, name, reason, note, comment, competitor, grade, error, import) is what
// a person typed or an outside system said, shown as it is.
type Params map[string]any

// Text is a sentence as a code and its params (see Params).
type Text struct {
	Code   string `json:"code"`
	Params Params `json:"params,omitempty"`
}

// MoneyParam is an amount in a params: the amount as the API writes it ("12500000.00") and its
// currency.
type MoneyParam struct {
	Amount   string `json:"amount"`
	Currency string `json:"currency"`
}

// money is m in cur as a param.
func money(m Money, cur string) MoneyParam { return MoneyParam{Amount: m.String(), Currency: cur} }

// TaskRef names a delivery task in a tasks param: its key and the title its plan gave it.
type TaskRef struct {
	Key   string `json:"key"`
	Title string `json:"title,omitempty"`
}

// TimelineTexts are the codes of the timeline's entries with the params each carries: every
// entry kamflow writes on a deal's timeline has one of them (the UI's "tl.<code>").
var TimelineTexts = map[string][]string{
	"create":                    {"title", "value", "owner"},
	"imported":                  {"title", "value", "owner", "stage", "line"},
	"assessment_passed":         {"score", "threshold", "grade"},
	"assessment_failed":         {"score", "threshold", "grade"},
	"stakeholder":               {"name", "role", "stance"},
	"remove_stakeholder":        {"name"},
	"remove_stakeholder_forced": {"name", "stage", "missing", "reason"},
	"criteria":                  {"us", "neutral", "them"},
	"proposal":                  {"date"},
	"bid_submitted":             {"price", "cost", "margin", "floor"},
	"bid_recorded":              {"price", "cost", "margin", "floor"},
	"approve_margin":            {"margin", "floor"},
	"approve_contract":          {},
	"approval_requested":        {"subject", "margin", "floor"},
	"approval_requested_note":   {"subject", "margin", "floor", "note"},
	"approval_approved":         {"subject", "margin", "floor"},
	"approval_approved_comment": {"subject", "margin", "floor", "comment"},
	"approval_sent_back":        {"subject", "margin", "floor", "comment"},
	"sign_contract":             {"date"},
	"acceptance":                {"result"},
	"close_project":             {},
	"advanced":                  {"from", "to"},
	"forced":                    {"from", "to", "missing", "reason"},
	"closed":                    {"status", "reason"},
	"closed_competitor":         {"status", "reason", "competitor"},
	"paused":                    {"date", "reason"},
	"resumed":                   {},
	"resumed_on_date":           {},
	"reassigned":                {"owner_from", "owner_to"},
	"engineers":                 {"engineers"},
	"engineers_none":            {},
	"edit":                      {"changes"},
	"edit_title":                {"title_from", "title_to"},
	"edit_value":                {"value_from", "value_to"},
	"edit_close":                {"date_from", "date_to"},
	"edit_close_set":            {"date_to"},
	"edit_notes":                {},
	"edit_notes_cleared":        {},
	"contact_stale":             {"name", "days"},
	"contact_fresh":             {"name"},
	"sla_set":                   {"stage", "sla"},
	"stalled":                   {"stage", "sla"},
	"delivery_hold":             {"tasks"},
	"delivery_hold_cleared":     {},
	"attention_cleared":         {},
	"interaction":               {"interaction", "reaction", "summary"},
	"plan":                      {"tasks"},
	"task_started":              {"task", "task_title"},
	"task_retried":              {"task", "task_title"},
	"task_cancelled":            {"task", "task_title"},
	"task_completed":            {"task", "task_title"},
	"task_failed":               {"task", "task_title", "error"},
	"undo_failed":               {"task", "task_title", "steps"},
	"undo_resolved":             {"task", "task_title", "note"},
	"acceptance_test":           {"result"},
	"acceptance_test_punch":     {"result", "punch_items"},
	"punch_resolved":            {},
	"visit_reported":            {"faults", "unresolved", "satisfaction"},
}

// TimelineActions are the action of the entries each timeline code says; "" for a code that is
// only ever a part of another text (an edit's changes).
var TimelineActions = map[string]string{
	"create":                    "deal.create",
	"imported":                  "deal.create",
	"assessment_passed":         "deal.assessment",
	"assessment_failed":         "deal.assessment",
	"stakeholder":               "deal.stakeholder",
	"remove_stakeholder":        "deal.remove_stakeholder",
	"remove_stakeholder_forced": "deal.remove_stakeholder",
	"criteria":                  "deal.criteria",
	"proposal":                  "deal.proposal",
	"bid_submitted":             "deal.bid",
	"bid_recorded":              "deal.bid",
	"approve_margin":            "deal.approve_margin",
	"approve_contract":          "deal.approve_contract",
	"approval_requested":        "deal.request_approval",
	"approval_requested_note":   "deal.request_approval",
	"approval_approved":         "deal.answer_approval",
	"approval_approved_comment": "deal.answer_approval",
	"approval_sent_back":        "deal.answer_approval",
	"sign_contract":             "deal.sign_contract",
	"acceptance":                "deal.acceptance",
	"close_project":             "deal.close_project",
	"advanced":                  "deal.advance",
	"forced":                    "deal.advance",
	"closed":                    "deal.close",
	"closed_competitor":         "deal.close",
	"paused":                    "deal.pause",
	"resumed":                   "deal.resume",
	"resumed_on_date":           "deal.resume",
	"reassigned":                "deal.reassign",
	"engineers":                 "deal.assign_engineers",
	"engineers_none":            "deal.assign_engineers",
	"edit":                      "deal.edit",
	"edit_title":                "",
	"edit_value":                "",
	"edit_close":                "",
	"edit_close_set":            "",
	"edit_notes":                "",
	"edit_notes_cleared":        "",
	"contact_stale":             "deal.contact_stale",
	"contact_fresh":             "deal.contact_stale",
	"sla_set":                   "deal.sla",
	"stalled":                   "deal.stalled",
	"delivery_hold":             "deal.delivery_hold",
	"delivery_hold_cleared":     "deal.delivery_hold",
	"attention_cleared":         "deal.attention_cleared",
	"interaction":               "interaction.create",
	"plan":                      "delivery.plan",
	"task_started":              "delivery.start",
	"task_retried":              "delivery.retry",
	"task_cancelled":            "delivery.cancel",
	"task_completed":            "delivery.complete",
	"task_failed":               "delivery.task_failed",
	"undo_failed":               "delivery.undo_failed",
	"undo_resolved":             "delivery.resolve_undo",
	"acceptance_test":           "delivery.complete",
	"acceptance_test_punch":     "delivery.complete",
	"punch_resolved":            "delivery.resolve",
	"visit_reported":            "delivery.report",
}

// GateTexts are the codes of key-node item details with their params (the UI's
// "gatedetail.<code>").
var GateTexts = map[string][]string{
	"not_assessed":                    {},
	"score_passes":                    {"score", "threshold"},
	"score_below":                     {"score", "threshold"},
	"no_grade":                        {},
	"grade":                           {"grade"},
	"no_insider":                      {},
	"insider":                         {"names"},
	"insider_stale":                   {"names"},
	"no_dm":                           {},
	"dm_not_engaged":                  {},
	"dm_stale":                        {"names"},
	"engaged":                         {"names"},
	"no_criteria":                     {},
	"criteria":                        {"us", "neutral", "them"},
	"no_proposal":                     {},
	"proposal":                        {"date"},
	"no_bid":                          {},
	"bid_not_submitted":               {},
	"bid_submitted":                   {"price"},
	"margin_ok":                       {"margin", "floor"},
	"margin_approved":                 {"margin", "floor", "by"},
	"margin_below":                    {"margin", "floor"},
	"contract_not_approved":           {},
	"contract_approved":               {"by"},
	"contract_not_signed":             {},
	"contract_signed":                 {"date"},
	"no_acceptance":                   {},
	"acceptance_pass":                 {},
	"acceptance_pass_with_punch_list": {},
	"acceptance_fail":                 {},
	"imported":                        {},
	"unknown":                         {"key"},
}

// ProbabilityTexts are the codes of the win probability's steps with their params (the UI's
// "prob.<code>").
var ProbabilityTexts = map[string][]string{
	"base":     {"stage"},
	"evidence": {"met", "total"},
	"forced":   {"from", "to", "missing"},
	"outcome":  {"status"},
}

// orNone is s as a params list: never nil, so that it encodes as [].
func orNone(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
