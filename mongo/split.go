package mongo

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/mlink-dev/mlink"
)

// oversample is how many sampled _ids back each split point: quantiles of
// a larger sample give more even partitions.
const oversample = 8

// SplitRanges cuts a collection into _id-range partitions of about
// partBytes each, from split points sampled by the server in index order.
// Ranges are half-open [Min, Max) with the first and last open-ended, so
// together they cover the whole _id index whatever the types. A split is
// also placed where the _id type bracket changes, so each range holds one
// kind of _id (what a DBA reading the checkpoint expects, and what keeps
// per-range sampling honest for mixed collections).
func (c *Client) SplitRanges(ctx context.Context, ns mlink.Namespace, st CollStats, partBytes int64, minParts int) ([]Range, error) {
	parts := 1
	if partBytes > 0 && st.Size > partBytes {
		parts = int((st.Size + partBytes - 1) / partBytes)
	}
	if parts < minParts && st.Count > int64(minParts)*1000 {
		parts = minParts
	}
	if parts <= 1 && st.Count < 2 {
		return []Range{{}}, nil
	}
	n := parts * oversample
	if parts == 1 {
		n = 64 // only type-bracket boundaries are wanted
	}
	sample, err := c.SampleIDs(ctx, ns, n)
	if err != nil {
		return nil, err
	}
	return rangesFromSample(sample, parts), nil
}

// rangesFromSample picks parts-1 quantile split points from a sorted
// sample, plus every point where the type bracket changes.
func rangesFromSample(sample []bson.RawValue, parts int) []Range {
	var splits []bson.RawValue
	step := float64(len(sample)) / float64(parts)
	next := step
	for i := 1; i < len(sample); i++ {
		bracketChange := TypeBracket(sample[i].Type) != TypeBracket(sample[i-1].Type)
		if bracketChange || (parts > 1 && float64(i) >= next) {
			splits = append(splits, sample[i])
			for next <= float64(i) {
				next += step
			}
		}
	}
	out := make([]Range, 0, len(splits)+1)
	var lo bson.RawValue
	for _, s := range splits {
		out = append(out, Range{Min: lo, Max: s})
		lo = s
	}
	return append(out, Range{Min: lo})
}

// TypeBracket is MongoDB's canonical type order: values of different
// brackets never compare equal and sort by bracket.
func TypeBracket(t bson.Type) int {
	switch t {
	case bson.TypeMinKey:
		return -1
	case bson.TypeUndefined:
		return 0
	case bson.TypeNull:
		return 5
	case bson.TypeDouble, bson.TypeInt32, bson.TypeInt64, bson.TypeDecimal128:
		return 10
	case bson.TypeString, bson.TypeSymbol:
		return 15
	case bson.TypeEmbeddedDocument:
		return 20
	case bson.TypeArray:
		return 25
	case bson.TypeBinary:
		return 30
	case bson.TypeObjectID:
		return 35
	case bson.TypeBoolean:
		return 40
	case bson.TypeDateTime:
		return 45
	case bson.TypeTimestamp:
		return 47
	case bson.TypeRegex:
		return 50
	case bson.TypeDBPointer:
		return 55
	case bson.TypeJavaScript:
		return 60
	case bson.TypeCodeWithScope:
		return 65
	case bson.TypeMaxKey:
		return 127
	}
	return 200
}
