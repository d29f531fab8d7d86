package logging

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/mlink-dev/mlink"
)

// RedactingHandler passes every record to the next handler with its
// message, string attributes, errors, Stringers and other values that would
// print a secret scrubbed by a Redactor. Attributes added with WithAttrs
// are scrubbed once, when added.
type RedactingHandler struct {
	next slog.Handler
	r    *mlink.Redactor
}

// NewRedactingHandler wraps next. r may be nil (URI passwords only).
func NewRedactingHandler(next slog.Handler, r *mlink.Redactor) *RedactingHandler {
	return &RedactingHandler{next: next, r: r}
}

func (h *RedactingHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

func (h *RedactingHandler) Handle(ctx context.Context, rec slog.Record) error {
	out := slog.NewRecord(rec.Time, rec.Level, h.r.String(rec.Message), rec.PC)
	rec.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.attr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h *RedactingHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	clean := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		clean[i] = h.attr(a)
	}
	return &RedactingHandler{next: h.next.WithAttrs(clean), r: h.r}
}

func (h *RedactingHandler) WithGroup(name string) slog.Handler {
	return &RedactingHandler{next: h.next.WithGroup(h.r.String(name)), r: h.r}
}

func (h *RedactingHandler) attr(a slog.Attr) slog.Attr {
	return slog.Attr{Key: h.r.String(a.Key), Value: h.value(a.Value)}
}

func (h *RedactingHandler) value(v slog.Value) slog.Value {
	v = v.Resolve() // LogValuer results are scrubbed too
	switch v.Kind() {
	case slog.KindString:
		return slog.StringValue(h.r.String(v.String()))
	case slog.KindGroup:
		as := v.Group()
		clean := make([]slog.Attr, len(as))
		for i, a := range as {
			clean[i] = h.attr(a)
		}
		return slog.GroupValue(clean...)
	case slog.KindAny:
		return h.anyValue(v)
	}
	return v // numbers, bools, times and durations carry no secrets
}

// anyValue scrubs errors and Stringers to their redacted text. Other
// values keep their structure unless one of the ways a handler may print
// them (fmt or JSON) shows a secret; then they become the redacted text.
func (h *RedactingHandler) anyValue(v slog.Value) slog.Value {
	switch x := v.Any().(type) {
	case nil:
		return v
	case error:
		return slog.StringValue(h.r.String(x.Error()))
	case fmt.Stringer:
		return slog.StringValue(h.r.String(x.String()))
	}
	printed := fmt.Sprintf("%+v", v.Any())
	if h.r.String(printed) != printed {
		return slog.StringValue(h.r.String(printed))
	}
	if js, err := json.Marshal(v.Any()); err == nil {
		if s := string(js); h.r.String(s) != s {
			return slog.StringValue(h.r.String(printed))
		}
	}
	return v
}
