// Command localrun runs logstream on a developer machine for `make dev`: it
// provisions the table and queues on the stand-ins, serves the HTTP API on a
// local port and feeds the delivery functions from SQS, all through the same
// handlers Lambda runs. Once the API answers, it prints where everything
// runs and the README's "Try it" session with this run's key filled in.
//
//	localstack/standins.sh start && eval "$(localstack/standins.sh env)"
//	go run ./localstack/cmd/localrun -receiver 127.0.0.1:9000 -state localstack/.state
//
// AWS endpoints come from AWS_ENDPOINT_URL_DYNAMODB / AWS_ENDPOINT_URL_SQS /
// AWS_ENDPOINT_URL_S3, read by the SDK. The runner logs to stderr; the
// functions log to stdout, as in Lambda; the optional receiver prints each
// event it gets to stdout as one "receiver: <json>" line.
package main

import (
	"cmp"
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
	deadLetterTick := flag.Duration("dead-letter-tick", 2*time.Second,
		"how often the dead-letter function drains the DLQs into the store; deployments tick every minute, "+
			"locally a short one shows a parked event under the project's dead letters at once; 0 never drains")
	stateDir := flag.String("state", "",
		"keep the admin key, the bridge password and the key that seals destination secrets in this folder, "+
			"so they stay valid for a table kept between runs; empty: new ones every run")
	// The secrets' flags default to "" and read their variables after
	// parsing, so -h never prints a secret as a default.
	adminKey := flag.String("admin-key", "",
		"the bootstrap admin API key, at least 32 characters (env LOGSTREAM_ADMIN_KEY); default: the kept one, or a new one")
	bridgeUser := flag.String("bridge-user", envOr("LOCALRUN_BRIDGE_USER", "logstream"), "the Loki bridge's basic-auth user (env LOCALRUN_BRIDGE_USER)")
	bridgePassword := flag.String("bridge-password", "",
		"the Loki bridge's basic-auth password, at least 16 characters (env LOGSTREAM_BRIDGE_PASSWORD); default: the kept one, or a new one")
	verbose := flag.Bool("v", false, "debug logging")
	flag.Parse()

	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	creds, err := loadCredentials(*stateDir, credentials{
		AdminKey:       cmp.Or(*adminKey, os.Getenv(topology.EnvAdminKey)),
		BridgePassword: cmp.Or(*bridgePassword, os.Getenv("LOGSTREAM_BRIDGE_PASSWORD")),
	})
	if err != nil {
		return err
	}

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
	spec := topology.New(*prefix)
	spec.SetSchedule(topology.FunctionDeadLetters, *deadLetterTick)
	// The archive within seconds rather than the deployed half minute, so
	// a replay of the last minutes tried locally waits seconds, not
	// minutes, for its last hour to settle (LOGSTREAM_ARCHIVE_SETTLE).
	spec.SetBatchingWindow(topology.FunctionArchiver, 5*time.Second)
	// And a small Loki push reaches the bucket seconds after its 204, not
	// the deployed minute.
	spec.SetBatchingWindow(topology.FunctionLokiArchiver, 5*time.Second)
	spec.SetSchedule(topology.FunctionReplay, 5*time.Second)
	stack, err := runner.Start(startCtx, runner.Options{
		Spec:      spec,
		AWS:       cfg,
		Addr:      *addr,
		Overrides: stackOverrides(creds, *bridgeUser, *cacheTTL),
		Logger:    log,
	})
	if err != nil {
		if errors.Is(err, runner.ErrProvision) && *stateDir != "" {
			err = fmt.Errorf("%w\n(the table is kept between runs in %s; if it is from another version, make dev-reset wipes it)", err, *stateDir)
		}
		return err
	}

	// Printed only now: the API accepts connections and the table and
	// queues exist, so every command of the session works when pasted.
	res := stack.Resources()
	err = banner{
		session: sessionVars{API: stack.URL(), Receiver: *receiverAddr, AdminKey: creds.AdminKey,
			BridgeUser: *bridgeUser, BridgePassword: creds.BridgePassword},
		receiver: recv != nil,
		archive:  res.ArchiveBucket,
		table:    res.Table,
		dynamodb: os.Getenv("AWS_ENDPOINT_URL_DYNAMODB"),
		sqs:      os.Getenv("AWS_ENDPOINT_URL_SQS"),
		state:    *stateDir,
	}.write(os.Stderr)
	if err != nil {
		log.Error("print the session", "err", err)
	}

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

// stackOverrides are the local stack's settings, in the variables the
// functions read in AWS too.
func stackOverrides(creds credentials, bridgeUser string, cacheTTL time.Duration) map[string]string {
	return map[string]string{
		// The documented local-development switch: lets the delivery
		// function post to a receiver on a private address such as 127.0.0.1.
		topology.EnvAllowPrivateEndpoints: "true",
		topology.EnvStreamCacheTTL:        cacheTTL.String(),
		topology.EnvAdminKey:              creds.AdminKey,
		// Kept with the table, or the secrets of the streams it holds
		// could not be opened after a restart.
		topology.EnvLocalSecretKey: creds.SecretKey,
		// Kept too, so a stream's PII hashes do not change on a restart.
		topology.EnvLocalPIIKey: creds.PIIKey,
		// Retries a failing destination within a minute, so trying
		// things out locally does not wait on production's hour.
		topology.EnvRetryBase: "2s",
		topology.EnvRetryMax:  "15s",
		// The S3 stand-in has no bucket host names.
		topology.EnvS3PathStyle: "true",
		// The archive's batching window above, and a few seconds more.
		topology.EnvArchiveSettle: "15s",
		// The Loki bridge's credentials, which Secrets Manager holds in AWS.
		topology.EnvBridgeCredentials: bridgeCredentials(bridgeUser, creds.BridgePassword),
	}
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
