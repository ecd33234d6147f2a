// Package api is kamflow's HTTP API: JSON under /api/v1, described by the OpenAPI document at
// /api/openapi.json. Handlers turn requests into domain commands for the deal service and read
// the database projection for lists and reports. Error codes map to HTTP statuses in one place
// (errors.go).
package api

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/kamflow/kamflow"
)

// Config is what the API needs.
type Config struct {
	Accounts      kamflow.AccountStore
	Deals         kamflow.DealStore
	Notifications kamflow.NotificationStore
	Settings      kamflow.SettingsStore
	Idempotency   kamflow.IdempotencyStore
	Service       kamflow.DealService
	// Health checks the dependencies for /healthz; nil reports healthy.
	Health func(ctx context.Context) error
	// UI, when set, serves everything outside /api and /healthz (the embedded web UI).
	UI     http.Handler
	Logger *slog.Logger
	// Now and NewID are the clock and the ID source; tests replace them.
	Now   func() time.Time
	NewID func() string
	// CommandTimeout bounds how long a write waits for its deal's workflow. Default 30s.
	CommandTimeout time.Duration
	// BodyLimit caps request bodies. Default 1 MiB.
	BodyLimit string
}

// Server is the HTTP API.
type Server struct {
	cfg  Config
	echo *echo.Echo
}

// New builds the API's routes on cfg.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.NewID == nil {
		cfg.NewID = func() string { return uuid.Must(uuid.NewV7()).String() }
	}
	if cfg.CommandTimeout == 0 {
		cfg.CommandTimeout = 30 * time.Second
	}
	if cfg.BodyLimit == "" {
		cfg.BodyLimit = "1MiB" // binary: "1M" would be 1,000,000 bytes
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	s := &Server{cfg: cfg, echo: e}
	e.HTTPErrorHandler = s.handleError
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{
		LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
			cfg.Logger.Error("panic in handler", "path", c.Path(), "err", err, "stack", string(stack))
			return err
		},
	}))
	e.Use(middleware.BodyLimit(cfg.BodyLimit))
	e.Use(s.checkText)

	e.GET("/healthz", s.health)
	e.GET("/api/openapi.json", s.openAPI)
	v1 := e.Group("/api/v1")
	v1.Use(s.idempotency)
	v1.GET("/healthz", s.health)

	v1.POST("/accounts", s.createAccount)
	v1.GET("/accounts", s.listAccounts)
	v1.GET("/accounts/:id", s.getAccount)
	v1.PATCH("/accounts/:id", s.patchAccount)

	v1.POST("/deals", s.createDeal)
	v1.GET("/deals", s.listDeals)
	v1.GET("/deals/:id", s.getDeal)
	v1.GET("/deals/:id/history", s.dealHistory)
	v1.PUT("/deals/:id/assessment", s.command(kamflow.CmdAssessment))
	v1.POST("/deals/:id/stakeholders", s.command(kamflow.CmdStakeholder))
	v1.PUT("/deals/:id/criteria", s.command(kamflow.CmdCriteria))
	v1.POST("/deals/:id/proposal", s.command(kamflow.CmdProposal))
	v1.PUT("/deals/:id/bid", s.command(kamflow.CmdBid))
	v1.POST("/deals/:id/bid/approve", s.command(kamflow.CmdApproveMargin))
	v1.POST("/deals/:id/contract/approve", s.command(kamflow.CmdApproveContract))
	v1.POST("/deals/:id/contract/sign", s.command(kamflow.CmdSignContract))
	v1.POST("/deals/:id/acceptance", s.command(kamflow.CmdAcceptance))
	v1.POST("/deals/:id/project/close", s.command(kamflow.CmdCloseProject))
	v1.POST("/deals/:id/advance", s.command(kamflow.CmdAdvance))
	v1.POST("/deals/:id/close", s.command(kamflow.CmdClose))
	v1.POST("/deals/:id/pause", s.command(kamflow.CmdPause))
	v1.POST("/deals/:id/resume", s.command(kamflow.CmdResume))

	v1.GET("/reports/stalled", s.stalledReport)
	v1.GET("/settings", s.getSettings)
	v1.PUT("/settings/stages/:stage", s.putStageSettings)
	v1.GET("/notifications", s.listNotifications)

	v1.Any("/*", func(c echo.Context) error {
		return kamflow.Errorf(kamflow.ENOTFOUND, "no API route %s %s", c.Request().Method, c.Request().URL.Path)
	})
	if cfg.UI != nil {
		e.GET("/*", echo.WrapHandler(cfg.UI))
	}
	return s
}

// ServeHTTP serves the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.echo.ServeHTTP(w, r) }

// Routes lists the API's method and path pairs (Echo's ":id" written as OpenAPI's "{id}").
func (s *Server) Routes() [][2]string {
	var out [][2]string
	for _, r := range s.echo.Routes() {
		parts := strings.Split(r.Path, "/")
		for i, p := range parts {
			if strings.HasPrefix(p, ":") {
				parts[i] = "{" + p[1:] + "}"
			}
		}
		out = append(out, [2]string{r.Method, strings.Join(parts, "/")})
	}
	return out
}

func (s *Server) health(c echo.Context) error {
	if s.cfg.Health != nil {
		if err := s.cfg.Health(c.Request().Context()); err != nil {
			s.cfg.Logger.Warn("health check failed", "err", err)
			return kamflow.Errorf(kamflow.EUNAVAILABLE, "a dependency is not answering")
		}
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// actor is who makes the request. Until sign-in exists it is named by the X-Kamflow-User header
// (default "anonymous"); it is recorded on every change.
func (s *Server) actor(c echo.Context) kamflow.Actor {
	id := c.Request().Header.Get("X-Kamflow-User")
	if id == "" {
		id = "anonymous"
	}
	return kamflow.Actor{ID: id}
}

// maxUser is the longest X-Kamflow-User accepted, as long as any other name.
const maxUser = 200

// checkText refuses, before any handler runs, request text that the database cannot store or
// index: a NUL character or invalid UTF-8 in a path parameter, a query value, the X-Kamflow-User
// or the Idempotency-Key header, and a user name over maxUser characters. PostgreSQL rejects
// such text, which would otherwise surface as a 500 (or, in a deal's projection, fail for good).
func (s *Server) checkText(next echo.HandlerFunc) echo.HandlerFunc {
	bad := func(v string) bool { return !utf8.ValidString(v) || strings.ContainsRune(v, 0) }
	return func(c echo.Context) error {
		for i, v := range c.ParamValues() {
			if i < len(c.ParamNames()) && bad(v) {
				return kamflow.Errorf(kamflow.EINVALID, "the URL path holds a NUL character or invalid UTF-8")
			}
		}
		for k, vs := range c.QueryParams() {
			for _, v := range vs {
				if bad(k) || bad(v) {
					return kamflow.Errorf(kamflow.EINVALID, "query parameter %q holds a NUL character or invalid UTF-8", strings.ToValidUTF8(k, "?")).WithDetail("field", strings.ToValidUTF8(k, "?"))
				}
			}
		}
		if v := c.Request().Header.Get("X-Kamflow-User"); bad(v) || utf8.RuneCountInString(v) > maxUser {
			return kamflow.Errorf(kamflow.EINVALID, "X-Kamflow-User must be valid UTF-8 of at most %d characters", maxUser)
		}
		if v := c.Request().Header.Get(idempotencyHeader); bad(v) {
			return kamflow.Errorf(kamflow.EINVALID, "Idempotency-Key holds a NUL character or invalid UTF-8")
		}
		return next(c)
	}
}
