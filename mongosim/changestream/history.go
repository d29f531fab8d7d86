package changestream

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"
)

// Retention bounds the history as an oplog's size does. Zero means no
// bound. The newest cluster time is always kept, as a real oplog never
// truncates its newest entry.
type Retention struct {
	MaxEntries int
	MaxBytes   int64
}

// History is the append-only record of writes in commit order. One writer
// (the server, under its write lock) appends; any number of streams read
// concurrently and may wait for new entries.
type History struct {
	mu      sync.RWMutex
	entries []*Entry // entries[i] has sequence number base+i
	base    uint64
	bytes   int64
	ret     Retention
	last    Timestamp // newest cluster time appended (or the start time)
	wake    chan struct{}
	closed  bool
	trimmed uint64 // entries removed by retention so far
	cuts    uint64 // truncations (each removing one or more entries)
}

// NewHistory creates an empty history whose clock starts at start (the
// server's cluster time when it comes up; streams opened before any write
// start after it).
func NewHistory(start Timestamp, r Retention) *History {
	return &History{last: start, ret: r}
}

// Append adds entries atomically: a reader sees all of them or none (one
// transaction's entries share a cluster time and must be appended in one
// call). Cluster times must not go backwards; an entry may share the
// previous call's time only if it continues the same transaction.
func (h *History) Append(entries ...*Entry) error {
	if len(entries) == 0 {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return fmt.Errorf("changestream: append to a closed history")
	}
	prev := h.last
	var prevEntry *Entry
	if n := len(h.entries); n > 0 {
		prevEntry = h.entries[n-1]
	}
	for i, e := range entries {
		switch c := e.TS.Compare(prev); {
		case c < 0:
			return fmt.Errorf("changestream: entry %d at %v is before the history's last time %v", i, e.TS, prev)
		case c == 0 && !(prevEntry != nil && prevEntry.TS == e.TS && e.InTxn && prevEntry.InTxn && e.TxnOpIndex > prevEntry.TxnOpIndex):
			return fmt.Errorf("changestream: entry %d at %v does not advance the cluster time", i, e.TS)
		}
		prev, prevEntry = e.TS, e
	}
	for _, e := range entries {
		e.size = e.footprint()
		h.bytes += e.size
		h.entries = append(h.entries, e)
	}
	h.last = prev
	h.trimLocked()
	if h.wake != nil {
		close(h.wake)
		h.wake = nil
	}
	return nil
}

// SetRetention changes the bounds and applies them at once: shrinking
// them simulates an oplog rolling over.
func (h *History) SetRetention(r Retention) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ret = r
	h.trimLocked()
}

// Retention returns the current bounds.
func (h *History) Retention() Retention {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.ret
}

// TruncateBefore drops every entry older than ts (never the newest
// cluster time): a one-off rollover to a given point.
func (h *History) TruncateBefore(ts Timestamp) {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := sort.Search(len(h.entries), func(i int) bool { return h.entries[i].TS.Compare(ts) >= 0 })
	if n == len(h.entries) && n > 0 {
		n = h.firstOfLastTime()
	}
	h.dropFront(n)
}

// firstOfLastTime is the index of the first entry sharing the newest
// cluster time.
func (h *History) firstOfLastTime() int {
	n := len(h.entries)
	ts := h.entries[n-1].TS
	i := n - 1
	for i > 0 && h.entries[i-1].TS == ts {
		i--
	}
	return i
}

// trimLocked applies the retention bounds, dropping whole cluster times so
// a transaction never survives in part.
func (h *History) trimLocked() {
	over := func(drop int, dropped int64) bool {
		rest := len(h.entries) - drop
		return (h.ret.MaxEntries > 0 && rest > h.ret.MaxEntries) || (h.ret.MaxBytes > 0 && h.bytes-dropped > h.ret.MaxBytes)
	}
	if len(h.entries) == 0 || !over(0, 0) {
		return
	}
	limit := h.firstOfLastTime()
	drop, dropped := 0, int64(0)
	for drop < limit && over(drop, dropped) {
		ts := h.entries[drop].TS
		for drop < limit && h.entries[drop].TS == ts {
			dropped += h.entries[drop].size
			drop++
		}
	}
	h.dropFront(drop)
}

func (h *History) dropFront(n int) {
	if n <= 0 {
		return
	}
	for i := 0; i < n; i++ {
		h.bytes -= h.entries[i].size
		h.entries[i] = nil
	}
	h.entries = h.entries[n:]
	h.base += uint64(n)
	h.trimmed += uint64(n)
	h.cuts++
	// Reallocate once the dead front dominates, so memory follows retention.
	if cap(h.entries) > 1024 && len(h.entries) < cap(h.entries)/4 {
		h.entries = append(make([]*Entry, 0, 2*len(h.entries)+16), h.entries...)
	}
}

// Stats describes the retained window.
type Stats struct {
	Entries        int
	Bytes          int64
	Oldest, Newest Timestamp // zero Oldest when empty
	Trimmed        uint64    // entries removed by retention since the start
	Truncations    uint64    // how many times entries were removed
}

// Stats returns the retained window.
func (h *History) Stats() Stats {
	h.mu.RLock()
	defer h.mu.RUnlock()
	s := Stats{Entries: len(h.entries), Bytes: h.bytes, Newest: h.last, Trimmed: h.trimmed, Truncations: h.cuts}
	if len(h.entries) > 0 {
		s.Oldest = h.entries[0].TS
	}
	return s
}

// LastTime is the newest cluster time in the history.
func (h *History) LastTime() Timestamp {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.last
}

// Entries returns a copy of the retained entries with times in [from, to]
// (to zero: no upper bound), oldest first — the oplog view.
func (h *History) Entries(from, to Timestamp) []*Entry {
	h.mu.RLock()
	defer h.mu.RUnlock()
	i := sort.Search(len(h.entries), func(i int) bool { return h.entries[i].TS.Compare(from) >= 0 })
	var out []*Entry
	for ; i < len(h.entries); i++ {
		if !to.IsZero() && h.entries[i].TS.Compare(to) > 0 {
			break
		}
		out = append(out, h.entries[i])
	}
	return out
}

// Close wakes every waiter; later appends fail.
func (h *History) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	if h.wake != nil {
		close(h.wake)
		h.wake = nil
	}
}

// position is where a reader stands: the sequence number of the next
// entry to scan.
type position = uint64

// seek returns the position of the first entry at or after ts, and whether
// the history still covers ts (its oldest entry is not after ts).
func (h *History) seek(ts Timestamp) (position, bool) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if len(h.entries) == 0 {
		// Nothing retained: covered unless retention already dropped
		// entries at or after ts.
		return h.base, h.trimmed == 0 || ts.Compare(h.last) > 0
	}
	i := sort.Search(len(h.entries), func(i int) bool { return h.entries[i].TS.Compare(ts) >= 0 })
	return h.base + uint64(i), h.entries[0].TS.Compare(ts) <= 0
}

// end is the position after the newest entry.
func (h *History) end() position {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.base + uint64(len(h.entries))
}

// find returns the entry at (ts, txnOpIndex), if retained.
func (h *History) find(ts Timestamp, txnOpIndex uint32) *Entry {
	h.mu.RLock()
	defer h.mu.RUnlock()
	i := sort.Search(len(h.entries), func(i int) bool { return h.entries[i].TS.Compare(ts) >= 0 })
	for ; i < len(h.entries) && h.entries[i].TS == ts; i++ {
		if h.entries[i].TxnOpIndex == txnOpIndex {
			return h.entries[i]
		}
	}
	return nil
}

// read copies up to len(buf) entries from pos. lost reports that
// retention already dropped entries at pos; last is the newest cluster
// time at the moment of reading (the time everything up to the returned
// entries' end has been seen through, when the read reaches the end).
func (h *History) read(pos position, buf []*Entry) (n int, lost bool, atEnd bool, last Timestamp) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if pos < h.base {
		return 0, true, false, h.last
	}
	i := int(pos - h.base)
	if i > len(h.entries) {
		i = len(h.entries)
	}
	n = copy(buf, h.entries[i:])
	return n, false, i+n == len(h.entries), h.last
}

// wait blocks until an entry exists at or after pos, the timeout passes,
// ctx ends or the history closes. It reports whether new entries exist.
func (h *History) wait(ctx context.Context, pos position, timeout time.Duration) bool {
	h.mu.Lock()
	if pos < h.base+uint64(len(h.entries)) {
		h.mu.Unlock()
		return true
	}
	if h.closed || timeout <= 0 {
		h.mu.Unlock()
		return false
	}
	if h.wake == nil {
		h.wake = make(chan struct{})
	}
	ch := h.wake
	h.mu.Unlock()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-ch:
	case <-t.C:
	case <-ctx.Done():
	}
	return pos < h.end()
}
