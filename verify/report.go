package verify

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// Namespace statuses.
const (
	StatusEqual           = "equal"
	StatusDifferent       = "different"
	StatusMissingOnTarget = "missingOnTarget"
	StatusExtraOnTarget   = "extraOnTarget"
	// StatusNotCompared marks a namespace the verifier cannot compare (time
	// series collections); it is listed with the reason, and does not make
	// the report unequal.
	StatusNotCompared = "notCompared"
)

// Report is the outcome of a verification.
type Report struct {
	Source     string            `json:"source,omitempty"` // redacted URI
	Target     string            `json:"target,omitempty"` // redacted URI
	InProgress bool              `json:"inProgress"`
	StartedAt  time.Time         `json:"startedAt"`
	Duration   time.Duration     `json:"-"`
	Namespaces []NamespaceReport `json:"namespaces"` // sorted by ns
}

// NamespaceReport is what was found for one namespace.
type NamespaceReport struct {
	NS     string `json:"ns"`
	Status string `json:"status"`
	// Type is the source's collection type (the target's when the
	// namespace is extra on the target); TargetType is set when it differs.
	Type       string `json:"type"`
	TargetType string `json:"targetType,omitempty"`
	Reason     string `json:"reason,omitempty"` // why it was not compared
	// Options lists differences of what listCollections reports: options.*,
	// info.readOnly and idIndex.*.
	Options []FieldDiff    `json:"options,omitempty"`
	Indexes []IndexDiff    `json:"indexes,omitempty"`
	Content *ContentReport `json:"content,omitempty"` // collections present on both sides
}

// ContentReport compares the documents of a collection.
type ContentReport struct {
	SourceCount int64 `json:"sourceCount"`
	TargetCount int64 `json:"targetCount"`
	SourceBytes int64 `json:"sourceBytes"`
	TargetBytes int64 `json:"targetBytes"`
	// Ranges is how many _id ranges were hashed, MismatchedRanges how many
	// of them differ; RangeDiffs details the first few.
	Ranges           int         `json:"ranges"`
	MismatchedRanges int         `json:"mismatchedRanges"`
	RangeDiffs       []RangeDiff `json:"rangeDiffs,omitempty"`
	// _ids (canonical extended JSON) found by reading mismatching ranges
	// document by document, at most Options.MaxDiffs in all.
	Missing   []json.RawMessage `json:"missingOnTarget,omitempty"`
	Extra     []json.RawMessage `json:"extraOnTarget,omitempty"`
	Different []json.RawMessage `json:"different,omitempty"`
	// Truncated is set when more differences exist than are listed.
	Truncated bool `json:"truncated,omitempty"`
}

// RangeDiff is one _id range [Min, Max) whose documents differ. An absent
// bound is open.
type RangeDiff struct {
	Min         json.RawMessage `json:"min,omitempty"`
	Max         json.RawMessage `json:"max,omitempty"`
	SourceCount int64           `json:"sourceCount"`
	TargetCount int64           `json:"targetCount"`
	// Drilled says the range was re-read document by document.
	Drilled bool `json:"drilled"`
	// Unconfirmed says re-reading found no differing document: the data
	// changed while the verifier ran (a sync in progress).
	Unconfirmed bool `json:"unconfirmed,omitempty"`
	// TooLarge says the range holds too many documents to be re-read
	// within the verifier's memory bound (its _ids are not listed).
	TooLarge bool `json:"tooLarge,omitempty"`
}

// Summary counts namespaces by status.
type Summary struct {
	Namespaces      int `json:"namespaces"`
	Equal           int `json:"equal"`
	Different       int `json:"different"`
	MissingOnTarget int `json:"missingOnTarget"`
	ExtraOnTarget   int `json:"extraOnTarget"`
	NotCompared     int `json:"notCompared"`
}

// Equal reports whether every compared namespace is the same on both sides.
func (r *Report) Equal() bool {
	for _, ns := range r.Namespaces {
		if ns.Status != StatusEqual && ns.Status != StatusNotCompared {
			return false
		}
	}
	return true
}

// Summary counts the namespaces by status.
func (r *Report) Summary() Summary {
	s := Summary{Namespaces: len(r.Namespaces)}
	for _, ns := range r.Namespaces {
		switch ns.Status {
		case StatusEqual:
			s.Equal++
		case StatusDifferent:
			s.Different++
		case StatusMissingOnTarget:
			s.MissingOnTarget++
		case StatusExtraOnTarget:
			s.ExtraOnTarget++
		case StatusNotCompared:
			s.NotCompared++
		}
	}
	return s
}

// Namespace returns the report of ns, or nil.
func (r *Report) Namespace(ns string) *NamespaceReport {
	for i := range r.Namespaces {
		if r.Namespaces[i].NS == ns {
			return &r.Namespaces[i]
		}
	}
	return nil
}

// MarshalJSON adds the verdict and summary to the report's fields.
func (r *Report) MarshalJSON() ([]byte, error) {
	type plain Report
	return json.Marshal(struct {
		Equal           bool    `json:"equal"`
		Summary         Summary `json:"summary"`
		DurationSeconds float64 `json:"durationSeconds"`
		*plain
	}{r.Equal(), r.Summary(), r.Duration.Seconds(), (*plain)(r)})
}

// WriteText renders the report for a person: a verdict, then every
// namespace that differs with what differs, then the equal ones one per line.
func (r *Report) WriteText(w io.Writer) error {
	tw := &textWriter{w: w}
	tw.printf("mlink verify: source %s, target %s", orDash(r.Source), orDash(r.Target))
	if r.InProgress {
		tw.printf(" (sync in progress: relaxed unique/TTL accepted)")
	}
	tw.printf("\n")
	s := r.Summary()
	verdict := "EQUAL"
	if !r.Equal() {
		verdict = "DIFFERENT"
	}
	tw.printf("%s: %d namespaces, %d equal, %d different, %d missing on target, %d extra on target, %d not compared (%.1fs)\n",
		verdict, s.Namespaces, s.Equal, s.Different, s.MissingOnTarget, s.ExtraOnTarget, s.NotCompared, r.Duration.Seconds())
	for _, ns := range r.Namespaces {
		if ns.Status != StatusEqual {
			tw.namespace(ns)
		}
	}
	for _, ns := range r.Namespaces {
		if ns.Status == StatusEqual {
			docs := ""
			if ns.Content != nil {
				docs = fmt.Sprintf(", %d documents", ns.Content.SourceCount)
			}
			tw.printf("= %s: equal (%s%s)\n", ns.NS, ns.Type, docs)
		}
	}
	return tw.err
}

type textWriter struct {
	w   io.Writer
	err error
}

func (t *textWriter) printf(format string, args ...any) {
	if t.err == nil {
		_, t.err = fmt.Fprintf(t.w, format, args...)
	}
}

func (t *textWriter) namespace(ns NamespaceReport) {
	t.printf("\n%s (%s): %s", ns.NS, ns.Type, statusText(ns.Status))
	if ns.Reason != "" {
		t.printf(": %s", ns.Reason)
	}
	t.printf("\n")
	if ns.TargetType != "" {
		t.printf("  type: source %s, target %s\n", ns.Type, ns.TargetType)
	}
	for _, f := range ns.Options {
		t.printf("  %s: source %s, target %s\n", f.Field, valueText(f.Source), valueText(f.Target))
	}
	for _, ix := range ns.Indexes {
		switch ix.Problem {
		case IndexMissingOnTarget:
			t.printf("  index %q: missing on target (source %s)\n", ix.Name, ix.Source)
		case IndexExtraOnTarget:
			t.printf("  index %q: extra on target (target %s)\n", ix.Name, ix.Target)
		default:
			t.printf("  index %q: different\n", ix.Name)
			for _, f := range ix.Fields {
				t.printf("    %s: source %s, target %s\n", f.Field, valueText(f.Source), valueText(f.Target))
			}
		}
	}
	if c := ns.Content; c != nil {
		t.content(c)
	}
}

func (t *textWriter) content(c *ContentReport) {
	if c.SourceCount != c.TargetCount {
		t.printf("  documents: source %d, target %d\n", c.SourceCount, c.TargetCount)
	} else {
		t.printf("  documents: %d on both sides\n", c.SourceCount)
	}
	if c.MismatchedRanges == 0 {
		return
	}
	t.printf("  _id ranges: %d of %d differ\n", c.MismatchedRanges, c.Ranges)
	for _, rd := range c.RangeDiffs {
		t.printf("    [%s, %s): source %d, target %d documents", boundText(rd.Min, "MinKey"), boundText(rd.Max, "MaxKey"), rd.SourceCount, rd.TargetCount)
		switch {
		case rd.Unconfirmed:
			t.printf(" (re-read found no difference: data changed during verify)")
		case rd.TooLarge:
			t.printf(" (too many documents to re-read; _ids not listed)")
		}
		t.printf("\n")
	}
	if len(c.RangeDiffs) < c.MismatchedRanges {
		t.printf("    … %d more ranges\n", c.MismatchedRanges-len(c.RangeDiffs))
	}
	t.ids("missing on target", c.Missing)
	t.ids("extra on target", c.Extra)
	t.ids("different", c.Different)
	if c.Truncated {
		t.printf("  more differing documents exist than listed (raise --max-diffs)\n")
	}
}

func (t *textWriter) ids(what string, ids []json.RawMessage) {
	if len(ids) == 0 {
		return
	}
	t.printf("  %s (%d):\n", what, len(ids))
	for _, id := range ids {
		t.printf("    _id %s\n", id)
	}
}

func statusText(s string) string {
	switch s {
	case StatusMissingOnTarget:
		return "missing on target"
	case StatusExtraOnTarget:
		return "extra on target"
	case StatusNotCompared:
		return "not compared"
	}
	return s
}

func valueText(v json.RawMessage) string {
	if len(v) == 0 {
		return "(absent)"
	}
	return string(v)
}

func boundText(v json.RawMessage, open string) string {
	if len(v) == 0 {
		return open
	}
	return string(v)
}

func orDash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "-"
	}
	return s
}
