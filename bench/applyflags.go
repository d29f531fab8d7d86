package bench

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
)

// ApplyFlags are the command-line flags both appliers (rawapply and
// mlinkrepl) take, so the harness starts them identically.
type ApplyFlags struct {
	Src, Dst string
	StartAt  string // "T,I": first cluster time to apply (inclusive)
	Until    string // "T,I": stop once applied up to here; "" = read "until T,I" from stdin
	Opts     ApplyOptions
}

// Register adds the flags to fs.
func (f *ApplyFlags) Register(fs *flag.FlagSet) {
	fs.StringVar(&f.Src, "src", "", "source connection string")
	fs.StringVar(&f.Dst, "dst", "", "target connection string")
	fs.StringVar(&f.StartAt, "start-at", "", "cluster time T,I to start the change stream at (inclusive)")
	fs.StringVar(&f.Until, "until", "", "stop once everything up to cluster time T,I is applied (default: read \"until T,I\" from stdin)")
	f.Opts.Register(fs)
}

// Register adds the apply options' flags to fs. The defaults are mlink's
// on this machine's 2 cores: max(8, 2×CPUs) workers, 1000 events or 8 MB
// per bulk, 5 ms to fill one.
func (o *ApplyOptions) Register(fs *flag.FlagSet) {
	fs.IntVar(&o.Workers, "workers", 8, "apply workers (events routed by hash of namespace and _id)")
	fs.IntVar(&o.BatchDocs, "batch-docs", 1000, "events per bulk write at most")
	fs.IntVar(&o.BatchBytes, "batch-bytes", 8<<20, "event bytes per bulk write at most")
	fs.DurationVar(&o.FlushInterval, "flush", 5*time.Millisecond, "how long a worker waits to fill a bulk")
}

// Args renders the flags for a child's command line.
func (f ApplyFlags) Args() []string {
	args := []string{"-src", f.Src, "-dst", f.Dst, "-start-at", f.StartAt,
		"-workers", strconv.Itoa(f.Opts.Workers), "-batch-docs", strconv.Itoa(f.Opts.BatchDocs),
		"-batch-bytes", strconv.Itoa(f.Opts.BatchBytes), "-flush", f.Opts.FlushInterval.String()}
	if f.Until != "" {
		args = append(args, "-until", f.Until)
	}
	return args
}

// Check validates the flags and parses the start time.
func (f ApplyFlags) Check() (bson.Timestamp, error) {
	if f.Src == "" || f.Dst == "" {
		return bson.Timestamp{}, fmt.Errorf("-src and -dst are required")
	}
	t, err := ParseTimestamp(f.StartAt)
	if err != nil {
		return t, fmt.Errorf("-start-at: %w", err)
	}
	return t, nil
}

// FormatTimestamp writes a cluster time as "T,I".
func FormatTimestamp(t bson.Timestamp) string { return fmt.Sprintf("%d,%d", t.T, t.I) }

// ParseTimestamp reads "T,I".
func ParseTimestamp(s string) (bson.Timestamp, error) {
	a, b, ok := strings.Cut(strings.TrimSpace(s), ",")
	if !ok {
		return bson.Timestamp{}, fmt.Errorf("cluster time %q: want T,I", s)
	}
	t, err1 := strconv.ParseUint(a, 10, 32)
	i, err2 := strconv.ParseUint(b, 10, 32)
	if err1 != nil || err2 != nil {
		return bson.Timestamp{}, fmt.Errorf("cluster time %q: want T,I", s)
	}
	return bson.Timestamp{T: uint32(t), I: uint32(i)}, nil
}

// ReadUntil waits for an "until T,I" line on r.
func ReadUntil(r io.Reader) (bson.Timestamp, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "until "); ok {
			return ParseTimestamp(v)
		}
	}
	if err := sc.Err(); err != nil {
		return bson.Timestamp{}, err
	}
	return bson.Timestamp{}, io.ErrUnexpectedEOF
}

// MarkerColl is where the benchmark writes its markers.
const MarkerColl = "marker"

// WriteMarker inserts a marker document into db.marker and returns the
// write's operationTime: a cluster time that is exactly one change event,
// so an applier told to stop there stops on an event rather than waiting
// for the stream's next idle batch.
func WriteMarker(ctx context.Context, c *mongo.Client, db string, seq int) (bson.Timestamp, error) {
	reply, err := c.Database(db).RunCommand(ctx, bson.D{
		{Key: "insert", Value: MarkerColl},
		{Key: "documents", Value: bson.A{bson.D{{Key: "_id", Value: seq}, {Key: "at", Value: time.Now()}}}},
	}).Raw()
	if err != nil {
		return bson.Timestamp{}, fmt.Errorf("write marker: %w", err)
	}
	t, i, ok := reply.Lookup("operationTime").TimestampOK()
	if !ok {
		return bson.Timestamp{}, fmt.Errorf("write marker: reply without operationTime: %s", reply)
	}
	return bson.Timestamp{T: t, I: i}, nil
}

// ClusterTime reads the server's latest cluster time with hello (a read:
// it adds nothing to the change stream).
func ClusterTime(ctx context.Context, c *mongo.Client) (bson.Timestamp, error) {
	reply, err := c.Database("admin").RunCommand(ctx, bson.D{{Key: "hello", Value: 1}}).Raw()
	if err != nil {
		return bson.Timestamp{}, fmt.Errorf("hello: %w", err)
	}
	t, i, ok := reply.Lookup("$clusterTime", "clusterTime").TimestampOK()
	if !ok {
		return bson.Timestamp{}, fmt.Errorf("hello reply without $clusterTime")
	}
	return bson.Timestamp{T: t, I: i}, nil
}
