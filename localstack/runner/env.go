package runner

import (
	"github.com/logstream/logstream/shared/topology"
)

// FunctionEnv resolves a function's environment the way the CDK stack does with
// tokens: literals as they are, references to the provisioned table name and
// queue URLs and to the functions' names. Overrides replace the values of
// variables the function declares; a name the function does not declare is
// ignored, so the local environment
// keeps exactly the deployed variable names (the manifests compare them).
// A reference to a queue that res does not hold, or to a function spec does
// not declare, resolves to "".
func FunctionEnv(spec topology.Spec, fn topology.Function, res Resources, overrides map[string]string) map[string]string {
	env := make(map[string]string, len(fn.Env))
	for _, e := range fn.Env {
		switch e.Ref {
		case topology.RefTableName:
			env[e.Name] = res.Table
		case topology.RefQueueURL:
			env[e.Name] = res.Queues[e.Queue].URL
		case topology.RefDLQURL:
			env[e.Name] = res.Queues[e.Queue].DLQURL
		case topology.RefArchiveBucket:
			env[e.Name] = res.ArchiveBucket
		case topology.RefEventArchiveBucket:
			env[e.Name] = res.EventArchiveBucket
		case topology.RefFunctionName:
			// Its physical name, which the stack's Lambda API answers to.
			target, _ := spec.Function(e.Function)
			env[e.Name] = target.Name
		default:
			env[e.Name] = e.Value
		}
		if v, ok := overrides[e.Name]; ok {
			env[e.Name] = v
		}
	}
	return env
}
