package mongosim

import (
	"errors"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
)

// labelReq builds a request named by body's first field.
func labelReq(body bsoncore.Document) *request {
	return &request{body: body, name: firstKey(body)}
}

var (
	txn       = bsonkit.Int64(1)
	noAuto    = bsonkit.Bool(false)
	csStage   = bsonkit.Array(bsonkit.DocValue(bsonkit.D("$changeStream", bsonkit.DocValue(emptyDoc))))
	plainPipe = bsonkit.Array(bsonkit.DocValue(bsonkit.D("$match", bsonkit.DocValue(emptyDoc))))
)

func TestErrorLabels(t *testing.T) {
	cases := []struct {
		name string
		body bsoncore.Document
		cs   bool // the request is a change stream
		in   labelInput
		want string
	}{
		{"retryable write, retriable code", bsonkit.D("insert", bsonkit.String("c"), "txnNumber", txn), false,
			labelInput{code: mongoerr.NotWritablePrimary}, "RetryableWriteError"},
		{"retryable write, no writes performed", bsonkit.D("update", bsonkit.String("c"), "txnNumber", txn), false,
			labelInput{code: mongoerr.InterruptedDueToReplStateChange, noWritesPerformed: true}, "RetryableWriteError,NoWritesPerformed"},
		{"retryable write, non-retriable code", bsonkit.D("insert", bsonkit.String("c"), "txnNumber", txn), false,
			labelInput{code: mongoerr.DuplicateKey}, ""},
		{"plain write", bsonkit.D("insert", bsonkit.String("c")), false,
			labelInput{code: mongoerr.NotWritablePrimary}, ""},
		{"retryable write concern error", bsonkit.D("delete", bsonkit.String("c"), "txnNumber", txn), false,
			labelInput{wcCode: mongoerr.ShutdownInProgress}, "RetryableWriteError"},
		{"write concern error, not retriable", bsonkit.D("delete", bsonkit.String("c"), "txnNumber", txn), false,
			labelInput{wcCode: 100}, ""},
		{"transaction statement, transient", bsonkit.D("insert", bsonkit.String("c"), "txnNumber", txn, "autocommit", noAuto), false,
			labelInput{code: mongoerr.WriteConflict}, "TransientTransactionError"},
		{"transaction statement, retriable is transient", bsonkit.D("find", bsonkit.String("c"), "txnNumber", txn, "autocommit", noAuto), false,
			labelInput{code: mongoerr.NotWritablePrimary}, "TransientTransactionError"},
		{"transaction statement, other", bsonkit.D("insert", bsonkit.String("c"), "txnNumber", txn, "autocommit", noAuto), false,
			labelInput{code: mongoerr.DuplicateKey}, ""},
		{"commit, retriable", bsonkit.D("commitTransaction", bsonkit.Int32(1), "txnNumber", txn, "autocommit", noAuto), false,
			labelInput{code: mongoerr.NotWritablePrimary}, "RetryableWriteError"},
		{"commit, NoSuchTransaction", bsonkit.D("commitTransaction", bsonkit.Int32(1), "txnNumber", txn, "autocommit", noAuto), false,
			labelInput{code: mongoerr.NoSuchTransaction}, "TransientTransactionError"},
		{"commit, NoSuchTransaction with write concern error", bsonkit.D("commitTransaction", bsonkit.Int32(1), "txnNumber", txn, "autocommit", noAuto), false,
			labelInput{code: mongoerr.NoSuchTransaction, wcCode: 64}, ""},
		{"change stream aggregate", bsonkit.D("aggregate", bsonkit.String("c"), "pipeline", csStage), true,
			labelInput{code: mongoerr.HostUnreachable}, "ResumableChangeStreamError"},
		{"change stream getMore", bsonkit.D("getMore", bsonkit.Int64(5), "collection", bsonkit.String("c")), true,
			labelInput{code: mongoerr.NotPrimaryNoSecondaryOk}, "ResumableChangeStreamError"},
		{"change stream, retry code", bsonkit.D("getMore", bsonkit.Int64(5), "collection", bsonkit.String("c")), true,
			labelInput{code: mongoerr.RetryChangeStream}, "ResumableChangeStreamError"},
		{"change stream, fatal", bsonkit.D("getMore", bsonkit.Int64(5), "collection", bsonkit.String("c")), true,
			labelInput{code: mongoerr.ChangeStreamHistoryLost}, "NonResumableChangeStreamError"},
		{"change stream, user error", bsonkit.D("aggregate", bsonkit.String("c"), "pipeline", csStage), true,
			labelInput{code: mongoerr.BadValue}, ""},
		{"plain getMore", bsonkit.D("getMore", bsonkit.Int64(5), "collection", bsonkit.String("c")), false,
			labelInput{code: mongoerr.HostUnreachable}, ""},
		{"fatal code outside a stream", bsonkit.D("find", bsonkit.String("c")), false,
			labelInput{code: mongoerr.ChangeStreamFatalError}, "NonResumableChangeStreamError"},
	}
	for _, c := range cases {
		req := labelReq(c.body)
		req.changeStream = c.cs
		if got := strings.Join(errorLabels(req, c.in), ","); got != c.want {
			t.Errorf("%s: labels %q, want %q", c.name, got, c.want)
		}
	}
}

func TestLabelErrorOverrideAndMerge(t *testing.T) {
	s := &Server{}
	req := labelReq(bsonkit.D("insert", bsonkit.String("c"), "txnNumber", txn))
	shared := mongoerr.New(mongoerr.NotWritablePrimary, "not primary").WithLabels("Custom")
	got := s.labelError(req, shared)
	if strings.Join(got.Labels, ",") != "Custom,RetryableWriteError" {
		t.Fatalf("merged labels %v", got.Labels)
	}
	if len(shared.Labels) != 1 {
		t.Fatalf("labelError changed the handler's error: %v", shared.Labels)
	}
	req.overrideLabels, req.failLabels = true, []string{"Only"}
	if got := s.labelError(req, shared); strings.Join(got.Labels, ",") != "Only" {
		t.Fatalf("override %v", got.Labels)
	}
	req.failLabels = nil
	if got := s.labelError(req, shared); len(got.Labels) != 0 {
		t.Fatalf("empty override %v", got.Labels)
	}
	// A foreign error becomes InternalError, unlabelled.
	req.overrideLabels = false
	if got := s.labelError(req, errors.New("boom")); got.Code != mongoerr.InternalError || len(got.Labels) != 0 {
		t.Fatalf("foreign %+v", got)
	}
}

func TestIsChangeStreamAggregateAndPolicy(t *testing.T) {
	if !isChangeStreamAggregate(labelReq(bsonkit.D("aggregate", bsonkit.Int32(1), "pipeline", csStage))) {
		t.Fatal("$changeStream first")
	}
	if isChangeStreamAggregate(labelReq(bsonkit.D("aggregate", bsonkit.String("c"), "pipeline", plainPipe))) {
		t.Fatal("$match first")
	}
	out := bsonkit.Array(bsonkit.DocValue(bsonkit.D("$match", bsonkit.DocValue(emptyDoc))), bsonkit.DocValue(bsonkit.D("$out", bsonkit.String("x"))))
	if p := policyOf(labelReq(bsonkit.D("aggregate", bsonkit.String("c"), "pipeline", out))); p != secondaryNever {
		t.Fatalf("$out aggregate policy %v", p)
	}
	if p := policyOf(labelReq(bsonkit.D("aggregate", bsonkit.String("c"), "pipeline", plainPipe))); p != secondaryOptIn {
		t.Fatalf("read aggregate policy %v", p)
	}
	if p := policyOf(labelReq(bsonkit.D("getMore", bsonkit.Int64(1)))); p != secondaryAlways {
		t.Fatalf("getMore policy %v", p)
	}
	rp := func(mode string) *request {
		return labelReq(bsonkit.D("find", bsonkit.String("c"), "$readPreference", bsonkit.DocValue(bsonkit.D("mode", bsonkit.String(mode)))))
	}
	if secondaryOk(rp("primary")) || !secondaryOk(rp("primaryPreferred")) || !secondaryOk(rp("nearest")) || secondaryOk(labelReq(bsonkit.D("find", bsonkit.String("c")))) {
		t.Fatal("secondaryOk")
	}
}

func TestCommandNS(t *testing.T) {
	cases := []struct {
		body bsoncore.Document
		want string
	}{
		{bsonkit.D("find", bsonkit.String("c")), "db.c"},
		{bsonkit.D("getMore", bsonkit.Int64(1), "collection", bsonkit.String("x")), "db.x"},
		{bsonkit.D("aggregate", bsonkit.Int32(1)), "db.$cmd.aggregate"},
		{bsonkit.D("ping", bsonkit.Int32(1)), "db"},
	}
	for _, c := range cases {
		req := labelReq(c.body)
		req.db = "db"
		if got := commandNS(req); got != c.want {
			t.Errorf("%s: %q, want %q", req.name, got, c.want)
		}
	}
}
