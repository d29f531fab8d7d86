package repl

import (
	"fmt"
	"strconv"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/mlink-dev/mlink"
	"github.com/mlink-dev/mlink/mongo"
)

// translate turns a CRUD event into the idempotent writes that reproduce it
// on the target:
//
//	insert, replace → replace-with-upsert of the full document
//	update          → $set/$unset of updateDescription (plus a truncation
//	                  step, or an exact pipeline for ambiguous field names)
//	delete          → delete by documentKey
func translate(e *mlink.Event) ([]mongo.WriteOp, error) {
	switch e.Op {
	case mlink.OpInsert, mlink.OpReplace:
		doc, ok := e.Raw.Lookup("fullDocument").DocumentOK()
		if !ok {
			return nil, fmt.Errorf("%s event on %s has no fullDocument", e.Op, e.NS)
		}
		return []mongo.WriteOp{{Kind: mongo.OpUpsert, Filter: e.DocKey, Doc: doc}}, nil
	case mlink.OpDelete:
		return []mongo.WriteOp{{Kind: mongo.OpDelete, Filter: e.DocKey}}, nil
	case mlink.OpUpdate:
		ud, ok := e.Raw.Lookup("updateDescription").DocumentOK()
		if !ok {
			return nil, fmt.Errorf("update event on %s has no updateDescription", e.NS)
		}
		return translateUpdate(e.DocKey, ud)
	}
	return nil, fmt.Errorf("not a CRUD event: %s", e.Op)
}

// pathStep is one component of a field path: a field name or an array index.
type pathStep struct {
	field string
	index int
	isIdx bool
}

// fieldChange is one updated or removed path.
type fieldChange struct {
	dotted string
	steps  []pathStep // nil unless disambiguated
	value  bson.RawValue
	remove bool
}

func translateUpdate(key bson.Raw, ud bson.Raw) ([]mongo.WriteOp, error) {
	disamb, _ := ud.Lookup("disambiguatedPaths").DocumentOK()
	var changes []fieldChange
	exact := false // a path needs the pipeline form
	addPath := func(path string, v bson.RawValue, remove bool) error {
		fc := fieldChange{dotted: path, value: v, remove: remove}
		if d, err := disamb.LookupErr(path); err == nil {
			steps, err := parseSteps(d)
			if err != nil {
				return fmt.Errorf("disambiguatedPaths[%q]: %w", path, err)
			}
			fc.steps = steps
			for _, s := range steps {
				if !s.isIdx && (strings.Contains(s.field, ".") || strings.HasPrefix(s.field, "$") || s.field == "") {
					exact = true
				}
			}
		} else if strings.HasPrefix(path, "$") || strings.Contains(path, ".$") {
			// A $-prefixed field name is not ambiguous (no disambiguatedPaths
			// entry) but $set cannot address it: use the exact form.
			fc.steps = stepsOf(fc)
			exact = true
		} else if strings.Contains(path, "..") || strings.HasSuffix(path, ".") {
			return fmt.Errorf("field path %q has an empty component and no disambiguatedPaths entry (source older than 6.1?)", path)
		}
		changes = append(changes, fc)
		return nil
	}
	if uf, ok := ud.Lookup("updatedFields").DocumentOK(); ok {
		elems, _ := uf.Elements()
		for _, el := range elems {
			if err := addPath(el.Key(), el.Value(), false); err != nil {
				return nil, err
			}
		}
	}
	if rf, ok := ud.Lookup("removedFields").ArrayOK(); ok {
		vals, _ := rf.Values()
		for _, v := range vals {
			if err := addPath(v.StringValue(), bson.RawValue{}, true); err != nil {
				return nil, err
			}
		}
	}
	var truncs []truncation
	if ta, ok := ud.Lookup("truncatedArrays").ArrayOK(); ok {
		vals, _ := ta.Values()
		for _, v := range vals {
			d := v.Document()
			field, _ := d.Lookup("field").StringValueOK()
			size := mongo.AsInt(d.Lookup("newSize"))
			t := truncation{field: field, newSize: size}
			if dp, err := disamb.LookupErr(field); err == nil {
				if t.steps, err = parseSteps(dp); err != nil {
					return nil, err
				}
				exact = true
			}
			truncs = append(truncs, t)
		}
	}
	if exact {
		return []mongo.WriteOp{{Kind: mongo.OpUpdate, Filter: key, Update: pipelineUpdate(truncs, changes)}}, nil
	}
	var ops []mongo.WriteOp
	// MongoDB's delta applies truncations before element updates; a
	// separate write keeps paths like arr and arr.3 from conflicting.
	if len(truncs) > 0 {
		push := bson.D{}
		for _, t := range truncs {
			push = append(push, bson.E{Key: t.field, Value: bson.D{{Key: "$each", Value: bson.A{}}, {Key: "$slice", Value: t.newSize}}})
		}
		ops = append(ops, mongo.WriteOp{Kind: mongo.OpUpdate, Filter: key, Update: bson.D{{Key: "$push", Value: push}}})
	}
	set, unset := bson.D{}, bson.D{}
	for _, c := range changes {
		if c.remove {
			unset = append(unset, bson.E{Key: c.dotted, Value: ""})
		} else {
			set = append(set, bson.E{Key: c.dotted, Value: c.value})
		}
	}
	upd := bson.D{}
	if len(set) > 0 {
		upd = append(upd, bson.E{Key: "$set", Value: set})
	}
	if len(unset) > 0 {
		upd = append(upd, bson.E{Key: "$unset", Value: unset})
	}
	if len(upd) > 0 {
		ops = append(ops, mongo.WriteOp{Kind: mongo.OpUpdate, Filter: key, Update: upd})
	}
	return ops, nil
}

type truncation struct {
	field   string
	steps   []pathStep
	newSize int64
}

func parseSteps(v bson.RawValue) ([]pathStep, error) {
	arr, ok := v.ArrayOK()
	if !ok {
		return nil, fmt.Errorf("not an array")
	}
	vals, _ := arr.Values()
	steps := make([]pathStep, len(vals))
	for i, s := range vals {
		switch s.Type {
		case bson.TypeString:
			steps[i] = pathStep{field: s.StringValue()}
		case bson.TypeInt32, bson.TypeInt64, bson.TypeDouble:
			steps[i] = pathStep{index: int(mongo.AsInt(s)), isIdx: true}
		default:
			return nil, fmt.Errorf("unexpected path component %s", s.Type)
		}
	}
	return steps, nil
}

// stepsOf splits a dotted path that has no disambiguatedPaths entry. Such
// a path is unambiguous: its numeric components are array indexes (MongoDB
// lists a path in disambiguatedPaths when a numeric component is a field
// name or a field name contains a dot).
func stepsOf(fc fieldChange) []pathStep {
	if fc.steps != nil {
		return fc.steps
	}
	parts := strings.Split(fc.dotted, ".")
	steps := make([]pathStep, len(parts))
	for i, p := range parts {
		if n, err := strconv.Atoi(p); err == nil && n >= 0 && i > 0 {
			steps[i] = pathStep{index: n, isIdx: true}
			continue
		}
		steps[i] = pathStep{field: p}
	}
	return steps
}

// pipelineUpdate expresses the update exactly with aggregation expressions
// ($getField/$setField/$unsetField and array slicing), for field names that
// contain dots or start with '$'. Values are wrapped in $literal.
func pipelineUpdate(truncs []truncation, changes []fieldChange) bson.A {
	var stages bson.A
	for _, t := range truncs {
		steps := t.steps
		if steps == nil {
			steps = stepsOf(fieldChange{dotted: t.field})
		}
		stages = append(stages, bson.D{{Key: "$replaceWith", Value: setAt("$$ROOT", steps, func(cur any) any {
			return bson.D{{Key: "$slice", Value: bson.A{cur, t.newSize}}}
		}, false)}})
	}
	for _, c := range changes {
		val := c.value
		stages = append(stages, bson.D{{Key: "$replaceWith", Value: setAt("$$ROOT", stepsOf(c), func(any) any {
			return bson.D{{Key: "$literal", Value: val}}
		}, c.remove)}})
	}
	return stages
}

// setAt builds an expression equal to cur with the value at steps replaced
// by leaf(current value), or removed.
func setAt(cur any, steps []pathStep, leaf func(cur any) any, remove bool) any {
	s := steps[0]
	if len(steps) == 1 {
		if s.isIdx {
			if remove { // $unset of an array element leaves null in its place
				return arraySet(cur, s.index, nil)
			}
			return arraySet(cur, s.index, leaf(arrayElem(cur, s.index)))
		}
		if remove {
			return bson.D{{Key: "$unsetField", Value: bson.D{{Key: "field", Value: literalName(s.field)}, {Key: "input", Value: cur}}}}
		}
		return bson.D{{Key: "$setField", Value: bson.D{{Key: "field", Value: literalName(s.field)}, {Key: "input", Value: cur},
			{Key: "value", Value: leaf(getField(cur, s.field))}}}}
	}
	if s.isIdx {
		child := arrayElem(cur, s.index)
		return arraySet(cur, s.index, setAt(child, steps[1:], leaf, remove))
	}
	child := getField(cur, s.field)
	return bson.D{{Key: "$setField", Value: bson.D{{Key: "field", Value: literalName(s.field)}, {Key: "input", Value: cur},
		{Key: "value", Value: setAt(child, steps[1:], leaf, remove)}}}}
}

// literalName wraps a field name for $getField/$setField: names starting
// with '$' must be given through $literal.
func literalName(f string) any {
	if strings.HasPrefix(f, "$") {
		return bson.D{{Key: "$literal", Value: f}}
	}
	return f
}

func getField(cur any, f string) any {
	return bson.D{{Key: "$getField", Value: bson.D{{Key: "field", Value: literalName(f)}, {Key: "input", Value: cur}}}}
}

func arrayElem(cur any, i int) any {
	return bson.D{{Key: "$arrayElemAt", Value: bson.A{cur, i}}}
}

// arraySet replaces element i of an array (appending when i == len).
func arraySet(cur any, i int, v any) any {
	var head any = bson.A{}
	if i > 0 {
		head = bson.D{{Key: "$slice", Value: bson.A{cur, 0, i}}}
	}
	return bson.D{{Key: "$concatArrays", Value: bson.A{
		head,
		bson.A{v},
		bson.D{{Key: "$slice", Value: bson.A{cur, i + 1, int32(1 << 30)}}},
	}}}
}
