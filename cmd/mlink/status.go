package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/mlink-dev/mlink"
)

func newStatusCmd(a *app) *cobra.Command {
	var (
		cf       clientFlags
		asJSON   bool
		watch    bool
		interval time.Duration
	)
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the sync's state and progress",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c := cf.client(cmd, a)
			out := cmd.OutOrStdout()
			switch {
			case watch && asJSON:
				return fmt.Errorf("--watch and --json cannot be combined")
			case watch:
				if a.watchRefresh > 0 {
					interval = a.watchRefresh
				}
				if interval <= 0 {
					return fmt.Errorf("--interval must be positive")
				}
				return watchStatus(cmd.Context(), c, out, interval, a.stdoutIsTTY())
			case asJSON:
				raw, err := c.StatusRaw(cmd.Context())
				if err != nil {
					return err
				}
				var buf bytes.Buffer
				if err := json.Indent(&buf, raw, "", "  "); err != nil {
					return fmt.Errorf("daemon sent invalid JSON: %w", err)
				}
				buf.WriteByte('\n')
				_, err = out.Write(buf.Bytes())
				return err
			}
			st, err := c.Status(cmd.Context())
			if err != nil {
				return err
			}
			printStatus(out, st)
			return nil
		},
	}
	cf.register(cmd)
	fl := cmd.Flags()
	fl.BoolVar(&asJSON, "json", false, "print the daemon's status JSON")
	fl.BoolVarP(&watch, "watch", "w", false, "show live progress until the sync is finalized or failed (Ctrl-C to stop)")
	fl.DurationVar(&interval, "interval", time.Second, "refresh interval of --watch")
	return cmd
}

// printStatus writes the human status report.
func printStatus(w io.Writer, st mlink.Status) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(tw, "%s:\t%s\n", k, v)
		}
	}
	row("State", string(st.State))
	row("Info", st.Info)
	row("Error", st.Error)
	row("Source", st.Source)
	row("Target", st.Target)
	if st.Filter != nil {
		row("Include", strings.Join(st.Filter.Include, ", "))
		row("Exclude", strings.Join(st.Filter.Exclude, ", "))
	}
	row("Lag", lagText(st))
	events := fmtCount(st.EventsProcessed) + " processed"
	if r := st.Replication; r != nil {
		events += fmt.Sprintf(" (read %s, applied %s, skipped %s; %.1f/s)",
			fmtCount(r.EventsRead), fmtCount(r.EventsApplied), fmtCount(r.EventsSkipped), r.ApplyRate)
	}
	row("Events", events)
	row("Last op time", st.LastReplicatedOpTime)
	if r := st.Replication; r != nil {
		row("Checkpoint", fmt.Sprintf("%s (age %s)", orDash(r.CheckpointTime), fmtSeconds(r.CheckpointAge)))
		if r.OplogWindow > 0 {
			row("Oplog window", fmtSeconds(r.OplogWindow))
		}
	}
	if is := st.InitialSync; is != nil {
		row("Initial sync", fmt.Sprintf("completed=%v cloneCompleted=%v", is.Completed, is.CloneCompleted))
	}
	if c := st.Clone; c != nil {
		done := c.CollectionsAll > 0 && c.CollectionsDone == c.CollectionsAll
		row("Clone", fmt.Sprintf("%.1f%%  %s / %s, %s / %s docs, %d/%d collections, %s/s, ETA %s",
			clonePercent(c), fmtBytes(c.CopiedBytes), fmtBytes(c.EstimatedBytes),
			fmtCount(c.CopiedDocs), fmtCount(c.EstimatedDocs), c.CollectionsDone, c.CollectionsAll,
			fmtBytes(int64(c.BytesPerSec)), fmtETA(c.ETASeconds, done)))
	}
	_ = tw.Flush()

	if c := st.Clone; c != nil && len(c.Collections) > 0 {
		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAMESPACE\tPROGRESS\tDOCUMENTS\tBYTES\tPARTS\tETA")
		for _, col := range c.Collections {
			p := percent(col.CopiedBytes, col.EstimatedBytes)
			if col.Done {
				p = 100
			}
			fmt.Fprintf(tw, "%s\t%.1f%%\t%s / %s\t%s / %s\t%d\t%s\n", col.Namespace, p,
				fmtCount(col.CopiedDocs), fmtCount(col.EstimatedDocs),
				fmtBytes(col.CopiedBytes), fmtBytes(col.EstimatedBytes), col.Partitions, fmtETA(col.ETASeconds, col.Done))
		}
		_ = tw.Flush()
	}
	if len(st.Warnings) > 0 {
		fmt.Fprintln(w, "\nWarnings:")
		for _, wn := range st.Warnings {
			fmt.Fprintf(w, "  [%s] %s (since %s)\n", wn.Kind, wn.Message, wn.Since.UTC().Format(time.RFC3339))
		}
	}
	if len(st.IndexFailures) > 0 {
		fmt.Fprintln(w, "\nIndex failures:")
		for _, f := range st.IndexFailures {
			what := f.Namespace
			if f.Index != "" {
				what += " index " + f.Index
			}
			if f.Option != "" {
				what += " option " + f.Option
			}
			fmt.Fprintf(w, "  %s: %s\n", what, f.Error)
		}
	}
}

// lagText prefers the replication block's fractional lag over PLM's
// whole-second lagTime.
func lagText(st mlink.Status) string {
	switch {
	case st.Replication != nil:
		return fmtSeconds(st.Replication.LagSeconds)
	case st.LagTime != nil:
		return fmtSeconds(float64(*st.LagTime))
	}
	return ""
}

func clonePercent(c *mlink.CloneProgress) float64 {
	if c.CollectionsAll > 0 && c.CollectionsDone == c.CollectionsAll {
		return 100
	}
	return percent(c.CopiedBytes, c.EstimatedBytes)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
