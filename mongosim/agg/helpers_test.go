package agg

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/internal/bsontest"
)

// Shared test helpers (see bsontest).
var (
	docJ    = bsontest.Doc
	docsJ   = bsontest.Docs
	errCode = bsontest.Code
)

type fakeEnv struct{ now time.Time }

func (f fakeEnv) CollStats(ns string, spec bsoncore.Document) (bsoncore.Document, error) {
	return bsoncore.NewDocumentBuilder().AppendString("ns", ns).AppendInt32("count", 3).Build(), nil
}

func (f fakeEnv) Now() time.Time { return f.now }

var env = fakeEnv{now: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)}

// runPipeline compiles pipelineJSON and runs it over inputJSON.
func runPipeline(t testing.TB, pipelineJSON, inputJSON string) ([]bsoncore.Document, error) {
	t.Helper()
	p, err := Compile(docsJ(t, pipelineJSON), env)
	if err != nil {
		return nil, err
	}
	it, err := p.Run(context.Background(), SliceIterator(docsJ(t, inputJSON)))
	if err != nil {
		return nil, err
	}
	return Collect(it)
}

func renderDocs(docs []bsoncore.Document) string {
	parts := make([]string, len(docs))
	for i, d := range docs {
		parts[i] = bson.Raw(d).String()
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// expectDocs asserts exact output: same documents, same order, same bytes.
func expectDocs(t *testing.T, pipelineJSON, inputJSON, wantJSON string) {
	t.Helper()
	got, err := runPipeline(t, pipelineJSON, inputJSON)
	if err != nil {
		t.Fatalf("pipeline %s: %v", pipelineJSON, err)
	}
	want := docsJ(t, wantJSON)
	same := len(got) == len(want)
	for i := 0; same && i < len(got); i++ {
		same = bytes.Equal(got[i], want[i])
	}
	if !same {
		t.Fatalf("pipeline %s\n got: %s\nwant: %s", pipelineJSON, renderDocs(got), renderDocs(want))
	}
}

func expectErr(t *testing.T, pipelineJSON, inputJSON string, code int32) {
	t.Helper()
	_, err := runPipeline(t, pipelineJSON, inputJSON)
	if errCode(err) != code {
		t.Fatalf("pipeline %s: got %v, want code %d", pipelineJSON, err, code)
	}
}
