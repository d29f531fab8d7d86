package changestream

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
)

func noop(ts Timestamp) *Entry {
	return &Entry{Op: OpNoop, TS: ts, Msg: bsonkit.D("msg", bsonkit.String("n"))}
}

func TestHistoryAppendOrdering(t *testing.T) {
	h := NewHistory(Timestamp{T: 10, I: 1}, Retention{})
	if err := h.Append(noop(Timestamp{T: 10, I: 1})); err == nil {
		t.Fatal("entry at the start time itself must be refused (it does not advance the clock)")
	}
	if err := h.Append(noop(Timestamp{T: 10, I: 2})); err != nil {
		t.Fatal(err)
	}
	if err := h.Append(noop(Timestamp{T: 9, I: 5})); err == nil {
		t.Fatal("going back in time must fail")
	}
	// A transaction: entries share a time and count txnOpIndex up.
	ts := Timestamp{T: 11, I: 1}
	a := &Entry{Op: OpInsert, TS: ts, InTxn: true, TxnOpIndex: 0}
	b := &Entry{Op: OpInsert, TS: ts, InTxn: true, TxnOpIndex: 1}
	if err := h.Append(a, b); err != nil {
		t.Fatalf("transaction: %v", err)
	}
	// Two non-transaction entries may not share a time.
	if err := h.Append(noop(Timestamp{T: 12, I: 1}), noop(Timestamp{T: 12, I: 1})); err == nil {
		t.Fatal("duplicate time outside a transaction must fail")
	}
	st := h.Stats()
	if st.Entries != 3 || st.Oldest != (Timestamp{T: 10, I: 2}) || st.Newest != ts {
		t.Fatalf("stats %+v", st)
	}
	// A failed Append adds nothing.
	if got := len(h.Entries(Timestamp{}, Timestamp{})); got != 3 {
		t.Fatalf("entries after failed append: %d", got)
	}
}

func fill(t *testing.T, h *History, from Timestamp, n int) Timestamp {
	t.Helper()
	ts := from
	for i := 0; i < n; i++ {
		ts = ts.next()
		if err := h.Append(noop(ts)); err != nil {
			t.Fatal(err)
		}
	}
	return ts
}

func TestHistoryRetentionByCount(t *testing.T) {
	start := Timestamp{T: 50, I: 0}
	h := NewHistory(start, Retention{MaxEntries: 5})
	last := fill(t, h, start, 12)
	st := h.Stats()
	if st.Entries != 5 || st.Oldest != (Timestamp{T: 50, I: 8}) || st.Newest != last || st.Trimmed != 7 {
		t.Fatalf("stats %+v", st)
	}
	// Shrinking at once simulates rollover.
	h.SetRetention(Retention{MaxEntries: 2})
	if st := h.Stats(); st.Entries != 2 || st.Oldest != (Timestamp{T: 50, I: 11}) {
		t.Fatalf("after shrink %+v", st)
	}
	// Retention never drops the newest time, even with a bound of 0 bytes.
	h.SetRetention(Retention{MaxBytes: 1})
	if st := h.Stats(); st.Entries != 1 || st.Oldest != last {
		t.Fatalf("after bytes=1 %+v", st)
	}
	if got := h.Retention(); got != (Retention{MaxBytes: 1}) {
		t.Fatalf("retention %+v", got)
	}
}

func TestHistoryRetentionByBytesKeepsTransactionsWhole(t *testing.T) {
	h := NewHistory(Timestamp{T: 1}, Retention{})
	doc := bsonkit.D("_id", bsonkit.Int32(1), "pad", bsonkit.String(string(make([]byte, 1000))))
	ts := Timestamp{T: 2, I: 1}
	var txn []*Entry
	for i := 0; i < 3; i++ {
		txn = append(txn, &Entry{Op: OpInsert, DB: "d", Coll: "c", TS: ts, InTxn: true, TxnOpIndex: uint32(i), Doc: doc})
	}
	if err := h.Append(txn...); err != nil {
		t.Fatal(err)
	}
	if err := h.Append(&Entry{Op: OpInsert, DB: "d", Coll: "c", TS: Timestamp{T: 2, I: 2}, Doc: doc}); err != nil {
		t.Fatal(err)
	}
	per := txn[0].size
	if per < 1000 {
		t.Fatalf("entry footprint %d should count the document", per)
	}
	// Room for two entries: the 3-entry transaction must go entirely.
	h.SetRetention(Retention{MaxBytes: 2*per + 10})
	st := h.Stats()
	if st.Entries != 1 || st.Oldest != (Timestamp{T: 2, I: 2}) || st.Bytes != per {
		t.Fatalf("stats %+v (per entry %d)", st, per)
	}
}

func TestHistoryTruncateBefore(t *testing.T) {
	h := NewHistory(Timestamp{T: 1}, Retention{})
	last := fill(t, h, Timestamp{T: 1}, 10)
	h.TruncateBefore(Timestamp{T: 1, I: 6})
	if st := h.Stats(); st.Entries != 5 || st.Oldest != (Timestamp{T: 1, I: 6}) {
		t.Fatalf("stats %+v", st)
	}
	h.TruncateBefore(Timestamp{T: 99})
	if st := h.Stats(); st.Entries != 1 || st.Oldest != last {
		t.Fatalf("truncate past the end keeps the newest: %+v", st)
	}
	got := h.Entries(Timestamp{}, Timestamp{})
	if len(got) != 1 || got[0].TS != last {
		t.Fatalf("entries %v", got)
	}
}

func TestHistoryEntriesRange(t *testing.T) {
	h := NewHistory(Timestamp{T: 1}, Retention{})
	fill(t, h, Timestamp{T: 1}, 6)
	got := h.Entries(Timestamp{T: 1, I: 2}, Timestamp{T: 1, I: 4})
	if len(got) != 3 || got[0].TS.I != 2 || got[2].TS.I != 4 {
		t.Fatalf("range: %d entries", len(got))
	}
}

func TestHistoryWaitWakesOnAppend(t *testing.T) {
	h := NewHistory(Timestamp{T: 1}, Retention{})
	pos := h.end()
	done := make(chan bool)
	go func() { done <- h.wait(context.Background(), pos, time.Minute) }()
	if err := h.Append(noop(Timestamp{T: 1, I: 1})); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-done:
		if !got {
			t.Fatal("wait reported no new entry")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("wait did not wake on append")
	}
}

func TestHistoryWaitTimeoutAndClose(t *testing.T) {
	h := NewHistory(Timestamp{T: 1}, Retention{})
	start := time.Now()
	if h.wait(context.Background(), h.end(), 20*time.Millisecond) {
		t.Fatal("nothing was appended")
	}
	if time.Since(start) < 20*time.Millisecond {
		t.Fatal("returned before the timeout")
	}
	done := make(chan bool)
	go func() { done <- h.wait(context.Background(), h.end(), time.Minute) }()
	h.Close()
	select {
	case got := <-done:
		if got {
			t.Fatal("close is not new data")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("wait did not wake on close")
	}
	if err := h.Append(noop(Timestamp{T: 2})); err == nil {
		t.Fatal("append after close must fail")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if h2 := NewHistory(Timestamp{T: 1}, Retention{}); h2.wait(ctx, h2.end(), time.Minute) {
		t.Fatal("cancelled wait reported data")
	}
}

func TestHistoryConcurrentReadersWhileAppending(t *testing.T) {
	h := NewHistory(Timestamp{T: 1}, Retention{MaxEntries: 1000})
	const n = 5000
	final := Timestamp{T: 1, I: n}
	var wg sync.WaitGroup
	for r := 0; r < 4; r++ {
		wg.Add(1)
		pos := h.end()
		go func() {
			defer wg.Done()
			buf := make([]*Entry, 64)
			var last Timestamp
			for last != final {
				k, lost, _, _ := h.read(pos, buf)
				if lost {
					// Fell behind retention: jump to the oldest entry.
					pos, _ = h.seek(Timestamp{})
					continue
				}
				for _, e := range buf[:k] {
					if e.TS.Compare(last) <= 0 {
						t.Errorf("out of order: %v after %v", e.TS, last)
						return
					}
					last = e.TS
				}
				pos += uint64(k)
				if k == 0 {
					h.wait(context.Background(), pos, time.Second)
				}
			}
		}()
	}
	fill(t, h, Timestamp{T: 1}, n)
	wg.Wait()
	if st := h.Stats(); st.Entries != 1000 {
		t.Fatalf("retained %d", st.Entries)
	}
}
