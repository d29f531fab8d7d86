package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newResetCmd(a *app) *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{
		Use:   "reset",
		Short: "Forget the sync's checkpoint and return to idle",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cf.client(cmd, a).Reset(cmd.Context()); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), "sync reset to idle")
			return nil
		},
	}
	cf.register(cmd)
	return cmd
}
