package telemetry

import (
	"context"
	"errors"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"gorm.io/gorm"
)

// GORM is a GORM plugin giving every SQL statement a client span, a child of the span in the
// statement's context (an activity's, a request's): named by the statement's first word and the
// database ("INSERT sqlite"), with the statement's text as GORM holds it (placeholders, never the
// arguments), the rows it touched and its error. Nil when disabled: install nothing.
//
// (GORM's own OpenTelemetry plugin, gorm.io/plugin/opentelemetry, links the MySQL and ClickHouse
// drivers into the binary; these few callbacks do what kamflow needs of it.)
func (t *Tracing) GORM(system string) gorm.Plugin {
	if !t.Enabled() {
		return nil
	}
	return gormTracing{tracer: t.provider.Tracer("gorm.io/gorm"), system: system}
}

type gormTracing struct {
	tracer trace.Tracer
	system string
}

// gormSpan is kept on the statement between the callbacks before and after it.
type gormSpan struct {
	span   trace.Span
	parent context.Context
}

const gormSpanKey = "kamflow:telemetry:span"

func (p gormTracing) Name() string { return "kamflow:telemetry" }

func (p gormTracing) Initialize(db *gorm.DB) error {
	cb := db.Callback()
	var errs []error
	reg := func(before, after interface {
		Register(string, func(*gorm.DB)) error
	}, name string) {
		errs = append(errs, before.Register("kamflow:trace_before_"+name, p.before),
			after.Register("kamflow:trace_after_"+name, p.after))
	}
	reg(cb.Create().Before("gorm:create"), cb.Create().After("gorm:create"), "create")
	reg(cb.Query().Before("gorm:query"), cb.Query().After("gorm:query"), "query")
	reg(cb.Update().Before("gorm:update"), cb.Update().After("gorm:update"), "update")
	reg(cb.Delete().Before("gorm:delete"), cb.Delete().After("gorm:delete"), "delete")
	reg(cb.Row().Before("gorm:row"), cb.Row().After("gorm:row"), "row")
	reg(cb.Raw().Before("gorm:raw"), cb.Raw().After("gorm:raw"), "raw")
	return errors.Join(errs...)
}

func (p gormTracing) before(tx *gorm.DB) {
	parent := tx.Statement.Context
	if parent == nil {
		parent = context.Background()
	}
	ctx, span := p.tracer.Start(parent, "db "+p.system, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("db.system.name", p.system)))
	tx.Statement.Context = ctx
	tx.InstanceSet(gormSpanKey, gormSpan{span: span, parent: parent})
}

func (p gormTracing) after(tx *gorm.DB) {
	v, ok := tx.InstanceGet(gormSpanKey)
	if !ok {
		return
	}
	s := v.(gormSpan)
	tx.Statement.Context = s.parent
	sql := tx.Statement.SQL.String()
	if op := firstWord(sql); op != "" {
		s.span.SetName(op + " " + p.system)
		s.span.SetAttributes(attribute.String("db.operation.name", op))
	}
	s.span.SetAttributes(attribute.String("db.query.text", sql), attribute.Int64("db.response.rows_affected", tx.Statement.RowsAffected))
	if tx.Error != nil && !errors.Is(tx.Error, gorm.ErrRecordNotFound) {
		s.span.RecordError(tx.Error)
		s.span.SetStatus(codes.Error, tx.Error.Error())
	}
	s.span.End()
}

// firstWord is the SQL statement's verb, upper-cased: SELECT, INSERT, WITH…
func firstWord(sql string) string {
	sql = strings.TrimLeft(sql, " \t\r\n(;")
	i := strings.IndexFunc(sql, func(r rune) bool { return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z') })
	if i < 0 {
		i = len(sql)
	}
	return strings.ToUpper(sql[:i])
}
