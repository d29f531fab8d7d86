// Package e2e runs mlink end to end against a source and a target: two
// in-process mongosim servers by default, or real replica sets when
// MLINK_TEST_SOURCE_URI and MLINK_TEST_TARGET_URI are set (the same tests,
// unchanged; each test works in its own databases and clears mlink's
// metadata on the target first, so tests run one at a time there).
package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	driver "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/mlink-dev/mlink"
	"github.com/mlink-dev/mlink/mongo"
	"github.com/mlink-dev/mlink/mongosim"
	"github.com/mlink-dev/mlink/mongosim/simtest"
)

// Env is one test's pair of deployments.
type Env struct {
	t              *testing.T
	SrcURI, DstURI string
	Src, Dst       *driver.Client // the test's own clients, for data and checks
	SrcSim, DstSim *mongosim.Server
	prefix         string
}

// IsReal reports whether the suite runs against real MongoDB.
func IsReal() bool { return os.Getenv("MLINK_TEST_SOURCE_URI") != "" }

// NewEnv starts (or connects to) a source and a target.
func NewEnv(t *testing.T) *Env {
	t.Helper()
	e := &Env{t: t}
	var b [3]byte
	_, _ = rand.Read(b[:])
	e.prefix = "e2e" + hex.EncodeToString(b[:]) + "_"
	if IsReal() {
		e.SrcURI, e.DstURI = os.Getenv("MLINK_TEST_SOURCE_URI"), os.Getenv("MLINK_TEST_TARGET_URI")
		if e.DstURI == "" {
			t.Fatal("MLINK_TEST_SOURCE_URI is set but MLINK_TEST_TARGET_URI is not")
		}
	} else {
		e.SrcSim, e.DstSim = simtest.StartPair(t)
		e.SrcURI, e.DstURI = e.SrcSim.URI(), e.DstSim.URI()
	}
	e.Src = simtest.Client(t, e.SrcURI)
	e.Dst = simtest.Client(t, e.DstURI)
	ctx := context.Background()
	if err := e.Dst.Database(mlink.MetaDB).Drop(ctx); err != nil {
		t.Fatalf("clear mlink metadata on target: %v", err)
	}
	if IsReal() {
		t.Cleanup(func() { e.dropPrefixed() })
	}
	return e
}

// DB returns this test's name for a database.
func (e *Env) DB(name string) string { return e.prefix + name }

// NS returns this test's namespace string.
func (e *Env) NS(db, coll string) string { return e.DB(db) + "." + coll }

// Include is a filter selecting only this test's databases.
func (e *Env) Include() []string { return []string{"/^" + e.prefix + "/"} }

// Filter is the mlink filter selecting this test's databases.
func (e *Env) Filter() *mlink.Filter { return mlink.MustFilter(e.Include(), nil) }

func (e *Env) dropPrefixed() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, c := range []*driver.Client{e.Src, e.Dst} {
		names, err := c.ListDatabaseNames(ctx, bson.D{})
		if err != nil {
			continue
		}
		for _, n := range names {
			if strings.HasPrefix(n, e.prefix) {
				_ = c.Database(n).Drop(ctx)
			}
		}
	}
	_ = e.Dst.Database(mlink.MetaDB).Drop(ctx)
}

// Clients connects mlink's own clients (the engines use these).
func (e *Env) Clients() (src, dst *mongo.Client) {
	e.t.Helper()
	ctx := context.Background()
	src, err := mongo.Connect(ctx, e.SrcURI, mongo.RoleSource)
	if err != nil {
		e.t.Fatal(err)
	}
	dst, err = mongo.Connect(ctx, e.DstURI, mongo.RoleTarget)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() {
		_ = src.Close(context.Background())
		_ = dst.Close(context.Background())
	})
	return src, dst
}

// SrcColl and DstColl return this test's collections.
func (e *Env) SrcColl(db, coll string) *driver.Collection {
	return e.Src.Database(e.DB(db)).Collection(coll)
}
func (e *Env) DstColl(db, coll string) *driver.Collection {
	return e.Dst.Database(e.DB(db)).Collection(coll)
}

// AssertSameData is the independent check that does not trust mlink's
// verifier: for every database of this test on either side it compares the
// listCollections entries (all but the UUID), the listIndexes output and
// every document's raw bytes, by _id.
func (e *Env) AssertSameData(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	dbs := map[string]bool{}
	for _, c := range []*driver.Client{e.Src, e.Dst} {
		names, err := c.ListDatabaseNames(ctx, bson.D{})
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range names {
			if strings.HasPrefix(n, e.prefix) {
				dbs[n] = true
			}
		}
	}
	for db := range dbs {
		sc, dc := listColls(t, e.Src, db), listColls(t, e.Dst, db)
		if strings.Join(keys(sc), ",") != strings.Join(keys(dc), ",") {
			t.Errorf("%s: collections differ: source %v, target %v", db, keys(sc), keys(dc))
			continue
		}
		for _, name := range keys(sc) {
			if !bytes.Equal(sc[name], dc[name]) {
				t.Errorf("%s.%s: listCollections differs:\n source %s\n target %s", db, name, bson.Raw(sc[name]), bson.Raw(dc[name]))
			}
			if strings.Contains(string(sc[name]), "\"view\"") || typeOf(sc[name]) == "view" {
				continue
			}
			si, di := listIdx(t, e.Src, db, name), listIdx(t, e.Dst, db, name)
			if fmt.Sprint(si) != fmt.Sprint(di) {
				t.Errorf("%s.%s: indexes differ:\n source %v\n target %v", db, name, si, di)
			}
			compareDocs(t, e.Src, e.Dst, db, name)
		}
	}
}

func typeOf(entry []byte) string {
	v, _ := bson.Raw(entry).Lookup("type").StringValueOK()
	return v
}

// listColls returns listCollections entries without info.uuid, by name.
func listColls(t *testing.T, c *driver.Client, db string) map[string][]byte {
	t.Helper()
	cur, err := c.Database(db).ListCollections(context.Background(), bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for cur.Next(context.Background()) {
		name := cur.Current.Lookup("name").StringValue()
		if strings.HasPrefix(name, "system.") {
			continue
		}
		var d bson.D
		if err := bson.Unmarshal(cur.Current, &d); err != nil {
			t.Fatal(err)
		}
		for i := range d {
			if d[i].Key == "info" {
				d[i].Value = dropKey(d[i].Value.(bson.D), "uuid")
			}
		}
		raw, _ := bson.Marshal(d)
		out[name] = raw
	}
	return out
}

func dropKey(d bson.D, k string) bson.D {
	out := bson.D{}
	for _, e := range d {
		if e.Key != k {
			out = append(out, e)
		}
	}
	return out
}

func listIdx(t *testing.T, c *driver.Client, db, coll string) []string {
	t.Helper()
	cur, err := c.Database(db).Collection(coll).Indexes().List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for cur.Next(context.Background()) {
		var d bson.D
		if err := bson.Unmarshal(cur.Current, &d); err != nil {
			t.Fatal(err)
		}
		// collMod (how finalize restores unique and TTL) appends the
		// changed option at the end of the spec and stores
		// expireAfterSeconds as a 64-bit integer: option order and that
		// integer width are not part of an index's meaning. The key pattern
		// keeps its order.
		for i := range d {
			if v, ok := d[i].Value.(int64); ok && d[i].Key == "expireAfterSeconds" {
				d[i].Value = int32(v)
			}
		}
		sort.SliceStable(d, func(i, j int) bool { return d[i].Key < d[j].Key })
		raw, _ := bson.Marshal(d)
		out = append(out, bson.Raw(raw).String())
	}
	sort.Strings(out)
	return out
}

// compareDocs compares both sides' documents in _id order, byte for byte.
func compareDocs(t *testing.T, src, dst *driver.Client, db, coll string) {
	t.Helper()
	ctx := context.Background()
	opts := options.Find().SetSort(bson.D{{Key: "_id", Value: 1}})
	sc, err := src.Database(db).Collection(coll).Find(ctx, bson.D{}, opts)
	if err != nil {
		t.Fatal(err)
	}
	dc, err := dst.Database(db).Collection(coll).Find(ctx, bson.D{}, opts)
	if err != nil {
		t.Fatal(err)
	}
	n, diffs := 0, 0
	for {
		sOK, dOK := sc.Next(ctx), dc.Next(ctx)
		if !sOK || !dOK {
			if sOK != dOK {
				t.Errorf("%s.%s: document counts differ after %d documents (source has more: %v)", db, coll, n, sOK)
			}
			break
		}
		n++
		if !bytes.Equal(sc.Current, dc.Current) && diffs < 5 {
			diffs++
			t.Errorf("%s.%s: document %d differs:\n source %s\n target %s", db, coll, n, sc.Current, dc.Current)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if err := dc.Err(); err != nil {
		t.Fatal(err)
	}
}

func keys(m map[string][]byte) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
