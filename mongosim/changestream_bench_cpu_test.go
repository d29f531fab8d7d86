//go:build unix

package mongosim

import (
	"syscall"
	"time"
)

// benchCPU is the CPU time (user + system) of the test process: on a
// loaded machine CPU per event is steadier than wall-clock throughput.
func benchCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
