// Command load measures logstream end to end on this machine: it starts the
// local stack in-process against the stand-ins, creates a stream to its own
// counting receiver, posts events through the HTTP API with several clients,
// waits until every event has been delivered, and prints the figures.
//
//	localstack/with-standins.sh go run ./localstack/cmd/load -events 50000 -batch 500 -clients 4
//
// Everything it talks to is on 127.0.0.1, and it stops by itself: after
// -events events, or at -timeout. The functions' logs go to stdout as in
// Lambda; AWS_LAMBDA_LOG_LEVEL=WARN (read at start-up) quiets them.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/logstream/logstream/localstack/runner"
	"github.com/logstream/logstream/shared/archivestore"
	"github.com/logstream/logstream/shared/eventarchive"
	"github.com/logstream/logstream/shared/secret"
	"github.com/logstream/logstream/shared/topology"
)

// adminKey authenticates the load run against its own in-process stack.
const adminKey = "load-admin-key-0123456789abcdef0123456789"

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

type counter struct {
	mu       sync.Mutex
	seen     map[int]bool
	total    int
	lags     []time.Duration
	requests int
	done     chan struct{}
	want     int
}

func (c *counter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	sc := bufio.NewScanner(r.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	type loadEvent struct {
		Seq  *int      `json:"seq"`
		Sent time.Time `json:"sent"`
	}
	var batch []loadEvent
	for sc.Scan() {
		var ev loadEvent
		// Events without a seq are logstream's own (the stream.created
		// lifecycle event), not part of the load.
		if json.Unmarshal(sc.Bytes(), &ev) == nil && ev.Seq != nil {
			batch = append(batch, ev)
		}
	}
	c.mu.Lock()
	c.requests++
	for _, ev := range batch {
		c.total++
		if !c.seen[*ev.Seq] {
			c.seen[*ev.Seq] = true
			c.lags = append(c.lags, now.Sub(ev.Sent))
		}
	}
	if len(c.seen) == c.want {
		select {
		case <-c.done:
		default:
			close(c.done)
		}
	}
	c.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func pct(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	return d[min(len(d)-1, int(float64(len(d))*p))]
}

func run() error {
	events := flag.Int("events", 50_000, "events to send (at most 1,000,000)")
	batch := flag.Int("batch", 500, "events per request (at most 10,000)")
	clients := flag.Int("clients", 4, "concurrent HTTP clients")
	maxConcurrency := flag.Int("max-concurrency", 0, "cap on each delivery mapping's concurrent invocations; 0 keeps topology's maximum (10), which the mapping scales up to as Lambda does")
	timeout := flag.Duration("timeout", 5*time.Minute, "give up after this long")
	flag.Parse()
	if *events < 1 || *events > 1_000_000 || *batch < 1 || *batch > 10_000 || *clients < 1 || *maxConcurrency < 0 {
		return errors.New("flags out of range")
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()

	rcv := &counter{seen: map[int]bool{}, done: make(chan struct{}), want: *events}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go http.Serve(ln, rcv)

	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return err
	}
	spec := topology.New(fmt.Sprintf("load-%d", time.Now().Unix()))
	stack, err := runner.Start(ctx, runner.Options{
		Spec: spec, AWS: cfg, MaxMappingConcurrency: *maxConcurrency,
		Overrides: map[string]string{topology.EnvAllowPrivateEndpoints: "true", topology.EnvAdminKey: adminKey,
			topology.EnvLocalSecretKey: secret.GenerateLocalKey(), topology.EnvS3PathStyle: "true",
			topology.EnvBridgeCredentials: `{"credentials":[{"username":"load","password":"load-password-0123456789"}]}`},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		return err
	}
	defer stack.Close()
	base := stack.URL() + "/v1/projects/proj_load"

	post := func(url, contentType string, body io.Reader) (*http.Response, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, body)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", contentType)
		req.Header.Set("Authorization", "Bearer "+adminKey)
		return http.DefaultClient.Do(req)
	}
	body := fmt.Sprintf(`{"name":"load","destination_type":"http","destination_config":{"endpoint":"http://%s/hook"}}`, ln.Addr())
	resp, err := post(base+"/streams", "application/json", bytes.NewBufferString(body))
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("create stream: %s", resp.Status)
	}

	// A realistic auth event, ~600 bytes once stamped.
	const pad = `"type":"user.session.start","actor":{"id":"00uHc43HxGzWZfgBM2Kk","alternateId":"alice@example.com"},` +
		`"client":{"ipAddress":"198.51.100.23","userAgent":"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"},` +
		`"outcome":{"result":"SUCCESS"},"severity":"INFO","displayMessage":"User login to Okta"`
	var next atomic.Int64
	var reqLat []time.Duration
	var latMu sync.Mutex
	var sentBytes atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, *clients)
	for range *clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				from := int(next.Add(int64(*batch))) - *batch
				if from >= *events || ctx.Err() != nil {
					return
				}
				to := min(from+*batch, *events)
				var b bytes.Buffer
				now := time.Now().UTC().Format(time.RFC3339Nano)
				for i := from; i < to; i++ {
					fmt.Fprintf(&b, `{"event_id":"load-%07d","seq":%d,"sent":%q,%s}`+"\n", i, i, now, pad)
				}
				sentBytes.Add(int64(b.Len()))
				t0 := time.Now()
				resp, err := post(base+"/events", "application/x-ndjson", &b)
				if err != nil {
					errs <- err
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusAccepted {
					errs <- fmt.Errorf("ingest answered %s", resp.Status)
					return
				}
				latMu.Lock()
				reqLat = append(reqLat, time.Since(t0))
				latMu.Unlock()
			}
		}()
	}
	wg.Wait()
	ingested := time.Since(start)
	select {
	case err := <-errs:
		return err
	default:
	}
	select {
	case <-rcv.done:
	case <-ctx.Done():
		rcv.mu.Lock()
		defer rcv.mu.Unlock()
		return fmt.Errorf("timed out with %d of %d events delivered", len(rcv.seen), *events)
	}
	delivered := time.Since(start)
	size, archivedAfter, err := waitArchived(ctx, stack, cfg, "proj_load", *events, start)
	if err != nil {
		return err
	}
	archivedAfter -= ingested

	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	deliver := stack.Usage()[topology.DeliverFunctionID("http")]
	manifest, err := stack.Manifest(ctx)
	if err != nil {
		return err
	}
	mappingMax := 0
	for _, mp := range manifest.Mappings {
		if mp.Function == topology.DeliverFunctionID("http") {
			mappingMax = mp.MaximumConcurrency
		}
	}
	fmt.Printf("load: %d events (%d per request, %d clients), %.1f MB sent\n",
		*events, *batch, *clients, float64(sentBytes.Load())/1e6)
	fmt.Printf("  ingest     %8.0f events/s accepted (202)    request p50 %v  p99 %v\n",
		float64(*events)/ingested.Seconds(), pct(reqLat, .50).Round(time.Millisecond), pct(reqLat, .99).Round(time.Millisecond))
	fmt.Printf("  end-to-end %8.0f events/s delivered         lag p50 %v  p99 %v (event sent → received)\n",
		float64(*events)/delivered.Seconds(), pct(rcv.lags, .50).Round(time.Millisecond), pct(rcv.lags, .99).Round(time.Millisecond))
	fmt.Printf("  delivered  %d distinct, %d duplicates, in %d receiver requests\n", len(rcv.seen), rcv.total-len(rcv.seen), rcv.requests)
	fmt.Printf("  deliver    %d invocations, %.1f function-seconds, at most %d at once (mapping maximum %d)\n",
		deliver.Invocations, deliver.Busy.Seconds(), deliver.PeakConcurrency, mappingMax)
	archiver := stack.Usage()[topology.FunctionArchiver]
	fmt.Printf("  archive    %d events in %d objects, %.1f MB NDJSON stored as %.1f MB (%.1f×), all written %v after the last 202 (batching window %s)\n",
		size.Events, size.Objects, float64(size.Bytes)/1e6, float64(size.StoredBytes)/1e6, float64(size.Bytes)/float64(max(size.StoredBytes, 1)),
		archivedAfter.Round(time.Millisecond), archiverWindow(spec))
	fmt.Printf("  archiver   %d invocations, %.1f function-seconds (%.2f ms per 1,000 events)\n",
		archiver.Invocations, archiver.Busy.Seconds(), archiver.Busy.Seconds()*1e6/float64(max(size.Events, 1)))
	fmt.Printf("  peak RSS   %.0f MB (this one process: stack, clients and receiver)\n", float64(ru.Maxrss)/1024)
	return nil
}

// waitArchived waits until the event archive holds every event of the
// project, and returns its size and when that was (since start).
func waitArchived(ctx context.Context, stack *runner.Stack, cfg aws.Config, project string, want int, start time.Time) (eventarchive.Size, time.Duration, error) {
	bucket, err := archivestore.New(cfg, stack.Resources().EventArchiveBucket, true)
	if err != nil {
		return eventarchive.Size{}, 0, err
	}
	for {
		size, err := eventarchive.Measure(ctx, bucket, project, start.Add(-time.Hour), time.Now().Add(time.Hour))
		if err != nil {
			return size, 0, err
		}
		if size.Events >= want {
			return size, time.Since(start), nil
		}
		if ctx.Err() != nil {
			return size, 0, fmt.Errorf("timed out with %d of %d events archived", size.Events, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func archiverWindow(spec topology.Spec) time.Duration {
	f, _ := spec.Function(topology.FunctionArchiver)
	return f.Source.MaxBatchingWindow
}
