package e2e

import (
	"context"
	"testing"

	driver "go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/mlink-dev/mlink/clone"
)

type mongoIndex = driver.IndexModel

// restoreForCompare restores what the clone relaxed, as finalize does, for
// clone-only tests.
func restoreForCompare(t *testing.T, e *Env) {
	t.Helper()
	_, dst := e.Clients()
	_, failures, err := clone.RestoreDeferred(context.Background(), dst)
	mustExec(t, err)
	for _, f := range failures {
		t.Errorf("restore %s %s %s: %s", f.Namespace, f.Index, f.Option, f.Error)
	}
}

func contextWithSession(ctx context.Context, s *driver.Session) context.Context {
	return driver.NewSessionContext(ctx, s)
}
