//go:build unix

package mongosim

import (
	"syscall"
	"time"
)

// processCPU is the CPU time (user + system) the test process has used:
// on a shared, loaded machine CPU per document is a steadier measure than
// wall-clock throughput.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
