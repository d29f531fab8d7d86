package logging

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/mlink-dev/mlink"
)

const (
	secret    = "s3cr3tP4ss"
	sourceURI = "mongodb://alice:" + secret + "@db1.example:27017/?replicaSet=rs0"
)

type creds struct{ URI string }

type uriValuer struct{}

func (uriValuer) LogValue() slog.Value { return slog.StringValue("connecting to " + sourceURI) }

type hostStringer struct{}

func (hostStringer) String() string { return "host with " + secret }

func newRedactor() *mlink.Redactor {
	r := &mlink.Redactor{}
	r.AddURI(sourceURI)
	return r
}

// logEverywhere puts the secret in every place a log line can carry it.
func logEverywhere(l *slog.Logger) {
	l.Info("cannot connect to "+sourceURI,
		"uri", sourceURI,
		"err", fmt.Errorf("dial: %w", errors.New("auth failed for "+sourceURI)),
		slog.Group("source", slog.String("uri", sourceURI), slog.Group("deeper", slog.Any("err", errors.New("password "+secret+" rejected")))),
		"valuer", uriValuer{},
		"stringer", hostStringer{},
		"struct", creds{URI: sourceURI},
		"bare", "driver echoed "+secret,
		"n", 42,
	)
	l.With("fixed", sourceURI).WithGroup("grp").Warn("later", "inner", sourceURI)
}

func TestTextLogsNeverShowThePassword(t *testing.T) {
	var buf bytes.Buffer
	logEverywhere(New(&buf, Options{Redactor: newRedactor()}))
	out := buf.String()
	if strings.Contains(out, secret) {
		t.Fatalf("password leaked:\n%s", out)
	}
	// The redacted forms are there: user kept, password masked.
	for _, want := range []string{
		`msg="cannot connect to mongodb://alice:xxxxx@db1.example:27017/?replicaSet=rs0"`,
		`uri="mongodb://alice:xxxxx@db1.example:27017/?replicaSet=rs0"`,
		`err="dial: auth failed for mongodb://alice:xxxxx@db1.example:27017/?replicaSet=rs0"`,
		`source.uri="mongodb://alice:xxxxx@`,
		`source.deeper.err="password xxxxx rejected"`,
		`valuer="connecting to mongodb://alice:xxxxx@`,
		`stringer="host with xxxxx"`,
		`bare="driver echoed xxxxx"`,
		`n=42`,
		`fixed="mongodb://alice:xxxxx@`,
		`grp.inner="mongodb://alice:xxxxx@`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %s in:\n%s", want, out)
		}
	}
}

func TestJSONLogsNeverShowThePassword(t *testing.T) {
	var buf bytes.Buffer
	logEverywhere(New(&buf, Options{JSON: true, Redactor: newRedactor()}))
	if strings.Contains(buf.String(), secret) {
		t.Fatalf("password leaked:\n%s", buf.String())
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("got %d lines, want 2:\n%s", len(lines), buf.String())
	}
	var rec struct {
		Msg    string
		Err    string
		N      int
		Source struct {
			URI    string
			Deeper struct{ Err string }
		}
	}
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatal(err)
	}
	if want := "mongodb://alice:xxxxx@db1.example:27017/?replicaSet=rs0"; rec.Source.URI != want {
		t.Errorf("source.uri = %q, want %q", rec.Source.URI, want)
	}
	if rec.Source.Deeper.Err != "password xxxxx rejected" || rec.N != 42 {
		t.Errorf("nested group = %+v, n = %d", rec.Source, rec.N)
	}
}

func TestRedactorNilStillMasksURIPasswords(t *testing.T) {
	var buf bytes.Buffer
	New(&buf, Options{}).Info("x", "uri", sourceURI)
	if strings.Contains(buf.String(), secret) || !strings.Contains(buf.String(), "alice:xxxxx@") {
		t.Fatalf("got %s", buf.String())
	}
}

func TestStructuredValuesWithoutSecretsKeepTheirShape(t *testing.T) {
	var buf bytes.Buffer
	New(&buf, Options{JSON: true, Redactor: newRedactor()}).Info("m", "list", []string{"a", "b"})
	if !strings.Contains(buf.String(), `"list":["a","b"]`) {
		t.Fatalf("got %s", buf.String())
	}
}

func TestLevels(t *testing.T) {
	var buf bytes.Buffer
	l := New(&buf, Options{Level: slog.LevelWarn})
	l.Info("hidden")
	l.Warn("shown")
	if strings.Contains(buf.String(), "hidden") || !strings.Contains(buf.String(), "shown") {
		t.Fatalf("got %s", buf.String())
	}
	for in, want := range map[string]slog.Level{"debug": slog.LevelDebug, "INFO": slog.LevelInfo, "": slog.LevelInfo, "warning": slog.LevelWarn, "Error": slog.LevelError} {
		got, err := ParseLevel(in)
		if err != nil || got != want {
			t.Errorf("ParseLevel(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := ParseLevel("verbose"); err == nil || err.Error() != `invalid log level "verbose": want debug, info, warn or error` {
		t.Errorf("ParseLevel(verbose) error = %v", err)
	}
}
