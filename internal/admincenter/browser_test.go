package admincenter_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/accessibility"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/dom"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/gatehouse-mail/gatehouse/internal/testenv/browser"
)

// The browser tests drive Debian's Chromium headless through chromedp,
// started by internal/testenv/browser: one browser for every test of this
// binary, a browser context of its own per test (cookies never leak between
// tests), and a test fails on any JavaScript exception or console error in
// its tab. The helpers below add what the admin center's tests need.

func TestMain(m *testing.M) { browser.Main(m) }

// tab is one browser tab of a test.
type tab struct {
	*browser.Tab
	t   *testing.T
	ctx context.Context
}

// allowConsole lets console errors that contain text pass: a test that
// opens an error page on purpose expects Chromium's "Failed to load
// resource: the server responded with a status of 404".
func (b *tab) allowConsole(text string) { b.AllowConsole(text) }

func newTab(t *testing.T) *tab {
	t.Helper()
	bt := browser.NewTab(t)
	return &tab{Tab: bt, t: t, ctx: bt.Context()}
}

// do runs steps with a time limit, failing the test on an error.
func (b *tab) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v (at %s)", what, err, b.location())
	}
}

func (b *tab) location() string {
	ctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
	defer cancel()
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	return loc
}

// open navigates and waits for the page's load event.
func (b *tab) open(url string) {
	b.t.Helper()
	b.do("open "+url, chromedp.Navigate(url))
}

// loads runs an action that leaves the page (a click on a link or a
// submit button) and waits until the next page has loaded.
func (b *tab) loads(what string, trigger chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.WaitEvent(page.LoadEventFired, nil, trigger)); err != nil {
		b.t.Fatalf("%s: %v (at %s)", what, err, b.location())
	}
}

// clickLoads clicks what the CSS selector finds and waits for the next page.
func (b *tab) clickLoads(css string) {
	b.t.Helper()
	b.text(css)
	b.loads("click "+css, clickCSS(css))
}

// click clicks what the CSS selector finds, once it is shown.
func (b *tab) click(css string) {
	b.t.Helper()
	b.text(css)
	b.do("click "+css, clickCSS(css))
}

// text returns the visible text of the first element the CSS selector
// finds, with white space collapsed, waiting until it is there and shown.
func (b *tab) text(css string) string {
	b.t.Helper()
	expr := `(function(){var e=document.querySelector(` + jsString(css) + `);
		if(!e||!e.getClientRects().length) return null; return e.innerText.replace(/\s+/g," ").trim()})()`
	deadline := time.Now().Add(15 * time.Second)
	for {
		if v, ok := pollEval[*string](b, expr); ok && v != nil {
			return *v
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("no visible %s at %s", css, b.location())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](b *tab, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// pollEval evaluates a read-only expression for a polling loop. A page
// that reloads itself (a Bulk Edit job's page does when the job ends)
// may be replaced while the expression runs; that answer is "not yet"
// (false), and the loop asks again on the next page. Other errors fail
// the test.
func pollEval[T any](b *tab, expr string) (T, bool) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		if pageReplaced(err) {
			var zero T
			return zero, false
		}
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v, true
}

// pageReplaced tells whether an evaluation failed only because the page
// it ran in was navigated away while it ran.
func pageReplaced(err error) bool {
	msg := err.Error()
	for _, s := range []string{"navigated or closed", "Execution context was destroyed", "Cannot find context with specified id"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// waitFor polls a JavaScript condition until it is true.
func (b *tab) waitFor(what, cond string) {
	b.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		if v, ok := pollEval[bool](b, "!!("+cond+")"); ok && v {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("waited in vain for %s (%s) at %s", what, cond, b.location())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// key sends one key (a kb constant or a character) to the focused element.
func (b *tab) key(k string, mods ...chromedp.Modifier) {
	b.t.Helper()
	b.do("key "+fmt.Sprintf("%q", k), chromedp.KeyEvent(k, chromedp.KeyModifiers(mods...)))
}

// keyLoads sends a key that leaves the page and waits for the next one.
func (b *tab) keyLoads(k string, mods ...chromedp.Modifier) {
	b.t.Helper()
	b.loads("key "+fmt.Sprintf("%q", k), chromedp.KeyEvent(k, chromedp.KeyModifiers(mods...)))
}

// focused describes the focused element: its id, or its tag and text.
func (b *tab) focused() string {
	return eval[string](b, `(function(){var e=document.activeElement; if(!e) return ""; if(e.id) return "#"+e.id;
		return e.tagName.toLowerCase()+":"+(e.getAttribute("aria-label")||e.textContent||"").trim().replace(/\s+/g," ").slice(0,60)})()`)
}

// screenshot saves a PNG of the whole page.
func (b *tab) screenshot(path string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// signIn signs in through the sign-in page, typing as a user does.
func (b *tab) signIn(base, user, password string) {
	b.t.Helper()
	b.open(base + "/admin/")
	if got := b.text("h1"); got != "Gatehouse admin center" {
		b.t.Fatalf("sign-in page heading: got %q; want %q", got, "Gatehouse admin center")
	}
	b.do("type the credentials",
		chromedp.SendKeys(chromedp.ID("username"), user),
		chromedp.SendKeys(chromedp.ID("password"), password))
	b.loads("sign in", chromedp.KeyEvent(kb.Enter))
	if got := b.text(".topbar .who strong"); got == "" {
		b.t.Fatalf("after sign-in: no signed-in name at %s", b.location())
	}
}

// findRole finds the one element that assistive technology sees with the
// role and accessible name (under the element within, when given), as a
// user who reads "click Edit" looks for it.
func (b *tab) findRole(within cdp.BackendNodeID, role, name string) cdp.BackendNodeID {
	b.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
		found, err := chromedp.Run(ctx, func(ctx context.Context, t *chromedp.Target) ([]cdp.BackendNodeID, error) {
			p := accessibility.QueryAXTreeParams{AccessibleName: name, Role: role, BackendNodeID: within}
			if within == 0 {
				depth := int64(0)
				doc, err := cdp.Call(ctx, t, dom.GetDocument, dom.GetDocumentParams{Depth: &depth})
				if err != nil {
					return nil, err
				}
				p.NodeID = doc.Root.NodeID
			}
			res, err := cdp.Call(ctx, t, accessibility.QueryAXTree, p)
			if err != nil {
				return nil, err
			}
			var ids []cdp.BackendNodeID
			for _, n := range res.Nodes {
				if !n.Ignored && n.BackendDOMNodeID != 0 {
					ids = append(ids, n.BackendDOMNodeID)
				}
			}
			return ids, nil
		})
		cancel()
		if err == nil && len(found) == 1 {
			return found[0]
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("find the %s named %q: got %d matches, %v (at %s)", role, name, len(found), err, b.location())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// clickNode clicks the middle of an element with the mouse.
func clickNode(id cdp.BackendNodeID, mods ...chromedp.Modifier) chromedp.Action[chromedp.Void] {
	return clickBox(dom.ScrollIntoViewIfNeededParams{BackendNodeID: id}, dom.GetBoxModelParams{BackendNodeID: id}, mods...)
}

func clickBox(scroll dom.ScrollIntoViewIfNeededParams, where dom.GetBoxModelParams, mods ...chromedp.Modifier) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if _, err := cdp.Call(ctx, t, dom.ScrollIntoViewIfNeeded, scroll); err != nil {
			return err
		}
		box, err := cdp.Call(ctx, t, dom.GetBoxModel, where)
		if err != nil {
			return err
		}
		q := box.Model.Border
		if len(q) < 8 {
			return fmt.Errorf("no box to click")
		}
		x, y := (q[0]+q[2]+q[4]+q[6])/4, (q[1]+q[3]+q[5]+q[7])/4
		_, err = chromedp.MouseClickXY(x, y, chromedp.ButtonModifiers(mods...))(ctx, t)
		return err
	})
}

// clickCSS clicks the middle of the first element the CSS selector finds
// in the page as it is now. It locates the element in JavaScript rather
// than through DOM node ids, which a document update can invalidate
// between two protocol calls.
func clickCSS(css string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		type point struct{ X, Y float64 }
		p, err := chromedp.Evaluate[*point](`(function(){var e=document.querySelector(`+jsString(css)+`); if(!e) return null;
			e.scrollIntoView({block:"center", inline:"center"}); var r=e.getBoundingClientRect();
			return {X: r.left + r.width/2, Y: r.top + r.height/2}})()`)(ctx, t)
		if err != nil {
			return err
		}
		if p == nil {
			return fmt.Errorf("nothing matches %s", css)
		}
		_, err = chromedp.MouseClickXY(p.X, p.Y)(ctx, t)
		return err
	})
}

// clickRole clicks the element with the role and accessible name.
func (b *tab) clickRole(role, name string) {
	b.t.Helper()
	b.do("click the "+role+" "+name, clickNode(b.findRole(0, role, name)))
}

// clickRoleLoads clicks it and waits for the next page.
func (b *tab) clickRoleLoads(role, name string) {
	b.t.Helper()
	b.loads("click the "+role+" "+name, clickNode(b.findRole(0, role, name)))
}

// clickRow clicks the row of a mailbox in the list, with modifiers.
func (b *tab) clickRow(name string, mods ...chromedp.Modifier) {
	b.t.Helper()
	xpath := `//table[@id="mailbox-list"]//tr[td[@class="name" and normalize-space()="` + name + `"]]/td[@class="name"]`
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	nodes, err := chromedp.Run(ctx, chromedp.Nodes(xpath, chromedp.NodeVisible))
	if err != nil || len(nodes) != 1 {
		b.t.Fatalf("the row of %s: %d nodes, %v", name, len(nodes), err)
	}
	b.do("click the row of "+name, clickNode(nodes[0].BackendNodeID, mods...))
}

// slash presses "/" as a shortcut: a key down the page cancels, and no
// character. Chrome drops the character of a cancelled keydown that comes
// from the keyboard; a separate Input.dispatchKeyEvent "char" event, as
// KeyEvent sends, would type it all the same.
func (b *tab) slash() {
	b.t.Helper()
	b.do("press /", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		for _, typ := range []input.DispatchKeyEventType{input.DispatchKeyEventTypeRawKeyDown, input.DispatchKeyEventTypeKeyUp} {
			if _, err := cdp.Call(ctx, t, input.DispatchKeyEvent, input.DispatchKeyEventParams{Type: typ, Key: "/", Code: "Slash",
				WindowsVirtualKeyCode: 191, NativeVirtualKeyCode: 191}); err != nil {
				return err
			}
		}
		return nil
	}))
}
