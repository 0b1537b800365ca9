package chaos

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

func post(t *testing.T, c *http.Client, url, auth string, ids ...string) (int, http.Header, error) {
	t.Helper()
	var body strings.Builder
	for _, id := range ids {
		fmt.Fprintf(&body, `{"event_id":%q}`+"\n", id)
	}
	body.WriteString(`{"event_id":"evt_lifecycle","type":"logstream.stream.created"}` + "\n")
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body.String()))
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header, nil
}

// The receiver answers each mode as documented and counts an event only
// when it answered its request 200.
func TestReceiverModes(t *testing.T) {
	r, err := NewReceiver(Faults{}, "tok", "run-", 1)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	c := &http.Client{Timeout: 5 * time.Second}

	tests := []struct {
		name, url, auth string
		want            []int
	}{
		{"healthy", r.URL("h", Healthy), "", []int{200, 200}},
		{"chaotic without faults", r.URL("c", Chaotic), "", []int{200}},
		{"unauthorized, wrong key", r.URL("u", Unauthorized), "Bearer nope", []int{401, 401}},
		{"unauthorized, right key", r.URL("u", Unauthorized), "Bearer tok", []int{200}},
		{"gone once", r.URL("g", GoneOnce), "", []int{410, 200}},
		{"gone once, logstream's own events alone", r.URL("g2", GoneOnce), "", []int{200, 410, 200}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for i, want := range tc.want {
				var ids []string
				if !strings.Contains(tc.name, "own events") || i > 0 {
					ids = append(ids, fmt.Sprintf("run-%s-%d", tc.name, i))
				}
				code, _, err := post(t, c, tc.url, tc.auth, ids...)
				if err != nil || code != want {
					t.Fatalf("request %d: %d %v, want %d", i, code, err, want)
				}
			}
		})
	}
	got := r.Delivered()
	if len(got["h"]) != 2 || len(got["c"]) != 1 || len(got["u"]) != 1 || len(got["g"]) != 1 || len(got["g2"]) != 1 {
		t.Fatalf("delivered: %v", got)
	}
	if _, ok := got["g"]["run-gone once-0"]; ok {
		t.Fatal("the event answered 410 counts as delivered")
	}
	code, _, _ := post(t, c, r.URL("h", Healthy), "", "run-healthy-0")
	if d := r.Delivered()["h"]["run-healthy-0"]; code != 200 || d.Times != 2 || d.Last.Before(d.First) {
		t.Fatalf("a second delivery of one event: %d %+v", code, d)
	}
}

// The fault mix: each kind answers in its own way, in about its share, and
// delivers nothing; Heal ends it.
func TestReceiverFaults(t *testing.T) {
	f := Faults{Error: .2, TooMany: .2, RetryAfter: 2 * time.Second, Hang: .2, HangFor: time.Minute, Reset: .2}
	r, err := NewReceiver(f, "", "run-", 7)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	// Hangs last a minute and every other answer comes at once, so a
	// timeout far above any answer's time tells them apart on a loaded
	// machine too; the requests go at once, so the hangs cost the test one
	// timeout, not one each.
	c := &http.Client{Timeout: 5 * time.Second}
	const n = 200
	var (
		mu                 sync.Mutex
		wg                 sync.WaitGroup
		ok200, hung, reset int
		badRetryAfter      []string
	)
	for i := range n {
		wg.Go(func() {
			code, h, err := post(t, c, r.URL("c", Chaotic), "", fmt.Sprintf("run-%d", i))
			mu.Lock()
			defer mu.Unlock()
			var ne interface{ Timeout() bool }
			switch {
			case errors.As(err, &ne) && ne.Timeout():
				hung++
			case err != nil:
				reset++
			case code == 429 && h.Get("Retry-After") != "2":
				badRetryAfter = append(badRetryAfter, h.Get("Retry-After"))
			case code == 200:
				ok200++
			}
		})
	}
	wg.Wait()
	if len(badRetryAfter) > 0 {
		t.Fatalf("429 with Retry-After %q", badRetryAfter)
	}
	a := r.Answers()
	for _, k := range []string{"200", "500", "429", "hang", "reset"} {
		if a[k] < n/10 || a[k] > n*3/10 {
			t.Errorf("%s answered %d of %d requests, want about a fifth: %v", k, a[k], n, a)
		}
	}
	if hung != a["hang"] || reset != a["reset"] || ok200 != a["200"] {
		t.Errorf("client saw %d timeouts, %d resets, %d 200s; receiver answered %v", hung, reset, ok200, a)
	}
	if got := len(r.Delivered()["c"]); got != ok200 {
		t.Errorf("%d events delivered, %d answered 200", got, ok200)
	}
	r.Heal()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for i := range 20 {
		code, _, err := post(t, c, r.URL("c", Chaotic), "", fmt.Sprintf("run-healed-%d", i))
		if err != nil || code != 200 || ctx.Err() != nil {
			t.Fatalf("healed: %d %v", code, err)
		}
	}
}
