package mongosim

import (
	"context"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

func TestDropConnectionsCutsClientsAndKeepsServing(t *testing.T) {
	s, err := Start(context.Background(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	c, err := mongo.Connect(options.Client().ApplyURI(s.URI()).SetRetryReads(false))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Disconnect(ctx)
	if err := c.Ping(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if n := s.DropConnections(); n == 0 {
		t.Fatal("no connection was open")
	}
	deadline := time.Now().Add(5 * time.Second)
	for s.currentConns() != 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	// The pool reconnects; the server still answers.
	var got bson.M
	for time.Now().Before(deadline) {
		if err = c.Database("admin").RunCommand(ctx, bson.D{{Key: "ping", Value: 1}}).Decode(&got); err == nil {
			break
		}
	}
	if err != nil || got["ok"] != 1.0 {
		t.Fatalf("ping after drop: %v %v", got, err)
	}
}
