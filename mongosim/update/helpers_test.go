package update

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/internal/bsontest"
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
)

// Shared test helpers (see bsontest).
var (
	doc = bsontest.Doc
	val = bsontest.Val
)

func show(d bsoncore.Document) string { return bson.Raw(d).String() }

var testNow = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)

func ctxNoMatch() ApplyCtx {
	return ApplyCtx{MatchPos: -1, Now: testNow, ClusterTime: [2]uint32{1700000000, 7}}
}

func compileT(t testing.TB, spec string, opts Options) *Update {
	t.Helper()
	u, err := Compile(val(t, spec), opts)
	if err != nil {
		t.Fatalf("Compile(%s): %v", spec, err)
	}
	return u
}

// applyT compiles and applies spec to in, failing the test on errors.
func applyT(t testing.TB, spec, in string) (bsoncore.Document, bool) {
	t.Helper()
	out, changed, err := compileT(t, spec, Options{}).Apply(doc(t, in), ctxNoMatch())
	if err != nil {
		t.Fatalf("Apply(%s) on %s: %v", spec, in, err)
	}
	return out, changed
}

func assertDoc(t testing.TB, want string, got bsoncore.Document) {
	t.Helper()
	w := doc(t, want)
	if !bytes.Equal(w, got) {
		t.Fatalf("document mismatch\n want %s\n  got %s", show(w), show(got))
	}
}

func assertErr(t testing.TB, err error, code int32, msg string) {
	t.Helper()
	var me *mongoerr.Error
	if !errors.As(err, &me) {
		t.Fatalf("want error %d %q, got %v", code, msg, err)
	}
	if me.Code != code || me.Msg != msg {
		t.Fatalf("error mismatch\n want %d %q\n  got %d %q", code, msg, me.Code, me.Msg)
	}
}
