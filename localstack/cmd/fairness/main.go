// Command fairness measures issue 11's scenario on this machine: a quiet
// project with one http stream to a receiver that answers at once ingests one
// event every 0.5 s for 60 s, alone and then beside 6 and beside 50 projects
// whose http receivers hang 30 s (each ingesting 2 events every 0.5 s). It
// prints the quiet project's lag, how many of its events arrived within 40 s
// of the end, and the http delivery function's function-seconds per minute
// while the quiet project ingests: what Lambda bills for the dead endpoints
// (alone, it is the cost of the quiet project's own deliveries).
//
//	make fairness
//	AWS_LAMBDA_LOG_LEVEL=WARN localstack/with-standins.sh go run ./localstack/cmd/fairness -hanging 0,6,50
//
// Each scenario runs on its own in-process stack (fresh queues and
// containers) with the default settings, against the stand-ins; everything
// is on 127.0.0.1. The functions log to stdout as in Lambda;
// AWS_LAMBDA_LOG_LEVEL=WARN (read at start-up) quiets them.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/logstream/logstream/localstack/fairness"
	"github.com/logstream/logstream/localstack/runner"
	"github.com/logstream/logstream/shared/app/functions"
	"github.com/logstream/logstream/shared/destination"
	"github.com/logstream/logstream/shared/secret"
	"github.com/logstream/logstream/shared/topology"
)

// adminKey authenticates the run against its own in-process stack.
const adminKey = "fairness-admin-key-0123456789abcdef012345"

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "fairness:", err)
		os.Exit(1)
	}
}

func run() error {
	hangingList := flag.String("hanging", "0,6,50", "comma-separated numbers of hanging projects, one scenario each")
	hang := flag.Duration("hang", 30*time.Second, "how long each hanging receiver holds a request")
	hangingEvents := flag.Int("hanging-events", 2, "events per request of each hanging project")
	hangingEvery := flag.Duration("hanging-every", 500*time.Millisecond, "each hanging project's request interval")
	quietEvery := flag.Duration("quiet-every", 500*time.Millisecond, "the quiet project's interval (one event each)")
	duration := flag.Duration("duration", 60*time.Second, "how long the quiet project ingests")
	warmup := flag.Duration("warmup", 0, "how long the hanging projects ingest before the quiet one starts")
	drain := flag.Duration("drain", 40*time.Second, "how long after the end a quiet event still counts as delivered")
	deliveryTimeout := flag.Duration("delivery-timeout", 0, "LOGSTREAM_DELIVERY_TIMEOUT (0: the default, "+topology.DefaultDeliveryTimeout.String()+")")
	flag.Parse()
	var counts []int
	for f := range strings.SplitSeq(*hangingList, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 0 || n > 500 {
			return fmt.Errorf("-hanging %q: want numbers from 0 to 500", *hangingList)
		}
		counts = append(counts, n)
	}

	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		return err
	}
	fmt.Printf("fairness: quiet 1 event every %v for %v (after %v warm-up); hanging projects %d events every %v, receiver hangs %v; delivered = within %v of the end\n",
		*quietEvery, *duration, *warmup, *hangingEvents, *hangingEvery, *hang, *drain)
	fmt.Printf("%-10s %8s %8s %8s %12s %10s %16s %12s\n", "hanging", "p50", "p99", "max", "delivered", "rejected", "hanging events", "fn-s/min")
	for i, n := range counts {
		overrides := map[string]string{topology.EnvAllowPrivateEndpoints: "true", topology.EnvAdminKey: adminKey,
			topology.EnvLocalSecretKey: secret.GenerateLocalKey(), topology.EnvS3PathStyle: "true",
			topology.EnvBridgeCredentials: `{"credentials":[{"username":"fairness","password":"fairness-password-0123456789"}]}`}
		if *deliveryTimeout > 0 {
			overrides[topology.EnvDeliveryTimeout] = deliveryTimeout.String()
		}
		timeout := *warmup + *duration + *drain + 2*time.Minute
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		var meter fairness.Meter
		stack, err := runner.Start(ctx, runner.Options{
			Spec: topology.New(fmt.Sprintf("fair-%d-%d", time.Now().Unix(), i)), AWS: cfg, Overrides: overrides,
			NewHandler: meter.Wrap(functions.New, topology.DeliverFunctionID(destination.HTTP)),
			Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
		})
		if err != nil {
			cancel()
			return err
		}
		res, err := fairness.Run(ctx, fairness.Scenario{
			Base: stack.URL(), AdminKey: adminKey, Project: fmt.Sprintf("quiet%d", i),
			Hanging: n, HangingEvents: *hangingEvents, HangingEvery: *hangingEvery, Hang: *hang,
			QuietEvery: *quietEvery, Warmup: *warmup, Duration: *duration, Drain: *drain,
			Busy: meter.Busy,
		})
		// Close gives in-flight invocations its shutdown timeout, then
		// abandons them: a hung request must not hold the next scenario.
		closeErr := stack.Close()
		cancel()
		if err != nil {
			return errors.Join(err, closeErr)
		}
		sec := func(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }
		fmt.Printf("%-10d %8s %8s %8s %5d of %-4d %10d %16d %12.1f\n", n, sec(res.Percentile(.50)), sec(res.Percentile(.99)), sec(res.Max()),
			res.QuietDelivered, res.QuietSent, res.QuietRejected+res.HangingRejected, res.HangingSent, res.FunctionSecondsPerMinute())
		fmt.Fprintf(os.Stderr, "  %d hanging: %v\n", n, res)
	}
	return nil
}
