package update

import (
	"math"
	"strconv"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// Arithmetic follows mongod's SafeNum: int32 op int32 widens to int64 when
// needed, int64 overflow is an error (not a double), any double makes a
// double, any decimal makes a decimal (doubles converted at 15 digits).

// arithMod is $inc and $mul.
type arithMod struct {
	op  string // "$inc" or "$mul"
	val bsoncore.Value
}

func newArith(op, field string, arg bsoncore.Value) (modifier, error) {
	if !bsonkit.IsNumber(arg.Type) {
		verb := "increment"
		if op == "$mul" {
			verb = "multiply"
		}
		return nil, mongoerr.New(mongoerr.TypeMismatch, "Cannot %s with non-numeric argument: {%s}", verb, bsonkit.FormatElem(field, arg))
	}
	return &arithMod{op: op, val: arg}, nil
}

func (m *arithMod) allowCreation() bool  { return true }
func (m *arithMod) allowNonViable() bool { return false }

func (m *arithMod) updateExisting(st *applyState, e *mval) (modResult, error) {
	if !bsonkit.IsNumber(e.typ) {
		return resNoop, mongoerr.New(mongoerr.TypeMismatch,
			"Cannot apply %s to a value of non-numeric type. {%s} has the field '%s' of non-numeric type %s",
			m.op, idString(rootOf(e)), e.name, bsonkit.TypeName(e.typ))
	}
	orig := e.value()
	var (
		res bsoncore.Value
		ok  bool
	)
	if m.op == "$inc" {
		res, ok = addNumbers(m.val, orig)
	} else {
		res, ok = mulNumbers(m.val, orig)
	}
	if ok && identicalNumbers(res, orig) {
		return resNoop, nil
	}
	if !ok {
		return resNoop, mongoerr.New(mongoerr.BadValue,
			"Failed to apply %s operations to current value (%s) for document {%s}",
			m.op, numberDebugString(orig), idString(rootOf(e)))
	}
	e.set(res)
	return resNormal, nil
}

func (m *arithMod) newValue(*applyState) (bsoncore.Value, error) {
	if m.op == "$inc" {
		return m.val, nil
	}
	// $mul on a missing field stores a zero of the argument's type.
	v, _ := mulNumbers(m.val, bsonkit.Int32(0))
	return v, nil
}

// addNumbers is SafeNum addition; ok is false on int64 overflow.
func addNumbers(a, b bsoncore.Value) (bsoncore.Value, bool) {
	switch {
	case a.Type == bsoncore.TypeDecimal128 || b.Type == bsoncore.TypeDecimal128:
		return bsonkit.DecimalOf(a).Add(bsonkit.DecimalOf(b)).Value(), true
	case a.Type == bsoncore.TypeDouble || b.Type == bsoncore.TypeDouble:
		return bsonkit.Double(asFloat(a) + asFloat(b)), true
	case a.Type == bsoncore.TypeInt32 && b.Type == bsoncore.TypeInt32:
		return intResult(int64(a.Int32()) + int64(b.Int32())), true
	}
	x, y := a.AsInt64(), b.AsInt64()
	s := x + y
	if (x > 0 && y > 0 && s < 0) || (x < 0 && y < 0 && s >= 0) {
		return bsoncore.Value{}, false
	}
	return bsonkit.Int64(s), true
}

// mulNumbers is SafeNum multiplication; ok is false on int64 overflow.
func mulNumbers(a, b bsoncore.Value) (bsoncore.Value, bool) {
	switch {
	case a.Type == bsoncore.TypeDecimal128 || b.Type == bsoncore.TypeDecimal128:
		return bsonkit.DecimalOf(a).Mul(bsonkit.DecimalOf(b)).Value(), true
	case a.Type == bsoncore.TypeDouble || b.Type == bsoncore.TypeDouble:
		return bsonkit.Double(asFloat(a) * asFloat(b)), true
	case a.Type == bsoncore.TypeInt32 && b.Type == bsoncore.TypeInt32:
		return intResult(int64(a.Int32()) * int64(b.Int32())), true
	}
	x, y := a.AsInt64(), b.AsInt64()
	if x == 0 || y == 0 {
		return bsonkit.Int64(0), true
	}
	p := x * y
	if p/y != x || (x == -1 && y == math.MinInt64) || (y == -1 && x == math.MinInt64) {
		return bsoncore.Value{}, false
	}
	return bsonkit.Int64(p), true
}

// intResult keeps an int32 result as int32 when it fits.
func intResult(n int64) bsoncore.Value {
	if n >= math.MinInt32 && n <= math.MaxInt32 {
		return bsonkit.Int32(int32(n))
	}
	return bsonkit.Int64(n)
}

func asFloat(v bsoncore.Value) float64 {
	f, _ := bsonkit.ToFloat(v)
	return f
}

// identicalNumbers is SafeNum::isIdentical: same type and same value
// (doubles by ==, so NaN never and -0 always match 0; decimals by bits).
func identicalNumbers(a, b bsoncore.Value) bool {
	if a.Type != b.Type {
		return false
	}
	switch a.Type {
	case bsoncore.TypeInt32:
		return a.Int32() == b.Int32()
	case bsoncore.TypeInt64:
		return a.Int64() == b.Int64()
	case bsoncore.TypeDouble:
		return a.Double() == b.Double()
	case bsoncore.TypeDecimal128:
		return string(a.Data) == string(b.Data)
	}
	return false
}

// numberDebugString is SafeNum::debugString.
func numberDebugString(v bsoncore.Value) string {
	switch v.Type {
	case bsoncore.TypeInt32:
		return "(NumberInt)" + strconv.FormatInt(int64(v.Int32()), 10)
	case bsoncore.TypeInt64:
		return "(NumberLong)" + strconv.FormatInt(v.Int64(), 10)
	case bsoncore.TypeDouble:
		return "(NumberDouble)" + strconv.FormatFloat(v.Double(), 'g', 6, 64)
	case bsoncore.TypeDecimal128:
		return "(NumberDecimal)" + bsonkit.FormatValue(v)
	}
	return "(EOO)"
}

// bitMod is $bit with its and/or/xor operations in argument order.
type bitMod struct {
	ops []bitOp
}

type bitOp struct {
	kind    string
	operand bsoncore.Value
}

func newBit(arg bsoncore.Value) (modifier, error) {
	if arg.Type != bsoncore.TypeEmbeddedDocument {
		return nil, mongoerr.New(mongoerr.BadValue,
			"The $bit modifier is not compatible with a %s. You must pass in an embedded document: {$bit: {field: {and/or/xor: #}}",
			bsonkit.TypeName(arg.Type))
	}
	elems, _ := arg.Document().Elements()
	m := &bitMod{}
	for _, e := range elems {
		k, v := e.Key(), e.Value()
		if k != "and" && k != "or" && k != "xor" {
			return nil, mongoerr.New(mongoerr.BadValue,
				"The $bit modifier only supports 'and', 'or', and 'xor', not '%s' which is an unknown operator: {%s}", k, bsonkit.FormatElem(k, v))
		}
		if v.Type != bsoncore.TypeInt32 && v.Type != bsoncore.TypeInt64 {
			return nil, mongoerr.New(mongoerr.BadValue,
				"The $bit modifier field must be an Integer(32/64 bit); a '%s' is not supported here: {%s}", bsonkit.TypeName(v.Type), bsonkit.FormatElem(k, v))
		}
		m.ops = append(m.ops, bitOp{kind: k, operand: v})
	}
	if len(m.ops) == 0 {
		return nil, mongoerr.New(mongoerr.BadValue,
			"You must pass in at least one bitwise operation. The format is: {$bit: {field: {and/or/xor: #}}")
	}
	return m, nil
}

func (m *bitMod) allowCreation() bool  { return true }
func (m *bitMod) allowNonViable() bool { return false }

func (m *bitMod) updateExisting(st *applyState, e *mval) (modResult, error) {
	if e.typ != bsoncore.TypeInt32 && e.typ != bsoncore.TypeInt64 {
		return resNoop, mongoerr.New(mongoerr.BadValue,
			"Cannot apply $bit to a value of non-integral type.%s has the field %s of non-integer type %s",
			idString(rootOf(e)), e.name, bsonkit.TypeName(e.typ))
	}
	orig := e.value()
	res := m.run(orig)
	if identicalNumbers(res, orig) {
		return resNoop, nil
	}
	e.set(res)
	return resNormal, nil
}

func (m *bitMod) newValue(*applyState) (bsoncore.Value, error) {
	return m.run(bsonkit.Int32(0)), nil
}

// run applies the operations; int32 with int32 stays int32, any int64
// operand widens the result to int64.
func (m *bitMod) run(v bsoncore.Value) bsoncore.Value {
	for _, op := range m.ops {
		wide := v.Type == bsoncore.TypeInt64 || op.operand.Type == bsoncore.TypeInt64
		x, y := v.AsInt64(), op.operand.AsInt64()
		var r int64
		switch op.kind {
		case "and":
			r = x & y
		case "or":
			r = x | y
		default:
			r = x ^ y
		}
		if wide {
			v = bsonkit.Int64(r)
		} else {
			v = bsonkit.Int32(int32(r))
		}
	}
	return v
}
