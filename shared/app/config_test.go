package app

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/logstream/logstream/shared/topology"
)

const (
	adminKey = "local-admin-key-0123456789abcdef0123"
	localKey = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=" // 32 bytes, base64
)

func env(m map[string]string) Getenv { return func(k string) string { return m[k] } }

// withQueues adds a queue URL for every destination type.
func withQueues(m map[string]string) map[string]string {
	for _, d := range topology.Destinations() {
		m[topology.QueueURLEnv(d)] = "http://q/" + d
	}
	return m
}

func TestLoadConfig(t *testing.T) {
	c, err := LoadConfig(env(withQueues(map[string]string{topology.EnvTable: "t", topology.EnvStreamCacheTTL: "5s",
		topology.EnvAllowPrivateEndpoints: "true", topology.EnvAdminKey: adminKey})))
	if err != nil || c.Table != "t" || c.StreamCacheTTL != 5*time.Second || !c.AllowPrivateEndpoints ||
		c.QueueURLs["http"] != "http://q/http" || c.DeliveryTimeout != topology.DefaultDeliveryTimeout ||
		c.RetryBase != topology.DefaultRetryBase || c.RetryMax != topology.DefaultRetryMax || c.S3PathStyle {
		t.Fatalf("config %+v, err %v", c, err)
	}
	if err := c.ValidateIngest(); err != nil {
		t.Fatal(err)
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
		{"bad ttl", map[string]string{topology.EnvTable: "t", topology.EnvStreamCacheTTL: "soon"}, topology.EnvStreamCacheTTL, topology.FunctionAPI},
		{"bad switch", map[string]string{topology.EnvTable: "t", topology.EnvAllowPrivateEndpoints: "maybe"}, topology.EnvAllowPrivateEndpoints, topology.FunctionAPI},
		{"ingest without queue", map[string]string{topology.EnvTable: "t", topology.EnvAdminKey: adminKey}, topology.QueueURLEnv("datadog"), topology.FunctionIngest},
		{"no admin key", map[string]string{topology.EnvTable: "t"}, topology.EnvAdminKey, topology.FunctionAPI},
		{"two admin keys", map[string]string{topology.EnvTable: "t", topology.EnvAdminKey: adminKey, topology.EnvAdminKeySecretARN: "arn:x"}, "exactly one", topology.FunctionAPI},
		{"bad stream limit", map[string]string{topology.EnvTable: "t", topology.EnvMaxStreams: "0"}, topology.EnvMaxStreams, topology.FunctionAPI},
		{"short admin key", withQueues(map[string]string{topology.EnvTable: "t", topology.EnvAdminKey: "short", topology.EnvLocalSecretKey: localKey}), "at least 32", topology.FunctionAPI},
		{"no sealing key", map[string]string{topology.EnvTable: "t", topology.EnvAdminKey: adminKey}, topology.EnvLocalSecretKey, topology.FunctionAPI},
		{"bad local sealing key", withQueues(map[string]string{topology.EnvTable: "t", topology.EnvAdminKey: adminKey, topology.EnvLocalSecretKey: "c2hvcnQ="}), "32", topology.FunctionAPI},
		{"delivery without a sealing key", map[string]string{topology.EnvTable: "t"}, topology.EnvKMSKeyID, topology.DeliverFunctionID("http")},
		{"delivery without its DLQ", map[string]string{topology.EnvTable: "t", topology.EnvLocalSecretKey: localKey, topology.QueueURLEnv("s3"): "q"},
			topology.DLQURLEnv("s3"), topology.DeliverFunctionID("s3")},
		{"delivery without its queue", map[string]string{topology.EnvTable: "t", topology.EnvLocalSecretKey: localKey},
			topology.QueueURLEnv("splunk_hec"), topology.DeliverFunctionID("splunk_hec")},
		{"bad retry base", map[string]string{topology.EnvTable: "t", topology.EnvRetryBase: "later"}, topology.EnvRetryBase, topology.DeliverFunctionID("http")},
		{"retry max below base", map[string]string{topology.EnvTable: "t", topology.EnvLocalSecretKey: localKey, topology.QueueURLEnv("http"): "q",
			topology.DLQURLEnv("http"): "d", topology.EnvRetryBase: "1m", topology.EnvRetryMax: "1s"}, topology.EnvRetryMax, topology.DeliverFunctionID("http")},
		{"bad path style switch", map[string]string{topology.EnvTable: "t", topology.EnvS3PathStyle: "yes please"}, topology.EnvS3PathStyle, topology.DeliverFunctionID("s3")},
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
