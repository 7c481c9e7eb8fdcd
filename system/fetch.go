package system

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"
)

var netDialer = net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}

// cameraClient hands out the HTTP client each snapshot request uses,
// according to Knobs.Client. It is safe for concurrent use.
type cameraClient struct {
	kind ClientKind
	base func() *http.Transport
	// shared is the one client of new-conn and shared.
	shared *http.Client
	// conns bounds the total connections of the shared transport (Go's
	// Transport only bounds them per host).
	conns chan struct{}
}

func newCameraClient(k Knobs, base func() *http.Transport) *cameraClient {
	c := &cameraClient{kind: k.Client, base: base}
	switch k.Client {
	case ClientNewConn:
		tr := base()
		tr.DisableKeepAlives = true
		c.shared = &http.Client{Transport: tr}
	case ClientShared:
		tr := base()
		tr.MaxIdleConns = k.MaxConns
		tr.MaxIdleConnsPerHost = k.MaxConnsPerHost
		tr.MaxConnsPerHost = k.MaxConnsPerHost
		tr.IdleConnTimeout = k.IdleTimeout
		c.shared = &http.Client{Transport: tr}
		c.conns = make(chan struct{}, k.MaxConns)
	case ClientNewClient:
		// built per request
	}
	return c
}

// acquire returns the client for one request and a release function the
// caller must call once the body is closed.
func (c *cameraClient) acquire(ctx context.Context) (*http.Client, func(), error) {
	switch c.kind {
	case ClientNewClient:
		// Like `async with aiohttp.ClientSession()` per request: a new
		// transport, whose connections are closed after the request.
		tr := c.base()
		cl := &http.Client{Transport: tr}
		return cl, tr.CloseIdleConnections, nil
	case ClientShared:
		select {
		case c.conns <- struct{}{}:
			return c.shared, func() { <-c.conns }, nil
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		}
	default:
		return c.shared, func() {}, nil
	}
}

// registryClient is the client for the fleet's control API.
func (c *cameraClient) registryClient() *http.Client {
	if c.shared != nil {
		return c.shared
	}
	return &http.Client{Transport: c.base()}
}

func (c *cameraClient) close() {
	if c.shared != nil {
		c.shared.CloseIdleConnections()
	}
}

// fetchResult is one snapshot answer.
type fetchResult struct {
	notModified bool
	body        *bytes.Buffer // nil when notModified; return with putBuf
	etag        string
	capturedAt  time.Time // zero when the camera did not say
	// retries is how many times the transport retried the request on a
	// fresh connection after a reused one failed.
	retries int
}

// fetchError is a failed fetch classified into an error kind. overload
// marks the answers of a gateway out of capacity (a 503, a reset or
// refused connection) apart from the camera's own failures, for the
// learned host limits.
type fetchError struct {
	kind     string
	err      error
	overload bool
}

func (e *fetchError) Error() string { return e.kind + ": " + e.err.Error() }
func (e *fetchError) Unwrap() error { return e.err }

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func putBuf(b *bytes.Buffer) {
	if b == nil || b.Cap() > 1<<20 {
		return
	}
	b.Reset()
	bufPool.Put(b)
}

// fetch GETs one snapshot with a cache-buster, bounded by timeout (the body
// read included) and MaxBody. etag, when set, makes the request
// conditional.
func (s *System) fetch(ctx context.Context, snapshotURL, etag string, timeout time.Duration) (fetchResult, error) {
	k := s.cfg.Knobs
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	u := snapshotURL + "?t=" + strconv.FormatInt(s.now().UnixMilli(), 10)
	// The transport retries a GET whose reused keep-alive connection
	// failed before any answer (a reset) on a fresh connection; counting
	// the connections each request got makes those retries visible.
	conns := new(int)
	retried := func() int { return max(0, *conns-1) }
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{GotConn: func(httptrace.GotConnInfo) { *conns++ }})
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fetchResult{}, &fetchError{kind: ErrHTTPStatus, err: err}
	}
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	cl, release, err := s.client.acquire(ctx)
	if err != nil {
		return fetchResult{}, classify(ctx, err)
	}
	defer release()
	resp, err := cl.Do(req)
	if err != nil {
		return fetchResult{retries: retried()}, classify(ctx, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotModified:
		drain(resp.Body)
		return fetchResult{notModified: true, etag: etag, retries: retried()}, nil
	case resp.StatusCode >= 500:
		drain(resp.Body)
		return fetchResult{retries: retried()}, &fetchError{kind: ErrHTTP5xx, err: fmt.Errorf("status %s", resp.Status),
			overload: resp.StatusCode == http.StatusServiceUnavailable}
	case resp.StatusCode != http.StatusOK:
		drain(resp.Body)
		return fetchResult{retries: retried()}, &fetchError{kind: ErrHTTPStatus, err: fmt.Errorf("status %s", resp.Status)}
	}
	if resp.ContentLength > k.MaxBody {
		return fetchResult{retries: retried()}, &fetchError{kind: ErrTooLarge, err: fmt.Errorf("Content-Length %d over max-body %d", resp.ContentLength, k.MaxBody)}
	}
	buf := bufPool.Get().(*bytes.Buffer)
	if resp.ContentLength > 0 {
		buf.Grow(int(resp.ContentLength))
	}
	n, err := buf.ReadFrom(io.LimitReader(resp.Body, k.MaxBody+1))
	if err != nil {
		putBuf(buf)
		err = classify(ctx, err)
		// A body cut short is the camera's failure: the gateway had
		// admitted the request.
		err.(*fetchError).overload = false
		return fetchResult{retries: retried()}, err
	}
	if n > k.MaxBody {
		putBuf(buf)
		return fetchResult{retries: retried()}, &fetchError{kind: ErrTooLarge, err: fmt.Errorf("body over max-body %d", k.MaxBody)}
	}
	r := fetchResult{body: buf, etag: resp.Header.Get("ETag"), retries: retried()}
	if v := resp.Header.Get("X-Camload-Captured-At"); v != "" {
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
			r.capturedAt = t
		}
	}
	if r.capturedAt.IsZero() {
		if v := resp.Header.Get("Last-Modified"); v != "" {
			if t, err := http.ParseTime(v); err == nil {
				r.capturedAt = t
			}
		}
	}
	return r, nil
}

// drain reads a little of an error body so the connection can be reused.
func drain(r io.Reader) { _, _ = io.CopyN(io.Discard, r, 4<<10) }

// classify maps a transport or body-read error to an error kind; a reset,
// refused or closed connection is marked overload.
func classify(ctx context.Context, err error) error {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded),
		errors.Is(err, os.ErrDeadlineExceeded),
		errors.As(err, &ne) && ne.Timeout():
		return &fetchError{kind: ErrTimeout, err: err}
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF), errors.Is(err, syscall.EPIPE):
		return &fetchError{kind: ErrConn, err: err, overload: true}
	default:
		return &fetchError{kind: ErrConn, err: err}
	}
}

// isOverload reports whether err is a gateway's refusal for capacity (a
// 503, a reset or refused connection), not the camera's own failure.
func isOverload(err error) bool {
	var fe *fetchError
	return errors.As(err, &fe) && fe.overload
}

// errorKind returns the kind of a cycle error.
func errorKind(err error) string {
	var fe *fetchError
	if errors.As(err, &fe) {
		return fe.kind
	}
	return ErrConn
}
