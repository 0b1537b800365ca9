package s3archive

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/logstream/logstream/shared/deliver"
	"github.com/logstream/logstream/shared/destination"
	"github.com/logstream/logstream/shared/sink/sinktest"
	"github.com/logstream/logstream/shared/stream"
)

const (
	testRole   = "arn:aws:iam::123456789012:role/logstream-writer"
	testKey    = "3f1c2a9e-7b4d-4e8a-9c51-0d2e6f7a8b90" // an SQS message id
	testBucket = "acme-auth-archive"
)

var (
	fixedNow = time.Date(2026, 11, 24, 7, 59, 59, 0, time.UTC)
	enqueued = time.Date(2026, 11, 24, 23, 30, 0, 0, time.FixedZone("UTC-2", -2*3600)) // 2026-11-25 01:30 UTC
)

func s3Stream(t testing.TB, cfg destination.S3Config) stream.Stream {
	t.Helper()
	return sinktest.Stream(t, destination.S3, cfg)
}

// fakeS3 is the S3 client with its one method as a function field.
type fakeS3 struct {
	put func(ctx context.Context, in *s3.PutObjectInput) (*s3.PutObjectOutput, error)
}

func (f fakeS3) PutObject(ctx context.Context, in *s3.PutObjectInput, _ ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	return f.put(ctx, in)
}

func fakeSender(put func(ctx context.Context, in *s3.PutObjectInput) (*s3.PutObjectOutput, error)) *Sender {
	s := New(aws.Config{})
	s.Now = func() time.Time { return fixedNow }
	s.newClient = func(clientKey) objectPutter { return fakeS3{put: put} }
	return s
}

func TestObjectKey(t *testing.T) {
	tests := []struct {
		name, prefix, key string
		at                time.Time
		want              string
	}{
		{"no prefix", "", testKey, fixedNow,
			"project=p1/stream=str_1/dt=2026-11-24/hour=07/" + testKey + ".ndjson.gz"},
		{"prefix without slash", "logs/prod", testKey, fixedNow,
			"logs/prod/project=p1/stream=str_1/dt=2026-11-24/hour=07/" + testKey + ".ndjson.gz"},
		{"prefix with slash", "logs/prod/", testKey, fixedNow,
			"logs/prod/project=p1/stream=str_1/dt=2026-11-24/hour=07/" + testKey + ".ndjson.gz"},
		{"prefix with slashes", "logs//", testKey, fixedNow,
			"logs/project=p1/stream=str_1/dt=2026-11-24/hour=07/" + testKey + ".ndjson.gz"},
		{"only a slash", "/", testKey, fixedNow,
			"project=p1/stream=str_1/dt=2026-11-24/hour=07/" + testKey + ".ndjson.gz"},
		{"time zone converted to UTC across midnight", "a", testKey, enqueued,
			"a/project=p1/stream=str_1/dt=2026-11-25/hour=01/" + testKey + ".ndjson.gz"},
		{"midnight", "a", "m-2", time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC),
			"a/project=p1/stream=str_1/dt=2027-01-01/hour=00/m-2.ndjson.gz"},
		{"split message part", "a", testKey + "-1", fixedNow,
			"a/project=p1/stream=str_1/dt=2026-11-24/hour=07/" + testKey + "-1.ndjson.gz"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := objectKey(tc.prefix, "p1", "str_1", tc.key, tc.at)
			if got != tc.want {
				t.Fatalf("objectKey = %q, want %q", got, tc.want)
			}
			if strings.Contains(got, "//") || strings.HasPrefix(got, "/") {
				t.Fatalf("key %q has an empty segment", got)
			}
		})
	}
}

func TestSendNamesTheObject(t *testing.T) {
	tests := []struct {
		name    string
		cfg     destination.S3Config
		batch   deliver.Batch
		wantKey string
	}{
		{"enqueued time", destination.S3Config{Bucket: testBucket, Region: "eu-west-1", Prefix: "archive/"},
			deliver.Batch{Key: testKey, EnqueuedAt: enqueued},
			"archive/project=project-test-1/stream=str_0123456789abcdef/dt=2026-11-25/hour=01/" + testKey + ".ndjson.gz"},
		{"no enqueued time: now", destination.S3Config{Bucket: testBucket, Region: "eu-west-1"},
			deliver.Batch{Key: testKey},
			"project=project-test-1/stream=str_0123456789abcdef/dt=2026-11-24/hour=07/" + testKey + ".ndjson.gz"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got *s3.PutObjectInput
			s := fakeSender(func(_ context.Context, in *s3.PutObjectInput) (*s3.PutObjectOutput, error) {
				got = in
				return &s3.PutObjectOutput{}, nil
			})
			tc.batch.Events = sinktest.Corpus(t, 3)
			if err := s.Send(context.Background(), s3Stream(t, tc.cfg), tc.batch); err != nil {
				t.Fatal(err)
			}
			if got == nil || aws.ToString(got.Key) != tc.wantKey || aws.ToString(got.Bucket) != testBucket ||
				aws.ToString(got.ContentType) != ContentType || aws.ToString(got.ContentEncoding) != ContentEncoding {
				t.Fatalf("PutObject input %+v, want key %s", got, tc.wantKey)
			}
		})
	}
}

func TestSendRefuses(t *testing.T) {
	long := strings.Repeat("é", 500) // 1000 bytes, within the 512-character prefix limit
	tests := []struct {
		name  string
		st    func(t *testing.T) stream.Stream
		batch deliver.Batch
		want  deliver.Class
	}{
		{"no batch key", func(t *testing.T) stream.Stream {
			return s3Stream(t, destination.S3Config{Bucket: testBucket, Region: "eu-west-1"})
		}, deliver.Batch{Events: sinktest.Corpus(t, 2)}, deliver.Permanent},
		{"key over 1024 bytes", func(t *testing.T) stream.Stream {
			return s3Stream(t, destination.S3Config{Bucket: testBucket, Region: "eu-west-1", Prefix: long})
		}, deliver.Batch{Key: testKey, Events: sinktest.Corpus(t, 2)}, deliver.Permanent},
		{"not an s3 stream", func(t *testing.T) stream.Stream {
			return sinktest.Stream(t, destination.HTTP, map[string]any{"endpoint": "https://example.com/hook"})
		}, deliver.Batch{Key: testKey, Events: sinktest.Corpus(t, 2)}, deliver.Permanent},
		{"event with a line break that is not JSON", func(t *testing.T) stream.Stream {
			return s3Stream(t, destination.S3Config{Bucket: testBucket, Region: "eu-west-1"})
		}, deliver.Batch{Key: testKey, Events: []json.RawMessage{json.RawMessage("{\"a\":\n")}}, deliver.Rejected},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			s := fakeSender(func(context.Context, *s3.PutObjectInput) (*s3.PutObjectOutput, error) {
				calls++
				return &s3.PutObjectOutput{}, nil
			})
			err := s.Send(context.Background(), tc.st(t), tc.batch)
			if c, _ := deliver.ClassOf(err); err == nil || c != tc.want {
				t.Fatalf("err = %v (%v), want %v", err, c, tc.want)
			}
			if calls != 0 {
				t.Fatalf("%d objects written", calls)
			}
		})
	}
}

func TestEncode(t *testing.T) {
	evs := []json.RawMessage{
		json.RawMessage(`{"event_id":"a","timestamp":"2026-11-24T07:00:00Z"}`),
		json.RawMessage("{\n  \"event_id\": \"b\",\r\n  \"msg\": \"x\\ny\"\n}"), // pretty-printed: compacted, not cut
		json.RawMessage(`{"event_id":"c","s":"caf\u00e9 \"q\""}`),
	}
	body, err := encode(evs)
	if err != nil {
		t.Fatal(err)
	}
	got := gunzip(t, body)
	want := `{"event_id":"a","timestamp":"2026-11-24T07:00:00Z"}` + "\n" +
		`{"event_id":"b","msg":"x\ny"}` + "\n" +
		`{"event_id":"c","s":"caf\u00e9 \"q\""}` + "\n"
	if string(got) != want {
		t.Fatalf("body\n%s\nwant\n%s", got, want)
	}
}

func gunzip(t testing.TB, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("not gzip: %v", err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("gunzip: %v", err)
	}
	return out
}

func TestGolden(t *testing.T) {
	tests := []struct {
		name  string
		cfg   destination.S3Config
		batch deliver.Batch
	}{
		{"prefixed", destination.S3Config{Bucket: testBucket, Region: "eu-west-1", Prefix: "auth-logs/prod/"},
			deliver.Batch{Key: testKey, EnqueuedAt: time.Date(2026, 11, 24, 7, 3, 4, 0, time.UTC)}},
		{"unprefixed-split-part", destination.S3Config{Bucket: testBucket, Region: "us-east-1", RoleARN: testRole},
			deliver.Batch{Key: testKey + "-2"}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got bytes.Buffer
			s := fakeSender(func(_ context.Context, in *s3.PutObjectInput) (*s3.PutObjectOutput, error) {
				body, err := io.ReadAll(in.Body)
				if err != nil {
					t.Fatal(err)
				}
				fmt.Fprintf(&got, "PUT s3://%s/%s\nContent-Type: %s\nContent-Encoding: %s\nContent-Length: %d\n\n",
					aws.ToString(in.Bucket), aws.ToString(in.Key), aws.ToString(in.ContentType),
					aws.ToString(in.ContentEncoding), aws.ToInt64(in.ContentLength))
				got.Write(gunzip(t, body))
				return &s3.PutObjectOutput{}, nil
			})
			tc.batch.Events = sinktest.Corpus(t, 3+3*i)
			if err := s.Send(context.Background(), s3Stream(t, tc.cfg), tc.batch); err != nil {
				t.Fatal(err)
			}
			sinktest.Golden(t, tc.name, got.Bytes())
		})
	}
}

// sdkError builds the error chain the SDK returns for an S3 answer.
func sdkError(service string, status int, code string) error {
	var inner error = &smithy.GenericAPIError{Code: code, Message: "message for " + code}
	if code == "" {
		inner = errors.New("http response body was not an S3 error")
	}
	return &smithy.OperationError{ServiceID: service, OperationName: "PutObject", Err: &awshttp.ResponseError{
		RequestID: "4442587FB7D0A2F9",
		ResponseError: &smithyhttp.ResponseError{
			Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status, Header: http.Header{}}},
			Err:      inner,
		},
	}}
}

// stsError is an AssumeRole failure as PutObject returns it: STS's error,
// inside the credential cache's, inside S3's.
func stsError(status int, code string) error {
	assume := sdkError("STS", status, code)
	assume.(*smithy.OperationError).OperationName = "AssumeRole"
	return &smithy.OperationError{ServiceID: "S3", OperationName: "PutObject",
		Err: fmt.Errorf("get identity: %w", fmt.Errorf("failed to refresh cached credentials, %w", assume))}
}

func TestClassify(t *testing.T) {
	refused := &smithy.OperationError{ServiceID: "S3", OperationName: "PutObject", Err: &awshttp.ResponseError{
		ResponseError: &smithyhttp.ResponseError{
			Response: &smithyhttp.Response{Response: &http.Response{Header: http.Header{}}},
			Err: &smithyhttp.RequestSendError{Err: &net.OpError{Op: "dial", Net: "tcp",
				Err: &net.DNSError{Err: syscall.ECONNREFUSED.Error()}}},
		},
	}}
	deadline := &smithy.OperationError{ServiceID: "S3", OperationName: "PutObject",
		Err: &smithy.CanceledError{Err: context.DeadlineExceeded}}
	tests := []struct {
		name string
		err  error
		want deliver.Class
	}{
		{"NoSuchBucket", sdkError("S3", 404, "NoSuchBucket"), deliver.Gone},
		{"AccessDenied", sdkError("S3", 403, "AccessDenied"), deliver.Permanent},
		{"InvalidAccessKeyId", sdkError("S3", 403, "InvalidAccessKeyId"), deliver.Permanent},
		{"SignatureDoesNotMatch", sdkError("S3", 403, "SignatureDoesNotMatch"), deliver.Permanent},
		{"AuthorizationHeaderMalformed (wrong region)", sdkError("S3", 400, "AuthorizationHeaderMalformed"), deliver.Permanent},
		{"PermanentRedirect (wrong region)", sdkError("S3", 301, "PermanentRedirect"), deliver.Permanent},
		{"AllAccessDisabled", sdkError("S3", 403, "AllAccessDisabled"), deliver.Permanent},
		{"unknown 400 is not the events' fault", sdkError("S3", 400, "InvalidArgument"), deliver.Permanent},
		{"unknown 403", sdkError("S3", 403, "SomethingNew"), deliver.Permanent},
		{"404 without a code", sdkError("S3", 404, ""), deliver.Permanent},
		{"EntityTooLarge", sdkError("S3", 400, "EntityTooLarge"), deliver.TooLarge},
		{"SlowDown", sdkError("S3", 503, "SlowDown"), deliver.Retryable},
		{"InternalError", sdkError("S3", 500, "InternalError"), deliver.Retryable},
		{"ServiceUnavailable", sdkError("S3", 503, "ServiceUnavailable"), deliver.Retryable},
		{"RequestTimeout (a 400)", sdkError("S3", 400, "RequestTimeout"), deliver.Retryable},
		{"ExpiredToken (a 400)", sdkError("S3", 400, "ExpiredToken"), deliver.Retryable},
		{"TemporaryRedirect", sdkError("S3", 307, "TemporaryRedirect"), deliver.Retryable},
		{"502 without a code", sdkError("S3", 502, ""), deliver.Retryable},
		{"504 unknown code", sdkError("S3", 504, "GatewayTimeout"), deliver.Retryable},
		{"connection refused", refused, deliver.Retryable},
		{"deadline", deadline, deliver.Retryable},
		{"invalid parameters", &smithy.OperationError{ServiceID: "S3", OperationName: "PutObject",
			Err: smithy.InvalidParamsError{Context: "PutObjectInput"}}, deliver.Permanent},
		{"STS AccessDenied (trust policy or ExternalId)", stsError(403, "AccessDenied"), deliver.Permanent},
		{"STS RegionDisabledException", stsError(403, "RegionDisabledException"), deliver.Permanent},
		{"STS ValidationError (no such role)", stsError(400, "ValidationError"), deliver.Permanent},
		{"STS Throttling (a 400)", stsError(400, "Throttling"), deliver.Retryable},
		{"STS 503", stsError(503, "ServiceUnavailable"), deliver.Retryable},
		{"STS unreachable", &smithy.OperationError{ServiceID: "S3", OperationName: "PutObject",
			Err: fmt.Errorf("get identity: %w", &smithy.OperationError{ServiceID: "STS", OperationName: "AssumeRole", Err: refused.Err})}, deliver.Retryable},
	}
	st := s3Stream(t, destination.S3Config{Bucket: testBucket, Region: "eu-west-1", RoleARN: testRole})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := fakeSender(func(context.Context, *s3.PutObjectInput) (*s3.PutObjectOutput, error) { return nil, tc.err })
			err := s.Send(context.Background(), st, deliver.Batch{Key: testKey, Events: sinktest.Corpus(t, 2)})
			c, after := deliver.ClassOf(err)
			if c != tc.want || after != 0 {
				t.Fatalf("class %v, retry after %v, want %v: %v", c, after, tc.want, err)
			}
			if !errors.Is(err, tc.err) {
				t.Fatalf("%v does not wrap the SDK's error", err)
			}
			wantText := "put s3://" + testBucket + "/"
			if strings.HasPrefix(tc.name, "STS") {
				wantText = "assume role " + testRole + " to write to s3://" + testBucket
			}
			if !strings.Contains(err.Error(), wantText) {
				t.Fatalf("error %q does not say %q", err, wantText)
			}
		})
	}
}

func TestClientCache(t *testing.T) {
	var (
		mu    sync.Mutex
		built []clientKey
	)
	s := New(aws.Config{})
	ok := fakeS3{put: func(context.Context, *s3.PutObjectInput) (*s3.PutObjectOutput, error) {
		return &s3.PutObjectOutput{}, nil
	}}
	s.newClient = func(k clientKey) objectPutter {
		mu.Lock()
		built = append(built, k)
		mu.Unlock()
		return ok
	}
	mk := func(project, id, region, role string) stream.Stream {
		st := s3Stream(t, destination.S3Config{Bucket: testBucket, Region: region, RoleARN: role})
		st.ProjectID, st.ID = project, id
		return st
	}
	streams := []stream.Stream{
		mk("p1", "str_a", "eu-west-1", testRole),
		mk("p1", "str_a", "eu-west-1", testRole), // same: cached
		mk("p2", "str_b", "eu-west-1", testRole), // same role, another project: its own ExternalId
		mk("p1", "str_c", "eu-west-1", ""),       // logstream's own credentials: one client per region
		mk("p2", "str_d", "eu-west-1", ""),
		mk("p2", "str_e", "us-east-1", ""),
	}
	var wg sync.WaitGroup
	for range 8 { // concurrently, as the core sends streams in parallel
		for _, st := range streams {
			wg.Go(func() {
				if err := s.Send(context.Background(), st, deliver.Batch{Key: testKey, Events: sinktest.Corpus(t, 1)}); err != nil {
					t.Error(err)
				}
			})
		}
	}
	wg.Wait()
	want := map[clientKey]bool{
		{region: "eu-west-1", roleARN: testRole, externalID: "p1", sessionName: "logstream-str_a"}: true,
		{region: "eu-west-1", roleARN: testRole, externalID: "p2", sessionName: "logstream-str_b"}: true,
		{region: "eu-west-1"}: true,
		{region: "us-east-1"}: true,
	}
	if len(built) != len(want) {
		t.Fatalf("built %d clients %v, want %d", len(built), built, len(want))
	}
	for _, k := range built {
		if !want[k] {
			t.Fatalf("unexpected client %+v", k)
		}
	}

	for i := range maxClients + 10 {
		s.client(&destination.S3Config{Region: "eu-west-1", RoleARN: testRole}, stream.Stream{ProjectID: "p", ID: fmt.Sprint("str_", i)})
	}
	if n := len(s.clients); n > maxClients {
		t.Fatalf("%d clients cached, bound is %d", n, maxClients)
	}
}

func TestSessionName(t *testing.T) {
	tests := []struct{ streamID, want string }{
		{"str_0190b5b07000800000000000000000ab", "logstream-str_0190b5b07000800000000000000000ab"},
		{strings.Repeat("x", 80), "logstream-" + strings.Repeat("x", 54)},
		{"str a/b:c", "logstream-str-a-b-c"},
	}
	for _, tc := range tests {
		t.Run(tc.streamID, func(t *testing.T) {
			if got := sessionName(tc.streamID); got != tc.want || len(got) > 64 {
				t.Fatalf("sessionName = %q, want %q", got, tc.want)
			}
		})
	}
}

func BenchmarkEncode(b *testing.B) {
	evs := sinktest.Corpus(b, 1000)
	b.Run("ndjson+gzip", func(b *testing.B) {
		b.ReportAllocs()
		var wire int
		for b.Loop() {
			body, err := encode(evs)
			if err != nil {
				b.Fatal(err)
			}
			wire = len(body)
		}
		sinktest.ReportPerEvent(b, len(evs), wire)
	})
	b.Run("gzip-floor", func(b *testing.B) { sinktest.BenchmarkGzipFloor(b, evs) })
}
