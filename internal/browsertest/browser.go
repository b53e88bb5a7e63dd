// Package browsertest drives the real web client (static/) in Debian's
// Chromium, headless, through the Chrome DevTools Protocol (chromedp),
// against real Hearth nodes over a private Redis. It is used by tests
// only: its own end-to-end tests live in this package's _test.go files.
//
// Every test starts one Chromium process with a fresh profile; each person
// in a scenario (a facilitator, members) gets a browser context of their
// own (like separate browser profiles: nothing shared), opened with
// Browser.NewPage. Pages are driven the way people use them: controls are
// found by their accessible role and name in Chromium's own accessibility
// tree (Page.Click("button", "Join the group")), clicked with the mouse at
// their centre — or, for keyboard runs, reached with Tab and used with
// Enter and Space only.
//
// No browser is ever downloaded. Without a `chromium` on PATH the tests
// skip, saying why, unless HEARTH_REQUIRE_BROWSER=1 (as .ci/run sets),
// where they fail. ./scripts/test.sh installs Debian's package when it is
// missing and it runs as root on Debian.
//
// Screenshots go to test-artifacts/browser/ at the repository root (ignored
// by git); a failed wait saves one of the page that failed there too.
package browsertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/accessibility"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/dom"
	"github.com/chromedp/cdproto/input"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/page"
	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// Wait is how long a page is given to show something: generous, because
// the suite runs on two cores next to the rest of the tests under the race
// detector. Nothing here measures speed.
const Wait = 45 * time.Second

// Viewport is the desktop window size of every page (wide enough for the
// side column of the chat screen: 52rem).
const (
	ViewportWidth  = 1280
	ViewportHeight = 900
)

// Chromium returns the path of the `chromium` on PATH. Without one it skips
// the test, saying why, or fails it when HEARTH_REQUIRE_BROWSER=1.
func Chromium(t testing.TB) string {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		msg := "chromium is not installed: run ./scripts/test.sh (it installs Debian's chromium package as root on Debian) or `apt-get install chromium`; browser tests skip"
		if os.Getenv("HEARTH_REQUIRE_BROWSER") == "1" {
			t.Fatal(msg + " (HEARTH_REQUIRE_BROWSER=1: failing instead)")
		}
		t.Skip(msg)
	}
	return path
}

// Browser is one headless Chromium process.
type Browser struct {
	t   testing.TB
	ctx context.Context
}

// Start launches headless Chromium with a fresh user data directory; it is
// stopped when the test ends.
func Start(t testing.TB) *Browser {
	t.Helper()
	execPath := Chromium(t)
	dataDir := t.TempDir() // registered first, so removed after the browser exits
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(execPath),
		chromedp.UserDataDir(dataDir),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-domain-reliability", true),
		chromedp.Flag("no-pings", true),
		chromedp.Flag("lang", "en-US"),
		chromedp.WindowSize(ViewportWidth, ViewportHeight),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx, chromedp.WithErrorf(func(string, ...any) {}))
	// The first Do starts the browser and binds its life to ctx (not to
	// startCtx: see chromedp's "Set a timeout for one action").
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		cancelAlloc()
		t.Fatalf("start chromium (%s): %v", execPath, err)
	}
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	return &Browser{t: t, ctx: ctx}
}

// Page is one tab in a browser context of its own: one person.
type Page struct {
	t    testing.TB
	Name string
	ctx  context.Context

	mu         sync.Mutex
	exceptions []string
	console    []string
	csp        []string
	loaders    map[cdp.LoaderID]string // document (loader) → its URL
	painted    []string                // URLs of documents that drew anything, in order
}

// NewPage opens a tab in a new browser context (its own cookies, storage
// and cache: like a separate browser profile). name names the person in
// failure messages and screenshots.
func (b *Browser) NewPage(name string) *Page {
	b.t.Helper()
	p := &Page{t: b.t, Name: name}
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext(), chromedp.WithListener(p.listen))
	p.ctx = ctx
	// The first Do opens the tab and binds its life to ctx: it must not be
	// a context with a timeout.
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		b.t.Fatalf("%s: open a tab: %v", name, err)
	}
	// Lifecycle events tell which documents drew anything (Painted).
	if _, err := chromedp.Call(ctx, page.SetLifecycleEventsEnabled, page.SetLifecycleEventsEnabledParams{Enabled: true}); err != nil {
		cancel()
		b.t.Fatalf("%s: enable lifecycle events: %v", name, err)
	}
	b.t.Cleanup(func() {
		p.report()
		cancel()
	})
	return p
}

// listen runs in the tab's event loop: it must return fast.
func (p *Page) listen(ev any) {
	switch ev := ev.(type) {
	case *page.EventFrameNavigated:
		if ev.Frame.ParentID == "" {
			p.mu.Lock()
			if p.loaders == nil {
				p.loaders = map[cdp.LoaderID]string{}
			}
			p.loaders[ev.Frame.LoaderID] = ev.Frame.URL
			p.mu.Unlock()
		}
	case *page.EventLifecycleEvent:
		if ev.Name == "firstPaint" {
			p.mu.Lock()
			if u, ok := p.loaders[ev.LoaderID]; ok {
				p.painted = append(p.painted, u)
			}
			p.mu.Unlock()
		}
	case *cdpruntime.EventExceptionThrown:
		d := ev.ExceptionDetails
		text := d.Text
		if d.Exception != nil && d.Exception.Description != "" {
			text += " " + d.Exception.Description
		}
		p.mu.Lock()
		p.exceptions = append(p.exceptions, text)
		p.mu.Unlock()
	case *cdpruntime.EventConsoleAPICalled:
		if ev.Type != cdpruntime.ConsoleAPICalledTypeError && ev.Type != cdpruntime.ConsoleAPICalledTypeWarning {
			return
		}
		var parts []string
		for _, a := range ev.Args {
			if a.Value != nil {
				parts = append(parts, string(a.Value))
			} else {
				parts = append(parts, a.Description)
			}
		}
		p.mu.Lock()
		p.console = append(p.console, fmt.Sprintf("console.%s: %s", ev.Type, strings.Join(parts, " ")))
		p.mu.Unlock()
	case *cdplog.EventEntryAdded:
		e := ev.Entry
		p.mu.Lock()
		if strings.Contains(e.Text, "Content Security Policy") {
			p.csp = append(p.csp, e.Text)
		} else if e.Level == cdplog.EntryLevelError {
			p.console = append(p.console, fmt.Sprintf("log %s: %s %s", e.Source, e.Text, e.URL))
		}
		p.mu.Unlock()
	}
}

// Painted returns the URLs of the top-level documents this tab has drawn
// anything of (Chromium's firstPaint), in order. A document that navigates
// away before it draws is not in it.
func (p *Page) Painted() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.painted)
}

// report, when the test ends, fails it for any uncaught exception or
// Content-Security-Policy violation the page had, and logs its console
// errors and warnings (a dropped WebSocket logs one, by design).
func (p *Page) report() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, e := range p.exceptions {
		p.t.Errorf("%s: uncaught exception in the page: %s", p.Name, e)
	}
	for _, e := range p.csp {
		p.t.Errorf("%s: Content-Security-Policy violation: %s", p.Name, e)
	}
	for _, c := range p.console {
		p.t.Logf("%s: %s", p.Name, c)
	}
}

func (p *Page) do(steps ...chromedp.Action[chromedp.Void]) error {
	ctx, cancel := context.WithTimeout(p.ctx, 2*Wait)
	defer cancel()
	return chromedp.Do(ctx, steps...)
}

func (p *Page) fatalf(format string, args ...any) {
	p.t.Helper()
	shot := p.failureShot()
	p.t.Fatalf("%s: %s%s", p.Name, fmt.Sprintf(format, args...), shot)
}

// failureShot saves a screenshot of the page as it is when a step failed.
func (p *Page) failureShot() string {
	path := filepath.Join(ArtifactsDir(p.t), "failures", safeName(p.t.Name()+"-"+p.Name)+".png")
	ctx, cancel := context.WithTimeout(p.ctx, 20*time.Second)
	defer cancel()
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		return ""
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return ""
	}
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		return ""
	}
	return " (screenshot: " + path + ")"
}

// BypassCSP turns the page's Content-Security-Policy off from the next
// navigation: for the XSS test, so that markup wrongly inserted as HTML
// would really run rather than be stopped by the policy.
func (p *Page) BypassCSP() {
	p.t.Helper()
	if _, err := chromedp.Call(p.ctx, page.SetBypassCSP, page.SetBypassCSPParams{Enabled: true}); err != nil {
		p.fatalf("bypass CSP: %v", err)
	}
}

// Open navigates to url and waits for the page to load.
func (p *Page) Open(url string) {
	p.t.Helper()
	if err := p.do(chromedp.Navigate(url)); err != nil {
		p.fatalf("open %s: %v", redactToken(url), err)
	}
}

var tokenRE = regexp.MustCompile(`token=[^&]+`)

func redactToken(s string) string { return tokenRE.ReplaceAllString(s, "token=…") }

// Eval evaluates a JavaScript expression in the page and decodes its JSON
// value into out (nil: ignored). Promises are awaited.
func (p *Page) Eval(expr string, out any) {
	p.t.Helper()
	if err := p.eval(p.ctx, expr, out); err != nil {
		p.fatalf("evaluate %q: %v", shorten(expr), err)
	}
}

func (p *Page) eval(ctx context.Context, expr string, out any) error {
	ctx, cancel := context.WithTimeout(ctx, 2*Wait)
	defer cancel()
	res, err := chromedp.Call(ctx, cdpruntime.Evaluate, cdpruntime.EvaluateParams{
		Expression: expr, ReturnByValue: new(true), AwaitPromise: new(true),
	})
	if err != nil {
		return err
	}
	if res.ExceptionDetails != nil {
		d := res.ExceptionDetails
		msg := d.Text
		if d.Exception != nil {
			msg += " " + d.Exception.Description
		}
		return errors.New(msg)
	}
	if out == nil || res.Result == nil || len(res.Result.Value) == 0 {
		return nil
	}
	return json.Unmarshal(res.Result.Value, out)
}

func shorten(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 160 {
		return s[:160] + "…"
	}
	return s
}

// WaitFor polls the JavaScript expression cond until it is truthy, failing
// the test with what (a sentence) after Wait.
func (p *Page) WaitFor(what, cond string) {
	p.t.Helper()
	deadline := time.Now().Add(Wait)
	var last error
	for {
		var ok bool
		last = p.eval(p.ctx, "Boolean("+cond+")", &ok)
		if last == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			var status string
			_ = p.eval(p.ctx, `(document.getElementById('status-text')?.textContent ?? '') + ' | ' + (document.querySelector('main section:not([hidden]) h1')?.textContent ?? '')`, &status)
			p.fatalf("waited %s for %s (page: %q, last error: %v)", Wait, what, status, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Text returns the rendered text (innerText) of the first element matching
// the CSS selector, or "" when there is none. Hidden parts are not
// included.
func (p *Page) Text(css string) string {
	p.t.Helper()
	var s string
	p.Eval(fmt.Sprintf(`document.querySelector(%q)?.innerText ?? ''`, css), &s)
	return s
}

// VisibleText returns the text of the whole page as it is shown.
func (p *Page) VisibleText() string {
	p.t.Helper()
	var s string
	p.Eval(`document.body.innerText`, &s)
	return s
}

// AXNode is one element found in the accessibility tree.
type AXNode struct {
	Role, Name, Description string
	Disabled                bool
	backend                 cdp.BackendNodeID
}

func axString(v *accessibility.Value) string {
	if v == nil || len(v.Value) == 0 {
		return ""
	}
	var s string
	if err := json.Unmarshal(v.Value, &s); err != nil {
		return string(v.Value)
	}
	return s
}

func axNode(n *accessibility.Node) AXNode {
	a := AXNode{Role: axString(n.Role), Name: axString(n.Name), Description: axString(n.Description), backend: n.BackendDOMNodeID}
	for _, prop := range n.Properties {
		if prop.Name == accessibility.PropertyNameDisabled && prop.Value != nil && string(prop.Value.Value) == "true" {
			a.Disabled = true
		}
	}
	return a
}

// query finds the elements with this accessible role and exact name under
// the element scope (a JavaScript expression; "" for the document) that
// are in the accessibility tree (not hidden, not behind a modal dialog).
func (p *Page) query(scope, role, name string) ([]AXNode, error) {
	if scope == "" {
		scope = "document"
	}
	ctx, cancel := context.WithTimeout(p.ctx, Wait)
	defer cancel()
	obj, err := chromedp.Call(ctx, cdpruntime.Evaluate, cdpruntime.EvaluateParams{Expression: scope, ObjectGroup: "browsertest"})
	if err != nil {
		return nil, err
	}
	defer func() {
		_, _ = chromedp.Call(ctx, cdpruntime.ReleaseObjectGroup, cdpruntime.ReleaseObjectGroupParams{ObjectGroup: "browsertest"})
	}()
	if obj.ExceptionDetails != nil || obj.Result == nil || obj.Result.ObjectID == "" {
		return nil, fmt.Errorf("no element %s", scope)
	}
	res, err := chromedp.Call(ctx, accessibility.QueryAXTree, accessibility.QueryAXTreeParams{
		ObjectID: obj.Result.ObjectID, Role: role, AccessibleName: name,
	})
	if err != nil {
		return nil, err
	}
	var found []AXNode
	for _, n := range res.Nodes {
		if n.Ignored || n.BackendDOMNodeID == 0 {
			continue
		}
		found = append(found, axNode(n))
	}
	return found, nil
}

// Find waits until exactly one element with this accessible role and name
// is on the page, and returns it.
func (p *Page) Find(role, name string) AXNode {
	p.t.Helper()
	return p.findIn("", role, name)
}

func (p *Page) findIn(scope, role, name string) AXNode {
	p.t.Helper()
	deadline := time.Now().Add(Wait)
	for {
		nodes, err := p.query(scope, role, name)
		if err == nil && len(nodes) == 1 {
			return nodes[0]
		}
		if time.Now().After(deadline) {
			if err == nil && len(nodes) > 1 {
				p.fatalf("%d elements are %s %q, want one", len(nodes), role, name)
			}
			p.fatalf("waited %s for a %s named %q%s (err: %v)", Wait, role, name, inScope(scope), err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func inScope(scope string) string {
	if scope == "" {
		return ""
	}
	return " in " + scope
}

// ClickAny clicks the first of several possible controls (role and one of
// names) that is on the page, waiting until one is; it returns the name
// clicked.
func (p *Page) ClickAny(role string, names ...string) string {
	p.t.Helper()
	deadline := time.Now().Add(Wait)
	for {
		for _, name := range names {
			if p.Has(role, name) {
				p.Click(role, name)
				return name
			}
		}
		if time.Now().After(deadline) {
			p.fatalf("waited %s for a %s named any of %q", Wait, role, names)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Has reports whether an element with this role and name is on the page
// now (without waiting).
func (p *Page) Has(role, name string) bool {
	p.t.Helper()
	nodes, err := p.query("", role, name)
	return err == nil && len(nodes) > 0
}

// Click clicks, with the mouse, the one element whose accessible role and
// name are these (for example "button", "Join the group").
func (p *Page) Click(role, name string) {
	p.t.Helper()
	p.ClickIn("", role, name)
}

// ClickIn is Click inside the element that the JavaScript expression scope
// returns (for example one message of the conversation).
func (p *Page) ClickIn(scope, role, name string) {
	p.t.Helper()
	deadline := time.Now().Add(Wait)
	for {
		n := p.findIn(scope, role, name)
		x, y, why := p.target(n)
		if why == "" {
			if err := p.do(chromedp.MouseClickXY(x, y)); err != nil {
				p.fatalf("click %s %q: %v", role, name, err)
			}
			return
		}
		if time.Now().After(deadline) {
			p.fatalf("cannot click %s %q: %s", role, name, why)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// target scrolls the element into view and returns its centre, or why a
// person could not click it there (disabled, covered by something else).
func (p *Page) target(n AXNode) (x, y float64, why string) {
	if n.Disabled {
		return 0, 0, "it is disabled"
	}
	ctx, cancel := context.WithTimeout(p.ctx, Wait)
	defer cancel()
	obj, err := chromedp.Call(ctx, dom.ResolveNode, dom.ResolveNodeParams{BackendNodeID: n.backend, ObjectGroup: "browsertest"})
	if err != nil || obj.Object == nil {
		return 0, 0, fmt.Sprintf("resolve: %v", err)
	}
	defer func() {
		_, _ = chromedp.Call(ctx, cdpruntime.ReleaseObjectGroup, cdpruntime.ReleaseObjectGroupParams{ObjectGroup: "browsertest"})
	}()
	res, err := chromedp.Call(ctx, cdpruntime.CallFunctionOn, cdpruntime.CallFunctionOnParams{
		ObjectID:      obj.Object.ObjectID,
		ReturnByValue: new(true),
		AwaitPromise:  new(true),
		// Where it is once it has stopped moving (a notice arriving, a
		// list redrawn): the same place over two animation frames.
		FunctionDeclaration: `async function () {
			this.scrollIntoView({block: 'center', inline: 'center'});
			const frame = () => new Promise((done) => requestAnimationFrame(() => done()));
			let r = this.getBoundingClientRect();
			for (let i = 0; i < 20; i++) {
				await frame();
				await frame();
				const again = this.getBoundingClientRect();
				const still = Math.abs(again.left - r.left) < 0.5 && Math.abs(again.top - r.top) < 0.5;
				r = again;
				if (still) break;
			}
			const x = r.left + r.width / 2, y = r.top + r.height / 2;
			const hit = document.elementFromPoint(x, y);
			const label = hit && hit.closest('label');
			const ok = r.width > 0 && hit !== null && (hit === this || this.contains(hit) || (label !== null && label.control === this));
			return {x, y, ok, hit: hit ? hit.outerHTML.slice(0, 120) : 'nothing'};
		}`,
	})
	if err != nil {
		return 0, 0, err.Error()
	}
	if res.ExceptionDetails != nil {
		return 0, 0, res.ExceptionDetails.Text
	}
	var at struct {
		X, Y float64
		OK   bool
		Hit  string
	}
	if err := json.Unmarshal(res.Result.Value, &at); err != nil {
		return 0, 0, err.Error()
	}
	if !at.OK {
		return 0, 0, "something else is on top of it: " + at.Hit
	}
	return at.X, at.Y, ""
}

// Type clicks the text field with this accessible name and types text into
// it, key by key ("\n" is Enter).
func (p *Page) Type(name, text string) {
	p.t.Helper()
	p.Click("textbox", name)
	p.Keys(text)
}

// Keys presses keys, one after the other, on whatever has the focus: text,
// kb.Tab, kb.Enter ("\n" too), " " (Space), kb.Escape.
//
// Each key is one "keyDown" carrying its text, then a "keyUp", as a real
// keyboard's key press reaches the page (and as Puppeteer types):
// chromedp.KeyEvent sends the text as a separate "char" event, which
// Chromium delivers even when the page cancelled the keydown, so Enter in
// the message box (which sends on keydown and cancels it) would leave a
// line break behind that no real keyboard leaves.
func (p *Page) Keys(keys string) {
	p.t.Helper()
	p.keys(keys, 0)
}

// ShiftTab presses Shift+Tab.
func (p *Page) ShiftTab() {
	p.t.Helper()
	p.keys(kb.Tab, int64(kb.ModifierShift))
}

func (p *Page) keys(keys string, modifiers int64) {
	p.t.Helper()
	for _, r := range keys {
		if r == '\n' {
			r = '\r'
		}
		down := input.DispatchKeyEventParams{Type: input.DispatchKeyEventTypeKeyDown, Modifiers: modifiers}
		if k, ok := kb.Keys[r]; ok {
			down.Key, down.Code, down.WindowsVirtualKeyCode, down.NativeVirtualKeyCode = k.Key, k.Code, k.Windows, k.Native
			if k.Shift {
				down.Modifiers |= int64(kb.ModifierShift)
			}
			if k.Print && modifiers == 0 {
				down.Text, down.UnmodifiedText = k.Text, k.Unmodified
			}
		} else {
			down.Key, down.Text, down.UnmodifiedText = string(r), string(r), string(r)
		}
		up := down
		up.Type, up.Text, up.UnmodifiedText = input.DispatchKeyEventTypeKeyUp, "", ""
		for _, ev := range []input.DispatchKeyEventParams{down, up} {
			if err := p.do(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
				_, err := cdp.Call(ctx, t, input.DispatchKeyEvent, ev)
				return err
			})); err != nil {
				p.fatalf("key %q: %v", r, err)
			}
		}
	}
}

// Focused returns the accessible role and name of the element that has the
// keyboard focus.
func (p *Page) Focused() AXNode {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, Wait)
	defer cancel()
	obj, err := chromedp.Call(ctx, cdpruntime.Evaluate, cdpruntime.EvaluateParams{Expression: "document.activeElement", ObjectGroup: "browsertest"})
	if err != nil || obj.Result == nil || obj.Result.ObjectID == "" {
		p.fatalf("no focused element (%v)", err)
	}
	defer func() {
		_, _ = chromedp.Call(ctx, cdpruntime.ReleaseObjectGroup, cdpruntime.ReleaseObjectGroupParams{ObjectGroup: "browsertest"})
	}()
	res, err := chromedp.Call(ctx, accessibility.GetPartialAXTree, accessibility.GetPartialAXTreeParams{ObjectID: obj.Result.ObjectID, FetchRelatives: new(false)})
	if err != nil || len(res.Nodes) == 0 {
		p.fatalf("accessibility of the focused element: %v", err)
	}
	return axNode(res.Nodes[0])
}

// TabTo presses Tab (at most max times) until the focus is on the element
// with this role and name, failing otherwise. Shift+Tab when back.
func (p *Page) TabTo(role, name string, max int, back bool) {
	p.t.Helper()
	var seen []string
	for range max {
		f := p.Focused()
		if f.Role == role && f.Name == name {
			return
		}
		seen = append(seen, f.Role+" "+strconvQuote(f.Name))
		if back {
			p.ShiftTab()
		} else {
			p.Keys(kb.Tab)
		}
	}
	f := p.Focused()
	if f.Role == role && f.Name == name {
		return
	}
	p.fatalf("Tab did not reach %s %q in %d presses; the focus went: %s", role, name, max, strings.Join(seen, " → "))
}

func strconvQuote(s string) string { b, _ := json.Marshal(s); return string(b) }

// Screenshot saves a full-page PNG of the page under the artifacts folder
// as name.png and returns its path.
func (p *Page) Screenshot(name string) string {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, Wait)
	defer cancel()
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		p.fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(ArtifactsDir(p.t), safeName(name)+".png")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		p.t.Fatal(err)
	}
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		p.t.Fatal(err)
	}
	p.t.Logf("screenshot: %s", path)
	return path
}

// Viewport resizes the page's viewport (for a phone-sized screenshot);
// 0, 0 goes back to the window's size.
func (p *Page) Viewport(width, height int64) {
	p.t.Helper()
	var err error
	if width == 0 {
		err = p.do(chromedp.ResetViewport())
	} else {
		err = p.do(chromedp.EmulateViewport(width, height))
	}
	if err != nil {
		p.fatalf("viewport: %v", err)
	}
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func safeName(s string) string { return strings.Trim(unsafeName.ReplaceAllString(s, "-"), "-") }

// ArtifactsDir is test-artifacts/browser at the repository root (listed in
// .gitignore).
func ArtifactsDir(t testing.TB) string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the source directory")
	}
	dir := filepath.Dir(file)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "test-artifacts", "browser")
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return filepath.Join(os.TempDir(), "hearth-test-artifacts", "browser")
		}
		dir = parent
	}
}

// testdataDir is this package's testdata directory.
func testdataDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "testdata")
}
