package mongosim

import (
	"context"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

func startFaultServer(t *testing.T, opts Options) *Server {
	t.Helper()
	s, err := Start(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

func faultClient(t *testing.T, uri string, opts ...*options.ClientOptions) *mongo.Client {
	t.Helper()
	c, err := mongo.Connect(append([]*options.ClientOptions{options.Client().ApplyURI(uri)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Disconnect(context.Background()) })
	return c
}

func TestDropConnectionsCutsClientsAndKeepsServing(t *testing.T) {
	s := startFaultServer(t, Options{})
	ctx := context.Background()
	c := faultClient(t, s.URI(), options.Client().SetRetryReads(false))
	if err := c.Ping(ctx, nil); err != nil {
		t.Fatal(err)
	}
	created := s.stats.totalConns.Load()
	if n := s.DropConnections(); n == 0 {
		t.Fatal("no connection was open")
	}
	// The driver notices, reconnects, and the server answers on new
	// connections (the pool's old ones are gone).
	deadline := time.Now().Add(10 * time.Second)
	var err error
	for time.Now().Before(deadline) {
		if err = c.Database("admin").RunCommand(ctx, bson.D{{Key: "ping", Value: 1}}).Err(); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("ping after drop: %v", err)
	}
	if s.stats.totalConns.Load() <= created {
		t.Fatalf("no new connection after the drop (%d created before, %d now)", created, s.stats.totalConns.Load())
	}
}
