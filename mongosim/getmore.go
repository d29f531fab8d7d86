package mongosim

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
)

func init() {
	register(command{name: "getMore", handler: handleGetMore, counter: func(s *serverStats) { s.getmore.Add(1) }})
	register(command{name: "killCursors", handler: handleKillCursors})
}

// defaultAwaitData is how long a tailable awaitData getMore waits for new
// data when the client gives no maxTimeMS (mongod: 1 second).
const defaultAwaitData = time.Second

// writeSignal lets awaitData cursors sleep until the next write.
type writeSignal struct {
	mu sync.Mutex
	ch chan struct{}
}

// wait returns a channel closed by the next write.
func (w *writeSignal) wait() <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ch == nil {
		w.ch = make(chan struct{})
	}
	return w.ch
}

func (w *writeSignal) broadcast() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ch != nil {
		close(w.ch)
		w.ch = nil
	}
}

func handleGetMore(ctx context.Context, req *request) (bsoncore.Document, error) {
	idv := req.arg("getMore")
	if idv.Type != bsoncore.TypeInt64 {
		return nil, mongoerr.WrongType("getMore.getMore", typeName(idv.Type), "long")
	}
	collv := req.arg("collection")
	if collv.Type != bsoncore.TypeString {
		if bsonkit.IsMissing(collv) {
			return nil, mongoerr.MissingField("getMore.collection")
		}
		return nil, mongoerr.WrongType("getMore.collection", typeName(collv.Type), "string")
	}
	batchSize := 0
	if v := req.arg("batchSize"); !bsonkit.IsMissing(v) {
		n, err := intArg("getMore", "batchSize", v)
		if err != nil {
			return nil, err
		}
		if n < 0 {
			return nil, mongoerr.New(mongoerr.BadValue, "Batch size for getMore must be positive, but received: %d", n)
		}
		batchSize = int(n)
	}
	await := defaultAwaitData
	if v := req.arg("maxTimeMS"); !bsonkit.IsMissing(v) {
		n, err := intArg("getMore", "maxTimeMS", v)
		if err != nil {
			return nil, err
		}
		await = time.Duration(n) * time.Millisecond
	}
	id := idv.Int64()
	c, err := req.srv.cursors.acquire(id)
	if err != nil {
		return nil, err
	}
	ns := req.ns(collv.StringValue())
	if ns != c.ns {
		req.srv.cursors.release(c, false)
		return nil, mongoerr.New(mongoerr.Unauthorized,
			"Requested getMore on namespace '%s', but cursor belongs to a different namespace %s", ns, c.ns)
	}
	if c.stream != nil {
		return req.srv.changeStreamGetMore(ctx, req, c, batchSize, await)
	}
	max := batchSize
	if c.remaining >= 0 && (max == 0 || c.remaining < max) {
		max = c.remaining
	}
	b := newBatch("nextBatch", max)
	req.ownsBody = true
	var deadline <-chan time.Time
	for {
		signal := req.srv.writes.wait()
		exhausted, err := c.src.fill(ctx, &b)
		if err != nil {
			req.srv.cursors.release(c, true)
			return nil, err
		}
		done := exhausted && !c.tailable
		if b.n > 0 || !c.awaitData || done {
			if c.remaining > 0 {
				c.remaining -= b.n
				if c.remaining == 0 {
					done = true
				}
			}
			req.srv.cursors.release(c, done)
			if done {
				id = 0
			}
			return b.finish(id, c.ns), nil
		}
		// awaitData: nothing yet; sleep until a write or the deadline.
		if deadline == nil {
			t := time.NewTimer(await)
			defer t.Stop()
			deadline = t.C
		}
		select {
		case <-signal:
		case <-deadline:
			req.srv.cursors.release(c, false)
			return b.finish(id, c.ns), nil
		case <-ctx.Done():
			req.srv.cursors.release(c, false)
			return nil, mongoerr.New(mongoerr.InterruptedAtShutdown, "interrupted at shutdown")
		}
	}
}

func handleKillCursors(_ context.Context, req *request) (bsoncore.Document, error) {
	collv := req.arg("killCursors")
	if collv.Type != bsoncore.TypeString {
		return nil, mongoerr.WrongType("killCursors.killCursors", typeName(collv.Type), "string")
	}
	v := req.arg("cursors")
	if v.Type != bsoncore.TypeArray {
		if bsonkit.IsMissing(v) {
			return nil, mongoerr.MissingField("killCursors.cursors")
		}
		return nil, mongoerr.WrongType("killCursors.cursors", typeName(v.Type), "array")
	}
	ns := req.ns(collv.StringValue())
	var killed, notFound []bsoncore.Value
	for i, e := range bsonkit.Values(v) {
		if e.Type != bsoncore.TypeInt64 {
			return nil, mongoerr.WrongType(fmt.Sprintf("killCursors.cursors.%d", i), typeName(e.Type), "long")
		}
		id := e.Int64()
		if req.srv.cursors.killIn(id, ns) {
			killed = append(killed, e)
		} else {
			notFound = append(notFound, e)
		}
	}
	return bsonkit.D(
		"cursorsKilled", bsonkit.Array(killed...),
		"cursorsNotFound", bsonkit.Array(notFound...),
		"cursorsAlive", bsonkit.Array(),
		"cursorsUnknown", bsonkit.Array(),
	), nil
}

// intArg reads a numeric command argument that must be integral.
func intArg(cmd, field string, v bsoncore.Value) (int64, error) {
	switch v.Type {
	case bsoncore.TypeInt32, bsoncore.TypeInt64:
		return v.AsInt64(), nil
	case bsoncore.TypeDouble, bsoncore.TypeDecimal128:
		f, _ := bsonkit.ToFloat(v)
		if f != float64(int64(f)) {
			return 0, mongoerr.New(mongoerr.BadValue, "BSON field '%s.%s' has non-integral value %v", cmd, field, f)
		}
		return int64(f), nil
	}
	return 0, mongoerr.WrongType(cmd+"."+field, typeName(v.Type), mongoerr.NumberTypes)
}
