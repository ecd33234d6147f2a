package db_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/kamflow/kamflow"
	"github.com/kamflow/kamflow/db"
	"github.com/kamflow/kamflow/db/dbtest"
)

// TestFileStore: files stored with their audit entry, listed by record, deal and kind newest
// first, and deleted softly: the row stays, marked, out of every list and read, with the
// deletion's audit entry on the deal's timeline.
func TestFileStore(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
		mk := func(id string, rec kamflow.FileRecord, recID, deal string, kind kamflow.FileKind, at time.Time) *kamflow.File {
			f := &kamflow.File{ID: id, Record: rec, RecordID: recID, DealID: deal, AccountID: "acc-1", Kind: kind,
				Name: "招标文件 " + id + ".pdf", ContentType: "application/pdf", Size: 1234, SHA256: "ab", BlobKey: "files/" + id,
				UploadedBy: "kam1", UploadedAt: at}
			if err := d.CreateFile(ctx, f, kamflow.FileAudit("file.upload", f, "kam1", at)); err != nil {
				t.Fatal(err)
			}
			return f
		}
		mk("f1", kamflow.OnDeal, "deal-1", "deal-1", kamflow.FileTender, t0)
		mk("f2", kamflow.OnDeal, "deal-1", "deal-1", kamflow.FileBid, t0.Add(time.Hour))
		mk("f3", kamflow.OnTask, "acceptance_test", "deal-1", kamflow.FileAcceptance, t0.Add(2*time.Hour))
		mk("f4", kamflow.OnAccount, "acc-1", "", kamflow.FileOther, t0.Add(3*time.Hour))
		mk("f5", kamflow.OnVisit, "deal-1-v1", "deal-1", kamflow.FilePhoto, t0.Add(4*time.Hour))
		if err := d.CreateFile(ctx, &kamflow.File{ID: "f1", Record: kamflow.OnDeal, RecordID: "x", BlobKey: "files/other"}); kamflow.ErrorCode(err) != kamflow.ECONFLICT {
			t.Errorf("the same id again: %v", err)
		}

		ids := func(f kamflow.FileFilter) (out []string) {
			t.Helper()
			files, err := d.Files(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			for _, x := range files {
				out = append(out, x.ID)
			}
			return out
		}
		for _, tt := range []struct {
			f    kamflow.FileFilter
			want string
		}{
			{kamflow.FileFilter{Record: kamflow.OnDeal, RecordID: "deal-1"}, "f2 f1"},
			{kamflow.FileFilter{DealID: "deal-1"}, "f5 f3 f2 f1"},
			{kamflow.FileFilter{DealID: "deal-1", Kind: kamflow.FileAcceptance}, "f3"},
			{kamflow.FileFilter{Record: kamflow.OnAccount, RecordID: "acc-1"}, "f4"},
			{kamflow.FileFilter{Record: kamflow.OnTask, RecordID: "acceptance_test", DealID: "deal-1"}, "f3"},
			{kamflow.FileFilter{Record: kamflow.OnVisit, RecordID: "deal-1-v1"}, "f5"},
			{kamflow.FileFilter{DealID: "deal-2"}, ""},
		} {
			if got := join(ids(tt.f)); got != tt.want {
				t.Errorf("%+v: %q, want %q", tt.f, got, tt.want)
			}
		}
		f, err := d.File(ctx, "f2")
		if err != nil || f.Name != "招标文件 f2.pdf" || !f.UploadedAt.Equal(t0.Add(time.Hour)) || f.BlobKey != "files/f2" || f.Kind != kamflow.FileBid ||
			f.DeletedAt != nil || f.Size != 1234 {
			t.Fatalf("File(f2) = %+v, %v", f, err)
		}

		at := t0.Add(5 * time.Hour)
		del, err := d.DeleteFile(ctx, "f2", "d1", at, kamflow.FileAudit("file.delete", f, "d1", at))
		if err != nil || del.DeletedAt == nil || !del.DeletedAt.Equal(at) || del.DeletedBy != "d1" {
			t.Fatalf("DeleteFile = %+v, %v", del, err)
		}
		if _, err := d.File(ctx, "f2"); kamflow.ErrorCode(err) != kamflow.ENOTFOUND {
			t.Errorf("a deleted file read: %v", err)
		}
		if _, err := d.DeleteFile(ctx, "f2", "d1", at); kamflow.ErrorCode(err) != kamflow.ENOTFOUND {
			t.Errorf("deleted twice: %v", err)
		}
		if got := join(ids(kamflow.FileFilter{DealID: "deal-1"})); got != "f5 f3 f1" {
			t.Errorf("after the deletion: %q", got)
		}
		// The row stays (the audit trail names it); the deal's timeline has both entries.
		var n int64
		if err := d.Gorm().Raw("SELECT count(*) FROM files WHERE id = 'f2' AND deleted_at IS NOT NULL AND deleted_by = 'd1'").Scan(&n).Error; err != nil || n != 1 {
			t.Errorf("the deleted row: %d, %v", n, err)
		}
		entries, _, err := d.Audit(ctx, kamflow.AuditFilter{DealID: "deal-1", Page: kamflow.Page{Limit: 10}})
		if err != nil {
			t.Fatal(err)
		}
		var acts []string
		for _, e := range entries {
			if e.EntityID == "f2" {
				acts = append(acts, e.Action+" "+e.Actor)
			}
		}
		if join(acts) != "file.delete d1 file.upload kam1" {
			t.Errorf("the timeline of f2: %v", acts)
		}
		if _, err := d.DeleteFile(ctx, "nope", "d1", at); kamflow.ErrorCode(err) != kamflow.ENOTFOUND {
			t.Errorf("no such file: %v", err)
		}
	})
}

func join(s []string) string { return strings.Join(s, " ") }
