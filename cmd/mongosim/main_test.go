package main

import (
	"bufio"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

func TestRunPrintsURIsAndServes(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--ports", "0,0", "--version", "7.0.12", "--replset", "rsx"}, pw, io.Discard)
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	var uris []string
	for len(uris) < 2 && sc.Scan() {
		uris = append(uris, sc.Text())
	}
	if len(uris) != 2 || !strings.HasSuffix(uris[0], "/?replicaSet=rsx") || !strings.HasSuffix(uris[1], "/?replicaSet=rsx") || uris[0] == uris[1] {
		t.Fatalf("printed %v", uris)
	}
	for _, u := range uris {
		c, err := mongo.Connect(options.Client().ApplyURI(u).SetTimeout(10 * time.Second))
		if err != nil {
			t.Fatal(err)
		}
		var r bson.M
		if err := c.Database("admin").RunCommand(context.Background(), bson.D{{Key: "buildInfo", Value: 1}}).Decode(&r); err != nil {
			t.Fatal(err)
		}
		if r["version"] != "7.0.12" {
			t.Fatalf("version %v", r["version"])
		}
		_ = c.Disconnect(context.Background())
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not stop on cancel")
	}
	go io.Copy(io.Discard, pr)
}

func TestRunRejectsBadFlags(t *testing.T) {
	if err := run(context.Background(), []string{"--port", "notaport"}, io.Discard, io.Discard); err == nil {
		t.Fatal("bad port accepted")
	}
	if err := run(context.Background(), []string{"--port", "0", "--version", "4.4.0"}, io.Discard, io.Discard); err == nil {
		t.Fatal("unsupported version accepted")
	}
}
