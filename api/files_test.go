package api_test

import (
	"bytes"
	"context"
	"fmt"
	"mime/multipart"
	"net/textproto"
	"strings"
	"testing"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/api"
	"github.com/kamflow/kamflow/blobs"
	"github.com/kamflow/kamflow/db"
	"github.com/kamflow/kamflow/db/dbtest"
)

// testBlobs is a blob store in a folder of the test's own.
func testBlobs(t testing.TB) kamflow.BlobStore {
	t.Helper()
	u, err := blobs.FileURL(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	b, err := blobs.Open(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// filePart is one file of an upload.
type filePart struct {
	name, contentType, kind string
	data                    []byte
}

// multipartUpload is an upload's body: the kind part (when set), then the file with its declared
// type (application/octet-stream when none).
func multipartUpload(p filePart) (body, contentType string) {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	if p.kind != "" {
		w.WriteField("kind", p.kind)
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename="%s"`, strings.ReplaceAll(p.name, `"`, `\"`)))
	ct := p.contentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	h.Set("Content-Type", ct)
	fw, _ := w.CreatePart(h)
	fw.Write(p.data)
	w.Close()
	return b.String(), w.FormDataContentType()
}

// uploadFile posts a file to path as the user, checking the answer against openapi.json.
func (e *testEnv) uploadFile(as, path string, p filePart) *response {
	e.t.Helper()
	body, ct := multipartUpload(p)
	res := e.serve(request{method: "POST", path: path, as: as, body: body, headers: map[string]string{"Content-Type": ct}})
	if err := api.CheckOpenAPI("POST", path, nil, res.status, res.body); err != nil {
		e.t.Errorf("upload: %v", err)
	}
	return res
}

var pdfBytes = []byte("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")

// pngBytes is the start of a PNG, which is what sniffing reads.
var pngBytes = append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), make([]byte, 64)...)

// TestFiles: documents uploaded, listed, downloaded and deleted on a deal, an account, a delivery
// task and a service visit, seen only by who sees the record; names sanitised, types from the
// bytes, downloads as attachments, the size limit, and the deal's timeline.
func TestFiles(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, func(c *api.Config) { c.MaxFileBytes = 4096 })
		m := &matrixRun{env: e}
		account, deal := m.fresh(development)
		files := "/api/v1/deals/" + deal + "/files"

		// A tender on the deal, its name with folders and a control character.
		res := e.uploadFile("kam1", files, filePart{name: "../../tmp/招标文件\t 第1版.pdf", kind: "tender", data: pdfBytes})
		if res.status != 201 {
			t.Fatalf("upload: %d %s", res.status, res.body)
		}
		f := res.json.(map[string]any)
		if f["name"] != "招标文件 第1版.pdf" || f["content_type"] != "application/pdf" || f["kind"] != "tender" ||
			f["uploaded_by"] != "kam1" || f["uploaded_by_name"] != "kam1" || f["record"] != "deal" || f["deal_id"] != deal ||
			f["size"] != float64(len(pdfBytes)) {
			t.Errorf("the file stored: %s", res.body)
		}
		id := f["id"].(string)

		// Who sees the deal lists and reads it; who does not is told there is no such deal or file.
		for _, who := range []string{"kam1", "kam2", "d1", "e1"} {
			l := e.must(200, "GET", files, who, "")
			if l["total"] != float64(1) {
				t.Errorf("%s lists %v", who, l)
			}
			dl := e.serve(request{method: "GET", path: "/api/v1/files/" + id, as: who})
			if dl.status != 200 || !bytes.Equal(dl.body, pdfBytes) {
				t.Fatalf("%s downloads: %d %q", who, dl.status, dl.body)
			}
			if got, want := dl.header.Get("Content-Disposition"),
				`attachment; filename="____ _1_.pdf"; filename*=UTF-8''%E6%8B%9B%E6%A0%87%E6%96%87%E4%BB%B6%20%E7%AC%AC1%E7%89%88.pdf`; got != want {
				t.Errorf("Content-Disposition %q, want %q", got, want)
			}
			if dl.header.Get("Content-Type") != "application/pdf" || dl.header.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("download headers %v", dl.header)
			}
		}
		for _, who := range []string{"kam3", "d2", "e2"} {
			e.must(404, "GET", files, who, "")
			e.must(404, "GET", "/api/v1/files/"+id, who, "")
			e.must(404, "DELETE", "/api/v1/files/"+id, who, "")
		}
		e.must(403, "GET", "/api/v1/files/"+id, "admin", "")

		// The client's type is never taken: HTML goes out as bytes to save, never to show.
		html := e.uploadFile("kam1", files, filePart{name: "page.html", contentType: "image/png", kind: "other", data: []byte("<html><script>alert(1)</script></html>")})
		if code, _ := lookup(html.json, "error.details.reason"); html.status != 400 || code != "type_mismatch" {
			t.Errorf("HTML said to be a PNG: %d %s", html.status, html.body)
		}
		html = e.uploadFile("kam1", files, filePart{name: "page.html", contentType: "text/html", kind: "other", data: []byte("<html><script>alert(1)</script></html>")})
		if html.status != 201 {
			t.Fatalf("HTML upload: %d %s", html.status, html.body)
		}
		hid, _ := lookup(html.json, "id")
		dl := e.serve(request{method: "GET", path: fmt.Sprint("/api/v1/files/", hid), as: "kam1"})
		if ct := dl.header.Get("Content-Type"); ct != "application/octet-stream" || !strings.HasPrefix(dl.header.Get("Content-Disposition"), "attachment;") {
			t.Errorf("HTML served as %q, %q", ct, dl.header.Get("Content-Disposition"))
		}
		// A photo must be an image; a PDF said to be a JPEG is refused.
		for _, p := range []filePart{{name: "site.jpg", kind: "photo", data: pdfBytes}, {name: "x.jpg", contentType: "image/jpeg", kind: "other", data: pdfBytes}} {
			if r := e.uploadFile("kam1", files, p); r.status != 400 {
				t.Errorf("%+v: %d %s", p.name, r.status, r.body)
			}
		}
		if r := e.uploadFile("kam1", files, filePart{name: "site.png", kind: "photo", data: pngBytes}); r.status != 201 {
			t.Errorf("a photo: %d %s", r.status, r.body)
		} else if ct, _ := lookup(r.json, "content_type"); ct != "image/png" {
			t.Errorf("a photo stored as %v", ct)
		}
		// A bad kind, an empty file.
		if r := e.uploadFile("kam1", files, filePart{name: "a.pdf", kind: "invoice", data: pdfBytes}); r.status != 400 {
			t.Errorf("kind invoice: %d", r.status)
		}
		if r := e.uploadFile("kam1", files, filePart{name: "a.pdf", kind: "bid"}); r.status != 400 {
			t.Errorf("an empty file: %d", r.status)
		}
		// Over the limit: 413 too_large, with the limit.
		big := e.uploadFile("kam1", files, filePart{name: "big.pdf", kind: "bid", data: append(pdfBytes, make([]byte, 5000)...)})
		if code, _ := lookup(big.json, "error.code"); big.status != 413 || code != "too_large" {
			t.Errorf("a big file: %d %s", big.status, big.body)
		}
		if lim, _ := lookup(big.json, "error.details.limit_bytes"); lim != float64(4096) {
			t.Errorf("limit_bytes %v", lim)
		}
		// A kind filter: the bid step's files.
		e.uploadFile("kam2", files+"?kind=bid", filePart{name: "投标书.pdf", data: pdfBytes})
		if l := e.must(200, "GET", files+"?kind=bid", "kam1", ""); l["total"] != float64(1) {
			t.Errorf("bid files: %v", l)
		} else if k, _ := lookup(l, "items.0.kind"); k != "bid" {
			t.Errorf("bid files: %v", l)
		}

		// Deleting: not an engineer's file of another; a KAM of the team may. The file is gone
		// for everyone; the deal's timeline says who uploaded and who deleted it.
		e.must(403, "DELETE", "/api/v1/files/"+id, "e1", "")
		del := e.must(200, "DELETE", "/api/v1/files/"+id, "kam2", "")
		if del["deleted_by"] != "kam2" || del["deleted_at"] == nil {
			t.Errorf("deleted: %v", del)
		}
		e.must(404, "GET", "/api/v1/files/"+id, "kam1", "")
		e.must(404, "DELETE", "/api/v1/files/"+id, "kam1", "")
		for _, it := range e.must(200, "GET", files, "kam1", "")["items"].([]any) {
			if it.(map[string]any)["id"] == id {
				t.Errorf("a deleted file is listed")
			}
		}
		tl := e.must(200, "GET", "/api/v1/deals/"+deal+"/timeline", "kam1", "")
		var actions []string
		for _, it := range tl["items"].([]any) {
			en := it.(map[string]any)
			if en["entity_id"] == id {
				actions = append(actions, fmt.Sprint(en["action"], " ", en["actor"]))
			}
		}
		if strings.Join(actions, ", ") != "file.delete kam2, file.upload kam1" {
			t.Errorf("the timeline of the file: %v", actions)
		}

		// An engineer deletes their own.
		mine := e.uploadFile("e1", files, filePart{name: "notes.txt", data: []byte("Cable trays measured\n")})
		e.must(200, "DELETE", fmt.Sprint("/api/v1/files/", mine.json.(map[string]any)["id"]), "e1", "")

		// The account's files: its team, and the engineer of its deal.
		af := "/api/v1/accounts/" + account + "/files"
		if r := e.uploadFile("kam1", af, filePart{name: "组织架构.txt", kind: "other", data: []byte("总经理 王工\n")}); r.status != 201 {
			t.Fatalf("account upload: %d %s", r.status, r.body)
		} else {
			aid := r.json.(map[string]any)["id"].(string)
			e.must(200, "GET", "/api/v1/files/"+aid, "e1", "")
			e.must(404, "GET", "/api/v1/files/"+aid, "e2", "")
			e.must(404, "GET", "/api/v1/files/"+aid, "kam3", "")
		}
		if l := e.must(200, "GET", af, "e1", ""); l["total"] != float64(1) {
			t.Errorf("account files: %v", l)
		}
		e.must(404, "GET", af, "e2", "")
		// The deal's files are not the account's.
		if l := e.must(200, "GET", files+"?all=true", "kam1", ""); l["total"] != float64(3) {
			t.Errorf("all the deal's files: %v", l)
		}
	})
}

// TestFilesOnDelivery: a delivery task's and a service visit's files, and the acceptance
// documents on the certificate.
func TestFilesOnDelivery(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		m := &matrixRun{env: e}
		_, deal := m.fresh(visitDue)
		task := "/api/v1/deals/" + deal + "/delivery/tasks/acceptance_test/files"
		if r := e.uploadFile("e1", task, filePart{name: "验收报告.pdf", kind: "acceptance_report", data: pdfBytes}); r.status != 201 {
			t.Fatalf("task upload: %d %s", r.status, r.body)
		} else if rec, _ := lookup(r.json, "record"); rec != "delivery_task" {
			t.Errorf("record %v", rec)
		}
		e.must(404, "GET", "/api/v1/deals/"+deal+"/delivery/tasks/no_such_task/files", "e1", "")
		e.must(404, "GET", task, "e2", "")
		if l := e.must(200, "GET", task, "kam1", ""); l["total"] != float64(1) {
			t.Errorf("task files: %v", l)
		}
		visit := "/api/v1/service-visits/" + deal + "-v1/files"
		if r := e.uploadFile("e1", visit, filePart{name: "现场照片.png", kind: "photo", data: pngBytes}); r.status != 201 {
			t.Fatalf("visit upload: %d %s", r.status, r.body)
		}
		e.must(404, "GET", visit, "kam3", "")
		if l := e.must(200, "GET", visit, "d1", ""); l["total"] != float64(1) {
			t.Errorf("visit files: %v", l)
		}
		e.must(404, "GET", "/api/v1/service-visits/no-such-visit/files", "e1", "")
		// The certificate lists the acceptance documents, whatever they are on.
		e.uploadFile("kam1", "/api/v1/deals/"+deal+"/files", filePart{name: "acceptance-signed.pdf", kind: "acceptance_report", data: pdfBytes})
		// The deal's own files, and with all=true its tasks' and visits' too.
		if l := e.must(200, "GET", "/api/v1/deals/"+deal+"/files", "kam1", ""); l["total"] != float64(1) {
			t.Errorf("the deal's files: %v", l)
		}
		if l := e.must(200, "GET", "/api/v1/deals/"+deal+"/files?all=true", "kam1", ""); l["total"] != float64(3) {
			t.Errorf("all the deal's files: %v", l)
		}
		info := e.must(200, "GET", "/api/v1/deals/"+deal+"/acceptance/certificate", "kam1", "")
		docs, _ := info["documents"].([]any)
		var names []string
		for _, dd := range docs {
			names = append(names, fmt.Sprint(dd.(map[string]any)["name"]))
		}
		if strings.Join(names, ", ") != "验收报告.pdf, acceptance-signed.pdf" {
			t.Errorf("the certificate's documents: %v", names)
		}
	})
}

// TestFileDisposition: the download's name, ASCII and UTF-8.
func TestFileDisposition(t *testing.T) {
	for name, want := range map[string]string{
		"bid.pdf":         `attachment; filename="bid.pdf"; filename*=UTF-8''bid.pdf`,
		`a"b\c;=d.pdf`:    `attachment; filename="a_b_c;=d.pdf"; filename*=UTF-8''a%22b%5Cc%3B%3Dd.pdf`,
		"合同 (final).docx": `attachment; filename="__ (final).docx"; filename*=UTF-8''%E5%90%88%E5%90%8C%20%28final%29.docx`,
	} {
		if got := api.FileDisposition(name); got != want {
			t.Errorf("%q: %s, want %s", name, got, want)
		}
	}
}
