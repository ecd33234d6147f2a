package pdf

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf16"
)

// The tests read the PDFs back with the small parser at the end of this file: the cross-reference
// table, the page tree, the content streams and the embedded font subset. Text is recovered by
// mapping the glyph IDs the content streams show through the font's ToUnicode CMap, which is
// also what a reader's search and copy do; each string a page draws comes out as one item.
//
// Set KAMFLOW_PDF_OUT to a directory to keep the PDFs the tests make, to look at them.

var cst = time.FixedZone("CST", 8*3600)

func sample() Certificate {
	return Certificate{
		Number:   "KF-ACC-2026-000123",
		IssuedAt: time.Date(2026, 3, 2, 9, 30, 0, 0, cst),
		Customer: "宝武钢铁湛江钢铁有限公司",
		Project:  "热轧产线传动系统改造",
		DealID:   "D-20251104-0042",
		Contract: "HT-2025-ZJ-318，2025年11月20日签订",
		Result:   ResultPassWithPunchList,
		Tasks: []CertTask{
			{Name: "变频器安装与接线", Engineer: "王建国", CompletedAt: time.Date(2026, 2, 10, 16, 0, 0, 0, cst), Notes: "按图纸完成，接地电阻0.8Ω。"},
			{Name: "PLC 程序调试", Engineer: "李明", CompletedAt: time.Date(2026, 2, 20, 11, 0, 0, 0, cst), Notes: "含 S7-1500 与 SINAMICS 通讯联调"},
			{Name: "72小时连续试运行", Engineer: "王建国", CompletedAt: time.Date(2026, 2, 27, 18, 0, 0, 0, cst)},
		},
		PunchList: []CertPunch{
			{Text: "2#轧机主传动柜门锁更换", Done: true},
			{Text: "补充提交竣工图纸（电子版与纸质版各一份）", Done: false},
		},
		Notes:      "系统运行稳定，各项指标满足技术协议要求。\n整改项须于30日内完成。",
		AcceptedBy: "王建国",
		AcceptedAt: time.Date(2026, 3, 1, 10, 0, 0, 0, cst),
		KAM:        "陈晓峰",
		Lang:       "zh-CN",
		Location:   cst,
	}
}

// render writes c, failing the test on an error, and keeps the file if KAMFLOW_PDF_OUT is set.
func render(t *testing.T, c Certificate) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := WriteCertificate(&b, c); err != nil {
		t.Fatalf("WriteCertificate: %v", err)
	}
	if dir := os.Getenv("KAMFLOW_PDF_OUT"); dir != "" {
		name := strings.NewReplacer("/", "-", " ", "_").Replace(t.Name()) + ".pdf"
		if err := os.WriteFile(filepath.Join(dir, name), b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes()
}

func TestCertificateIsAWellFormedA4PDF(t *testing.T) {
	raw := render(t, sample())
	if !bytes.HasPrefix(raw, []byte("%PDF-1.")) {
		t.Errorf("starts with %q, want %%PDF-1.", raw[:min(len(raw), 8)])
	}
	if !bytes.HasSuffix(bytes.TrimRight(raw, "\r\n"), []byte("%%EOF")) {
		t.Errorf("does not end with %%%%EOF")
	}
	p := parse(t, raw) // checks every cross-reference entry points at its object
	if n := len(p.pages); n != 1 {
		t.Errorf("%d pages, want 1", n)
	}
	pages := p.dict(p.ref(p.dict(p.root), "Pages"))
	if !regexp.MustCompile(`/MediaBox \[ ?0 0 595(\.00)? 842(\.00)? ?\]`).MatchString(pages) {
		t.Errorf("pages are not A4: %s", pages)
	}
	if got, want := p.info(), "/CreationDate(D:20260302093000+08'00')"; !strings.Contains(got, want) {
		t.Errorf("document info %q lacks %q", got, want)
	}
}

func TestChineseIsEmbeddedAsAFontSubset(t *testing.T) {
	c := sample()
	raw := render(t, c)
	p := parse(t, raw)
	ttf, err := font()
	if err != nil {
		t.Fatal(err)
	}

	// One font, a CIDFontType2 (TrueType) subset named with a subset tag, embedded.
	fonts := p.objectsWith("/FontFile2")
	if len(fonts) != 1 {
		t.Fatalf("%d font descriptors with /FontFile2, want 1", len(fonts))
	}
	desc := p.dict(fonts[0])
	if !regexp.MustCompile(`/FontName /[A-Z]{6}\+\S+`).MatchString(desc) {
		t.Errorf("font descriptor names no subset: %s", desc)
	}
	if len(p.objectsWith("/CIDFontType2")) != 1 {
		t.Errorf("no CIDFontType2 font")
	}
	fontFile := p.ref(desc, "FontFile2")
	sub := p.stream(fontFile)
	if m := regexp.MustCompile(`/Length1 (\d+)`).FindStringSubmatch(p.dict(fontFile)); m == nil || m[1] != strconv.Itoa(len(sub)) {
		t.Errorf("/Length1 %v, want %d", m, len(sub))
	}
	if !bytes.HasPrefix(sub, []byte{0, 1, 0, 0}) {
		t.Fatalf("embedded font is not TrueType: % x", sub[:4])
	}
	// The whole font is 4.6 MB; a subset of a hundred-odd glyphs is a few hundred kB before
	// compression (gopdf keeps glyph IDs, so loca and hmtx stay full length), much less after.
	if len(sub) > len(ttf)/5 {
		t.Errorf("embedded font is %d bytes of the font's %d: not a subset", len(sub), len(ttf))
	}
	if len(raw) > 150_000 {
		t.Errorf("PDF is %d bytes; the subset should keep it well under 150 kB", len(raw))
	}

	// Every Chinese character printed maps, through ToUnicode, from a glyph that has an
	// outline in the subset: none would show as a missing glyph (.notdef or empty).
	glyphs := p.glyphsByRune()
	outlines := glyphOutlines(t, sub)
	printed := []string{titleZH, zhLabels.number, zhLabels.customer, zhLabels.results[ResultPassWithPunchList],
		zhLabels.customerRep, zhLabels.supplierEng, zhLabels.punch, zhLabels.open, zhLabels.closed,
		c.Customer, c.Project, c.KAM, c.Tasks[0].Name, c.PunchList[1].Text, c.Notes, "第页共"}
	n := 0
	for _, s := range printed {
		for _, r := range s {
			if r < 0x2E80 {
				continue
			}
			n++
			gid, ok := glyphs[r]
			switch {
			case !ok:
				t.Errorf("%q (U+%04X) is not in the font's ToUnicode map", r, r)
			case gid == 0:
				t.Errorf("%q (U+%04X) shows glyph 0, .notdef", r, r)
			case !outlines(gid):
				t.Errorf("%q (U+%04X) shows glyph %d, which has no outline in the subset", r, r, gid)
			}
		}
	}
	if n < 100 {
		t.Errorf("checked only %d Chinese characters", n)
	}
	// And the subset holds no more than what is printed: glyphs not shown are emptied.
	if _, ok := glyphs['龘']; ok {
		t.Errorf("ToUnicode maps 龘, which the certificate does not print")
	}
}

func TestChineseCertificateText(t *testing.T) {
	c := sample()
	c.Tasks[2].CompletedAt = time.Time{}
	p := parse(t, render(t, c))
	text := p.text(0)
	for _, want := range []string{
		"工程验收证书", "Certificate of Engineering Acceptance",
		"证书编号", "KF-ACC-2026-000123", "签发日期", "2026-03-02",
		"客户", "宝武钢铁湛江钢铁有限公司", "项目", "热轧产线传动系统改造",
		"商机编号", "D-20251104-0042", "合同", "HT-2025-ZJ-318，2025年11月20日签订",
		"大客户经理", "陈晓峰", "验收工程师", "王建国", "验收时间", "2026-03-01 10:00 (UTC+08:00)",
		"验收结论：", "有条件通过（附整改清单）", "未完成整改项：1",
		"交付任务", "序号", "任务", "工程师", "完成日期", "备注",
		"变频器安装与接线", "2026-02-10", "PLC 程序调试", "72小时连续试运行", "—",
		"整改清单", "整改事项", "状态", "2#轧机主传动柜门锁更换", "已完成", "未完成",
		"系统运行稳定，各项指标满足技术协议要求。", "整改项须于30日内完成。",
		"客户代表", "供方工程师", "姓名：", "签字：", "日期：", "单位（盖章）：",
		"工程验收证书 KF-ACC-2026-000123", "第 1 页，共 1 页",
	} {
		if !containsItem(text, want) {
			t.Errorf("page 1 does not print %q", want)
		}
	}
	if containsItem(text, "Delivery tasks") || containsItem(text, "Page 1 of 1") {
		t.Errorf("Chinese certificate has English labels")
	}
}

func TestEnglishCertificateText(t *testing.T) {
	c := sample()
	c.Lang = "en"
	c.Result = ResultFail
	c.PunchList[1].Done = true
	p := parse(t, render(t, c))
	text := p.text(0)
	for _, want := range []string{
		"Certificate of Engineering Acceptance", "工程验收证书",
		"Certificate No.", "Issued", "Customer", "宝武钢铁湛江钢铁有限公司", "Project", "Deal ID",
		"Contract", "Key account manager", "Accepted by", "Accepted at", "Result: ", "Failed",
		"Delivery tasks", "#", "Task", "Engineer", "Completed", "Notes",
		"Punch list", "Item", "Status", "Closed",
		"Customer's representative", "Supplier's engineer", "Name: ", "Signature: ", "Date: ", "Company seal: ",
		"Certificate KF-ACC-2026-000123", "Page 1 of 1",
	} {
		if !containsItem(text, want) {
			t.Errorf("page 1 does not print %q", want)
		}
	}
	for _, absent := range []string{"证书编号", "交付任务", "第 1 页，共 1 页", "Open", "Open punch-list items: 0"} {
		if containsItem(text, absent) {
			t.Errorf("English certificate prints %q", absent)
		}
	}
	// The English title comes first.
	if i, j := indexItem(text, titleEN), indexItem(text, titleZH); i < 0 || j < 0 || i > j {
		t.Errorf("English title at %d, Chinese at %d: want English first", i, j)
	}
}

func TestLangChoosesTheLabels(t *testing.T) {
	for lang, want := range map[string]string{"": "证书编号", "zh": "证书编号", "zh-CN": "证书编号", "en-GB": "Certificate No.", "en_US": "Certificate No.", "fr": "证书编号"} {
		c := sample()
		c.Lang = lang
		if text := parse(t, render(t, c)).text(0); !containsItem(text, want) {
			t.Errorf("Lang %q: no %q", lang, want)
		}
	}
}

func TestEmptyPunchListLeavesTheSectionOut(t *testing.T) {
	c := sample()
	c.Result = ResultPass
	c.PunchList = nil
	c.Notes = ""
	c.Tasks = nil
	text := parse(t, render(t, c)).text(0)
	for _, absent := range []string{"整改清单", "未完成", "已完成", "未完成整改项：0", "备注"} {
		if containsItem(text, absent) {
			t.Errorf("prints %q", absent)
		}
	}
	for _, want := range []string{"通过", "（无交付任务记录）", "客户代表"} {
		if !containsItem(text, want) {
			t.Errorf("does not print %q", want)
		}
	}
}

func TestLongTaskListRunsOverPages(t *testing.T) {
	c := sample()
	c.Tasks = nil
	for i := 1; i <= 90; i++ {
		c.Tasks = append(c.Tasks, CertTask{
			Name:        fmt.Sprintf("任务%03d 现场设备安装、接线与单机调试", i),
			Engineer:    "赵工",
			CompletedAt: time.Date(2026, 2, 1, 0, 0, 0, 0, cst).AddDate(0, 0, i%28),
			Notes:       strings.Repeat("检查记录齐全，", i%4),
		})
	}
	p := parse(t, render(t, c))
	n := len(p.pages)
	if n < 3 {
		t.Fatalf("%d pages for 90 tasks, want several", n)
	}
	var all []string
	for i := range p.pages {
		text := p.text(i)
		if want := fmt.Sprintf("第 %d 页，共 %d 页", i+1, n); !containsItem(text, want) {
			t.Errorf("page %d lacks %q", i+1, want)
		}
		if !containsItem(text, "工程验收证书 KF-ACC-2026-000123") {
			t.Errorf("page %d lacks the footer", i+1)
		}
		// Every page the table runs on to starts with its heading row.
		if i > 0 && containsItem(text, "赵工") && !containsItem(text, "完成日期") {
			t.Errorf("page %d continues the task table without its heading", i+1)
		}
		all = append(all, text...)
	}
	// Every task is printed once, in order: none is lost or doubled at a page break.
	next := 1
	for _, s := range all {
		var k int
		if _, err := fmt.Sscanf(s, "任务%03d", &k); err == nil {
			if k != next {
				t.Fatalf("task %d printed where task %d was due", k, next)
			}
			next++
		}
	}
	if next != 91 {
		t.Errorf("printed tasks 1 to %d, want 1 to 90", next-1)
	}
	if !containsItem(p.text(n-1), "供方工程师") {
		t.Errorf("the signatures are not on the last page")
	}
}

func TestTextTallerThanAPageIsSplit(t *testing.T) {
	c := sample()
	var b strings.Builder
	for i := 1; b.Len() < 9000; i++ {
		fmt.Fprintf(&b, "第%d条：现场核查记录，设备运行参数正常。", i)
	}
	notes := b.String()
	c.Tasks = []CertTask{{Name: "资料移交", Engineer: "李明", Notes: notes}}
	c.Notes = strings.Repeat("commissioning ", 80) + "end."
	p := parse(t, render(t, c))
	if len(p.pages) < 2 {
		t.Fatalf("%d pages, want the notes to run over several", len(p.pages))
	}
	var all []string
	for i := range p.pages {
		all = append(all, p.text(i)...)
	}
	// The lines the notes were wrapped into, read in order, give the notes back whole.
	rest := notes
	for _, s := range all {
		if s != "" && strings.HasPrefix(rest, s) {
			rest = rest[len(s):]
		}
	}
	if rest != "" {
		t.Errorf("%d bytes of the notes are missing, from %.40q", len(rest), rest)
	}
	// English wraps between words: every line of the remarks is whole words.
	for _, s := range all {
		if strings.Contains(s, "commissioning") {
			for _, w := range strings.Fields(s) {
				if w != "commissioning" && w != "end." {
					t.Errorf("word cut: %q in line %q", w, s)
				}
			}
		}
	}
}

func TestOutputIsReproducible(t *testing.T) {
	c := sample()
	want := render(t, c)
	var wg sync.WaitGroup
	got := make([][]byte, 4)
	errs := make([]error, 4)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var b bytes.Buffer
			errs[i] = WriteCertificate(&b, c)
			got[i] = b.Bytes()
		}()
	}
	wg.Wait()
	for i := range got {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if !bytes.Equal(got[i], want) {
			t.Errorf("run %d gave different bytes", i)
		}
	}
	// The creation date follows the issue time; nothing else varies with the clock.
	c.IssuedAt = c.IssuedAt.Add(time.Hour)
	other := render(t, c)
	if bytes.Equal(other, want) {
		t.Errorf("a different issue time gave the same bytes")
	}
	if !strings.Contains(parse(t, other).info(), "D:20260302103000+08'00'") {
		t.Errorf("creation date does not follow the issue time")
	}
}

func TestDatesAreShownInLocation(t *testing.T) {
	c := sample()
	c.Location = nil // UTC
	text := parse(t, render(t, c)).text(0)
	for _, want := range []string{"2026-03-02", "2026-03-01 02:00 (UTC+00:00)", "2026-02-10"} {
		if !containsItem(text, want) {
			t.Errorf("does not print %q", want)
		}
	}
}

func TestCharactersTheFontLacksPrintAsABox(t *testing.T) {
	c := sample()
	c.Customer = "吉\U00020BB7家具有限公司🙂" // 𠮷 (CJK Extension B) and an emoji are not in the font
	c.Project = "改造\u200b项目\t二期\r\n（续）"
	text := parse(t, render(t, c)).text(0)
	if !containsItem(text, "吉□家具有限公司□") {
		t.Errorf("customer not printed with boxes for the missing characters: %q", text)
	}
	if !containsItem(text, "改造项目 二期 （续）") {
		t.Errorf("project not cleaned of control and invisible characters")
	}
}

func TestInvalidCertificatesAreRefused(t *testing.T) {
	for name, change := range map[string]func(*Certificate){
		"no number":      func(c *Certificate) { c.Number = " " },
		"no issue time":  func(c *Certificate) { c.IssuedAt = time.Time{} },
		"unknown result": func(c *Certificate) { c.Result = "passed" },
		"no result":      func(c *Certificate) { c.Result = "" },
	} {
		c := sample()
		change(&c)
		var b bytes.Buffer
		if err := WriteCertificate(&b, c); err == nil {
			t.Errorf("%s: no error", name)
		}
		if b.Len() != 0 {
			t.Errorf("%s: wrote %d bytes", name, b.Len())
		}
	}
}

func TestWriteErrorsAreReturned(t *testing.T) {
	if err := WriteCertificate(failingWriter{}, sample()); err == nil {
		t.Errorf("no error from a failing writer")
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, io.ErrClosedPipe }

// ---- Reading the PDFs back ----

type pdfFile struct {
	t     *testing.T
	raw   []byte
	objs  map[int]int // object number → offset of "N 0 obj"
	root  int
	tail  string // the trailer
	pages []int  // page objects, in order
	toUni map[uint16]string
}

// parse reads the cross-reference table, checking each entry points at its object, and the
// page tree.
func parse(t *testing.T, raw []byte) *pdfFile {
	t.Helper()
	p := &pdfFile{t: t, raw: raw, objs: map[int]int{}}
	m := regexp.MustCompile(`startxref\s+(\d+)\s+%%EOF\s*$`).FindSubmatch(raw)
	if m == nil {
		t.Fatal("no startxref")
	}
	xref, _ := strconv.Atoi(string(m[1]))
	if xref >= len(raw) || !bytes.HasPrefix(raw[xref:], []byte("xref")) {
		t.Fatalf("startxref %d does not point at the xref table", xref)
	}
	lines := strings.Split(string(raw[xref:]), "\n")
	var first, count int
	if _, err := fmt.Sscanf(lines[1], "%d %d", &first, &count); err != nil {
		t.Fatalf("xref subsection %q: %v", lines[1], err)
	}
	for i := 0; i < count; i++ {
		f := strings.Fields(lines[2+i])
		if len(f) != 3 || f[2] != "n" {
			continue
		}
		off, _ := strconv.Atoi(f[0])
		num := first + i
		if !bytes.HasPrefix(raw[off:], []byte(fmt.Sprintf("%d 0 obj", num))) {
			t.Fatalf("xref entry for object %d points at %q", num, raw[off:min(off+12, len(raw))])
		}
		p.objs[num] = off
	}
	tail := strings.Join(lines[2+count:], "\n")
	p.tail = tail
	p.root = p.ref(tail, "Root")
	kids := regexp.MustCompile(`/Kids \[([^\]]*)\]`).FindStringSubmatch(p.dict(p.ref(p.dict(p.root), "Pages")))
	if kids == nil {
		t.Fatal("no /Kids")
	}
	for _, k := range regexp.MustCompile(`(\d+) 0 R`).FindAllStringSubmatch(kids[1], -1) {
		n, _ := strconv.Atoi(k[1])
		p.pages = append(p.pages, n)
	}
	if c := regexp.MustCompile(`/Count (\d+)`).FindStringSubmatch(p.dict(p.ref(p.dict(p.root), "Pages"))); c == nil || c[1] != strconv.Itoa(len(p.pages)) {
		t.Errorf("/Count %v for %d kids", c, len(p.pages))
	}
	return p
}

func (p *pdfFile) info() string {
	i := strings.Index(p.tail, "/Info")
	if i < 0 {
		return ""
	}
	return p.tail[i:]
}

// dict is object n's text up to its stream or its end.
func (p *pdfFile) dict(n int) string {
	off, ok := p.objs[n]
	if !ok {
		p.t.Fatalf("no object %d", n)
	}
	body := p.raw[off:]
	end := bytes.Index(body, []byte("endobj"))
	if s := bytes.Index(body, []byte("stream")); s >= 0 && s < end {
		end = s
	}
	return string(body[:end])
}

// ref is the object number of key's indirect reference in dict d.
func (p *pdfFile) ref(d, key string) int {
	m := regexp.MustCompile(`/` + key + `\s+(\d+) 0 R`).FindStringSubmatch(d)
	if m == nil {
		p.t.Fatalf("no /%s reference in %q", key, d)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// stream is object n's stream data, inflated if it is FlateDecode.
func (p *pdfFile) stream(n int) []byte {
	d := p.dict(n)
	var length int
	if m := regexp.MustCompile(`/Length (\d+) 0 R`).FindStringSubmatch(d); m != nil {
		l, _ := strconv.Atoi(m[1])
		length, _ = strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(p.dict(l), fmt.Sprintf("%d 0 obj", l))))
	} else if m := regexp.MustCompile(`/Length (\d+)`).FindStringSubmatch(d); m != nil {
		length, _ = strconv.Atoi(m[1])
	} else {
		p.t.Fatalf("object %d has no /Length", n)
	}
	start := p.objs[n] + len(d) + len("stream")
	if p.raw[start] == '\r' {
		start++
	}
	start++ // "\n"
	data := p.raw[start : start+length]
	if !bytes.HasPrefix(bytes.TrimLeft(p.raw[start+length:], "\r\n"), []byte("endstream")) {
		p.t.Fatalf("object %d: stream does not end after /Length %d bytes", n, length)
	}
	if strings.Contains(d, "/FlateDecode") {
		zr, err := zlib.NewReader(bytes.NewReader(data))
		if err != nil {
			p.t.Fatalf("object %d: %v", n, err)
		}
		out, err := io.ReadAll(zr)
		if err != nil {
			p.t.Fatalf("object %d: %v", n, err)
		}
		return out
	}
	return data
}

// objectsWith lists the objects whose dictionaries contain s.
func (p *pdfFile) objectsWith(s string) []int {
	var ns []int
	for n := range p.objs {
		if strings.Contains(p.dict(n), s) {
			ns = append(ns, n)
		}
	}
	return ns
}

// toUnicode reads the ToUnicode CMap of the document's one Type0 font: glyph ID → text.
func (p *pdfFile) toUnicode() map[uint16]string {
	if p.toUni != nil {
		return p.toUni
	}
	type0 := p.objectsWith("/Type0")
	if len(type0) != 1 {
		p.t.Fatalf("%d Type0 fonts, want 1", len(type0))
	}
	cmap := string(p.stream(p.ref(p.dict(type0[0]), "ToUnicode")))
	p.toUni = map[uint16]string{}
	hex := func(s string) []uint16 {
		var u []uint16
		for i := 0; i+4 <= len(s); i += 4 {
			v, err := strconv.ParseUint(s[i:i+4], 16, 16)
			if err != nil {
				p.t.Fatalf("ToUnicode: %q", s)
			}
			u = append(u, uint16(v))
		}
		return u
	}
	for _, m := range regexp.MustCompile(`<([0-9A-Fa-f]{4})>\s*<([0-9A-Fa-f]{4})>\s*<([0-9A-Fa-f]+)>`).FindAllStringSubmatch(cmap, -1) {
		lo, hi, dst := hex(m[1])[0], hex(m[2])[0], hex(m[3])
		for g := lo; g <= hi && g >= lo; g++ {
			d := append([]uint16(nil), dst...)
			d[len(d)-1] += g - lo
			p.toUni[g] = string(utf16.Decode(d))
		}
	}
	if len(p.toUni) == 0 {
		p.t.Fatal("empty ToUnicode CMap")
	}
	return p.toUni
}

// glyphsByRune inverts the ToUnicode map.
func (p *pdfFile) glyphsByRune() map[rune]uint16 {
	m := map[rune]uint16{}
	for g, s := range p.toUnicode() {
		for _, r := range s {
			m[r] = g
		}
	}
	return m
}

// text lists the strings page i draws, in drawing order, each decoded through ToUnicode.
func (p *pdfFile) text(i int) []string {
	uni := p.toUnicode()
	content := p.stream(p.ref(p.dict(p.pages[i]), "Contents"))
	var out []string
	for _, tj := range regexp.MustCompile(`\[([^\]]*)\]\s*TJ`).FindAllSubmatch(content, -1) {
		var s strings.Builder
		for _, h := range regexp.MustCompile(`<([0-9A-Fa-f]*)>`).FindAllSubmatch(tj[1], -1) {
			for j := 0; j+4 <= len(h[1]); j += 4 {
				g, _ := strconv.ParseUint(string(h[1][j:j+4]), 16, 16)
				u, ok := uni[uint16(g)]
				if !ok {
					p.t.Fatalf("page %d shows glyph %d, which ToUnicode does not map", i+1, g)
				}
				s.WriteString(u)
			}
		}
		out = append(out, s.String())
	}
	return out
}

// glyphOutlines reads a TrueType font's loca table and tells whether a glyph has an outline.
func glyphOutlines(t *testing.T, ttf []byte) func(uint16) bool {
	t.Helper()
	be := binary.BigEndian
	tables := map[string][]byte{}
	n := int(be.Uint16(ttf[4:]))
	for i := 0; i < n; i++ {
		r := ttf[12+16*i:]
		off, size := be.Uint32(r[8:]), be.Uint32(r[12:])
		tables[string(r[:4])] = ttf[off : off+size]
	}
	head, loca, glyf := tables["head"], tables["loca"], tables["glyf"]
	if head == nil || loca == nil || glyf == nil {
		t.Fatalf("embedded font lacks head, loca or glyf")
	}
	long := be.Uint16(head[50:]) == 1
	at := func(g int) int {
		if long {
			return int(be.Uint32(loca[4*g:]))
		}
		return 2 * int(be.Uint16(loca[2*g:]))
	}
	entries := len(loca) / 2
	if long {
		entries = len(loca) / 4
	}
	return func(g uint16) bool {
		if int(g)+1 >= entries {
			return false
		}
		start, end := at(int(g)), at(int(g)+1)
		// A glyph with contours has a positive contour count (or -1 if composite) and a body.
		return end > start && end <= len(glyf) && int16(be.Uint16(glyf[start:])) != 0
	}
}

func containsItem(items []string, s string) bool { return indexItem(items, s) >= 0 }

func indexItem(items []string, s string) int {
	for i, it := range items {
		if it == s {
			return i
		}
	}
	return -1
}
