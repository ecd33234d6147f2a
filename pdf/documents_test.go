package pdf

import (
	"testing"
	"time"
)

// TestAcceptanceDocumentsAreListed: the acceptance documents on file are a section of their own,
// in the certificate's language, and left out when there are none.
func TestAcceptanceDocumentsAreListed(t *testing.T) {
	c := sample()
	c.Documents = []CertDoc{
		{Name: "验收报告（签字版）.pdf", UploadedBy: "王建国", UploadedAt: time.Date(2026, 3, 1, 12, 0, 0, 0, cst)},
		{Name: "72h-run-test.xlsx", UploadedBy: "李明", UploadedAt: time.Date(2026, 2, 28, 9, 0, 0, 0, cst)},
	}
	text := parse(t, render(t, c)).text(0)
	for _, want := range []string{"验收文件", "文件", "上传人", "上传日期", "验收报告（签字版）.pdf", "72h-run-test.xlsx", "李明", "2026-02-28"} {
		if !containsItem(text, want) {
			t.Errorf("does not print %q", want)
		}
	}
	c.Lang = "en"
	text = parse(t, render(t, c)).text(0)
	for _, want := range []string{"Acceptance documents", "Document", "Uploaded by", "Uploaded", "验收报告（签字版）.pdf"} {
		if !containsItem(text, want) {
			t.Errorf("English: does not print %q", want)
		}
	}
	c.Documents = nil
	if containsItem(parse(t, render(t, c)).text(0), "Acceptance documents") {
		t.Errorf("prints the documents' section without documents")
	}
}
