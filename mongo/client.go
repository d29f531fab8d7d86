// Package mongo is mlink's only door to MongoDB: it wraps the official Go
// driver (v2) and exposes what the clone, replication and verify engines
// need — catalog listings, raw-BSON range scans and batch writes, change
// streams and mlink's metadata on the target. Nothing else in mlink imports
// the driver's client packages; documents travel as bson.Raw.
package mongo

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	driver "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readconcern"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"
	"go.mongodb.org/mongo-driver/v2/mongo/writeconcern"

	"github.com/mlink-dev/mlink"
)

// Role says which side of the sync a client talks to; it names the side in
// errors and in the connection's appName.
type Role string

const (
	RoleSource Role = "source"
	RoleTarget Role = "target"
)

// Client is a connection pool to one replica set.
type Client struct {
	c        *driver.Client
	role     Role
	redacted string
}

// Connect opens a pool to uri. Every connection option of the URI passes
// through (TLS, auth, mongodb+srv, compressors, appName). Reads and writes
// default to majority concern and the primary: mlink never trusts data
// that could be rolled back. The appName defaults to "mlink-<role>" so the
// server's logs (and tests) can tell mlink's connections apart.
func Connect(ctx context.Context, uri string, role Role) (*Client, error) {
	redacted := mlink.RedactURI(uri)
	opts := options.Client().ApplyURI(uri)
	if opts.AppName == nil {
		opts.SetAppName("mlink-" + string(role))
	}
	opts.SetReadConcern(readconcern.Majority())
	opts.SetWriteConcern(writeconcern.Majority())
	opts.SetReadPreference(readpref.Primary())
	if opts.ServerSelectionTimeout == nil {
		opts.SetServerSelectionTimeout(15 * time.Second)
	}
	if opts.HeartbeatInterval == nil {
		// The driver's Disconnect can wait for a streaming hello that began
		// just before it, up to one heartbeat; a short one keeps shutdowns
		// (and short-lived commands such as verify) quick.
		opts.SetHeartbeatInterval(2 * time.Second)
	}
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("%s URI %s: %w", role, redacted, scrub(err, uri))
	}
	c, err := driver.Connect(opts)
	if err != nil {
		return nil, fmt.Errorf("%s URI %s: %w", role, redacted, scrub(err, uri))
	}
	return &Client{c: c, role: role, redacted: redacted}, nil
}

// ParseURI checks that a connection string is well formed without connecting.
func ParseURI(uri string) error {
	if strings.TrimSpace(uri) == "" {
		return errors.New("empty connection string")
	}
	opts := options.Client().ApplyURI(uri)
	if err := opts.Validate(); err != nil {
		return scrub(err, uri)
	}
	return nil
}

// scrub removes secrets of uri from an error's text while keeping the
// error chain (errors.Is/As still work on the wrapped error).
func scrub(err error, uri string) error {
	if err == nil {
		return nil
	}
	r := &mlink.Redactor{}
	r.AddURI(uri)
	msg := r.String(err.Error())
	if msg == err.Error() {
		return err
	}
	return &scrubbedError{msg: msg, err: err}
}

type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }

// Role returns the side this client talks to.
func (c *Client) Role() Role { return c.role }

// URI returns the connection string with credentials masked.
func (c *Client) URI() string { return c.redacted }

// Close disconnects the pool.
func (c *Client) Close(ctx context.Context) error { return c.c.Disconnect(ctx) }

// Ping checks the primary is reachable.
func (c *Client) Ping(ctx context.Context) error {
	if err := c.c.Ping(ctx, readpref.Primary()); err != nil {
		if IsAuthError(err) {
			return fmt.Errorf("%s %s refused the credentials (check the user, password and authSource in the URI): %w", c.role, hostsOf(c.redacted), err)
		}
		return fmt.Errorf("%s %s is not reachable: %w", c.role, hostsOf(c.redacted), err)
	}
	return nil
}

func hostsOf(redacted string) string {
	u, err := url.Parse(redacted)
	if err != nil || u.Host == "" {
		return redacted
	}
	return u.Host
}

// RunCommand runs a command on db and returns the raw reply.
func (c *Client) RunCommand(ctx context.Context, db string, cmd any) (bson.Raw, error) {
	raw, err := c.c.Database(db).RunCommand(ctx, cmd).Raw()
	if err != nil {
		return nil, err
	}
	return raw, nil
}

// Driver exposes the underlying driver client to mlink's own tests and the
// benchmark baselines; engines must use the methods of Client instead.
func (c *Client) Driver() *driver.Client { return c.c }

// IsAuthError reports a failed authentication (AuthenticationFailed, 18),
// which the driver may wrap in a server selection or handshake error.
func IsAuthError(err error) bool {
	return HasCode(err, 18) || strings.Contains(err.Error(), "auth error") || strings.Contains(err.Error(), "AuthenticationFailed")
}
