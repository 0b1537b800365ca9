// Command localrun runs logstream on a developer machine for `make dev`: it
// provisions the table and queues on the stand-ins, serves the HTTP API on a
// local port and feeds the delivery functions from SQS, all through the same
// handlers Lambda runs.
//
//	localstack/standins.sh start && eval "$(localstack/standins.sh env)"
//	go run ./localstack/cmd/localrun -receiver 127.0.0.1:9000
//
// AWS endpoints come from AWS_ENDPOINT_URL_DYNAMODB / AWS_ENDPOINT_URL_SQS /
// AWS_ENDPOINT_URL_S3, read by the SDK. The runner logs to stderr; the
// functions log to stdout, as in Lambda; the optional receiver prints each
// event it gets to stdout as one "receiver: <json>" line.
package main

import (
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
	"os/signal"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/logstream/logstream/localstack/runner"
	"github.com/logstream/logstream/shared/secret"
	"github.com/logstream/logstream/shared/topology"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "localrun:", err)
		os.Exit(1)
	}
}

func run() error {
	prefix := flag.String("prefix", envOr("LOCALRUN_PREFIX", "logstream"), "resource name prefix (env LOCALRUN_PREFIX)")
	addr := flag.String("addr", envOr("LOCALRUN_ADDR", "127.0.0.1:8080"), "HTTP API listen address (env LOCALRUN_ADDR)")
	receiverAddr := flag.String("receiver", os.Getenv("LOCALRUN_RECEIVER"), "also run a receiver that prints delivered events, e.g. 127.0.0.1:9000 (env LOCALRUN_RECEIVER)")
	cacheTTL := flag.Duration("stream-cache-ttl", 2*time.Second,
		"how long ingestion and delivery reuse a project's stream list; deployments use topology's 30s, "+
			"locally a short one lets a stream you just created receive events at once")
	adminKey := flag.String("admin-key", os.Getenv("LOCALRUN_ADMIN_KEY"),
		"the bootstrap admin API key, at least 32 characters (env LOCALRUN_ADMIN_KEY); required")
	bridgeUser := flag.String("bridge-user", envOr("LOCALRUN_BRIDGE_USER", "logstream"), "the Loki bridge's basic-auth user (env LOCALRUN_BRIDGE_USER)")
	bridgePassword := flag.String("bridge-password", os.Getenv("LOCALRUN_BRIDGE_PASSWORD"),
		"the Loki bridge's basic-auth password, at least 16 characters (env LOCALRUN_BRIDGE_PASSWORD); required")
	verbose := flag.Bool("v", false, "debug logging")
	flag.Parse()

	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var recv *http.Server
	if *receiverAddr != "" {
		ln, err := net.Listen("tcp", *receiverAddr)
		if err != nil {
			return fmt.Errorf("receiver: %w", err)
		}
		// The functions log to stdout as they do in Lambda, so the receiver's
		// lines carry a prefix: grep '^receiver: ' picks them out.
		out := prefixWriter{w: os.Stdout, prefix: []byte("receiver: ")}
		recv = &http.Server{Handler: runner.NewReceiver(out, log), ReadHeaderTimeout: 10 * time.Second}
		go func() {
			if err := recv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("receiver stopped", "err", err)
			}
		}()
	}

	startCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	cfg, err := config.LoadDefaultConfig(startCtx)
	if err != nil {
		return fmt.Errorf("load AWS config: %w", err)
	}
	stack, err := runner.Start(startCtx, runner.Options{
		Spec: topology.New(*prefix),
		AWS:  cfg,
		Addr: *addr,
		// The documented local-development switch: lets the delivery
		// function post to a receiver on a private address such as 127.0.0.1.
		Overrides: map[string]string{
			topology.EnvAllowPrivateEndpoints: "true",
			topology.EnvStreamCacheTTL:        cacheTTL.String(),
			topology.EnvAdminKey:              *adminKey,
			// The stand-ins keep nothing past this run, so a fresh key per
			// run seals the secrets of the streams created in it.
			topology.EnvLocalSecretKey: secret.GenerateLocalKey(),
			// Retries a failing destination within a minute, so trying
			// things out locally does not wait on production's hour.
			topology.EnvRetryBase: "2s",
			topology.EnvRetryMax:  "15s",
			// The S3 stand-in has no bucket host names.
			topology.EnvS3PathStyle: "true",
			// The Loki bridge's credentials, which Secrets Manager holds in AWS.
			topology.EnvBridgeCredentials: bridgeCredentials(*bridgeUser, *bridgePassword),
		},
		Logger: log,
	})
	if err != nil {
		return err
	}

	fmt.Fprintf(os.Stderr, "\nlogstream is running locally\n  HTTP API   %s  (e.g. %s/v1/projects/demo/streams)\n", stack.URL(), stack.URL())
	if recv != nil {
		fmt.Fprintf(os.Stderr, "  receiver   http://%s  (prints each event it receives to stdout as \"receiver: <json>\")\n", *receiverAddr)
	}
	res := stack.Resources()
	fmt.Fprintf(os.Stderr, "  Loki push  %s/loki/api/v1/push  (basic auth %s; archived to s3://%s)\n", stack.URL(), *bridgeUser, res.ArchiveBucket)
	fmt.Fprintf(os.Stderr, "  table      %s\n", res.Table)
	for _, q := range res.Queues {
		fmt.Fprintf(os.Stderr, "  queue      %s  (DLQ %s)\n", q.Name, q.DLQName)
	}
	fmt.Fprintln(os.Stderr, "Ctrl-C stops.")

	<-ctx.Done()
	log.Info("stopping")
	err = stack.Close()
	if recv != nil {
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer scancel()
		err = errors.Join(err, recv.Shutdown(sctx))
	}
	return err
}

// bridgeCredentials is the bridge's credentials document for one pair.
func bridgeCredentials(user, password string) string {
	b, _ := json.Marshal(map[string]any{"credentials": []map[string]string{{"username": user, "password": password}}})
	return string(b)
}

// prefixWriter prefixes every Write; the receiver writes one line per Write.
type prefixWriter struct {
	w      io.Writer
	prefix []byte
}

func (p prefixWriter) Write(b []byte) (int, error) {
	if _, err := p.w.Write(append(append([]byte(nil), p.prefix...), b...)); err != nil {
		return 0, err
	}
	return len(b), nil
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
