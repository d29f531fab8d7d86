package clone

import (
	"bytes"
	"context"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	driver "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/mlink-dev/mlink"
	"github.com/mlink-dev/mlink/mongo"
	"github.com/mlink-dev/mlink/mongosim/simtest"
)

// pair is a mongosim source and target with mlink's clients (appName
// mlink-source / mlink-target, which fail points can single out) and the
// test's own.
type pair struct {
	src, dst       *mongo.Client
	testSrc, testD *driver.Client
}

func newPair(t *testing.T) *pair {
	t.Helper()
	s, d := simtest.StartPair(t)
	p := &pair{testSrc: simtest.Client(t, s.URI()), testD: simtest.Client(t, d.URI())}
	var err error
	ctx := context.Background()
	if p.src, err = mongo.Connect(ctx, s.URI(), mongo.RoleSource); err != nil {
		t.Fatal(err)
	}
	if p.dst, err = mongo.Connect(ctx, d.URI(), mongo.RoleTarget); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = p.src.Close(context.Background())
		_ = p.dst.Close(context.Background())
	})
	return p
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// failCommand turns on the failCommand fail point on c for mlink's own
// connections (appName) with the given mode and data.
func failCommand(t *testing.T, c *driver.Client, appName string, mode any, data bson.D) {
	t.Helper()
	data = append(bson.D{{Key: "appName", Value: appName}}, data...)
	err := c.Database("admin").RunCommand(context.Background(), bson.D{
		{Key: "configureFailPoint", Value: "failCommand"}, {Key: "mode", Value: mode}, {Key: "data", Value: data},
	}).Err()
	must(t, err)
}

// failPointOff turns failCommand off and returns how often it fired.
func failPointOff(t *testing.T, c *driver.Client) int64 {
	t.Helper()
	raw, err := c.Database("admin").RunCommand(context.Background(), bson.D{
		{Key: "configureFailPoint", Value: "failCommand"}, {Key: "mode", Value: "off"},
	}).Raw()
	must(t, err)
	n, _ := raw.Lookup("count").AsInt64OK()
	return n
}

// sameDocs compares a collection's documents on both sides byte for byte,
// in _id order, or in natural order.
func sameDocs(t *testing.T, p *pair, ns mlink.Namespace, natural bool) int {
	t.Helper()
	read := func(c *driver.Client) []bson.Raw {
		opts := options.Find().SetSort(bson.D{{Key: "_id", Value: 1}})
		if natural {
			opts = options.Find().SetHint(bson.D{{Key: "$natural", Value: 1}})
		}
		cur, err := c.Database(ns.DB).Collection(ns.Coll).Find(context.Background(), bson.D{}, opts)
		must(t, err)
		var out []bson.Raw
		for cur.Next(context.Background()) {
			out = append(out, append(bson.Raw(nil), cur.Current...))
		}
		must(t, cur.Err())
		return out
	}
	s, d := read(p.testSrc), read(p.testD)
	if len(s) != len(d) {
		t.Fatalf("%s: %d documents on the source, %d on the target", ns, len(s), len(d))
	}
	for i := range s {
		if !bytes.Equal(s[i], d[i]) {
			t.Fatalf("%s: document %d differs:\n source %s\n target %s", ns, i, s[i], d[i])
		}
	}
	return len(s)
}

// fill inserts n documents of about size bytes into ns on the source.
func fill(t *testing.T, c *driver.Client, ns mlink.Namespace, n, size int) {
	t.Helper()
	pad := bytes.Repeat([]byte("x"), size)
	var docs []any
	for i := 0; i < n; i++ {
		docs = append(docs, bson.D{{Key: "_id", Value: i}, {Key: "pad", Value: string(pad)}})
		if len(docs) == 1000 || i == n-1 {
			_, err := c.Database(ns.DB).Collection(ns.Coll).InsertMany(context.Background(), docs)
			must(t, err)
			docs = docs[:0]
		}
	}
}
