package verify

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func sampleReport() *Report {
	return &Report{
		Source: "mongodb://u:xxxxx@src:27017", Target: "mongodb://dst:27017",
		StartedAt: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), Duration: 1500 * time.Millisecond,
		Namespaces: []NamespaceReport{
			{NS: "app.orders", Status: StatusDifferent, Type: "collection",
				Options: []FieldDiff{{Field: "options.validationLevel", Source: json.RawMessage(`"strict"`), Target: json.RawMessage(`"moderate"`)}},
				Indexes: []IndexDiff{
					{Name: "email_1", Problem: IndexDifferent, Fields: []FieldDiff{{Field: "unique", Source: json.RawMessage(`true`)}}},
					{Name: "b_1", Problem: IndexMissingOnTarget, Source: json.RawMessage(`{"v":2,"key":{"b":1},"name":"b_1"}`)},
				},
				Content: &ContentReport{SourceCount: 10, TargetCount: 9, Ranges: 3, MismatchedRanges: 3,
					RangeDiffs: []RangeDiff{
						{Max: json.RawMessage(`{"$numberInt":"5"}`), SourceCount: 5, TargetCount: 4, Drilled: true},
						{Min: json.RawMessage(`{"$numberInt":"5"}`), SourceCount: 0, TargetCount: 9000000, TooLarge: true},
					},
					Missing:   []json.RawMessage{json.RawMessage(`{"$numberInt":"3"}`)},
					Different: []json.RawMessage{json.RawMessage(`{"$oid":"650102030405060708090a0b"}`)},
					Truncated: true,
				}},
			{NS: "app.users", Status: StatusEqual, Type: "collection", Content: &ContentReport{SourceCount: 7, TargetCount: 7, Ranges: 1}},
			{NS: "app.v", Status: StatusMissingOnTarget, Type: "view"},
			{NS: "app.metrics", Status: StatusNotCompared, Type: "timeseries", Reason: timeseriesReason},
		},
	}
}

func TestReportEqual(t *testing.T) {
	r := sampleReport()
	if r.Equal() {
		t.Fatal("report with differences is Equal")
	}
	s := r.Summary()
	if s != (Summary{Namespaces: 4, Equal: 1, Different: 1, MissingOnTarget: 1, NotCompared: 1}) {
		t.Fatalf("summary %+v", s)
	}
	// Not-compared namespaces do not make a report unequal.
	r.Namespaces = []NamespaceReport{r.Namespaces[1], r.Namespaces[3]}
	if !r.Equal() {
		t.Fatal("equal + not compared should be Equal")
	}
	if !(&Report{}).Equal() {
		t.Fatal("empty report should be Equal")
	}
	if (&Report{Namespaces: []NamespaceReport{{Status: StatusExtraOnTarget}}}).Equal() {
		t.Fatal("extra namespace should make it unequal")
	}
}

func TestReportText(t *testing.T) {
	var buf bytes.Buffer
	if err := sampleReport().WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"DIFFERENT: 4 namespaces, 1 equal, 1 different, 1 missing on target, 0 extra on target, 1 not compared",
		"mongodb://u:xxxxx@src:27017",
		"app.orders (collection): different\n",
		"  options.validationLevel: source \"strict\", target \"moderate\"\n",
		"  index \"email_1\": different\n    unique: source true, target (absent)\n",
		"  index \"b_1\": missing on target (source {\"v\":2,\"key\":{\"b\":1},\"name\":\"b_1\"})\n",
		"  documents: source 10, target 9\n",
		"  _id ranges: 3 of 3 differ\n",
		"    [MinKey, {\"$numberInt\":\"5\"}): source 5, target 4 documents\n",
		"    [{\"$numberInt\":\"5\"}, MaxKey): source 0, target 9000000 documents (too many documents to re-read; _ids not listed)\n",
		"    … 1 more ranges\n",
		"  missing on target (1):\n    _id {\"$numberInt\":\"3\"}\n",
		"  different (1):\n    _id {\"$oid\":\"650102030405060708090a0b\"}\n",
		"raise --max-diffs",
		"app.v (view): missing on target\n",
		"app.metrics (timeseries): not compared: time series collection",
		"= app.users: equal (collection, 7 documents)\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text lacks %q\n--- output ---\n%s", want, out)
		}
	}
	// Differences come before the equal namespaces.
	if strings.Index(out, "= app.users") < strings.Index(out, "app.metrics (timeseries)") {
		t.Errorf("equal namespaces should come last:\n%s", out)
	}
}

func TestReportJSON(t *testing.T) {
	b, err := json.Marshal(sampleReport())
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Equal           bool    `json:"equal"`
		Summary         Summary `json:"summary"`
		DurationSeconds float64 `json:"durationSeconds"`
		Source          string  `json:"source"`
		Namespaces      []struct {
			NS      string `json:"ns"`
			Status  string `json:"status"`
			Content *struct {
				Missing   []json.RawMessage `json:"missingOnTarget"`
				Truncated bool              `json:"truncated"`
			} `json:"content"`
		} `json:"namespaces"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	if got.Equal || got.Summary.Different != 1 || got.DurationSeconds != 1.5 || got.Source != "mongodb://u:xxxxx@src:27017" {
		t.Fatalf("top level: %s", b)
	}
	if len(got.Namespaces) != 4 || got.Namespaces[0].NS != "app.orders" || got.Namespaces[0].Status != StatusDifferent {
		t.Fatalf("namespaces: %s", b)
	}
	c := got.Namespaces[0].Content
	if c == nil || len(c.Missing) != 1 || string(c.Missing[0]) != `{"$numberInt":"3"}` || !c.Truncated {
		t.Fatalf("content: %s", b)
	}
	if !bytes.Contains(b, []byte(`"startedAt":"2025-01-02T03:04:05Z"`)) {
		t.Fatalf("startedAt: %s", b)
	}
}
