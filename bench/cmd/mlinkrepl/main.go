// Command mlinkrepl runs mlink's replicator from -start-at with the given
// workers and bulk sizes until everything up to -until (or the "until T,I"
// line read from stdin) is applied. It prints "applied N" and "elapsed
// SECONDS" (stream open to applied). With -lag it also prints a lag sample
// every -lag-every: "lag <unix ns> <lag ns>", the wall time since the
// source last had nothing unapplied (see bench.LagClock), exact to
// -clock-every.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/mlink-dev/mlink/bench"
	"github.com/mlink-dev/mlink/mongo"
	"github.com/mlink-dev/mlink/repl"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "mlinkrepl:", err)
		os.Exit(1)
	}
}

func run() error {
	var f bench.ApplyFlags
	f.Register(flag.CommandLine)
	lag := flag.Bool("lag", false, "print lag samples")
	lagEvery := flag.Duration("lag-every", 100*time.Millisecond, "lag sampling interval")
	clockEvery := flag.Duration("clock-every", 10*time.Millisecond, "how often the source's cluster time is read (the lag's resolution)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the run to this file")
	flag.Parse()
	if *cpuProfile != "" {
		stopProfile, err := bench.StartCPUProfile(*cpuProfile)
		if err != nil {
			return err
		}
		defer stopProfile()
	}
	startAt, err := f.Check()
	if err != nil {
		return err
	}
	untilC := make(chan bson.Timestamp, 1)
	if f.Until != "" {
		t, err := bench.ParseTimestamp(f.Until)
		if err != nil {
			return fmt.Errorf("-until: %w", err)
		}
		untilC <- t
	} else {
		go func() {
			t, err := bench.ReadUntil(os.Stdin)
			if err != nil {
				fmt.Fprintln(os.Stderr, "mlinkrepl: read until from stdin:", err)
				os.Exit(1)
			}
			untilC <- t
		}()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	src, err := mongo.Connect(ctx, f.Src, mongo.RoleSource)
	if err != nil {
		return err
	}
	defer src.Close(context.WithoutCancel(ctx))
	dst, err := mongo.Connect(ctx, f.Dst, mongo.RoleTarget)
	if err != nil {
		return err
	}
	defer dst.Close(context.WithoutCancel(ctx))
	r := repl.New(src, dst, repl.Options{Workers: f.Opts.Workers, BatchDocs: f.Opts.BatchDocs,
		BatchBytes: f.Opts.BatchBytes, FlushInterval: f.Opts.FlushInterval})

	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	start := time.Now()
	runErr := make(chan error, 1)
	go func() { runErr <- r.Run(rctx, repl.Start{T0: startAt}) }()

	// The source's cluster time is sampled every -clock-every (the lag's
	// resolution) and the lag printed every -lag-every.
	clock := bench.NewLagClock(10 * time.Minute)
	observe := func() {
		now := time.Now() // before the read: the lag is then never under-reported
		if ct, err := mongoClusterTime(ctx, src); err == nil {
			clock.Observe(now, ct)
		}
	}
	clockTick, lagTick := make(<-chan time.Time), make(<-chan time.Time)
	if *lag {
		ct := time.NewTicker(*clockEvery)
		defer ct.Stop()
		lt := time.NewTicker(*lagEvery)
		defer lt.Stop()
		clockTick, lagTick = ct.C, lt.C
	}
	poll := time.NewTicker(5 * time.Millisecond)
	defer poll.Stop()
	var until *bson.Timestamp
	for {
		select {
		case err := <-runErr:
			if err == nil {
				err = errors.New("replicator stopped by itself")
			}
			return err
		case t := <-untilC:
			until = &t
		case <-clockTick:
			observe()
		case <-lagTick:
			observe()
			applied := r.Applied()
			now := time.Now()
			fmt.Println(bench.FormatLagLine(bench.LagSample{At: now, Lag: clock.Lag(now, applied)}))
		case <-poll.C:
			if until == nil || r.Applied().Before(*until) {
				continue
			}
			elapsed := time.Since(start)
			st := r.Stats()
			cancel()
			if err := <-runErr; err != nil && !errors.Is(err, context.Canceled) {
				return err
			}
			fmt.Printf("applied %d\nelapsed %.6f\n", st.EventsApplied, elapsed.Seconds())
			return nil
		}
	}
}

// mongoClusterTime reads the source's latest cluster time with hello.
func mongoClusterTime(ctx context.Context, c *mongo.Client) (bson.Timestamp, error) {
	raw, err := c.RunCommand(ctx, "admin", bson.D{{Key: "hello", Value: 1}})
	if err != nil {
		return bson.Timestamp{}, err
	}
	t, i, ok := raw.Lookup("$clusterTime", "clusterTime").TimestampOK()
	if !ok {
		return bson.Timestamp{}, errors.New("hello reply without $clusterTime")
	}
	return bson.Timestamp{T: t, I: i}, nil
}
