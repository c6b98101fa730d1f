package main

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// browserPath finds headless Chromium (Debian's package "chromium", which
// .ci/run installs). Without it the browser tests skip, except under
// CI=true, where they must run.
func browserPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("EVIDENCE_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("CI=true but no Chromium: install the Debian package chromium (.ci/run does)")
	}
	t.Skip("no Chromium on this machine (apt-get install chromium); the browser tests run under CI=true")
	return ""
}

// pageLog is what a page did while it was open: every request it made and
// every console error, exception or browser log error.
type pageLog struct {
	mu       sync.Mutex
	requests []string
	errors   []string
	warnings []string
}

func (l *pageLog) snapshot() (req, errs, warns []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.requests...), append([]string(nil), l.errors...), append([]string(nil), l.warnings...)
}

// openPage starts a fresh headless Chromium with the network made
// unreachable (every host name resolves to nothing, every connection goes
// to a closed local proxy port, and http(s)/ws(s) URLs are blocked in the
// page), opens url and waits for it to load. The returned log keeps
// recording until ctx ends.
func openPage(t *testing.T, url string) (context.Context, *pageLog) {
	t.Helper()
	exe := browserPath(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 1000),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND"),
		chromedp.ProxyServer("http://127.0.0.1:9"),
		chromedp.Flag("proxy-bypass-list", "<-loopback>"),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	tctx, cancelT := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelT(); cancelC(); cancelA() })

	if err := chromedp.Do(tctx); err != nil { // start the browser and the tab
		t.Fatalf("starting Chromium %s: %v", exe, err)
	}
	if _, err := chromedp.Call(tctx, network.SetBlockedURLs, network.SetBlockedURLsParams{URLPatterns: []*network.BlockPattern{
		{URLPattern: "http://*:*/*", Block: true}, {URLPattern: "https://*:*/*", Block: true},
		{URLPattern: "ws://*:*/*", Block: true}, {URLPattern: "wss://*:*/*", Block: true},
	}}); err != nil {
		t.Fatalf("blocking the network in the page: %v", err)
	}
	l := &pageLog{}
	requests := chromedp.Events(tctx, network.RequestWillBeSent)
	console := chromedp.Console(tctx)
	go func() {
		for ev, err := range requests {
			if err != nil {
				return
			}
			l.mu.Lock()
			l.requests = append(l.requests, ev.Request.URL)
			l.mu.Unlock()
		}
	}()
	go func() {
		for m, err := range console {
			if err != nil {
				return
			}
			l.mu.Lock()
			switch m.Type {
			case chromedp.ConsoleError, chromedp.ConsoleException:
				l.errors = append(l.errors, string(m.Type)+": "+m.String())
			case chromedp.ConsoleWarning:
				l.warnings = append(l.warnings, m.String())
			}
			l.mu.Unlock()
		}
	}()
	if err := chromedp.Do(tctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("opening %s: %v", url, err)
	}
	// Let late events (a deferred fetch, a CSP report) arrive.
	if err := chromedp.Do(tctx, chromedp.Sleep(500*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	return tctx, l
}

// assertQuiet fails if the page made any request but for itself, or wrote
// any error to the console.
func assertQuiet(t *testing.T, l *pageLog, self string) {
	t.Helper()
	req, errs, warns := l.snapshot()
	for _, r := range req {
		if r != self {
			t.Errorf("the page made a request: %s", r)
		}
	}
	if len(req) == 0 {
		t.Errorf("no request recorded at all, not even the page itself: the request log does not work")
	}
	for _, e := range errs {
		t.Errorf("console: %s", e)
	}
	for _, w := range warns {
		t.Logf("console warning: %s", w)
	}
}

// eval runs a JavaScript expression in the page and returns its value.
func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluating %s: %v", strings.TrimSpace(js), err)
	}
	return v
}

// TestBrowserHarnessCatchesLeaks proves the checks of the report's browser
// test can fail: a page that fetches from the network and throws is caught.
func TestBrowserHarnessCatchesLeaks(t *testing.T) {
	dir := t.TempDir()
	page := dir + "/leaky.html"
	html := `<!DOCTYPE html><html><head><meta charset="utf-8"><title>leaky</title></head><body>
<img src="http://192.0.2.1/tracker.png" alt="">
<script>fetch("https://example.com/beacon").catch(function(){}); throw new Error("boom");</script>
</body></html>`
	if err := os.WriteFile(page, []byte(html), 0o644); err != nil {
		t.Fatal(err)
	}
	self := "file://" + page
	_, l := openPage(t, self)
	req, errs, _ := l.snapshot()
	t.Logf("requests: %v; errors: %v", req, errs)
	var leaked []string
	for _, r := range req {
		if r != self {
			leaked = append(leaked, r)
		}
	}
	if len(leaked) < 2 {
		t.Errorf("the harness saw %d outgoing requests (%v); the page makes 2", len(leaked), leaked)
	}
	var threw bool
	for _, e := range errs {
		if strings.Contains(e, "boom") {
			threw = true
		}
	}
	if !threw {
		t.Errorf("the harness missed the page's exception; errors seen: %v", errs)
	}
}
