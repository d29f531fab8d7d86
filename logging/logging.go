// Package logging builds mlink's slog logger: text or JSON, a level, and a
// redacting layer that keeps passwords out of every log line.
package logging

import (
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/mlink-dev/mlink"
)

// Options configure New.
type Options struct {
	Level slog.Level
	JSON  bool
	// NoColor is accepted for the CLI's --no-color; the text handler writes
	// plain logfmt and never colours, so it changes nothing today.
	NoColor bool
	// Redactor scrubs every message and attribute. Nil still redacts URI
	// passwords (mlink.RedactURI) but knows no literal secrets.
	Redactor *mlink.Redactor
}

// ParseLevel accepts debug, info, warn (warning) and error, any case.
func ParseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "debug":
		return slog.LevelDebug, nil
	case "info", "":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("invalid log level %q: want debug, info, warn or error", s)
}

// New returns a logger writing to w.
func New(w io.Writer, opts Options) *slog.Logger {
	ho := &slog.HandlerOptions{Level: opts.Level}
	var h slog.Handler
	if opts.JSON {
		h = slog.NewJSONHandler(w, ho)
	} else {
		h = slog.NewTextHandler(w, ho)
	}
	return slog.New(NewRedactingHandler(h, opts.Redactor))
}
