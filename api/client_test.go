package api

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mlink-dev/mlink"
	"github.com/mlink-dev/mlink/api/apitest"
)

func TestClientAgainstServer(t *testing.T) {
	fake := &apitest.Controller{}
	lag := int64(3)
	fake.SetStatus(mlink.Status{Info: "replicating", LagTime: &lag, EventsProcessed: 12,
		Clone: &mlink.CloneProgress{EstimatedBytes: 100, CopiedBytes: 100, CollectionsAll: 1, CollectionsDone: 1}})
	srv := httptest.NewServer(newTestHandler(fake, Options{Token: "t0k"}))
	defer srv.Close()
	ctx := context.Background()
	c := NewClient(srv.URL+"/", "t0k", nil)

	if err := c.Start(ctx, mlink.StartRequest{IncludeNamespaces: []string{"a.*"}, OverwriteTarget: true}); err != nil {
		t.Fatal(err)
	}
	st, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !st.OK || st.State != mlink.StateRunning || st.Info != "replicating" || *st.LagTime != 3 || st.EventsProcessed != 12 || st.Clone.CopiedBytes != 100 {
		t.Fatalf("status = %+v", st)
	}
	raw, err := c.StatusRaw(ctx)
	if err != nil || !strings.HasPrefix(string(raw), `{"ok":true,"state":"running","info":"replicating","lagTime":3,"eventsProcessed":12,"clone":{`) {
		t.Fatalf("raw status = %s, %v", raw, err)
	}
	if err := c.Pause(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Resume(ctx, mlink.ResumeRequest{}); err != nil {
		t.Fatal(err)
	}
	if err := c.Finalize(ctx, mlink.FinalizeRequest{IgnoreHistoryLost: true}); err != nil {
		t.Fatal(err)
	}
	fake.SetState(mlink.StateFinalized)
	if err := c.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	calls := fake.Calls()
	if len(calls) != 5 || !calls[0].Start.OverwriteTarget || calls[0].Start.IncludeNamespaces[0] != "a.*" || !calls[3].Finalize.IgnoreHistoryLost {
		t.Fatalf("calls = %+v", calls)
	}

	// Refusals carry the HTTP status and the server's message.
	err = c.Pause(ctx)
	var apiErr *Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusConflict || err.Error() != "cannot pause: sync is idle" {
		t.Fatalf("pause when idle: %#v", err)
	}
	err = c.Start(ctx, mlink.StartRequest{IncludeNamespaces: []string{"nodot"}})
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || err.Error() != `invalid namespace filter: pattern "nodot": want db.collection, db.* or /regex/` {
		t.Fatalf("bad filter: %v", err)
	}
	_, err = NewClient(srv.URL, "wrong", nil).Status(ctx)
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 401 || err.Error() != "invalid API token" {
		t.Fatalf("wrong token: %v", err)
	}
}

func TestClientNonJSONErrorsAndUnreachableDaemon(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "upstream went away", http.StatusBadGateway)
	}))
	c := NewClient(srv.URL, "", nil)
	err := c.Pause(context.Background())
	var apiErr *Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 502 || err.Error() != "HTTP 502: upstream went away" {
		t.Fatalf("got %v", err)
	}
	srv.Close()
	err = NewClient(srv.URL, "", nil).Pause(context.Background())
	if err == nil || errors.As(err, &apiErr) || !strings.HasPrefix(err.Error(), "cannot reach mlink at "+srv.URL+": ") {
		t.Fatalf("closed server: %v", err)
	}
}
