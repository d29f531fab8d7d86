package main

import (
	"context"

	"github.com/mlink-dev/mlink/api"
	"github.com/mlink-dev/mlink/engine"
)

// The daemon's sync engine: clone, change replication and finalize.
func init() {
	newController = func(ctx context.Context, cfg ServeConfig) (api.Controller, error) {
		return engine.New(ctx, engine.Config{
			SourceURI: cfg.SourceURI, TargetURI: cfg.TargetURI,
			ResetState: cfg.ResetState, OverwriteTarget: cfg.OverwriteTarget,
			Logger: cfg.Logger, Metrics: cfg.Metrics, Redactor: cfg.Redactor,
		})
	}
}
