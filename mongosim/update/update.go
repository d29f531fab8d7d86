// Package update implements MongoDB's update language over raw BSON: the
// operator form ($set, $inc, $push, … with positional and array-filter
// paths), replacement documents, pipeline-style updates, the document an
// upsert inserts, and the updateDescription a change event reports.
//
// Documents are never decoded into maps: an update expands only the
// sub-documents it walks into, and every value it does not touch keeps its
// original bytes and position.
package update

import (
	"time"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// Kind is the form of an update.
type Kind int

const (
	Operators   Kind = iota // {$set: …, $inc: …}
	Replacement             // a whole new document
	Pipeline                // [{$set: …}, {$unset: …}]
)

func (k Kind) String() string {
	switch k {
	case Operators:
		return "operators"
	case Replacement:
		return "replacement"
	}
	return "pipeline"
}

// Options are the update command's per-statement options.
type Options struct {
	ArrayFilters []bsoncore.Document
	Let          bsoncore.Document // let variables for pipeline updates
}

// ApplyCtx is what one application needs from the server.
type ApplyCtx struct {
	MatchPos    int       // array index the query matched, for positional `$` (-1 if none)
	Upsert      bool      // applying to a freshly seeded upsert document ($setOnInsert applies)
	Now         time.Time // $currentDate {$type:"date"}, $$NOW
	ClusterTime [2]uint32 // $currentDate {$type:"timestamp"}, $$CLUSTER_TIME: {t, i}
}

// Update is a compiled update, safe for concurrent Apply calls.
type Update struct {
	kind        Kind
	spec        bsoncore.Value
	root        *objectNode       // Operators
	replacement bsoncore.Document // Replacement
	pipeline    *pipelineUpdate   // Pipeline
}

// Kind reports the form of the update.
func (u *Update) Kind() Kind { return u.kind }

// Compile parses an update: a document of $-operators, a replacement
// document (first field not $-prefixed, or empty), or a pipeline (array).
func Compile(spec bsoncore.Value, opts Options) (*Update, error) {
	switch spec.Type {
	case bsoncore.TypeArray:
		p, err := compilePipeline(spec.Array(), opts)
		if err != nil {
			return nil, err
		}
		return &Update{kind: Pipeline, spec: spec, pipeline: p}, nil
	case bsoncore.TypeEmbeddedDocument:
	default:
		return nil, mongoerr.New(mongoerr.FailedToParse, "Update argument must be either an object or an array")
	}
	doc := spec.Document()
	elems, err := doc.Elements()
	if err != nil {
		return nil, mongoerr.New(mongoerr.InvalidBSON, "invalid update document: %v", err)
	}
	if len(elems) == 0 || elems[0].Key() == "" || elems[0].Key()[0] != '$' {
		if len(opts.Let) > 0 {
			return nil, mongoerr.New(51198, "Constant values may only be specified for pipeline updates")
		}
		// Array filters are still parsed (and can fail) but never used.
		if _, _, err := parseArrayFilters(opts.ArrayFilters); err != nil {
			return nil, err
		}
		return &Update{kind: Replacement, spec: spec, replacement: doc}, nil
	}
	if len(opts.Let) > 0 {
		return nil, mongoerr.New(51198, "Constant values may only be specified for pipeline updates")
	}
	root, err := compileOperators(doc, elems, opts.ArrayFilters)
	if err != nil {
		return nil, err
	}
	return &Update{kind: Operators, spec: spec, root: root}, nil
}

func compileOperators(doc bsoncore.Document, elems []bsoncore.Element, rawFilters []bsoncore.Document) (*objectNode, error) {
	filters, order, err := parseArrayFilters(rawFilters)
	if err != nil {
		return nil, err
	}
	pc := &parseContext{filters: filters, found: map[string]bool{}}
	root := newObjectNode()
	for _, mod := range elems {
		op := mod.Key()
		if !knownOperators[op] {
			return nil, mongoerr.New(mongoerr.FailedToParse,
				"Unknown modifier: %s. Expected a valid update modifier or pipeline-style update specified as an array", op)
		}
		arg := mod.Value()
		if arg.Type != bsoncore.TypeEmbeddedDocument {
			return nil, mongoerr.New(mongoerr.FailedToParse,
				"Modifiers operate on fields but we found type %s instead. For example: {$mod: {<field>: ...}} not {%s}",
				bsonkit.TypeName(arg.Type), bsonkit.FormatElem(op, arg))
		}
		fields, _ := arg.Document().Elements()
		for _, f := range fields {
			if err := parseAndMerge(root, op, f.Key(), f.Value(), pc); err != nil {
				return nil, err
			}
		}
	}
	for _, id := range order {
		if !pc.found[id] {
			return nil, mongoerr.New(mongoerr.FailedToParse, "The array filter for identifier '%s' was not used in the update %s", id, bsonkit.FormatDoc(doc))
		}
	}
	return root, nil
}

// Result is the outcome of one application.
type Result struct {
	Doc     bsoncore.Document
	Changed bool // false for a no-op (MongoDB does not count it in nModified)
	// Description is the change event's updateDescription MongoDB derives
	// from the oplog entry it writes for this update; nil when the oplog
	// entry is a full replacement (the event is then a "replace").
	Description *Description
}

// Apply returns the new document and whether it differs from doc.
func (u *Update) Apply(doc bsoncore.Document, ctx ApplyCtx) (bsoncore.Document, bool, error) {
	r, err := u.apply(doc, ctx, false)
	return r.Doc, r.Changed, err
}

// ApplyDescribed is Apply that also reports the updateDescription.
func (u *Update) ApplyDescribed(doc bsoncore.Document, ctx ApplyCtx) (Result, error) {
	return u.apply(doc, ctx, true)
}

func (u *Update) apply(doc bsoncore.Document, ctx ApplyCtx, describe bool) (Result, error) {
	switch u.kind {
	case Replacement:
		out, changed, err := applyReplacement(doc, u.replacement, ctx)
		return Result{Doc: out, Changed: changed}, err
	case Pipeline:
		return u.pipeline.apply(doc, ctx, describe)
	}
	root := newRoot(doc)
	st := &applyState{ctx: ctx, insert: ctx.Upsert, matched: matchedField(ctx.MatchPos), validate: !ctx.Upsert}
	if describe && !ctx.Upsert {
		st.log = newDocDiff()
	}
	noop, err := u.root.apply(st, root)
	if err != nil {
		return Result{Doc: doc}, err
	}
	if noop {
		return Result{Doc: doc}, nil
	}
	r := Result{Doc: root.value().Data, Changed: true}
	if st.log != nil {
		d := st.log.describe()
		r.Description = &d
	}
	return r, nil
}
