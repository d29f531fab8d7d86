package mongosim

import "sync"

// Reply buffers for cursor batches are pooled: a 16 MiB batch allocated
// (and zeroed) per getMore would dominate scan cost.

var bufPool = sync.Pool{New: func() any { return new([]byte) }}

// getBuf returns an empty buffer with at least minCap capacity.
func getBuf(minCap int) []byte {
	p := bufPool.Get().(*[]byte)
	b := (*p)[:0]
	*p = nil
	bufPool.Put(p)
	if cap(b) < minCap {
		return make([]byte, 0, minCap)
	}
	return b
}

// putBuf recycles b; nothing may use it afterwards.
func putBuf(b []byte) {
	if cap(b) < 64<<10 || cap(b) > 64<<20 {
		return
	}
	p := bufPool.Get().(*[]byte)
	*p = b[:0]
	bufPool.Put(p)
}

// growBuf returns b with capacity for at least need bytes, recycling the
// old backing array.
func growBuf(b []byte, need int) []byte {
	n := 2 * cap(b)
	if n < need {
		n = need
	}
	out := make([]byte, len(b), n)
	copy(out, b)
	putBuf(b)
	return out
}
