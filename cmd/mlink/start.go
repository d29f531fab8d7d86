package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/mlink-dev/mlink"
)

func newStartCmd(a *app) *cobra.Command {
	var (
		cf  clientFlags
		req mlink.StartRequest
	)
	cmd := &cobra.Command{
		Use:   "start",
		Short: "Start a sync: clone, then replicate changes",
		Long: `Start a sync. Namespace patterns are db.coll, db.* or /regex/ (matched against
"db.coll"); exclude wins over include; system databases are never copied.

Without --overwrite-target the daemon's own --overwrite-target default applies.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// Validate locally first: the same rules the daemon applies,
			// with no round trip for a typo.
			if _, err := mlink.NewFilter(req.IncludeNamespaces, req.ExcludeNamespaces); err != nil {
				return err
			}
			if err := cf.client(cmd, a).Start(cmd.Context(), req); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), "sync started")
			return nil
		},
	}
	cf.register(cmd)
	fl := cmd.Flags()
	fl.Var(patternList{&req.IncludeNamespaces}, "include", "namespaces to copy: db.coll, db.* or /regex/ (comma-separated or repeated)")
	fl.Var(patternList{&req.ExcludeNamespaces}, "exclude", "namespaces to leave out (comma-separated or repeated)")
	fl.BoolVar(&req.PauseOnInitialSync, "pause-on-initial-sync", false, "pause once the initial clone is complete")
	fl.BoolVar(&req.OverwriteTarget, "overwrite-target", false, "drop target collections that already hold data")
	return cmd
}
