package kamflow

import (
	"strings"
	"testing"
)

func TestSanitizeFileName(t *testing.T) {
	long := strings.Repeat("投标", 60) + ".pdf" // 724 bytes
	for in, want := range map[string]string{
		"招标文件.pdf":                        "招标文件.pdf",
		`C:\Users\王工\Desktop\投标书 v2.docx`: "投标书 v2.docx",
		"../../etc/passwd":                "passwd",
		"a\x00b\x1fc\x7fd.txt":            "abcd.txt",
		"evil\u202Efdp.exe":               "evilfdp.exe",
		"  .hidden. ":                     "hidden",
		"..":                              "file",
		"":                                "file",
		"tab\there.pdf":                   "tabhere.pdf",
		"bad\xffutf8.pdf":                 "bad_utf8.pdf",
	} {
		if got := SanitizeFileName(in); got != want {
			t.Errorf("SanitizeFileName(%q) = %q, want %q", in, got, want)
		}
	}
	got := SanitizeFileName(long)
	if len(got) > 255 || !strings.HasSuffix(got, ".pdf") || !strings.HasPrefix(got, "投标投标") || strings.ContainsRune(got, '\uFFFD') {
		t.Errorf("a long name: %q (%d bytes)", got, len(got))
	}
}

func TestDetectFileType(t *testing.T) {
	pdf := []byte("%PDF-1.7\n")
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
	zip := []byte("PK\x03\x04\x14\x00\x06\x00")
	ole := []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1, 0, 0}
	for _, tt := range []struct {
		head           []byte
		name, declared string
		kind           FileKind
		want           string // "" for refused
	}{
		{pdf, "a.pdf", "application/pdf", FileBid, "application/pdf"},
		{pdf, "a.pdf", "", FileBid, "application/pdf"},
		{pdf, "a.png", "image/png", FileOther, ""},
		{pdf, "a.jpg", "", FilePhoto, ""},
		{png, "site.png", "image/png", FilePhoto, "image/png"},
		{png, "site.png", "image/jpeg", FilePhoto, "image/png"}, // an image all the same
		{png, "x.pdf", "application/pdf", FileOther, ""},
		{zip, "合同.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", FileContract,
			"application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
		{zip, "报价.xlsx", "application/octet-stream", FileBid, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
		{pdf, "合同.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", FileContract, ""},
		{ole, "old.doc", "application/msword", FileContract, "application/msword"},
		{[]byte("<html><body>"), "x.html", "text/html", FileOther, "text/html; charset=utf-8"},
		{[]byte("<html><body>"), "x.txt", "text/plain", FileOther, ""},
		{[]byte("plain notes\n"), "x.txt", "text/plain; charset=utf-8", FileOther, "text/plain; charset=utf-8"},
	} {
		got, err := DetectFileType(tt.head, tt.name, tt.declared, tt.kind)
		if tt.want == "" {
			if ErrorCode(err) != EINVALID {
				t.Errorf("%s as %q (%s): %q, %v; want refused", tt.name, tt.declared, tt.kind, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%s as %q (%s): %q, %v; want %q", tt.name, tt.declared, tt.kind, got, err, tt.want)
		}
	}
	for ct, want := range map[string]string{"text/html; charset=utf-8": "application/octet-stream", "image/svg+xml": "application/octet-stream",
		"text/xml; charset=utf-8": "application/octet-stream", "application/pdf": "application/pdf", "": "application/octet-stream"} {
		if got := ServedFileType(ct); got != want {
			t.Errorf("ServedFileType(%q) = %q", ct, got)
		}
	}
}
