package console_test

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/logstream/logstream/shared/replay"
)

// wantCSP is the console's Content-Security-Policy as its contract states
// it, written out here rather than read from the package that sends it.
const wantCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// writeControls are the console's controls that change something: none of
// them may be in the page of a read key, not even disabled.
var writeControls = []string{
	"[data-test=new-stream]", "[data-test=edit]", "[data-test=delete]", "[data-test=enable]", "[data-test=disable]",
	"[data-test=test]", "[data-test=save]", "#stream-form", "[data-test=redrive]", "[data-test=purge]",
	"[data-test=replay-start]", "[data-test=replay-cancel]", "#key-form", "[data-test=key-create]",
	"[data-test=key-revoke]", "[data-test=nav-keys]",
}

// TestConsoleCSP: every answer of the console carries the contract's
// security headers, and while a user signs in and opens every screen the
// browser requests nothing from another origin and reports no violation of
// the policy.
func TestConsoleCSP(t *testing.T) {
	chromium(t)
	st := startStack(t)
	base := st.URL()

	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tc := range []struct {
		path, wantType, wantLocation string
		status                       int
	}{
		// The page by its file name: API Gateway's GET /console/{proxy+}
		// takes no empty path.
		{path: "/console", status: http.StatusPermanentRedirect, wantLocation: "/console/index.html"},
		{path: "/console/index.html", status: http.StatusOK, wantType: "text/html"},
		{path: "/console/app.js", status: http.StatusOK, wantType: "text/javascript"},
		{path: "/console/p/proj_a/streams", status: http.StatusOK, wantType: "text/html"}, // a page of the app
		{path: "/console/no-such-file.js", status: http.StatusNotFound},
	} {
		t.Run(strings.TrimPrefix(tc.path, "/"), func(t *testing.T) {
			resp, err := noRedirect.Get(base + tc.path)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("GET %s: %d, want %d (%.200s)", tc.path, resp.StatusCode, tc.status, body)
			}
			h := resp.Header
			for name, want := range map[string]string{
				"Content-Security-Policy": wantCSP, "X-Content-Type-Options": "nosniff",
				"Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY",
			} {
				if got := h.Values(name); len(got) != 1 || got[0] != want {
					t.Errorf("GET %s: %s %q, want exactly %q", tc.path, name, got, want)
				}
			}
			if tc.wantLocation != "" && h.Get("Location") != tc.wantLocation {
				t.Errorf("GET %s: Location %q, want %q", tc.path, h.Get("Location"), tc.wantLocation)
			}
			if tc.wantType != "" && !strings.HasPrefix(h.Get("Content-Type"), tc.wantType) {
				t.Errorf("GET %s: Content-Type %q, want %s", tc.path, h.Get("Content-Type"), tc.wantType)
			}
			if tc.wantType == "text/html" {
				if cc := h.Get("Cache-Control"); !strings.Contains(cc, "no-cache") && !strings.Contains(cc, "no-store") {
					t.Errorf("GET %s: Cache-Control %q: the page must be revalidated", tc.path, cc)
				}
				checkMarkup(t, string(body))
			}
		})
	}

	// /console/ is the API's fallback (no route of the console's matches
	// it): it sends the browser to the page.
	resp, err := noRedirect.Get(base + "/console/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 3 || resp.Header.Get("Location") != "/console/index.html" {
		t.Errorf("GET /console/: %d to %q, want a redirect to /console/index.html", resp.StatusCode, resp.Header.Get("Location"))
	}

	// The browser: the page, sign-in and every screen, as a user goes.
	api := newAPI(t, st, adminKey)
	const project = "proj_csp"
	recv := newReceiver(t)
	api.json(http.MethodPost, "/v1/projects/"+project+"/streams", map[string]any{"name": "csp-hook", "destination_type": "http",
		"destination_config": map[string]any{"endpoint": recv.srv.URL + "/hook"}}, nil)
	id := api.streamID(project, "csp-hook")
	b := openTab(t, base)
	b.visit("")
	b.signIn(adminKey)
	for _, route := range []string{"#/projects", "#/p/" + project, "#/p/" + project + "/new", "#/p/" + project + "/s/" + id,
		"#/p/" + project + "/s/" + id + "/edit", "#/p/" + project + "/dead-letters", "#/p/" + project + "/replays", "#/keys"} {
		b.hash(route)
		b.settled(route)
	}
	// A reload of a deep link loads every module again.
	b.visit("#/p/" + project + "/s/" + id)
	b.settled("reload")
	b.visible("[data-test=delivered-total]")

	requests, messages, violations := b.report()
	for _, m := range messages {
		t.Log(m)
	}
	var foreign []string
	for _, r := range requests {
		if strings.HasPrefix(r, "data:") {
			continue // img-src 'self' data: allows them, and they leave the page for nowhere
		}
		if r != b.origin && !strings.HasPrefix(r, b.origin+"/") {
			foreign = append(foreign, r)
		}
	}
	if len(requests) == 0 {
		t.Fatal("the browser reported no request at all: the network listener is not working")
	}
	t.Logf("%d requests, all to %s: %d", len(requests), b.origin, len(requests)-len(foreign))
	if len(foreign) > 0 {
		t.Errorf("the console requested %d URLs of another origin: %v", len(foreign), foreign)
	}
	if len(violations) > 0 {
		t.Errorf("the browser reported %d Content-Security-Policy violations:\n  %s", len(violations), strings.Join(violations, "\n  "))
	}
}

var (
	inlineScript = regexp.MustCompile(`(?is)<script\b[^>]*>\s*[^<\s]`)
	scriptTag    = regexp.MustCompile(`(?is)<script\b([^>]*)>`)
	styleAttr    = regexp.MustCompile(`(?is)<[a-z][^>]*\sstyle\s*=`)
	styleTag     = regexp.MustCompile(`(?is)<style\b`)
	handlerAttr  = regexp.MustCompile(`(?is)<[a-z][^>]*\son[a-z]+\s*=`)
	remoteRef    = regexp.MustCompile(`(?is)\s(?:src|href)\s*=\s*["']?(?:https?:)?//`)
)

// checkMarkup: the page the CSP protects has nothing the policy would have
// to block — no inline script, handler or style, nothing from another host.
func checkMarkup(t *testing.T, html string) {
	t.Helper()
	if m := inlineScript.FindString(html); m != "" {
		t.Errorf("index.html has an inline script: %q", m)
	}
	for _, m := range scriptTag.FindAllStringSubmatch(html, -1) {
		if !strings.Contains(m[1], "src=") {
			t.Errorf("index.html has a script without src: %q", m[0])
		}
	}
	for name, re := range map[string]*regexp.Regexp{"a style attribute": styleAttr, "a <style> element": styleTag,
		"an inline event handler": handlerAttr, "a reference to another host": remoteRef} {
		if m := re.FindString(html); m != "" {
			t.Errorf("index.html has %s: %q", name, m)
		}
	}
}

// TestConsoleFlow is issue 17's flow, through the console in the browser:
// sign in with the admin key; create an http stream to a test receiver
// (a bad endpoint is refused beside its field first); ingest events/auth;
// watch health rise; make the receiver fail so the next events are parked;
// fix it; redrive from the dead-letters screen and watch the job finish;
// see every event delivered; replay an hour and see its events arrive
// again; create and revoke a key. Each screen is checked by axe-core and
// photographed at both widths on the way.
func TestConsoleFlow(t *testing.T) {
	chromium(t)
	st := startStack(t)
	api := newAPI(t, st, adminKey)
	recv := newReceiver(t)
	const project, name = "proj_console", "auth-events"
	b := openTab(t, st.URL())
	defer b.logMessages()

	// Sign in: the start page asks for a key.
	b.visit("")
	b.visible("#signin")
	b.screen("signin")
	// A wrong key: the API's 401, in plain words.
	b.fill("#api-key", "not-a-key-0123456789abcdef")
	b.click("[data-test=signin]")
	b.visible("[role=alert][data-test=error]")
	if msg := b.text("[role=alert][data-test=error]"); msg == "" || strings.Contains(msg, "{") {
		t.Errorf("a wrong key's 401 shows as %q", msg)
	}
	if n := eval[int](b, "nothing kept", `sessionStorage.length`); n != 0 {
		t.Errorf("a refused key was kept in sessionStorage (%d items)", n)
	}
	if who := b.signIn(adminKey); !strings.Contains(who, "admin") {
		t.Errorf("signed in with the admin key, the header says %q", who)
	}
	if got := eval[string](b, "key storage", `sessionStorage.getItem('logstream.apiKey')`); got != adminKey {
		t.Errorf("sessionStorage logstream.apiKey = %q, want the key signed in with", got)
	}
	if n := eval[int](b, "no other storage", `localStorage.length + document.cookie.length`); n != 0 {
		t.Errorf("the console kept something in localStorage or a cookie (%d)", n)
	}

	// Open the project by hand (an admin key sees every project; this one
	// has no stream yet), then create the stream.
	b.hash("#/projects")
	b.visible("[data-test=open-project]")
	b.fill("#project-id", project)
	b.click("[data-test=open-project] button")
	b.waitFor("the project's streams", fmt.Sprintf(`location.hash === %q`, "#/p/"+project), step)
	b.settled("streams")
	b.click("[data-test=new-stream]")
	b.visible("#stream-form")
	b.setValue("select#destination_type", "http")
	b.fill(`#stream-form [name="name"]`, name)
	// An endpoint the API refuses: its error shows beside the field.
	b.fill(`#stream-form [name="destination_config.endpoint"]`, "hooks")
	b.click("[data-test=save]")
	const endpointError = `[data-test=field-error][data-field="destination_config.endpoint"]`
	b.visible(endpointError)
	if !eval[bool](b, "error linked to its field", fmt.Sprintf(`(() => {
		const input = document.querySelector('#stream-form [name="destination_config.endpoint"]');
		const err = document.querySelector(%q);
		return !!err.id && (input.getAttribute('aria-describedby') || '').split(/\s+/).includes(err.id) })()`, endpointError)) {
		t.Errorf("the endpoint's error %q is not linked to its input by aria-describedby", b.text(endpointError))
	}
	b.screen("stream-new")
	b.fill(`#stream-form [name="destination_config.endpoint"]`, recv.srv.URL+"/hook")
	b.fill(`#stream-form [name="destination_config.authorization"]`, "Bearer receiver-token-4321")
	b.click("[data-test=save]")
	// Saved once the console leaves the form (wherever it goes next).
	b.waitFor("the form saved", `!document.querySelector('#stream-form')`, step)
	id := waitStream(t, api, project, name)
	b.hash("#/p/" + project)
	row := fmt.Sprintf("[data-test=stream-row][data-stream-id=%q]", id)
	b.visible(row)
	if s := b.text(row + " [data-test=status]"); !strings.Contains(strings.ToLower(s), "active") {
		t.Errorf("the new stream's status badge says %q", s)
	}
	b.screen("streams")
	b.click(row + " a")
	b.waitFor("the stream's page", fmt.Sprintf(`location.hash === %q`, "#/p/"+project+"/s/"+id), step)
	b.visible("[data-test=delivered-total]")

	// The secret is write-only: the edit form leaves it empty and says
	// which one is kept.
	b.click("[data-test=edit]")
	b.visible("#stream-form")
	if !eval[bool](b, "the stored secret", `(() => {
		const input = document.querySelector('#stream-form [name="destination_config.authorization"]');
		const help = (input.getAttribute('aria-describedby') || '').split(/\s+/).filter(Boolean)
			.map(id => document.getElementById(id)?.textContent || '').join(' ');
		return input.value === '' && (input.placeholder + ' ' + help).includes('4321') })()`) {
		t.Error("the edit form does not show the stored authorization as write-only (empty, with its last four 4321)")
	}
	b.screen("stream-edit")
	b.hash("#/p/" + project + "/s/" + id)
	b.visible("[data-test=delivered-total]")

	// Test shows the destination's answer; pause and enable (each sent
	// with If-Match) turn the badge and the button over. These are the
	// controls a read key must not get.
	b.click("[data-test=test]")
	b.visible("[data-test=test-result]")
	if r := b.text("[data-test=test-result]"); !strings.Contains(r, "200") {
		t.Errorf("the test result does not show the receiver's 200: %q", r)
	}
	b.clickThen("[data-test=disable]", `document.querySelector('[data-test=enable]')`)
	if s := b.text("[data-test=status]"); !strings.Contains(strings.ToLower(s), "paused") {
		t.Errorf("after pausing, the status badge says %q", s)
	}
	b.clickThen("[data-test=enable]", `document.querySelector('[data-test=disable]')`)
	if s := b.text("[data-test=status]"); !strings.Contains(strings.ToLower(s), "active") {
		t.Errorf("after enabling, the status badge says %q", s)
	}
	b.expect("[data-test=delete]", "a write key's stream page")

	// Someone else pauses and enables the stream meanwhile: the page's
	// ETag is stale, so its pause is refused (412), said so, and the stream
	// reloaded; a second pause, on the new version, goes through.
	api.json(http.MethodPost, "/v1/projects/"+project+"/streams/"+id+"/disable", nil, nil)
	api.json(http.MethodPost, "/v1/projects/"+project+"/streams/"+id+"/enable", nil, nil)
	b.click("[data-test=disable]")
	b.waitFor("the conflict told", `[...document.querySelectorAll('[role=alert]')].some(e => /someone else/i.test(e.textContent))`, step)
	b.clickThen("[data-test=disable]", `document.querySelector('[data-test=enable]')`)
	b.clickThen("[data-test=enable]", `document.querySelector('[data-test=disable]')`)

	// Ingest the samples: health rises on the page as they are delivered.
	now := time.Now().UTC()
	var first []string
	for _, f := range []string{"stytch.json", "auth0.json", "okta.json"} {
		s := loadSample(t, f, now)
		api.ingest(project, s)
		first = append(first, s.ids...)
	}
	recv.waitReceived(t, "the samples", first, 1, 2*time.Minute)
	delivered := b.waitNumber("health shows the deliveries", "[data-test=delivered-total]", func(n int) bool { return n >= len(first) }, time.Minute)
	t.Logf("delivered %d sample events; the page shows %d delivered", len(first), delivered)
	b.expect("[data-test=health-chart]", "the hourly charts")
	if b.expect("[data-test=health-table]", "the hourly table") && b.count("[data-test=health-table] tbody tr") == 0 {
		t.Error("the health table lists no hour, though this hour had traffic")
	}
	b.screen("stream")

	// The receiver fails: the next events are retried, then parked.
	recv.status.Store(http.StatusInternalServerError)
	mixed := loadSample(t, "mixed.ndjson", time.Now().UTC())
	api.ingest(project, mixed)
	parked := b.waitNumber("health shows the parked events", "[data-test=parked-total]", func(n int) bool { return n >= len(mixed.ids) }, 3*time.Minute)
	t.Logf("parked: the page shows %d for %d events sent to a failing receiver", parked, len(mixed.ids))

	// Health counts an event parked when delivery sends it to the DLQ; the
	// dead-letter function moves it into the store on its schedule. The
	// screen shows the store, so it opens once the store has them all.
	waitDeadLetters(t, api, project, len(mixed.ids))

	// Fixed; redrive from the dead-letters screen.
	recv.status.Store(http.StatusOK)
	b.hash("#/p/" + project)
	b.click("[data-test=nav-dead-letters]")
	b.visible("[data-test=dl-summary]")
	b.waitFor("the dead letters' reasons", `document.querySelectorAll('[data-test=dl-reason]').length > 0`, step)
	b.visible("[data-test=dl-events]")
	b.screen("dead-letters")
	// Page through the dead events: every parked event is on a page.
	page := b.text("[data-test=dl-events]")
	seen := page
	for pages := 1; b.count("[data-test=dl-next]") > 0; pages++ {
		if pages > 20 {
			t.Fatal("the dead events' pages never end")
		}
		b.click("[data-test=dl-next]")
		b.waitFor("the next page of dead events", fmt.Sprintf(`(document.querySelector('[data-test=dl-events]')?.textContent ?? '').trim() !== %q`, page), step)
		b.settled("the next page")
		page = b.text("[data-test=dl-events]")
		seen += page
	}
	var notShown []string
	for _, id := range mixed.ids {
		if !strings.Contains(seen, id) {
			notShown = append(notShown, id)
		}
	}
	if len(notShown) > 0 {
		t.Errorf("paging through the dead events, %d of the %d parked never show, e.g. %v", len(notShown), len(mixed.ids), notShown[:min(3, len(notShown))])
	}
	// Purge asks in the page first; "no" purges nothing.
	b.expect("[data-test=purge]", "a write key's dead letters")
	b.click("[data-test=purge]")
	b.visible("dialog[open] [data-test=confirm-no]")
	b.click("dialog[open] [data-test=confirm-no]")
	b.waitFor("the dialog closed", `!document.querySelector('dialog[open]')`, step)
	waitDeadLetters(t, api, project, len(mixed.ids))
	b.clickThen("[data-test=redrive]", `document.querySelector('[data-test=job-progress]')`)
	state := waitState(b, "the redrive job", "[data-test=job-progress]", 3*time.Minute)
	if state != "succeeded" {
		t.Fatalf("the redrive job ended %s: %s", state, b.text("[data-test=job-progress]"))
	}
	t.Logf("redrive: %s", b.text("[data-test=job-progress]"))
	all := append(slices.Clone(first), mixed.ids...)
	recv.waitReceived(t, "every event, after the redrive", all, 1, 2*time.Minute)

	// Replay the last hour from the replays screen (whole minutes, as the
	// form's fields take them; a replay ends in the past).
	to := time.Now().UTC().Truncate(time.Minute)
	from := to.Add(-time.Hour)
	want := recv.within(all, from, to)
	if len(want) == 0 {
		t.Fatalf("no event delivered with a timestamp in [%s, %s)", from, to)
	}
	archived := waitArchived(t, api, project, id, from, to, len(want))
	b.hash("#/p/" + project)
	b.click("[data-test=nav-replays]")
	b.visible("select#replay-stream")
	b.selectStream("select#replay-stream", id, name)
	b.setValue("input#replay-from", from.Format("2006-01-02T15:04"))
	b.setValue("input#replay-to", to.Format("2006-01-02T15:04"))
	b.click("[data-test=replay-dry-run]")
	b.visible("[data-test=replay-size]")
	b.waitFor("the dry run's size", fmt.Sprintf(`(document.querySelector('[data-test=replay-size]')?.textContent ?? '').replace(/[,  ]/g, '').includes(%q)`,
		strconv.Itoa(archived)), step)
	b.screen("replays")
	b.clickThen("[data-test=replay-start]", `document.querySelector('[data-test=replay-job]')`)
	if state := waitState(b, "the replay job", "[data-test=replay-job]", 3*time.Minute); state != "succeeded" {
		t.Fatalf("the replay ended %s: %s", state, b.text("[data-test=replay-job]"))
	}
	recv.waitReceived(t, "the replayed hour", want, 2, 2*time.Minute)
	// Outside the window nothing is replayed; delivery is at least once,
	// so a second copy there is reported, not failed.
	inWindow := map[string]bool{}
	for _, id := range want {
		inWindow[id] = true
	}
	for id, n := range recv.counts(all) {
		if n > 1 && !inWindow[id] {
			t.Logf("event %s, outside the replayed window, arrived %d times", id, n)
		}
	}
	// The job the console started sent the window's events, each once.
	var jobs struct{ Data []replay.Job }
	api.json(http.MethodGet, "/v1/projects/"+project+"/replays", nil, &jobs)
	if len(jobs.Data) != 1 || jobs.Data[0].State != replay.StateSucceeded || jobs.Data[0].Progress.Sent != len(want) {
		t.Errorf("the project's replays: %+v; want one, succeeded, that sent the window's %d events", jobs.Data, len(want))
	}
	t.Logf("replay: %s", b.text("[data-test=replay-job]"))
	t.Logf("replayed [%s, %s): %d events archived, %d of the receiver's arrived again", from.Format(time.RFC3339), to.Format(time.RFC3339), archived, len(want))

	// Keys: create one (its secret shown once), then revoke it.
	b.click("[data-test=nav-keys]")
	b.visible("#key-form")
	b.fill(`#key-form [name="name"]`, "console reader")
	b.fillProjects(project)
	b.setValue(`#key-form [name="access"]`, "read")
	b.click("[data-test=key-create]")
	b.visible("[data-test=key-secret]")
	if s := b.text("[data-test=key-secret]"); len(s) < 20 {
		t.Errorf("the new key's secret shows as %q", s)
	}
	b.waitFor("the key listed", `[...document.querySelectorAll('[data-test=key-row]')].some(r => r.textContent.includes('console reader'))`, step)
	b.screen("keys")
	keyRow := `[...document.querySelectorAll('[data-test=key-row]')].find(r => r.textContent.includes('console reader'))`
	b.do("revoke the key", step, clickJS(keyRow+`.querySelector('[data-test=key-revoke]')`))
	b.confirm()
	b.waitFor("the key revoked", `!`+keyRow+` || /revoked/i.test(`+keyRow+`.textContent)`, step)

	// The projects screen, now that the project has a stream.
	b.hash("#/projects")
	b.waitFor("the project listed", fmt.Sprintf(`[...document.querySelectorAll('[data-test=project-link]')].some(a => a.textContent.includes(%q))`, project), step)
	b.screen("projects")

	// Sign out forgets the key.
	b.click("[data-test=signout]")
	b.visible("#signin")
	if n := eval[int](b, "storage after sign-out", `sessionStorage.length + localStorage.length + document.cookie.length`); n != 0 {
		t.Errorf("after sign-out the browser still keeps %d items", n)
	}
}

// TestConsoleReadOnly: a read key sees every screen of its project with no
// control that writes, and a write it forces from the page is refused by
// the API.
func TestConsoleReadOnly(t *testing.T) {
	chromium(t)
	st := startStack(t)
	admin := newAPI(t, st, adminKey)
	recv := newReceiver(t)
	const project = "proj_readonly"
	admin.json(http.MethodPost, "/v1/projects/"+project+"/streams", map[string]any{"name": "watched", "destination_type": "http",
		"destination_config": map[string]any{"endpoint": recv.srv.URL + "/hook"}}, nil)
	id := admin.streamID(project, "watched")
	key := admin.createKey("console read-only", "read", project)

	b := openTab(t, st.URL())
	defer b.logMessages()
	b.visit("")
	if who := b.signIn(key); !strings.Contains(who, "read") || !strings.Contains(who, project) {
		t.Errorf("signed in with a read key of %s, the header says %q", project, who)
	}
	noWrites := func(screen string) {
		t.Helper()
		b.settled(screen)
		for _, sel := range writeControls {
			if n := b.count(sel); n != 0 {
				t.Errorf("%s: a read key's page has %d %s", screen, n, sel)
			}
		}
		b.axe("read-only " + screen)
		b.keyboard("read-only " + screen)
	}
	b.hash("#/projects")
	b.waitFor("the key's project", fmt.Sprintf(`[...document.querySelectorAll('[data-test=project-link]')].some(a => a.textContent.includes(%q))`, project), step)
	noWrites("projects")
	b.hash("#/p/" + project)
	b.visible(fmt.Sprintf("[data-test=stream-row][data-stream-id=%q]", id))
	noWrites("streams")
	b.hash("#/p/" + project + "/s/" + id)
	b.visible("[data-test=delivered-total]")
	noWrites("stream")
	b.hash("#/p/" + project + "/dead-letters")
	b.visible("[data-test=dl-summary]")
	noWrites("dead letters")
	// Replays: a read key may list the jobs; the form that starts one is
	// the console's to leave out.
	b.hash("#/p/" + project + "/replays")
	noWrites("replays")

	// The page's own fetch, with the key the console holds: the API says no.
	status := eval[int](b, "force a write", fmt.Sprintf(`fetch('/v1/projects/%s/streams/%s/disable', {method: 'POST',
		headers: {'Authorization': 'Bearer ' + sessionStorage.getItem('logstream.apiKey')}}).then(r => r.status)`, project, id))
	if status != http.StatusForbidden {
		t.Errorf("a read key's forced POST disable answered %d, want 403", status)
	}
	var s struct{ Status string }
	admin.json(http.MethodGet, "/v1/projects/"+project+"/streams/"+id, nil, &s)
	if s.Status != "active" {
		t.Errorf("after the refused write the stream is %q, want active", s.Status)
	}
}

// waitStream waits until the API lists the stream the console created.
func waitStream(t *testing.T, api api, project, name string) string {
	t.Helper()
	for deadline := time.Now().Add(step); ; time.Sleep(250 * time.Millisecond) {
		var page struct {
			Data []struct{ ID, Name string }
		}
		api.json(http.MethodGet, "/v1/projects/"+project+"/streams?limit=100", nil, &page)
		for _, s := range page.Data {
			if s.Name == name {
				return s.ID
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the console's save created no stream %q in %s", name, project)
		}
	}
}

// waitDeadLetters waits until the project's dead-letter store holds at
// least n events.
func waitDeadLetters(t *testing.T, api api, project string, n int) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(250 * time.Millisecond) {
		var sum struct{ Events int }
		api.json(http.MethodGet, "/v1/projects/"+project+"/dead-letters", nil, &sum)
		if sum.Events >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the dead-letter store holds %d of the %d parked events", sum.Events, n)
		}
	}
}

// waitState waits until the job an element shows has a final data-state,
// and returns it.
func waitState(b *tab, what, sel string, timeout time.Duration) string {
	b.t.Helper()
	b.waitFor(what, fmt.Sprintf(`['succeeded', 'failed', 'cancelled'].includes(document.querySelector(%q)?.dataset.state)`, sel), timeout)
	return eval[string](b, what, fmt.Sprintf(`document.querySelector(%q).dataset.state`, sel))
}

// waitArchived waits until the archive holds at least n events of the
// window, by the API's dry run, so the console's dry run has them all, and
// returns its count.
func waitArchived(t *testing.T, api api, project, stream string, from, to time.Time, n int) int {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(500 * time.Millisecond) {
		var d struct {
			Size struct{ Events int } `json:"size"`
		}
		api.json(http.MethodPost, "/v1/projects/"+project+"/streams/"+stream+"/replay", map[string]any{"since": from, "until": to, "dry_run": true}, &d)
		if d.Size.Events >= n {
			return d.Size.Events
		}
		if time.Now().After(deadline) {
			t.Fatalf("the archive holds %d events of [%s, %s), want at least %d", d.Size.Events, from, to, n)
		}
	}
}

// selectStream chooses a stream in a <select> by its id (the option's
// value) or, failing that, its name.
func (b *tab) selectStream(sel, id, name string) {
	b.t.Helper()
	b.waitFor("the stream among "+sel, fmt.Sprintf(`[...document.querySelector(%q).options].some(o => o.value === %q || o.textContent.includes(%q))`, sel, id, name), step)
	value := eval[string](b, "option of "+name, fmt.Sprintf(`[...document.querySelector(%q).options].find(o => o.value === %q || o.textContent.includes(%q)).value`, sel, id, name))
	b.setValue(sel, value)
}

// fillProjects fills the key form's projects, a text field or a list.
func (b *tab) fillProjects(project string) {
	b.t.Helper()
	const sel = `#key-form [name="projects"]`
	b.waitFor("the key's projects field", fmt.Sprintf(`document.querySelector(%q)`, sel), step)
	if eval[string](b, "projects field", fmt.Sprintf(`document.querySelector(%q).tagName`, sel)) == "SELECT" {
		b.setValue(sel, project)
		return
	}
	b.fill(sel, project)
}

// clickJS clicks the element a JavaScript expression finds.
func clickJS(expr string) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void]("(" + expr + ").click()")
}
