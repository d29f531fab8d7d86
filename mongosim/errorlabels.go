package mongosim

import (
	"sync"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
)

// Error labels as mongod's ErrorLabelBuilder attaches them: drivers decide
// whether to retry a write, a transaction or resume a change stream from
// the labels alone (wire version 9+), so they must be exact.

const (
	labelRetryableWrite           = "RetryableWriteError"
	labelTransientTransaction     = "TransientTransactionError"
	labelResumableChangeStream    = "ResumableChangeStreamError"
	labelNonResumableChangeStream = "NonResumableChangeStreamError"
	labelNoWritesPerformed        = "NoWritesPerformed"

	codeStaleDbVersion             = 249
	codeShardCannotRefreshWithLock = 343
)

// isRetriableError is mongod's RetriableError category.
func isRetriableError(code int32) bool {
	switch code {
	case mongoerr.HostUnreachable, mongoerr.HostNotFound, mongoerr.NetworkTimeout, mongoerr.ShutdownInProgress,
		mongoerr.ReadConcernMajorityNotAvailableYet, mongoerr.PrimarySteppedDown, mongoerr.ExceededTimeLimit, mongoerr.InternalTransactionNotSupported,
		mongoerr.ResourceExhausted, 406, 407, 412, 453, 462, // and other newer retriable codes
		mongoerr.SocketException, mongoerr.NotWritablePrimary, mongoerr.InterruptedAtShutdown,
		mongoerr.InterruptedDueToReplStateChange, mongoerr.NotPrimaryNoSecondaryOk, mongoerr.NotPrimaryOrSecondary,
		50915, 91331:
		return true
	}
	return false
}

// isNetworkError is mongod's NetworkError category.
func isNetworkError(code int32) bool {
	switch code {
	case mongoerr.HostUnreachable, mongoerr.HostNotFound, mongoerr.NetworkTimeout, mongoerr.SocketException:
		return true
	}
	return false
}

// isNeedRetargettingError: StaleEpoch, StaleConfig.
func isNeedRetargettingError(code int32) bool { return code == 150 || code == 13388 }

// isSnapshotError: SnapshotTooOld, SnapshotUnavailable, StaleChunkHistory, MigrationConflict.
func isSnapshotError(code int32) bool {
	return code == 239 || code == 246 || code == 250 || code == 272
}

// isNotPrimaryError is mongod's NotPrimaryError category. Replies with
// such an error (or writeConcernError) carry the node's topologyVersion,
// so drivers can tell a stale error from news of a step-down. (Shutdown
// errors carry it only in quiesce mode, which mongosim never enters.)
func isNotPrimaryError(code int32) bool {
	switch code {
	case mongoerr.PrimarySteppedDown, mongoerr.NotWritablePrimary, mongoerr.InterruptedDueToReplStateChange,
		mongoerr.NotPrimaryNoSecondaryOk, mongoerr.NotPrimaryOrSecondary:
		return true
	}
	return false
}

func isTransientTransactionError(code int32, hasWCE, commitOrAbort bool) bool {
	if code == mongoerr.InternalTransactionNotSupported {
		return false
	}
	switch code {
	case mongoerr.WriteConflict, mongoerr.LockTimeout, mongoerr.PreparedTransactionInProgress, codeShardCannotRefreshWithLock, codeStaleDbVersion:
		return true
	}
	if isSnapshotError(code) || isNeedRetargettingError(code) {
		return true
	}
	if commitOrAbort {
		return code == mongoerr.NoSuchTransaction && !hasWCE
	}
	return isRetriableError(code) || code == mongoerr.NoSuchTransaction
}

// labelInput is what decides a reply's labels.
type labelInput struct {
	code, wcCode      int32 // 0: none
	noWritesPerformed bool
}

// errorLabels computes the labels of a failed command (code) or of a reply
// with a writeConcernError (wcCode).
func errorLabels(req *request, in labelInput) []string {
	hasTxn := !bsonkit.IsMissing(req.arg("txnNumber"))
	hasAutocommit := !bsonkit.IsMissing(req.arg("autocommit"))
	commitOrAbort := req.name == "commitTransaction" || req.name == "abortTransaction"
	var labels []string
	if in.code != 0 && hasTxn && hasAutocommit && isTransientTransactionError(in.code, in.wcCode != 0, commitOrAbort) {
		return append(labels, labelTransientTransaction)
	}
	if hasTxn && (!hasAutocommit || commitOrAbort) &&
		((in.code != 0 && isRetriableError(in.code)) || (in.wcCode != 0 && isRetriableError(in.wcCode))) {
		labels = append(labels, labelRetryableWrite)
		if in.noWritesPerformed {
			labels = append(labels, labelNoWritesPerformed)
		}
		return labels
	}
	c := in.code
	if req.changeStream && (req.name == "aggregate" || req.name == "getMore") && c != 0 && in.wcCode == 0 &&
		(isRetriableError(c) || isNetworkError(c) || isNeedRetargettingError(c) || c == mongoerr.RetryChangeStream || c == mongoerr.FailedToSatisfyReadPreference) {
		return append(labels, labelResumableChangeStream)
	}
	if c == mongoerr.ChangeStreamFatalError || c == mongoerr.ChangeStreamHistoryLost {
		labels = append(labels, labelNonResumableChangeStream)
	}
	return labels
}

// labelError gives err its labels: the fail point's, when it set them,
// else the handler's own plus the computed ones. err is copied, never
// changed in place (handlers may return shared errors).
func (s *Server) labelError(req *request, err error) *mongoerr.Error {
	me := *asMongoErr(err)
	if req.overrideLabels {
		me.Labels = append([]string(nil), req.failLabels...)
		return &me
	}
	computed := errorLabels(req, labelInput{code: me.Code, wcCode: req.wcCode, noWritesPerformed: req.noWritesPerformed()})
	if len(computed) == 0 {
		return &me
	}
	labels := append([]string(nil), me.Labels...)
	for _, l := range computed {
		if !containsString(labels, l) {
			labels = append(labels, l)
		}
	}
	me.Labels = labels
	return &me
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// noWritesPerformed: the connection had written before (its last optime is
// known) and this command wrote nothing, so the last optime did not move.
func (r *request) noWritesPerformed() bool {
	return r.conn != nil && r.conn.wrote && bsonkit.IsMissing(r.opTime)
}

// streamCursors remembers which open cursors are change streams, so errors
// of their getMores get the ResumableChangeStreamError label.
type streamCursors struct {
	mu  sync.Mutex
	ids map[int64]struct{}
}

func (c *streamCursors) add(id int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ids == nil {
		c.ids = make(map[int64]struct{})
	}
	c.ids[id] = struct{}{}
}

func (c *streamCursors) has(id int64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.ids[id]
	return ok
}

func (c *streamCursors) remove(id int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.ids, id)
}

// isChangeStreamAggregate: the pipeline starts with $changeStream.
func isChangeStreamAggregate(req *request) bool {
	v := req.arg("pipeline")
	if v.Type != bsoncore.TypeArray {
		return false
	}
	first, err := v.Array().IndexErr(0)
	if err != nil || first.Type != bsoncore.TypeEmbeddedDocument {
		return false
	}
	return firstKey(first.Document()) == "$changeStream"
}

// noteStreamCommand marks a change-stream aggregate or getMore before it
// runs; trackStreamCursor follows its cursor after a reply.
func (s *Server) noteStreamCommand(req *request) {
	switch req.name {
	case "aggregate":
		req.changeStream = isChangeStreamAggregate(req)
	case "getMore":
		if v := req.arg("getMore"); v.Type == bsoncore.TypeInt64 {
			req.changeStream = s.streams.has(v.Int64())
		}
	}
}

// trackStreamCursor records the cursor a change-stream aggregate opened and
// forgets one whose getMore ended it (or failed: mongod kills the cursor).
func (s *Server) trackStreamCursor(req *request, reply bsoncore.Document, failed bool) {
	if !req.changeStream {
		return
	}
	if req.name == "getMore" {
		id := req.arg("getMore").Int64()
		if failed || cursorIDOf(reply) == 0 {
			s.streams.remove(id)
		}
		return
	}
	if !failed {
		if id := cursorIDOf(reply); id != 0 {
			s.streams.add(id)
		}
	}
}

// forgetKilledStreams drops the change-stream cursors a killCursors names.
func (s *Server) forgetKilledStreams(req *request) {
	v := req.arg("cursors")
	if v.Type != bsoncore.TypeArray {
		return
	}
	vals, _ := v.Array().Values()
	for _, id := range vals {
		if id.Type == bsoncore.TypeInt64 {
			s.streams.remove(id.Int64())
		}
	}
}

func cursorIDOf(reply bsoncore.Document) int64 {
	v, err := reply.LookupErr("cursor", "id")
	if err != nil || v.Type != bsoncore.TypeInt64 {
		return 0
	}
	return v.Int64()
}
