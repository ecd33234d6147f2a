package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/kamflow/kamflow"
)

// statusOf maps each error code to its HTTP status: the one place where domain meets HTTP.
var statusOf = map[string]int{
	kamflow.EINVALID:      http.StatusBadRequest,
	kamflow.EUNAUTHORIZED: http.StatusUnauthorized,
	kamflow.EFORBIDDEN:    http.StatusForbidden,
	kamflow.ENOTFOUND:     http.StatusNotFound,
	kamflow.ECONFLICT:     http.StatusConflict,
	kamflow.EINPROGRESS:   http.StatusConflict,
	kamflow.EGATENOTMET:   http.StatusConflict,
	kamflow.EGATEDEPENDS:  http.StatusConflict, // a buying-center change the stage rests on
	kamflow.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	kamflow.EWRONGSTAGE:   http.StatusUnprocessableEntity,
	kamflow.ERATELIMITED:  http.StatusTooManyRequests,
	kamflow.EINTERNAL:     http.StatusInternalServerError,
	kamflow.EUNAVAILABLE:  http.StatusServiceUnavailable,
}

// errorBody is every error's JSON: {"error":{"code","message","details"}}.
type errorBody struct {
	Error *kamflow.Error `json:"error"`
}

func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	e := s.toError(err, c)
	status := statusOf[e.Code]
	if status == 0 {
		status = http.StatusInternalServerError
	}
	var werr error
	if c.Request().Method == http.MethodHead {
		werr = c.NoContent(status)
	} else {
		werr = c.JSON(status, errorBody{Error: e})
	}
	if werr != nil {
		s.log(c).Warn("writing error response", "err", werr)
	}
}

// toError turns any error into a domain error fit for a client. Unknown errors are logged with
// their detail and answered with a generic message: no SQL, stack or internal name leaks.
func (s *Server) toError(err error, c echo.Context) *kamflow.Error {
	var de *kamflow.Error
	if errors.As(err, &de) {
		return de
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		switch he.Code {
		case http.StatusNotFound:
			return kamflow.Errorf(kamflow.ENOTFOUND, "no route %s %s", c.Request().Method, c.Request().URL.Path)
		case http.StatusMethodNotAllowed:
			return kamflow.Errorf(kamflow.EINVALID, "method %s is not allowed on %s", c.Request().Method, c.Request().URL.Path)
		case http.StatusRequestEntityTooLarge:
			return kamflow.Errorf(kamflow.ETOOLARGE, "request body is larger than %s", s.cfg.BodyLimit)
		case http.StatusUnsupportedMediaType, http.StatusBadRequest:
			return kamflow.Errorf(kamflow.EINVALID, "bad request")
		}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return kamflow.Errorf(kamflow.EUNAVAILABLE, "the deal service did not answer in time; the change may still be applied: retry with the same Idempotency-Key")
	}
	if errors.Is(err, context.Canceled) {
		return kamflow.Errorf(kamflow.EUNAVAILABLE, "the request was cancelled")
	}
	c.Set(logErrKey, err) // on the request's log line (requestLog), with its method, route and ID
	return kamflow.Errorf(kamflow.EINTERNAL, "internal error")
}
