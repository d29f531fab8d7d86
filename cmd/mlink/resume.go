package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/mlink-dev/mlink"
)

func newResumeCmd(a *app) *cobra.Command {
	var (
		cf  clientFlags
		req mlink.ResumeRequest
	)
	cmd := &cobra.Command{
		Use:   "resume",
		Short: "Resume a paused sync, or a failed one with --from-failure",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cf.client(cmd, a).Resume(cmd.Context(), req); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), "sync resumed")
			return nil
		},
	}
	cf.register(cmd)
	cmd.Flags().BoolVar(&req.FromFailure, "from-failure", false, "retry a failed sync from its last checkpoint")
	return cmd
}
