// Package failpoint is mongod's fail point machinery as its test commands
// expose it: configureFailPoint modes (off, alwaysOn, {times}, {skip},
// {activationProbability}) with a data document, timesEntered counting,
// waitForFailPoint, and the failCommand fail point's matcher, which decides
// per command whether to block, close the connection, fail with an error
// (and which error labels), or add a writeConcernError.
package failpoint

import (
	"context"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/mongoerr"
)

// Mode is when an enabled fail point fires.
type Mode int

const (
	Off      Mode = iota
	AlwaysOn      // every evaluation
	Times         // the next n evaluations, then off
	Skip          // after the first n evaluations, every evaluation
	Random        // with a probability
)

// Config is a parsed configureFailPoint request.
type Config struct {
	Mode        Mode
	N           int64   // Times / Skip count
	Probability float64 // Random
	Data        bsoncore.Document
}

// ParseConfig reads the mode and data fields of a configureFailPoint
// command, with mongod's error codes and messages.
func ParseConfig(cmd bsoncore.Document) (Config, error) {
	var c Config
	mode, err := cmd.LookupErr("mode")
	if err != nil {
		return c, mongoerr.New(mongoerr.IllegalOperation, "When setting a failpoint, you must supply a 'mode'")
	}
	switch mode.Type {
	case bsoncore.TypeString:
		switch s := mode.StringValue(); s {
		case "off":
			c.Mode = Off
		case "alwaysOn":
			c.Mode = AlwaysOn
		default:
			return c, mongoerr.New(mongoerr.BadValue, "unknown mode: %s", s)
		}
	case bsoncore.TypeEmbeddedDocument:
		m := mode.Document()
		if v, err := m.LookupErr("times"); err == nil {
			n, err := countOption("times", v)
			if err != nil {
				return c, err
			}
			c.Mode, c.N = Times, n
		} else if v, err := m.LookupErr("skip"); err == nil {
			n, err := countOption("skip", v)
			if err != nil {
				return c, err
			}
			c.Mode, c.N = Skip, n
		} else if v, err := m.LookupErr("activationProbability"); err == nil {
			p, ok := number(v)
			if !ok {
				return c, mongoerr.New(mongoerr.TypeMismatch, "the 'activationProbability' option to 'mode' must be a double between 0 and 1")
			}
			if p < 0 || p > 1 || math.IsNaN(p) {
				return c, mongoerr.New(mongoerr.BadValue, "activationProbability must be between 0.0 and 1.0; found %v", p)
			}
			c.Mode, c.Probability = Random, p
		} else {
			return c, mongoerr.New(mongoerr.BadValue, "'mode' must be one of 'off', 'alwaysOn', '{times:n}', '{skip:n}' or '{activationProbability:p}'")
		}
	default:
		return c, mongoerr.New(mongoerr.TypeMismatch, "'mode' must be a string or JSON object")
	}
	if v, err := cmd.LookupErr("data"); err == nil {
		if v.Type != bsoncore.TypeEmbeddedDocument && v.Type != bsoncore.TypeArray {
			return c, mongoerr.New(mongoerr.TypeMismatch, "the 'data' option must be a JSON object")
		}
		c.Data = append(bsoncore.Document(nil), v.Data...)
	}
	return c, nil
}

func countOption(name string, v bsoncore.Value) (int64, error) {
	n, ok := integer(v)
	if !ok {
		if _, isNum := number(v); isNum {
			return 0, mongoerr.New(mongoerr.BadValue,
				"Expected field \"%s\" to have a value exactly representable as a 64-bit integer, but found %s: %v", name, name, v.Double())
		}
		return 0, mongoerr.New(mongoerr.TypeMismatch, "Expected field \"%s\" to have numeric type, but found %s", name, typeName(v.Type))
	}
	if n < 0 {
		return 0, mongoerr.New(mongoerr.BadValue, "'%s' option to 'mode' must be positive", name)
	}
	if n > math.MaxInt32 {
		return 0, mongoerr.New(mongoerr.BadValue, "'%s' option to 'mode' is too large", name)
	}
	return n, nil
}

// integer reads a whole number of any numeric type.
func integer(v bsoncore.Value) (int64, bool) {
	switch v.Type {
	case bsoncore.TypeInt32, bsoncore.TypeInt64:
		return v.AsInt64(), true
	case bsoncore.TypeDouble:
		f := v.Double()
		if f != math.Trunc(f) || math.IsInf(f, 0) || math.IsNaN(f) {
			return 0, false
		}
		return int64(f), true
	}
	return 0, false
}

func number(v bsoncore.Value) (float64, bool) {
	switch v.Type {
	case bsoncore.TypeInt32, bsoncore.TypeInt64:
		return float64(v.AsInt64()), true
	case bsoncore.TypeDouble:
		return v.Double(), true
	}
	return 0, false
}

// Point is one fail point. It is safe for concurrent use.
type Point struct {
	// on mirrors cfg.Mode != Off for a lock-free check on every command.
	on atomic.Bool

	mu           sync.Mutex
	cfg          Config
	remaining    int64 // Times / Skip counter
	timesEntered int64
	entered      chan struct{} // closed and replaced whenever timesEntered grows
	random       func() float64
}

func newPoint() *Point {
	return &Point{entered: make(chan struct{}), random: rand.Float64}
}

// Set applies a configuration and returns how many times the point had
// fired so far (configureFailPoint's "count").
func (p *Point) Set(c Config) int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cfg = c
	p.on.Store(c.Mode != Off)
	p.remaining = c.N
	return p.timesEntered
}

// Enabled reports, without locking, whether the point may fire (its mode
// is not off). Callers use it to skip evaluation on the hot path.
func (p *Point) Enabled() bool { return p.on.Load() }

// Config returns the current configuration.
func (p *Point) Config() Config {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cfg
}

// TimesEntered is how often the point has fired.
func (p *Point) TimesEntered() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.timesEntered
}

// Evaluate decides whether the point fires. match sees the data first; a
// rejected evaluation consumes neither a {times} nor a {skip} count, as in
// mongod. On firing, the data document is returned.
func (p *Point) Evaluate(match func(data bsoncore.Document) bool) (bsoncore.Document, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cfg.Mode == Off {
		return nil, false
	}
	if match != nil && !match(p.cfg.Data) {
		return nil, false
	}
	switch p.cfg.Mode {
	case Times:
		p.remaining--
		if p.remaining <= 0 {
			p.cfg.Mode = Off
			p.on.Store(false)
		}
	case Skip:
		if p.remaining > 0 {
			p.remaining--
			return nil, false
		}
	case Random:
		if p.random() >= p.cfg.Probability {
			return nil, false
		}
	}
	p.timesEntered++
	close(p.entered)
	p.entered = make(chan struct{})
	return p.cfg.Data, true
}

// WaitForTimesEntered blocks until the point has fired at least n times
// in total, or ctx ends (waitForFailPoint).
func (p *Point) WaitForTimesEntered(ctx context.Context, n int64) error {
	for {
		p.mu.Lock()
		got, ch := p.timesEntered, p.entered
		p.mu.Unlock()
		if got >= n {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func typeName(t bsoncore.Type) string {
	switch t {
	case bsoncore.TypeString:
		return "string"
	case bsoncore.TypeEmbeddedDocument:
		return "object"
	case bsoncore.TypeArray:
		return "array"
	case bsoncore.TypeBoolean:
		return "bool"
	case bsoncore.TypeNull:
		return "null"
	}
	return t.String()
}
