package functions

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/logstream/logstream/shared/app"
	"github.com/logstream/logstream/shared/app/apifn"
	"github.com/logstream/logstream/shared/app/archiverfn"
	"github.com/logstream/logstream/shared/app/deadlettersfn"
	"github.com/logstream/logstream/shared/app/deliverfn"
	"github.com/logstream/logstream/shared/app/ingestfn"
	"github.com/logstream/logstream/shared/app/lokiarchiverfn"
	"github.com/logstream/logstream/shared/app/lokibridgefn"
	"github.com/logstream/logstream/shared/app/pipeline"
	"github.com/logstream/logstream/shared/app/replayfn"
	"github.com/logstream/logstream/shared/destination"
	"github.com/logstream/logstream/shared/topology"
)

const (
	adminKey = "local-admin-key-0123456789abcdef0123"
	localKey = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=" // 32 bytes, base64
)

func env(m map[string]string) app.Getenv { return func(k string) string { return m[k] } }

// withQueues adds a queue URL and a delivery function name for every
// destination type.
func withQueues(m map[string]string) map[string]string {
	for _, d := range destination.Types() {
		m[topology.QueueURLEnv(d)] = "http://q/" + d
		m[topology.DLQURLEnv(d)] = "http://q/" + d + "-dlq"
		m[topology.DeliverFunctionEnv(d)] = "logstream-deliver-" + d
	}
	m[topology.QueueURLEnv(topology.ArchiveQueue)] = "http://q/archive"
	m[topology.EnvEventArchiveBucket] = "events"
	return m
}

func withoutBucket(m map[string]string) map[string]string {
	delete(m, topology.EnvEventArchiveBucket)
	return m
}

// loadAndValidate reads and checks a function's own Config, without building
// anything.
func loadAndValidate(id string, getenv app.Getenv) error {
	type config interface{ Validate() error }
	var c config
	var err error
	switch id {
	case topology.FunctionAPI:
		c, err = apifn.LoadConfig(getenv)
	case topology.FunctionIngest:
		c, err = ingestfn.LoadConfig(getenv)
	case topology.FunctionLokiBridge:
		c, err = lokibridgefn.LoadConfig(getenv)
	case topology.FunctionDeadLetters:
		c, err = deadlettersfn.LoadConfig(getenv)
	case topology.FunctionArchiver:
		c, err = archiverfn.LoadConfig(getenv)
	case topology.FunctionLokiArchiver:
		c, err = lokiarchiverfn.LoadConfig(getenv)
	case topology.FunctionReplay:
		c, err = replayfn.LoadConfig(getenv)
	case topology.FunctionConsole:
		return nil // reads no configuration
	default:
		c, err = deliverfn.LoadConfig(getenv, strings.TrimPrefix(id, topology.DeliverFunctionID("")))
	}
	if err != nil {
		return err
	}
	return c.Validate()
}

// Every function's Config accepts exactly the environment topology gives it
// (and so the CDK stack and the local runner): a variable a function requires
// but topology does not set fails here, not at the first cold start.
func TestConfigAcceptsTopologysEnvironment(t *testing.T) {
	refs := map[topology.RefKind]string{
		topology.RefTableName: "streams", topology.RefQueueURL: "https://sqs/q", topology.RefDLQURL: "https://sqs/dlq",
		topology.RefAdminKeySecret: "arn:aws:secretsmanager:admin", topology.RefKMSKey: "arn:aws:kms:key",
		topology.RefArchiveBucket: "archive", topology.RefBridgeSecret: "arn:aws:secretsmanager:bridge",
		topology.RefFunctionName: "logstream-deliver-x", topology.RefEventArchiveBucket: "events",
	}
	for _, f := range topology.New("logstream").Functions {
		t.Run(f.ID, func(t *testing.T) {
			m := map[string]string{}
			for _, e := range f.Env {
				m[e.Name] = e.Value
				if e.Ref != topology.RefNone {
					m[e.Name] = refs[e.Ref]
				}
			}
			if err := loadAndValidate(f.ID, env(m)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestLoadConfig(t *testing.T) {
	c, err := ingestfn.LoadConfig(env(withQueues(map[string]string{topology.EnvTable: "t", topology.EnvStreamCacheTTL: "5s", topology.EnvAdminKey: adminKey})))
	if err != nil || c.Table != "t" || c.StreamCacheTTL != 5*time.Second || c.QueueURLs["http"] != "http://q/http" {
		t.Fatalf("config %+v, err %v", c, err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	d, err := deliverfn.LoadConfig(env(map[string]string{topology.EnvAllowPrivateEndpoints: "true", topology.QueueURLEnv("http"): "q"}), "http")
	if err != nil || !d.Senders.AllowPrivateEndpoints || d.QueueURL != "q" || d.Senders.DeliveryTimeout != topology.DefaultDeliveryTimeout ||
		d.RetryBase != topology.DefaultRetryBase || d.RetryMax != topology.DefaultRetryMax || d.Senders.S3PathStyle {
		t.Fatalf("config %+v, err %v", d, err)
	}
}

// A function with a missing or malformed setting refuses to start, naming it.
func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string
		fn   string
	}{
		{"no table", map[string]string{}, topology.EnvTable, topology.FunctionAPI},
		{"bad ttl", map[string]string{topology.EnvTable: "t", topology.EnvStreamCacheTTL: "soon"}, topology.EnvStreamCacheTTL, topology.FunctionIngest},
		{"bad switch", map[string]string{topology.EnvTable: "t", topology.EnvAllowPrivateEndpoints: "maybe"}, topology.EnvAllowPrivateEndpoints, topology.FunctionAPI},
		{"ingest without queue", map[string]string{topology.EnvTable: "t", topology.EnvAdminKey: adminKey}, topology.QueueURLEnv("datadog"), topology.FunctionIngest},
		{"no admin key", map[string]string{topology.EnvTable: "t"}, topology.EnvAdminKey, topology.FunctionAPI},
		{"two admin keys", map[string]string{topology.EnvTable: "t", topology.EnvAdminKey: adminKey, topology.EnvAdminKeySecretARN: "arn:x"}, "exactly one", topology.FunctionAPI},
		{"bad stream limit", map[string]string{topology.EnvTable: "t", topology.EnvMaxStreams: "0"}, topology.EnvMaxStreams, topology.FunctionAPI},
		{"short admin key", withQueues(map[string]string{topology.EnvTable: "t", topology.EnvAdminKey: "short", topology.EnvLocalSecretKey: localKey}), "at least 32", topology.FunctionAPI},
		{"api without a delivery function", func() map[string]string {
			m := withQueues(map[string]string{topology.EnvTable: "t", topology.EnvAdminKey: adminKey, topology.EnvLocalSecretKey: localKey})
			delete(m, topology.DeliverFunctionEnv("eventbridge"))
			return m
		}(), topology.DeliverFunctionEnv("eventbridge"), topology.FunctionAPI},
		{"api without a DLQ", func() map[string]string {
			m := withQueues(map[string]string{topology.EnvTable: "t", topology.EnvAdminKey: adminKey, topology.EnvLocalSecretKey: localKey})
			delete(m, topology.DLQURLEnv("s3"))
			return m
		}(), topology.DLQURLEnv("s3"), topology.FunctionAPI},
		{"no sealing key", map[string]string{topology.EnvTable: "t", topology.EnvAdminKey: adminKey}, topology.EnvLocalSecretKey, topology.FunctionAPI},
		{"bad local sealing key", withQueues(map[string]string{topology.EnvTable: "t", topology.EnvAdminKey: adminKey, topology.EnvLocalSecretKey: "c2hvcnQ="}), "32", topology.FunctionAPI},
		{"delivery without a sealing key", map[string]string{topology.EnvTable: "t"}, topology.EnvKMSKeyID, topology.DeliverFunctionID("http")},
		{"delivery without its DLQ", map[string]string{topology.EnvTable: "t", topology.EnvLocalSecretKey: localKey, topology.QueueURLEnv("s3"): "q"},
			topology.DLQURLEnv("s3"), topology.DeliverFunctionID("s3")},
		{"delivery without its queue", map[string]string{topology.EnvTable: "t", topology.EnvLocalSecretKey: localKey},
			topology.QueueURLEnv("splunk_hec"), topology.DeliverFunctionID("splunk_hec")},
		{"delivery without its queue's maxReceiveCount", map[string]string{topology.EnvTable: "t", topology.EnvLocalSecretKey: localKey,
			topology.QueueURLEnv("http"): "q", topology.DLQURLEnv("http"): "d"}, topology.EnvMaxReceiveCount, topology.DeliverFunctionID("http")},
		{"bad maxReceiveCount", map[string]string{topology.EnvTable: "t", topology.EnvMaxReceiveCount: "0"}, topology.EnvMaxReceiveCount, topology.DeliverFunctionID("http")},
		{"bad retry base", map[string]string{topology.EnvTable: "t", topology.EnvRetryBase: "later"}, topology.EnvRetryBase, topology.DeliverFunctionID("http")},
		{"retry max below base", map[string]string{topology.EnvTable: "t", topology.EnvLocalSecretKey: localKey, topology.QueueURLEnv("http"): "q",
			topology.DLQURLEnv("http"): "d", topology.EnvRetryBase: "1m", topology.EnvRetryMax: "1s"}, topology.EnvRetryMax, topology.DeliverFunctionID("http")},
		{"bad path style switch", map[string]string{topology.EnvTable: "t", topology.EnvS3PathStyle: "yes please"}, topology.EnvS3PathStyle, topology.DeliverFunctionID("s3")},
		{"dead letters without a table", withQueues(map[string]string{}), topology.EnvTable, topology.FunctionDeadLetters},
		{"dead letters without a DLQ", func() map[string]string {
			m := withQueues(map[string]string{topology.EnvTable: "t"})
			delete(m, topology.DLQURLEnv("datadog"))
			return m
		}(), topology.DLQURLEnv("datadog"), topology.FunctionDeadLetters},
		{"bad dead-letter retention", withQueues(map[string]string{topology.EnvTable: "t", topology.EnvDeadLetterRetention: "a fortnight"}),
			topology.EnvDeadLetterRetention, topology.FunctionDeadLetters},
		{"ingest without the archive queue", func() map[string]string {
			m := withQueues(map[string]string{topology.EnvTable: "t", topology.EnvAdminKey: adminKey})
			delete(m, topology.QueueURLEnv(topology.ArchiveQueue))
			return m
		}(), topology.QueueURLEnv(topology.ArchiveQueue), topology.FunctionIngest},
		{"archiver without its bucket", map[string]string{}, topology.EnvEventArchiveBucket, topology.FunctionArchiver},
		{"replay without the archive", withoutBucket(withQueues(map[string]string{topology.EnvTable: "t", topology.EnvLocalPIIKey: localKey})),
			topology.EnvEventArchiveBucket, topology.FunctionReplay},
		{"replay with a bad retention", withQueues(map[string]string{topology.EnvTable: "t", topology.EnvLocalPIIKey: localKey, topology.EnvArchiveRetention: "0s"}),
			topology.EnvArchiveRetention, topology.FunctionReplay},
		{"replay without a lease", withQueues(map[string]string{topology.EnvTable: "t", topology.EnvLocalPIIKey: localKey, topology.EnvReplayLease: "0s"}),
			topology.EnvReplayLease, topology.FunctionReplay},
		{"api without the archive", withoutBucket(withQueues(map[string]string{topology.EnvTable: "t", topology.EnvAdminKey: adminKey, topology.EnvLocalSecretKey: localKey})),
			topology.EnvEventArchiveBucket, topology.FunctionAPI},
		{"ingest with a metrics detail it does not know", withQueues(map[string]string{topology.EnvTable: "t", topology.EnvAdminKey: adminKey,
			topology.EnvMetricsDetail: "tenant"}), topology.EnvMetricsDetail, topology.FunctionIngest},
		{"delivery with a metrics detail it does not know", map[string]string{topology.EnvTable: "t", topology.EnvMetricsDetail: "all"},
			topology.EnvMetricsDetail, topology.DeliverFunctionID("http")},
		{"unknown function", map[string]string{topology.EnvTable: "t"}, "unknown function", "nope"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(context.Background(), tc.fn, env(tc.env))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to name %s", err, tc.want)
			}
		})
	}
}

// Every destination type topology declares has exactly one pipeline, so each
// delivery function has a sender to build.
func TestOnePipelinePerDestination(t *testing.T) {
	var types []string
	for _, p := range pipeline.All() {
		types = append(types, p.Type)
		if p.Sender == nil || p.Limits.MaxEvents <= 0 || p.Limits.MaxBytes <= 0 {
			t.Errorf("pipeline %s: %+v is incomplete", p.Type, p)
		}
	}
	if !slices.Equal(types, destination.Types()) {
		t.Fatalf("pipelines %q, topology's destinations %q", types, destination.Types())
	}
}
