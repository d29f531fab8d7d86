package verify

import (
	"hash/maphash"
)

// docHash is a 128-bit fingerprint of one document's raw bytes: two 64-bit
// hashes under independent random seeds, so an accidental match needs two
// independent collisions (about 2^-128), and nobody can craft documents that
// collide because the seeds are drawn per run.
type docHash [2]uint64

// hasher fingerprints documents. Both sides of a comparison must use the
// same hasher (the seeds live only in this process).
type hasher struct {
	seeds [2]maphash.Seed
}

func newHasher() *hasher {
	return &hasher{seeds: [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}}
}

// doc fingerprints the raw BSON of one document, byte for byte: any change
// of a value, a type or the field order changes it.
func (h *hasher) doc(raw []byte) docHash {
	return docHash{maphash.Bytes(h.seeds[0], raw), maphash.Bytes(h.seeds[1], raw)}
}

// rangeDigest summarises a set of documents independently of the order they
// are read in: the per-document fingerprints are added lane by lane
// (mod 2^64), which — unlike XOR — does not cancel when the same document
// appears twice. Count and Bytes make a missing or extra document obvious
// even before the sums are compared.
type rangeDigest struct {
	Count int64
	Bytes int64
	Sum   docHash
}

func (d *rangeDigest) add(raw []byte, h docHash) {
	d.Count++
	d.Bytes += int64(len(raw))
	d.Sum[0] += h[0]
	d.Sum[1] += h[1]
}

// merge adds another digest (a later batch or range) into d.
func (d *rangeDigest) merge(o rangeDigest) {
	d.Count += o.Count
	d.Bytes += o.Bytes
	d.Sum[0] += o.Sum[0]
	d.Sum[1] += o.Sum[1]
}
