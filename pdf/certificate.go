package pdf

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// The acceptance results a Certificate can state.
const (
	ResultPass              = "pass"                 // accepted
	ResultPassWithPunchList = "pass_with_punch_list" // accepted, on condition the punch list is closed
	ResultFail              = "fail"                 // not accepted
)

// Certificate is what an acceptance certificate (工程验收证书) states: that a delivered
// system was inspected with the customer, with what result, and on the strength of which
// delivery tasks and open items. It is plain data; WriteCertificate lays it out.
//
// Free text may hold any Unicode: control and invisible characters are dropped, line breaks
// are kept in notes and punch-list items and folded into spaces elsewhere. Empty fields of the
// particulars table, and a task's missing date, print as "—".
type Certificate struct {
	Number     string      // certificate number, e.g. "KF-ACC-2026-000123"; required
	IssuedAt   time.Time   // when the certificate was issued; required, and the PDF's creation date
	Customer   string      // the account, e.g. "宝武钢铁湛江钢铁有限公司"
	Project    string      // the deal's title, e.g. "热轧产线传动系统改造"
	DealID     string      // kamflow's deal ID
	Contract   string      // contract reference and/or signing date, as text
	Result     string      // ResultPass, ResultPassWithPunchList or ResultFail; required
	Tasks      []CertTask  // delivery tasks, in the order they are listed
	PunchList  []CertPunch // items to put right; the section is left out when empty
	Documents  []CertDoc   // the acceptance documents on file; the section is left out when empty
	Notes      string      // remarks on the acceptance; the section is left out when empty
	AcceptedBy string      // the engineer who recorded the acceptance; printed under the supplier's signature
	AcceptedAt time.Time   // when the acceptance took place; zero prints as "—"
	KAM        string      // the key account manager in charge of the deal

	// Lang chooses the labels' language: "en" (or "en-…") for English, anything else, such as
	// "zh-CN" or "", for Simplified Chinese. The title is printed in both languages either way.
	Lang string
	// Location is the time zone dates are shown in; nil means UTC.
	Location *time.Location
}

// CertDoc is an acceptance document kept in kamflow (a file of kind acceptance_report), listed
// on the certificate by name, who uploaded it and when.
type CertDoc struct {
	Name       string
	UploadedBy string
	UploadedAt time.Time
}

// CertTask is a delivery task listed on a certificate.
type CertTask struct {
	Name        string
	Engineer    string    // who carried it out
	CompletedAt time.Time // zero prints as "—"
	Notes       string
}

// CertPunch is an item of a certificate's punch list (整改清单): something to put right,
// marked closed when done.
type CertPunch struct {
	Text string
	Done bool
}

// WriteCertificate writes c to w as an A4 PDF: the bilingual title, the result in a coloured
// banner, the certificate's particulars as a labelled table, the delivery tasks, the punch list
// with open and closed marks, the notes, and signature blocks for the customer's
// representative and the supplier's engineer. Pages are numbered "page n of N"; long text wraps,
// and the tables run on over as many pages as they need, repeating their heading rows.
//
// It returns an error, and writes nothing, when c lacks a Number or IssuedAt or has an unknown
// Result. The document is made in memory (some 60–100 kB for a typical certificate) and given
// to w in one Write, whose error is returned. WriteCertificate is safe for concurrent use, and
// the same c always gives the same bytes.
func WriteCertificate(w io.Writer, c Certificate) error {
	if strings.TrimSpace(c.Number) == "" {
		return errors.New("pdf: certificate has no number")
	}
	if c.IssuedAt.IsZero() {
		return errors.New("pdf: certificate has no issue time")
	}
	switch c.Result {
	case ResultPass, ResultPassWithPunchList, ResultFail:
	default:
		return fmt.Errorf("pdf: certificate result %q is none of %s, %s, %s", c.Result, ResultPass, ResultPassWithPunchList, ResultFail)
	}
	if c.Location == nil {
		c.Location = time.UTC
	}
	lab := &zhLabels
	if c.Lang == "en" || strings.HasPrefix(c.Lang, "en-") || strings.HasPrefix(c.Lang, "en_") {
		lab = &enLabels
	}
	d, err := newDoc(lab, c.Number, c.IssuedAt.In(c.Location))
	if err != nil {
		return err
	}
	d.certificate(c)
	return d.finish(w)
}

// certificate lays c out, page after page.
func (d *doc) certificate(c Certificate) {
	lab := d.lab
	one := func(s string) string { return orDash(d.clean(s, true)) }

	// Title, primary language first.
	titles := [2]string{titleZH, titleEN}
	if lab == &enLabels {
		titles = [2]string{titleEN, titleZH}
	}
	d.centred(titles[0], 20, colourInk, 28)
	d.centred(titles[1], 11, colourMuted, 16)
	d.y += 4
	d.rule(colourAccent, 1.2)
	d.y += 2
	d.rule(colourAccent, 0.4)
	d.y += 10
	d.paragraph(lab.intro, sizeBody, colourInk)
	d.y += 6

	open := 0
	for _, p := range c.PunchList {
		if !p.Done {
			open++
		}
	}
	d.banner(c.Result, open)
	d.y += 10

	issued := c.IssuedAt.In(c.Location)
	fields := [][2]string{
		{lab.number, one(c.Number)},
		{lab.issued, issued.Format(dateLayout)},
		{lab.customer, one(c.Customer)},
		{lab.project, one(c.Project)},
		{lab.dealID, one(c.DealID)},
		{lab.contract, one(c.Contract)},
		{lab.kam, one(c.KAM)},
		{lab.acceptedBy, one(c.AcceptedBy)},
		{lab.acceptedAt, dateTime(c.AcceptedAt, c.Location)},
	}
	t := table{cols: []column{{width: 120, shade: true}, {width: contentWidth - 120}}, size: sizeBody}
	for _, f := range fields {
		t.rows = append(t.rows, []cell{{text: f[0], colour: colourMuted}, {text: f[1]}})
	}
	d.table(t)

	d.section(lab.tasks)
	if len(c.Tasks) == 0 {
		d.paragraph(lab.noTasks, sizeTable, colourMuted)
	} else {
		t := table{size: sizeTable, head: true, cols: []column{
			{title: lab.seq, width: 30, centre: true},
			{title: lab.task, width: 160},
			{title: lab.engineer, width: 80},
			{title: lab.completed, width: 64},
			{title: lab.taskNotes, width: contentWidth - 30 - 160 - 80 - 64},
		}}
		for i, k := range c.Tasks {
			t.rows = append(t.rows, []cell{
				{text: strconv.Itoa(i + 1)},
				{text: one(k.Name)},
				{text: one(k.Engineer)},
				{text: date(k.CompletedAt, c.Location)},
				{text: d.clean(k.Notes, false)},
			})
		}
		d.table(t)
	}

	if len(c.PunchList) > 0 {
		d.section(lab.punch)
		t := table{size: sizeTable, head: true, cols: []column{
			{title: lab.seq, width: 30, centre: true},
			{title: lab.item, width: contentWidth - 30 - 84},
			{title: lab.status, width: 84},
		}}
		for i, p := range c.PunchList {
			status := cell{text: lab.open, box: boxOpen, colour: colourFail}
			if p.Done {
				status = cell{text: lab.closed, box: boxChecked, colour: colourPass}
			}
			t.rows = append(t.rows, []cell{{text: strconv.Itoa(i + 1)}, {text: orDash(d.clean(p.Text, false))}, status})
		}
		d.table(t)
	}

	if len(c.Documents) > 0 {
		d.section(lab.documents)
		t := table{size: sizeTable, head: true, cols: []column{
			{title: lab.seq, width: 30, centre: true},
			{title: lab.document, width: contentWidth - 30 - 100 - 64},
			{title: lab.uploadedBy, width: 100},
			{title: lab.uploaded, width: 64},
		}}
		for i, doc := range c.Documents {
			t.rows = append(t.rows, []cell{{text: strconv.Itoa(i + 1)}, {text: one(doc.Name)}, {text: one(doc.UploadedBy)},
				{text: date(doc.UploadedAt, c.Location)}})
		}
		d.table(t)
	}

	if notes := d.clean(c.Notes, false); notes != "" {
		d.section(lab.notes)
		d.table(table{size: sizeBody, cols: []column{{width: contentWidth}}, rows: [][]cell{{{text: notes}}}})
	}

	d.signatures(d.clean(c.AcceptedBy, true))
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

const dateLayout = "2006-01-02"

func date(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return "—"
	}
	return t.In(loc).Format(dateLayout)
}

// dateTime shows the offset from UTC rather than the zone's abbreviation, which is ambiguous
// ("CST" is China's as well as the US's).
func dateTime(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return "—"
	}
	return t.In(loc).Format("2006-01-02 15:04 (UTC-07:00)")
}

const (
	titleZH = "工程验收证书"
	titleEN = "Certificate of Engineering Acceptance"
)

// labels is the wording of a certificate in one language.
type labels struct {
	intro, colon                                           string
	number, issued, customer, project, dealID, contract    string
	kam, acceptedBy, acceptedAt, result                    string
	results                                                map[string]string
	openItems                                              string // followed by the count
	tasks, noTasks, seq, task, engineer, completed         string
	taskNotes, punch, item, status, open, closed, notes    string
	customerRep, supplierEng, name, signature, dated, seal string
	documents, document, uploadedBy, uploaded              string
	page                                                   string // format of the page number: page, pages
	footer                                                 string // before the certificate number
}

var zhLabels = labels{
	colon:      "：",
	intro:      "兹证明下列项目已按合同完成交付，经客户与供方共同进行工程验收，验收结论如下。",
	number:     "证书编号",
	issued:     "签发日期",
	customer:   "客户",
	project:    "项目",
	dealID:     "商机编号",
	contract:   "合同",
	kam:        "大客户经理",
	acceptedBy: "验收工程师",
	acceptedAt: "验收时间",
	result:     "验收结论",
	results: map[string]string{
		ResultPass:              "通过",
		ResultPassWithPunchList: "有条件通过（附整改清单）",
		ResultFail:              "不通过",
	},
	openItems:   "未完成整改项：",
	tasks:       "交付任务",
	noTasks:     "（无交付任务记录）",
	seq:         "序号",
	task:        "任务",
	engineer:    "工程师",
	completed:   "完成日期",
	taskNotes:   "备注",
	punch:       "整改清单",
	item:        "整改事项",
	status:      "状态",
	open:        "未完成",
	closed:      "已完成",
	notes:       "备注",
	customerRep: "客户代表",
	supplierEng: "供方工程师",
	name:        "姓名",
	signature:   "签字",
	dated:       "日期",
	seal:        "单位（盖章）",
	documents:   "验收文件",
	document:    "文件",
	uploadedBy:  "上传人",
	uploaded:    "上传日期",
	page:        "第 %d 页，共 %d 页",
	footer:      "工程验收证书 ",
}

var enLabels = labels{
	colon:      ": ",
	intro:      "This certifies that the project below has been delivered under its contract and that its engineering acceptance was carried out jointly by the customer and the supplier, with the following result.",
	number:     "Certificate No.",
	issued:     "Issued",
	customer:   "Customer",
	project:    "Project",
	dealID:     "Deal ID",
	contract:   "Contract",
	kam:        "Key account manager",
	acceptedBy: "Accepted by",
	acceptedAt: "Accepted at",
	result:     "Result",
	results: map[string]string{
		ResultPass:              "Passed",
		ResultPassWithPunchList: "Passed with punch list",
		ResultFail:              "Failed",
	},
	openItems:   "Open punch-list items: ",
	tasks:       "Delivery tasks",
	noTasks:     "(No delivery tasks recorded.)",
	seq:         "#",
	task:        "Task",
	engineer:    "Engineer",
	completed:   "Completed",
	taskNotes:   "Notes",
	punch:       "Punch list",
	item:        "Item",
	status:      "Status",
	open:        "Open",
	closed:      "Closed",
	notes:       "Notes",
	customerRep: "Customer's representative",
	supplierEng: "Supplier's engineer",
	name:        "Name",
	signature:   "Signature",
	dated:       "Date",
	seal:        "Company seal",
	documents:   "Acceptance documents",
	document:    "Document",
	uploadedBy:  "Uploaded by",
	uploaded:    "Uploaded",
	page:        "Page %d of %d",
	footer:      "Certificate ",
}
