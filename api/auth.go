package api

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/crypto/bcrypt"

	"github.com/kamflow/kamflow"
)

// Sign-in: a session is a random token whose SHA-256 alone is stored. Browsers carry it in an
// HttpOnly cookie and must echo the session's CSRF token in X-CSRF-Token on every write; API
// clients send it as a bearer token, which no other site can attach, so they need no CSRF token.
const (
	sessionCookie = "kamflow_session"
	csrfHeader    = "X-CSRF-Token"
	bcryptCost    = 11
	// maxLoginName bounds the username of a sign-in, in bytes: well above any username's (64
	// characters once normalised), so that every one that could be someone's is tried.
	maxLoginName = 1024
)

// loginPolicy is how many failed sign-ins are allowed (kamflow.LoginPolicy): 5 per username and
// address, 20 per address, in 15 minutes; delays for a username from its 50th failure in a day
// from anywhere, but not from where its user signed in lately.
var loginPolicy = kamflow.DefaultLoginPolicy

// waitText says how long a refused sign-in must wait, for the message.
func waitText(secs int) string {
	switch {
	case secs == 1:
		return "a second"
	case secs < 60:
		return fmt.Sprintf("%d seconds", secs)
	case secs < 120:
		return "a minute"
	}
	return fmt.Sprintf("%d minutes", (secs+59)/60)
}

// HashPassword hashes a password for storage.
func HashPassword(p string) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(p), bcryptCost)
	return string(h), err
}

// dummyHash is compared against when the username is unknown, so that a wrong username takes as
// long as a wrong password and does not reveal which usernames exist.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("kamflow-no-such-user"), bcryptCost)

func newToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // the system's randomness failing is not recoverable
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func tokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

type principal struct {
	user    *kamflow.User
	session *kamflow.Session
	cookie  bool // authenticated by the session cookie (so writes need the CSRF token)
}

func current(c echo.Context) *principal {
	p, _ := c.Get("principal").(*principal)
	return p
}

// actor is the signed-in user as recorded on changes and checked by the rules.
func (s *Server) actor(c echo.Context) kamflow.Actor {
	if p := current(c); p != nil {
		return p.user.Actor()
	}
	return kamflow.Actor{}
}

// authenticate admits a request with a valid, unexpired, unrevoked session of an enabled user,
// by bearer token or cookie; everything else gets 401. Cookie-authenticated writes must carry the
// session's CSRF token.
func (s *Server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		path := c.Path()
		if path == "/api/v1/auth/login" || path == "/api/v1/healthz" {
			return next(c)
		}
		token, cookie := "", false
		if h := c.Request().Header.Get("Authorization"); h != "" {
			scheme, value, _ := strings.Cut(h, " ")
			if !strings.EqualFold(scheme, "Bearer") || value == "" {
				return kamflow.Errorf(kamflow.EUNAUTHORIZED, "Authorization must be \"Bearer <token>\"")
			}
			token = strings.TrimSpace(value)
		} else if ck, err := c.Cookie(sessionCookie); err == nil && ck.Value != "" {
			token, cookie = ck.Value, true
		}
		if token == "" {
			return kamflow.Errorf(kamflow.EUNAUTHORIZED, "sign in first")
		}
		ctx := c.Request().Context()
		sess, err := s.cfg.Sessions.SessionByTokenHash(ctx, tokenHash(token))
		if kamflow.ErrorCode(err) == kamflow.ENOTFOUND {
			return kamflow.Errorf(kamflow.EUNAUTHORIZED, "the session is not valid: sign in again")
		} else if err != nil {
			return err
		}
		now := s.cfg.Now()
		if sess.RevokedAt != nil || !now.Before(sess.ExpiresAt) {
			return kamflow.Errorf(kamflow.EUNAUTHORIZED, "the session has ended: sign in again")
		}
		u, err := s.cfg.Users.User(ctx, sess.UserID)
		if kamflow.ErrorCode(err) == kamflow.ENOTFOUND || (err == nil && u.Disabled) {
			return kamflow.Errorf(kamflow.EUNAUTHORIZED, "the account is disabled")
		} else if err != nil {
			return err
		}
		if cookie && !safeMethod(c.Request().Method) {
			got := c.Request().Header.Get(csrfHeader)
			if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(sess.CSRFToken)) != 1 {
				return kamflow.Errorf(kamflow.EFORBIDDEN, "a write signed in by cookie needs the session's %s header", csrfHeader)
			}
		}
		c.Set("principal", &principal{user: u, session: sess, cookie: cookie})
		return next(c)
	}
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// allow refuses the request unless the signed-in user has one of the roles.
func allow(roles ...kamflow.UserRole) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			p := current(c)
			if p == nil {
				return kamflow.Errorf(kamflow.EUNAUTHORIZED, "sign in first")
			}
			for _, r := range roles {
				if p.user.Role == r {
					return next(c)
				}
			}
			return kamflow.Errorf(kamflow.EFORBIDDEN, "a %s may not do this", p.user.Role)
		}
	}
}

type loginResponse struct {
	Token     string        `json:"token"`
	CSRFToken string        `json:"csrf_token"`
	ExpiresAt time.Time     `json:"expires_at"`
	User      *kamflow.User `json:"user"`
}

func (s *Server) login(c echo.Context) error {
	var in struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if err := bind(c, &in); err != nil {
		return err
	}
	if in.Username == "" || in.Password == "" {
		return kamflow.Errorf(kamflow.EINVALID, "username and password are required")
	}
	if len(in.Username) > maxLoginName {
		// No username is that long; the attempts table is not for storing megabytes.
		return kamflow.Errorf(kamflow.EINVALID, "username is longer than any").WithDetail("field", "username")
	}
	ctx := c.Request().Context()
	now := s.cfg.Now()
	addr := c.RealIP()
	// The attempt is counted (as a failure) before the password is checked, in one step with the
	// decision, so that attempts sent together cannot all be checked; a success releases it.
	reservation, wait, err := s.cfg.Sessions.ReserveLogin(ctx, in.Username, addr, now, loginPolicy)
	if err != nil {
		return err
	}
	if wait > 0 {
		secs := int((wait + time.Second - 1) / time.Second)
		c.Response().Header().Set("Retry-After", strconv.Itoa(secs))
		return kamflow.Errorf(kamflow.ERATELIMITED, "too many failed sign-ins: wait %s", waitText(secs))
	}
	u, err := s.cfg.Users.UserByUsername(ctx, in.Username)
	if err != nil && kamflow.ErrorCode(err) != kamflow.ENOTFOUND {
		return err
	}
	hash := dummyHash
	if u != nil {
		hash = []byte(u.PasswordHash)
	}
	if bcrypt.CompareHashAndPassword(hash, []byte(in.Password)) != nil || u == nil || u.Disabled {
		return kamflow.Errorf(kamflow.EUNAUTHORIZED, "wrong username or password")
	}
	// The sign-in succeeded: its attempt is no failure. Released even if the client has gone; a
	// release that fails leaves one failure counted, which is no reason to refuse the sign-in.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	if err := s.cfg.Sessions.ReleaseLogin(rctx, reservation); err != nil {
		s.log(c).Warn("releasing a successful sign-in's attempt; it counts as a failure", "err", err)
	}
	cancel()
	token := newToken()
	sess := &kamflow.Session{
		ID: s.cfg.NewID(), TokenHash: tokenHash(token), CSRFToken: newToken(), UserID: u.ID,
		CreatedAt: now.UTC(), ExpiresAt: now.Add(s.cfg.SessionTTL).UTC(), Address: addr,
	}
	if err := s.cfg.Sessions.CreateSession(ctx, sess); err != nil {
		return err
	}
	c.SetCookie(&http.Cookie{
		Name: sessionCookie, Value: token, Path: "/", Expires: sess.ExpiresAt, HttpOnly: true,
		Secure: c.IsTLS() || s.cfg.SecureCookies, SameSite: http.SameSiteLaxMode,
	})
	return c.JSON(http.StatusOK, loginResponse{Token: token, CSRFToken: sess.CSRFToken, ExpiresAt: sess.ExpiresAt, User: shown(u)})
}

func (s *Server) logout(c echo.Context) error {
	p := current(c)
	if err := s.cfg.Sessions.RevokeSession(c.Request().Context(), p.session.ID, s.cfg.Now().UTC()); err != nil {
		return err
	}
	c.SetCookie(&http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		Secure: c.IsTLS() || s.cfg.SecureCookies, SameSite: http.SameSiteLaxMode})
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) me(c echo.Context) error {
	p := current(c)
	return c.JSON(http.StatusOK, map[string]any{"user": shown(p.user), "csrf_token": p.session.CSRFToken, "expires_at": p.session.ExpiresAt})
}

// securityHeaders are sent with every response: no inline script, no framing, no sniffing. Every
// answer of the API under /api/v1 — the sign-in's with its token, every authenticated one, and
// their errors — is Cache-Control: no-store, so that no browser cache or proxy keeps a copy of a
// token or of what only a signed-in user may read.
func securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		if p := c.Request().URL.Path; p == "/api/v1" || strings.HasPrefix(p, "/api/v1/") {
			h.Set("Cache-Control", "no-store")
		}
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
			"connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		if c.IsTLS() {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		return next(c)
	}
}

// entry stamps an audit entry with the time and the signed-in user, for the store to append in
// the same transaction as the change it records.
func (s *Server) entry(c echo.Context, e *kamflow.AuditEntry) *kamflow.AuditEntry {
	e.At = s.cfg.Now().UTC()
	e.Actor = s.actor(c).ID
	return e
}
