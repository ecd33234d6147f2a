package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/kamflow/kamflow"
)

const idempotencyHeader = "Idempotency-Key"

// idempotency replays the stored answer to a write whose Idempotency-Key was seen before, so a
// client that lost a response can retry safely. A key reused for a different request is a
// conflict. Deal commands are also deduplicated by the workflow (the key is the Update ID), which
// covers two retries racing each other.
func (s *Server) idempotency(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		key := req.Header.Get(idempotencyHeader)
		// Sign-in is never stored nor replayed: its answer holds a session token, which would lie
		// in the database in the clear (sessions keep only a hash of it) and go to whoever repeats
		// the request.
		if key == "" || req.Method == http.MethodGet || req.Method == http.MethodHead || c.Path() == "/api/v1/auth/login" {
			return next(c)
		}
		if len(key) > 200 {
			return kamflow.Errorf(kamflow.EINVALID, "Idempotency-Key is longer than 200 characters")
		}
		raw, key := key, scopedKey(c)
		body, err := io.ReadAll(req.Body)
		if err != nil {
			var he *echo.HTTPError
			if errors.As(err, &he) {
				return he
			}
			return kamflow.Errorf(kamflow.EINVALID, "could not read the request body")
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
		sum := sha256.Sum256(body)
		fp := req.Method + " " + req.URL.Path + " " + hex.EncodeToString(sum[:])

		ctx := req.Context()
		prev, err := s.cfg.Idempotency.IdempotentResponse(ctx, key)
		if err != nil {
			return err
		}
		if prev != nil {
			if prev.Fingerprint != fp {
				return kamflow.Errorf(kamflow.ECONFLICT, "Idempotency-Key %q was used for a different request", raw)
			}
			c.Response().Header().Set("Idempotent-Replayed", "true")
			return c.JSONBlob(prev.Status, prev.Body)
		}

		rec := &recorder{ResponseWriter: c.Response().Writer}
		c.Response().Writer = rec
		if err := next(c); err != nil {
			// Errors are answered by the error handler after this returns; they are not stored,
			// so a retry after a failure is tried again.
			return err
		}
		if c.Response().Status >= 500 {
			return nil
		}
		err = s.cfg.Idempotency.SaveIdempotentResponse(ctx, &kamflow.IdempotentResponse{
			Key: key, Fingerprint: fp, Status: c.Response().Status, Body: rec.body.Bytes(), CreatedAt: s.cfg.Now().UTC(),
		})
		if err != nil {
			// The change is made and answered; only a replay of this answer is lost, and a retry
			// of a deal command is still deduplicated by its workflow.
			s.cfg.Logger.Warn("storing idempotent response", "key", key, "err", err)
		}
		return nil
	}
}

// scopedKey is the request's Idempotency-Key in the signed-in user's scope: two users who happen
// to pick the same key never see each other's answers. "" when the request has no key.
func scopedKey(c echo.Context) string {
	key := c.Request().Header.Get(idempotencyHeader)
	if key == "" {
		return ""
	}
	if p := current(c); p != nil {
		return p.user.ID + ":" + key
	}
	return key
}

// recorder copies what a handler writes.
type recorder struct {
	http.ResponseWriter
	body bytes.Buffer
}

func (r *recorder) Write(b []byte) (int, error) {
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}
