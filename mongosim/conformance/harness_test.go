package conformance

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.uber.org/goleak"

	"github.com/mlink-dev/mlink/mongosim"
	"github.com/mlink-dev/mlink/mongosim/simtest"
)

// Harness conventions (for every *_test.go in this package):
//   - newDB(t) gives a fresh database on the shared client, dropped after the test.
//   - sim(t) returns the in-process server and skips when running against a
//     real MongoDB; use it only for Go-API or mongosim-specific checks.
//   - runCmd / cmdErr run raw commands; wantCode asserts an error's code.
//   - every test must be valid against a real replica set too.

var suite struct {
	server *mongosim.Server // nil when running against a real server
	client *mongo.Client
	uri    string
}

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	ctx := context.Background()
	suite.uri = simtest.RealURI()
	if suite.uri == "" {
		s, err := mongosim.Start(ctx, mongosim.Options{})
		if err != nil {
			fmt.Fprintln(os.Stderr, "start mongosim:", err)
			return 1
		}
		suite.server = s
		suite.uri = s.URI()
	}
	c, err := mongo.Connect(options.Client().ApplyURI(suite.uri).SetTimeout(30 * time.Second))
	if err != nil {
		fmt.Fprintln(os.Stderr, "connect:", err)
		return 1
	}
	suite.client = c
	code := m.Run()
	_ = c.Disconnect(ctx)
	if suite.server != nil {
		if err := suite.server.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "close mongosim:", err)
			code = 1
		}
		if code == 0 {
			if err := goleak.Find(); err != nil {
				fmt.Fprintln(os.Stderr, "goroutine leak:", err)
				code = 1
			}
		}
	}
	return code
}

// isReal reports whether the suite runs against a real MongoDB.
func isReal() bool { return suite.server == nil }

// sim returns the in-process server, skipping the test on a real server.
func sim(t *testing.T) *mongosim.Server {
	t.Helper()
	if suite.server == nil {
		t.Skip("mongosim-only test: running against MONGOSIM_CONFORMANCE_URI")
	}
	return suite.server
}

// ctxT returns a context bounded by a generous per-test timeout.
func ctxT(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// newDB returns a fresh database, dropped when the test ends.
func newDB(t *testing.T) *mongo.Database {
	t.Helper()
	return simtest.NewDB(t, suite.client)
}

// runCmd runs a command and fails the test on error; it returns the full
// raw reply (ok, $clusterTime and operationTime included).
func runCmd(t *testing.T, db *mongo.Database, cmd any) bson.Raw {
	t.Helper()
	raw, err := db.RunCommand(ctxT(t), cmd).Raw()
	if err != nil {
		t.Fatalf("command %v: %v", cmd, err)
	}
	return raw
}

// runWrite runs a write command and returns its raw reply; write errors
// (writeErrors in an ok:1 reply) are not failures here, callers check them.
func runWrite(t *testing.T, db *mongo.Database, cmd any) bson.Raw {
	t.Helper()
	raw, err := db.RunCommand(ctxT(t), cmd).Raw()
	var we mongo.WriteException
	if err != nil && !errors.As(err, &we) {
		t.Fatalf("command %v: %v", cmd, err)
	}
	if raw == nil {
		t.Fatalf("command %v: no reply document (%v)", cmd, err)
	}
	return raw
}

// cmdErr runs a command that must fail and returns its error.
func cmdErr(t *testing.T, db *mongo.Database, cmd any) error {
	t.Helper()
	err := db.RunCommand(ctxT(t), cmd).Err()
	if err == nil {
		t.Fatalf("command %v: want an error, got success", cmd)
	}
	return err
}

// wantCode asserts err is a server error with the given code.
func wantCode(t *testing.T, err error, code int32) {
	t.Helper()
	if err == nil {
		t.Fatalf("want error code %d, got nil", code)
	}
	var ce mongo.CommandError
	if errors.As(err, &ce) {
		if ce.Code != code {
			t.Fatalf("want code %d, got %d (%s): %v", code, ce.Code, ce.Name, err)
		}
		return
	}
	var se mongo.ServerError
	if errors.As(err, &se) && se.HasErrorCode(int(code)) {
		return
	}
	t.Fatalf("want server error code %d, got %T: %v", code, err, err)
}

// mustMarshal turns v into raw BSON.
func mustMarshal(t *testing.T, v any) bson.Raw {
	t.Helper()
	b, err := bson.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// lookup returns a value at a dotted path of a raw document, failing if absent.
func lookup(t *testing.T, d bson.Raw, path ...string) bson.RawValue {
	t.Helper()
	v, err := d.LookupErr(path...)
	if err != nil {
		t.Fatalf("field %v missing in %s", path, d)
	}
	return v
}

// keys returns the top-level field names of d in order.
func keys(t *testing.T, d bson.Raw) []string {
	t.Helper()
	elems, err := d.Elements()
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(elems))
	for i, e := range elems {
		out[i] = e.Key()
	}
	return out
}

// insertDocs inserts docs (any marshalable values) into coll.
func insertDocs(t *testing.T, coll *mongo.Collection, docs ...any) {
	t.Helper()
	if _, err := coll.InsertMany(ctxT(t), docs); err != nil {
		t.Fatalf("insert into %s: %v", coll.Name(), err)
	}
}

// findAll returns every document of a find, raw, in server order.
func findAll(t *testing.T, coll *mongo.Collection, filter any, opts ...options.Lister[options.FindOptions]) []bson.Raw {
	t.Helper()
	cur, err := coll.Find(ctxT(t), filter, opts...)
	if err != nil {
		t.Fatalf("find on %s: %v", coll.Name(), err)
	}
	defer cur.Close(context.Background())
	var out []bson.Raw
	for cur.Next(ctxT(t)) {
		out = append(out, append(bson.Raw(nil), cur.Current...))
	}
	if err := cur.Err(); err != nil {
		t.Fatalf("cursor on %s: %v", coll.Name(), err)
	}
	return out
}
