package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	samples "github.com/logstream/logstream/events"
	"github.com/logstream/logstream/localstack/standin"
	"github.com/logstream/logstream/shared/filter"
)

// presetReceiver records what each stream delivers, by the path its
// endpoint names: the e2e_seq of each sample event, and logstream's own
// event types apart.
type presetReceiver struct {
	mu        sync.Mutex
	seqs      map[string][]int
	lifecycle map[string][]string
	bad       []string
	srv       *httptest.Server
}

func newPresetReceiver(t *testing.T) *presetReceiver {
	r := &presetReceiver{seqs: map[string][]int{}, lifecycle: map[string][]string{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		name := strings.TrimPrefix(req.URL.Path, "/hook/")
		sc := bufio.NewScanner(req.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		r.mu.Lock()
		defer r.mu.Unlock()
		for sc.Scan() {
			var ev struct {
				Seq  *int   `json:"e2e_seq"`
				Type string `json:"type"`
			}
			switch err := json.Unmarshal(sc.Bytes(), &ev); {
			case err == nil && ev.Seq != nil:
				r.seqs[name] = append(r.seqs[name], *ev.Seq)
			case err == nil && strings.HasPrefix(ev.Type, "logstream."):
				r.lifecycle[name] = append(r.lifecycle[name], ev.Type)
			default:
				r.bad = append(r.bad, name+": "+sc.Text())
			}
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *presetReceiver) got(name string) []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	// Delivery is at least once: a duplicate is no fault here.
	out := slices.Clone(r.seqs[name])
	slices.Sort(out)
	return slices.Compact(out)
}

func (r *presetReceiver) sawLifecycle(name, typ string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Contains(r.lifecycle[name], typ)
}

// TestFilterPresetsEndToEnd gives every vendor preset a stream of its own,
// beside one stream without filters, ingests the Stytch, Auth0 and Okta
// samples, and checks that each stream receives exactly the events its
// preset passes (each numbered with e2e_seq; the expected sets come from the
// samples' own type fields, as presets_test.go pins them), that the answer
// counts what was left out, and that a lifecycle event reaches a filtered
// stream whose filters its type does not match.
func TestFilterPresetsEndToEnd(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	st := startStack(t, ctx, standin.Spec(t))
	base := st.URL()
	rc := newPresetReceiver(t)

	// The sample events, numbered; what each preset passes, computed from
	// the samples before any of them is sent.
	var batches [][]byte
	var events []map[string]any
	for _, file := range []string{"stytch.json", "auth0.json", "okta.json"} {
		data, err := samples.FS.ReadFile("auth/" + file)
		if err != nil {
			t.Fatal(err)
		}
		var evs []map[string]any
		if err := json.Unmarshal(samples.Fresh(data, time.Now()), &evs); err != nil {
			t.Fatal(err)
		}
		for _, ev := range evs {
			ev["e2e_seq"] = len(events)
			events = append(events, ev)
		}
		b, _ := json.Marshal(evs)
		batches = append(batches, b)
	}
	presets := filter.Presets()
	want := map[string][]int{}
	all := make([]int, len(events))
	for i := range all {
		all[i] = i
	}
	want["unfiltered"] = all
	wantFiltered := 0
	for _, p := range presets {
		want[p.Name] = []int{}
		m, err := filter.Compile(&p.Filters)
		if err != nil {
			t.Fatal(err)
		}
		for i, ev := range events {
			raw, _ := json.Marshal(ev)
			if m.Pass(raw) {
				want[p.Name] = append(want[p.Name], i)
			}
		}
		wantFiltered += len(events) - len(want[p.Name])
	}
	if len(want["okta.sign-in"]) != 10 || len(want["auth0.auth.login.fail"]) != 5 || len(want["stytch.errors"]) != 6 {
		t.Fatalf("the samples changed under the presets: %d, %d, %d", len(want["okta.sign-in"]), len(want["auth0.auth.login.fail"]), len(want["stytch.errors"]))
	}

	// One stream per preset, its filters copied from the API's preset as a
	// client would.
	ids := map[string]string{"unfiltered": createStream(t, base, "unfiltered", rc.srv.URL+"/hook/unfiltered", "active")}
	for _, p := range presets {
		code, out := do(t, "GET", base+"/v1/filter-presets/"+p.Name, "", "", nil)
		var shown struct{ Filters json.RawMessage }
		if json.Unmarshal(out, &shown); code != http.StatusOK || len(shown.Filters) == 0 {
			t.Fatalf("GET preset %s: %d %s", p.Name, code, out)
		}
		body := fmt.Sprintf(`{"name":%q,"destination_type":"http","destination_config":{"endpoint":%q,"custom_headers":{"X-Tenant":"acme"}},"filters":%s}`,
			p.Name, rc.srv.URL+"/hook/"+p.Name, shown.Filters)
		code, out = do(t, "POST", base+"/v1/projects/"+project+"/streams", "application/json", "", []byte(body))
		var s struct{ ID string }
		if json.Unmarshal(out, &s); code != http.StatusCreated {
			t.Fatalf("create stream with preset %s: %d %s", p.Name, code, out)
		}
		ids[p.Name] = s.ID
	}

	filtered := 0
	for i, b := range batches {
		code, out := do(t, "POST", base+"/v1/projects/"+project+"/events", "application/json", "", b)
		var res struct{ Accepted, Streams, Filtered int }
		if json.Unmarshal(out, &res); code != http.StatusAccepted || res.Streams != len(ids) {
			t.Fatalf("batch %d: %d %s", i, code, out)
		}
		filtered += res.Filtered
	}
	if filtered != wantFiltered {
		t.Errorf("the answers count %d events filtered out, want %d", filtered, wantFiltered)
	}

	// A lifecycle event reaches a stream whose filters its type fails.
	code, out := do(t, "PATCH", base+"/v1/projects/"+project+"/streams/"+ids["okta.security"], "application/json", "", []byte(`{"name":"okta security, renamed"}`))
	if code != http.StatusOK {
		t.Fatalf("rename: %d %s", code, out)
	}

	complete := func() bool {
		for name, w := range want {
			if len(rc.got(name)) < len(w) {
				return false
			}
		}
		return rc.sawLifecycle("okta.security", "logstream.stream.updated")
	}
	deadline := time.Now().Add(90 * time.Second)
	for !complete() {
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	// Anything a filter should have kept out would arrive with the rest;
	// a moment more catches a straggler.
	time.Sleep(2 * time.Second)

	for name, w := range want {
		if got := rc.got(name); !slices.Equal(got, w) {
			t.Errorf("stream %s received e2e_seq %v, want %v", name, got, w)
		}
	}
	if !rc.sawLifecycle("okta.security", "logstream.stream.updated") {
		t.Error("the okta.security stream did not receive its logstream.stream.updated event")
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.bad) > 0 {
		t.Errorf("unexpected lines: %v", rc.bad[:min(3, len(rc.bad))])
	}
}
