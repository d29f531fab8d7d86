package failpoint

import (
	"context"
	"math"
	"sort"
	"sync"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
)

// FailCommand is the name of the fail point that fails commands.
const FailCommand = "failCommand"

// Registry holds a server's fail points by name.
type Registry struct {
	mu          sync.Mutex
	points      map[string]*Point
	failCommand *Point // points[FailCommand], fixed at creation
}

// NewRegistry creates a registry with failCommand and the given extra
// fail point names.
func NewRegistry(names ...string) *Registry {
	fc := newPoint()
	r := &Registry{points: map[string]*Point{FailCommand: fc}, failCommand: fc}
	for _, n := range names {
		r.points[n] = newPoint()
	}
	return r
}

// FailCommandEnabled reports, without locking, whether failCommand is on:
// when it is off no command needs evaluating.
func (r *Registry) FailCommandEnabled() bool { return r.failCommand.Enabled() }

// Point returns a fail point, or nil if it does not exist.
func (r *Registry) Point(name string) *Point {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.points[name]
}

// Names lists the registered fail points.
func (r *Registry) Names() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	names := make([]string, 0, len(r.points))
	for n := range r.points {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Configure runs the configureFailPoint command and returns its reply body
// ({count: timesEntered before the change}, without ok).
func (r *Registry) Configure(cmd bsoncore.Document) (bsoncore.Document, error) {
	v, err := cmd.LookupErr("configureFailPoint")
	if err != nil || v.Type != bsoncore.TypeString {
		return nil, mongoerr.New(mongoerr.TypeMismatch, "configureFailPoint must be a string naming the fail point")
	}
	p := r.Point(v.StringValue())
	if p == nil {
		return nil, mongoerr.New(mongoerr.FailPointSetFailed, "%s not found", v.StringValue())
	}
	c, err := ParseConfig(cmd)
	if err != nil {
		return nil, err
	}
	count := p.Set(c)
	if count <= math.MaxInt32 {
		return bsonkit.D("count", bsonkit.Int32(int32(count))), nil
	}
	return bsonkit.D("count", bsonkit.Int64(count)), nil
}

// WaitForFailPoint runs the waitForFailPoint command ({waitForFailPoint:
// name, timesEntered: n, maxTimeMS: m}); ctx should carry maxTimeMS. It
// fails with MaxTimeMSExpired when ctx's deadline passes first.
func (r *Registry) WaitForFailPoint(ctx context.Context, cmd bsoncore.Document) error {
	v, err := cmd.LookupErr("waitForFailPoint")
	if err != nil || v.Type != bsoncore.TypeString {
		return mongoerr.New(mongoerr.TypeMismatch, "waitForFailPoint must be a string naming the fail point")
	}
	p := r.Point(v.StringValue())
	if p == nil {
		return mongoerr.New(mongoerr.NoSuchKey, "Failpoint %s does not exist", v.StringValue())
	}
	te, err := cmd.LookupErr("timesEntered")
	n, ok := integer(te)
	if err != nil || !ok {
		return mongoerr.MissingField("waitForFailPoint.timesEntered")
	}
	if _, err := cmd.LookupErr("maxTimeMS"); err != nil {
		return mongoerr.MissingField("waitForFailPoint.maxTimeMS")
	}
	if err := p.WaitForTimesEntered(ctx, n); err != nil {
		return mongoerr.New(mongoerr.MaxTimeMSExpired, "operation exceeded time limit")
	}
	return nil
}
