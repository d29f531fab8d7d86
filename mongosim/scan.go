package mongosim

import (
	"context"
	"slices"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
	"github.com/mlink-dev/mlink/mongosim/store"
)

// Query planning: an _id equality set → point lookups; an _id range or an
// {_id: ±1} sort → _id-ordered scan between the bounds; {$natural: ±1} or
// anything else → natural-order scan. Other sorts are done in memory by
// the caller over the scan's output.

type scanKind int

const (
	scanNatural scanKind = iota
	scanID
	scanIDPoints
)

type scanPlan struct {
	kind    scanKind
	reverse bool
	bounds  idBounds // scanID: the range; scanIDPoints: bounds.eq sorted
}

// planScan picks the access path for filter and sort (sort may be nil).
func planScan(f *compiledFilter, sort *sortSpec, hint bsoncore.Value) scanPlan {
	p := scanPlan{kind: scanNatural}
	natural := 0
	if sort != nil {
		natural = sort.natural
	}
	if hint.Type == bsoncore.TypeEmbeddedDocument {
		if v, err := hint.Document().LookupErr("$natural"); err == nil && bsonkit.IsNumber(v.Type) && natural == 0 {
			natural = 1
			if n, _ := bsonkit.ToFloat(v); n < 0 {
				natural = -1
			}
		}
	}
	if natural != 0 {
		p.reverse = natural < 0
		return p
	}
	if f != nil && f.hasBounds {
		if f.bounds.hasEq {
			p.kind = scanIDPoints
			pts := append([]bsoncore.Value(nil), f.bounds.eq...)
			slices.SortFunc(pts, bsonkit.Compare)
			pts = slices.CompactFunc(pts, bsonkit.Equal)
			p.bounds.eq = pts
			if sort != nil && sort.idDir < 0 {
				slices.Reverse(pts)
			}
			return p
		}
		p.kind = scanID
		p.bounds = f.bounds
	}
	if sort != nil && sort.idDir != 0 {
		p.kind = scanID
		if f != nil && f.hasBounds {
			p.bounds = f.bounds
		}
		p.reverse = sort.idDir < 0
	}
	return p
}

// scanner walks one collection along a plan, resuming after the last
// record it produced. It holds no lock itself; callers hold s.mu.
type scanner struct {
	plan    scanPlan
	started bool
	last    store.Record // last record visited (resume point)
	points  int          // next eq point (scanIDPoints)
	done    bool
	// tailable scans never finish: reaching the end only pauses them.
	tailable bool
}

// verdict is what a scan callback decides about one record.
type verdict int

const (
	take     verdict = iota // consume the record and go on
	takeStop                // consume the record, then stop
	leave                   // stop without consuming: produced again next run
)

// run calls fn for each record from the resume point on. It reports
// whether the scan reached its end.
func (sc *scanner) run(c *store.Collection, fn func(r store.Record) verdict) bool {
	if sc.done {
		return true
	}
	stopped := false
	visit := func(r store.Record) bool {
		v := fn(r)
		if v == leave {
			stopped = true
			return false
		}
		sc.started, sc.last = true, r
		if v == takeStop {
			stopped = true
			return false
		}
		return true
	}
	switch sc.plan.kind {
	case scanIDPoints:
		for sc.points < len(sc.plan.bounds.eq) {
			rid, doc, ok := c.FindByID(sc.plan.bounds.eq[sc.points])
			if ok {
				v := fn(store.Record{RID: rid, ID: doc.Lookup("_id"), Doc: doc})
				if v == leave {
					return false
				}
				if v == takeStop {
					sc.points++
					return sc.points >= len(sc.plan.bounds.eq) && sc.finish()
				}
			}
			sc.points++
		}
	case scanNatural:
		var after *store.Record
		if sc.started {
			after = &sc.last
		}
		c.ScanNatural(sc.plan.reverse, after, visit)
	case scanID:
		b := sc.plan.bounds
		var from *store.IDBound
		switch {
		case sc.started:
			from = &store.IDBound{ID: sc.last.ID}
		case !sc.plan.reverse && !bsonkit.IsMissing(b.lo):
			from = &store.IDBound{ID: b.lo, Inclusive: b.loIncl}
		case sc.plan.reverse && !bsonkit.IsMissing(b.hi):
			from = &store.IDBound{ID: b.hi, Inclusive: b.hiIncl}
		}
		// The far bound ends the scan.
		end, endIncl := b.hi, b.hiIncl
		if sc.plan.reverse {
			end, endIncl = b.lo, b.loIncl
		}
		reachedEnd := false
		c.ScanID(sc.plan.reverse, from, func(r store.Record) bool {
			if !bsonkit.IsMissing(end) {
				cmp := bsonkit.Compare(r.ID, end)
				if sc.plan.reverse {
					cmp = -cmp
				}
				if cmp > 0 || (cmp == 0 && !endIncl) {
					reachedEnd = true
					return false
				}
			}
			return visit(r)
		})
		if reachedEnd {
			sc.done = true
			return true
		}
	}
	if stopped {
		return false
	}
	return sc.finish()
}

func (sc *scanner) finish() bool {
	sc.done = !sc.tailable
	return true
}

// findSource is a cursor source over a collection scan: filter, skip and
// projection applied per batch, under the read lock for one batch only.
type findSource struct {
	srv    *Server
	st     *store.Store // the server's store, or a transaction's snapshot
	db     string
	coll   string
	uuid   [16]byte
	filter *compiledFilter
	proj   docProjector
	skip   int
	sc     scanner
}

func (fs *findSource) fill(_ context.Context, b *batch) (bool, error) {
	fs.srv.mu.RLock()
	defer fs.srv.mu.RUnlock()
	c := fs.st.Collection(fs.db, fs.coll)
	if c == nil || c.UUID != fs.uuid {
		return true, mongoerr.New(mongoerr.QueryPlanKilled, "collection dropped: %s.%s", fs.db, fs.coll)
	}
	var ferr error
	done := fs.sc.run(c, func(r store.Record) verdict {
		if b.full() {
			return leave
		}
		ok, pos, err := fs.filter.matchErr(r.Doc)
		if err != nil {
			ferr = err
			return leave
		}
		if !ok {
			return take
		}
		if fs.skip > 0 {
			fs.skip--
			return take
		}
		out := r.Doc
		if fs.proj != nil {
			var err error
			if out, err = fs.proj.Apply(r.Doc, pos); err != nil {
				ferr = err
				return leave
			}
		}
		if !b.room(len(out)) {
			return leave
		}
		b.add(out)
		return take
	})
	if ferr != nil {
		return true, ferr
	}
	return done, nil
}

// eachMatch calls fn, in plan order, for every record of c that f matches
// until fn returns false. A runtime error in the filter's $expr stops the
// scan and is returned.
func eachMatch(c *store.Collection, f *compiledFilter, plan scanPlan, fn func(store.Record) bool) error {
	var merr error
	sc := scanner{plan: plan}
	sc.run(c, func(r store.Record) verdict {
		ok, _, err := f.matchErr(r.Doc)
		switch {
		case err != nil:
			merr = err
			return leave
		case ok && !fn(r):
			return takeStop
		}
		return take
	})
	return merr
}
