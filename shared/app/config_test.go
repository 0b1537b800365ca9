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

func TestLoadConfig(t *testing.T) {
	c, err := LoadConfig(env(map[string]string{topology.EnvTable: "t", topology.EnvStreamCacheTTL: "5s",
		topology.EnvAllowPrivateEndpoints: "true", topology.QueueURLEnv("http"): "http://q", topology.EnvAdminKey: adminKey}))
	if err != nil || c.Table != "t" || c.StreamCacheTTL != 5*time.Second || !c.AllowPrivateEndpoints ||
		c.QueueURLs["http"] != "http://q" || c.DeliveryTimeout != topology.DefaultDeliveryTimeout {
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
		{"ingest without queue", map[string]string{topology.EnvTable: "t", topology.EnvAdminKey: adminKey}, topology.QueueURLEnv("http"), topology.FunctionIngest},
		{"no admin key", map[string]string{topology.EnvTable: "t"}, topology.EnvAdminKey, topology.FunctionAPI},
		{"two admin keys", map[string]string{topology.EnvTable: "t", topology.EnvAdminKey: adminKey, topology.EnvAdminKeySecretARN: "arn:x"}, "exactly one", topology.FunctionAPI},
		{"bad stream limit", map[string]string{topology.EnvTable: "t", topology.EnvMaxStreams: "0"}, topology.EnvMaxStreams, topology.FunctionAPI},
		{"short admin key", map[string]string{topology.EnvTable: "t", topology.EnvAdminKey: "short", topology.EnvLocalSecretKey: localKey, topology.QueueURLEnv("http"): "q"}, "at least 32", topology.FunctionAPI},
		{"no sealing key", map[string]string{topology.EnvTable: "t", topology.EnvAdminKey: adminKey}, topology.EnvLocalSecretKey, topology.FunctionAPI},
		{"bad local sealing key", map[string]string{topology.EnvTable: "t", topology.EnvAdminKey: adminKey, topology.EnvLocalSecretKey: "c2hvcnQ=", topology.QueueURLEnv("http"): "q"}, "32", topology.FunctionAPI},
		{"delivery without a sealing key", map[string]string{topology.EnvTable: "t"}, topology.EnvKMSKeyID, topology.DeliverFunctionID("http")},
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
