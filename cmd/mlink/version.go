package main

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/mlink-dev/mlink"
)

func newVersionCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print mlink's version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintf(cmd.OutOrStdout(), "mlink %s (%s, %s/%s)\n", mlink.Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return nil
		},
	}
}
