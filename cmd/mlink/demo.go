package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"github.com/mlink-dev/mlink"
	"github.com/mlink-dev/mlink/api"
	"github.com/mlink-dev/mlink/engine"
	"github.com/mlink-dev/mlink/logging"
	"github.com/mlink-dev/mlink/metrics"
	"github.com/mlink-dev/mlink/mongo"
	"github.com/mlink-dev/mlink/mongosim"
	"github.com/mlink-dev/mlink/verify"
	"github.com/mlink-dev/mlink/workload"
)

type demoFlags struct {
	keepRunning bool
	port        int
	orders      int
	rate        int
	logLevel    string
	replicate   time.Duration
}

func newDemoCmd(a *app) *cobra.Command {
	var f demoFlags
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the whole lifecycle on two embedded mongosim servers",
		Long: `demo starts two in-process MongoDB-compatible servers (mongosim), loads a sample
dataset, starts the mlink engine and its HTTP API, and drives a full sync while
a write workload runs: clone, catch-up, replication, pause, resume, finalize.
It then runs the verifier and prints a summary. Nothing needs to be installed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runDemo(cmd.Context(), a, f) },
	}
	fl := cmd.Flags()
	fl.BoolVar(&f.keepRunning, "keep-running", false, "keep the servers and the dashboard up after the summary (Ctrl-C to stop)")
	fl.IntVar(&f.port, "port", 0, "port of the demo's HTTP API and dashboard (0: any free port)")
	fl.IntVar(&f.orders, "orders", 20000, "size of the sample dataset (orders; other collections scale with it)")
	fl.IntVar(&f.rate, "rate", 400, "write workload, operations per second")
	fl.StringVar(&f.logLevel, "log-level", "warn", "engine log level: debug, info, warn or error")
	fl.DurationVar(&f.replicate, "replicate", 3*time.Second, "how long to replicate before pausing")
	return cmd
}

// demo is one run's moving parts.
type demo struct {
	out      io.Writer
	client   *api.Client
	maxLag   int64
	lastLine string
}

func runDemo(ctx context.Context, a *app, f demoFlags) error {
	out := a.stdout
	started := time.Now()
	step := func(format string, args ...any) { fmt.Fprintf(out, "\n==> "+format+"\n", args...) }

	step("Starting two mongosim replica sets (source rs0, target rs1)")
	src, err := mongosim.Start(ctx, mongosim.Options{ReplSetName: "rs0", NoopInterval: time.Second})
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := mongosim.Start(ctx, mongosim.Options{ReplSetName: "rs1", NoopInterval: time.Second})
	if err != nil {
		return err
	}
	defer dst.Close()
	fmt.Fprintf(out, "    source %s\n    target %s\n", src.URI(), dst.URI())

	step("Loading the sample dataset (shop, crm, analytics)")
	srcClient, err := workload.Connect(src.URI())
	if err != nil {
		return err
	}
	defer srcClient.Disconnect(context.WithoutCancel(ctx))
	sample := workload.Sample{Prefix: "demo_", Orders: f.orders}
	loaded, err := sample.Load(ctx, srcClient)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "    %s documents, %s\n", fmtCount(loaded.Documents), fmtBytes(loaded.Bytes))

	level, err := logging.ParseLevel(f.logLevel)
	if err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	log := logging.New(a.stderr, logging.Options{Level: level, Redactor: a.redactor})
	reg := prometheus.NewRegistry()
	metrics.RegisterRuntime(reg)
	eng, err := engine.New(ctx, engine.Config{SourceURI: src.URI(), TargetURI: dst.URI(), Logger: log,
		Metrics: metrics.New(reg), Redactor: a.redactor})
	if err != nil {
		return err
	}
	defer eng.Close(context.WithoutCancel(ctx))
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(f.port)))
	if err != nil {
		return err
	}
	srv := api.NewHTTPServer(ln.Addr().String(), api.NewHandler(eng, api.Options{Gatherer: reg, Logger: log, Redactor: a.redactor}))
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	base := "http://" + ln.Addr().String()
	fmt.Fprintf(out, "\n    Dashboard: %s/   API: %s/status   Metrics: %s/metrics\n", base, base, base)
	d := &demo{out: out, client: api.NewClient(base, "", nil)}

	step("Starting a live write workload on the source (%d ops/s, with DDL)", f.rate)
	writer := workload.StartWriter(ctx, srcClient, workload.WriterOptions{DB: sample.DB("live"),
		Collections: []string{"live", "ticks"}, Clients: 2, Rate: f.rate, DDLEvery: 150})
	defer writer.Stop()

	step("POST /start: clone, then replicate (filter: %s)", "/^demo_/")
	if err := d.client.Start(ctx, mlink.StartRequest{IncludeNamespaces: []string{"/^demo_/"}}); err != nil {
		return err
	}
	if _, err := d.waitFor(ctx, "initial sync", func(st mlink.Status) bool {
		return st.InitialSync != nil && st.InitialSync.Completed
	}); err != nil {
		return err
	}
	cloneDone := time.Now()

	step("Replicating the live workload for %s", f.replicate)
	if err := d.watch(ctx, f.replicate); err != nil {
		return err
	}

	step("POST /pause (the workload keeps writing)")
	if err := d.client.Pause(ctx); err != nil {
		return err
	}
	if _, err := d.waitFor(ctx, "paused", func(st mlink.Status) bool { return st.State == mlink.StatePaused }); err != nil {
		return err
	}
	if err := d.watch(ctx, 2*time.Second); err != nil {
		return err
	}

	step("POST /resume: catching up")
	if err := d.client.Resume(ctx, mlink.ResumeRequest{}); err != nil {
		return err
	}
	if _, err := d.waitFor(ctx, "caught up", func(st mlink.Status) bool {
		return st.State == mlink.StateRunning && st.LagTime != nil && *st.LagTime <= 1
	}); err != nil {
		return err
	}

	step("Stopping the workload (the application is cut over), POST /finalize")
	if err := writer.Stop(); err != nil {
		return fmt.Errorf("workload: %w", err)
	}
	if err := d.client.Finalize(ctx, mlink.FinalizeRequest{}); err != nil {
		return err
	}
	final, err := d.waitFor(ctx, "finalized", func(st mlink.Status) bool { return st.State == mlink.StateFinalized })
	if err != nil {
		return err
	}

	step("Verifying source and target")
	rep, err := verifyDemo(ctx, src.URI(), dst.URI())
	if err != nil {
		return err
	}
	verdict := "equal"
	if !rep.Equal() {
		verdict = "DIFFERENT"
		_ = rep.WriteText(out)
	}
	d.summary(final, loaded, writer.Ops(), cloneDone.Sub(started), time.Since(started), verdict)
	if !rep.Equal() {
		return errors.New("verification found differences")
	}
	if f.keepRunning {
		fmt.Fprintf(out, "\nKeeping the servers and the dashboard (%s/) up; press Ctrl-C to stop.\n", base)
		<-ctx.Done()
	}
	return nil
}

func verifyDemo(ctx context.Context, srcURI, dstURI string) (*verify.Report, error) {
	src, err := mongo.Connect(ctx, srcURI, mongo.RoleSource)
	if err != nil {
		return nil, err
	}
	defer src.Close(context.WithoutCancel(ctx))
	dst, err := mongo.Connect(ctx, dstURI, mongo.RoleTarget)
	if err != nil {
		return nil, err
	}
	defer dst.Close(context.WithoutCancel(ctx))
	return verify.Run(ctx, src, dst, verify.Options{Filter: mlink.MustFilter([]string{"/^demo_/"}, nil)})
}

// waitFor polls /status, printing progress, until cond holds; a failed
// sync ends the wait with its error.
func (d *demo) waitFor(ctx context.Context, what string, cond func(mlink.Status) bool) (mlink.Status, error) {
	deadline := time.Now().Add(5 * time.Minute)
	for {
		st, err := d.client.Status(ctx)
		if err != nil {
			return st, err
		}
		d.show(st)
		if st.State == mlink.StateFailed {
			return st, fmt.Errorf("sync failed while waiting for %s: %s", what, st.Error)
		}
		if cond(st) {
			return st, nil
		}
		if time.Now().After(deadline) {
			return st, fmt.Errorf("timed out waiting for %s", what)
		}
		select {
		case <-ctx.Done():
			return st, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// watch shows progress for a while.
func (d *demo) watch(ctx context.Context, dur time.Duration) error {
	end := time.Now().Add(dur)
	_, err := d.waitFor(ctx, "time", func(mlink.Status) bool { return time.Now().After(end) })
	return err
}

func (d *demo) show(st mlink.Status) {
	if st.LagTime != nil && *st.LagTime > d.maxLag && st.InitialSync != nil && st.InitialSync.Completed {
		d.maxLag = *st.LagTime
	}
	line := summaryLine(st)
	if line != d.lastLine {
		fmt.Fprintln(d.out, "    "+line)
		d.lastLine = line
	}
}

func (d *demo) summary(st mlink.Status, loaded workload.Loaded, ops int64, cloneTook, total time.Duration, verdict string) {
	fmt.Fprintf(d.out, "\n==> Summary\n")
	row := func(k, v string) { fmt.Fprintf(d.out, "    %-26s %s\n", k, v) }
	row("sample dataset", fmt.Sprintf("%s documents, %s", fmtCount(loaded.Documents), fmtBytes(loaded.Bytes)))
	if c := st.Clone; c != nil {
		row("cloned", fmt.Sprintf("%s documents, %s in %d collections", fmtCount(c.CopiedDocs), fmtBytes(c.CopiedBytes), c.CollectionsDone))
		row("clone rate", fmt.Sprintf("%s/s", fmtBytes(int64(c.BytesPerSec))))
	}
	row("workload operations", fmtCount(ops))
	row("change events applied", fmtCount(st.EventsProcessed))
	if r := st.Replication; r != nil {
		row("apply rate (last minute)", fmt.Sprintf("%.0f events/s", r.ApplyRate))
	}
	row("max lag while replicating", fmt.Sprintf("%ds", d.maxLag))
	row("index/option failures", strconv.Itoa(len(st.IndexFailures)))
	row("time to initial sync", cloneTook.Round(time.Millisecond).String())
	row("total time", total.Round(time.Millisecond).String())
	row("verify", verdict)
}
