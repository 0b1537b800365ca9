package functions

import (
	"os/exec"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/logstream/logstream/shared/app/deliverfn"
	"github.com/logstream/logstream/shared/app/pipeline"
	"github.com/logstream/logstream/shared/manage"
	"github.com/logstream/logstream/shared/topology"
)

const module = "github.com/logstream/logstream"

// guarded are the adapters and destinations a function links only when it
// runs them. Everything a granted package imports is granted with it, so the
// AWS clients and libraries behind an adapter (the S3 client of the bridge,
// the EventBridge client of its sender) need no entry of their own.
var guarded = []string{
	module + "/shared/store", module + "/shared/apikey", module + "/shared/secret", module + "/shared/queue",
	module + "/shared/ingest", module + "/shared/deliver", module + "/shared/sink", module + "/shared/manage",
	module + "/shared/bridge", module + "/shared/archive", module + "/shared/lokipush",
	module + "/shared/app/pipeline", module + "/shared/invoke",
	"github.com/aws/aws-sdk-go-v2/service/lambda", "github.com/aws/aws-sdk-go-v2/service/dynamodb", "github.com/aws/aws-sdk-go-v2/service/sqs",
	"github.com/aws/aws-sdk-go-v2/service/kms", "github.com/aws/aws-sdk-go-v2/service/secretsmanager",
	"github.com/aws/aws-sdk-go-v2/service/s3", "github.com/aws/aws-sdk-go-v2/service/eventbridge",
	// No function links grpc since Loki's PushRequest is read and written
	// with protowire: nothing grants it, so this keeps it from coming back.
	"google.golang.org/grpc",
}

// pkgOf is the import path of the package that declared v's type or function.
func pkgOf(v any) string {
	if reflect.TypeOf(v).Kind() == reflect.Func {
		name := runtime.FuncForPC(reflect.ValueOf(v).Pointer()).Name()
		slash := strings.LastIndex(name, "/")
		return name[:slash+strings.Index(name[slash:], ".")]
	}
	t := reflect.TypeOf(v)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.PkgPath()
}

// roots are the packages topology's declaration of f says it runs: its
// environment names the resources it uses, its event source the destination
// it delivers to, and its routes what it serves.
func roots(spec topology.Spec, f topology.Function) []string {
	refs := map[topology.RefKind]int{}
	for _, e := range f.Env {
		refs[e.Ref]++
	}
	var r []string
	grant := func(ok bool, pkgs ...string) {
		if ok {
			r = append(r, pkgs...)
		}
	}
	grant(refs[topology.RefTableName] > 0, module+"/shared/store")
	grant(refs[topology.RefAdminKeySecret] > 0, module+"/shared/apikey")
	grant(refs[topology.RefKMSKey] > 0, module+"/shared/secret")
	grant(refs[topology.RefQueueURL] > 0, module+"/shared/queue")
	// It publishes events to every delivery queue: ingestion's own path.
	grant(refs[topology.RefQueueURL] == len(topology.Destinations()), module+"/shared/ingest")
	grant(refs[topology.RefAdminKeySecret]+refs[topology.RefBridgeSecret] > 0, "github.com/aws/aws-sdk-go-v2/service/secretsmanager")
	grant(refs[topology.RefArchiveBucket] > 0, module+"/shared/bridge")
	grant(f.Source != nil, module+"/shared/deliver")
	// It invokes the functions its environment names (the API, the delivery
	// functions, for the test route): with the Lambda client, and no sender.
	grant(refs[topology.RefFunctionName] > 0, module+"/shared/invoke", "github.com/aws/aws-sdk-go-v2/service/lambda")
	serves := map[string]bool{}
	for _, rt := range spec.Routes {
		if rt.Function == f.ID {
			serves[rt.Key()] = true
		}
	}
	grant(serves[manage.RouteCreate], module+"/shared/manage")
	// A delivery function links its own sender (and its AWS client), and no
	// other function links any.
	for _, p := range pipeline.All() {
		if f.Source != nil && f.Source.Destination == p.Type {
			r = append(r, pkgOf(p.Sender), pkgOf(p.Sender(deliverfn.Clients{})))
		}
	}
	return r
}

// Each function links the adapters and destinations it runs and no other:
// a delivery function its own sender and its own AWS client, the API and
// ingestion no sender, the bridge no sender and no table.
func TestFunctionsLinkOnlyWhatTheyRun(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", `{{.ImportPath}}{{range .Deps}} {{.}}{{end}}`, module+"/functions/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		deps[f[0]] = f[1:]
	}
	under := func(pkg, prefix string) bool { return pkg == prefix || strings.HasPrefix(pkg, prefix+"/") }
	spec := topology.New("logstream")
	for _, f := range spec.Functions {
		t.Run(f.ID, func(t *testing.T) {
			linked, ok := deps[module+"/functions/"+f.SourceDir]
			if !ok {
				t.Fatalf("no package functions/%s", f.SourceDir)
			}
			allowed := map[string]bool{}
			for _, r := range roots(spec, f) {
				if _, ok := deps[r]; !ok && !slices.Contains(linked, r) {
					t.Fatalf("topology grants %s, which the function does not link: the test no longer sees it", r)
				}
				allowed[r] = true
				for _, d := range deps[r] {
					allowed[d] = true
				}
			}
			for _, g := range guarded {
				var extra []string
				for _, pkg := range linked {
					if under(pkg, g) && !allowed[pkg] {
						extra = append(extra, pkg)
					}
				}
				if len(extra) > 0 {
					t.Errorf("links %d package(s) under %s, which it does not run: %s", len(extra), g, strings.Join(extra[:min(3, len(extra))], ", "))
				}
			}
		})
	}
}
