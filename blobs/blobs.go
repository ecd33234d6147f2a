// Package blobs keeps the bytes of the uploaded files (kamflow.BlobStore) in a bucket of
// gocloud.dev/blob, opened from a URL: file:///a/folder (fileblob: the files under a folder, which
// dev makes under its data folder) or s3://bucket?endpoint=…&region=… (s3blob: Amazon S3 or any
// S3-compatible store, such as MinIO or SeaweedFS; credentials from the AWS SDK's usual sources,
// AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY among them).
package blobs

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"

	"gocloud.dev/blob"
	_ "gocloud.dev/blob/fileblob" // file://
	_ "gocloud.dev/blob/s3blob"   // s3://
	"gocloud.dev/gcerrors"

	"github.com/kamflow/kamflow"
)

// Store is a bucket as kamflow's blob store.
type Store struct {
	b *blob.Bucket
}

var _ kamflow.BlobStore = (*Store)(nil)

// Open opens the bucket of rawURL. A file:// bucket's folder is made when missing.
func Open(ctx context.Context, rawURL string) (*Store, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("blob URL %q: %w", rawURL, err)
	}
	if u.Scheme == "file" {
		if err := os.MkdirAll(filepath.FromSlash(u.Path), 0o750); err != nil {
			return nil, fmt.Errorf("blob folder %s: %w", u.Path, err)
		}
	}
	b, err := blob.OpenBucket(ctx, rawURL)
	if err != nil {
		return nil, fmt.Errorf("open the blob store %s: %w", Redact(rawURL), err)
	}
	return &Store{b: b}, nil
}

// FileURL is the URL of a file:// bucket in dir (made absolute).
func FileURL(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}).String(), nil
}

// Redact is a blob URL fit for a log: without a password, should one be in it.
func Redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "(a blob URL that does not parse)"
	}
	return u.Redacted()
}

// Check tells whether the bucket answers (for the readiness probe).
func (s *Store) Check(ctx context.Context) error {
	if _, err := s.b.IsAccessible(ctx); err != nil {
		return fmt.Errorf("the blob store does not answer: %w", err)
	}
	return nil
}

// WriteBlob writes r under key; the blob is there whole once it returns nil, or not at all.
func (s *Store) WriteBlob(ctx context.Context, key string, r io.Reader, contentType string) error {
	w, err := s.b.NewWriter(ctx, key, &blob.WriterOptions{ContentType: contentType})
	if err != nil {
		return fmt.Errorf("blobs: write %s: %w", key, err)
	}
	if _, err := io.Copy(w, r); err != nil {
		_ = w.Close()
		return fmt.Errorf("blobs: write %s: %w", key, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("blobs: write %s: %w", key, err)
	}
	return nil
}

// ReadBlob opens the blob of key; not_found when there is none.
func (s *Store) ReadBlob(ctx context.Context, key string) (io.ReadCloser, error) {
	r, err := s.b.NewReader(ctx, key, nil)
	if gcerrors.Code(err) == gcerrors.NotFound {
		return nil, kamflow.Errorf(kamflow.ENOTFOUND, "the file's content is not in the blob store")
	}
	if err != nil {
		return nil, fmt.Errorf("blobs: read %s: %w", key, err)
	}
	return r, nil
}

// DeleteBlob deletes the blob of key; one already gone is no error.
func (s *Store) DeleteBlob(ctx context.Context, key string) error {
	if err := s.b.Delete(ctx, key); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
		return fmt.Errorf("blobs: delete %s: %w", key, err)
	}
	return nil
}

// Close closes the bucket.
func (s *Store) Close() error { return s.b.Close() }
