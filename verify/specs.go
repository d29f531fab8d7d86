package verify

import (
	"bytes"
	"encoding/json"
	"math"
	"math/big"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// disabledTTL is clone.DisabledTTL: the expiry mlink gives TTL indexes on
// the target while a sync runs (a test keeps the two equal; importing clone
// here would drag the copy engine into the verifier).
const disabledTTL = math.MaxInt32

// FieldDiff is one field whose value differs between the sides. Values are
// relaxed extended JSON; a side where the field is absent has no value.
type FieldDiff struct {
	Field  string          `json:"field"`
	Source json.RawMessage `json:"source,omitempty"`
	Target json.RawMessage `json:"target,omitempty"`
}

// Index problems.
const (
	IndexMissingOnTarget = "missingOnTarget"
	IndexExtraOnTarget   = "extraOnTarget"
	IndexDifferent       = "different"
)

// IndexDiff is one index, by name, that is not the same on both sides. For
// a missing or extra index the whole spec is given; for a different one the
// fields that differ.
type IndexDiff struct {
	Name    string          `json:"name"`
	Problem string          `json:"problem"`
	Source  json.RawMessage `json:"source,omitempty"`
	Target  json.RawMessage `json:"target,omitempty"`
	Fields  []FieldDiff     `json:"fields,omitempty"`
}

// relaxFunc reports whether a difference of a top-level field is one the
// sync makes on purpose and is accepted (an absent side has Type 0).
type relaxFunc func(field string, src, dst bson.RawValue) bool

// compareFields compares two documents field by field, by name: the order
// of top-level fields is not significant (MongoDB keeps options and index
// specs by name), nested values are compared in order (an index key's field
// order is its meaning). Fields named in ignore are skipped.
func compareFields(prefix string, src, dst bson.Raw, relax relaxFunc, ignore ...string) []FieldDiff {
	skip := func(k string) bool {
		for _, ig := range ignore {
			if k == ig {
				return true
			}
		}
		return false
	}
	var diffs []FieldDiff
	seen := map[string]bool{}
	srcElems, _ := src.Elements()
	for _, e := range srcElems {
		k := e.Key()
		seen[k] = true
		if skip(k) {
			continue
		}
		sv := e.Value()
		dv, err := dst.LookupErr(k)
		if err == nil && sameValue(sv, dv) {
			continue
		}
		if err != nil {
			dv = bson.RawValue{}
		}
		if relax != nil && relax(k, sv, dv) {
			continue
		}
		diffs = append(diffs, fieldDiff(prefix+k, sv, dv))
	}
	dstElems, _ := dst.Elements()
	for _, e := range dstElems {
		k := e.Key()
		if seen[k] || skip(k) {
			continue
		}
		if relax != nil && relax(k, bson.RawValue{}, e.Value()) {
			continue
		}
		diffs = append(diffs, fieldDiff(prefix+k, bson.RawValue{}, e.Value()))
	}
	return diffs
}

func fieldDiff(field string, src, dst bson.RawValue) FieldDiff {
	d := FieldDiff{Field: field}
	if src.Type != 0 {
		d.Source = extJSON(src, false)
	}
	if dst.Type != 0 {
		d.Target = extJSON(dst, false)
	}
	return d
}

// compareIndexes compares index specs by name, every field but "ns" (which
// servers before 4.4 echo and which names the server's own namespace). With
// inProgress, the relaxations the sync applies until finalize are accepted:
// a unique index built non-unique, and a TTL index whose expiry is disabled.
func compareIndexes(src, dst []bson.Raw, inProgress bool) []IndexDiff {
	byName := func(specs []bson.Raw) (map[string]bson.Raw, []string) {
		m := make(map[string]bson.Raw, len(specs))
		var order []string
		for _, s := range specs {
			name, _ := s.Lookup("name").StringValueOK()
			if _, dup := m[name]; !dup {
				order = append(order, name)
			}
			m[name] = s
		}
		return m, order
	}
	srcBy, srcOrder := byName(src)
	dstBy, dstOrder := byName(dst)
	var relax relaxFunc
	if inProgress {
		relax = relaxIndexInProgress
	}
	var diffs []IndexDiff
	for _, name := range srcOrder {
		s := srcBy[name]
		d, ok := dstBy[name]
		if !ok {
			diffs = append(diffs, IndexDiff{Name: name, Problem: IndexMissingOnTarget, Source: docJSON(s)})
			continue
		}
		if fields := compareFields("", s, d, relax, "ns"); len(fields) > 0 {
			diffs = append(diffs, IndexDiff{Name: name, Problem: IndexDifferent, Fields: fields})
		}
	}
	for _, name := range dstOrder {
		if _, ok := srcBy[name]; !ok {
			diffs = append(diffs, IndexDiff{Name: name, Problem: IndexExtraOnTarget, Target: docJSON(dstBy[name])})
		}
	}
	return diffs
}

// relaxIndexInProgress accepts what clone changes on target indexes during
// a sync: unique left out, expireAfterSeconds set to the disabled value.
func relaxIndexInProgress(field string, src, dst bson.RawValue) bool {
	switch field {
	case "unique":
		b, ok := src.BooleanOK()
		return ok && b && dst.Type == 0
	case "expireAfterSeconds":
		return src.Type != 0 && isNumber(dst) && sameValue(dst, bson.RawValue{Type: bson.TypeInt32, Value: bsonInt32(disabledTTL)})
	}
	return false
}

// compareOptions compares collection (or view) options as listCollections
// reports them. With inProgress a clustered collection's expiry may be
// absent on the target (the sync restores it at finalize).
func compareOptions(src, dst bson.Raw, inProgress bool) []FieldDiff {
	var relax relaxFunc
	if inProgress {
		_, clustered := src.LookupErr("clusteredIndex")
		if clustered == nil {
			relax = func(field string, s, d bson.RawValue) bool {
				return field == "expireAfterSeconds" && s.Type != 0 && d.Type == 0
			}
		}
	}
	return compareFields("options.", src, dst, relax)
}

// sameValue reports whether two values are the same for a spec: numbers
// are compared by value whatever their BSON type (a server may report
// int32 1 where it was given 1.0 or int64 1), documents and arrays element
// by element in order, everything else byte for byte.
func sameValue(a, b bson.RawValue) bool {
	if isNumber(a) && isNumber(b) {
		return numbersEqual(a, b)
	}
	if a.Type != b.Type {
		return false
	}
	switch a.Type {
	case bson.TypeEmbeddedDocument, bson.TypeArray:
		ae, err1 := bson.Raw(a.Value).Elements()
		be, err2 := bson.Raw(b.Value).Elements()
		if err1 != nil || err2 != nil {
			return bytes.Equal(a.Value, b.Value)
		}
		if len(ae) != len(be) {
			return false
		}
		for i := range ae {
			if ae[i].Key() != be[i].Key() || !sameValue(ae[i].Value(), be[i].Value()) {
				return false
			}
		}
		return true
	}
	return bytes.Equal(a.Value, b.Value)
}

func isNumber(v bson.RawValue) bool {
	switch v.Type {
	case bson.TypeInt32, bson.TypeInt64, bson.TypeDouble, bson.TypeDecimal128:
		return true
	}
	return false
}

func numbersEqual(a, b bson.RawValue) bool {
	if a.Type == b.Type && bytes.Equal(a.Value, b.Value) {
		return true
	}
	ra, okA := numberRat(a)
	rb, okB := numberRat(b)
	if !okA || !okB {
		return false // NaN or an infinity against a different encoding
	}
	return ra.Cmp(rb) == 0
}

// numberRat converts a finite number exactly; NaN and infinities have none.
func numberRat(v bson.RawValue) (*big.Rat, bool) {
	switch v.Type {
	case bson.TypeInt32:
		return new(big.Rat).SetInt64(int64(v.Int32())), true
	case bson.TypeInt64:
		return new(big.Rat).SetInt64(v.Int64()), true
	case bson.TypeDouble:
		f := v.Double()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, false
		}
		return new(big.Rat).SetFloat64(f), true
	case bson.TypeDecimal128:
		r, ok := new(big.Rat).SetString(v.Decimal128().String())
		return r, ok
	}
	return nil, false
}

func bsonInt32(i int32) []byte {
	return []byte{byte(i), byte(i >> 8), byte(i >> 16), byte(i >> 24)}
}

// extJSON renders a value as extended JSON: canonical for _ids (the exact
// type matters when telling documents apart), relaxed for spec values.
func extJSON(v bson.RawValue, canonical bool) json.RawMessage {
	out, err := bson.MarshalExtJSON(bson.D{{Key: "v", Value: v}}, canonical, false)
	const pre, post = `{"v":`, `}`
	if err != nil || !bytes.HasPrefix(out, []byte(pre)) || !bytes.HasSuffix(out, []byte(post)) {
		quoted, _ := json.Marshal(v.String())
		return quoted
	}
	return json.RawMessage(out[len(pre) : len(out)-len(post)])
}

// docJSON renders a whole document in relaxed extended JSON.
func docJSON(d bson.Raw) json.RawMessage {
	return extJSON(bson.RawValue{Type: bson.TypeEmbeddedDocument, Value: d}, false)
}
