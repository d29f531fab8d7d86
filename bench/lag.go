package bench

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// LagClock turns an applied cluster time into a lag in wall time. It keeps
// samples of the source's cluster time taken at known wall times; the lag
// at now of an applier that has applied everything up to A is now − w,
// where w is the wall time of the latest sample whose cluster time is ≤ A:
// everything the source had done at w is applied, and something it did
// after may not be. With samples every 100 ms the lag is exact to 100 ms,
// and never under-reported. (Cluster times count seconds, so comparing
// seconds alone would only measure whole seconds.)
type LagClock struct {
	mu      sync.Mutex
	walls   []time.Time
	times   []bson.Timestamp
	horizon time.Duration
}

// NewLagClock keeps samples for horizon (older ones are dropped; a lag
// beyond it is reported as at least horizon).
func NewLagClock(horizon time.Duration) *LagClock { return &LagClock{horizon: horizon} }

// Observe records that the source's cluster time was t at wall time w.
// Samples must come in wall-time order.
func (c *LagClock) Observe(w time.Time, t bson.Timestamp) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n := len(c.times); n > 0 && t.Before(c.times[n-1]) {
		t = c.times[n-1] // a reply raced an older one: cluster time never goes back
	}
	c.walls = append(c.walls, w)
	c.times = append(c.times, t)
	drop := 0
	for drop < len(c.walls)-1 && w.Sub(c.walls[drop]) > c.horizon {
		drop++
	}
	if drop > 0 {
		c.walls = append(c.walls[:0], c.walls[drop:]...)
		c.times = append(c.times[:0], c.times[drop:]...)
	}
}

// Lag reports how far behind an applier at applied is at now.
func (c *LagClock) Lag(now time.Time, applied bson.Timestamp) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.times) == 0 {
		return 0
	}
	// First sample whose cluster time is beyond applied; the one before it
	// is the latest fully applied.
	i := sort.Search(len(c.times), func(i int) bool { return applied.Before(c.times[i]) })
	if i == 0 {
		return max(0, now.Sub(c.walls[0]))
	}
	return max(0, now.Sub(c.walls[i-1]))
}

// LagSample is one lag measurement.
type LagSample struct {
	At  time.Time
	Lag time.Duration
}

// FormatLagLine is how mlinkrepl prints a sample: "lag <unix ns> <ns>".
func FormatLagLine(s LagSample) string {
	return fmt.Sprintf("lag %d %d", s.At.UnixNano(), s.Lag.Nanoseconds())
}

// ParseLagLine reads a line printed by FormatLagLine.
func ParseLagLine(line string) (LagSample, bool) {
	rest, ok := strings.CutPrefix(line, "lag ")
	if !ok {
		return LagSample{}, false
	}
	var at, lag int64
	if n, err := fmt.Sscanf(rest, "%d %d", &at, &lag); err != nil || n != 2 {
		return LagSample{}, false
	}
	return LagSample{At: time.Unix(0, at), Lag: time.Duration(lag)}, true
}

// LagStats summarises the samples of one step.
type LagStats struct {
	Samples       int
	P50, P99, Max time.Duration
}

// SummariseLag computes percentiles (nearest rank) of the samples taken in
// [from, to).
func SummariseLag(samples []LagSample, from, to time.Time) LagStats {
	var lags []time.Duration
	for _, s := range samples {
		if !s.At.Before(from) && s.At.Before(to) {
			lags = append(lags, s.Lag)
		}
	}
	st := LagStats{Samples: len(lags)}
	if len(lags) == 0 {
		return st
	}
	sort.Slice(lags, func(i, j int) bool { return lags[i] < lags[j] })
	rank := func(p float64) time.Duration {
		k := int(math.Ceil(p*float64(len(lags)))) - 1
		return lags[max(0, min(k, len(lags)-1))]
	}
	st.P50, st.P99, st.Max = rank(0.50), rank(0.99), lags[len(lags)-1]
	return st
}
