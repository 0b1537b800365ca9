package functions

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/logstream/logstream/shared/destination"
	"github.com/logstream/logstream/shared/topology"
)

const module = "github.com/logstream/logstream"

// links is what one function may link besides the standard library: its
// packages of this module, exactly, and the packages of other modules, by
// import-path prefix. Nothing is granted through another package: a shared
// package that starts importing DynamoDB, a sender or grpc shows up as a new
// package in every function that links it, named with the import chain.
type links struct {
	internal []string // paths relative to the module
	external []string // import-path prefixes
}

func (l links) with(more links) links {
	return links{internal: slices.Concat(l.internal, more.internal), external: slices.Concat(l.external, more.external)}
}

// sdk is what every function links to start and to build AWS clients: the
// Lambda runtime, aws-sdk-go-v2's core with the credential chain of
// config.LoadDefaultConfig (sso, ssooidc, sts, signin), and the services'
// shared internals. The service clients themselves are granted one by one.
var sdk = links{
	// shared/app's Metrics: every function writes its metrics as EMF lines
	// on stdout (shared/metrics, no AWS client).
	internal: []string{"shared/app", "shared/metrics"},
	external: []string{
		"github.com/aws/aws-lambda-go/",
		"github.com/aws/smithy-go",
		"github.com/aws/aws-sdk-go-v2/aws",
		"github.com/aws/aws-sdk-go-v2/internal/",
		"github.com/aws/aws-sdk-go-v2/config",
		"github.com/aws/aws-sdk-go-v2/credentials",
		"github.com/aws/aws-sdk-go-v2/feature/ec2/imds",
		"github.com/aws/aws-sdk-go-v2/service/internal/",
		"github.com/aws/aws-sdk-go-v2/service/sso/",
		"github.com/aws/aws-sdk-go-v2/service/ssooidc/",
		"github.com/aws/aws-sdk-go-v2/service/sts/",
		"github.com/aws/aws-sdk-go-v2/service/signin/",
	},
}

// Services and libraries, named once so the lists below read as what each
// function runs.
var (
	dynamodb = []string{"github.com/aws/aws-sdk-go-v2/service/dynamodb/", "github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue",
		// attributevalue's import, types only: no DynamoDB Streams client.
		"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types", "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/schemas"}
	sqs            = []string{"github.com/aws/aws-sdk-go-v2/service/sqs/"}
	kms            = []string{"github.com/aws/aws-sdk-go-v2/service/kms/"}
	secretsmanager = []string{"github.com/aws/aws-sdk-go-v2/service/secretsmanager/"}
	s3             = []string{"github.com/aws/aws-sdk-go-v2/service/s3/"}
	eventbridge    = []string{"github.com/aws/aws-sdk-go-v2/service/eventbridge/"}
	gzip           = []string{"github.com/klauspost/compress/gzip", "github.com/klauspost/compress/flate", "github.com/klauspost/compress/internal/"}
	snappy         = []string{"github.com/klauspost/compress/s2", "github.com/klauspost/compress/internal/"}
	// protowire alone, with its two internal imports: the proto runtime
	// (proto, protoimpl) and grpc stay out of every binary.
	protowire = []string{"google.golang.org/protobuf/encoding/protowire", "google.golang.org/protobuf/internal/detrand", "google.golang.org/protobuf/internal/errors"}
	uuid      = []string{"github.com/google/uuid"}
	// The xxhash PII action (shared/pii), wherever events are masked.
	xxhash = []string{"github.com/cespare/xxhash/v2"}
	ssrf   = []string{"code.dny.dev/ssrf"}
)

// streamModel is the stream model and what it is validated with.
var streamModel = []string{"shared/stream", "shared/destination", "shared/topology", "shared/jsonstrict", "shared/netguard", "shared/ttlcache"}

// delivery is what every delivery function links: the core, its queue and
// table, the sealer that opens secrets, and what senders share.
var delivery = sdk.with(links{
	internal: slices.Concat(streamModel, []string{
		"shared/app/deliverfn", "shared/app/sealing", "shared/deliver", "shared/envelope", "shared/queue",
		"shared/store", "shared/secret", "shared/sink",
		// store.Keys speaks apikey's types, so the table's one adapter brings
		// apikey's domain code (no client, no I/O) into delivery too.
		"shared/apikey",
		// It answers the test route's invocation (testevent), naming the
		// test batch with logevent.NewID.
		"shared/testevent", "shared/logevent", "shared/jsonobj",
		// It tells of a stream it suspended (issue 13): the lifecycle event
		// through ingestion's own fan-out (ingest, which speaks httpapi's
		// error type), the operator's notice with an EventBridge client.
		"shared/notice", "shared/ingest", "shared/httpapi", "shared/httpapi/request",
		// The fan-out packs through each stream's filters (lifecycle events
		// pass them all) and masks by its PII rules, deriving hash keys with
		// KMS GenerateMac (piikey; the kms client is here for sealing too).
		"shared/filter", "shared/pii", "shared/app/piikey", "shared/selection",
		// Each traced message is a span of its request's trace (issue 16).
		"shared/trace",
	}),
	external: slices.Concat(dynamodb, sqs, kms, gzip, uuid, ssrf, eventbridge, xxhash),
})

// senders is what one destination type's sender adds to its delivery
// function, the only function that links it.
var senders = map[string]links{
	destination.Datadog:     {internal: []string{"shared/app/pipeline/datadog", "shared/sink/datadog", "shared/jsonobj"}},
	destination.GrafanaLoki: {internal: []string{"shared/app/pipeline/grafanaloki", "shared/sink/loki", "shared/jsonobj"}, external: slices.Concat(snappy, protowire)},
	destination.SplunkHEC:   {internal: []string{"shared/app/pipeline/splunkhec", "shared/sink/splunk", "shared/jsonobj"}},
	destination.HTTP:        {internal: []string{"shared/app/pipeline/webhook", "shared/sink/webhook", "shared/jsonobj"}},
	destination.EventBridge: {internal: []string{"shared/app/pipeline/eventbridge", "shared/sink/eventbridge", "shared/jsonobj"}, external: eventbridge},
	destination.S3:          {internal: []string{"shared/app/pipeline/s3", "shared/sink/s3archive"}, external: s3},
}

// ingestion is what receiving events takes: the API key check, the event
// parser, the stream list and the queues.
var ingestion = links{
	internal: slices.Concat(streamModel, []string{
		"shared/app/ingestfn", "shared/app/adminkey", "shared/apikey", "shared/logevent", "shared/httpapi", "shared/httpapi/request",
		"shared/ingest", "shared/envelope", "shared/queue", "shared/store", "shared/jsonobj",
		// Ingestion applies each stream's filters as it packs its messages,
		// and masks them by its PII rules (pii), with hash keys derived by
		// KMS GenerateMac (piikey): the only KMS call ingestion makes.
		// selection is that pair, shared with replays.
		"shared/filter", "shared/pii", "shared/app/piikey", "shared/selection",
		// Each request is a span; its messages carry the trace (issue 16).
		"shared/trace",
	}),
	external: slices.Concat(dynamodb, sqs, secretsmanager, gzip, uuid, ssrf, kms, xxhash),
}

// allowed is, per function ID, everything it may link.
func allowed() map[string]links {
	out := map[string]links{
		topology.FunctionIngest: sdk.with(ingestion),
		// The API manages streams and keys (sealing secrets with KMS), and
		// ingests: it serves the same routes as the ingest function too.
		// Its test route invokes the type's delivery function (shared/invoke,
		// with the Lambda client): it links no sender.
		topology.FunctionAPI: sdk.with(ingestion).with(links{
			internal: []string{"shared/app/apifn", "shared/manage", "shared/app/sealing", "shared/secret",
				"shared/invoke", "shared/testevent",
				// The dead-letter routes read the store (dlstore, gzip events)
				// and invoke starts their jobs (kept by jobstore).
				"shared/deadletter", "shared/dlstore", "shared/jobstore", "shared/jobrun",
				// The replay routes store replay jobs and size windows from
				// the event archive's listing (archivestore: S3 ListObjectsV2;
				// its grants allow nothing else there).
				"shared/replay", "shared/replaystore", "shared/eventarchive", "shared/batchobj", "shared/archivestore", "shared/app/archivecfg",
				// Enabling a suspended stream tells of it (issue 13).
				"shared/notice"},
			external: slices.Concat(kms, gzip, eventbridge, s3, []string{"github.com/aws/aws-sdk-go-v2/service/lambda/"}),
		}),
		// The bridge archives Loki pushes: large ones in S3, small ones in
		// its own queue (SendMessage only). No table, no sender.
		topology.FunctionLokiBridge: sdk.with(links{
			internal: []string{"shared/app/lokibridgefn", "shared/lokibridge", "shared/lokipush", "shared/lokibridge/archive", "shared/logevent",
				"shared/lokibridge/s3archive", "shared/httpapi/request", "shared/jsonobj", "shared/topology",
				// topology derives the deployed shape from destination's one list of
				// types, so reading topology's variable names brings the destination
				// configs and their address policy along (no client, no I/O; never run).
				"shared/destination", "shared/jsonstrict", "shared/netguard"},
			external: slices.Concat(s3, sqs, secretsmanager, gzip, snappy, protowire, uuid,
				[]string{"github.com/klauspost/compress/zlib", "github.com/buger/jsonparser"}, ssrf),
		}),
		// The Loki archiver writes the bridge queue's pushes to S3: the
		// archive format and Snappy for the messages, never the bridge's
		// HTTP side or credentials. (archive encodes from lokipush's types,
		// which bring the push parser's libraries along, never run; topology
		// as in the bridge.)
		topology.FunctionLokiArchiver: sdk.with(links{
			internal: []string{"shared/app/lokiarchiverfn", "shared/lokibridge/coalesce", "shared/batchobj", "shared/lokibridge/s3archive", "shared/lokibridge/archive",
				"shared/lokipush", "shared/jsonobj", "shared/topology", "shared/destination", "shared/jsonstrict", "shared/netguard"},
			external: slices.Concat(s3, gzip, snappy, protowire, ssrf,
				[]string{"github.com/klauspost/compress/zlib", "github.com/buger/jsonparser"}),
		}),
		// The dead-letter function drains the DLQs into the store in the
		// table, and redrives into the delivery queues as ingestion packs
		// them (envelope, queue). It reads streams without their secrets:
		// no sealing, no KMS, no sender. (store's apikey comes with the
		// table's one adapter, as in delivery; uuid and ssrf with the
		// stream model.)
		topology.FunctionDeadLetters: sdk.with(links{
			internal: slices.Concat(streamModel, []string{
				"shared/app/deadlettersfn", "shared/deadletter", "shared/dlstore", "shared/jobstore", "shared/jobrun", "shared/dlqueue",
				"shared/store", "shared/apikey", "shared/queue", "shared/envelope",
			}),
			external: slices.Concat(dynamodb, sqs, gzip, uuid, ssrf),
		}),
		// The archiver writes the archive queue's envelopes to S3 as they
		// came: no table, no stream, no key, no mask. (logevent for the
		// timestamp's field name; topology for its variables, with the
		// stream model it is derived from, as in the bridge, less the
		// cache it never fills.)
		topology.FunctionArchiver: sdk.with(links{
			internal: slices.Concat(slices.DeleteFunc(slices.Clone(streamModel), func(p string) bool { return p == "shared/ttlcache" }), []string{"shared/app/archiverfn", "shared/eventarchive", "shared/batchobj", "shared/archivestore",
				"shared/envelope", "shared/jsonobj", "shared/logevent"}),
			external: slices.Concat(s3, gzip, uuid, ssrf),
		}),
		// The replay function reads the archive, selects and masks as
		// ingestion does (selection; hash keys from KMS), and enqueues to
		// the delivery queues. It reads streams without their secrets: no
		// sealing, no sender. (apifn and ingestfn for the variables it
		// shares with them, which bring their wiring's imports; never run.)
		topology.FunctionReplay: sdk.with(ingestion).with(links{
			internal: []string{"shared/app/replayfn", "shared/replay", "shared/replaystore", "shared/jobstore", "shared/jobrun",
				"shared/eventarchive", "shared/batchobj", "shared/archivestore", "shared/app/archivecfg"},
			external: slices.Concat(s3),
		}),
		// The console serves its embedded files: the Lambda runtime and
		// nothing of the SDK, no table, no key (the signed-in key goes from
		// the browser to the API).
		topology.FunctionConsole: links{
			internal: []string{"shared/app/consolefn", "shared/console"},
			external: slices.Concat([]string{"github.com/aws/aws-lambda-go/"}, gzip),
		},
	}
	for _, d := range destination.Types() {
		out[topology.DeliverFunctionID(d)] = delivery.with(senders[d])
	}
	return out
}

// pkg is what go list says of one package.
type pkg struct {
	ImportPath string
	Imports    []string
	Standard   bool
}

// listDeps lists the packages the functions link, as `make build` builds
// them (its LAMBDA_ENV and tags), by import path.
func listDeps(t *testing.T) map[string]pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "-tags", "lambda.norpc", "-json=ImportPath,Imports,Standard", module+"/functions/...")
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("go list: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("go list: %v", err)
	}
	pkgs := map[string]pkg{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		pkgs[p.ImportPath] = p
	}
	return pkgs
}

// linked is every package root reaches, with the package that first
// imported it (breadth first, so the chains are the shortest).
func linked(pkgs map[string]pkg, root string) map[string]string {
	from := map[string]string{root: ""}
	queue := []string{root}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, imp := range pkgs[p].Imports {
			if _, seen := from[imp]; !seen {
				from[imp] = p
				queue = append(queue, imp)
			}
		}
	}
	return from
}

// chain is the import path from the function's main package to p.
func chain(from map[string]string, p string) string {
	var c []string
	for ; p != ""; p = from[p] {
		c = append(c, strings.TrimPrefix(p, module+"/"))
	}
	slices.Reverse(c)
	return strings.Join(c, " → ")
}

// under says whether path is prefix itself or, for a prefix without a
// trailing slash, below it; a prefix ending in "/" grants the package named
// by what precedes the slash and everything below it.
func under(path, prefix string) bool {
	if dir, ok := strings.CutSuffix(prefix, "/"); ok {
		return path == dir || strings.HasPrefix(path, prefix)
	}
	return path == prefix || strings.HasPrefix(path, prefix+"/")
}

// Each function links exactly the packages of this module it runs, and from
// other modules only the clients and libraries granted to it: a delivery
// function its own sender and AWS client, ingestion no sender, the bridge no
// sender and no table. A package it should not link fails with the import
// chain that brought it in; a granted package it no longer links fails too,
// so the lists stay what the functions are.
func TestFunctionsLinkOnlyWhatTheyRun(t *testing.T) {
	pkgs := listDeps(t)
	spec := topology.New("logstream")
	rules := allowed()
	for id := range rules {
		if _, ok := spec.Function(id); !ok {
			t.Errorf("deps_test grants %s, which topology does not declare", id)
		}
	}
	for _, f := range spec.Functions {
		t.Run(f.ID, func(t *testing.T) {
			rule, ok := rules[f.ID]
			if !ok {
				t.Fatalf("no list of what %s may link: add it to allowed() in deps_test.go", f.ID)
			}
			root := module + "/functions/" + f.SourceDir
			if _, ok := pkgs[root]; !ok {
				t.Fatalf("no package functions/%s", f.SourceDir)
			}
			from := linked(pkgs, root)
			paths := slices.Sorted(maps.Keys(from))
			for _, p := range paths {
				if p == root || pkgs[p].Standard {
					continue
				}
				if rel, ok := strings.CutPrefix(p, module+"/"); ok {
					if !slices.Contains(rule.internal, rel) {
						t.Errorf("links %s, which its list does not grant: %s", rel, chain(from, p))
					}
					continue
				}
				if !slices.ContainsFunc(rule.external, func(prefix string) bool { return under(p, prefix) }) {
					t.Errorf("links %s, which its list does not grant: %s", p, chain(from, p))
				}
			}
			for _, rel := range rule.internal {
				if _, ok := from[module+"/"+rel]; !ok {
					t.Errorf("its list grants %s, which it no longer links: take it off the list", rel)
				}
			}
			for _, prefix := range rule.external {
				if !slices.ContainsFunc(paths, func(p string) bool { return under(p, prefix) }) {
					t.Errorf("its list grants %s, which it no longer links: take it off the list", prefix)
				}
			}
		})
	}
}
