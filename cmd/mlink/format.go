package main

import (
	"fmt"
	"math"
	"strconv"
	"time"
)

// fmtBytes prints n in binary units: 512 B, 1.5 KiB, 2.0 GiB.
func fmtBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatInt(n, 10) + " B"
	}
	v, i := float64(n), 0
	units := []string{"KiB", "MiB", "GiB", "TiB", "PiB"}
	for v /= unit; v >= unit && i < len(units)-1; i++ {
		v /= unit
	}
	return fmt.Sprintf("%.1f %s", v, units[i])
}

// fmtCount groups thousands: 1234567 -> 1,234,567.
func fmtCount(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := n < 0
	if neg {
		s = s[1:]
	}
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}

// fmtSeconds prints a duration in seconds as 1h2m3s / 4m5s / 6s.
func fmtSeconds(s float64) string {
	if math.IsNaN(s) || math.IsInf(s, 0) {
		return "?"
	}
	return time.Duration(math.Round(s) * float64(time.Second)).String()
}

// fmtETA prints an optional ETA.
func fmtETA(eta *float64, done bool) string {
	switch {
	case done:
		return "done"
	case eta == nil:
		return "-"
	}
	return fmtSeconds(*eta)
}

// percent is done/total in %, 0 for an unknown total, at most 100.
func percent(done, total int64) float64 {
	if total <= 0 {
		return 0
	}
	return math.Min(100, 100*float64(done)/float64(total))
}
