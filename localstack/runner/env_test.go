package runner

import (
	"testing"

	"github.com/logstream/logstream/shared/destination"
	"github.com/logstream/logstream/shared/topology"
)

func TestFunctionEnv(t *testing.T) {
	spec := topology.New("p")
	res := Resources{Table: "p-streams", Queues: map[string]QueueResources{
		destination.HTTP: {URL: "http://sqs.local/000000000000/p-deliver-http"},
	}}
	ingest, _ := spec.Function(topology.FunctionIngest)
	// Ingestion sends to every destination's queue; res holds only http's,
	// so the others resolve to "".
	queues := func(want map[string]string) map[string]string {
		for _, d := range destination.Types() {
			if _, ok := want[topology.QueueURLEnv(d)]; !ok {
				want[topology.QueueURLEnv(d)] = ""
			}
		}
		// Ingestion's archive queue, which res does not hold here.
		want[topology.QueueURLEnv(topology.ArchiveQueue)] = ""
		return want
	}
	tests := []struct {
		name      string
		overrides map[string]string
		want      map[string]string
	}{
		{
			name: "literals and references resolved",
			want: queues(map[string]string{
				topology.EnvTable:                      "p-streams",
				topology.EnvStreamCacheTTL:             topology.DefaultStreamCacheTTL.String(),
				topology.EnvAllowPrivateEndpoints:      "false",
				topology.QueueURLEnv(destination.HTTP): "http://sqs.local/000000000000/p-deliver-http",
				// No Secrets Manager runs locally: the reference resolves to "".
				topology.EnvAdminKeySecretARN: "",
				topology.EnvAdminKey:          "",
				topology.EnvAuthCacheTTL:      topology.DefaultAuthCacheTTL.String(),
				// No KMS runs locally either: the PII key comes from an
				// override (LOGSTREAM_LOCAL_PII_KEY), or there is none.
				topology.EnvPIIKeyID:    "",
				topology.EnvLocalPIIKey: "",
				// The metrics' opt-in detail, off as deployed.
				topology.EnvMetricsDetail: "",
			}),
		},
		{
			name:      "overrides replace declared variables and add nothing",
			overrides: map[string]string{topology.EnvAllowPrivateEndpoints: "true", "NOT_DECLARED": "x"},
			want: queues(map[string]string{
				topology.EnvTable:                      "p-streams",
				topology.EnvStreamCacheTTL:             topology.DefaultStreamCacheTTL.String(),
				topology.EnvAllowPrivateEndpoints:      "true",
				topology.QueueURLEnv(destination.HTTP): "http://sqs.local/000000000000/p-deliver-http",
				// No Secrets Manager runs locally: the reference resolves to "".
				topology.EnvAdminKeySecretARN: "",
				topology.EnvAdminKey:          "",
				topology.EnvAuthCacheTTL:      topology.DefaultAuthCacheTTL.String(),
				// No KMS runs locally either: the PII key comes from an
				// override (LOGSTREAM_LOCAL_PII_KEY), or there is none.
				topology.EnvPIIKeyID:    "",
				topology.EnvLocalPIIKey: "",
				// The metrics' opt-in detail, off as deployed.
				topology.EnvMetricsDetail: "",
			}),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			eq(t, "env", FunctionEnv(spec, ingest, res, tc.overrides), tc.want)
		})
	}
}

func TestCheckOverrides(t *testing.T) {
	spec := topology.New("p")
	if err := checkOverrides(spec, map[string]string{topology.EnvAllowPrivateEndpoints: "true"}); err != nil {
		t.Errorf("declared override rejected: %v", err)
	}
	if err := checkOverrides(spec, map[string]string{"LOGSTREAM_TYPO": "1"}); err == nil {
		t.Errorf("undeclared override accepted")
	}
}

// A delivery function's own queue and DLQ resolve to their URLs.
func TestFunctionEnvDeliver(t *testing.T) {
	spec := topology.New("p")
	res := Resources{Table: "p-streams", Queues: map[string]QueueResources{
		destination.S3: {URL: "http://sqs.local/q", DLQURL: "http://sqs.local/dlq"},
	}}
	fn, _ := spec.Function(topology.DeliverFunctionID(destination.S3))
	env := FunctionEnv(spec, fn, res, map[string]string{topology.EnvS3PathStyle: "true"})
	eq(t, "queue", env[topology.QueueURLEnv(destination.S3)], "http://sqs.local/q")
	eq(t, "DLQ", env[topology.DLQURLEnv(destination.S3)], "http://sqs.local/dlq")
	eq(t, "path style", env[topology.EnvS3PathStyle], "true")
	eq(t, "retry base", env[topology.EnvRetryBase], topology.DefaultRetryBase.String())
}

// The API names every delivery function by its physical name, which the
// stack's Lambda API answers to.
func TestFunctionEnvAPI(t *testing.T) {
	spec := topology.New("p")
	api, _ := spec.Function(topology.FunctionAPI)
	env := FunctionEnv(spec, api, Resources{}, nil)
	for _, d := range destination.Types() {
		eq(t, d, env[topology.DeliverFunctionEnv(d)], "p-deliver-"+d)
	}
	if _, ok := env[topology.EnvDeliveryTimeout]; ok {
		t.Errorf("the API is given %s, which it no longer reads", topology.EnvDeliveryTimeout)
	}
}
