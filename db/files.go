package db

import (
	"context"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/kamflow/kamflow"
)

// The files' metadata (kamflow.FileStore; the table: migrations/postgres/0150_files.sql). Their
// bytes are in the blob store, never here.

var _ kamflow.FileStore = (*DB)(nil)

// fileRow is a files row as read.
type fileRow struct {
	ID          string
	Record      string
	RecordID    string
	DealID      string
	AccountID   string
	Kind        string
	Name        string
	ContentType string
	Size        int64
	Sha256      string
	BlobKey     string
	UploadedBy  string
	UploadedAt  sqlTime
	DeletedAt   sqlTime
	DeletedBy   string
}

func (r fileRow) file() kamflow.File {
	f := kamflow.File{ID: r.ID, Record: kamflow.FileRecord(r.Record), RecordID: r.RecordID, DealID: r.DealID,
		AccountID: r.AccountID, Kind: kamflow.FileKind(r.Kind), Name: r.Name, ContentType: r.ContentType, Size: r.Size,
		SHA256: r.Sha256, BlobKey: r.BlobKey, UploadedBy: r.UploadedBy, UploadedAt: r.UploadedAt.Time, DeletedBy: r.DeletedBy}
	if !r.DeletedAt.IsZero() {
		t := r.DeletedAt.Time
		f.DeletedAt = &t
	}
	return f
}

const fileColumns = `id, record, record_id, deal_id, account_id, kind, name, content_type, size, sha256, blob_key,
	uploaded_by, uploaded_at, deleted_at, deleted_by`

// CreateFile stores a file's metadata, with its audit entries, in one transaction.
func (d *DB) CreateFile(ctx context.Context, f *kamflow.File, audit ...*kamflow.AuditEntry) error {
	if f.ID == "" || f.BlobKey == "" || f.Record == "" || f.RecordID == "" {
		return kamflow.Errorf(kamflow.EINVALID, "a file without an id, a blob key or a record")
	}
	return d.inTx(ctx, "create file "+f.ID, func(tx *gorm.DB) error {
		res := tx.Exec(`INSERT INTO files (`+fileColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, '')
			ON CONFLICT (id) DO NOTHING`,
			f.ID, string(f.Record), f.RecordID, f.DealID, f.AccountID, string(f.Kind), f.Name, f.ContentType, f.Size, f.SHA256,
			f.BlobKey, f.UploadedBy, ts(f.UploadedAt))
		if res.Error != nil {
			return fmt.Errorf("db: create file %s: %w", f.ID, res.Error)
		}
		if res.RowsAffected == 0 {
			return kamflow.Errorf(kamflow.ECONFLICT, "file %q already exists", f.ID)
		}
		return appendEach(tx, audit)
	})
}

// File reads a file that is not deleted.
func (d *DB) File(ctx context.Context, id string) (*kamflow.File, error) {
	return d.file(d.r.WithContext(ctx), id)
}

func (d *DB) file(db *gorm.DB, id string) (*kamflow.File, error) {
	var rows []fileRow
	if err := db.Raw(`SELECT `+fileColumns+` FROM files WHERE id = ? AND deleted_at IS NULL`, id).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("db: read file %s: %w", id, err)
	}
	if len(rows) == 0 {
		return nil, kamflow.Errorf(kamflow.ENOTFOUND, "file %q not found", id)
	}
	f := rows[0].file()
	return &f, nil
}

// Files lists the files matching f that are not deleted, newest first.
func (d *DB) Files(ctx context.Context, f kamflow.FileFilter) ([]kamflow.File, error) {
	var w where
	w.add("deleted_at IS NULL")
	if f.Record != "" {
		w.add("record = ?", string(f.Record))
	}
	if f.RecordID != "" {
		w.add("record_id = ?", f.RecordID)
	}
	if f.DealID != "" {
		w.add("deal_id = ?", f.DealID)
	}
	if f.Kind != "" {
		w.add("kind = ?", string(f.Kind))
	}
	var rows []fileRow
	err := d.r.WithContext(ctx).Raw(`SELECT `+fileColumns+` FROM files WHERE `+strings.Join(w.conds, " AND ")+
		` ORDER BY uploaded_at DESC, id DESC`, w.args...).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("db: list files: %w", err)
	}
	out := make([]kamflow.File, len(rows))
	for i, r := range rows {
		out[i] = r.file()
	}
	return out, nil
}

// DeleteFile marks a file deleted, with its audit entries, in one transaction.
func (d *DB) DeleteFile(ctx context.Context, id, by string, at time.Time, audit ...*kamflow.AuditEntry) (*kamflow.File, error) {
	var out *kamflow.File
	err := d.inTx(ctx, "delete file "+id, func(tx *gorm.DB) error {
		res := tx.Exec(`UPDATE files SET deleted_at = ?, deleted_by = ? WHERE id = ? AND deleted_at IS NULL`, ts(at), by, id)
		if res.Error != nil {
			return fmt.Errorf("db: delete file %s: %w", id, res.Error)
		}
		if res.RowsAffected == 0 {
			return kamflow.Errorf(kamflow.ENOTFOUND, "file %q not found", id)
		}
		var rows []fileRow
		if err := tx.Raw(`SELECT `+fileColumns+` FROM files WHERE id = ?`, id).Scan(&rows).Error; err != nil || len(rows) != 1 {
			return fmt.Errorf("db: read deleted file %s: %v", id, err)
		}
		f := rows[0].file()
		out = &f
		return appendEach(tx, audit)
	})
	return out, err
}
