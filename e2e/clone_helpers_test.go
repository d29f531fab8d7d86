package e2e

import (
	"context"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	driver "go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/mlink-dev/mlink"
	"github.com/mlink-dev/mlink/verify"
)

// verifyClone runs mlink's verifier over the namespaces filter selects
// (this test's databases when nil) and fails the test with its report
// when it finds a difference. inProgress accepts the unique/TTL
// relaxations a clone leaves until finalize.
func (e *Env) verifyClone(t *testing.T, filter *mlink.Filter, inProgress bool) *verify.Report {
	t.Helper()
	if filter == nil {
		filter = e.Filter()
	}
	src, dst := e.Clients()
	rep, err := verify.Run(context.Background(), src, dst, verify.Options{Filter: filter, InProgress: inProgress})
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if !rep.Equal() {
		var b strings.Builder
		_ = rep.WriteText(&b)
		t.Fatalf("verifier found differences:\n%s", b.String())
	}
	return rep
}

// insertBatches inserts docs into coll in batches of n.
func insertBatches(t *testing.T, coll *driver.Collection, docs []any, n int) {
	t.Helper()
	for len(docs) > 0 {
		k := min(n, len(docs))
		_, err := coll.InsertMany(context.Background(), docs[:k])
		mustExec(t, err)
		docs = docs[k:]
	}
}

// opInserts reads serverStatus opcounters.insert: documents the server was
// asked to insert (one per document of an insert command, duplicates
// included).
func opInserts(t *testing.T, c *driver.Client) int64 {
	t.Helper()
	raw, err := c.Database("admin").RunCommand(context.Background(), bson.D{{Key: "serverStatus", Value: 1}}).Raw()
	mustExec(t, err)
	v := raw.Lookup("opcounters", "insert")
	switch v.Type {
	case bson.TypeInt64:
		return v.Int64()
	case bson.TypeInt32:
		return int64(v.Int32())
	}
	t.Fatalf("serverStatus opcounters.insert is %v", v)
	return 0
}

// countDocs counts a collection's documents exactly.
func countDocs(t *testing.T, coll *driver.Collection) int64 {
	t.Helper()
	n, err := coll.CountDocuments(context.Background(), bson.D{})
	mustExec(t, err)
	return n
}
