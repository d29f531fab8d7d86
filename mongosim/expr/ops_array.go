package expr

import (
	"sort"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
)

func init() {
	registerNary(0, -1, evalConcatArrays, "$concatArrays")
	registerNary(1, 1, evalSize, "$size")
	registerNary(2, 2, evalArrayElemAt, "$arrayElemAt")
	registerNary(1, 1, evalFirstLast, "$first", "$last")
	registerNary(2, 3, evalSlice, "$slice")
	registerNary(2, 2, evalIn, "$in")
	registerNary(1, 1, func(_ string, v []bsoncore.Value) (bsoncore.Value, error) {
		return boolValue(v[0].Type == bsoncore.TypeArray), nil
	}, "$isArray")
	registerNary(2, 4, evalIndexOfArray, "$indexOfArray")
	registerNary(2, 3, evalRange, "$range")
	registerNary(1, 1, evalReverseArray, "$reverseArray")
	registerNary(0, -1, evalSetUnion, "$setUnion")
	registerNary(1, -1, evalSetIntersection, "$setIntersection")
	registerNary(2, 2, evalSetDifference, "$setDifference")
	registerNary(2, -1, evalSetEquals, "$setEquals")
	registerNary(2, 2, evalSetIsSubset, "$setIsSubset")
	registerNary(1, 1, evalAnyAllTrue, "$anyElementTrue", "$allElementsTrue")
	registerNary(0, -1, evalMinMaxSumAvg, "$max", "$min", "$sum", "$avg")
}

func evalConcatArrays(name string, vals []bsoncore.Value) (bsoncore.Value, error) {
	var out []bsoncore.Value
	for _, v := range vals {
		if nullish(v) {
			return bsonkit.Null(), nil
		}
		if v.Type != bsoncore.TypeArray {
			return bsonkit.Missing, mongoerr.New(28664, "$concatArrays only supports arrays, not %s", TypeName(v.Type))
		}
		out = append(out, arrayValues(v)...)
	}
	return bsonkit.Array(out...), nil
}

func evalSize(name string, vals []bsoncore.Value) (bsoncore.Value, error) {
	v := vals[0]
	if v.Type != bsoncore.TypeArray {
		return bsonkit.Missing, mongoerr.New(17124, "The argument to $size must be an array, but was of type: %s", TypeName(v.Type))
	}
	return bsonkit.Int32(int32(len(arrayValues(v)))), nil
}

func arrayElemAt(name string, arity int, arr, idx bsoncore.Value) (bsoncore.Value, error) {
	if nullish(arr) || nullish(idx) {
		return bsonkit.Null(), nil
	}
	if arr.Type != bsoncore.TypeArray {
		which := "first argument"
		if arity == 1 {
			which = "argument"
		}
		return bsonkit.Missing, mongoerr.New(28689, "%s's %s must be an array, but is %s", name, which, TypeName(arr.Type))
	}
	if !isNumber(idx) {
		return bsonkit.Missing, mongoerr.New(28690, "%s's second argument must be a numeric value, but is %s", name, TypeName(idx.Type))
	}
	i, ok := asInt32(idx)
	if !ok {
		return bsonkit.Missing, mongoerr.New(28691, "%s's second argument must be representable as a 32-bit integer: %s",
			name, formatDouble(toFloat(idx)))
	}
	elems := arrayValues(arr)
	n := int(i)
	if n < 0 {
		n += len(elems)
	}
	if n < 0 || n >= len(elems) {
		return bsonkit.Missing, nil
	}
	return elems[n], nil
}

func evalArrayElemAt(name string, vals []bsoncore.Value) (bsoncore.Value, error) {
	return arrayElemAt(name, 2, vals[0], vals[1])
}

func evalFirstLast(name string, vals []bsoncore.Value) (bsoncore.Value, error) {
	idx := bsonkit.Int32(0)
	if name == "$last" {
		idx = bsonkit.Int32(-1)
	}
	return arrayElemAt(name, 1, vals[0], idx)
}

func evalSlice(name string, vals []bsoncore.Value) (bsoncore.Value, error) {
	arr, arg2 := vals[0], vals[1]
	if nullish(arr) || nullish(arg2) {
		return bsonkit.Null(), nil
	}
	if arr.Type != bsoncore.TypeArray {
		return bsonkit.Missing, mongoerr.New(28724, "First argument to $slice must be an array, but is of type: %s", TypeName(arr.Type))
	}
	if !isNumber(arg2) {
		return bsonkit.Missing, mongoerr.New(28725, "Second argument to $slice must be a numeric value, but is of type: %s", TypeName(arg2.Type))
	}
	n2, ok := asInt32(arg2)
	if !ok {
		return bsonkit.Missing, mongoerr.New(28726, "Second argument to $slice can't be represented as a 32-bit integer: %s", formatDouble(toFloat(arg2)))
	}
	elems := arrayValues(arr)
	size := len(elems)
	var start, end int
	if len(vals) == 2 {
		count := int(n2)
		end = size
		if count >= 0 {
			end = min(size, count)
		} else {
			start = max(0, size+count)
		}
	} else {
		s := int(n2)
		if s < 0 {
			start = max(0, size+s)
		} else {
			start = min(size, s)
		}
		cv := vals[2]
		if nullish(cv) {
			return bsonkit.Null(), nil
		}
		if !isNumber(cv) {
			return bsonkit.Missing, mongoerr.New(28727, "Third argument to $slice must be numeric, but is of type: %s", TypeName(cv.Type))
		}
		c, ok := asInt32(cv)
		if !ok {
			return bsonkit.Missing, mongoerr.New(28728, "Third argument to $slice can't be represented as a 32-bit integer: %s", formatDouble(toFloat(cv)))
		}
		if c <= 0 {
			return bsonkit.Missing, mongoerr.New(28729, "Third argument to $slice must be positive: %d", c)
		}
		end = min(start+int(c), size)
	}
	return bsonkit.Array(elems[start:end]...), nil
}

func evalIn(name string, vals []bsoncore.Value) (bsoncore.Value, error) {
	if vals[1].Type != bsoncore.TypeArray {
		return bsonkit.Missing, mongoerr.New(40081, "$in requires an array as a second argument, found: %s", TypeName(vals[1].Type))
	}
	for _, e := range arrayValues(vals[1]) {
		if bsonkit.Compare(vals[0], e) == 0 {
			return boolValue(true), nil
		}
	}
	return boolValue(false), nil
}

func evalIndexOfArray(name string, vals []bsoncore.Value) (bsoncore.Value, error) {
	arr := vals[0]
	if nullish(arr) {
		return bsonkit.Null(), nil
	}
	if arr.Type != bsoncore.TypeArray {
		return bsonkit.Missing, mongoerr.New(40090, "$indexOfArray requires an array as a first argument, found: %s", TypeName(arr.Type))
	}
	elems := arrayValues(arr)
	start, end := 0, len(elems)
	if len(vals) > 2 {
		n, err := nonNegativeIndex(name, "starting index", vals[2])
		if err != nil {
			return bsonkit.Missing, err
		}
		start = n
	}
	if len(vals) > 3 {
		n, err := nonNegativeIndex(name, "ending index", vals[3])
		if err != nil {
			return bsonkit.Missing, err
		}
		end = min(end, n)
	}
	for i := start; i < end; i++ {
		if bsonkit.Compare(elems[i], vals[1]) == 0 {
			return bsonkit.Int32(int32(i)), nil
		}
	}
	return bsonkit.Int32(-1), nil
}

func nonNegativeIndex(name, what string, v bsoncore.Value) (int, error) {
	n, ok := asInt32(v)
	if !ok {
		// MongoDB's message really has no space after the operator name.
		return 0, mongoerr.New(40096, "%srequires an integral %s, found a value of type: %s, with value: %s",
			name, what, TypeName(v.Type), ValueString(v))
	}
	if n < 0 {
		return 0, mongoerr.New(40097, "%s requires a nonnegative %s, found: %d", name, what, n)
	}
	return int(n), nil
}

func evalRange(name string, vals []bsoncore.Value) (bsoncore.Value, error) {
	startV, endV := vals[0], vals[1]
	if !isNumber(startV) {
		return bsonkit.Missing, mongoerr.New(34443, "$range requires a numeric starting value, found value of type: %s", TypeName(startV.Type))
	}
	start, ok := asInt32(startV)
	if !ok {
		return bsonkit.Missing, mongoerr.New(34444, "$range requires a starting value that can be represented as a 32-bit integer, found value: %s", ValueString(startV))
	}
	if !isNumber(endV) {
		return bsonkit.Missing, mongoerr.New(34445, "$range requires a numeric ending value, found value of type: %s", TypeName(endV.Type))
	}
	end, ok := asInt32(endV)
	if !ok {
		return bsonkit.Missing, mongoerr.New(34446, "$range requires an ending value that can be represented as a 32-bit integer, found value: %s", ValueString(endV))
	}
	step := int64(1)
	if len(vals) == 3 {
		sv := vals[2]
		if !isNumber(sv) {
			return bsonkit.Missing, mongoerr.New(34447, "$range requires a numeric step value, found value of type:%s", TypeName(sv.Type))
		}
		s, ok := asInt32(sv)
		if !ok {
			return bsonkit.Missing, mongoerr.New(34448, "$range requires a step value that can be represented as a 32-bit integer, found value: %s", ValueString(sv))
		}
		if s == 0 {
			return bsonkit.Missing, mongoerr.New(34449, "$range requires a non-zero step value")
		}
		step = int64(s)
	}
	cur, stop := int64(start), int64(end)
	if steps := (stop - cur) / step; steps > 64<<20 {
		return bsonkit.Missing, mongoerr.New(mongoerr.ExceededMemoryLimit,
			"$range would use too much memory (%d bytes) and cannot spill to disk. Memory limit: %d bytes",
			(steps+1)*8, 64<<20)
	}
	var out []bsoncore.Value
	for (step > 0 && cur < stop) || (step < 0 && cur > stop) {
		out = append(out, bsonkit.Int32(int32(cur)))
		cur += step
	}
	return bsonkit.Array(out...), nil
}

func evalReverseArray(name string, vals []bsoncore.Value) (bsoncore.Value, error) {
	v := vals[0]
	if nullish(v) {
		return bsonkit.Null(), nil
	}
	if v.Type != bsoncore.TypeArray {
		return bsonkit.Missing, mongoerr.New(34435, "The argument to $reverseArray must be an array, but was of type: %s", TypeName(v.Type))
	}
	elems := arrayValues(v)
	out := make([]bsoncore.Value, len(elems))
	for i, e := range elems {
		out[len(elems)-1-i] = e
	}
	return bsonkit.Array(out...), nil
}

// valueSet is a sorted set of values in MongoDB's comparison order.
type valueSet []bsoncore.Value

func (s valueSet) find(v bsoncore.Value) (int, bool) {
	i := sort.Search(len(s), func(i int) bool { return bsonkit.Compare(s[i], v) >= 0 })
	return i, i < len(s) && bsonkit.Compare(s[i], v) == 0
}

func (s *valueSet) insert(v bsoncore.Value) bool {
	i, found := s.find(v)
	if found {
		return false
	}
	*s = append(*s, bsoncore.Value{})
	copy((*s)[i+1:], (*s)[i:])
	(*s)[i] = v
	return true
}

func (s valueSet) has(v bsoncore.Value) bool {
	_, ok := s.find(v)
	return ok
}

func toSet(v bsoncore.Value) valueSet {
	var s valueSet
	for _, e := range arrayValues(v) {
		s.insert(e)
	}
	return s
}

func evalSetUnion(name string, vals []bsoncore.Value) (bsoncore.Value, error) {
	var s valueSet
	for _, v := range vals {
		if nullish(v) {
			return bsonkit.Null(), nil
		}
		if v.Type != bsoncore.TypeArray {
			return bsonkit.Missing, mongoerr.New(17043, "All operands of $setUnion must be arrays. One argument is of type: %s", TypeName(v.Type))
		}
		for _, e := range arrayValues(v) {
			s.insert(e)
		}
	}
	return bsonkit.Array(s...), nil
}

func evalSetIntersection(name string, vals []bsoncore.Value) (bsoncore.Value, error) {
	var cur valueSet
	for i, v := range vals {
		if nullish(v) {
			return bsonkit.Null(), nil
		}
		if v.Type != bsoncore.TypeArray {
			return bsonkit.Missing, mongoerr.New(17047, "All operands of $setIntersection must be arrays. One argument is of type: %s", TypeName(v.Type))
		}
		next := toSet(v)
		if i == 0 {
			cur = next
			continue
		}
		var kept valueSet
		for _, e := range cur {
			if next.has(e) {
				kept = append(kept, e)
			}
		}
		cur = kept
	}
	return bsonkit.Array(cur...), nil
}

func evalSetDifference(name string, vals []bsoncore.Value) (bsoncore.Value, error) {
	a, b := vals[0], vals[1]
	if nullish(a) || nullish(b) {
		return bsonkit.Null(), nil
	}
	if a.Type != bsoncore.TypeArray {
		return bsonkit.Missing, mongoerr.New(17048, "both operands of $setDifference must be arrays. First argument is of type: %s", TypeName(a.Type))
	}
	if b.Type != bsoncore.TypeArray {
		return bsonkit.Missing, mongoerr.New(17049, "both operands of $setDifference must be arrays. Second argument is of type: %s", TypeName(b.Type))
	}
	seen := toSet(b)
	var out []bsoncore.Value
	for _, e := range arrayValues(a) {
		if seen.insert(e) {
			out = append(out, e)
		}
	}
	return bsonkit.Array(out...), nil
}

func evalSetEquals(name string, vals []bsoncore.Value) (bsoncore.Value, error) {
	var first valueSet
	for i, v := range vals {
		if v.Type != bsoncore.TypeArray {
			return bsonkit.Missing, mongoerr.New(17044, "All operands of $setEquals must be arrays. %d-th argument is of type: %s", i+1, TypeName(v.Type))
		}
		s := toSet(v)
		if i == 0 {
			first = s
			continue
		}
		if len(s) != len(first) {
			return boolValue(false), nil
		}
		for _, e := range s {
			if !first.has(e) {
				return boolValue(false), nil
			}
		}
	}
	return boolValue(true), nil
}

func evalSetIsSubset(name string, vals []bsoncore.Value) (bsoncore.Value, error) {
	a, b := vals[0], vals[1]
	if a.Type != bsoncore.TypeArray {
		return bsonkit.Missing, mongoerr.New(17046, "both operands of $setIsSubset must be arrays. First argument is of type: %s", TypeName(a.Type))
	}
	if b.Type != bsoncore.TypeArray {
		return bsonkit.Missing, mongoerr.New(17042, "both operands of $setIsSubset must be arrays. Second argument is of type: %s", TypeName(b.Type))
	}
	set := toSet(b)
	for _, e := range arrayValues(a) {
		if !set.has(e) {
			return boolValue(false), nil
		}
	}
	return boolValue(true), nil
}

func evalAnyAllTrue(name string, vals []bsoncore.Value) (bsoncore.Value, error) {
	v := vals[0]
	if v.Type != bsoncore.TypeArray {
		return bsonkit.Missing, mongoerr.New(17040, "%s's argument must be an array, but is %s", name, TypeName(v.Type))
	}
	any := name == "$anyElementTrue"
	for _, e := range arrayValues(v) {
		if bsonkit.Truthy(e) == any {
			return boolValue(any), nil
		}
	}
	return boolValue(!any), nil
}

// evalMinMaxSumAvg implements the expression forms of $max/$min/$sum/$avg:
// one array argument is reduced over its elements, several arguments over
// the arguments themselves.
func evalMinMaxSumAvg(name string, vals []bsoncore.Value) (bsoncore.Value, error) {
	items := vals
	if len(vals) == 1 && vals[0].Type == bsoncore.TypeArray {
		items = arrayValues(vals[0])
	}
	switch name {
	case "$sum", "$avg":
		var s Summer
		for _, v := range items {
			if isNumber(v) {
				s.Add(v)
			}
		}
		if name == "$avg" {
			return s.Avg(), nil
		}
		return s.Result(), nil
	}
	best := bsonkit.Missing
	for _, v := range items {
		if nullish(v) {
			continue
		}
		if best.Type == 0 {
			best = v
			continue
		}
		c := bsonkit.Compare(v, best)
		if (name == "$max" && c > 0) || (name == "$min" && c < 0) {
			best = v
		}
	}
	if best.Type == 0 {
		return bsonkit.Null(), nil
	}
	return best, nil
}
