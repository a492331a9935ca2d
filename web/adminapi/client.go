package adminapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"
)

// Client talks to a running server's admin socket.
type Client struct {
	http *http.Client
}

// Dial returns a client for the socket at path, or an error matching
// ErrNoServer when no server is listening there.
func Dial(ctx context.Context, path string) (*Client, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoServer, err)
	}
	conn.Close()
	transport := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return d.DialContext(ctx, "unix", path)
		},
	}
	return &Client{http: &http.Client{Transport: transport, Timeout: 2 * time.Minute}}, nil
}

// ErrNoServer reports that nothing answers on the admin socket.
var ErrNoServer = errors.New("adminapi: no server is listening on the admin socket")

// ListAccounts returns every local account.
func (c *Client) ListAccounts(ctx context.Context) ([]Account, error) {
	var out []Account
	err := c.do(ctx, http.MethodGet, "/accounts", nil, &out)
	return out, err
}

// ListReports returns the newest reports from other instances.
func (c *Client) ListReports(ctx context.Context) ([]Report, error) {
	var out []Report
	err := c.do(ctx, http.MethodGet, "/reports", nil, &out)
	return out, err
}

// CreateAccount creates a local account.
func (c *Client) CreateAccount(ctx context.Context, n NewAccount) (Account, error) {
	var out Account
	err := c.do(ctx, http.MethodPost, "/accounts", n, &out)
	return out, err
}

// SetPassword replaces a local account's password.
func (c *Client) SetPassword(ctx context.Context, username, password string) error {
	return c.do(ctx, http.MethodPost, accountPath(username, "password"), passwordChange{password}, nil)
}

// SetAdmin promotes or demotes a local account.
func (c *Client) SetAdmin(ctx context.Context, username string, admin bool) error {
	return c.do(ctx, http.MethodPost, accountPath(username, "admin"), flagChange{admin}, nil)
}

// SetSuspended suspends or unsuspends a local account.
func (c *Client) SetSuspended(ctx context.Context, username string, suspended bool) error {
	return c.do(ctx, http.MethodPost, accountPath(username, "suspended"), flagChange{suspended}, nil)
}

func accountPath(username, action string) string {
	return "/accounts/" + url.PathEscape(username) + "/" + action
}

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://rhizome-admin"+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("admin socket: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return fmt.Errorf("admin socket: %w", err)
	}
	if resp.StatusCode >= 300 {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(data, &e) != nil || e.Error == "" {
			e.Error = resp.Status
		}
		return &RemoteError{Status: resp.StatusCode, Message: e.Error}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("admin socket: bad response: %w", err)
	}
	return nil
}
