package mongosim

import (
	"encoding/binary"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/update"
)

// clusterClock hands out strictly increasing cluster times: seconds from the
// wall clock, increment counting writes within a second. It keeps going
// forward even if the wall clock steps back.
type clusterClock struct {
	mu        sync.Mutex
	secs, inc uint32
	lastWrite time.Time
}

func (c *clusterClock) init(now time.Time) {
	c.secs, c.inc = uint32(now.Unix()), 1
	c.lastWrite = now
}

// tick returns a new cluster time, strictly after every earlier one.
func (c *clusterClock) tick(now time.Time) (uint32, uint32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s := uint32(now.Unix()); s > c.secs {
		c.secs, c.inc = s, 1
	} else {
		c.inc++
	}
	c.lastWrite = now
	return c.secs, c.inc
}

// now returns the latest cluster time as a BSON timestamp value.
func (c *clusterClock) now() bsoncore.Value {
	c.mu.Lock()
	defer c.mu.Unlock()
	return bsonkit.Timestamp(c.secs, c.inc)
}

func (c *clusterClock) lastWriteTime() (uint32, uint32, time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.secs, c.inc, c.lastWrite
}

// oplogEntry describes one write as mongod's oplog would: the single place
// every write passes through, so change streams hang off it.
type oplogEntry struct {
	Op        string // "i", "u", "d", "c" (command/DDL), "n" (no-op)
	NS        string // "db.coll" ("db.$cmd" for commands, "" for no-ops)
	UI        *[16]byte
	O         bsoncore.Document // inserted doc, update description, command, no-op message
	O2        bsoncore.Document // _id of the updated/replaced doc
	Pre       bsoncore.Document // document before an update/delete (pre-image)
	Post      bsoncore.Document // document after an update (post-image)
	TS        [2]uint32         // set by recordWrite unless pre-ticked
	Wall      time.Time         // set by recordWrite
	LSID      bsoncore.Document
	TxnNumber int64

	// Desc is an update's description (nil: the update replaced the document).
	Desc *update.Description
	// PrePostImages is the collection's changeStreamPreAndPostImages.
	PrePostImages bool
	// View: DDL on a view.
	View bool
	// InTxn/TxnOpIndex: part of a committed transaction, at this position.
	InTxn      bool
	TxnOpIndex uint32
}

// recordWrite ticks the cluster time for one write and makes it the reply's
// operationTime, then appends the write to the change-stream history. The
// caller holds s.mu for writing, so ticks are in the same order as the
// writes they stamp. Inside a transaction the write is buffered with the
// transaction instead and reaches the history at commit.
func (s *Server) recordWrite(req *request, e oplogEntry) {
	now := time.Now()
	if e.TS == [2]uint32{} {
		t, i := s.clock.tick(now)
		e.TS = [2]uint32{t, i}
	}
	e.Wall = now
	if req != nil {
		// The reply's operationTime, in the request's own buffer: no
		// allocation per document of a large insert.
		binary.LittleEndian.PutUint32(req.opTimeBuf[0:], e.TS[1])
		binary.LittleEndian.PutUint32(req.opTimeBuf[4:], e.TS[0])
		req.opTime = bsoncore.Value{Type: bsoncore.TypeTimestamp, Data: req.opTimeBuf[:]}
		req.readSession()
		if e.LSID == nil && req.hasTxnNumber {
			// Only retryable writes and transactions log their session.
			e.LSID = req.lsid
			e.TxnNumber = req.txnNumber
		}
		if req.txn != nil {
			req.txn.record(e)
			return
		}
		if req.batchWrites {
			req.wrote = true
			if !s.opts.Standalone {
				if ce, err := fromOplog(&e); err != nil {
					s.log.Error("oplog entry not recorded", "op", e.Op, "ns", e.NS, "err", err)
				} else {
					req.pending = append(req.pending, ce)
				}
			}
			return
		}
	}
	s.appendHistory(&e)
	s.writes.broadcast()
}

// flushWrites appends a command's buffered oplog entries to the history
// in one call, so readers wake once per command rather than once per
// document. The caller still holds s.mu for writing.
func (s *Server) flushWrites(req *request) {
	if !req.wrote {
		return
	}
	if len(req.pending) > 0 {
		if err := s.repl.history.Append(req.pending...); err != nil {
			s.log.Error("oplog entries not recorded", "n", len(req.pending), "err", err)
		}
	}
	req.pending, req.wrote = nil, false
	s.writes.broadcast()
}

// noopLoop writes a periodic no-op while idle so cluster time advances, as
// a replica-set primary does (periodicNoopIntervalSecs).
func (s *Server) noopLoop() {
	defer s.wg.Done()
	if s.opts.Standalone {
		return
	}
	t := time.NewTicker(s.opts.NoopInterval)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		}
		_, _, last := s.clock.lastWriteTime()
		if time.Since(last) < s.opts.NoopInterval {
			continue
		}
		s.mu.Lock()
		s.recordWrite(nil, oplogEntry{Op: "n", O: noopMsg})
		s.mu.Unlock()
	}
}

var noopMsg = bsonkit.D("msg", bsonkit.String("periodic noop"))
