package mongosim

import (
	"testing"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
)

func TestCollStatsDocument(t *testing.T) {
	s := startTestServer(t, Options{})
	c, err := s.store.CreateCollection("db", "c", nil)
	if err != nil {
		t.Fatal(err)
	}
	doc := bsonkit.D("_id", bsonkit.Int32(1), "x", bsonkit.String("abc"))
	if _, _, err := c.Insert(doc); err != nil {
		t.Fatal(err)
	}
	out, err := s.collStatsForNS("db.c", bsonkit.D(
		"storageStats", bsonkit.DocValue(bsonkit.D()), "count", bsonkit.DocValue(bsonkit.D())))
	if err != nil {
		t.Fatal(err)
	}
	elems, _ := out.Elements()
	var got []string
	for _, e := range elems {
		got = append(got, e.Key())
	}
	want := []string{"ns", "host", "localTime", "storageStats", "count"}
	if len(got) != len(want) {
		t.Fatalf("fields %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("fields %v, want %v", got, want)
		}
	}
	if out.Lookup("ns").StringValue() != "db.c" || out.Lookup("host").StringValue() != s.Addr() ||
		out.Lookup("localTime").Type != bsoncore.TypeDateTime {
		t.Fatalf("header %s", out)
	}
	if n := out.Lookup("count", "count"); n.Type != bsoncore.TypeInt64 || n.Int64() != 1 {
		t.Fatalf("count %s", n)
	}
	st := out.Lookup("storageStats").Document()
	if st.Lookup("size").AsInt64() != int64(len(doc)) || st.Lookup("count").AsInt64() != 1 ||
		st.Lookup("nindexes").Int32() != 1 || st.Lookup("indexSizes", "_id_").AsInt64() != 4096 {
		t.Fatalf("storageStats %s", st)
	}
	_, err = s.collStatsDocument("db", "missing", bsonkit.D("storageStats", bsonkit.DocValue(bsonkit.D())))
	me := asMongoErr(err)
	if me.Code != mongoerr.NamespaceNotFound ||
		me.Msg != "Unable to retrieve storageStats in $collStats stage :: caused by :: Collection [db.missing] not found." {
		t.Fatalf("missing collection: %v", err)
	}
	// Sections not asked for are absent; latency only needs the namespace.
	out, err = s.collStatsDocument("db", "missing", bsonkit.D("latencyStats", bsonkit.DocValue(bsonkit.D())))
	if err != nil || out.Lookup("latencyStats", "reads", "ops").Int64() != 0 || out.Lookup("storageStats").Type != 0 {
		t.Fatalf("latencyStats only: %s %v", out, err)
	}
}
