package chaos

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Mode is how one endpoint of a Receiver answers.
type Mode string

// The endpoints' modes.
const (
	// Healthy answers 200 to every request.
	Healthy Mode = "healthy"
	// Chaotic answers with the receiver's Faults until Heal, then 200.
	Chaotic Mode = "chaotic"
	// Unauthorized answers 401 to every request that does not carry the
	// receiver's Token: a stream configured with a wrong credential, until
	// it is given the right one.
	Unauthorized Mode = "unauthorized"
	// GoneOnce answers 410 to its first request that carries the run's
	// events, and 200 to every other: the destination that "no longer
	// exists" once, which suspends its stream. (A request of logstream's
	// own events alone, such as stream.created, is answered 200, so the
	// 410 parks some of the run's events as gone.)
	GoneOnce Mode = "gone-once"
)

// Faults is the chaos mix: the share of a Chaotic endpoint's requests
// answered each way; the rest are answered 200.
type Faults struct {
	// Error is the share answered 500.
	Error float64
	// TooMany is the share answered 429 with Retry-After: RetryAfter.
	TooMany    float64
	RetryAfter time.Duration
	// Hang is the share held for HangFor, longer than the delivery
	// timeout, so the sender gives up first; then 503.
	Hang    float64
	HangFor time.Duration
	// Reset is the share whose connection is reset (TCP RST) with no
	// answer, after the body was read.
	Reset float64
}

// IssueFaults is issue 12's mix: 20% 500, 10% 429 with a short Retry-After,
// 5% hangs, 5% connection resets. HangFor must exceed the stack's delivery
// timeout; the caller sets it.
func IssueFaults(hangFor time.Duration) Faults {
	return Faults{Error: .20, TooMany: .10, RetryAfter: time.Second, Hang: .05, HangFor: hangFor, Reset: .05}
}

// Delivery is one event's deliveries to one endpoint: how many times it was
// answered 200, and when.
type Delivery struct {
	Times int
	// First and Last are when it was first and last answered 200.
	First, Last time.Time
}

// Receiver is the webhook receiver of the chaos run: endpoints by name, each
// with its Mode, all on one local server. It counts an event as delivered to
// an endpoint only when it answered the request that carried it 200; a
// fault, a hang or a reset delivers nothing, whatever the sender believes.
// Events are the run's own, known by their event_id's Prefix: logstream's
// lifecycle events are not counted.
type Receiver struct {
	faults Faults
	token  string
	prefix string
	srv    *http.Server
	addr   string
	stop   chan struct{}

	mu      sync.Mutex
	rnd     *rand.Rand
	healed  bool
	wentOff map[string]bool                 // GoneOnce endpoints that have answered 410
	got     map[string]map[string]*Delivery // endpoint name → event id → its deliveries
	answers map[string]int                  // answer ("200", "500", "429", "hang", "reset", "401", "410") → requests
}

// NewReceiver starts a receiver on a free port of 127.0.0.1. Token is the
// credential an Unauthorized endpoint takes ("Bearer "+token); prefix picks
// the run's events; seed makes the fault sequence repeatable.
func NewReceiver(f Faults, token, prefix string, seed uint64) (*Receiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("chaos receiver: %w", err)
	}
	r := &Receiver{faults: f, token: token, prefix: prefix, addr: ln.Addr().String(), stop: make(chan struct{}),
		rnd: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), wentOff: map[string]bool{},
		got: map[string]map[string]*Delivery{}, answers: map[string]int{}}
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second}
	go r.srv.Serve(ln)
	return r, nil
}

// URL is the endpoint name's URL in mode m. Endpoints of one name share
// their deliveries whatever the mode: a stream moved from one to the other
// keeps its count.
func (r *Receiver) URL(name string, m Mode) string {
	return "http://" + r.addr + "/hook/" + name + "/" + string(m)
}

// Heal turns every Chaotic endpoint healthy.
func (r *Receiver) Heal() {
	r.mu.Lock()
	r.healed = true
	r.mu.Unlock()
}

// Delivered is a copy of the deliveries: endpoint name → event id → them.
func (r *Receiver) Delivered() map[string]map[string]Delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]map[string]Delivery, len(r.got))
	for name, evs := range r.got {
		m := make(map[string]Delivery, len(evs))
		for id, d := range evs {
			m[id] = *d
		}
		out[name] = m
	}
	return out
}

// Answers counts the requests by how they were answered.
func (r *Receiver) Answers() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.answers)
}

// Close stops the server; hanging requests are let go first.
func (r *Receiver) Close() {
	close(r.stop)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if r.srv.Shutdown(ctx) != nil {
		r.srv.Close()
	}
}

func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	name, mode, ok := strings.Cut(strings.TrimPrefix(req.URL.Path, "/hook/"), "/")
	if !ok || req.Method != http.MethodPost {
		http.NotFound(w, req)
		return
	}
	// The whole body is read before answering, whatever the answer: a
	// reset or a hang then happens after the sender has sent everything,
	// which is the case where it cannot know what the receiver did.
	ids, err := r.eventIDs(req.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	answer := r.answer(name, Mode(mode), req.Header.Get("Authorization"), len(ids) > 0)
	switch answer {
	case "200":
		now := time.Now()
		r.mu.Lock()
		evs := r.got[name]
		if evs == nil {
			evs = map[string]*Delivery{}
			r.got[name] = evs
		}
		for _, id := range ids {
			d := evs[id]
			if d == nil {
				d = &Delivery{First: now}
				evs[id] = d
			}
			d.Times++
			d.Last = now
		}
		r.mu.Unlock()
		w.WriteHeader(http.StatusOK)
	case "500":
		http.Error(w, "chaos: internal error", http.StatusInternalServerError)
	case "429":
		// Retry-After in delay-seconds (RFC 9110 §10.2.3).
		w.Header().Set("Retry-After", fmt.Sprint(max(int(r.faults.RetryAfter/time.Second), 1)))
		http.Error(w, "chaos: slow down", http.StatusTooManyRequests)
	case "hang":
		t := time.NewTimer(r.faults.HangFor)
		defer t.Stop()
		select {
		case <-req.Context().Done():
		case <-t.C:
		case <-r.stop:
		}
		http.Error(w, "chaos: too late", http.StatusServiceUnavailable)
	case "reset":
		reset(w)
	case "401":
		http.Error(w, "chaos: bad credentials", http.StatusUnauthorized)
	case "410":
		http.Error(w, "chaos: this endpoint is gone", http.StatusGone)
	}
}

// answer decides how to answer one request, and counts it.
func (r *Receiver) answer(name string, m Mode, authorization string, ours bool) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	a := "200"
	switch m {
	case Chaotic:
		if r.healed {
			break
		}
		f, u := r.faults, r.rnd.Float64()
		switch {
		case u < f.Error:
			a = "500"
		case u < f.Error+f.TooMany:
			a = "429"
		case u < f.Error+f.TooMany+f.Hang:
			a = "hang"
		case u < f.Error+f.TooMany+f.Hang+f.Reset:
			a = "reset"
		}
	case Unauthorized:
		if authorization != "Bearer "+r.token {
			a = "401"
		}
	case GoneOnce:
		if ours && !r.wentOff[name] {
			r.wentOff[name] = true
			a = "410"
		}
	}
	r.answers[a]++
	return a
}

// reset closes the connection with a TCP RST and no answer.
func reset(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetLinger(0) // close sends RST, not FIN
	}
	conn.Close()
}

// eventIDs reads the run's event ids from an NDJSON body (the http
// destination's default JSONLINES).
func (r *Receiver) eventIDs(body io.Reader) ([]string, error) {
	var ids []string
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 1<<20), 2<<20)
	for sc.Scan() {
		var ev struct {
			EventID string `json:"event_id"`
		}
		if json.Unmarshal(sc.Bytes(), &ev) == nil && strings.HasPrefix(ev.EventID, r.prefix) {
			ids = append(ids, ev.EventID)
		}
	}
	return ids, sc.Err()
}
