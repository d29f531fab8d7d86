package mongosim

import (
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/expr"
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
	"github.com/mlink-dev/mlink/mongosim/query"
)

// cmdVars is a command's let option, evaluated once before any document is
// read: find, aggregate, update, delete and findAndModify filters (through
// $expr), projections and pipelines see the variables as $$name.
type cmdVars struct {
	vars map[string]bsoncore.Value // nil when the command has no let
	doc  bsoncore.Document         // the evaluated variables as a document (nil when none)
	now  time.Time                 // $$NOW for the whole command
	ct   bsoncore.Value            // $$CLUSTER_TIME
}

// parseLet reads and evaluates the let option of cmd. Each variable is an
// aggregation expression; it may use $$NOW, $$CLUSTER_TIME and the
// variables defined before it, but no document fields.
func (s *Server) parseLet(req *request, cmd string) (*cmdVars, error) {
	cv := &cmdVars{now: time.Now(), ct: s.clock.now()}
	let, err := docArg(cmd, "let", req.arg("let"))
	if err != nil || len(let) <= 5 {
		return cv, err
	}
	elems, err := let.Elements()
	if err != nil {
		return nil, mongoerr.New(mongoerr.InvalidBSON, "invalid let: %v", err)
	}
	cv.vars = make(map[string]bsoncore.Value, len(elems))
	idx, doc := bsoncore.AppendDocumentStart(nil)
	for _, e := range elems {
		name := e.Key()
		if err := expr.ValidateVarName(name); err != nil {
			return nil, err
		}
		v := e.Value()
		if v.Type == bsoncore.TypeString && strings.HasPrefix(v.StringValue(), "$") && !strings.HasPrefix(v.StringValue(), "$$") {
			return nil, mongoerr.New(4890500, "Command let Expression tried to access a field, but this is not allowed because "+
				"command let expressions run before the query examines any documents.")
		}
		ex, err := expr.Compile(v)
		if err != nil {
			return nil, err
		}
		val, err := ex.Eval(&expr.Ctx{Root: emptyDoc, Vars: cv.vars, Now: cv.now, ClusterTime: cv.ct})
		if err != nil {
			return nil, err
		}
		if bsonkit.IsMissing(val) {
			continue // $$REMOVE: the variable stays undefined
		}
		cv.vars[name] = val
		doc = bsoncore.AppendValueElement(doc, name, val)
	}
	cv.doc, _ = bsoncore.AppendDocumentEnd(doc, idx)
	return cv, nil
}

// queryOptions are the $expr evaluation options of the command's filters.
func (cv *cmdVars) queryOptions() query.Options {
	if cv == nil {
		return query.Options{}
	}
	return query.Options{Vars: cv.vars, Now: cv.now, ClusterTime: cv.ct}
}

// compileFilterVars compiles a command's filter with its let variables.
func compileFilterVars(f bsoncore.Document, cv *cmdVars) (*compiledFilter, error) {
	m, err := query.CompileOptions(f, cv.queryOptions())
	if err != nil {
		return nil, err
	}
	return newCompiledFilter(m), nil
}

// compileProjectionVars compiles a find/findAndModify projection with the
// command's let variables; nil when the projection is empty.
func compileProjectionVars(spec bsoncore.Document, cv *cmdVars) (docProjector, error) {
	if len(spec) <= 5 {
		return nil, nil
	}
	p, err := query.CompileProjectionMode(spec, query.ModeFind, cv.queryOptions())
	if err != nil {
		return nil, err
	}
	return p, nil
}

// mergeVars is let (evaluated variables) followed by the elements of c (a
// pipeline update's per-statement constants, when it is a document).
func mergeVars(let bsoncore.Document, c bsoncore.Value) bsoncore.Document {
	if c.Type != bsoncore.TypeEmbeddedDocument || len(c.Document()) <= 5 {
		return let
	}
	if len(let) <= 5 {
		return c.Document()
	}
	idx, out := bsoncore.AppendDocumentStart(nil)
	out = append(out, let[4:len(let)-1]...)
	cd := c.Document()
	out = append(out, cd[4:len(cd)-1]...)
	out, _ = bsoncore.AppendDocumentEnd(out, idx)
	return out
}
