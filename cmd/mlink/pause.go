package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newPauseCmd(a *app) *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{
		Use:   "pause",
		Short: "Pause a running sync (its checkpoint is kept)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cf.client(cmd, a).Pause(cmd.Context()); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), "sync paused")
			return nil
		},
	}
	cf.register(cmd)
	return cmd
}
