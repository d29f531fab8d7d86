package changestream

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
)

var (
	uuidA = &UUID{0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf, 0xa0}
	uuidB = &UUID{0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf, 0xb0}
	wall0 = time.Date(2024, 5, 1, 12, 0, 0, 123_000_000, time.UTC)
)

// recorder appends entries with increasing cluster times, as the server's
// recordWrite would.
type recorder struct {
	t  *testing.T
	h  *History
	ts Timestamp
}

func newRecorder(t *testing.T) *recorder {
	start := Timestamp{T: 1_700_000_000, I: 1}
	r := &recorder{t: t, h: NewHistory(start, Retention{}), ts: start}
	r.add(&Entry{Op: OpNoop, Msg: bsonkit.D("msg", bsonkit.String("initiating set"))})
	return r
}

func (r *recorder) tick() Timestamp {
	r.ts = r.ts.next()
	return r.ts
}

// add stamps and appends one entry, returning it.
func (r *recorder) add(e *Entry) *Entry {
	r.t.Helper()
	e.TS = r.tick()
	if e.Wall.IsZero() {
		e.Wall = wall0.Add(time.Duration(e.TS.I) * time.Millisecond)
	}
	if err := r.h.Append(e); err != nil {
		r.t.Fatalf("append: %v", err)
	}
	return e
}

// txn appends entries as one committed transaction.
func (r *recorder) txn(lsid bsoncore.Document, txnNumber int64, entries ...*Entry) {
	r.t.Helper()
	ts := r.tick()
	for i, e := range entries {
		e.TS, e.Wall = ts, wall0
		e.InTxn, e.LSID, e.TxnNumber, e.TxnOpIndex = true, lsid, txnNumber, uint32(i)
	}
	if err := r.h.Append(entries...); err != nil {
		r.t.Fatalf("append txn: %v", err)
	}
}

func idDoc(id int32) bsoncore.Document { return bsonkit.D("_id", bsonkit.Int32(id)) }

func insertEntry(db, coll string, uuid *UUID, doc bsoncore.Document) *Entry {
	return &Entry{Op: OpInsert, DB: db, Coll: coll, UUID: uuid, Doc: doc,
		DocumentKey: bsonkit.D("_id", doc.Lookup("_id"))}
}

// mustSpec parses a $changeStream pipeline given as stage documents.
func mustSpec(t *testing.T, db, coll string, opts bsoncore.Document, later ...bsoncore.Document) *Spec {
	t.Helper()
	spec, err := ParsePipeline(db, coll, append([]bsoncore.Document{bsonkit.D("$changeStream", bsonkit.DocValue(opts))}, later...))
	if err != nil {
		t.Fatalf("ParsePipeline: %v", err)
	}
	return spec
}

func mustOpen(t *testing.T, h *History, spec *Spec, env Env) *Stream {
	t.Helper()
	s, err := Open(h, spec, env)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

// drainAll reads batches until one comes back empty.
func drainAll(t *testing.T, s *Stream) []bsoncore.Document {
	t.Helper()
	var out []bsoncore.Document
	for {
		b, err := s.Next(context.Background(), Limits{})
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		out = append(out, b.Events...)
		if len(b.Events) == 0 || b.Invalidated {
			return out
		}
	}
}

func keys(d bsoncore.Document) string {
	elems, _ := d.Elements()
	ks := make([]string, len(elems))
	for i, e := range elems {
		ks[i] = e.Key()
	}
	return strings.Join(ks, ",")
}

func opTypes(events []bsoncore.Document) string {
	ops := make([]string, len(events))
	for i, e := range events {
		ops[i] = e.Lookup("operationType").StringValue()
	}
	return strings.Join(ops, ",")
}

func tokenOf(t *testing.T, ev bsoncore.Document) Token {
	t.Helper()
	tok, err := ParseToken(ev.Lookup("_id").Document())
	if err != nil {
		t.Fatalf("event token: %v", err)
	}
	return tok
}

func wantCode(t *testing.T, err error, code int32) {
	t.Helper()
	if err == nil {
		t.Fatalf("want error %d, got nil", code)
	}
	if c := codeOf(err); c != code {
		t.Fatalf("want error code %d, got %d (%v)", code, c, err)
	}
}

func codeOf(err error) int32 {
	var me *mongoerr.Error
	if errors.As(err, &me) {
		return me.Code
	}
	return -1
}

var bgCtx = context.Background()
