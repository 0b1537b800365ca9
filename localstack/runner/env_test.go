package runner

import (
	"testing"

	"github.com/logstream/logstream/shared/topology"
)

func TestFunctionEnv(t *testing.T) {
	spec := topology.New("p")
	res := Resources{Table: "p-streams", Queues: map[string]QueueResources{
		topology.DestinationHTTP: {URL: "http://sqs.local/000000000000/p-deliver-http"},
	}}
	ingest, _ := spec.Function(topology.FunctionIngest)
	tests := []struct {
		name      string
		overrides map[string]string
		want      map[string]string
	}{
		{
			name: "literals and references resolved",
			want: map[string]string{
				topology.EnvTable:                              "p-streams",
				topology.EnvStreamCacheTTL:                     topology.DefaultStreamCacheTTL.String(),
				topology.EnvAllowPrivateEndpoints:              "false",
				topology.QueueURLEnv(topology.DestinationHTTP): "http://sqs.local/000000000000/p-deliver-http",
				// No Secrets Manager runs locally: the reference resolves to "".
				topology.EnvAdminKeySecretARN: "",
				topology.EnvAdminKey:          "",
				topology.EnvAuthCacheTTL:      topology.DefaultAuthCacheTTL.String(),
			},
		},
		{
			name:      "overrides replace declared variables and add nothing",
			overrides: map[string]string{topology.EnvAllowPrivateEndpoints: "true", "NOT_DECLARED": "x"},
			want: map[string]string{
				topology.EnvTable:                              "p-streams",
				topology.EnvStreamCacheTTL:                     topology.DefaultStreamCacheTTL.String(),
				topology.EnvAllowPrivateEndpoints:              "true",
				topology.QueueURLEnv(topology.DestinationHTTP): "http://sqs.local/000000000000/p-deliver-http",
				// No Secrets Manager runs locally: the reference resolves to "".
				topology.EnvAdminKeySecretARN: "",
				topology.EnvAdminKey:          "",
				topology.EnvAuthCacheTTL:      topology.DefaultAuthCacheTTL.String(),
			},
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
