package store

import (
	"bytes"
	"errors"
	"testing"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

var (
	d   = bsonkit.D
	i32 = bsonkit.Int32
	str = bsonkit.String
	dv  = bsonkit.DocValue
)

func mustCreate(t *testing.T, s *Store, db, name string, opts bsoncore.Document) *Collection {
	t.Helper()
	c, err := s.CreateCollection(db, name, opts)
	if err != nil {
		t.Fatalf("create %s.%s: %v", db, name, err)
	}
	return c
}

func mustInsert(t *testing.T, c *Collection, doc bsoncore.Document) RecordID {
	t.Helper()
	rid, _, err := c.Insert(doc)
	if err != nil {
		t.Fatalf("insert %s: %v", doc, err)
	}
	return rid
}

func mustIndex(t *testing.T, c *Collection, specs ...bsoncore.Document) int {
	t.Helper()
	n, err := c.CreateIndexes(specs)
	if err != nil {
		t.Fatalf("createIndexes: %v", err)
	}
	return n
}

func idx(key bsoncore.Document, name string, opts ...any) bsoncore.Document {
	kv := append([]any{"key", dv(key), "name", str(name)}, opts...)
	return d(kv...)
}

// wantCode asserts err is a *mongoerr.Error with code and, if msg is not
// empty, exactly that message.
func wantCode(t *testing.T, err error, code int32, msg string) *mongoerr.Error {
	t.Helper()
	var me *mongoerr.Error
	if !errors.As(err, &me) {
		t.Fatalf("want error code %d, got %v", code, err)
	}
	if me.Code != code {
		t.Fatalf("want code %d, got %d (%s)", code, me.Code, me.Msg)
	}
	if msg != "" && me.Msg != msg {
		t.Fatalf("message:\n got %q\nwant %q", me.Msg, msg)
	}
	return me
}

func wantDoc(t *testing.T, what string, got, want bsoncore.Document) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Fatalf("%s:\n got %s\nwant %s", what, got, want)
	}
}

func ids(c *Collection, scan func(fn func(Record) bool)) []string {
	var out []string
	scan(func(r Record) bool {
		out = append(out, bsonkit.FormatValue(r.ID))
		return true
	})
	return out
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// fieldMatcher is a test filter compiler: {field: value} equality on
// top-level fields, standing in for query.Compile.
type fieldMatcher struct{ filter bsonkit.Doc }

func (m fieldMatcher) Match(doc bsoncore.Document) bool {
	for _, e := range m.filter {
		v, err := doc.LookupErr(e.Key)
		if err != nil || !bsonkit.Equal(v, e.Value) {
			return false
		}
	}
	return true
}

func testCompiler(filter bsoncore.Document) (Matcher, error) {
	f, err := bsonkit.ParseDoc(filter)
	if err != nil {
		return nil, err
	}
	for _, e := range f {
		if len(e.Key) > 0 && e.Key[0] == '$' {
			return nil, mongoerr.New(mongoerr.BadValue, "unknown top level operator: %s", e.Key)
		}
	}
	return fieldMatcher{filter: f}, nil
}
