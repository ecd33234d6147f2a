package api

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/kamflow/kamflow"
)

// Reports as CSV: UTF-8 with a byte-order mark, which is how Excel knows to read Chinese text as
// UTF-8 (without it, Excel on a Chinese Windows reads the file as GBK and garbles it). Column heads
// and stage names are Chinese when the user asks for zh (lang=zh-CN, or an Accept-Language that
// prefers Chinese). Text a user typed (titles, reasons, names) is guarded against formula
// injection: a cell starting with = + - @ or a control character is prefixed with ' so that a
// spreadsheet shows it instead of running it.

// utf8BOM is the byte-order mark that tells Excel the file is UTF-8.
const utf8BOM = "\ufeff"

// wantsChinese reads lang, else Accept-Language: Chinese when its first language is zh.
func wantsChinese(c echo.Context) bool {
	lang := c.QueryParam("lang")
	if lang == "" {
		lang = c.Request().Header.Get("Accept-Language")
	}
	return strings.HasPrefix(strings.ToLower(strings.TrimSpace(lang)), "zh")
}

// csvText guards a user's text against formula injection.
func csvText(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r\n", rune(s[0])) {
		return "'" + s
	}
	return s
}

// heads picks English or Chinese column heads: each pair is {en, zh}.
func heads(zh bool, cols ...[2]string) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = c[0]
		if zh {
			out[i] = c[1]
		}
	}
	return out
}

var stageZH = map[kamflow.Stage]string{
	kamflow.Development: "开发", kamflow.Entry: "切入", kamflow.Proposal: "方案",
	kamflow.Bid: "投标", kamflow.Negotiation: "谈判", kamflow.Delivery: "交付",
}

var statusZH = map[kamflow.Status]string{kamflow.StatusLost: "丢单", kamflow.StatusWithdrawn: "撤出"}

func stageName(st kamflow.Stage, zh bool) string {
	if zh && stageZH[st] != "" {
		return stageZH[st]
	}
	return string(st)
}

// writeCSV answers with the rows as an attachment named kamflow-<name>.csv.
func writeCSV(c echo.Context, name string, head []string, rows [][]string) error {
	var b bytes.Buffer
	b.WriteString(utf8BOM)
	w := csv.NewWriter(&b)
	w.UseCRLF = true // what Excel writes and expects
	if err := w.Write(head); err != nil {
		return err
	}
	if err := w.WriteAll(rows); err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set(echo.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="kamflow-%s.csv"`, name))
	return c.Blob(http.StatusOK, "text/csv; charset=utf-8", b.Bytes())
}

func itoa(n int) string { return strconv.Itoa(n) }

func (s *Server) stalledCSV(c echo.Context, q reportQuery, items []stalledEntry) error {
	head := heads(q.zh, [2]string{"deal_id", "商机编号"}, [2]string{"title", "商机"}, [2]string{"account_id", "客户编号"},
		[2]string{"owner", "负责人"}, [2]string{"team", "团队"}, [2]string{"stage", "阶段"}, [2]string{"value", "金额"},
		[2]string{"currency", "币种"}, [2]string{"days_in_stage", "本阶段天数"}, [2]string{"sla", "时限"},
		[2]string{"days_over_sla", "超期天数"}, [2]string{"director_due", "已升级总监"}, [2]string{"missing", "缺少的关键节点"})
	rows := make([][]string, 0, len(items))
	for _, it := range items {
		rows = append(rows, []string{it.ID, csvText(it.Title), it.AccountID, csvText(it.Owner), csvText(it.TeamID),
			stageName(it.Stage, q.zh), it.Value.String(), it.Currency, itoa(it.DaysInStage), it.SLA.String(),
			itoa(it.DaysOverSLA), strconv.FormatBool(it.DirectorDue), strings.Join(it.Missing, " ")})
	}
	return writeCSV(c, "stalled", head, rows)
}

func funnelRow(label string, st kamflow.FunnelStage, zh bool) []string {
	return []string{label, stageName(st.Stage, zh), itoa(st.Entered), itoa(st.Advanced), itoa(st.Forced),
		itoa(st.Closed), itoa(st.Open), num(st.Conversion)}
}

func (s *Server) funnelCSV(c echo.Context, q reportQuery, total []kamflow.FunnelStage, periods []funnelPeriod) error {
	head := heads(q.zh, [2]string{"period", "期间"}, [2]string{"stage", "阶段"}, [2]string{"entered", "进入"},
		[2]string{"advanced", "推进"}, [2]string{"forced", "强推"}, [2]string{"closed", "关闭"},
		[2]string{"open", "在途"}, [2]string{"conversion", "转化率"})
	all := "all"
	if q.zh {
		all = "全部"
	}
	var rows [][]string
	for _, p := range periods {
		for _, st := range p.Stages {
			rows = append(rows, funnelRow(p.Label, st, q.zh))
		}
	}
	for _, st := range total {
		rows = append(rows, funnelRow(all, st, q.zh))
	}
	return writeCSV(c, "funnel", head, rows)
}

func (s *Server) stageTimesCSV(c echo.Context, q reportQuery, times []kamflow.StageTime) error {
	head := heads(q.zh, [2]string{"stage", "阶段"}, [2]string{"stays", "样本数"}, [2]string{"median_days", "中位天数"},
		[2]string{"p90_days", "P90天数"}, [2]string{"median_hours", "中位小时"}, [2]string{"p90_hours", "P90小时"},
		[2]string{"paused_hours", "暂停小时"})
	rows := make([][]string, 0, len(times))
	for _, t := range times {
		rows = append(rows, []string{stageName(t.Stage, q.zh), itoa(t.Stays), num(t.MedianDays), num(t.P90Days),
			num(t.MedianHours), num(t.P90Hours), num(t.PausedHours)})
	}
	return writeCSV(c, "stage-times", head, rows)
}

func (s *Server) forcingCSV(c echo.Context, q reportQuery, f kamflow.ForcingReport) error {
	head := heads(q.zh, [2]string{"stage", "阶段"}, [2]string{"advances", "推进次数"}, [2]string{"forced", "强推次数"},
		[2]string{"forced_rate", "强推率"}, [2]string{"forced_closed", "强推已结案"}, [2]string{"forced_won", "强推赢单"},
		[2]string{"forced_win_rate", "强推赢单率"}, [2]string{"unforced_closed", "未强推已结案"},
		[2]string{"unforced_won", "未强推赢单"}, [2]string{"unforced_win_rate", "未强推赢单率"})
	row := func(label string, adv, forced int, rate string, fo, uo kamflow.Outcome) []string {
		return []string{label, itoa(adv), itoa(forced), rate, itoa(fo.Closed), itoa(fo.Won), num(fo.WinRate),
			itoa(uo.Closed), itoa(uo.Won), num(uo.WinRate)}
	}
	var rows [][]string
	for _, st := range f.Stages {
		rows = append(rows, row(stageName(st.Stage, q.zh), st.Advances, st.Forced, num(st.ForcedRate), st.ForcedOutcome, st.UnforcedOutcome))
	}
	all := "all deals"
	if q.zh {
		all = "全部商机"
	}
	rows = append(rows, row(all, 0, f.Forced.Deals, "", f.Forced, f.Unforced))
	return writeCSV(c, "forcing", head, rows)
}

func (s *Server) lossesCSV(c echo.Context, q reportQuery, losses []kamflow.StageLosses) error {
	head := heads(q.zh, [2]string{"stage", "阶段"}, [2]string{"kind", "类别"}, [2]string{"outcome", "结果"},
		[2]string{"value", "内容"}, [2]string{"count", "数量"})
	reason, competitor := "reason", "competitor"
	if q.zh {
		reason, competitor = "原因", "赢单对手"
	}
	// A reason picked from the list is shown by its label in the settings' list now.
	settings, err := s.cfg.Settings.VersionedSettings(c.Request().Context())
	if err != nil {
		return err
	}
	lang := "en"
	if q.zh {
		lang = "zh-CN"
	}
	labels := map[string]string{kamflow.LossOther: map[bool]string{false: "other", true: "其他"}[q.zh]}
	for _, r := range settings.Settings.LossReasonsOf() {
		labels[r.Code] = r.Labels[lang]
	}
	var rows [][]string
	for _, l := range losses {
		for _, r := range l.Reasons {
			out := string(r.Outcome)
			if q.zh && statusZH[r.Outcome] != "" {
				out = statusZH[r.Outcome]
			}
			value := r.Value
			if r.Code != "" && labels[r.Code] != "" {
				value = labels[r.Code]
			}
			rows = append(rows, []string{stageName(l.Stage, q.zh), reason, out, csvText(value), itoa(r.Count)})
		}
		for _, r := range l.Competitors {
			rows = append(rows, []string{stageName(l.Stage, q.zh), competitor, "", csvText(r.Value), itoa(r.Count)})
		}
	}
	return writeCSV(c, "losses", head, rows)
}

func (s *Server) forecastCSV(c echo.Context, q reportQuery, asOf kamflow.Date, f kamflow.Forecast) error {
	head := heads(q.zh, [2]string{"as_of", "截至"}, [2]string{"group", "分组"}, [2]string{"key", "键"},
		[2]string{"currency", "币种"}, [2]string{"deals", "商机数"}, [2]string{"value", "金额"},
		[2]string{"weighted", "加权金额"})
	names := map[string]string{"month": "month", "owner": "owner", "total": "total"}
	if q.zh {
		names = map[string]string{"month": "预计成交月", "owner": "负责人", "total": "合计"}
	}
	when := string(asOf)
	if when == "" {
		when = string(kamflow.DateOf(s.cfg.Now().In(q.loc)))
	}
	var rows [][]string
	add := func(group string, key string, r kamflow.ForecastRow) {
		rows = append(rows, []string{when, names[group], csvText(key), r.Currency, itoa(r.Deals), r.Value.String(), r.Weighted.String()})
	}
	for _, r := range f.ByMonth {
		add("month", r.Month, r)
	}
	for _, r := range f.ByOwner {
		add("owner", r.Owner, r)
	}
	for _, r := range f.Total {
		add("total", "", r)
	}
	return writeCSV(c, "forecast", head, rows)
}
