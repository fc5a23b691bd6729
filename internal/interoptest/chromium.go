package interoptest

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mlruns-go/mlruns/internal/procgroup"
)

// chromiumNames are the commands tried, in order, when $MLRUNS_CHROMIUM is
// unset: Debian's package installs `chromium`.
var chromiumNames = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}

// Chromium returns the path of a Chromium binary: $MLRUNS_CHROMIUM, else
// the first of chromium, chromium-browser, google-chrome on PATH. Like
// Python, it skips t when none is found, or fails it under
// MLRUNS_INTEROP=required.
func Chromium(t testing.TB) string {
	t.Helper()
	if Off() {
		t.Skip("skipping browser test: MLRUNS_INTEROP=off or -short")
	}
	if p := os.Getenv("MLRUNS_CHROMIUM"); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("MLRUNS_CHROMIUM=%s: %v", p, err)
		}
		return p
	}
	for _, name := range chromiumNames {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "no Chromium on PATH (tried " + strings.Join(chromiumNames, ", ") +
		"; install Debian's with `apt-get install -y chromium`, as scripts/test.sh does, or set MLRUNS_CHROMIUM)"
	if Required() {
		t.Fatalf("browser test required but %s", msg)
	}
	t.Skipf("skipping browser test: %s", msg)
	return ""
}

// Browser is a headless Chromium driven over the DevTools protocol. It
// talks over --remote-debugging-pipe (JSON messages ending in NUL on file
// descriptors 3 and 4), which needs no WebSocket client and no port.
type Browser struct {
	width, height int // of every page's viewport

	cmd    *exec.Cmd
	send   *os.File // Chromium's fd 3: commands
	exited chan struct{}
	stderr *procgroup.Buffer

	mu struct {
		sync.Mutex
		nextID     int64
		pending    map[int64]chan cdpMessage
		exceptions []string // uncaught JavaScript exceptions of attached pages
		err        error    // set when the pipe is closed
	}
}

type cdpMessage struct {
	ID        int64           `json:"id,omitempty"`
	Method    string          `json:"method,omitempty"`
	Params    json.RawMessage `json:"params,omitempty"`
	SessionID string          `json:"sessionId,omitempty"`
	Result    json.RawMessage `json:"result,omitempty"`
	Error     *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error,omitempty"`
}

// StartBrowser starts headless Chromium (Chromium(t)) with a fresh profile;
// its pages have a viewport of width x height CSS pixels. It stops the
// browser (its whole process group) in t.Cleanup.
func StartBrowser(t testing.TB, width, height int) *Browser {
	t.Helper()
	bin := Chromium(t)
	cmdR, cmdW, err := os.Pipe()
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	respR, respW, err := os.Pipe()
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	cmd := exec.Command(bin,
		"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
		"--disable-background-networking", "--no-default-browser-check",
		"--disable-dev-shm-usage", "--hide-scrollbars", "--mute-audio",
		"--remote-debugging-pipe",
		"--user-data-dir="+t.TempDir(),
		"--window-size="+strconv.Itoa(width)+","+strconv.Itoa(height),
		"about:blank")
	cmd.ExtraFiles = []*os.File{cmdR, respW} // fd 3 and fd 4
	procgroup.Own(cmd)
	b := &Browser{width: width, height: height, cmd: cmd, send: cmdW, exited: make(chan struct{}), stderr: &procgroup.Buffer{}}
	b.mu.pending = map[int64]chan cdpMessage{}
	cmd.Stdout, cmd.Stderr = b.stderr, b.stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("chromium: %v", err)
	}
	cmdR.Close()
	respW.Close()
	go func() {
		_ = cmd.Wait()
		close(b.exited)
	}()
	go b.read(respR)
	t.Cleanup(func() {
		b.stop()
		if t.Failed() {
			t.Logf("chromium output:\n%s", tail(b.stderr.String(), 40))
		}
	})
	return b
}

// read delivers replies to their callers until the pipe closes.
func (b *Browser) read(r *os.File) {
	defer r.Close()
	br := bufio.NewReader(r)
	for {
		raw, err := br.ReadBytes(0)
		if err != nil {
			b.mu.Lock()
			b.mu.err = fmt.Errorf("chromium closed the DevTools pipe: %w", err)
			for id, ch := range b.mu.pending {
				close(ch)
				delete(b.mu.pending, id)
			}
			b.mu.Unlock()
			return
		}
		var m cdpMessage
		if err := json.Unmarshal(raw[:len(raw)-1], &m); err != nil {
			continue
		}
		b.mu.Lock()
		if m.ID != 0 {
			if ch, ok := b.mu.pending[m.ID]; ok {
				ch <- m
				delete(b.mu.pending, m.ID)
			}
		} else if m.Method == "Runtime.exceptionThrown" {
			var p struct {
				Details struct {
					Text      string `json:"text"`
					Exception struct {
						Description string `json:"description"`
					} `json:"exception"`
				} `json:"exceptionDetails"`
			}
			if json.Unmarshal(m.Params, &p) == nil {
				b.mu.exceptions = append(b.mu.exceptions, strings.TrimSpace(p.Details.Text+" "+p.Details.Exception.Description))
			}
		}
		b.mu.Unlock()
	}
}

// call sends a command (to a page when session is set) and decodes its
// result into out (if not nil).
func (b *Browser) call(ctx context.Context, session, method string, params, out any) error {
	if params == nil {
		params = struct{}{}
	}
	p, err := json.Marshal(params)
	if err != nil {
		return err
	}
	ch := make(chan cdpMessage, 1)
	b.mu.Lock()
	if b.mu.err != nil {
		b.mu.Unlock()
		return b.mu.err
	}
	b.mu.nextID++
	id := b.mu.nextID
	b.mu.pending[id] = ch
	b.mu.Unlock()
	msg, err := json.Marshal(cdpMessage{ID: id, Method: method, Params: p, SessionID: session})
	if err != nil {
		return err
	}
	if _, err := b.send.Write(append(msg, 0)); err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	select {
	case m, ok := <-ch:
		if !ok {
			b.mu.Lock()
			defer b.mu.Unlock()
			return fmt.Errorf("%s: %w", method, b.mu.err)
		}
		if m.Error != nil {
			return fmt.Errorf("%s: %s (%d)", method, m.Error.Message, m.Error.Code)
		}
		if out != nil {
			return json.Unmarshal(m.Result, out)
		}
		return nil
	case <-ctx.Done():
		b.mu.Lock()
		delete(b.mu.pending, id)
		b.mu.Unlock()
		return fmt.Errorf("%s: %w", method, ctx.Err())
	}
}

// Exceptions returns the uncaught JavaScript exceptions pages have thrown.
func (b *Browser) Exceptions() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.mu.exceptions)
}

// stop closes the browser politely, then kills its process group.
func (b *Browser) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_ = b.call(ctx, "", "Browser.close", nil, nil)
	pgid := b.cmd.Process.Pid
	select {
	case <-b.exited:
	case <-time.After(5 * time.Second):
		procgroup.Kill(pgid)
		<-b.exited
	}
	procgroup.Kill(pgid) // renderers and helpers left behind
	b.send.Close()
}

// Page is one browser tab.
type Page struct {
	b       *Browser
	session string
}

// NewPage opens a tab on about:blank with the browser's viewport size and
// attaches to it.
func (b *Browser) NewPage(ctx context.Context) (*Page, error) {
	var target struct {
		TargetID string `json:"targetId"`
	}
	if err := b.call(ctx, "", "Target.createTarget", map[string]any{"url": "about:blank"}, &target); err != nil {
		return nil, err
	}
	var attached struct {
		SessionID string `json:"sessionId"`
	}
	if err := b.call(ctx, "", "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, &attached); err != nil {
		return nil, err
	}
	p := &Page{b: b, session: attached.SessionID}
	for _, domain := range []string{"Page.enable", "Runtime.enable"} {
		if err := b.call(ctx, p.session, domain, nil, nil); err != nil {
			return nil, err
		}
	}
	// --window-size sizes the window, not the viewport; this makes the
	// screenshot exactly width x height.
	err := b.call(ctx, p.session, "Emulation.setDeviceMetricsOverride", map[string]any{
		"width": b.width, "height": b.height, "deviceScaleFactor": 1, "mobile": false,
	}, nil)
	if err != nil {
		return nil, err
	}
	return p, nil
}

// Navigate loads url in the page.
func (p *Page) Navigate(ctx context.Context, url string) error {
	var res struct {
		ErrorText string `json:"errorText"`
	}
	if err := p.b.call(ctx, p.session, "Page.navigate", map[string]any{"url": url}, &res); err != nil {
		return err
	}
	if res.ErrorText != "" {
		return fmt.Errorf("navigate to %s: %s", url, res.ErrorText)
	}
	return nil
}

// Eval evaluates a JavaScript expression (awaiting a promise) and decodes
// its value into out (if not nil).
func (p *Page) Eval(ctx context.Context, expr string, out any) error {
	var res struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text      string `json:"text"`
			Exception struct {
				Description string `json:"description"`
			} `json:"exception"`
		} `json:"exceptionDetails"`
	}
	err := p.b.call(ctx, p.session, "Runtime.evaluate", map[string]any{
		"expression": expr, "returnByValue": true, "awaitPromise": true,
	}, &res)
	if err != nil {
		return err
	}
	if d := res.ExceptionDetails; d != nil {
		return fmt.Errorf("javascript: %s %s", d.Text, d.Exception.Description)
	}
	if out == nil || len(res.Result.Value) == 0 {
		return nil
	}
	return json.Unmarshal(res.Result.Value, out)
}

// WaitFor evaluates a JavaScript condition every 200 ms until it is true or
// ctx ends; the error says which condition did not hold.
func (p *Page) WaitFor(ctx context.Context, what, cond string) error {
	for {
		var ok bool
		err := p.Eval(ctx, "Boolean("+cond+")", &ok)
		if err == nil && ok {
			return nil
		}
		select {
		case <-ctx.Done():
			if err != nil && !errors.Is(err, ctx.Err()) {
				return fmt.Errorf("waiting for %s: %w", what, err)
			}
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Screenshot returns a PNG of the page's viewport.
func (p *Page) Screenshot(ctx context.Context) ([]byte, error) {
	var res struct {
		Data string `json:"data"`
	}
	if err := p.b.call(ctx, p.session, "Page.captureScreenshot", map[string]any{"format": "png"}, &res); err != nil {
		return nil, err
	}
	return base64.StdEncoding.DecodeString(res.Data)
}

// tail is the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
