package kamflow

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"path"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Files: the documents a deal lives on — the tender (招标文件), the proposal, the bid (投标书), the
// contract, the acceptance report, site photos — kept on a deal, an account, a delivery task or a
// service visit. Their bytes are in a blob store (BlobStore: a folder in dev, an S3-compatible
// bucket in production), their metadata in the database (FileStore). A file is never changed:
// it is uploaded, read and deleted; a deletion keeps the metadata row (marked deleted) and the
// audit trail says who deleted what.

// FileKind is what a document is.
type FileKind string

// The kinds of file.
const (
	FileTender     FileKind = "tender"
	FileProposal   FileKind = "proposal"
	FileBid        FileKind = "bid"
	FileContract   FileKind = "contract"
	FileAcceptance FileKind = "acceptance_report"
	FilePhoto      FileKind = "photo"
	FileOther      FileKind = "other"
)

// FileKinds are the kinds, in the order a picker offers them.
var FileKinds = []FileKind{FileTender, FileProposal, FileBid, FileContract, FileAcceptance, FilePhoto, FileOther}

// ParseFileKind checks a kind; "" is other.
func ParseFileKind(s string) (FileKind, error) {
	if s == "" {
		return FileOther, nil
	}
	for _, k := range FileKinds {
		if string(k) == s {
			return k, nil
		}
	}
	return "", Errorf(EINVALID, "kind %q is not one of tender, proposal, bid, contract, acceptance_report, photo, other", s).
		WithDetail("field", "kind")
}

// FileRecord is the kind of record a file is kept on.
type FileRecord string

// The records files are kept on.
const (
	OnDeal    FileRecord = "deal"
	OnAccount FileRecord = "account"
	OnTask    FileRecord = "delivery_task" // RecordID is the task's key, DealID its deal
	OnVisit   FileRecord = "service_visit" // RecordID is the visit's ID, DealID its deal
)

// File is an uploaded document's metadata.
type File struct {
	ID string `json:"id"`
	// Record and RecordID name what the file is on; DealID is the deal it belongs to (its own,
	// or the task's or the visit's; "" for an account's file) and AccountID the account.
	Record    FileRecord `json:"record"`
	RecordID  string     `json:"record_id"`
	DealID    string     `json:"deal_id,omitempty"`
	AccountID string     `json:"account_id"`
	Kind      FileKind   `json:"kind"`
	// Name is the file's name as uploaded, sanitised (SanitizeFileName).
	Name string `json:"name"`
	// ContentType is detected from the bytes (DetectFileType), never taken from the client.
	ContentType string    `json:"content_type"`
	Size        int64     `json:"size"`
	SHA256      string    `json:"sha256"`
	UploadedBy  string    `json:"uploaded_by"`
	UploadedAt  time.Time `json:"uploaded_at"`
	// BlobKey is where the bytes are in the blob store; never shown.
	BlobKey   string     `json:"-"`
	DeletedAt *time.Time `json:"deleted_at,omitempty"`
	DeletedBy string     `json:"deleted_by,omitempty"`
}

// FileFilter selects files. Empty fields select everything; deleted files are never listed.
type FileFilter struct {
	Record   FileRecord
	RecordID string
	DealID   string
	Kind     FileKind
}

// FileStore keeps the files' metadata.
type FileStore interface {
	// CreateFile stores f's metadata, with the audit entries given in the same transaction.
	CreateFile(ctx context.Context, f *File, audit ...*AuditEntry) error
	// File reads a file's metadata; not_found when missing or deleted.
	File(ctx context.Context, id string) (*File, error)
	// Files lists the files matching f, newest first.
	Files(ctx context.Context, f FileFilter) ([]File, error)
	// DeleteFile marks the file deleted by whom and when, with the audit entries given in the
	// same transaction, and returns it as deleted; not_found when missing or deleted already.
	DeleteFile(ctx context.Context, id, by string, at time.Time, audit ...*AuditEntry) (*File, error)
}

// BlobStore keeps the files' bytes under keys kamflow makes (never a client's name).
type BlobStore interface {
	WriteBlob(ctx context.Context, key string, r io.Reader, contentType string) error
	// ReadBlob opens the blob; not_found when there is none.
	ReadBlob(ctx context.Context, key string) (io.ReadCloser, error)
	DeleteBlob(ctx context.Context, key string) error
}

// DefaultMaxFileBytes is the default size limit of one file: 50 MiB.
const DefaultMaxFileBytes = 50 << 20

// maxFileName bounds a file name, in bytes (what file systems allow).
const maxFileName = 255

// SanitizeFileName makes an uploaded name safe to store and to send back: no folders (the part
// after the last / or \), no control or bidirectional-override characters, no leading or trailing
// spaces or dots, at most 255 bytes (the extension kept), invalid UTF-8 replaced. Chinese and
// every other script stay as they are. A name that is left empty becomes "file".
func SanitizeFileName(name string) string {
	name = strings.ToValidUTF8(name, "_")
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		switch {
		case unicode.IsControl(r), r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069, r == 0x200E, r == 0x200F, r == 0xFEFF:
			return -1
		case unicode.IsSpace(r):
			return ' '
		}
		return r
	}, name)
	name = strings.Trim(name, " .")
	if len(name) > maxFileName {
		ext := path.Ext(name)
		if len(ext) > 16 || !utf8.ValidString(ext) {
			ext = ""
		}
		base := name[:len(name)-len(ext)]
		cut := maxFileName - len(ext)
		for cut > 0 && !utf8.RuneStart(base[cut]) {
			cut--
		}
		name = strings.TrimRight(base[:cut], " .") + ext
	}
	if name == "" {
		return "file"
	}
	return name
}

// ooxml are the content types of the Office Open XML and OpenDocument formats by extension:
// zip files, as their bytes are.
var ooxml = map[string]string{
	".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
	".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
	".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
	".odt":  "application/vnd.oasis.opendocument.text",
	".ods":  "application/vnd.oasis.opendocument.spreadsheet",
	".odp":  "application/vnd.oasis.opendocument.presentation",
}

// ole are the content types of the old Office formats (OLE compound files) by extension.
var ole = map[string]string{
	".doc": "application/msword",
	".xls": "application/vnd.ms-excel",
	".ppt": "application/vnd.ms-powerpoint",
}

// oleMagic begins every OLE compound file.
var oleMagic = []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}

// DetectFileType is the content type of a file from its first bytes (http.DetectContentType's
// sniffing), refined by the name's extension only where the bytes agree: a zip named .docx is a
// Word document, an OLE file named .xls an Excel sheet. declared, the type the client sent, is
// never taken: where it says a family the bytes are not (an image, a PDF, text, an Office
// document), the upload is refused (invalid, reason type_mismatch), as it is when a photo is not
// an image.
func DetectFileType(head []byte, name, declared string, kind FileKind) (string, error) {
	detected := http.DetectContentType(head)
	ext := strings.ToLower(path.Ext(name))
	switch {
	case detected == "application/zip" && ooxml[ext] != "":
		detected = ooxml[ext]
	case bytes.HasPrefix(head, oleMagic) && ole[ext] != "":
		detected = ole[ext]
	}
	mismatch := func() error {
		return Errorf(EINVALID, "the file's bytes are %s, not the %s it is said to be", detected, declared).
			WithDetail("field", "file").WithDetail("reason", "type_mismatch").
			WithDetail("declared", declared).WithDetail("detected", detected)
	}
	if kind == FilePhoto && !strings.HasPrefix(detected, "image/") {
		return "", Errorf(EINVALID, "a photo must be an image; the file's bytes are %s", detected).
			WithDetail("field", "file").WithDetail("reason", "type_mismatch").WithDetail("detected", detected)
	}
	d := strings.ToLower(strings.TrimSpace(declared))
	if i := strings.IndexByte(d, ';'); i >= 0 {
		d = strings.TrimSpace(d[:i])
	}
	family := func(t string) string {
		switch {
		case strings.HasPrefix(t, "image/"):
			return "image"
		case t == "application/pdf":
			return "pdf"
		case strings.HasPrefix(t, "text/html"), t == "application/xhtml+xml":
			return "html"
		case strings.HasPrefix(t, "text/"):
			return "text"
		case t == "application/zip", t == "application/x-zip-compressed", strings.HasPrefix(t, "application/vnd.openxmlformats-"),
			strings.HasPrefix(t, "application/vnd.oasis.opendocument."):
			return "zip"
		case t == "application/msword", t == "application/vnd.ms-excel", t == "application/vnd.ms-powerpoint":
			return "ole"
		case strings.HasPrefix(t, "video/"):
			return "video"
		case strings.HasPrefix(t, "audio/"):
			return "audio"
		}
		return ""
	}
	want := family(d)
	if want == "" {
		return detected, nil // nothing said, or a type with nothing to check against
	}
	got := family(detected)
	switch {
	case want == got:
	case want == "ole" && (detected == "application/octet-stream" || bytes.HasPrefix(head, oleMagic)):
	case want == "text" && got == "": // text the sniffer could not call text (a rare encoding)
	default:
		return "", mismatch()
	}
	return detected, nil
}

// ServedFileType is the Content-Type a stored file is downloaded with: its own, except that a
// type a browser would run (HTML, XML, SVG, scripts) goes out as application/octet-stream.
// Downloads are attachments with X-Content-Type-Options: nosniff besides.
func ServedFileType(ct string) string {
	t := strings.ToLower(ct)
	for _, active := range []string{"html", "xml", "svg", "javascript", "ecmascript"} {
		if strings.Contains(t, active) {
			return "application/octet-stream"
		}
	}
	if t == "" {
		return "application/octet-stream"
	}
	return ct
}

// FileAudit is the audit entry of a file uploaded (action file.upload) or deleted (file.delete)
// by actor: on its deal's timeline when it belongs to one.
func FileAudit(action string, f *File, actor string, at time.Time) *AuditEntry {
	on := string(f.Record)
	switch f.Record {
	case OnTask:
		on = "delivery task " + f.RecordID
	case OnVisit:
		on = "service visit " + f.RecordID
	}
	verb := "uploaded to the " + on
	if action == "file.delete" {
		verb = "deleted from the " + on
	}
	e := &AuditEntry{
		At: at, Actor: actor, Action: action, EntityType: "file", EntityID: f.ID, DealID: f.DealID,
		Summary: fmt.Sprintf("%s %s (%s) %s", strings.ReplaceAll(string(f.Kind), "_", " "), f.Name, FormatBytes(f.Size), verb),
		Key:     action + ":" + f.ID,
	}
	meta := map[string]any{"name": f.Name, "kind": f.Kind, "size": f.Size, "content_type": f.ContentType,
		"record": f.Record, "record_id": f.RecordID, "account_id": f.AccountID}
	if action == "file.delete" {
		e.Before = meta
	} else {
		e.After = meta
	}
	return e
}

// FormatBytes writes a size as people read it: 980 B, 12.5 KB, 3.2 MB (1 KB = 1024 B).
func FormatBytes(n int64) string {
	switch {
	case n < 1<<10:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KB", float64(n)/(1<<10))
	case n < 1<<30:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.1f GB", float64(n)/(1<<30))
}
