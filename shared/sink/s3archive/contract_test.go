package s3archive

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/logstream/logstream/shared/deliver"
	"github.com/logstream/logstream/shared/destination"
	"github.com/logstream/logstream/shared/sink/sinktest"
)

// Credentials of the fake AWS: logstream's own, and the session STS hands
// out for the customer's role. None may show in an error text.
const (
	baseKeyID     = "AKIAIOSFODNN7EXAMPLE"
	baseSecret    = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	roleKeyID     = "ASIAXXLOGSTREAMROLE1"
	roleSecret    = "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY"
	roleToken     = "FwoGZXIvYXdzEXAMPLE/SESSION+TOKENforTheCustomersRole=="
	stsRequestID  = "c6104cbe-af31-11e0-8154-cbc7ccf896c7"
	s3RequestID   = "4442587FB7D0A2F9"
	maxObjectBody = 64 << 20 // what the fake reads of a body at most
)

// awsError is an error answer: status, code, message and extra headers.
type awsError struct {
	status        int
	code, message string
	header        http.Header
}

// object is what the fake S3 stored of one PutObject.
type object struct {
	key         string
	contentType string
	body        []byte // decompressed
	creds       string // access key id that signed it
}

// fakeAWS is S3 (path-style PutObject) and STS (AssumeRole) on one endpoint,
// checking requests as AWS does and answering with AWS's own bodies.
type fakeAWS struct {
	t          *testing.T
	bucket     string
	region     string // the bucket's
	tls        bool
	wantRole   string // when set, PutObject must be signed by the role's session
	wantExtID  string
	wantSessID string
	// s3Error, when set, is the S3 error to answer PutObject with.
	s3Error *awsError
	// stsError, when set, is the STS error to answer AssumeRole with.
	stsError *awsError
	// echo, when set, writes the message of s3Error or stsError from the
	// request: an endpoint that echoes what it received.
	echo func(r *http.Request) string

	mu       sync.Mutex
	objects  map[string]object
	assumed  int
	requests int
}

func (f *fakeAWS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests++
	f.mu.Unlock()
	if r.Method == http.MethodPost && r.URL.Path == "/" {
		f.assumeRole(w, r)
		return
	}
	f.putObject(w, r)
}

// assumeRole checks an STS AssumeRole Query API request (STS API Reference,
// AssumeRole) and answers with its XML.
func (f *fakeAWS) assumeRole(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	form, err := url.ParseQuery(string(body))
	if err != nil || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		f.t.Errorf("AssumeRole body %q, content type %q", body, r.Header.Get("Content-Type"))
	}
	if err := verifySigV4(r, hex.EncodeToString(sha256Sum(body)), "sts", "us-east-1", baseKeyID, baseSecret, ""); err != nil {
		f.t.Errorf("AssumeRole: %v", err)
	}
	want := url.Values{"Action": {"AssumeRole"}, "Version": {"2011-06-15"}, "RoleArn": {f.wantRole},
		"RoleSessionName": {f.wantSessID}, "ExternalId": {f.wantExtID}, "DurationSeconds": {"900"}}
	for k, v := range want {
		if form.Get(k) != v[0] {
			f.t.Errorf("AssumeRole %s = %q, want %q", k, form.Get(k), v[0])
		}
	}
	f.mu.Lock()
	f.assumed++
	f.mu.Unlock()
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("X-Amzn-Requestid", stsRequestID)
	if f.stsError != nil {
		msg := f.stsError.message
		if f.echo != nil {
			msg = f.echo(r)
		}
		w.WriteHeader(f.stsError.status)
		fmt.Fprintf(w, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error>
  <RequestId>%s</RequestId>
</ErrorResponse>`, f.stsError.code, msg, stsRequestID)
		return
	}
	fmt.Fprintf(w, `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult>
    <AssumedRoleUser>
      <Arn>arn:aws:sts::123456789012:assumed-role/logstream-writer/%[1]s</Arn>
      <AssumedRoleId>AROA3XFRBF535PLBIFPI4:%[1]s</AssumedRoleId>
    </AssumedRoleUser>
    <Credentials>
      <AccessKeyId>%[2]s</AccessKeyId>
      <SecretAccessKey>%[3]s</SecretAccessKey>
      <SessionToken>%[4]s</SessionToken>
      <Expiration>%[5]s</Expiration>
    </Credentials>
  </AssumeRoleResult>
  <ResponseMetadata><RequestId>%[6]s</RequestId></ResponseMetadata>
</AssumeRoleResponse>`, f.wantSessID, roleKeyID, roleSecret, roleToken,
		time.Now().Add(time.Hour).UTC().Format(time.RFC3339), stsRequestID)
}

// putObject checks a PutObject request (S3 API Reference, PutObject; SigV4;
// the flexible checksums of "Checking object integrity") and stores it.
func (f *fakeAWS) putObject(w http.ResponseWriter, r *http.Request) {
	t := f.t
	fail := func(format string, args ...any) {
		t.Errorf("PutObject: "+format, args...)
		s3Answer(w, http.StatusBadRequest, "InvalidRequest", fmt.Sprintf(format, args...), nil)
	}
	key, ok := strings.CutPrefix(r.URL.Path, "/"+f.bucket+"/")
	if r.Method != http.MethodPut || !ok || r.URL.Query().Get("x-id") != "PutObject" {
		fail("%s %s", r.Method, r.URL)
		return
	}
	if len(key) > maxKeyBytes {
		s3Answer(w, http.StatusBadRequest, "KeyTooLongError", "Your key is too long", nil)
		return
	}
	keyID, secret, token := baseKeyID, baseSecret, ""
	if f.wantRole != "" {
		keyID, secret, token = roleKeyID, roleSecret, roleToken
	}
	if err := verifySigV4(r, "", "s3", f.region, keyID, secret, token); err != nil {
		fail("%v", err)
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != ContentType {
		fail("Content-Type %q", ct)
		return
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, maxObjectBody+1))
	if err != nil || len(raw) > maxObjectBody || int64(len(raw)) != r.ContentLength {
		fail("body of %d bytes (Content-Length %d): %v", len(raw), r.ContentLength, err)
		return
	}
	encodings := strings.Join(r.Header.Values("Content-Encoding"), ",")
	var payload []byte
	var checksum string
	if f.tls {
		// Over TLS the SDK streams the body aws-chunked with the CRC32 in a
		// trailer; S3 strips "aws-chunked" and stores "gzip".
		if encodings != "gzip,aws-chunked" || r.Header.Get("X-Amz-Content-Sha256") != "STREAMING-UNSIGNED-PAYLOAD-TRAILER" ||
			r.Header.Get("X-Amz-Trailer") != "x-amz-checksum-crc32" {
			fail("trailing checksum headers: Content-Encoding %q, %v", encodings, r.Header)
			return
		}
		var trailer http.Header
		payload, trailer, err = decodeAWSChunked(raw)
		if err != nil {
			fail("aws-chunked body: %v", err)
			return
		}
		if r.Header.Get("X-Amz-Decoded-Content-Length") != strconv.Itoa(len(payload)) {
			fail("X-Amz-Decoded-Content-Length %q for %d bytes", r.Header.Get("X-Amz-Decoded-Content-Length"), len(payload))
			return
		}
		checksum = trailer.Get("X-Amz-Checksum-Crc32")
	} else {
		payload = raw
		sum := sha256.Sum256(payload)
		if encodings != "gzip" || r.Header.Get("X-Amz-Content-Sha256") != hex.EncodeToString(sum[:]) {
			fail("Content-Encoding %q, X-Amz-Content-Sha256 %q", encodings, r.Header.Get("X-Amz-Content-Sha256"))
			return
		}
		checksum = r.Header.Get("X-Amz-Checksum-Crc32")
	}
	var crc [4]byte
	binary.BigEndian.PutUint32(crc[:], crc32.ChecksumIEEE(payload))
	if checksum != base64.StdEncoding.EncodeToString(crc[:]) {
		s3Answer(w, http.StatusBadRequest, "BadDigest", "The CRC32 you specified did not match the calculated checksum.", nil)
		t.Errorf("PutObject: checksum %q", checksum)
		return
	}
	body := gunzip(t, payload)
	if len(body) == 0 || body[len(body)-1] != '\n' {
		fail("body does not end in a newline")
		return
	}
	for i, line := range bytes.Split(body[:len(body)-1], []byte("\n")) {
		var ev struct {
			EventID   string `json:"event_id"`
			Timestamp string `json:"timestamp"`
		}
		if err := json.Unmarshal(line, &ev); err != nil || ev.EventID == "" || ev.Timestamp == "" {
			fail("line %d is not an event: %q", i, line)
			return
		}
	}
	if f.s3Error != nil {
		msg := f.s3Error.message
		if f.echo != nil {
			msg = f.echo(r)
		}
		s3Answer(w, f.s3Error.status, f.s3Error.code, msg, f.s3Error.header)
		return
	}
	f.mu.Lock()
	f.objects[key] = object{key: key, contentType: r.Header.Get("Content-Type"), body: body, creds: keyID}
	f.mu.Unlock()
	w.Header().Set("ETag", `"`+hex.EncodeToString(sha256Sum(payload)[:16])+`"`)
	w.Header().Set("x-amz-checksum-crc32", checksum)
	w.Header().Set("x-amz-request-id", s3RequestID)
	w.WriteHeader(http.StatusOK)
}

func sha256Sum(b []byte) []byte { s := sha256.Sum256(b); return s[:] }

// s3Answer writes an S3 REST error response (S3 API Reference, "Error
// responses": application/xml, <Error><Code>…).
func s3Answer(w http.ResponseWriter, status int, code, message string, header http.Header) {
	for k, v := range header {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("x-amz-request-id", s3RequestID)
	w.WriteHeader(status)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>%s</Code><Message>%s</Message><RequestId>%s</RequestId><HostId>nPyH7ZLEXAMPLEHOSTID</HostId></Error>`,
		code, message, s3RequestID)
}

// decodeAWSChunked reads an unsigned aws-chunked body: chunks of
// "<hex size>\r\n<data>\r\n", a "0\r\n" chunk, trailers, and "\r\n".
func decodeAWSChunked(b []byte) ([]byte, http.Header, error) {
	r := bufio.NewReader(bytes.NewReader(b))
	var out []byte
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return nil, nil, fmt.Errorf("chunk size: %w", err)
		}
		n, err := strconv.ParseInt(strings.TrimSuffix(line, "\r\n"), 16, 64)
		if err != nil {
			return nil, nil, fmt.Errorf("chunk size %q", line)
		}
		if n == 0 {
			break
		}
		chunk := make([]byte, n+2)
		if _, err := io.ReadFull(r, chunk); err != nil || string(chunk[n:]) != "\r\n" {
			return nil, nil, fmt.Errorf("chunk of %d bytes: %v", n, err)
		}
		out = append(out, chunk[:n]...)
	}
	trailer := http.Header{}
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return nil, nil, fmt.Errorf("trailer: %w", err)
		}
		if line == "\r\n" {
			break
		}
		k, v, ok := strings.Cut(strings.TrimSuffix(line, "\r\n"), ":")
		if !ok {
			return nil, nil, fmt.Errorf("trailer line %q", line)
		}
		trailer.Add(k, v)
	}
	if rest, _ := io.ReadAll(r); len(rest) > 0 {
		return nil, nil, fmt.Errorf("%d bytes after the trailer", len(rest))
	}
	return out, trailer, nil
}

// verifySigV4 re-signs the request's signed headers with the expected
// credentials, as AWS does, and compares the signatures. payloadHash is the
// body's SHA-256 for requests that do not send X-Amz-Content-Sha256.
func verifySigV4(r *http.Request, payloadHash, service, region, keyID, secret, token string) error {
	auth := r.Header.Get("Authorization")
	rest, ok := strings.CutPrefix(auth, "AWS4-HMAC-SHA256 ")
	if !ok {
		return fmt.Errorf("authorization %q is not SigV4", auth)
	}
	parts := map[string]string{}
	for p := range strings.SplitSeq(rest, ", ") {
		k, v, _ := strings.Cut(p, "=")
		parts[k] = v
	}
	at, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil {
		return fmt.Errorf("X-Amz-Date: %w", err)
	}
	scope := fmt.Sprintf("%s/%s/%s/%s/aws4_request", keyID, at.Format("20060102"), region, service)
	if parts["Credential"] != scope {
		return fmt.Errorf("credential %q, want %q", parts["Credential"], scope)
	}
	if r.Header.Get("X-Amz-Security-Token") != token {
		return fmt.Errorf("security token %q, want %q", r.Header.Get("X-Amz-Security-Token"), token)
	}
	req, err := http.NewRequest(r.Method, "http://"+r.Host+r.RequestURI, nil)
	if err != nil {
		return err
	}
	req.Host = r.Host
	for h := range strings.SplitSeq(parts["SignedHeaders"], ";") {
		switch h {
		case "host":
		case "content-length":
			req.ContentLength = r.ContentLength
		default:
			req.Header[http.CanonicalHeaderKey(h)] = r.Header.Values(h)
		}
	}
	if h := r.Header.Get("X-Amz-Content-Sha256"); h != "" { // S3 names it; STS signs the body's without the header
		payloadHash = h
	}
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = service == "s3" })
	creds := aws.Credentials{AccessKeyID: keyID, SecretAccessKey: secret, SessionToken: token}
	if err := signer.SignHTTP(context.Background(), creds, req, payloadHash, service, region, at); err != nil {
		return err
	}
	if !strings.HasSuffix(req.Header.Get("Authorization"), "Signature="+parts["Signature"]) {
		return fmt.Errorf("signature does not match: got %q, computed %q", auth, req.Header.Get("Authorization"))
	}
	return nil
}

// startFake serves f over HTTP or TLS and returns a sender pointed at it
// with logstream's (fake) credentials and no SDK retries, so each Send is one
// request and the core's retry is what the test sees.
func startFake(t *testing.T, f *fakeAWS, timeout time.Duration) (*Sender, string) {
	t.Helper()
	f.t = t
	f.objects = map[string]object{}
	var srv *httptest.Server
	if f.tls {
		srv = httptest.NewTLSServer(f)
	} else {
		srv = httptest.NewServer(f)
	}
	t.Cleanup(srv.Close)
	client := awshttp.NewBuildableClient().WithTimeout(timeout).WithTransportOptions(func(tr *http.Transport) {
		tr.TLSClientConfig = srv.Client().Transport.(*http.Transport).TLSClientConfig
	})
	return senderFor(srv.URL, client), srv.URL
}

func senderFor(endpoint string, client aws.HTTPClient) *Sender {
	s := New(aws.Config{
		Region:       "us-east-1", // logstream's own region: STS is called there
		Credentials:  credentials.NewStaticCredentialsProvider(baseKeyID, baseSecret, ""),
		BaseEndpoint: aws.String(endpoint),
		HTTPClient:   client,
		Retryer:      func() aws.Retryer { return aws.NopRetryer{} },
	})
	s.UsePathStyle = true
	s.Now = func() time.Time { return fixedNow }
	return s
}

func TestContract(t *testing.T) {
	for _, tc := range []struct {
		name string
		tls  bool
		role string
	}{
		{"http header checksum", false, ""},
		{"tls trailing checksum", true, ""},
		{"tls assumed role", true, testRole},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := s3Stream(t, destination.S3Config{Bucket: testBucket, Region: "eu-west-1", Prefix: "archive/", RoleARN: tc.role})
			f := &fakeAWS{bucket: testBucket, region: "eu-west-1", tls: tc.tls, wantRole: tc.role,
				wantExtID: st.ProjectID, wantSessID: "logstream-" + st.ID}
			s, _ := startFake(t, f, 5*time.Second)

			evs := sinktest.Corpus(t, 1200)
			batches := []deliver.Batch{
				{Key: "m-1", Events: evs[:500], EnqueuedAt: time.Date(2026, 11, 24, 7, 0, 0, 0, time.UTC)},
				{Key: "m-2", Events: evs[500:501], EnqueuedAt: time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)},
				{Key: "m-3-0", Events: evs[501:], EnqueuedAt: time.Date(2026, 11, 24, 8, 0, 1, 0, time.UTC)},
				{Key: "m-1", Events: evs[:500], EnqueuedAt: time.Date(2026, 11, 24, 7, 0, 0, 0, time.UTC)}, // SQS redelivered m-1
			}
			for _, b := range batches {
				if err := s.Send(context.Background(), st, b); err != nil {
					t.Fatalf("batch %s: %v", b.Key, err)
				}
			}
			f.mu.Lock()
			defer f.mu.Unlock()
			if len(f.objects) != 3 {
				t.Fatalf("%d objects, want 3 (a redelivered message overwrites its object)", len(f.objects))
			}
			seen := map[string]int{}
			for _, b := range batches[:3] {
				key := objectKey("archive", st.ProjectID, st.ID, b.Key, b.EnqueuedAt)
				o, ok := f.objects[key]
				if !ok {
					t.Fatalf("no object %s", key)
				}
				want := append(bytes.Join(rawSlices(b.Events), []byte("\n")), '\n')
				if !bytes.Equal(o.body, want) {
					t.Fatalf("object %s holds something else than batch %s", key, b.Key)
				}
				for _, ev := range b.Events {
					seen[string(ev)]++
				}
			}
			if len(seen) != len(evs) {
				t.Fatalf("%d distinct events stored, want %d", len(seen), len(evs))
			}
			if wantAssumed := map[bool]int{true: 1, false: 0}[tc.role != ""]; f.assumed != wantAssumed {
				t.Fatalf("AssumeRole called %d times, want %d (credentials are cached)", f.assumed, wantAssumed)
			}
		})
	}
}

func rawSlices(evs []json.RawMessage) [][]byte {
	out := make([][]byte, len(evs))
	for i, e := range evs {
		out[i] = e
	}
	return out
}

// TestFaults drives the real SDK against S3's and STS's real error answers.
func TestFaults(t *testing.T) {
	secrets := []string{baseSecret, roleSecret, roleToken}
	tests := []struct {
		name       string
		role       string
		s3Error    *awsError
		stsError   *awsError
		want       deliver.Class
		wantInText []string
	}{
		{name: "404 NoSuchBucket", want: deliver.Gone, wantInText: []string{"StatusCode: 404", "NoSuchBucket"},
			s3Error: &awsError{404, "NoSuchBucket", "The specified bucket does not exist", nil}},
		{name: "403 AccessDenied", want: deliver.Permanent, wantInText: []string{"StatusCode: 403", "AccessDenied"},
			s3Error: &awsError{403, "AccessDenied", "User: arn:aws:sts::111111111111:assumed-role/logstream-deliver/x is not authorized to perform: s3:PutObject", nil}},
		{name: "403 InvalidAccessKeyId", want: deliver.Permanent, wantInText: []string{"StatusCode: 403", "InvalidAccessKeyId"},
			s3Error: &awsError{403, "InvalidAccessKeyId", "The AWS access key ID you provided does not exist in our records.", nil}},
		{name: "403 SignatureDoesNotMatch", want: deliver.Permanent, wantInText: []string{"StatusCode: 403", "SignatureDoesNotMatch"},
			s3Error: &awsError{403, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided.", nil}},
		{name: "400 AuthorizationHeaderMalformed (wrong region)", want: deliver.Permanent, wantInText: []string{"StatusCode: 400", "AuthorizationHeaderMalformed"},
			s3Error: &awsError{400, "AuthorizationHeaderMalformed", "The authorization header is malformed; the region 'eu-west-1' is wrong; expecting 'us-west-2'", nil}},
		{name: "301 PermanentRedirect (wrong region)", want: deliver.Permanent, wantInText: []string{"StatusCode: 301", "PermanentRedirect"},
			s3Error: &awsError{301, "PermanentRedirect", "The bucket you are attempting to access must be addressed using the specified endpoint.",
				http.Header{"X-Amz-Bucket-Region": {"us-west-2"}}}},
		{name: "400 InvalidArgument", want: deliver.Permanent, wantInText: []string{"StatusCode: 400", "InvalidArgument"},
			s3Error: &awsError{400, "InvalidArgument", "Invalid argument.", nil}},
		{name: "400 EntityTooLarge", want: deliver.TooLarge, wantInText: []string{"StatusCode: 400", "EntityTooLarge"},
			s3Error: &awsError{400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed object size.", nil}},
		{name: "503 SlowDown", want: deliver.Retryable, wantInText: []string{"StatusCode: 503", "SlowDown"},
			s3Error: &awsError{503, "SlowDown", "Please reduce your request rate.", nil}},
		{name: "500 InternalError", want: deliver.Retryable, wantInText: []string{"StatusCode: 500", "InternalError"},
			s3Error: &awsError{500, "InternalError", "We encountered an internal error. Please try again.", nil}},
		{name: "503 ServiceUnavailable", want: deliver.Retryable, wantInText: []string{"StatusCode: 503", "ServiceUnavailable"},
			s3Error: &awsError{503, "ServiceUnavailable", "Service is unable to handle request.", nil}},
		{name: "400 RequestTimeout", want: deliver.Retryable, wantInText: []string{"StatusCode: 400", "RequestTimeout"},
			s3Error: &awsError{400, "RequestTimeout", "Your socket connection to the server was not read from or written to within the timeout period.", nil}},
		{name: "STS 403 AccessDenied", role: testRole, want: deliver.Permanent,
			wantInText: []string{"assume role " + testRole, "StatusCode: 403", "AccessDenied"},
			stsError:   &awsError{403, "AccessDenied", "User: arn:aws:sts::111111111111:assumed-role/logstream-deliver/x is not authorized to perform: sts:AssumeRole on resource: " + testRole, nil}},
		{name: "STS 400 Throttling", role: testRole, want: deliver.Retryable,
			wantInText: []string{"assume role " + testRole, "StatusCode: 400", "Throttling"},
			stsError:   &awsError{400, "Throttling", "Rate exceeded", nil}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := s3Stream(t, destination.S3Config{Bucket: testBucket, Region: "eu-west-1", RoleARN: tc.role})
			f := &fakeAWS{bucket: testBucket, region: "eu-west-1", tls: true, wantRole: tc.role,
				wantExtID: st.ProjectID, wantSessID: "logstream-" + st.ID, s3Error: tc.s3Error, stsError: tc.stsError}
			s, _ := startFake(t, f, 5*time.Second)
			err := s.Send(context.Background(), st, deliver.Batch{Key: testKey, Events: sinktest.Corpus(t, 5)})
			assertFault(t, err, tc.want, secrets, tc.wantInText...)
			if len(f.objects) != 0 {
				t.Fatal("a failed PutObject stored an object")
			}
		})
	}
}

func assertFault(t *testing.T, err error, want deliver.Class, secrets []string, wantInText ...string) {
	t.Helper()
	c, after := deliver.ClassOf(err)
	if err == nil || c != want || after != 0 {
		t.Fatalf("err = %v: class %v, retry after %v; want %v (S3 sends no Retry-After)", err, c, after, want)
	}
	for _, w := range wantInText {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not say %q", err, w)
		}
	}
	for _, s := range secrets {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error %q carries a secret", err)
		}
	}
}

func TestTransportFaults(t *testing.T) {
	st := s3Stream(t, destination.S3Config{Bucket: testBucket, Region: "eu-west-1"})
	batch := deliver.Batch{Key: testKey, Events: sinktest.Corpus(t, 5)}
	secrets := []string{baseSecret}

	t.Run("timeout", func(t *testing.T) {
		block := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-block }))
		defer srv.Close()
		defer close(block)
		s := senderFor(srv.URL, awshttp.NewBuildableClient().WithTimeout(100*time.Millisecond))
		err := s.Send(context.Background(), st, batch)
		assertFault(t, err, deliver.Retryable, secrets, "put s3://"+testBucket, "StatusCode: 0", "request send failed")
	})
	t.Run("connection refused", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		s := senderFor("http://"+addr, awshttp.NewBuildableClient().WithTimeout(time.Second))
		err = s.Send(context.Background(), st, batch)
		assertFault(t, err, deliver.Retryable, secrets, "put s3://"+testBucket, "connection refused")
	})
	t.Run("invocation deadline", func(t *testing.T) {
		block := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-block }))
		defer srv.Close()
		defer close(block)
		s := senderFor(srv.URL, awshttp.NewBuildableClient())
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		err := s.Send(ctx, st, batch)
		assertFault(t, err, deliver.Retryable, secrets, "put s3://"+testBucket)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want the deadline", err)
		}
	})
}
