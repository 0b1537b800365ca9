// Package fairness runs issue 11's fairness scenario against a running local
// stack: a quiet project with one http stream to a receiver that answers at
// once, ingesting one event at a time, beside projects whose http receivers
// hang. It measures what the quiet project's events wait (each carries its
// send time; the receiver takes the difference) and what the delivery
// function spends meanwhile. The end-to-end test (localstack/e2e) asserts on
// it with a short hang; localstack/cmd/fairness prints the figures for the
// issue's own settings.
package fairness

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/logstream/logstream/localstack/runner"
	"github.com/logstream/logstream/shared/app"
)

// Scenario is one run. Base, AdminKey, QuietEvery and Duration are required.
type Scenario struct {
	// Base is the stack's gateway URL; AdminKey authenticates every call.
	Base, AdminKey string
	// Project names the quiet project; the hanging ones are Project-hang-N.
	// Different runs on one stack need different names ("" means "quiet").
	Project string

	// Hanging is how many projects have an http stream whose receiver
	// hangs; each ingests HangingEvents events in one request every
	// HangingEvery.
	Hanging       int
	HangingEvents int
	HangingEvery  time.Duration
	// Hang is how long the hanging receiver holds each request before it
	// answers 200; it lets go earlier when the sender gives up. Longer than
	// the delivery timeout, every request to it times out.
	Hang time.Duration

	// QuietEvery is the quiet project's pace: one event per request.
	QuietEvery time.Duration
	// Warmup is how long the hanging projects ingest before the quiet one
	// starts; Duration how long the quiet one ingests afterwards (the
	// hanging ones go on until it stops); Drain how long after that the
	// quiet events may still arrive and count as delivered.
	Warmup, Duration, Drain time.Duration

	// Busy reads the http delivery function's time spent in invocations so
	// far (a Meter's Busy); nil skips the cost figure.
	Busy func() time.Duration
}

// Result is what a run measured.
type Result struct {
	// QuietSent is how many quiet events ingestion accepted (202);
	// QuietRejected how many requests it did not; QuietDelivered how many
	// distinct ones (by id) reached the receiver within Drain of the end.
	QuietSent, QuietRejected, QuietDelivered int
	// Lags are the delivered events' waits (received − sent), sorted.
	Lags []time.Duration
	// HangingSent is how many events of the hanging projects ingestion
	// accepted, HangingRejected how many requests it did not, and
	// HangingRequests how many requests their receiver got.
	HangingSent, HangingRejected, HangingRequests int
	// Busy is the delivery function's time in invocations while the quiet
	// project ingested, and Window that time: Busy per minute of Window is
	// the function-seconds a minute of this traffic costs.
	Busy, Window time.Duration
}

// Percentile is the nearest-rank p-th percentile (0 < p ≤ 1) of the lags:
// the smallest lag at least p of them do not exceed. With fewer than 100
// events, p99 is the maximum.
func (r Result) Percentile(p float64) time.Duration {
	if len(r.Lags) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(r.Lags)))) - 1
	return r.Lags[min(max(i, 0), len(r.Lags)-1)]
}

// Max is the longest lag.
func (r Result) Max() time.Duration { return r.Percentile(1) }

// FunctionSecondsPerMinute is Busy in seconds per minute of Window.
func (r Result) FunctionSecondsPerMinute() float64 {
	if r.Window <= 0 {
		return 0
	}
	return r.Busy.Seconds() / r.Window.Minutes()
}

// String is the figures on one line.
func (r Result) String() string {
	ms := func(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }
	return fmt.Sprintf("quiet lag p50 %s p99 %s max %s; delivered %d of %d (%d rejected); hanging: %d events accepted (%d rejected), %d requests to their receiver; delivery %.1f function-s/min",
		ms(r.Percentile(.50)), ms(r.Percentile(.99)), ms(r.Max()), r.QuietDelivered, r.QuietSent, r.QuietRejected,
		r.HangingSent, r.HangingRejected, r.HangingRequests, r.FunctionSecondsPerMinute())
}

// Run creates the streams, ingests, and waits for the quiet events. It fails
// only when it cannot set the run up; what the run measured is the Result.
func Run(ctx context.Context, sc Scenario) (Result, error) {
	var res Result
	if sc.Base == "" || sc.AdminKey == "" || sc.QuietEvery <= 0 || sc.Duration <= 0 ||
		(sc.Hanging > 0 && (sc.HangingEvents <= 0 || sc.HangingEvery <= 0)) {
		return res, errors.New("fairness: scenario incomplete")
	}
	if sc.Project == "" {
		sc.Project = "quiet"
	}
	c := client{base: sc.Base, key: sc.AdminKey}

	quiet := &receiver{seen: map[int]time.Duration{}}
	quietSrv, err := serve(quiet)
	if err != nil {
		return res, err
	}
	defer quietSrv.Close()
	hang := &hanging{hold: sc.Hang, stop: make(chan struct{})}
	hangSrv, err := serve(hang)
	if err != nil {
		return res, err
	}
	// Close waits for handlers: let the hung ones go first.
	defer hangSrv.Close()
	defer close(hang.stop)

	// Every stream exists before its project's first event, so ingestion
	// never caches a project as having none.
	if err := c.createStream(ctx, sc.Project, "http://"+quietSrv.Addr+"/quiet"); err != nil {
		return res, err
	}
	hangingProjects := make([]string, sc.Hanging)
	for i := range hangingProjects {
		hangingProjects[i] = fmt.Sprintf("%s-hang-%02d", sc.Project, i)
		if err := c.createStream(ctx, hangingProjects[i], fmt.Sprintf("http://%s/hang/%d", hangSrv.Addr, i)); err != nil {
			return res, err
		}
	}

	var hangingSent, hangingRejected atomic.Int64
	hangCtx, stopHanging := context.WithCancel(ctx)
	defer stopHanging()
	var wg sync.WaitGroup
	for i, p := range hangingProjects {
		wg.Go(func() {
			// Spread the projects over the period instead of all at once.
			if !sleep(hangCtx, sc.HangingEvery*time.Duration(i)/time.Duration(len(hangingProjects))) {
				return
			}
			tick := time.NewTicker(sc.HangingEvery)
			defer tick.Stop()
			for seq := 0; ; seq++ {
				var b bytes.Buffer
				for j := range sc.HangingEvents {
					n := seq*sc.HangingEvents + j
					fmt.Fprintf(&b, `{"event_id":"%s-%07d","seq":%d,"sent":%q}`+"\n", p, n, n, time.Now().UTC().Format(time.RFC3339Nano))
				}
				if err := c.ingest(hangCtx, p, &b); err == nil {
					hangingSent.Add(int64(sc.HangingEvents))
				} else if hangCtx.Err() == nil {
					hangingRejected.Add(1)
				}
				select {
				case <-hangCtx.Done():
					return
				case <-tick.C:
				}
			}
		})
	}

	if !sleep(ctx, sc.Warmup) {
		return res, ctx.Err()
	}
	busy := func() time.Duration {
		if sc.Busy == nil {
			return 0
		}
		return sc.Busy()
	}
	busy0, start := busy(), time.Now()
	tick := time.NewTicker(sc.QuietEvery)
	for seq := 0; time.Since(start) < sc.Duration; seq++ {
		body := fmt.Sprintf(`{"event_id":"%s-%07d","seq":%d,"sent":%q}`, sc.Project, seq, seq, time.Now().UTC().Format(time.RFC3339Nano))
		if err := c.ingest(ctx, sc.Project, bytes.NewBufferString(body)); err != nil {
			if ctx.Err() != nil {
				return res, ctx.Err()
			}
			res.QuietRejected++
		} else {
			res.QuietSent++
		}
		<-tick.C
	}
	tick.Stop()
	end := time.Now()
	res.Busy, res.Window = busy()-busy0, end.Sub(start)
	stopHanging()
	wg.Wait()
	res.HangingSent, res.HangingRejected = int(hangingSent.Load()), int(hangingRejected.Load())

	// The issue counts what arrives within Drain of the end.
	for time.Since(end) < sc.Drain && quiet.count() < res.QuietSent {
		if !sleep(ctx, 100*time.Millisecond) {
			break
		}
	}
	quiet.mu.Lock()
	for _, lag := range quiet.seen {
		res.Lags = append(res.Lags, lag)
	}
	quiet.mu.Unlock()
	slices.Sort(res.Lags)
	res.QuietDelivered = len(res.Lags)
	res.HangingRequests = int(hang.requests.Load())
	return res, nil
}

// receiver answers 200 at once and keeps each event's lag by its seq, the
// first time it arrives (a redelivery is not a second event).
type receiver struct {
	mu   sync.Mutex
	seen map[int]time.Duration
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	now := time.Now()
	sc := bufio.NewScanner(req.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	r.mu.Lock()
	defer r.mu.Unlock()
	for sc.Scan() {
		var ev struct {
			Seq  *int      `json:"seq"`
			Sent time.Time `json:"sent"`
		}
		// Events without a seq are logstream's own (stream.created).
		if json.Unmarshal(sc.Bytes(), &ev) != nil || ev.Seq == nil {
			continue
		}
		if _, ok := r.seen[*ev.Seq]; !ok {
			r.seen[*ev.Seq] = now.Sub(ev.Sent)
		}
	}
	w.WriteHeader(http.StatusOK)
}

func (r *receiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.seen)
}

// hanging holds every request for hold, or until the sender gives up or the
// run ends, then answers 200.
type hanging struct {
	hold     time.Duration
	stop     chan struct{}
	requests atomic.Int64
}

func (h *hanging) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	h.requests.Add(1)
	io.Copy(io.Discard, req.Body)
	t := time.NewTimer(h.hold)
	defer t.Stop()
	select {
	case <-t.C:
	case <-req.Context().Done():
		return
	case <-h.stop:
	}
	w.WriteHeader(http.StatusOK)
}

type server struct {
	Addr string
	srv  *http.Server
}

func serve(h http.Handler) (*server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &server{Addr: ln.Addr().String(), srv: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}}
	go s.srv.Serve(ln)
	return s, nil
}

func (s *server) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if s.srv.Shutdown(ctx) != nil {
		s.srv.Close()
	}
}

// client calls the stack's HTTP API.
type client struct{ base, key string }

func (c client) post(ctx context.Context, path, contentType string, body io.Reader) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, body)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Authorization", "Bearer "+c.key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	return resp.StatusCode, out, err
}

func (c client) createStream(ctx context.Context, project, endpoint string) error {
	body, _ := json.Marshal(map[string]any{"name": "fairness", "destination_type": "http",
		"destination_config": map[string]any{"endpoint": endpoint}})
	code, out, err := c.post(ctx, "/v1/projects/"+project+"/streams", "application/json", bytes.NewReader(body))
	if err == nil && code != http.StatusCreated {
		err = fmt.Errorf("%d %s", code, out)
	}
	if err != nil {
		return fmt.Errorf("fairness: create the stream of %s: %w", project, err)
	}
	return nil
}

func (c client) ingest(ctx context.Context, project string, body io.Reader) error {
	code, out, err := c.post(ctx, "/v1/projects/"+project+"/events", "application/x-ndjson", body)
	if err == nil && code != http.StatusAccepted {
		err = fmt.Errorf("%d %s", code, out)
	}
	return err
}

// sleep waits d or until ctx ends, and reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// Meter counts the time one function spends in invocations, as Lambda bills
// it, including the invocations still running when it is read: a delivery
// held by a hanging endpoint lasts up to the function's timeout (30 s), so
// counting only finished invocations would misplace half a minute of cost
// at each end of a one-minute window.
type Meter struct {
	// Now is the clock (default time.Now).
	Now func() time.Time

	mu       sync.Mutex
	done     time.Duration
	running  int64
	startSum int64 // Σ start times (UnixNano) of the running invocations
}

// Busy is the time spent so far, running invocations included.
func (m *Meter) Busy() time.Duration {
	now := m.now().UnixNano()
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.done + time.Duration(m.running*now-m.startSum)
}

func (m *Meter) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

// Wrap returns nh with functionID's handlers metered.
func (m *Meter) Wrap(nh runner.NewHandlerFunc, functionID string) runner.NewHandlerFunc {
	return func(ctx context.Context, id string, getenv app.Getenv) (any, error) {
		h, err := nh(ctx, id, getenv)
		if err != nil || h == nil || id != functionID {
			return h, err
		}
		return metered{lambda.NewHandler(h), m}, nil
	}
}

type metered struct {
	h lambda.Handler
	m *Meter
}

func (mh metered) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	start := mh.m.now()
	mh.m.mu.Lock()
	mh.m.running++
	mh.m.startSum += start.UnixNano()
	mh.m.mu.Unlock()
	defer func() {
		mh.m.mu.Lock()
		mh.m.running--
		mh.m.startSum -= start.UnixNano()
		mh.m.done += mh.m.now().Sub(start)
		mh.m.mu.Unlock()
	}()
	return mh.h.Invoke(ctx, payload)
}
