package repl

import (
	"sync"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// watermark tracks which stream positions are applied. Positions (events
// and idle resume tokens) get increasing sequence numbers as they are read;
// workers finish them out of order; the watermark is the last position of
// the contiguous applied prefix that is safe to resume after (not inside a
// transaction).
type watermark struct {
	mu      sync.Mutex
	cond    *sync.Cond
	next    uint64 // next sequence number to hand out
	base    uint64 // sequence number of pending[0]
	pending []*mark
	low     Position // latest safe position of the applied prefix
	// lowComplete: low is an empty batch's resume token, so every event
	// at low.Time is applied; at an event (or the start) more events of
	// that cluster time may follow.
	lowComplete bool
	// beyond: positions after low are applied (the end of a transaction
	// not yet known safe), so resuming at low replays them.
	beyond  bool
	applied int64
	// moves counts changes of low; savedMoves is the count a persisted
	// checkpoint reflects.
	moves, savedMoves uint64
}

type mark struct {
	token bson.Raw
	time  bson.Timestamp
	done  bool
	safe  bool
	event bool // counts as an applied event (not an idle token)
}

func newWatermark(start Position) *watermark {
	w := &watermark{low: start, applied: start.Applied}
	w.cond = sync.NewCond(&w.mu)
	return w
}

// reset starts tracking from pos (a run's start).
func (w *watermark) reset(pos Position) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.low, w.applied, w.pending, w.base, w.next, w.moves, w.savedMoves = pos, pos.Applied, nil, 0, 0, 0, 0
	w.lowComplete, w.beyond = false, false
}

// add registers a new position and returns its sequence number.
func (w *watermark) add(token bson.Raw, t bson.Timestamp, safe, event bool) uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	seq := w.next
	w.next++
	w.pending = append(w.pending, &mark{token: token, time: t, safe: safe, event: event})
	return seq
}

// markSafe makes a registered position safe to resume after (the last
// event of a transaction, known once the next event arrives).
func (w *watermark) markSafe(seq uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if seq >= w.base && seq-w.base < uint64(len(w.pending)) {
		w.pending[seq-w.base].safe = true
		w.advanceLocked()
	}
}

// done marks positions applied.
func (w *watermark) done(seqs ...uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, seq := range seqs {
		if seq >= w.base && seq-w.base < uint64(len(w.pending)) {
			w.pending[seq-w.base].done = true
		}
	}
	w.advanceLocked()
}

func (w *watermark) advanceLocked() {
	n := 0
	for n < len(w.pending) && w.pending[n].done {
		m := w.pending[n]
		if m.event {
			w.applied++
		}
		// Inside a transaction the watermark waits for a later safe
		// position, so a restart replays the whole transaction.
		if m.safe {
			w.low = Position{Token: m.token, Time: m.time}
			w.lowComplete = !m.event
			w.moves++
		}
		w.beyond = !m.safe
		n++
	}
	if n > 0 {
		w.pending = w.pending[n:]
		w.base += uint64(n)
		w.cond.Broadcast()
	}
	w.low.Applied = w.applied
}

// position returns the current watermark.
func (w *watermark) position() Position {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.low
}

// completeTime returns the latest cluster time up to which every event is
// applied: low's time when low is an empty batch's token, else the moment
// before it (several events may share one cluster time: a transaction's
// oplog entry, batched deletes, any writes since MongoDB 8.0).
func (w *watermark) completeTime() bson.Timestamp {
	w.mu.Lock()
	defer w.mu.Unlock()
	t := w.low.Time
	switch {
	case w.lowComplete || t.IsZero():
		return t
	case t.I > 0:
		return bson.Timestamp{T: t.T, I: t.I - 1}
	default:
		return bson.Timestamp{T: t.T - 1, I: ^uint32(0)}
	}
}

// unsaved returns the current watermark, its version, and whether it moved
// since the version last reported to saved.
func (w *watermark) unsaved() (Position, uint64, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.low, w.moves, w.moves != w.savedMoves
}

// saved records that the watermark of version v is persisted (a position
// reached while it was being written still counts as unsaved).
func (w *watermark) saved(v uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.savedMoves = max(w.savedMoves, v)
}

// waitBefore blocks until every position registered before seq is applied
// or stop is closed (then false).
func (w *watermark) waitBefore(seq uint64, stop <-chan struct{}) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	for w.base < seq {
		select {
		case <-stop:
			return false
		default:
		}
		w.cond.Wait()
	}
	return true
}

// wake releases waiters so they can see stop.
func (w *watermark) wake() {
	w.mu.Lock()
	w.cond.Broadcast()
	w.mu.Unlock()
}

// exact reports whether low is the last registered position and every
// position is applied: resuming at low replays nothing.
func (w *watermark) exact() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.pending) == 0 && !w.beyond
}

// idle reports whether every registered position is applied.
func (w *watermark) idle() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.pending) == 0
}
