package api

import (
	"errors"
	"time"

	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/kamflow/kamflow"
)

// Observer is told of every answered request (its method, Echo's route template, status and
// duration) and of every command refused for a gate's unmet items. Config.Metrics is taken as
// one when it is (metrics.Registry is).
type Observer interface {
	ObserveHTTP(method, route string, status int, took time.Duration)
	GateRefused(items []string)
}

// observe measures each request for the Observer, and names the request's trace span (the HTTP
// server's, when traces are on) by its route: "POST /api/v1/deals/:id/advance".
func (s *Server) observe(next echo.HandlerFunc) echo.HandlerFunc {
	obs, _ := s.cfg.Metrics.(Observer)
	return func(c echo.Context) error {
		t0 := time.Now()
		req := c.Request()
		if span := trace.SpanFromContext(req.Context()); span.IsRecording() {
			span.SetName(req.Method + " " + c.Path())
			span.SetAttributes(attribute.String("http.route", c.Path()))
		}
		err := next(c)
		if err != nil {
			c.Error(err) // answered here, so that the status is the one the client gets
			if items := gateItems(err); len(items) > 0 && obs != nil {
				obs.GateRefused(items)
			}
		}
		if obs != nil {
			obs.ObserveHTTP(req.Method, c.Path(), c.Response().Status, time.Since(t0))
		}
		return nil
	}
}

// gateItems are the unmet gate items of a command's refusal (kamflow.EGATENOTMET with its
// "missing" detail), none for any other error.
func gateItems(err error) []string {
	var e *kamflow.Error
	if !errors.As(err, &e) || e.Code != kamflow.EGATENOTMET {
		return nil
	}
	switch m := e.Details["missing"].(type) {
	case []string:
		return m
	case []any: // as it came back from the workflow, through JSON
		out := make([]string, 0, len(m))
		for _, v := range m {
			if s, ok := v.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}
