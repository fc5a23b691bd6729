// Package faultproxy is a fault-injecting reverse proxy for tests of HTTP
// clients against a real server (the REST backend against `mlflow server`):
// it sits on 127.0.0.1 in front of the server's URL and, on the requests a
// rule picks, loses the response after the server committed the request,
// resets the connection in the middle of an upload, holds a request or its
// response past the client's timeout, or answers 503/429 with Retry-After
// without forwarding. It counts requests per path. The faults live here,
// never as hooks in product code.
//
// Like internal/interoptest it is for tests only.
package faultproxy

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Kind is what a Fault does.
type Kind int

const (
	// Pass forwards the request as it is (the zero Fault).
	Pass Kind = iota
	// DropResponse forwards the request, waits for the server's whole
	// answer (the server has committed), then closes the client's
	// connection without sending any of it: the "committed but lost" case
	// that makes re-sending a non-idempotent request dangerous.
	DropResponse
	// ResetUpload reads Fault.After bytes of the request body, then resets
	// the client's connection (TCP RST); nothing is forwarded.
	ResetUpload
	// Delay holds the request for Fault.Wait before forwarding it; a client
	// that gives up meanwhile (its timeout) gets nothing and the request is
	// not forwarded.
	Delay
	// DelayResponse forwards the request at once (the server commits) and
	// holds the server's answer for Fault.Wait; a client that gives up
	// meanwhile never sees it.
	DelayResponse
	// Reject answers Fault.Status with Fault.RetryAfter as the Retry-After
	// header (when not empty) and a short text body, without forwarding,
	// as a load balancer or a busy server does.
	Reject
)

func (k Kind) String() string {
	switch k {
	case Pass:
		return "pass"
	case DropResponse:
		return "drop-response"
	case ResetUpload:
		return "reset-upload"
	case Delay:
		return "delay"
	case DelayResponse:
		return "delay-response"
	case Reject:
		return "reject"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Fault is one misbehaviour; the constructors below make valid ones.
type Fault struct {
	Kind       Kind
	After      int64         // ResetUpload: body bytes read before the reset
	Wait       time.Duration // Delay, DelayResponse
	Status     int           // Reject
	RetryAfter string        // Reject: the Retry-After value (seconds or an HTTP date); "" sends none
}

// Drop is a DropResponse fault.
func Drop() Fault { return Fault{Kind: DropResponse} }

// Reset is a ResetUpload fault after n body bytes.
func Reset(n int64) Fault { return Fault{Kind: ResetUpload, After: n} }

// Hold is a Delay fault of d.
func Hold(d time.Duration) Fault { return Fault{Kind: Delay, Wait: d} }

// HoldResponse is a DelayResponse fault of d.
func HoldResponse(d time.Duration) Fault { return Fault{Kind: DelayResponse, Wait: d} }

// Refuse is a Reject fault: status with Retry-After retryAfter.
func Refuse(status int, retryAfter string) Fault {
	return Fault{Kind: Reject, Status: status, RetryAfter: retryAfter}
}

// Rule picks requests for a fault: of the requests Match accepts (all when
// nil), the first Skip pass, the next Times (every later one when 0) get
// Fault.
type Rule struct {
	Match func(*http.Request) bool
	Skip  int
	Times int
	Fault Fault
}

// Path matches requests for exactly path (the URL path, without query).
func Path(path string) func(*http.Request) bool {
	return func(r *http.Request) bool { return r.URL.Path == path }
}

// PathPrefix matches requests whose URL path starts with prefix.
func PathPrefix(prefix string) func(*http.Request) bool {
	return func(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, prefix) }
}

// Injection is a rule added to a proxy; it says how often it has fired.
type Injection struct {
	rule  Rule
	seen  int // requests the rule matched
	fired int
}

// Proxy is a running fault-injecting proxy.
type Proxy struct {
	// URL is the proxy's base URL, http://127.0.0.1:PORT: use it in place
	// of the server's.
	URL string

	target    *url.URL
	srv       *httptest.Server
	transport *http.Transport
	rp        *httputil.ReverseProxy

	mu     sync.Mutex
	rules  []*Injection
	counts map[string]int
}

// New starts a proxy on a free port of 127.0.0.1 in front of target, an
// http:// base URL (a path prefix is kept). Close stops it.
func New(target string) (*Proxy, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("faultproxy: target %q: %w", target, err)
	}
	if u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("faultproxy: target %q: want an http://host:port URL", target)
	}
	p := &Proxy{
		target:    u,
		transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 16, IdleConnTimeout: 30 * time.Second},
		counts:    map[string]int{},
	}
	p.rp = &httputil.ReverseProxy{
		Rewrite:   func(pr *httputil.ProxyRequest) { pr.SetURL(u) },
		Transport: p.transport,
	}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	p.URL = p.srv.URL
	return p, nil
}

// Close stops the proxy and closes its connections to the server.
func (p *Proxy) Close() {
	p.srv.CloseClientConnections()
	p.srv.Close()
	p.transport.CloseIdleConnections()
}

// Inject adds a rule. A request meets the rules in the order they were
// added; each rule that matches counts it, and the first whose Skip is used
// up and whose Times is not fires, ending the search.
func (p *Proxy) Inject(r Rule) *Injection {
	in := &Injection{rule: r}
	p.mu.Lock()
	p.rules = append(p.rules, in)
	p.mu.Unlock()
	return in
}

// Clear removes every rule; counts stay.
func (p *Proxy) Clear() {
	p.mu.Lock()
	p.rules = nil
	p.mu.Unlock()
}

// Fired reports how many requests got the injection's fault.
func (p *Proxy) Fired(in *Injection) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return in.fired
}

// Count is how many requests for path (the URL path) have arrived,
// faulted or not.
func (p *Proxy) Count(path string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.counts[path]
}

// Counts is the number of requests per URL path that have arrived.
func (p *Proxy) Counts() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]int, len(p.counts))
	for k, v := range p.counts {
		out[k] = v
	}
	return out
}

// pick counts r and returns the fault the rules give it.
func (p *Proxy) pick(r *http.Request) Fault {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.counts[r.URL.Path]++
	for _, in := range p.rules {
		if in.rule.Match != nil && !in.rule.Match(r) {
			continue
		}
		in.seen++
		if in.seen <= in.rule.Skip || (in.rule.Times > 0 && in.fired >= in.rule.Times) {
			continue
		}
		in.fired++
		return in.rule.Fault
	}
	return Fault{}
}

func (p *Proxy) serve(w http.ResponseWriter, r *http.Request) {
	f := p.pick(r)
	switch f.Kind {
	case DropResponse:
		// The whole answer is read, so the server has finished the request.
		if _, _, err := p.roundTrip(r); err != nil {
			http.Error(w, "faultproxy: "+err.Error(), http.StatusBadGateway)
			return
		}
		hangUp(w, false)
	case ResetUpload:
		_, _ = io.CopyN(io.Discard, r.Body, f.After)
		hangUp(w, true)
	case Delay:
		if !sleep(r.Context(), f.Wait) {
			return // the client gave up: nothing forwarded
		}
		p.rp.ServeHTTP(w, r)
	case DelayResponse:
		resp, body, err := p.roundTrip(r)
		if err != nil {
			http.Error(w, "faultproxy: "+err.Error(), http.StatusBadGateway)
			return
		}
		if !sleep(r.Context(), f.Wait) {
			return
		}
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = w.Write(body)
	case Reject:
		if f.RetryAfter != "" {
			w.Header().Set("Retry-After", f.RetryAfter)
		}
		status := f.Status
		if status == 0 {
			status = http.StatusServiceUnavailable
		}
		http.Error(w, "faultproxy: "+http.StatusText(status), status)
	default:
		p.rp.ServeHTTP(w, r)
	}
}

// roundTrip sends r to the server and reads its whole answer.
func (p *Proxy) roundTrip(r *http.Request) (*http.Response, []byte, error) {
	out := r.Clone(r.Context())
	out.RequestURI = ""
	out.URL.Scheme, out.URL.Host = p.target.Scheme, p.target.Host
	out.URL.Path = strings.TrimSuffix(p.target.Path, "/") + r.URL.Path
	out.URL.RawPath = ""
	out.Header.Del("Connection")
	resp, err := p.transport.RoundTrip(out)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, resp.Body); err != nil {
		return nil, nil, err
	}
	return resp, buf.Bytes(), nil
}

// hangUp closes the client's connection without an answer: with a reset
// (RST, no lingering) when reset is true, else a plain close (FIN).
func hangUp(w http.ResponseWriter, reset bool) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// Not an HTTP/1 connection: abort the handler, which closes it.
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok && reset {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// sleep waits d and reports true, or false when ctx ends first.
func sleep(ctx context.Context, d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}
