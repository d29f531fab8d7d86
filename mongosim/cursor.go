package mongosim

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/changestream"
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
)

// Cursor timeouts as on mongod (cursorTimeoutMillis = 10 min).
const (
	defaultCursorTimeout = 10 * time.Minute
	defaultFirstBatch    = 101
	// maxBatchBytes: a batch stops before exceeding 16 MiB (at least one doc).
	maxBatchBytes = maxBSONObjectSize
)

// batch accumulates a reply batch directly inside the reply document
// {cursor: {firstBatch|nextBatch: [...], id, ns}}, so a document is copied
// once, from the store into the bytes written to the socket.
type batch struct {
	buf   []byte
	n     int
	max   int // document limit, 0 = none
	bytes int
	// offsets of the length prefixes still to patch
	cursorAt, arrayAt int
}

// newBatch starts a reply whose batch array is named field.
func newBatch(field string, max int) batch {
	b := batch{max: max, buf: getBuf(64 << 10)}
	_, b.buf = bsoncore.AppendDocumentStart(b.buf)
	b.buf = append(b.buf, byte(bsoncore.TypeEmbeddedDocument))
	b.buf = append(b.buf, "cursor\x00"...)
	b.cursorAt = len(b.buf)
	b.buf = append(b.buf, 0, 0, 0, 0)
	b.buf = append(b.buf, byte(bsoncore.TypeArray))
	b.buf = append(b.buf, field...)
	b.buf = append(b.buf, 0)
	b.arrayAt = len(b.buf)
	b.buf = append(b.buf, 0, 0, 0, 0)
	return b
}

// room reports whether a document of size bytes may be added.
func (b *batch) room(size int) bool {
	if b.max > 0 && b.n >= b.max {
		return false
	}
	return b.n == 0 || b.bytes+size <= maxBatchBytes
}

// full reports whether the document count limit is reached.
func (b *batch) full() bool { return b.max > 0 && b.n >= b.max }

func (b *batch) add(doc bsoncore.Document) {
	key := bsonkit.Itoa(b.n)
	if need := len(b.buf) + len(doc) + len(key) + 2; need > cap(b.buf) {
		b.buf = growBuf(b.buf, need)
	}
	b.buf = append(b.buf, byte(bsoncore.TypeEmbeddedDocument))
	b.buf = append(b.buf, key...)
	b.buf = append(b.buf, 0)
	b.buf = append(b.buf, doc...)
	b.n++
	b.bytes += len(doc)
}

// finish closes the batch and returns the reply body.
func (b *batch) finish(id int64, ns string) bsoncore.Document { return b.finishStream(nil, id, ns) }

// finishStream closes a batch, with a change stream's postBatchResumeToken
// when pbrt is not nil: mongod's cursor reply puts it after the batch,
// before id and ns.
func (b *batch) finishStream(pbrt bsoncore.Document, id int64, ns string) bsoncore.Document {
	out := append(b.buf, 0)
	bsoncore.UpdateLength(out, int32(b.arrayAt), int32(len(out)-b.arrayAt))
	if pbrt != nil {
		out = bsoncore.AppendDocumentElement(out, "postBatchResumeToken", pbrt)
	}
	out = bsoncore.AppendInt64Element(out, "id", id)
	out = bsoncore.AppendStringElement(out, "ns", ns)
	out = append(out, 0)
	bsoncore.UpdateLength(out, int32(b.cursorAt), int32(len(out)-b.cursorAt))
	out = append(out, 0)
	bsoncore.UpdateLength(out, 0, int32(len(out)))
	b.buf = nil
	return out
}

// batchSource produces a cursor's documents. fill adds documents while
// b.room allows and reports whether the source is exhausted; it takes the
// store lock itself for the duration of one call, never between calls.
type batchSource interface {
	fill(ctx context.Context, b *batch) (exhausted bool, err error)
}

// sliceSource serves materialised results (in-memory sorts, aggregations).
type sliceSource struct {
	docs []bsoncore.Document
	pos  int
}

func (s *sliceSource) fill(_ context.Context, b *batch) (bool, error) {
	for s.pos < len(s.docs) && b.room(len(s.docs[s.pos])) {
		b.add(s.docs[s.pos])
		s.docs[s.pos] = nil // let the GC have what was sent
		s.pos++
	}
	return s.pos >= len(s.docs), nil
}

// cursor is one open server cursor.
type cursor struct {
	id        int64
	ns        string
	src       batchSource
	remaining int // documents still allowed by limit; -1 = unlimited
	tailable  bool
	awaitData bool
	noTimeout bool
	// stream, for a change-stream cursor, produces its batches (src is nil).
	stream *changestream.Stream

	// guarded by cursorManager.mu
	lastUse time.Time
	busy    bool
}

type cursorManager struct {
	srv     *Server
	mu      sync.Mutex
	cursors map[int64]*cursor
	timeout time.Duration
}

func newCursorManager(s *Server) *cursorManager {
	return &cursorManager{srv: s, cursors: make(map[int64]*cursor), timeout: defaultCursorTimeout}
}

// open registers c and assigns its id (positive, never 0).
func (m *cursorManager) open(c *cursor) int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	for {
		var b [8]byte
		_, _ = rand.Read(b[:])
		id := int64(binary.LittleEndian.Uint64(b[:]) &^ (1 << 63))
		if _, taken := m.cursors[id]; id != 0 && !taken {
			c.id = id
			c.lastUse = time.Now()
			m.cursors[id] = c
			return id
		}
	}
}

// acquire marks the cursor busy for one getMore.
func (m *cursorManager) acquire(id int64) (*cursor, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.cursors[id]
	if !ok {
		return nil, mongoerr.New(mongoerr.CursorNotFound, "cursor id %d not found", id)
	}
	if c.busy {
		return nil, mongoerr.New(mongoerr.CursorInUse, "Cursor id %d is already in use", id)
	}
	c.busy = true
	return c, nil
}

// release ends a getMore; a finished cursor is forgotten.
func (m *cursorManager) release(c *cursor, done bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c.busy = false
	c.lastUse = time.Now()
	if done {
		delete(m.cursors, c.id)
	}
}

// killIn removes a cursor of namespace ns; it reports whether it existed.
func (m *cursorManager) killIn(id int64, ns string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.cursors[id]
	if !ok || c.ns != ns {
		return false
	}
	delete(m.cursors, id)
	return true
}

// kill removes a cursor; it reports whether it existed.
func (m *cursorManager) kill(id int64) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.cursors[id]
	delete(m.cursors, id)
	return ok
}

// killAll forgets every cursor (a restart); a getMore in flight finishes
// on its closed connection.
func (m *cursorManager) killAll() {
	m.mu.Lock()
	defer m.mu.Unlock()
	clear(m.cursors)
}

func (m *cursorManager) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.cursors)
}

// reap kills idle cursors older than the timeout (noCursorTimeout exempt).
func (m *cursorManager) reap(now time.Time) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for id, c := range m.cursors {
		if !c.busy && !c.noTimeout && now.Sub(c.lastUse) > m.timeout {
			delete(m.cursors, id)
			n++
		}
	}
	return n
}

func (m *cursorManager) reapLoop(ctx context.Context) {
	defer m.srv.wg.Done()
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			m.reap(now)
			m.srv.repl.sessions.reap(now) // expired transactions, idle sessions
		}
	}
}

// firstBatch fills the first batch of a new cursor and registers the cursor
// if documents remain. batchSize < 0 means the default (101).
func (s *Server) firstBatch(ctx context.Context, c *cursor, batchSize int, singleBatch bool) (bsoncore.Document, error) {
	max := batchSize
	if batchSize < 0 {
		max = defaultFirstBatch
	}
	if c.remaining >= 0 && (max == 0 || c.remaining < max) && batchSize != 0 {
		max = c.remaining
	}
	b := newBatch("firstBatch", max)
	exhausted := false
	if batchSize != 0 && c.remaining != 0 {
		var err error
		if exhausted, err = c.src.fill(ctx, &b); err != nil {
			return nil, err
		}
	}
	if c.remaining > 0 {
		c.remaining -= b.n
	}
	if c.remaining == 0 {
		exhausted = true
	}
	id := int64(0)
	if !singleBatch && (!exhausted || c.tailable) {
		id = s.cursors.open(c)
	}
	return b.finish(id, c.ns), nil
}

// firstBatchReq is firstBatch for a handler's own reply: the reply buffer
// is pooled and recycled once written to the socket.
func (s *Server) firstBatchReq(ctx context.Context, req *request, c *cursor, batchSize int, singleBatch bool) (bsoncore.Document, error) {
	out, err := s.firstBatch(ctx, c, batchSize, singleBatch)
	req.ownsBody = err == nil
	return out, err
}
