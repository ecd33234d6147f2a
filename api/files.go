package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/kamflow/kamflow"
)

// Files: the documents on a deal, an account, a delivery task and a service visit (kamflow.File).
// GET and POST .../files list and upload a record's files; GET /files/{fileId} downloads one and
// DELETE /files/{fileId} deletes it. Only who may see the record may list and read its files (a
// file of a record one may not see is not_found, as the record is); KAMs, directors and engineers
// upload to what they see; a file is deleted by who uploaded it, or by a KAM or director who sees
// it. An upload is multipart/form-data: the part "file" and, in a part "kind" or ?kind=, what it
// is (tender, proposal, bid, contract, acceptance_report, photo, other). Its content type is read
// from its bytes (kamflow.DetectFileType): the client's is never taken, and one that says what
// the bytes are not is refused. A file over the limit (Config.MaxFileBytes) is 413 too_large.
// Downloads are attachments under the original name, never shown inline. Uploads and deletions
// are in the audit trail, on the deal's timeline when the file is a deal's.

// fileTarget is the record a files route is about, visible to the user.
type fileTarget struct {
	record              kamflow.FileRecord
	recordID            string
	dealID, accountID   string
	dealOwner, dealTeam string
}

// fileView is a file as the API shows it: with its uploader's display name.
type fileView struct {
	kamflow.File
	UploadedByName string `json:"uploaded_by_name"`
}

func (s *Server) files() kamflow.FileStore {
	if s.cfg.Files != nil {
		return s.cfg.Files
	}
	f, _ := s.cfg.Deals.(kamflow.FileStore)
	return f
}

func (s *Server) fileStores() (kamflow.FileStore, kamflow.BlobStore, error) {
	fs := s.files()
	if fs == nil || s.cfg.Blobs == nil {
		return nil, nil, kamflow.Errorf(kamflow.EUNAVAILABLE, "files are not kept here: no blob store is configured")
	}
	return fs, s.cfg.Blobs, nil
}

func (s *Server) maxFileBytes() int64 {
	if s.cfg.MaxFileBytes > 0 {
		return s.cfg.MaxFileBytes
	}
	return kamflow.DefaultMaxFileBytes
}

// isFileUpload reports whether the request uploads a file, whose body may exceed the API's body
// limit (it has the file limit instead: fileUploadLimit).
func isFileUpload(c echo.Context) bool {
	return c.Request().Method == http.MethodPost && strings.HasPrefix(c.Path(), "/api/v1/") && strings.HasSuffix(c.Path(), "/files")
}

// fileUploadLimit caps an upload's body at the file limit and 1 MiB of multipart framing, before
// anything reads it.
func (s *Server) fileUploadLimit(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if !isFileUpload(c) {
			return next(c)
		}
		req := c.Request()
		limit := s.maxFileBytes() + 1<<20
		if req.ContentLength > limit {
			return s.fileTooLarge()
		}
		req.Body = &fileLimitedBody{ReadCloser: req.Body, left: limit, tooLarge: s.fileTooLarge}
		return next(c)
	}
}

// fileTooLarge is the error of a file over the limit: 413 too_large, reason file_too_large, with
// the limit in bytes (an *echo.HTTPError, which the body's readers pass on as it is).
func (s *Server) fileTooLarge() error {
	limit := s.maxFileBytes()
	return &echo.HTTPError{Code: http.StatusRequestEntityTooLarge, Message: "file too large",
		Internal: kamflow.Errorf(kamflow.ETOOLARGE, "the file is larger than %s", kamflow.FormatBytes(limit)).
			WithDetail("reason", "file_too_large").WithDetail("limit_bytes", limit).WithDetail("field", "file")}
}

type fileLimitedBody struct {
	io.ReadCloser
	left     int64
	tooLarge func() error
}

func (b *fileLimitedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, b.tooLarge()
	}
	if int64(len(p)) > b.left {
		p = p[:b.left+1]
	}
	n, err := b.ReadCloser.Read(p)
	b.left -= int64(n)
	if b.left < 0 {
		return 0, b.tooLarge()
	}
	return n, err
}

// dealTarget is the deal of the path.
func (s *Server) dealTarget(c echo.Context) (*fileTarget, error) {
	d, err := s.visibleDeal(c)
	if err != nil {
		return nil, err
	}
	return &fileTarget{record: kamflow.OnDeal, recordID: d.ID, dealID: d.ID, accountID: d.AccountID, dealOwner: d.Owner, dealTeam: d.TeamID}, nil
}

// accountTarget is the account of the path.
func (s *Server) accountTarget(c echo.Context) (*fileTarget, error) {
	a, err := s.visibleAccount(c)
	if err != nil {
		return nil, err
	}
	return &fileTarget{record: kamflow.OnAccount, recordID: a.ID, accountID: a.ID}, nil
}

// taskTarget is the delivery task of the path, on the plan of its deal.
func (s *Server) taskTarget(c echo.Context) (*fileTarget, error) {
	d, p, err := s.deliveryPlan(c)
	if err != nil {
		return nil, err
	}
	if p.Task(c.Param("key")) == nil {
		return nil, kamflow.Errorf(kamflow.ENOTFOUND, "deal %s has no delivery task %q", d.ID, c.Param("key"))
	}
	return &fileTarget{record: kamflow.OnTask, recordID: c.Param("key"), dealID: d.ID, accountID: d.AccountID, dealOwner: d.Owner, dealTeam: d.TeamID}, nil
}

// visitTarget is the service visit of the path, seen through its deal.
func (s *Server) visitTarget(c echo.Context) (*fileTarget, error) {
	ctx := c.Request().Context()
	v, err := s.cfg.Deliveries.ServiceVisit(ctx, c.Param("id"))
	if err != nil {
		return nil, err
	}
	d, err := s.cfg.Deals.Deal(ctx, v.DealID)
	if err != nil {
		return nil, err
	}
	if me := s.actor(c); !me.CanSeeDeal(d) {
		return nil, kamflow.Errorf(kamflow.ENOTFOUND, "service visit %q not found", c.Param("id"))
	}
	return &fileTarget{record: kamflow.OnVisit, recordID: v.ID, dealID: d.ID, accountID: d.AccountID, dealOwner: d.Owner, dealTeam: d.TeamID}, nil
}

// fileVisible checks that the user may see the record of a stored file: not_found otherwise, as
// for a file that is not.
func (s *Server) fileVisible(c echo.Context, f *kamflow.File) error {
	ctx := c.Request().Context()
	me := s.actor(c)
	hidden := kamflow.Errorf(kamflow.ENOTFOUND, "file %q not found", f.ID)
	if f.Record == kamflow.OnAccount {
		a, err := s.cfg.Accounts.Account(ctx, f.AccountID)
		if kamflow.ErrorCode(err) == kamflow.ENOTFOUND {
			return hidden
		} else if err != nil {
			return err
		}
		if me.CanSeeAccount(a) {
			return nil
		}
		if me.Role == kamflow.UserEngineer { // the accounts of the deals they are assigned to
			_, n, err := s.cfg.Deals.Deals(ctx, kamflow.DealFilter{Viewer: &me, AccountID: a.ID, Page: kamflow.Page{Limit: 1}})
			if err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
		}
		return hidden
	}
	d, err := s.cfg.Deals.Deal(ctx, f.DealID)
	if kamflow.ErrorCode(err) == kamflow.ENOTFOUND {
		return hidden
	} else if err != nil {
		return err
	}
	if !me.CanSeeDeal(d) {
		return hidden
	}
	return nil
}

// fileViews adds the uploaders' display names.
func (s *Server) fileViews(ctx context.Context, files []kamflow.File) ([]fileView, error) {
	who := make([]string, len(files))
	for i, f := range files {
		who[i] = f.UploadedBy
	}
	names, err := s.displayNames(ctx, who)
	if err != nil {
		return nil, err
	}
	out := make([]fileView, len(files))
	for i, f := range files {
		out[i] = fileView{File: f, UploadedByName: names.of(f.UploadedBy)}
	}
	return out, nil
}

// listFiles lists the record's files, newest first: ?kind= those of a kind; on a deal, ?all=true
// also those of its delivery tasks and service visits.
func (s *Server) listFiles(target func(echo.Context) (*fileTarget, error)) echo.HandlerFunc {
	return func(c echo.Context) error {
		t, err := target(c)
		if err != nil {
			return err
		}
		fs, _, err := s.fileStores()
		if err != nil {
			return err
		}
		f := kamflow.FileFilter{Record: t.record, RecordID: t.recordID}
		if t.record != kamflow.OnAccount {
			f.DealID = t.dealID
		}
		if k := c.QueryParam("kind"); k != "" {
			if f.Kind, err = kamflow.ParseFileKind(k); err != nil {
				return err
			}
		}
		if v := c.QueryParam("all"); v != "" {
			all, err := strconv.ParseBool(v)
			if err != nil {
				return kamflow.Errorf(kamflow.EINVALID, "all must be true or false").WithDetail("field", "all")
			}
			if all && t.record == kamflow.OnDeal {
				f.Record, f.RecordID = "", ""
			}
		}
		files, err := fs.Files(c.Request().Context(), f)
		if err != nil {
			return err
		}
		views, err := s.fileViews(c.Request().Context(), files)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, map[string]any{"items": views, "total": len(views)})
	}
}

// readFileUpload reads the multipart body of an upload: the file part (name, declared type,
// bytes within the limit) and the kind part, if any.
func (s *Server) readFileUpload(c echo.Context) (name, declared, kind string, data []byte, err error) {
	passOn := func(err error, what string) error {
		var he *echo.HTTPError
		if errors.As(err, &he) {
			return he
		}
		return kamflow.Errorf(kamflow.EINVALID, "%s", what).WithDetail("field", "file")
	}
	mr, err := c.Request().MultipartReader()
	if err != nil {
		return "", "", "", nil, kamflow.Errorf(kamflow.EINVALID, "send the file as multipart/form-data, in a part named file").WithDetail("field", "file")
	}
	found := false
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", "", "", nil, passOn(err, "the multipart body cannot be read")
		}
		switch part.FormName() {
		case "kind":
			b, err := io.ReadAll(io.LimitReader(part, 100))
			if err != nil {
				return "", "", "", nil, passOn(err, "the multipart body cannot be read")
			}
			kind = strings.TrimSpace(string(b))
		case "file":
			if found {
				return "", "", "", nil, kamflow.Errorf(kamflow.EINVALID, "send one file at a time").WithDetail("field", "file")
			}
			max := s.maxFileBytes()
			if data, err = io.ReadAll(io.LimitReader(part, max+1)); err != nil {
				return "", "", "", nil, passOn(err, "the file cannot be read")
			}
			if int64(len(data)) > max {
				return "", "", "", nil, s.fileTooLarge()
			}
			name, declared, found = part.FileName(), part.Header.Get("Content-Type"), true
		}
	}
	if !found {
		return "", "", "", nil, kamflow.Errorf(kamflow.EINVALID, "the body has no part named file").WithDetail("field", "file")
	}
	return name, declared, kind, data, nil
}

// uploadFile stores an uploaded file on the record: its bytes in the blob store, then its
// metadata with the audit entry (the blob is removed again when that fails).
func (s *Server) uploadFile(target func(echo.Context) (*fileTarget, error)) echo.HandlerFunc {
	return func(c echo.Context) error {
		t, err := target(c)
		if err != nil {
			return err
		}
		fs, blobs, err := s.fileStores()
		if err != nil {
			return err
		}
		name, declared, kindText, data, err := s.readFileUpload(c)
		if err != nil {
			return err
		}
		if kindText == "" {
			kindText = c.QueryParam("kind")
		}
		kind, err := kamflow.ParseFileKind(kindText)
		if err != nil {
			return err
		}
		if len(data) == 0 {
			return kamflow.Errorf(kamflow.EINVALID, "the file is empty").WithDetail("field", "file")
		}
		name = kamflow.SanitizeFileName(name)
		ct, err := kamflow.DetectFileType(data[:min(len(data), 512)], name, declared, kind)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		me := s.actor(c)
		now := s.cfg.Now().UTC()
		id := s.cfg.NewID()
		f := &kamflow.File{ID: id, Record: t.record, RecordID: t.recordID, DealID: t.dealID, AccountID: t.accountID, Kind: kind,
			Name: name, ContentType: ct, Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:]), BlobKey: "files/" + id,
			UploadedBy: me.ID, UploadedAt: now}
		ctx := c.Request().Context()
		if err := blobs.WriteBlob(ctx, f.BlobKey, bytes.NewReader(data), ct); err != nil {
			return kamflow.Errorf(kamflow.EUNAVAILABLE, "the file could not be stored: %v", err)
		}
		if err := fs.CreateFile(ctx, f, kamflow.FileAudit("file.upload", f, me.ID, now)); err != nil {
			if derr := blobs.DeleteBlob(context.WithoutCancel(ctx), f.BlobKey); derr != nil {
				s.log(c).Warn("removing the blob of a file not recorded", "file", f.ID, "err", derr)
			}
			return err
		}
		views, err := s.fileViews(ctx, []kamflow.File{*f})
		if err != nil {
			return err
		}
		return c.JSON(http.StatusCreated, views[0])
	}
}

// storedFile reads the file of the path, which the user must be able to see.
func (s *Server) storedFile(c echo.Context) (*kamflow.File, kamflow.FileStore, kamflow.BlobStore, error) {
	fs, blobs, err := s.fileStores()
	if err != nil {
		return nil, nil, nil, err
	}
	f, err := fs.File(c.Request().Context(), c.Param("fileId"))
	if err != nil {
		return nil, nil, nil, err
	}
	if err := s.fileVisible(c, f); err != nil {
		return nil, nil, nil, err
	}
	return f, fs, blobs, nil
}

// downloadFile answers a file's bytes as an attachment under its name (RFC 6266, with the name
// UTF-8 in filename*), in its stored type — never one a browser would run — with nosniff (set for
// every answer) and a sandbox policy besides.
func (s *Server) downloadFile(c echo.Context) error {
	f, _, blobs, err := s.storedFile(c)
	if err != nil {
		return err
	}
	r, err := blobs.ReadBlob(c.Request().Context(), f.BlobKey)
	if err != nil {
		return err
	}
	defer r.Close()
	h := c.Response().Header()
	h.Set(echo.HeaderContentDisposition, fileDisposition(f.Name))
	h.Set(echo.HeaderContentLength, strconv.FormatInt(f.Size, 10))
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	return c.Stream(http.StatusOK, kamflow.ServedFileType(f.ContentType), r)
}

// deleteFile deletes a file: its metadata row is marked deleted with the audit entry (on the
// deal's timeline when it is a deal's), then its blob is removed (a failure there is logged: the
// file is gone for everyone all the same).
func (s *Server) deleteFile(c echo.Context) error {
	f, fs, blobs, err := s.storedFile(c)
	if err != nil {
		return err
	}
	me := s.actor(c)
	if f.UploadedBy != me.ID && me.Role != kamflow.UserKAM && me.Role != kamflow.UserDirector {
		return kamflow.Errorf(kamflow.EFORBIDDEN, "a file is deleted by who uploaded it, or by a KAM or director of its record")
	}
	now := s.cfg.Now().UTC()
	ctx := c.Request().Context()
	deleted, err := fs.DeleteFile(ctx, f.ID, me.ID, now, kamflow.FileAudit("file.delete", f, me.ID, now))
	if err != nil {
		return err
	}
	if err := blobs.DeleteBlob(context.WithoutCancel(ctx), f.BlobKey); err != nil {
		s.log(c).Warn("removing the blob of a deleted file", "file", f.ID, "err", err)
	}
	views, err := s.fileViews(ctx, []kamflow.File{*deleted})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, views[0])
}

// fileDisposition is the Content-Disposition of a download: attachment, with an ASCII filename
// for old clients (what is not printable ASCII, or a quote or backslash, made "_") and the name
// itself in filename* (RFC 5987: UTF-8, percent-encoded but for the attr-chars).
func fileDisposition(name string) string {
	var ascii, ext strings.Builder
	for _, r := range name {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' {
			ascii.WriteByte('_')
		} else {
			ascii.WriteRune(r)
		}
	}
	for _, b := range []byte(name) {
		if b < 0x80 && (b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || strings.IndexByte("!#$&+-.^_`|~", b) >= 0) {
			ext.WriteByte(b)
		} else {
			fmt.Fprintf(&ext, "%%%02X", b)
		}
	}
	return fmt.Sprintf(`attachment; filename="%s"; filename*=UTF-8''%s`, ascii.String(), ext.String())
}
