// Package console_test drives logstream's web console in a real headless
// Chromium (Debian's chromium package, found on PATH; nothing is downloaded)
// against the local stack on the stand-ins: the flow of issue 17 through the
// console's screens, a read key's view, the Content-Security-Policy as the
// browser enforces it, axe-core's accessibility rules on every screen, and a
// screenshot of every screen at a desktop and a phone's width.
//
// The tests find the console's elements by the selectors of its contract
// (data-test attributes, ids and names); they wait for conditions, never for a
// time. Outside CI a missing Chromium or stand-in skips them; with CI=true it
// fails them.
package console_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// Viewports of the screenshots: a desktop window and a phone.
const (
	desktopW, desktopH = 1280, 900
	narrowW, narrowH   = 360, 780
)

// step is the timeout of one browser step that waits on the console alone
// (a screen to render, an API call to answer); waits on the pipeline
// (deliveries, dead letters, jobs) get their own, longer ones.
const step = 30 * time.Second

// chromium returns the path of the Chromium binary on PATH. Without one the
// test is skipped, or failed under CI=true: .ci/run installs Debian's.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	const why = "no chromium or chromium-browser on PATH (apt-get install chromium; .ci/run installs it)"
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s; CI=true: a missing browser fails the run", why)
	}
	t.Skip(why)
	return ""
}

// tab is one browser tab on the console, with what the browser reported
// while the test used it: every request, console messages and log entries,
// and Content-Security-Policy violations.
type tab struct {
	t      *testing.T
	ctx    context.Context
	origin string // scheme://host:port of the console

	mu         sync.Mutex
	requests   []string // URLs of every request the page made
	messages   []string // console calls, exceptions and log entries
	violations []string // CSP violations, from the log and the page's own event
	shots      map[string]bool
}

// cspProbe records the page's securitypolicyviolation events. It is added by
// the DevTools protocol (Page.addScriptToEvaluateOnNewDocument), which the
// page's CSP does not govern, and reports through console.error, which the
// listener reads.
const cspProbe = `document.addEventListener('securitypolicyviolation', e =>
  console.error('CSP violation: ' + e.violatedDirective + ' blocked ' + (e.blockedURI || '(inline)') + ' at ' + e.sourceFile + ':' + e.lineNumber));`

// openTab starts a headless Chromium and opens a tab on the console at
// base (the stack's URL).
func openTab(t *testing.T, base string) *tab {
	t.Helper()
	bin := chromium(t)
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	b := &tab{t: t, origin: u.Scheme + "://" + u.Host, shots: map[string]bool{}}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin),
		chromedp.Headless,
		chromedp.NoSandbox, // CI runs as root, where Chromium's sandbox refuses to start
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.WindowSize(desktopW, desktopH),
		chromedp.UserDataDir(t.TempDir()),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx, chromedp.WithListener(b.listen))
	t.Cleanup(func() { cancel(); cancelAlloc() })
	b.ctx = ctx
	// The first Do starts the browser; it has no timeout (a timeout there
	// would end the browser with it).
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	b.do("set up the tab", step,
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: cspProbe})
			return err
		}),
		chromedp.EmulateViewport(desktopW, desktopH),
	)
	return b
}

// listen runs on the tab's reader goroutine: it only records.
func (b *tab) listen(ev any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		b.requests = append(b.requests, ev.Request.URL)
	case *runtime.EventConsoleAPICalled:
		var parts []string
		for _, a := range ev.Args {
			if a.Value != nil {
				parts = append(parts, strings.Trim(string(a.Value), `"`))
			} else {
				parts = append(parts, a.Description)
			}
		}
		msg := fmt.Sprintf("console.%s: %s", ev.Type, strings.Join(parts, " "))
		b.messages = append(b.messages, msg)
		if strings.Contains(msg, "CSP violation") {
			b.violations = append(b.violations, msg)
		}
	case *runtime.EventExceptionThrown:
		msg := "exception: " + ev.ExceptionDetails.Text
		if ev.ExceptionDetails.Exception != nil {
			msg += " " + ev.ExceptionDetails.Exception.Description
		}
		b.messages = append(b.messages, msg)
	case *cdplog.EventEntryAdded:
		msg := fmt.Sprintf("log %s/%s: %s %s", ev.Entry.Source, ev.Entry.Level, ev.Entry.Text, ev.Entry.URL)
		b.messages = append(b.messages, msg)
		if strings.Contains(ev.Entry.Text, "Content Security Policy") {
			b.violations = append(b.violations, msg)
		}
	}
}

// do runs steps with a timeout, failing the test with what the page showed.
func (b *tab) do(what string, timeout time.Duration, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.fail(what, err)
	}
}

// eval evaluates a JavaScript expression in the page, awaiting a promise.
func eval[T any](b *tab, what, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, step)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		b.fail(what, err)
	}
	return v
}

// fail ends the test with where the page was, what it said, and a
// screenshot of it in the test's log directory.
func (b *tab) fail(what string, err error) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	alerts, _ := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('[role=alert]')].map(e => e.textContent.trim()).filter(Boolean)`))
	shot := ""
	if png, e := chromedp.Run(ctx, chromedp.CaptureScreenshot()); e == nil {
		f, e := os.CreateTemp("", "console-failure-*.png")
		if e == nil {
			f.Write(png)
			f.Close()
			shot = f.Name()
		}
	}
	b.mu.Lock()
	msgs := b.messages[max(0, len(b.messages)-10):]
	b.mu.Unlock()
	b.t.Fatalf("%s: %v\n  at %s\n  alerts: %q\n  screenshot: %s\n  last browser messages:\n    %s",
		what, err, loc, alerts, shot, strings.Join(msgs, "\n    "))
}

// visit loads a route of the console (a hash route, "" for the start) as
// a user following a bookmark would.
func (b *tab) visit(route string) {
	b.t.Helper()
	b.do("open "+route, step, chromedp.Navigate(b.origin+"/console/"+route))
}

// hash moves to a hash route without reloading the page, and waits until
// the console has drawn it: what <main> held is marked first, and gone once
// the new screen replaces it, so no check reads the screen before.
func (b *tab) hash(route string) {
	b.t.Helper()
	b.do("go to "+route, step, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(route => {
		if (location.hash === route) return; // already there: nothing to redraw
		for (const e of document.querySelectorAll('main > *')) e.dataset.consoleTestStale = '';
		location.hash = route })(%q)`, route)))
	b.waitFor("the screen of "+route, `document.querySelector('main') && !document.querySelector('main > [data-console-test-stale]')`, step)
}

// waitFor waits until the JavaScript expression is truthy.
func (b *tab) waitFor(what, expr string, timeout time.Duration) {
	b.t.Helper()
	b.do(what, timeout, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(timeout), chromedp.WithPollingInterval(100*time.Millisecond)))
}

// visible waits until the element of a CSS selector is visible.
func (b *tab) visible(sel string) {
	b.t.Helper()
	b.do("wait for "+sel, step, chromedp.WaitVisible(chromedp.CSS(sel)))
}

// expect is visible for what the flow does not depend on: a missing element
// is reported and the test goes on, so one run names every gap.
func (b *tab) expect(sel, what string) bool {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, step)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(sel))); err != nil {
		loc, _ := chromedp.Run(b.ctx, chromedp.Location())
		b.t.Errorf("%s: no visible %s at %s: %v", what, sel, loc, err)
		return false
	}
	return true
}

// click clicks the element of a CSS selector, once it is visible.
func (b *tab) click(sel string) {
	b.t.Helper()
	b.do("click "+sel, step, chromedp.WaitVisible(chromedp.CSS(sel)), chromedp.Click(chromedp.CSS(sel)))
}

// fill replaces the value of a field and types into it, so the page's
// input handlers run as they would for a person.
func (b *tab) fill(sel, value string) {
	b.t.Helper()
	b.do("fill "+sel, step, chromedp.WaitVisible(chromedp.CSS(sel)),
		chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(e => { e.value = ''; e.dispatchEvent(new Event('input', {bubbles: true})) })(document.querySelector(%q))`, sel)),
		chromedp.SendKeys(chromedp.CSS(sel), value))
}

// setValue sets a field's value directly (a <select>, a datetime-local) and
// fires input and change, as choosing would.
func (b *tab) setValue(sel, value string) {
	b.t.Helper()
	b.waitFor("field "+sel, fmt.Sprintf(`document.querySelector(%q)`, sel), step)
	ok := eval[bool](b, "set "+sel, fmt.Sprintf(`(() => { const e = document.querySelector(%q); e.value = %q;
		e.dispatchEvent(new Event('input', {bubbles: true})); e.dispatchEvent(new Event('change', {bubbles: true}));
		return e.value === %q })()`, sel, value, value))
	if !ok {
		b.fail("set "+sel, fmt.Errorf("the field does not take the value %q (no such option?)", value))
	}
}

// text is the trimmed text of the first element of a CSS selector, "" if none.
func (b *tab) text(sel string) string {
	b.t.Helper()
	return eval[string](b, "read "+sel, fmt.Sprintf(`(document.querySelector(%q)?.textContent ?? '').trim()`, sel))
}

// count is the number of elements that match a CSS selector.
func (b *tab) count(sel string) int {
	b.t.Helper()
	return eval[int](b, "count "+sel, fmt.Sprintf(`document.querySelectorAll(%q).length`, sel))
}

var firstNumber = regexp.MustCompile(`\d[\d,  ]*`)

// number reads the first number in an element's text ("1,234 events" is
// 1234); -1 when there is none.
func (b *tab) number(sel string) int {
	b.t.Helper()
	m := firstNumber.FindString(b.text(sel))
	if m == "" {
		return -1
	}
	n, err := strconv.Atoi(strings.NewReplacer(",", "", " ", "", " ", "").Replace(m))
	if err != nil {
		return -1
	}
	return n
}

// waitNumber waits until the number an element shows passes ok, reading it
// again as the page refreshes.
func (b *tab) waitNumber(what, sel string, ok func(int) bool, timeout time.Duration) int {
	b.t.Helper()
	var n int
	for deadline := time.Now().Add(timeout); ; time.Sleep(250 * time.Millisecond) {
		if n = b.number(sel); ok(n) {
			return n
		}
		if time.Now().After(deadline) {
			b.fail(what, fmt.Errorf("%s shows %q", sel, b.text(sel)))
		}
	}
}

// clickThen clicks, answers the in-page confirmation if one opens, and
// waits until the JavaScript expression done is truthy.
func (b *tab) clickThen(sel, done string) {
	b.t.Helper()
	b.click(sel)
	b.waitFor("after "+sel, `document.querySelector('dialog[open] [data-test=confirm-yes]') || (`+done+`)`, step)
	if b.count("dialog[open] [data-test=confirm-yes]") > 0 {
		b.confirm()
	}
	b.waitFor("after "+sel, done, step)
}

// confirm answers the console's in-page confirmation dialog, when one opens
// within a moment of an action that asks for one.
func (b *tab) confirm() {
	b.t.Helper()
	b.click("dialog[open] [data-test=confirm-yes]")
}

// settled waits until the page has finished loading what it shows: no
// region is aria-busy.
func (b *tab) settled(what string) {
	b.t.Helper()
	b.waitFor(what+": loaded", `!document.querySelector('[aria-busy="true"]')`, step)
}

// screen checks the screen the tab shows: axe-core's rules, the keyboard,
// then a screenshot at both widths, and no horizontal scroll at the narrow
// one.
func (b *tab) screen(name string) {
	b.t.Helper()
	b.settled(name)
	b.axe(name)
	b.keyboard(name)
	b.screenshots(name)
}

// focusStop is one element the Tab key reached.
type focusStop struct {
	Desc    string `json:"desc"`
	Visible bool   `json:"visible"` // a focus ring: an outline or a box shadow
	Skip    bool   `json:"skip"`    // a skip link to the main content
}

// keyboard walks the screen with the Tab key as a keyboard user does:
// the first stop is a skip link, every stop shows where focus is, and every
// control a mouse could use is reached.
func (b *tab) keyboard(name string) {
	b.t.Helper()
	// Tab goes on from where focus last was: start it from the top of the
	// page with a stand-in that takes focus but no Tab stop of its own.
	_ = eval[bool](b, "start from the top", `(() => { const s = document.createElement('span'); s.tabIndex = -1;
		s.dataset.consoleTestStart = ''; document.body.prepend(s); s.focus(); return true })()`)
	const describe = `(() => { const e = document.activeElement; if (!e || e === document.body) return null;
		const cs = getComputedStyle(e);
		// A date or time field's focus is its highlighted part, inside it.
		const ring = (cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) > 0) || cs.boxShadow !== 'none' ||
			['date', 'time', 'datetime-local', 'month', 'week'].includes(e.type);
		if (!e.dataset.consoleTestReached) e.dataset.consoleTestReached = '';
		return {desc: e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.dataset.test ? '[data-test=' + e.dataset.test + ']' : '') +
			' "' + (e.textContent || e.getAttribute('aria-label') || '').trim().slice(0, 30) + '"',
			visible: ring, skip: e.tagName === 'A' && /^#/.test(e.getAttribute('href') || '') && /skip/i.test(e.textContent)} })()`
	var stops []focusStop
	for i := range 250 {
		b.do("press Tab", step, chromedp.KeyEvent(kb.Tab))
		if i == 0 {
			_ = eval[bool](b, "remove the start", `(document.querySelector('[data-console-test-start]')?.remove(), true)`)
		}
		s := eval[*focusStop](b, "the focused element", describe)
		if s == nil {
			break // past the last control, back to the page
		}
		if len(stops) > 0 && s.Desc == stops[0].Desc {
			break // round again
		}
		stops = append(stops, *s)
	}
	if len(stops) == 0 {
		b.t.Errorf("%s: the Tab key reaches nothing", name)
		return
	}
	if !stops[0].Skip {
		b.t.Errorf("%s: the first Tab stop is %s, not a skip link to the main content", name, stops[0].Desc)
	}
	for _, s := range stops {
		if !s.Visible {
			b.t.Errorf("%s: %s shows no focus ring when reached by the keyboard", name, s.Desc)
		}
	}
	missed := eval[[]string](b, "controls the keyboard missed", `[...document.querySelectorAll('a[href], button, input, select, textarea, summary, [tabindex]')]
		.filter(e => !e.disabled && e.tabIndex >= 0 && e.getClientRects().length > 0 && getComputedStyle(e).visibility !== 'hidden'
			&& !e.closest('[inert], dialog:not([open]), details:not([open]) > :not(summary)') && !('consoleTestReached' in e.dataset)
			&& !(e.type === 'radio' && !e.checked && document.querySelector('input[type=radio][name="' + e.name + '"]:checked')))
		.slice(0, 10).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.dataset.test ? '[data-test=' + e.dataset.test + ']' : '') + ' "' + (e.textContent || '').trim().slice(0, 30) + '"')`)
	if len(missed) > 0 {
		b.t.Errorf("%s: the Tab key never reaches %v", name, missed)
	}
	_ = eval[bool](b, "clean up", `(document.querySelectorAll('[data-console-test-reached]').forEach(e => delete e.dataset.consoleTestReached), document.activeElement?.blur(), true)`)
}

// screenshotDir is where screenshots go: LOGSTREAM_CONSOLE_SCREENSHOTS (a
// relative path is taken from the repository's root, as make passes
// docs/console), else a directory of the test's own.
func screenshotDir(t *testing.T) string {
	dir := os.Getenv("LOGSTREAM_CONSOLE_SCREENSHOTS")
	if dir == "" {
		return t.TempDir()
	}
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(repoRoot(t), dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// repoRoot is the module's root, where go.mod is.
func repoRoot(t *testing.T) string {
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}

var shotDirs sync.Map // *testing.T → its screenshot directory

// screenshots writes <name>-desktop.png and <name>-narrow.png, and checks
// that at 360 px the page does not scroll sideways (tables scroll in their
// own wrapper).
func (b *tab) screenshots(name string) {
	b.t.Helper()
	d, _ := shotDirs.LoadOrStore(b.t, screenshotDir(b.t))
	dir := d.(string)
	for _, v := range []struct {
		suffix string
		w, h   int64
	}{{"desktop", desktopW, desktopH}, {"narrow", narrowW, narrowH}} {
		b.do("resize to "+v.suffix, step, chromedp.EmulateViewport(v.w, v.h))
		// Two frames: the new width is laid out and painted.
		_ = eval[bool](b, "lay out", `new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))`)
		if v.suffix == "narrow" {
			widths := eval[[]int](b, "measure", `[document.documentElement.scrollWidth, document.documentElement.clientWidth]`)
			if widths[0] > widths[1] {
				wide := eval[[]string](b, "find the wide elements", `[...document.querySelectorAll('body *')]
					.filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5)
					.filter(e => !e.parentElement || e.parentElement.getBoundingClientRect().right <= document.documentElement.clientWidth + 0.5)
					.slice(0, 5).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.dataset.test ? '[data-test=' + e.dataset.test + ']' : '') + ' ' + Math.round(e.getBoundingClientRect().right) + 'px')`)
				b.t.Errorf("%s at %d px: the page scrolls sideways (scrollWidth %d > clientWidth %d); widest: %v", name, narrowW, widths[0], widths[1], wide)
			}
		}
		ctx, cancel := context.WithTimeout(b.ctx, step)
		// The whole page at that width, not only the first screenful:
		// the docs show what a screen holds.
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		cancel()
		if err != nil {
			b.fail("screenshot "+name, err)
		}
		file := filepath.Join(dir, name+"-"+v.suffix+".png")
		if err := os.WriteFile(file, png, 0o644); err != nil {
			b.t.Fatal(err)
		}
	}
	b.do("resize back", step, chromedp.EmulateViewport(desktopW, desktopH))
	b.mu.Lock()
	b.shots[name] = true
	b.mu.Unlock()
}

// axeViolation is what the test keeps of one of axe-core's results.
type axeViolation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

// axe runs axe-core (localstack/node_modules, from the lockfile) in the
// page: a serious or critical violation fails the test, the rest are logged.
// The script is evaluated through the DevTools protocol, which the page's
// CSP does not govern; the console itself never loads it.
func (b *tab) axe(name string) {
	b.t.Helper()
	if !eval[bool](b, "axe present", `typeof window.axe === 'object'`) {
		src, err := os.ReadFile(filepath.Join(repoRoot(b.t), "localstack", "node_modules", "axe-core", "axe.min.js"))
		if err != nil {
			b.t.Fatalf("axe-core: %v (npm ci --prefix localstack installs it from the lockfile)", err)
		}
		_ = eval[chromedp.Void](b, "load axe-core", string(src)+"\n;undefined")
	}
	vs := eval[[]axeViolation](b, "run axe on "+name, `axe.run(document, {resultTypes: ['violations']}).then(r =>
		r.violations.map(v => ({id: v.id, impact: v.impact || '', help: v.help,
			nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))})))`)
	for _, v := range vs {
		if v.Impact == "serious" || v.Impact == "critical" {
			b.t.Errorf("axe on %s: %s violation %s (%s) at %v", name, v.Impact, v.ID, v.Help, v.Nodes)
		} else {
			b.t.Logf("axe on %s: %s violation %s (%s) at %v", name, v.Impact, v.ID, v.Help, v.Nodes)
		}
	}
}

// signIn signs in on #/signin with key and waits for the header to say who.
func (b *tab) signIn(key string) string {
	b.t.Helper()
	b.visible("#signin")
	b.fill("#api-key", key)
	b.click("[data-test=signin]")
	b.visible("[data-test=whoami]")
	return b.text("[data-test=whoami]")
}

// report returns what the browser recorded, for the CSP test.
func (b *tab) report() (requests, messages, violations []string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.requests...), append([]string(nil), b.messages...), append([]string(nil), b.violations...)
}

// logMessages puts what the browser said into the test's log.
func (b *tab) logMessages() {
	_, msgs, _ := b.report()
	for _, m := range msgs {
		b.t.Log(m)
	}
}
