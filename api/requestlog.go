package api

import (
	"context"
	"log/slog"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/kamflow/kamflow/requestid"
)

// logErrKey is where toError leaves the detail of an internal error for the request's log line.
const logErrKey = "kamflow_log_err"

// requestLog is the first middleware: it gives the request its ID and logs it once it is answered.
//
// The ID is the client's X-Request-ID when it is one (requestid.Valid), a new one otherwise; it is
// answered in X-Request-ID, put on the request's context (whence engine.Client's Temporal calls
// carry it into the workflows' and activities' logs), and on every line logged about the request.
//
// The line has the method, the route's template (not the path's values), the path, the status,
// the duration, the signed-in user and the ID, never a body, a header or the query (which hold
// passwords and tokens); an internal error's detail, which the client is not told, is added as
// err. It is logged at INFO, at ERROR for a 5xx, and at DEBUG for the probes and /metrics, which a
// load balancer and Prometheus ask every few seconds (WARN when they fail).
func (s *Server) requestLog(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		t0 := time.Now()
		req := c.Request()
		id := req.Header.Get(requestid.Header)
		if !requestid.Valid(id) {
			id = requestid.New()
		}
		c.Response().Header().Set(requestid.Header, id)
		c.SetRequest(req.WithContext(requestid.With(req.Context(), id)))
		if err := next(c); err != nil {
			c.Error(err) // answered here, so that the line has its status
		}
		status := c.Response().Status
		attrs := []slog.Attr{
			slog.String("method", req.Method), slog.String("route", c.Path()), slog.String("path", req.URL.Path),
			slog.Int("status", status), slog.Duration("duration", time.Since(t0)),
			slog.String(requestid.LogKey, id),
		}
		if p := current(c); p != nil {
			attrs = append(attrs, slog.String("user", p.user.Username))
		}
		if err, _ := c.Get(logErrKey).(error); err != nil {
			attrs = append(attrs, slog.String("err", err.Error()))
		}
		level := slog.LevelInfo
		switch {
		case status >= 500:
			level = slog.LevelError
		case quietRoutes[c.Path()] && status >= 400:
			level = slog.LevelWarn
		case quietRoutes[c.Path()]:
			level = slog.LevelDebug
		}
		s.cfg.Logger.LogAttrs(req.Context(), level, "request", attrs...)
		return nil
	}
}

// quietRoutes are logged at DEBUG when they succeed: asked every few seconds by machines.
var quietRoutes = map[string]bool{
	"/livez": true, "/readyz": true, "/healthz": true, "/api/v1/healthz": true, "/metrics": true,
}

// log is the API's logger for what is logged about the request c: with its request_id.
func (s *Server) log(c echo.Context) *slog.Logger { return s.logCtx(c.Request().Context()) }

// logCtx is the API's logger for what is logged under ctx: with the request_id it carries.
func (s *Server) logCtx(ctx context.Context) *slog.Logger {
	if id := requestid.From(ctx); id != "" {
		return s.cfg.Logger.With(requestid.LogKey, id)
	}
	return s.cfg.Logger
}
