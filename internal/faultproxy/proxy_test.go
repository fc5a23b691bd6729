package faultproxy_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/internal/faultproxy"
)

// backend is the server behind the proxy: it records what reached it.
type backend struct {
	mu    sync.Mutex
	seen  map[string]int // completed requests per path
	bytes map[string]int // body bytes received per path
	srv   *httptest.Server
}

func newBackend(t *testing.T) *backend {
	b := &backend{seen: map[string]int{}, bytes: map[string]int{}}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		b.mu.Lock()
		b.seen[r.URL.Path]++
		b.bytes[r.URL.Path] += int(n)
		b.mu.Unlock()
		w.Header().Set("X-Backend", "yes")
		_, _ = io.WriteString(w, "ok "+r.Method+" "+r.URL.Path+" "+r.URL.RawQuery)
	}))
	t.Cleanup(b.srv.Close)
	return b
}

func (b *backend) count(path string) (requests, bodyBytes int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.seen[path], b.bytes[path]
}

func startProxy(t *testing.T, target string) *faultproxy.Proxy {
	p, err := faultproxy.New(target)
	require.NoError(t, err)
	t.Cleanup(p.Close)
	return p
}

// client is a fresh client per request: no connection reuse, so Go's
// transport never retries a request on its own.
func client(timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, Transport: &http.Transport{DisableKeepAlives: true}}
}

func get(t *testing.T, c *http.Client, url string) (*http.Response, string, error) {
	resp, err := c.Get(url)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(body), nil
}

func TestProxy_Pass_ForwardsAndCounts(t *testing.T) {
	b := newBackend(t)
	p := startProxy(t, b.srv.URL+"/prefix")
	require.True(t, strings.HasPrefix(p.URL, "http://127.0.0.1:"), p.URL)
	c := client(5 * time.Second)
	for range 2 {
		resp, body, err := get(t, c, p.URL+"/a?x=1")
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Equal(t, "ok GET /prefix/a x=1", body, "path prefix and query kept")
		require.Equal(t, "yes", resp.Header.Get("X-Backend"))
	}
	resp, err := c.Post(p.URL+"/b", "application/json", strings.NewReader(`{"k":1}`))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, map[string]int{"/a": 2, "/b": 1}, p.Counts())
	require.Equal(t, 2, p.Count("/a"))
	require.Zero(t, p.Count("/c"))
	n, bytes := b.count("/prefix/b")
	require.Equal(t, 1, n)
	require.Equal(t, len(`{"k":1}`), bytes)
}

// The server gets and answers the whole request; the client gets no answer.
func TestProxy_Inject_DropResponse(t *testing.T) {
	b := newBackend(t)
	p := startProxy(t, b.srv.URL)
	in := p.Inject(faultproxy.Rule{Match: faultproxy.Path("/create"), Times: 1, Fault: faultproxy.Drop()})
	c := client(5 * time.Second)
	body := `{"name":"exp"}`
	_, err := c.Post(p.URL+"/create", "application/json", strings.NewReader(body))
	require.Error(t, err, "no response")
	require.True(t, errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF), "a closed connection, not a timeout: %v", err)
	n, got := b.count("/create")
	require.Equal(t, 1, n, "the server handled the request")
	require.Equal(t, len(body), got, "with its whole body")
	resp, err := c.Post(p.URL+"/create", "application/json", strings.NewReader(body))
	require.NoError(t, err, "Times: 1 fires once")
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, 1, p.Fired(in))
	require.Equal(t, 2, p.Count("/create"))
}

// The client's upload is cut by a reset after the given bytes; the server
// sees nothing.
func TestProxy_Inject_ResetUpload(t *testing.T) {
	b := newBackend(t)
	p := startProxy(t, b.srv.URL)
	p.Inject(faultproxy.Rule{Match: faultproxy.PathPrefix("/artifacts/"), Fault: faultproxy.Reset(64 << 10)})
	c := client(10 * time.Second)
	req, err := http.NewRequest(http.MethodPut, p.URL+"/artifacts/big.bin", bytes.NewReader(make([]byte, 32<<20)))
	require.NoError(t, err)
	_, err = c.Do(req)
	require.Error(t, err, "the upload fails")

	// On the wire it is a reset (RST), not a close (FIN, read as EOF).
	conn, err := net.Dial("tcp", strings.TrimPrefix(p.URL, "http://"))
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(5*time.Second)))
	_, err = io.WriteString(conn, "PUT /artifacts/big.bin HTTP/1.1\r\nHost: x\r\nContent-Length: 33554432\r\n\r\n")
	require.NoError(t, err)
	chunk := make([]byte, 16<<10)
	for sent := 0; sent < 32<<20 && err == nil; sent += len(chunk) {
		_, err = conn.Write(chunk)
	}
	if err == nil {
		_, err = conn.Read(chunk)
	}
	require.True(t, errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE),
		"a reset connection (or the broken pipe of writing into one): %v", err)

	n, _ := b.count("/artifacts/big.bin")
	require.Zero(t, n, "nothing forwarded")
	require.Equal(t, 2, p.Count("/artifacts/big.bin"))
}

// A held request is never forwarded when the client times out first.
func TestProxy_Inject_DelayPastTimeout(t *testing.T) {
	b := newBackend(t)
	p := startProxy(t, b.srv.URL)
	p.Inject(faultproxy.Rule{Match: faultproxy.Path("/slow"), Fault: faultproxy.Hold(time.Second)})
	start := time.Now()
	_, _, err := get(t, client(150*time.Millisecond), p.URL+"/slow")
	require.Error(t, err)
	var ne net.Error
	require.True(t, errors.As(err, &ne) && ne.Timeout(), "the client's timeout: %v", err)
	require.Less(t, time.Since(start), 900*time.Millisecond)
	time.Sleep(1200 * time.Millisecond) // past the hold
	n, _ := b.count("/slow")
	require.Zero(t, n, "the request was dropped with its client")

	// A patient client gets the answer after the hold.
	start = time.Now()
	resp, body, err := get(t, client(5*time.Second), p.URL+"/slow")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "ok GET /slow ", body)
	require.GreaterOrEqual(t, time.Since(start), time.Second)
}

// A held response: the server has handled the request, the client times out.
func TestProxy_Inject_DelayResponsePastTimeout(t *testing.T) {
	b := newBackend(t)
	p := startProxy(t, b.srv.URL)
	p.Inject(faultproxy.Rule{Match: faultproxy.Path("/commit"), Times: 1, Fault: faultproxy.HoldResponse(2 * time.Second)})
	_, _, err := get(t, client(200*time.Millisecond), p.URL+"/commit")
	var ne net.Error
	require.True(t, errors.As(err, &ne) && ne.Timeout(), "the client's timeout: %v", err)
	n, _ := b.count("/commit")
	require.Equal(t, 1, n, "the server committed before the client gave up")
}

// 503 and 429 with Retry-After come from the proxy, not the server.
func TestProxy_Inject_Reject(t *testing.T) {
	b := newBackend(t)
	p := startProxy(t, b.srv.URL)
	p.Inject(faultproxy.Rule{Match: faultproxy.Path("/busy"), Fault: faultproxy.Refuse(http.StatusServiceUnavailable, "2")})
	p.Inject(faultproxy.Rule{Match: faultproxy.Path("/limited"), Fault: faultproxy.Refuse(http.StatusTooManyRequests, "Wed, 21 Oct 2015 07:28:00 GMT")})
	p.Inject(faultproxy.Rule{Match: faultproxy.Path("/plain"), Fault: faultproxy.Refuse(http.StatusBadGateway, "")})
	c := client(5 * time.Second)
	for _, tc := range []struct {
		path, retryAfter string
		status           int
	}{
		{"/busy", "2", http.StatusServiceUnavailable},
		{"/limited", "Wed, 21 Oct 2015 07:28:00 GMT", http.StatusTooManyRequests},
		{"/plain", "", http.StatusBadGateway},
	} {
		resp, _, err := get(t, c, p.URL+tc.path)
		require.NoError(t, err)
		require.Equal(t, tc.status, resp.StatusCode, tc.path)
		require.Equal(t, tc.retryAfter, resp.Header.Get("Retry-After"), tc.path)
		require.Empty(t, resp.Header.Get("X-Backend"), "not forwarded")
		n, _ := b.count(tc.path)
		require.Zero(t, n, tc.path)
	}
}

// Skip and Times choose requests by count; rules are met in order and the
// first that fires ends the search.
func TestProxy_Inject_SkipTimesOrder(t *testing.T) {
	b := newBackend(t)
	p := startProxy(t, b.srv.URL)
	third := p.Inject(faultproxy.Rule{Match: faultproxy.Path("/batch"), Skip: 2, Times: 1, Fault: faultproxy.Refuse(429, "0")})
	every := p.Inject(faultproxy.Rule{Fault: faultproxy.Refuse(503, "")}) // matches all that get past the first
	p.Inject(faultproxy.Rule{Match: faultproxy.Path("/batch"), Skip: 1})  // never reached
	c := client(5 * time.Second)
	var statuses []int
	for range 4 {
		resp, _, err := get(t, c, p.URL+"/batch")
		require.NoError(t, err)
		statuses = append(statuses, resp.StatusCode)
	}
	require.Equal(t, []int{503, 503, 429, 503}, statuses)
	require.Equal(t, 1, p.Fired(third))
	require.Equal(t, 3, p.Fired(every))

	p.Clear()
	resp, _, err := get(t, c, p.URL+"/batch")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "no rules: pass")
	require.Equal(t, 5, p.Count("/batch"), "counts survive Clear")
	n, _ := b.count("/batch")
	require.Equal(t, 1, n)
}

func TestNew_BadTarget(t *testing.T) {
	for _, target := range []string{"", "127.0.0.1:5000", "https://127.0.0.1:5000", "http://%zz"} {
		_, err := faultproxy.New(target)
		require.Error(t, err, target)
		require.Contains(t, err.Error(), "faultproxy: target", target)
	}
}
