package devserver

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"

	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/log/tag"
)

// slogLogger adapts an *slog.Logger to the Temporal server's log.Logger.
//
// Once muted (when the server is being stopped) it drops everything: shutting
// down makes the server's internal components log a burst of warnings and
// errors about cancelled polls and refused connections that mean nothing to a
// user. It also drops a few start-up notices listed in dropMessages.
//
// Fatal does not exit the process, unlike the server's own zap logger: it logs
// and panics with a fatalError, which Start and Stop turn into an error when it
// happens on their goroutine (for example a listener that cannot bind).
type slogLogger struct {
	l     *slog.Logger
	muted *atomic.Bool // shared by all loggers derived through With
}

var (
	_ log.Logger      = slogLogger{}
	_ log.WithLogger  = slogLogger{}
	_ log.SkipLogger  = slogLogger{}
	_ log.SLogWrapper = slogLogger{}
)

func newLogger(l *slog.Logger) slogLogger { return slogLogger{l: l, muted: new(atomic.Bool)} }

// mute stops all further output of this logger and the ones derived from it.
func (s slogLogger) mute() { s.muted.Store(true) }

// dropMessages are messages logged at WARN on every start that are expected for
// a dev server and not actionable.
var dropMessages = []string{
	"HTTP API port has not been set.", // the HTTP API (and Nexus over HTTP) is off on purpose
}

func (s slogLogger) Debug(msg string, tags ...tag.Tag) { s.log(slog.LevelDebug, msg, tags) }
func (s slogLogger) Info(msg string, tags ...tag.Tag)  { s.log(slog.LevelInfo, msg, tags) }
func (s slogLogger) Warn(msg string, tags ...tag.Tag)  { s.log(slog.LevelWarn, msg, tags) }
func (s slogLogger) Error(msg string, tags ...tag.Tag) { s.log(slog.LevelError, msg, tags) }

// DPanic panics only in development builds of the server; here it just logs.
func (s slogLogger) DPanic(msg string, tags ...tag.Tag) { s.log(slog.LevelError, msg, tags) }

func (s slogLogger) Panic(msg string, tags ...tag.Tag) {
	s.log(slog.LevelError, msg, tags)
	panic(msg)
}

func (s slogLogger) Fatal(msg string, tags ...tag.Tag) {
	s.log(slog.LevelError, msg, tags)
	panic(fatalError{msg: msg, tags: tags})
}

func (s slogLogger) With(tags ...tag.Tag) log.Logger {
	if len(tags) == 0 {
		return s
	}
	args := make([]any, 0, len(tags))
	for _, t := range tags {
		args = append(args, slog.Any(t.Key(), tagValue{t}))
	}
	return slogLogger{l: s.l.With(args...), muted: s.muted}
}

// Skip is a no-op: caller information is not recorded.
func (s slogLogger) Skip(int) log.Logger { return s }

// SLog lets server code that wants an *slog.Logger use the original one.
func (s slogLogger) SLog() *slog.Logger { return s.l }

func (s slogLogger) log(level slog.Level, msg string, tags []tag.Tag) {
	ctx := context.Background()
	if s.muted.Load() || !s.l.Enabled(ctx, level) {
		return // tag values are costly to compute; skip them when discarded
	}
	for _, m := range dropMessages {
		if strings.HasPrefix(msg, m) {
			return
		}
	}
	attrs := make([]slog.Attr, 0, len(tags))
	for _, t := range tags {
		attrs = append(attrs, slog.Any(t.Key(), t.Value()))
	}
	s.l.LogAttrs(ctx, level, msg, attrs...)
}

// tagValue defers computing a tag's value until a record is actually logged.
type tagValue struct{ t tag.Tag }

func (v tagValue) LogValue() slog.Value { return slog.AnyValue(v.t.Value()) }

// fatalError is the panic value of slogLogger.Fatal.
type fatalError struct {
	msg  string
	tags []tag.Tag
}

func (e fatalError) Error() string {
	var b strings.Builder
	b.WriteString(e.msg)
	for _, t := range e.tags {
		fmt.Fprintf(&b, " %s=%v", t.Key(), t.Value())
	}
	return b.String()
}

func (e fatalError) String() string { return e.Error() }

// catchFatal runs f and returns a fatalError raised by the server's logger
// during f as an error. Other panics are re-raised.
func catchFatal(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			fe, ok := r.(fatalError)
			if !ok {
				panic(r)
			}
			err = fe
		}
	}()
	return f()
}
