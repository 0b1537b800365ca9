// Command chaos measures issue 12's fault run on this machine: 100,000
// events, 500 per request from 4 clients, into 3 projects with 2 http
// streams each behind a chaos receiver (20% 500, 10% 429 with Retry-After,
// 5% hangs past the delivery timeout, 5% connection resets), plus a stream
// that answers 401 for ever and one that answers 410 once. Once everything
// is delivered or a dead letter, the streams are fixed and every dead letter
// is redriven. It prints, per scenario, what became of the accepted
// (stream, event) pairs and the duplicates per 100,000 events: once settled
// and once redriven, without a crash and with one (kill -9 of the stack
// halfway through ingestion, then a restart on the same table and queues).
//
//	make chaos
//	AWS_LAMBDA_LOG_LEVEL=WARN localstack/with-standins.sh go run ./localstack/cmd/chaos -crash none,kill
//
// The stack runs in a child process (this command again, with -serve-stack)
// so that it can be killed: SIGKILL, as the end of a Lambda environment or
// of a machine leaves it, with messages in flight and nothing flushed. The
// receiver and the clients run here and live through the crash; ingestion
// sends a request that failed again, the same, until it is accepted. The
// retry schedule and maxReceiveCount are shortened (flags) so retries run
// out in minutes, not days; the delivery queues' visibility timeout is
// shortened so messages a crash left in flight come back in under a minute.
// The functions' logs go to a file in the temporary folder.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/logstream/logstream/localstack/chaos"
	"github.com/logstream/logstream/localstack/runner"
	"github.com/logstream/logstream/shared/secret"
	"github.com/logstream/logstream/shared/topology"
)

// adminKey authenticates the run against its own stack.
const adminKey = "chaos-admin-key-0123456789abcdef0123456789"

// ready is the line the child prints on stdout once its API answers; the
// functions log to stdout too, as in Lambda.
const ready = "chaos: stack ready"

func main() {
	var err error
	if len(os.Args) > 1 && os.Args[1] == "-serve-stack" {
		err = serveStack()
	} else {
		err = run()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		os.Exit(1)
	}
}

// settings are what the parent hands the child, in CHAOS_STACK.
type settings struct {
	Prefix      string            `json:"prefix"`
	Addr        string            `json:"addr"`
	MaxReceives int               `json:"max_receives"`
	Visibility  time.Duration     `json:"visibility"`
	Overrides   map[string]string `json:"overrides"`
}

func run() error {
	scenarios := flag.String("crash", "none,kill", "comma-separated scenarios: none (no crash), kill (kill -9 of the stack halfway through ingestion, then a restart)")
	events := flag.Int("events", 100_000, "events to ingest, spread over the projects")
	batch := flag.Int("batch", 500, "events per ingest request")
	clients := flag.Int("clients", 4, "concurrent ingest clients")
	pace := flag.Duration("pace", time.Second, "each client's pause between requests, so ingestion lasts and the crash falls mid-delivery")
	projects := flag.Int("projects", 3, "projects")
	streams := flag.Int("streams", 2, "chaotic http streams per project (the first project also has the 401 stream, the second the 410 one)")
	seed := flag.Uint64("seed", 12, "the receiver's fault sequence")
	deliveryTimeout := flag.Duration("delivery-timeout", 2*time.Second, "LOGSTREAM_DELIVERY_TIMEOUT; hangs last -hang, longer")
	hang := flag.Duration("hang", 5*time.Second, "how long a hanging request is held")
	retryBase := flag.Duration("retry-base", time.Second, "LOGSTREAM_RETRY_BASE")
	retryMax := flag.Duration("retry-max", 8*time.Second, "LOGSTREAM_RETRY_MAX")
	maxReceives := flag.Int("max-receives", 5, "the delivery queues' maxReceiveCount")
	visibility := flag.Duration("visibility", 40*time.Second, "the delivery queues' visibility timeout (at least the delivery function's 30 s + 1 s batching window)")
	rate := flag.Int("redrive-rate", 5000, "each redrive job's rate, events per second")
	settle := flag.Duration("settle", 15*time.Minute, "how long each wait for the stack to settle may take")
	verbose := flag.Bool("v", false, "tell what the run does")
	flag.Parse()
	if *hang <= *deliveryTimeout {
		return fmt.Errorf("-hang %v must exceed -delivery-timeout %v", *hang, *deliveryTimeout)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logf := func(string, ...any) {}
	if *verbose {
		logf = func(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }
	}

	fmt.Printf("chaos: %d events, %d per request from %d clients, %d projects × %d chaotic http streams + a 401 and a 410-once stream; "+
		"faults 20%% 500, 10%% 429 (Retry-After 1 s), 5%% hang %v (delivery timeout %v), 5%% reset; retry %v..%v, maxReceiveCount %d\n",
		*events, *batch, *clients, *projects, *streams, *hang, *deliveryTimeout, *retryBase, *retryMax, *maxReceives)
	fmt.Printf("%-6s %8s %9s %9s %7s %5s | %7s %7s %7s %9s | %9s %6s %5s %9s | %7s %8s\n",
		"crash", "events", "pairs", "deliv.", "dead", "lost", "twice", "d+dead", "dead×2", "dup/100k",
		"delivered", "dead", "dup", "dup/100k", "retried", "time")
	for i, sc := range strings.Split(*scenarios, ",") {
		sc = strings.TrimSpace(sc)
		if sc != "none" && sc != "kill" {
			return fmt.Errorf("-crash: %q is neither none nor kill", sc)
		}
		addr, err := freeAddr()
		if err != nil {
			return err
		}
		set := settings{Prefix: fmt.Sprintf("chaos-%d-%d", time.Now().Unix(), i), Addr: addr,
			MaxReceives: *maxReceives, Visibility: *visibility,
			Overrides: map[string]string{
				topology.EnvAllowPrivateEndpoints: "true",
				// Ingestion and delivery see a fixed stream at once.
				topology.EnvStreamCacheTTL:    "0s",
				topology.EnvAdminKey:          adminKey,
				topology.EnvLocalSecretKey:    secret.GenerateLocalKey(), // the same across the restart
				topology.EnvS3PathStyle:       "true",
				topology.EnvBridgeCredentials: `{"credentials":[{"username":"chaos","password":"chaos-password-0123456789"}]}`,
				topology.EnvRetryBase:         retryBase.String(),
				topology.EnvRetryMax:          retryMax.String(),
				topology.EnvDeliveryTimeout:   deliveryTimeout.String(),
			}}
		logPath := fmt.Sprintf("%s/%s.log", os.TempDir(), set.Prefix)
		child, err := startChild(ctx, set, logPath)
		if err != nil {
			return err
		}
		var crash func(context.Context) error
		if sc == "kill" {
			crash = func(ctx context.Context) error {
				logf("chaos: kill -9 of the stack (pid %d)", child.cmd.Process.Pid)
				child.kill()
				// The restart: what make dev does on a kept table.
				c, err := startChild(ctx, set, logPath)
				if err != nil {
					return fmt.Errorf("restart the stack: %w", err)
				}
				child = c
				logf("chaos: the stack is back (pid %d)", child.cmd.Process.Pid)
				return nil
			}
		}
		start := time.Now()
		res, err := chaos.Run(ctx, chaos.Scenario{
			Base: "http://" + addr, AdminKey: adminKey, Prefix: fmt.Sprintf("c%d", i),
			Projects: *projects, Streams: *streams, Events: *events, Batch: *batch, Clients: *clients, Pace: *pace,
			Faults: chaos.IssueFaults(*hang), Seed: *seed, RedriveRate: *rate, Settle: *settle,
			AtHalf: crash, Logf: logf,
		})
		child.stop()
		s, r := res.Settled, res.Redriven
		fmt.Printf("%-6s %8d %9d %9d %7d %5d | %7d %7d %7d %9.0f | %9d %6d %5d %9.0f | %7d %7.0fs\n",
			sc, res.Events, s.Accepted, s.Delivered, s.Dead, s.Lost,
			s.DeliveredTwice, s.DeliveredAndDead, s.DeadTwice, chaos.PerHundredK(s.Duplicates(), res.Events),
			r.Delivered, r.DeadEvents, r.Duplicates(), chaos.PerHundredK(r.Duplicates(), res.Events),
			res.IngestRetries, time.Since(start).Seconds())
		fmt.Fprintf(os.Stderr, "  %s: receiver answers %v; dead letters by reason %v; settled in %.0fs, redriven in %.0fs; functions' log %s\n",
			sc, res.Answers, s.DeadByReason, res.SettleTime.Seconds(), res.RedriveTime.Seconds(), logPath)
		fmt.Fprintf(os.Stderr, "  %s: duplicates settled %d, redriven %d; of them in a retried ingest request %d and %d, delivered or parked both before and after the crash %d and %d\n",
			sc, s.Duplicates(), r.Duplicates(), s.RetriedRequest, r.RetriedRequest, s.AcrossHalf, r.AcrossHalf)
		for _, e := range append(s.Examples, r.Examples...) {
			fmt.Fprintf(os.Stderr, "    %s\n", e)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// child is the stack's process.
type child struct {
	cmd  *exec.Cmd
	done chan struct{}
}

// startChild runs this command as the stack, and waits for its API.
func startChild(ctx context.Context, set settings, logPath string) (*child, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	b, _ := json.Marshal(set)
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, "-serve-stack")
	cmd.Env = append(os.Environ(), "CHAOS_STACK="+string(b))
	cmd.Stderr = logFile
	out, err := cmd.StdoutPipe()
	if err != nil {
		logFile.Close()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, err
	}
	c := &child{cmd: cmd, done: make(chan struct{})}
	up := make(chan struct{})
	go func() {
		defer close(c.done)
		defer logFile.Close()
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			if sc.Text() == ready {
				close(up)
				continue
			}
			fmt.Fprintln(logFile, sc.Text())
		}
		io.Copy(logFile, out)
		cmd.Wait()
	}()
	select {
	case <-up:
		return c, nil
	case <-c.done:
		return nil, fmt.Errorf("the stack exited before it was ready; see %s", logPath)
	case <-time.After(2 * time.Minute):
		c.kill()
		return nil, fmt.Errorf("the stack was not ready in 2 minutes; see %s", logPath)
	case <-ctx.Done():
		c.kill()
		return nil, ctx.Err()
	}
}

// kill ends the stack with SIGKILL: nothing is flushed, nothing deleted.
func (c *child) kill() {
	c.cmd.Process.Kill()
	<-c.done
}

// stop ends the stack gracefully, or kills it after 30 s.
func (c *child) stop() {
	c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(30 * time.Second):
		c.kill()
	}
}

// serveStack is the child: the stack on the given address until SIGTERM.
func serveStack() error {
	var set settings
	if err := json.Unmarshal([]byte(os.Getenv("CHAOS_STACK")), &set); err != nil {
		return fmt.Errorf("CHAOS_STACK: %w", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	startCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	cfg, err := config.LoadDefaultConfig(startCtx)
	if err != nil {
		return err
	}
	spec := topology.New(set.Prefix)
	spec.SetMaxReceiveCount(set.MaxReceives)
	// The dead-letter function drains the DLQs every few seconds, not
	// every minute as EventBridge's rate rules do in AWS: settling waits
	// on it, and it changes nothing about duplicates.
	spec.SetSchedule(topology.FunctionDeadLetters, 2*time.Second)
	// The archive's mapping must fit the visibility timeout set below.
	spec.SetBatchingWindow(topology.FunctionArchiver, time.Second)
	spec.SetBatchingWindow(topology.FunctionLokiArchiver, time.Second)
	for i := range spec.Queues {
		spec.Queues[i].VisibilityTimeout = set.Visibility
	}
	st, err := runner.Start(startCtx, runner.Options{Spec: spec, AWS: cfg, Addr: set.Addr, Overrides: set.Overrides,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		return err
	}
	fmt.Println(ready)
	<-ctx.Done()
	return errors.Join(st.Close())
}
