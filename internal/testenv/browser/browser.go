// Package browser drives Debian's Chromium headless through chromedp for
// the browser tests of the users' surfaces: one browser per test binary
// (Main stops it), a browser context of its own per tab, so cookies never
// leak between tests, and a tab fails its test on any JavaScript exception
// or console error. Axe runs axe-core in the page.
//
// The admin center's tests build their larger helpers on a Tab
// (internal/admincenter/browser_test.go): Context gives them the tab's
// chromedp context, AxeViolations axe's findings to report as they like.
package browser

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// ChromiumPath is where Debian's chromium package puts the browser.
const ChromiumPath = "/usr/bin/chromium"

var shared struct {
	once        sync.Once
	ctx         context.Context
	cancel      context.CancelFunc
	allocCancel context.CancelFunc
	dir         string
	err         error
}

// Main runs the tests and stops the browser; call it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	if shared.cancel != nil {
		shared.cancel()
		shared.allocCancel()
	}
	if shared.dir != "" {
		os.RemoveAll(shared.dir)
	}
	os.Exit(code)
}

func start() {
	if _, err := os.Stat(ChromiumPath); err != nil {
		shared.err = fmt.Errorf("the browser tests need Chromium at %s (apt-get install -y chromium), or GATEHOUSE_BROWSER_TESTS=off to leave them out: %w",
			ChromiumPath, err)
		return
	}
	dir, err := os.MkdirTemp("", "gatehouse-chromium-")
	if err != nil {
		shared.err = err
		return
	}
	shared.dir = dir
	allocCtx, allocCancel := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(ChromiumPath), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(dir), chromedp.WindowSize(1366, 900),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true), chromedp.Flag("password-store", "basic"), chromedp.Flag("use-mock-keychain", true),
		chromedp.Flag("disable-features", "Translate,MediaRouter,OptimizationHints,AutofillServerCommunication"))
	ctx, cancel := chromedp.NewContext(allocCtx)
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		allocCancel()
		shared.err = fmt.Errorf("start chromium: %w", err)
		return
	}
	shared.ctx, shared.cancel, shared.allocCancel = ctx, cancel, allocCancel
}

// Tab is one browser tab of a test.
type Tab struct {
	t       *testing.T
	ctx     context.Context
	mu      sync.Mutex
	allowed []string
}

// NewTab opens a tab in a fresh browser context. Without Chromium the test
// fails (the browser tests are part of the suite; GATEHOUSE_BROWSER_TESTS=off
// leaves them out, saying so).
func NewTab(t *testing.T) *Tab {
	t.Helper()
	if os.Getenv("GATEHOUSE_BROWSER_TESTS") == "off" {
		t.Skip("browser tests left out: GATEHOUSE_BROWSER_TESTS=off")
	}
	shared.once.Do(start)
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	ctx, cancel := chromedp.NewContext(shared.ctx, chromedp.WithNewBrowserContext())
	b := &Tab{t: t, ctx: ctx}
	messages := chromedp.Console(ctx)
	var bad []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleException {
				b.mu.Lock()
				bad = append(bad, fmt.Sprintf("%s (%s:%d)", m, m.URL, m.Line+1))
				b.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		b.mu.Lock()
		defer b.mu.Unlock()
		var kept []string
		for _, m := range bad {
			ok := false
			for _, a := range b.allowed {
				ok = ok || strings.Contains(m, a)
			}
			if !ok {
				kept = append(kept, m)
			}
		}
		if len(kept) > 0 {
			t.Errorf("the page had JavaScript exceptions or console errors:\n  %s", strings.Join(kept, "\n  "))
		}
	})
	return b
}

// AllowConsole lets console errors containing text pass: a page answered
// with 401 or 403 on purpose logs "Failed to load resource: the server
// responded with a status of 401".
func (b *Tab) AllowConsole(text string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.allowed = append(b.allowed, text)
}

// Context is the tab's chromedp context, for steps the helpers here do
// not cover.
func (b *Tab) Context() context.Context { return b.ctx }

// Do runs steps with a time limit, failing the test on an error.
func (b *Tab) Do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v (at %s)", what, err, b.Location())
	}
}

// Location is the page's URL.
func (b *Tab) Location() string {
	ctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
	defer cancel()
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	return loc
}

// Open navigates and waits for the load event.
func (b *Tab) Open(url string) {
	b.t.Helper()
	b.Do("open "+url, chromedp.Navigate(url))
}

// Type types text into the element with the id, as a user does.
func (b *Tab) Type(id, text string) {
	b.t.Helper()
	b.Do("type into #"+id, chromedp.SendKeys(chromedp.ID(id), text))
}

// ClickLoads clicks what the CSS selector finds (a link or a submit
// button) and waits until the next page has loaded.
func (b *Tab) ClickLoads(css string) {
	b.t.Helper()
	b.Text(css)
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.CSS(css)))); err != nil {
		b.t.Fatalf("click %s: %v (at %s)", css, err, b.Location())
	}
}

// Eval evaluates a JavaScript expression in the page.
func Eval[T any](b *Tab, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("evaluate %.80s: %v", expr, err)
	}
	return v
}

// Text returns the visible text of the first element the CSS selector
// finds, white space collapsed, waiting until it is shown.
func (b *Tab) Text(css string) string {
	b.t.Helper()
	expr := `(function(){var e=document.querySelector(` + strconv.Quote(css) + `);
		if(!e||!e.getClientRects().length) return null; return e.innerText.replace(/\s+/g," ").trim()})()`
	deadline := time.Now().Add(15 * time.Second)
	for {
		if v := Eval[*string](b, expr); v != nil {
			return *v
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("no visible %s at %s", css, b.Location())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// AxeSource returns axe.min.js (npm axe-core@4): from GATEHOUSE_AXE, else
// the global npm modules. Without it the test skips saying why, or fails
// under GATEHOUSE_TEST_STRICT.
func AxeSource(t *testing.T) string {
	t.Helper()
	src, missing := FindAxe()
	if missing == "" {
		return src
	}
	if os.Getenv("GATEHOUSE_TEST_STRICT") != "" {
		t.Fatal(missing)
	}
	t.Skip(missing)
	return ""
}

// FindAxe reads axe.min.js, or says where it looked for it.
func FindAxe() (src, missing string) {
	candidates := []string{os.Getenv("GATEHOUSE_AXE")}
	if candidates[0] == "" {
		candidates = []string{"/usr/lib/node_modules/axe-core/axe.min.js", "/usr/local/lib/node_modules/axe-core/axe.min.js"}
		if out, err := exec.Command("npm", "root", "-g").Output(); err == nil {
			candidates = append(candidates, filepath.Join(strings.TrimSpace(string(out)), "axe-core", "axe.min.js"))
		}
	}
	for _, path := range candidates {
		if b, err := os.ReadFile(path); err == nil {
			return string(b), ""
		}
	}
	return "", fmt.Sprintf("axe-core is not installed (looked for %s): npm install -g axe-core@4, or set GATEHOUSE_AXE to axe.min.js",
		strings.Join(candidates, ", "))
}

// AxeViolation is the part of an axe-core result a report needs.
type AxeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target         []any  `json:"target"`
		FailureSummary string `json:"failureSummary"`
	} `json:"nodes"`
}

// AxeViolations runs axe-core (WCAG 2 A and AA and best practices) on the
// page as it is now and returns its serious and critical violations.
func (b *Tab) AxeViolations(src string) []AxeViolation {
	b.t.Helper()
	if !Eval[bool](b, `typeof window.axe === "object"`) {
		// Evaluated through the DevTools protocol, not subject to the
		// page's Content-Security-Policy.
		Eval[bool](b, src+"\n;true")
	}
	return Eval[[]AxeViolation](b, `axe.run(document).then(r => r.violations.filter(v => v.impact === "serious" || v.impact === "critical"))`)
}

// Axe reports each serious or critical axe-core violation of the page as
// it is now as an error of the test.
func (b *Tab) Axe(src, pageName string) {
	b.t.Helper()
	for _, v := range b.AxeViolations(src) {
		for _, n := range v.Nodes {
			b.t.Errorf("%s: axe %s (%s): %s at %v: %s", pageName, v.ID, v.Impact, v.Help, n.Target,
				strings.ReplaceAll(strings.TrimSpace(n.FailureSummary), "\n", " "))
		}
	}
}
