package bench

import (
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
)

func TestLagClockMeasuresWallTimeSinceFullyApplied(t *testing.T) {
	t0 := time.Unix(5000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	c := NewLagClock(time.Minute)
	c.Observe(at(0), bson.Timestamp{T: 100, I: 1})
	c.Observe(at(100), bson.Timestamp{T: 100, I: 5})
	c.Observe(at(200), bson.Timestamp{T: 101, I: 2})
	c.Observe(at(300), bson.Timestamp{T: 101, I: 2}) // idle source
	cases := []struct {
		applied bson.Timestamp
		want    time.Duration
	}{
		{bson.Timestamp{T: 101, I: 2}, 50 * time.Millisecond},  // caught up with the last sample
		{bson.Timestamp{T: 101, I: 9}, 50 * time.Millisecond},  // beyond it (a no-op's time)
		{bson.Timestamp{T: 101, I: 1}, 250 * time.Millisecond}, // at 100 ms all done was ≤ 100,5
		{bson.Timestamp{T: 100, I: 5}, 250 * time.Millisecond},
		{bson.Timestamp{T: 100, I: 4}, 350 * time.Millisecond},
		{bson.Timestamp{T: 99, I: 0}, 350 * time.Millisecond}, // before every sample: since the first
	}
	for _, tc := range cases {
		if got := c.Lag(at(350), tc.applied); got != tc.want {
			t.Errorf("Lag(applied %v) = %s, want %s", tc.applied, got, tc.want)
		}
	}
}

func TestLagClockNeverGoesBackAndForgetsOldSamples(t *testing.T) {
	t0 := time.Unix(5000, 0)
	c := NewLagClock(time.Second)
	c.Observe(t0, bson.Timestamp{T: 10, I: 5})
	c.Observe(t0.Add(100*time.Millisecond), bson.Timestamp{T: 10, I: 3}) // an older reply arriving late
	if got := c.Lag(t0.Add(100*time.Millisecond), bson.Timestamp{T: 10, I: 5}); got != 0 {
		t.Fatalf("lag = %s, want 0: the late sample must count as 10,5", got)
	}
	c.Observe(t0.Add(5*time.Second), bson.Timestamp{T: 15, I: 1})
	if len(c.walls) != 1 {
		t.Fatalf("%d samples kept, want only the one inside the 1 s horizon", len(c.walls))
	}
	if got := NewLagClock(time.Second).Lag(t0, bson.Timestamp{}); got != 0 {
		t.Fatalf("lag without samples = %s, want 0", got)
	}
}

func TestLagLineRoundTrip(t *testing.T) {
	s := LagSample{At: time.Unix(1700000000, 123456789), Lag: 1234567 * time.Microsecond}
	got, ok := ParseLagLine(FormatLagLine(s))
	if !ok || !got.At.Equal(s.At) || got.Lag != s.Lag {
		t.Fatalf("round trip of %+v gave %+v, %v", s, got, ok)
	}
	for _, bad := range []string{"applied 5", "lag", "lag x y", "lag 5"} {
		if _, ok := ParseLagLine(bad); ok {
			t.Errorf("ParseLagLine(%q) accepted", bad)
		}
	}
}

func TestSummariseLagPercentilesInWindow(t *testing.T) {
	t0 := time.Unix(100, 0)
	var samples []LagSample
	for i := 1; i <= 100; i++ {
		samples = append(samples, LagSample{At: t0.Add(time.Duration(i) * time.Second), Lag: time.Duration(101-i) * time.Millisecond})
	}
	samples = append(samples, LagSample{At: t0.Add(500 * time.Second), Lag: time.Hour}) // outside the window
	st := SummariseLag(samples, t0, t0.Add(101*time.Second))
	if st.Samples != 100 || st.P50 != 50*time.Millisecond || st.P99 != 99*time.Millisecond || st.Max != 100*time.Millisecond {
		t.Fatalf("summary %+v", st)
	}
	if st := SummariseLag(samples, t0.Add(1000*time.Second), t0.Add(2000*time.Second)); st.Samples != 0 || st.P99 != 0 {
		t.Fatalf("empty window summary %+v", st)
	}
}
