package verify

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	driver "go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/mlink-dev/mlink/mongo"
	"github.com/mlink-dev/mlink/mongosim/simtest"
)

// TestVerifyMemoryIsBounded verifies 4× more data with the same options and
// expects the same memory: the verifier streams, keeps a fixed number of
// ranges in flight and holds nothing per document. Two shapes: one range
// read in cursor batches, and many ranges read by parallel workers.
//
// How it measures: the servers run in a separate mongosim process, so this
// process's heap is the verifier's and the driver's alone. The live heap is
// read after every GC (GOGC=5, so growth cannot hide between cycles) and
// taken relative to its level before the run. The peak of a noisy reading
// rises with the number of readings, so peaks are compared over equal
// amounts of work: the small run's peak against the median of the peaks of
// the large run's four quarters (a per-document leak lifts the later
// quarters, and so that median, by about 2-3×).
func TestVerifyMemoryIsBounded(t *testing.T) {
	const small, large = 20_000, 80_000
	shapes := []struct {
		name       string
		opts       Options
		batchBytes int64
		minRanges  func(n int) int
	}{
		// The production batch size, all documents in one range.
		{"one range", Options{PartitionBytes: 1 << 30, Parallel: 1}, scanBatchBytes, func(int) int { return 1 }},
		// Production ranges (16 MB) stream in 2 MB batches; scaled down,
		// 512 KB ranges in 128 KB batches: the small set makes about 14
		// ranges, enough to keep the 4 workers busy.
		{"many ranges", Options{PartitionBytes: 512 << 10, Parallel: 4}, 128 << 10, func(n int) int { return n / 2000 }},
	}
	bin := buildMongosim(t)
	defaultBatch := scanBatchBytes
	t.Cleanup(func() { scanBatchBytes = defaultBatch })
	readings := map[string]map[int][][]uint64{} // shape → size → runs → per-GC growth
	for _, n := range []int{small, large} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			src, dst := loadExternalPair(t, bin, n)
			for _, sh := range shapes {
				if readings[sh.name] == nil {
					readings[sh.name] = map[int][][]uint64{}
				}
				scanBatchBytes = sh.batchBytes
				readings[sh.name][n] = verifyHeapReadings(t, src, dst, n, sh.opts, sh.minRanges(n))
			}
		})
	}
	if t.Failed() {
		return
	}
	for _, sh := range shapes {
		sp := medianRun(readings[sh.name][small], 1)
		lp := medianRun(readings[sh.name][large], large/small)
		t.Logf("%s: peak live heap growth: %d docs %.2f MB; %d docs %.2f MB per %d docs of work",
			sh.name, small, mb(sp), large, mb(lp), small)
		if float64(lp) > 1.2*float64(sp) {
			t.Errorf("%s: memory grows with data: %.2f MB for %d docs vs %.2f MB for %d docs (limit +20%%)",
				sh.name, mb(lp), large, mb(sp), small)
		}
	}
}

// medianRun splits each run's readings into parts equal slices, takes each
// slice's peak and the median of those, then the median over the runs.
func medianRun(runs [][]uint64, parts int) uint64 {
	var perRun []uint64
	for _, r := range runs {
		var peaks []uint64
		for i := range parts {
			slice := r[i*len(r)/parts : (i+1)*len(r)/parts]
			if len(slice) > 0 {
				peaks = append(peaks, slices.Max(slice))
			}
		}
		perRun = append(perRun, median(peaks))
	}
	return median(perRun)
}

func median(v []uint64) uint64 {
	v = slices.Clone(v)
	slices.Sort(v)
	return v[len(v)/2]
}

func mb(b uint64) float64 { return float64(b) / (1 << 20) }

// buildMongosim builds cmd/mongosim into a temporary directory.
func buildMongosim(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
		if _, statErr := os.Stat(goTool); statErr != nil {
			t.Skipf("no go toolchain to build cmd/mongosim: %v", err)
		}
	}
	bin := filepath.Join(t.TempDir(), "mongosim")
	out, err := exec.Command(goTool, "build", "-o", bin, "github.com/mlink-dev/mlink/cmd/mongosim").CombinedOutput()
	if err != nil {
		t.Fatalf("build cmd/mongosim: %v\n%s", err, out)
	}
	return bin
}

// startExternalPair runs a mongosim process serving two servers and
// returns their URIs; the process is stopped when the test ends.
func startExternalPair(t *testing.T, bin string) (string, string) {
	t.Helper()
	cmd := exec.Command(bin, "--port", "0", "--port", "0")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start mongosim: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	})
	uris := make(chan []string, 1)
	go func() {
		var got []string
		sc := bufio.NewScanner(stdout)
		for len(got) < 2 && sc.Scan() {
			if line := strings.TrimSpace(sc.Text()); strings.HasPrefix(line, "mongodb://") {
				got = append(got, line)
			}
		}
		uris <- got
	}()
	select {
	case got := <-uris:
		if len(got) != 2 {
			t.Fatalf("mongosim printed %d URIs, want 2", len(got))
		}
		return got[0], got[1]
	case <-time.After(30 * time.Second):
		t.Fatal("mongosim did not print its URIs within 30s")
	}
	return "", ""
}

// loadExternalPair starts a mongosim process with two servers, loads n
// documents into app.c on both and returns mlink clients to them.
func loadExternalPair(t *testing.T, bin string, n int) (src, dst *mongo.Client) {
	t.Helper()
	srcURI, dstURI := startExternalPair(t, bin)
	ctx := context.Background()
	for _, uri := range []string{srcURI, dstURI} {
		if err := insertDocs(ctx, simtest.Client(t, uri).Database("app").Collection("c"), n); err != nil {
			t.Fatal(err)
		}
	}
	return mlinkClient(t, srcURI, mongo.RoleSource), mlinkClient(t, dstURI, mongo.RoleTarget)
}

// filler makes documents of about 350 bytes: even the small set spans
// several cursor batches (scanBatchBytes), like the large one.
var filler = strings.Repeat("x", 320)

func insertDocs(ctx context.Context, coll *driver.Collection, n int) error {
	batch := make([]any, 0, 5000)
	for i := range n {
		batch = append(batch, bson.D{{Key: "_id", Value: int32(i)}, {Key: "a", Value: int32(i * 7)}, {Key: "s", Value: filler}})
		if len(batch) == cap(batch) || i == n-1 {
			if _, err := coll.InsertMany(ctx, batch); err != nil {
				return err
			}
			batch = batch[:0]
		}
	}
	return nil
}

// verifyHeapReadings verifies the n documents of app.c three times and
// returns, per run, the live heap's growth at every GC.
func verifyHeapReadings(t *testing.T, src, dst *mongo.Client, n int, opts Options, minRanges int) [][]uint64 {
	t.Helper()
	var runs [][]uint64
	for range 3 {
		runs = append(runs, liveHeapGrowth(t, func() {
			rep, err := Run(context.Background(), src, dst, opts)
			if err != nil {
				t.Fatal(err)
			}
			c := rep.Namespace("app.c").Content
			if !rep.Equal() || c.SourceCount != int64(n) || c.Ranges < minRanges {
				t.Fatalf("verify %d docs: %s", n, mustJSON(t, rep))
			}
		}))
	}
	return runs
}

// liveHeapGrowth runs fn with frequent GCs and returns, for every GC that
// ended while it ran, the live heap above its level before fn.
func liveHeapGrowth(t *testing.T, fn func()) []uint64 {
	t.Helper()
	old := debug.SetGCPercent(5)
	defer debug.SetGCPercent(old)
	samples := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/gc/cycles/total:gc-cycles"}}
	read := func() (live, cycle uint64) {
		metrics.Read(samples)
		return samples[0].Value.Uint64(), samples[1].Value.Uint64()
	}
	runtime.GC()
	runtime.GC()
	base, lastCycle := read()
	var growth []uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(100 * time.Microsecond)
		defer tick.Stop()
		for {
			if live, cycle := read(); cycle != lastCycle {
				growth, lastCycle = append(growth, live-min(live, base)), cycle
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	fn()
	close(stop)
	wg.Wait()
	if len(growth) < 8 {
		t.Fatalf("only %d GC cycles during the run: too few to measure", len(growth))
	}
	return growth
}
