package api

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/kamflow/kamflow"
)

const idempotencyHeader = "Idempotency-Key"

// retryAfter is how long a request told that the first one with its key is still in progress
// should wait before asking again, in seconds.
const retryAfter = 1

// idempotency makes a write with an Idempotency-Key happen once, however often it is sent: the
// first request claims the key before it is answered and stores its answer in place of the claim;
// a retry afterwards gets that answer again (Idempotent-Replayed: true), and one sent while the
// first is still being answered is 409 in_progress with a Retry-After, never a second change. A
// key reused for a different request (another method, path, query or body) is a conflict. A
// request that fails (an error, a 5xx) keeps nothing: its retry is tried again. A claim left by a
// server that stopped while answering is taken over by a retry after claimTTL. Deal commands are
// also deduplicated by the workflow (the key is the Update ID).
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
		fp := fingerprint(req, body)

		// What is stored once the handler has answered is stored even if the client went away.
		ctx := context.WithoutCancel(req.Context())
		token := make([]byte, 16)
		rand.Read(token)
		now := s.cfg.Now().UTC()
		prev, err := s.cfg.Idempotency.ClaimIdempotencyKey(ctx, &kamflow.IdempotentResponse{Key: key, Fingerprint: fp, Body: token, CreatedAt: now},
			now.Add(-s.claimTTL()))
		if kamflow.ErrorCode(err) == kamflow.EINPROGRESS {
			return inProgress(c, raw)
		} else if err != nil {
			return err
		}
		if prev != nil {
			switch {
			case prev.Fingerprint != fp:
				return kamflow.Errorf(kamflow.ECONFLICT, "Idempotency-Key %q was used for a different request", raw)
			case prev.Status == 0:
				return inProgress(c, raw)
			}
			c.Response().Header().Set("Idempotent-Replayed", "true")
			return c.JSONBlob(prev.Status, prev.Body)
		}

		kept := false
		defer func() {
			if !kept { // an error, a 5xx or a panic: the retry is tried again
				if err := s.cfg.Idempotency.ReleaseIdempotencyKey(ctx, key, token); err != nil {
					s.log(c).Warn("releasing idempotency key", "key", key, "err", err)
				}
			}
		}()
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
		kept = true
		err = s.cfg.Idempotency.SaveIdempotentResponse(ctx, &kamflow.IdempotentResponse{
			Key: key, Fingerprint: fp, Status: c.Response().Status, Body: rec.body.Bytes(), CreatedAt: now,
		})
		if err != nil {
			// The change is made and answered; only a replay of this answer is lost. The claim
			// stays until claimTTL, so that no retry makes the change again before then; a retry
			// of a deal command is still deduplicated by its workflow.
			s.log(c).Warn("storing idempotent response", "key", key, "err", err)
		}
		return nil
	}
}

// fingerprint is what makes two requests with one key the same request: the method, the path,
// the query (its parameters in order, so that their order in the URL does not matter) and a hash
// of the body.
func fingerprint(req *http.Request, body []byte) string {
	sum := sha256.Sum256(body)
	target := req.URL.Path
	if q := req.URL.Query().Encode(); q != "" {
		target += "?" + q
	}
	return req.Method + " " + target + " " + hex.EncodeToString(sum[:])
}

// claimTTL is how long a claim on a key holds against the same request sent again: longer than
// any request takes to be answered, so that only a claim whose server stopped is taken over.
func (s *Server) claimTTL() time.Duration {
	return max(2*time.Minute, 2*s.cfg.CommandTimeout)
}

// inProgress answers a request whose key's first request is still being answered.
func inProgress(c echo.Context, key string) error {
	c.Response().Header().Set("Retry-After", strconv.Itoa(retryAfter))
	return kamflow.Errorf(kamflow.EINPROGRESS, "the request with Idempotency-Key %q is still being answered: retry in a moment for its answer", key)
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
