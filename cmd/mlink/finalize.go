package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/mlink-dev/mlink"
)

func newFinalizeCmd(a *app) *cobra.Command {
	var (
		cf  clientFlags
		req mlink.FinalizeRequest
	)
	cmd := &cobra.Command{
		Use:   "finalize",
		Short: "Stop replication at the current point and prepare the target for cutover",
		Long: `Finalize returns once finalizing has begun; follow it with "mlink status --watch"
until the state is finalized.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cf.client(cmd, a).Finalize(cmd.Context(), req); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), "finalizing (watch progress with: mlink status --watch)")
			return nil
		},
	}
	cf.register(cmd)
	cmd.Flags().BoolVar(&req.IgnoreHistoryLost, "ignore-history-lost", false, "finalize even if the change history needed to catch up was lost")
	return cmd
}
