package e2e

import (
	"context"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/logstream/logstream/localstack/fairness"
	"github.com/logstream/logstream/localstack/runner"
	"github.com/logstream/logstream/localstack/standin"
	"github.com/logstream/logstream/shared/app/functions"
	"github.com/logstream/logstream/shared/destination"
	"github.com/logstream/logstream/shared/secret"
	"github.com/logstream/logstream/shared/topology"
)

// Issue 11's fairness test: a quiet project's p99 lag beside 6 and beside 50
// projects whose http receivers hang stays within twice its p99 alone, and
// at most 2 s, and every one of its events is delivered.
//
// The scenario (localstack/cmd/fairness, make fairness) hangs 30 s
// against the default 10 s delivery timeout, for 60 s. Here the delivery
// timeout is 2 s and the receivers hang 5 s, so every request to them still
// times out, as a dead endpoint's does: that is all the delivery function
// sees of a hang, and the shorter timeout only scales the time a hanging
// request holds an invocation, and the warm-up, down to CI's. It does not
// make the bound easier: a quiet event held behind one timed-out request
// waits the batching window (1 s) plus the timeout (2 s), over the 2 s bound.
// Everything else is as deployed (retry schedule, stream cache, batching),
// since the circuit breaker's open period is the retry base.
//
// The hanging projects ingest for a warm-up before the quiet one starts: a
// dead endpoint is the normal case in webhook delivery, always there, so
// "beside" means in the steady state they reach, after the delivery
// function has noticed them (a few failed invocations per stream, each its
// timeout long), not in the seconds when they first go dead. The warm-up is
// generous against a loaded CI machine.
//
// The figures are logged for docs/performance.md; nothing but the issue's
// bounds is asserted.
func TestFairness(t *testing.T) {
	const (
		deliveryTimeout = 2 * time.Second
		hang            = 5 * time.Second
		warmup          = 20 * time.Second
		// Beside the hanging projects the quiet one ingests longer than
		// the circuit's first open period (the retry base, 30 s), so the
		// probes that end it fall inside what is measured.
		alone, beside = 20 * time.Second, 40 * time.Second
		drain         = 30 * time.Second
		every         = 500 * time.Millisecond
	)
	cfg := standin.AWSConfig(t)
	run := func(t *testing.T, hanging, events int, hangingEvery time.Duration) fairness.Result {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		logLevel := slog.LevelWarn
		if testing.Verbose() {
			logLevel = slog.LevelInfo
		}
		var meter fairness.Meter
		st, err := runner.Start(ctx, runner.Options{
			Spec: standin.Spec(t), AWS: cfg,
			Overrides: map[string]string{
				topology.EnvAllowPrivateEndpoints: "true", // receivers are on 127.0.0.1
				topology.EnvAdminKey:              adminKey,
				topology.EnvLocalSecretKey:        secret.GenerateLocalKey(),
				topology.EnvS3PathStyle:           "true",
				topology.EnvBridgeCredentials:     bridgeCredentials(),
				topology.EnvDeliveryTimeout:       deliveryTimeout.String(),
			},
			NewHandler:      meter.Wrap(functions.New, topology.DeliverFunctionID(destination.HTTP)),
			ShutdownTimeout: 5 * time.Second,
			Logger:          slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: logLevel})),
		})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		sc := fairness.Scenario{Base: st.URL(), AdminKey: adminKey, Project: "quiet",
			Hanging: hanging, HangingEvents: events, HangingEvery: hangingEvery, Hang: hang,
			QuietEvery: every, Duration: alone, Drain: drain, Busy: meter.Busy}
		if hanging > 0 {
			sc.Warmup, sc.Duration = warmup, beside
		}
		res, err := fairness.Run(ctx, sc)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%d hanging projects (%d events every %v each): %v", hanging, events, hangingEvery, res)
		if res.QuietRejected > 0 || res.QuietDelivered != res.QuietSent {
			t.Errorf("quiet: %d of %d events delivered within %v of the end, %d requests rejected",
				res.QuietDelivered, res.QuietSent, drain, res.QuietRejected)
		}
		return res
	}

	// 40 and 80 quiet events: their p99 is their maximum.
	var p99Alone time.Duration
	t.Run("alone", func(t *testing.T) {
		p99Alone = run(t, 0, 0, 0).Percentile(.99)
	})
	if p99Alone == 0 {
		t.Fatal("no lag measured alone")
	}
	for _, c := range []struct {
		name         string
		hanging      int
		events       int
		hangingEvery time.Duration
	}{
		// The rate: 2 events each every 0.5 s.
		{"beside 6 hanging", 6, 2, every},
		// A quarter of the rate (2 events each every 2 s, 25
		// ingest requests a second instead of 100): a shared 2-core CI
		// machine under -race does not drive 100 a second through
		// ingestion beside the stack and its stand-ins. What the quiet
		// project meets is the same: every delivery batch full of
		// messages of dead streams, 50 circuits to open and probe.
		{"beside 50 hanging", 50, 2, 4 * every},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := run(t, c.hanging, c.events, c.hangingEvery)
			p99 := res.Percentile(.99)
			if limit := min(2*p99Alone, 2*time.Second); p99 > limit {
				t.Errorf("quiet's p99 lag %v beside %d hanging projects; want at most %v (twice its %v alone, at most 2 s)",
					p99.Round(time.Millisecond), c.hanging, limit, p99Alone.Round(time.Millisecond))
			}
		})
	}
}
