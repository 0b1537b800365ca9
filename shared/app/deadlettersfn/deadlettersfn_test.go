package deadlettersfn

import (
	"strings"
	"testing"
	"time"

	"github.com/logstream/logstream/shared/deadletter"
	"github.com/logstream/logstream/shared/destination"
	"github.com/logstream/logstream/shared/topology"
)

// fullEnv is every variable topology gives the function, set.
func fullEnv() map[string]string {
	m := map[string]string{topology.EnvTable: "streams", topology.EnvDeadLetterRetention: "72h", topology.EnvDeadLetterLease: "30s"}
	for _, d := range destination.Types() {
		m[topology.DLQURLEnv(d)] = "http://q/" + d + "-dlq"
		m[topology.QueueURLEnv(d)] = "http://q/" + d
	}
	return m
}

func getenv(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoadConfig(t *testing.T) {
	c, err := LoadConfig(getenv(fullEnv()))
	if err != nil {
		t.Fatal(err)
	}
	if c.Table != "streams" || c.Retention != 72*time.Hour || c.Lease != 30*time.Second || len(c.DLQURLs) != len(destination.Types()) || len(c.QueueURLs) != len(destination.Types()) {
		t.Fatalf("config %+v", c)
	}
	for _, d := range destination.Types() {
		if c.DLQURLs[d] != "http://q/"+d+"-dlq" || c.QueueURLs[d] != "http://q/"+d {
			t.Errorf("%s: DLQ %q, queue %q", d, c.DLQURLs[d], c.QueueURLs[d])
		}
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}

	// Unset, the retention is the deployment's default.
	m := fullEnv()
	delete(m, topology.EnvDeadLetterRetention)
	if c, err := LoadConfig(getenv(m)); err != nil || c.Retention != topology.DefaultDeadLetterRetention {
		t.Fatalf("retention %s, err %v; want %s", c.Retention, err, topology.DefaultDeadLetterRetention)
	}
	// And so is the lease.
	m = fullEnv()
	delete(m, topology.EnvDeadLetterLease)
	if c, err := LoadConfig(getenv(m)); err != nil || c.Lease != topology.DefaultDeadLetterLease {
		t.Fatalf("lease %s, err %v; want %s", c.Lease, err, topology.DefaultDeadLetterLease)
	}
}

// A missing or malformed setting fails the cold start, naming it: a DLQ left
// out would never be drained, with nothing to say so.
func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(map[string]string)
		want   string
	}{
		{"no table", func(m map[string]string) { delete(m, topology.EnvTable) }, topology.EnvTable},
		{"bad retention", func(m map[string]string) { m[topology.EnvDeadLetterRetention] = "two weeks" }, topology.EnvDeadLetterRetention},
		{"zero retention", func(m map[string]string) { m[topology.EnvDeadLetterRetention] = "0s" }, topology.EnvDeadLetterRetention},
		{"bad lease", func(m map[string]string) { m[topology.EnvDeadLetterLease] = "a minute" }, topology.EnvDeadLetterLease},
		{"zero lease", func(m map[string]string) { m[topology.EnvDeadLetterLease] = "0s" }, topology.EnvDeadLetterLease},
		{"negative lease", func(m map[string]string) { m[topology.EnvDeadLetterLease] = "-1s" }, topology.EnvDeadLetterLease},
		{"no DLQ", func(m map[string]string) { delete(m, topology.DLQURLEnv(destination.S3)) }, topology.DLQURLEnv(destination.S3)},
		{"no delivery queue", func(m map[string]string) { delete(m, topology.QueueURLEnv(destination.HTTP)) }, topology.QueueURLEnv(destination.HTTP)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := fullEnv()
			tc.mutate(m)
			c, err := LoadConfig(getenv(m))
			if err == nil {
				err = c.Validate()
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to name %s", err, tc.want)
			}
		})
	}
}

// The deployment's retention and the store's default are one fact: a letter
// kept as long wherever the variable is unset.
func TestRetentionMatchesTheStoresDefault(t *testing.T) {
	if topology.DefaultDeadLetterRetention != deadletter.DefaultRetention {
		t.Fatalf("topology.DefaultDeadLetterRetention %s, deadletter.DefaultRetention %s", topology.DefaultDeadLetterRetention, deadletter.DefaultRetention)
	}
}

// The deployment's lease and the service's default are one fact too.
func TestLeaseMatchesTheServicesDefault(t *testing.T) {
	if topology.DefaultDeadLetterLease != deadletter.DefaultLease {
		t.Fatalf("topology.DefaultDeadLetterLease %s, deadletter.DefaultLease %s", topology.DefaultDeadLetterLease, deadletter.DefaultLease)
	}
}
