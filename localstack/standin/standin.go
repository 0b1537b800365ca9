// Package standin gives tests across the repository the AWS configuration of
// the local stand-ins (dynalite for DynamoDB, fauxqs for SQS and S3) and
// unique resource names, so every test makes its own tables and queues.
//
// Outside CI a missing stand-in skips the test; with CI=true it fails it, so a
// broken CI set-up cannot pass by skipping everything.
package standin

import (
	"context"
	"crypto/rand"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/logstream/logstream/shared/topology"
)

// Hint tells a developer how to get the stand-ins.
const Hint = `start the stand-ins: make test, or localstack/standins.sh start && eval "$(localstack/standins.sh env)"`

// endpointVars are the stand-ins every integration test needs. S3 is served by
// the same fauxqs process as SQS.
var endpointVars = []string{"AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SQS"}

var probes sync.Map // endpoint URL → error (nil when it answered)

// AWSConfig returns the SDK configuration for the stand-ins, loaded the
// standard way (config.LoadDefaultConfig reads AWS_ENDPOINT_URL_<SERVICE>,
// AWS_REGION and the dummy credentials). When an endpoint variable is unset
// or its stand-in does not answer, the test is skipped — or failed when
// CI=true.
func AWSConfig(t testing.TB) aws.Config {
	t.Helper()
	for _, name := range endpointVars {
		endpoint := os.Getenv(name)
		if endpoint == "" {
			unavailable(t, name+" is not set")
			return aws.Config{}
		}
		if err := probe(endpoint); err != nil {
			unavailable(t, name+"="+endpoint+" does not answer: "+err.Error())
			return aws.Config{}
		}
	}
	if os.Getenv("AWS_REGION") == "" && os.Getenv("AWS_DEFAULT_REGION") == "" {
		unavailable(t, "AWS_REGION is not set")
		return aws.Config{}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatalf("standin: load AWS config: %v", err)
	}
	return cfg
}

func unavailable(t testing.TB, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("standin: %s (CI=true: a missing stand-in fails the run); %s", why, Hint)
	}
	t.Skipf("standin: %s; %s", why, Hint)
}

// probe checks once per process that something answers HTTP at endpoint. Any
// status proves the server is up (dynalite answers an unsigned request with
// 400). It refuses real AWS endpoints: tests create and delete resources.
func probe(endpoint string) error {
	if v, ok := probes.Load(endpoint); ok {
		err, _ := v.(error)
		return err
	}
	err := doProbe(endpoint)
	probes.Store(endpoint, err)
	return err
}

type probeError string

func (e probeError) Error() string { return string(e) }

func doProbe(endpoint string) error {
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" {
		return probeError("not a URL")
	}
	if h := strings.ToLower(u.Hostname()); strings.HasSuffix(h, ".amazonaws.com") || strings.HasSuffix(h, ".amazonaws.com.cn") {
		return probeError("points at real AWS; tests only run against stand-ins")
	}
	client := &http.Client{Timeout: 2 * time.Second}
	resp, err := client.Post(endpoint, "application/x-amz-json-1.0", strings.NewReader("{}"))
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

// UniqueName returns a short lowercase name, unique across tests and runs,
// valid as a DynamoDB table name and an SQS queue name ([a-z0-9-], at most 40
// characters, which leaves room for the suffixes topology.New adds within
// SQS's 80). prefix is sanitised and shortened to keep it readable in logs.
func UniqueName(t testing.TB, prefix string) string {
	t.Helper()
	var b strings.Builder
	for _, r := range strings.ToLower(prefix) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '-' {
			b.WriteRune(r)
		}
		if b.Len() == 24 {
			break
		}
	}
	p := strings.Trim(b.String(), "-")
	if p == "" {
		p = "t"
	}
	return p + "-" + randomSuffix(12)
}

// Spec returns the production topology with a unique prefix, so a test's
// table and queues are its own.
func Spec(t testing.TB) topology.Spec {
	t.Helper()
	return topology.New(UniqueName(t, "ls"))
}

// FastSpec is Spec with retry timing shortened so a failing stream reaches
// its DLQ, and the dead-letter store, in seconds, and the archive is
// written within a second or so (for a replay); everything else is as
// deployed. The end-to-end and browser tests run on it.
func FastSpec(t testing.TB) topology.Spec {
	t.Helper()
	spec := Spec(t)
	spec.SetMaxReceiveCount(3) // the queue's redrive and the function's last receive
	// Dead letters reach the store within seconds, not the deployed minute.
	spec.SetSchedule(topology.FunctionDeadLetters, 2*time.Second)
	// The archive is written within a second or so, and its mapping fits
	// the shortened visibility timeouts below.
	spec.SetBatchingWindow(topology.FunctionArchiver, time.Second)
	spec.SetBatchingWindow(topology.FunctionLokiArchiver, time.Second)
	spec.SetSchedule(topology.FunctionReplay, time.Second)
	for i := range spec.Queues {
		spec.Queues[i].VisibilityTimeout = 3 * time.Second
	}
	for i := range spec.Functions {
		if spec.Functions[i].Source != nil {
			spec.Functions[i].Timeout = 2 * time.Second
		}
	}
	return spec
}

const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

func randomSuffix(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// S3 returns a client for the S3 stand-in (path-style addressing; fauxqs
// sends no response checksums) and a new, uniquely named bucket on it.
func S3(t testing.TB, ctx context.Context, cfg aws.Config, prefix string) (*s3.Client, string) {
	t.Helper()
	c := s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.UsePathStyle = true
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	})
	bucket := UniqueName(t, prefix)
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("create bucket %s: %v", bucket, err)
	}
	return c, bucket
}

// Queue creates a new, uniquely named queue on the SQS stand-in and returns
// its URL.
func Queue(t testing.TB, ctx context.Context, cfg aws.Config, prefix string) string {
	t.Helper()
	name := UniqueName(t, prefix)
	out, err := sqs.NewFromConfig(cfg).CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name)})
	if err != nil {
		t.Fatalf("create queue %s: %v", name, err)
	}
	return aws.ToString(out.QueueUrl)
}
