package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/mlink-dev/mlink"
)

// DefaultServer is where the CLI finds the daemon.
const DefaultServer = "http://127.0.0.1:2242"

// Client talks to an mlink daemon.
type Client struct {
	base  string
	token string
	http  *http.Client
}

// NewClient returns a client for the daemon at baseURL (e.g.
// DefaultServer). token may be empty. httpClient nil means one with a
// timeout just above the server's operation limit.
func NewClient(baseURL, token string, httpClient *http.Client) *Client {
	if httpClient == nil {
		httpClient = &http.Client{Timeout: DefaultOpTimeout + 15*time.Second}
	}
	return &Client{base: strings.TrimRight(baseURL, "/"), token: token, http: httpClient}
}

// Error is a request the daemon refused or could not serve.
type Error struct {
	StatusCode int    // HTTP status
	Message    string // the server's "error" text (or the body / status line when not JSON)
}

func (e *Error) Error() string { return e.Message }

func (c *Client) Start(ctx context.Context, req mlink.StartRequest) error {
	return c.do(ctx, http.MethodPost, "/start", req, nil)
}

func (c *Client) Pause(ctx context.Context) error {
	return c.do(ctx, http.MethodPost, "/pause", struct{}{}, nil)
}

func (c *Client) Resume(ctx context.Context, req mlink.ResumeRequest) error {
	return c.do(ctx, http.MethodPost, "/resume", req, nil)
}

func (c *Client) Finalize(ctx context.Context, req mlink.FinalizeRequest) error {
	return c.do(ctx, http.MethodPost, "/finalize", req, nil)
}

func (c *Client) Reset(ctx context.Context) error {
	return c.do(ctx, http.MethodPost, "/reset", struct{}{}, nil)
}

// Status fetches GET /status.
func (c *Client) Status(ctx context.Context) (mlink.Status, error) {
	var st mlink.Status
	err := c.do(ctx, http.MethodGet, "/status", nil, &st)
	return st, err
}

// StatusRaw fetches GET /status as the daemon sent it (for status --json,
// which must not drop fields this client does not know).
func (c *Client) StatusRaw(ctx context.Context) (json.RawMessage, error) {
	var raw json.RawMessage
	err := c.do(ctx, http.MethodGet, "/status", nil, &raw)
	return raw, err
}

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encoding %s request: %w", path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return fmt.Errorf("building %s request: %w", path, err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach mlink at %s: %w", c.base, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("reading %s reply: %w", path, err)
	}
	if resp.StatusCode/100 != 2 {
		return replyError(resp, data)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("decoding %s reply: %w", path, err)
	}
	return nil
}

func replyError(resp *http.Response, data []byte) *Error {
	var er errorReply
	if json.Unmarshal(data, &er) == nil && er.Error != "" {
		return &Error{StatusCode: resp.StatusCode, Message: er.Error}
	}
	msg := strings.TrimSpace(string(data))
	if msg == "" || len(msg) > 300 {
		msg = resp.Status
	}
	return &Error{StatusCode: resp.StatusCode, Message: fmt.Sprintf("HTTP %d: %s", resp.StatusCode, msg)}
}
