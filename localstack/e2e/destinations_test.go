package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/logstream/logstream/localstack/lokitest"
	"github.com/logstream/logstream/localstack/runner"
	"github.com/logstream/logstream/localstack/standin"
	"github.com/logstream/logstream/shared/destination"
	"github.com/logstream/logstream/shared/envelope"
	"github.com/logstream/logstream/shared/secret"
	"github.com/logstream/logstream/shared/topology"
)

// startStack runs the local stack on the stand-ins with the local-development
// switches and retries in seconds, plus any extra overrides.
func startStack(t *testing.T, ctx context.Context, spec topology.Spec, extra ...map[string]string) *runner.Stack {
	t.Helper()
	overrides := map[string]string{
		topology.EnvAllowPrivateEndpoints: "true", // receivers are on 127.0.0.1
		topology.EnvStreamCacheTTL:        "0s",   // see new streams at once
		topology.EnvAdminKey:              adminKey,
		topology.EnvLocalSecretKey:        secret.GenerateLocalKey(),
		topology.EnvRetryBase:             "1s", // retries in seconds, not minutes
		topology.EnvRetryMax:              "1s",
		topology.EnvS3PathStyle:           "true", // the S3 stand-in has no bucket host names
		topology.EnvBridgeCredentials:     bridgeCredentials(),
	}
	for _, m := range extra {
		for k, v := range m {
			overrides[k] = v
		}
	}
	logLevel := slog.LevelWarn
	if testing.Verbose() {
		logLevel = slog.LevelInfo
	}
	st, err := runner.Start(ctx, runner.Options{
		Spec: spec, AWS: standin.AWSConfig(t), Overrides: overrides,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: logLevel})),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// Events ingested through the local stack land in a real Grafana Loki, in
// both of the sender's formats, with their labels, structured metadata and
// timestamps; a line Loki refuses is parked with Loki's reason while every
// other line of its batch is delivered; and the same events are archived to
// S3 once each.
func TestDestinationsEndToEnd(t *testing.T) {
	cfg := standin.AWSConfig(t)
	loki := lokitest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	st := startStack(t, ctx, readsDLQs(fastSpec(t)))
	const proj, tenant = "proj_dest", "tenant-e2e"
	base := st.URL() + "/v1/projects/" + proj

	s3c, bucket := standin.S3(t, ctx, cfg, "archive")

	create := func(name, typ string, cfg map[string]any) string {
		t.Helper()
		body, _ := json.Marshal(map[string]any{"name": name, "destination_type": typ, "destination_config": cfg})
		code, out := do(t, "POST", base+"/streams", "application/json", "", body)
		if code != http.StatusCreated {
			t.Fatalf("create %s stream: %d %s", typ, code, out)
		}
		var s struct{ ID string }
		json.Unmarshal(out, &s)
		return s.ID
	}
	lokiStream := func(format string) map[string]any {
		return map[string]any{"url": loki.URL + "/loki/api/v1/push", "tenant_id": tenant, "format": format,
			"labels": map[string]string{"env": "e2e", "fmt": format}}
	}
	pbID := create("loki protobuf", "grafana_loki", lokiStream("protobuf"))
	jsonID := create("loki json", "grafana_loki", lokiStream("json"))
	s3ID := create("archive", "s3", map[string]any{"bucket": bucket, "region": "us-east-1", "prefix": "logs/"})

	// 300 events a millisecond apart, and one stamped an hour ahead: inside
	// ingestion's window (2 hours ahead), past Loki's creation_grace_period
	// (10 minutes), so Loki refuses it ("timestamp too new") and fails its
	// whole push.
	const total = 300
	start := time.Now().UTC().Add(-time.Minute).Truncate(time.Millisecond)
	want := map[string]time.Time{}
	var lines []string
	for i := range total {
		id, ts := fmt.Sprintf("evt_dest_%04d", i), start.Add(time.Duration(i)*time.Millisecond)
		want[id] = ts
		line, _ := json.Marshal(map[string]any{"event_id": id, "timestamp": ts.Format(time.RFC3339Nano), "seq": i,
			"request_id": fmt.Sprintf("req_%d", i/10), "action": "PasswordsAuthenticate", "status": "success"})
		lines = append(lines, string(line))
		if i == total/2 {
			bad, _ := json.Marshal(map[string]any{"event_id": "evt_dest_future", "seq": -1,
				"timestamp": time.Now().UTC().Add(time.Hour).Format(time.RFC3339Nano)})
			lines = append(lines, string(bad))
		}
	}
	if code, out := do(t, "POST", base+"/events", "application/x-ndjson", "", []byte(strings.Join(lines, "\n"))); code != http.StatusAccepted ||
		!strings.Contains(string(out), `"streams":3`) {
		t.Fatalf("ingest: %d %s", code, out)
	}

	// Loki: every good event, once, in each format.
	for _, c := range []struct{ format, id string }{{"protobuf", pbID}, {"json", jsonID}} {
		ours := func(es []lokitest.Entry) int {
			n := 0
			for _, e := range es {
				if strings.HasPrefix(e.Metadata["event_id"], "evt_dest_") {
					n++
				}
			}
			return n
		}
		var got []lokitest.Entry
		deadline := time.Now().Add(90 * time.Second)
		for {
			var err error
			if got, err = loki.Query(ctx, tenant, `{fmt="`+c.format+`"}`); err != nil {
				t.Fatal(err)
			}
			if ours(got) >= total || time.Now().After(deadline) {
				break
			}
			time.Sleep(500 * time.Millisecond)
		}
		seen := map[string]bool{}
		for _, e := range got {
			id := e.Metadata["event_id"]
			if strings.Contains(e.Line, `"type":"logstream.stream.`) {
				continue // the streams' own lifecycle events go to them too
			}
			if seen[id] {
				t.Errorf("%s: %s stored twice", c.format, id)
			}
			seen[id] = true
			ts, ok := want[id]
			switch {
			case !ok:
				t.Errorf("%s: unexpected entry %+v", c.format, e)
			case !e.Time.Equal(ts):
				t.Errorf("%s: %s at %v, want the event's own timestamp %v", c.format, id, e.Time, ts)
			case e.Labels["source"] == "" || e.Labels["env"] != "e2e" || e.Labels["event_id"] != "" || e.Labels["request_id"] != "":
				t.Errorf("%s: labels %v: want source, service and the static labels, and no per-event label", c.format, e.Labels)
			case !strings.HasPrefix(e.Metadata["request_id"], "req_") || !strings.Contains(e.Line, `"event_id":"`+id+`"`):
				t.Errorf("%s: entry %+v lacks its structured metadata or line", c.format, e)
			}
		}
		if len(seen) != total {
			t.Fatalf("%s: Loki holds %d of %d events", c.format, len(seen), total)
		}
		fmt.Fprintf(os.Stderr, "e2e: loki %s: %d/%d events queryable with labels, structured metadata and timestamps\n", c.format, len(seen), total)
	}

	// The refused line is parked, once per Loki stream, with Loki's reason.
	sqsClient := sqs.NewFromConfig(cfg)
	dlq := st.Resources().Queues[destination.GrafanaLoki].DLQURL
	parked := map[string][]string{}
	readDLQ(t, ctx, sqsClient, dlq, 10, 60*time.Second, func() bool { return len(parked) >= 2 },
		func(m sqstypes.Message, env envelope.Envelope) {
			reason := aws.ToString(m.MessageAttributes[envelope.AttrParkedReason].StringValue)
			if len(env.Events) != 1 || !strings.Contains(string(env.Events[0]), "evt_dest_future") || !strings.Contains(reason, "too new") {
				t.Fatalf("parked for stream %s: %d events, reason %q", env.StreamID, len(env.Events), reason)
			}
			parked[env.StreamID] = append(parked[env.StreamID], reason)
		})
	if len(parked[pbID]) != 1 || len(parked[jsonID]) != 1 {
		t.Fatalf("parked lines by stream: %v", parked)
	}
	fmt.Fprintf(os.Stderr, "e2e: loki: the refused line parked once per stream, reason %q\n", parked[pbID][0])

	// S3: every event (the future one too: S3 takes anything) in gzip
	// NDJSON objects under the stream's partitions, each once.
	prefix := "logs/project=" + proj + "/stream=" + s3ID + "/dt="
	archived := map[string]int{}
	for deadline := time.Now().Add(60 * time.Second); len(archived) < total+1 && time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		archived = map[string]int{}
		for key, body := range gzipObjects(t, ctx, s3c, bucket, prefix) {
			for _, l := range strings.Split(strings.TrimSpace(string(body)), "\n") {
				var ev struct {
					ID   string `json:"event_id"`
					Type string `json:"type"`
				}
				if err := json.Unmarshal([]byte(l), &ev); err != nil {
					t.Fatalf("object %s line %q: %v", key, l, err)
				}
				if !strings.HasPrefix(ev.Type, "logstream.stream.") {
					archived[ev.ID]++
				}
			}
		}
	}
	for id, n := range archived {
		if n != 1 {
			t.Errorf("%s archived %d times", id, n)
		}
	}
	if len(archived) != total+1 {
		t.Fatalf("S3 holds %d of %d events", len(archived), total+1)
	}
	fmt.Fprintf(os.Stderr, "e2e: s3: %d/%d events archived once each under %s…\n", len(archived), total+1, prefix)
}
