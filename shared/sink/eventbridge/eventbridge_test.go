package eventbridge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/smithy-go"
	"github.com/logstream/logstream/shared/deliver"
	"github.com/logstream/logstream/shared/destination"
	"github.com/logstream/logstream/shared/sink"
	"github.com/logstream/logstream/shared/sink/sinktest"
	"github.com/logstream/logstream/shared/stream"
)

const (
	busEU = "arn:aws:events:eu-west-1:123456789012:event-bus/customer-auth"
	// A bus in another account and region, reached by its ARN.
	busUS = "arn:aws:events:us-east-2:210987654321:event-bus/security-lake"
)

var now = time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)

// testConfig points the SDK at endpoint the way AWS_ENDPOINT_URL_EVENTBRIDGE
// would, without retries so that faults answer at once.
func testConfig(endpoint string, hc aws.HTTPClient) aws.Config {
	return aws.Config{
		Region:       "us-west-2", // the clients' region is the bus's, not this one
		BaseEndpoint: aws.String(endpoint),
		Credentials:  testCredentials,
		Retryer:      func() aws.Retryer { return aws.NopRetryer{} },
		HTTPClient:   hc,
	}
}

func testSender(endpoint string) *Sender {
	s := New(testConfig(endpoint, &http.Client{Timeout: 5 * time.Second}))
	s.Now = func() time.Time { return now }
	return s
}

func busStream(t testing.TB, bus string, extra map[string]any) stream.Stream {
	cfg := map[string]any{"event_bus_arn": bus}
	for k, v := range extra {
		cfg[k] = v
	}
	return sinktest.Stream(t, destination.EventBridge, cfg)
}

// batches cuts evs into Limits.MaxEvents, as the core would.
func batches(evs []json.RawMessage) [][]json.RawMessage {
	var out [][]json.RawMessage
	for len(evs) > 0 {
		n := min(len(evs), Limits.MaxEvents)
		out = append(out, evs[:n])
		evs = evs[n:]
	}
	return out
}

// fields decodes an event's top-level members the standard way.
func fields(t *testing.T, ev []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(ev, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestContract(t *testing.T) {
	rc := newReceiver(t, busEU, busUS)
	s := testSender(rc.srv.URL)
	evs := sinktest.Corpus(t, 25)
	streams := []struct {
		st         stream.Stream
		bus        string
		region     string
		source     string
		detailType string // the stream's, else the event's own
	}{
		{busStream(t, busEU, nil), busEU, "eu-west-1", "logstream", ""},
		{busStream(t, busUS, map[string]any{"source": "com.example.auth", "detail_type": "Auth Event"}), busUS, "us-east-2", "com.example.auth", "Auth Event"},
	}
	for _, sc := range streams {
		for _, b := range batches(evs) {
			if err := s.Send(context.Background(), sc.st, deliver.Batch{Events: b}); err != nil {
				t.Fatalf("%s: %v", sc.bus, err)
			}
		}
	}
	reqs := rc.requests()
	if len(reqs) != 6 {
		t.Fatalf("%d calls, want 3 per stream", len(reqs))
	}
	for ri, r := range reqs {
		sc := streams[ri/3]
		if r.Region != sc.region {
			t.Errorf("call %d signed for %s, want the bus's region %s", ri, r.Region, sc.region)
		}
		for j, e := range r.Entries {
			ev := evs[ri%3*10+j]
			if aws.ToString(e.Detail) != string(ev) {
				t.Errorf("call %d entry %d: Detail is not the event as is:\n%s", ri, j, aws.ToString(e.Detail))
			}
			if aws.ToString(e.EventBusName) != sc.bus || aws.ToString(e.Source) != sc.source || e.Resources != nil || e.TraceHeader != nil {
				t.Errorf("call %d entry %d: bus %q source %q resources %v", ri, j, aws.ToString(e.EventBusName), aws.ToString(e.Source), e.Resources)
			}
			want := sc.detailType
			if want == "" {
				want = detailTypeOf(t, ev)
			}
			if aws.ToString(e.DetailType) != want {
				t.Errorf("call %d entry %d: DetailType %q, want %q", ri, j, aws.ToString(e.DetailType), want)
			}
			ts, _ := time.Parse(time.RFC3339Nano, fields(t, ev)["timestamp"].(string))
			f, err := e.Time.Float64()
			if err != nil || int64(math.Round(f*1000)) != ts.UnixMilli() {
				t.Errorf("call %d entry %d: Time %v, want the event's timestamp %s", ri, j, e.Time, ts)
			}
		}
	}
	if n := len(s.clients); n != 2 {
		t.Errorf("%d clients for 2 regions", n)
	}
}

// detailTypeOf is the DetailType the vendor shapes in the corpus call for.
func detailTypeOf(t *testing.T, ev []byte) string {
	m := fields(t, ev)
	for _, k := range []string{"eventType", "type", "event_type", "action"} {
		if s, ok := m[k].(string); ok && s != "" {
			return s
		}
	}
	return DefaultDetailType
}

func TestDetailType(t *testing.T) {
	long := strings.Repeat("x", 129)
	tests := []struct {
		name, event, want string
	}{
		{"okta eventType", `{"eventType":"user.session.start","type":"ignored","actor":{"type":"User"}}`, "user.session.start"},
		{"auth0 type", `{"type":"fp","description":"Wrong password"}`, "fp"},
		{"event_type", `{"event_type":"login.failed"}`, "login.failed"},
		{"stytch action", `{"action":"PasswordsAuthenticate","status":"success"}`, "PasswordsAuthenticate"},
		{"nested only", `{"actor":{"type":"User","eventType":"x"}}`, DefaultDetailType},
		{"none", `{"event_id":"e1"}`, DefaultDetailType},
		{"not a string", `{"type":3,"action":"Logout"}`, "Logout"},
		{"empty", `{"eventType":"  ","action":"Logout"}`, "Logout"},
		{"too long", `{"eventType":"` + long + `"}`, DefaultDetailType},
		{"128 runes", `{"eventType":"` + strings.Repeat("é", 128) + `"}`, strings.Repeat("é", 128)},
		{"control character", `{"eventType":"a\nb"}`, DefaultDetailType},
		{"escaped", `{"eventType":"user.\u0073ession"}`, "user.session"},
		{"key case matters", `{"EventType":"x","Type":"y"}`, DefaultDetailType},
		{"whitespace", " {\n \"type\" : \"s\" ,\"a\":[1,{\"type\":\"no\"}]}\n", "s"},
	}
	cfg := &destination.EventBridgeConfig{EventBusARN: busEU, Region: "eu-west-1", Source: "logstream"}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := encode(cfg, []json.RawMessage{json.RawMessage(tc.event)})
			if len(req.entries) != 1 || aws.ToString(req.entries[0].DetailType) != tc.want {
				t.Fatalf("DetailType %v, want %q", req.entries, tc.want)
			}
		})
	}
}

func TestEntrySize(t *testing.T) {
	tm := time.Unix(1_800_000_000, 0)
	tests := []struct {
		name  string
		entry types.PutEventsRequestEntry
		want  int
	}{
		{"all fields", types.PutEventsRequestEntry{Time: &tm, Source: aws.String("com.example"), DetailType: aws.String("Login"),
			Detail: aws.String(`{"a":1}`), Resources: []string{"arn:aws:iam::1:user/a", "r"}, EventBusName: aws.String("not counted")}, 14 + 11 + 5 + 7 + 21 + 1},
		{"no time", types.PutEventsRequestEntry{Source: aws.String("s"), DetailType: aws.String("d"), Detail: aws.String("{}")}, 4},
		{"utf-8 bytes", types.PutEventsRequestEntry{Source: aws.String("s"), DetailType: aws.String("é"), Detail: aws.String(`{"k":"日本"}`)}, 1 + 2 + 14},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := EntrySize(tc.entry); got != tc.want {
				t.Fatalf("EntrySize = %d, want %d", got, tc.want)
			}
		})
	}
}

// A batch at Limits, with the longest Source and DetailType a stream can
// have, still makes a request EventBridge takes.
func TestLimitsLeaveHeadroom(t *testing.T) {
	rc := newReceiver(t, busEU)
	s := testSender(rc.srv.URL)
	st := busStream(t, busEU, map[string]any{"source": strings.Repeat("s", 256), "detail_type": strings.Repeat("😀", 128)})
	per := Limits.MaxBytes / Limits.MaxEvents
	evs := make([]json.RawMessage, Limits.MaxEvents)
	for i := range evs {
		evs[i] = padded(i, per)
	}
	if err := s.Send(context.Background(), st, deliver.Batch{Events: evs}); err != nil {
		t.Fatal(err)
	}
	if Limits.MaxEventBytes+maxEntryOverhead > MaxRequestBytes || Limits.MaxBytes+Limits.MaxEvents*maxEntryOverhead > MaxRequestBytes {
		t.Fatalf("Limits %+v leave no room for the entries' overhead", Limits)
	}
	one := []json.RawMessage{padded(0, Limits.MaxEventBytes)}
	if err := s.Send(context.Background(), st, deliver.Batch{Events: one}); err != nil {
		t.Fatalf("one event of MaxEventBytes: %v", err)
	}
}

// padded is a JSON object event of exactly n bytes.
func padded(i, n int) json.RawMessage {
	head := `{"event_id":"e` + string(rune('0'+i)) + `","timestamp":"2026-11-24T07:00:00.000Z","pad":"`
	return json.RawMessage(head + strings.Repeat("p", n-len(head)-2) + `"}`)
}

func TestTooLargeIsRefusedBeforeSending(t *testing.T) {
	rc := newReceiver(t, busEU)
	s := testSender(rc.srv.URL)
	st := busStream(t, busEU, nil)
	tests := []struct {
		name string
		evs  []json.RawMessage
	}{
		{"over 256 KB", []json.RawMessage{padded(0, 200<<10), padded(1, 60<<10)}},
		{"one event over 256 KB", []json.RawMessage{padded(0, 256<<10)}},
		{"11 entries", sinktest.Corpus(t, 11)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := s.Send(context.Background(), st, deliver.Batch{Events: tc.evs})
			if class, _ := deliver.ClassOf(err); class != deliver.TooLarge {
				t.Fatalf("err = %v (%v), want too_large", err, class)
			}
			if n := len(rc.requests()); n != 0 {
				t.Fatalf("%d calls made", n)
			}
		})
	}
	if err := s.Send(context.Background(), st, deliver.Batch{}); err != nil || len(rc.requests()) != 0 {
		t.Fatalf("empty batch: %v, %d calls", err, len(rc.requests()))
	}
}

func TestPartialFailures(t *testing.T) {
	rc := newReceiver(t, busEU)
	evs := sinktest.Corpus(t, 10)
	evs[7] = json.RawMessage(`["not","an","object"]`)
	codes := map[string][2]string{ // by event_id
		id(t, evs[1]): {"ThrottlingException", "Rate exceeded"},
		id(t, evs[3]): {"MalformedDetail", "Detail is malformed."},
		id(t, evs[4]): {"AccessDeniedException", "User is not authorized"},
		id(t, evs[5]): {"InternalFailure", "Internal error"},
		id(t, evs[6]): {"SomeFutureError", "who knows"},
		id(t, evs[8]): {"NotAuthorizedForDetailTypeException", "Not authorized for the detail type."},
	}
	rc.failEntry = func(e putEntry) (string, string) {
		c := codes[id(t, []byte(aws.ToString(e.Detail)))]
		return c[0], c[1]
	}
	err := testSender(rc.srv.URL).Send(context.Background(), busStream(t, busEU, nil), deliver.Batch{Events: evs})
	var pe *deliver.PartialError
	if !errors.As(err, &pe) {
		t.Fatalf("err = %v, want a PartialError", err)
	}
	want := map[int]deliver.Class{1: deliver.Retryable, 3: deliver.Rejected, 4: deliver.Permanent, 5: deliver.Retryable,
		6: deliver.Retryable, 7: deliver.Rejected, 8: deliver.Permanent}
	if len(pe.Failed) != len(want) {
		t.Fatalf("failed %v, want exactly the indices %v", pe.Failed, want)
	}
	for i, class := range want {
		ferr, ok := pe.Failed[i]
		if !ok {
			t.Errorf("event %d not reported failed", i)
			continue
		}
		if got, _ := deliver.ClassOf(ferr); got != class {
			t.Errorf("event %d: %v is %v, want %v", i, ferr, got, class)
		}
		if i != 7 && !strings.Contains(ferr.Error(), id(t, evs[i])) {
			t.Errorf("event %d: error %q does not name the event", i, ferr)
		}
	}
	reqs := rc.requests()
	if len(reqs) != 1 || len(reqs[0].Entries) != 9 {
		t.Fatalf("calls %d, want one of 9 entries (the array event refused before sending)", len(reqs))
	}
}

func id(t *testing.T, ev []byte) string {
	s, _ := fields(t, ev)["event_id"].(string)
	return s
}

// Result entries that neither carry an EventId nor an ErrorCode, or that are
// missing, are not deliveries.
func TestMissingResultsAreRetried(t *testing.T) {
	rc := newReceiver(t, busEU)
	rc.answer = func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Write([]byte(`{"FailedEntryCount":0,"Entries":[{"EventId":"a"},{}]}`))
	}
	err := testSender(rc.srv.URL).Send(context.Background(), busStream(t, busEU, nil), deliver.Batch{Events: sinktest.Corpus(t, 3)})
	var pe *deliver.PartialError
	if !errors.As(err, &pe) || len(pe.Failed) != 2 || pe.Failed[1] == nil || pe.Failed[2] == nil {
		t.Fatalf("err = %v, want entries 1 and 2 failed", err)
	}
	if c, _ := deliver.ClassOf(pe.Failed[2]); c != deliver.Retryable {
		t.Fatalf("missing result is %v", c)
	}
}

func TestCallErrors(t *testing.T) {
	retryDate := now.Add(90 * time.Second).Format(http.TimeFormat)
	tests := []struct {
		name       string
		status     int
		code       string
		msg        string
		header     map[string]string
		class      deliver.Class
		retryAfter time.Duration
	}{
		{"access denied", 400, "AccessDeniedException", "User: arn:aws:sts::111122223333:assumed-role/logstream-delivery/fn is not authorized to perform: events:PutEvents on resource: " + busEU + " because no resource-based policy allows the events:PutEvents action", nil, deliver.Permanent, 0},
		{"403 access denied", 403, "AccessDeniedException", "denied", nil, deliver.Permanent, 0},
		{"bus not found", 400, "ResourceNotFoundException", "Event bus customer-auth does not exist.", nil, deliver.Gone, 0},
		{"validation", 400, "ValidationException", "1 validation error detected", nil, deliver.Rejected, 0},
		{"throttled", 400, "ThrottlingException", "Rate exceeded", nil, deliver.Retryable, 0},
		{"internal", 500, "InternalException", "Internal error", nil, deliver.Retryable, 0},
		{"unavailable", 503, "ServiceUnavailable", "", nil, deliver.Retryable, 0},
		{"429 retry-after seconds", 429, "ThrottlingException", "slow down", map[string]string{"Retry-After": "7"}, deliver.Retryable, 7 * time.Second},
		{"429 retry-after date", 429, "ThrottlingException", "slow down", map[string]string{"Retry-After": retryDate}, deliver.Retryable, 90 * time.Second},
		{"401 unknown code", 401, "SomethingNew", "no", nil, deliver.Permanent, 0},
		{"400 unknown code", 400, "SomethingNew", "no", nil, deliver.Rejected, 0},
		{"413", 413, "RequestEntityTooLarge", "too big", nil, deliver.TooLarge, 0},
		{"our signature", 400, "InvalidSignatureException", "The request signature we calculated does not match the signature you provided.\n\nThe Canonical String for this request should have been\n'POST\n/\n\nx-amz-security-token:" + testSessionToken + "\n'", nil, deliver.Retryable, 0},
		{"our token", 400, "UnrecognizedClientException", "The security token included in the request is invalid.", nil, deliver.Retryable, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rc := newReceiver(t, busEU)
			rc.answer = func(w http.ResponseWriter) {
				for k, v := range tc.header {
					w.Header().Set(k, v)
				}
				awsError(w, tc.status, tc.code, tc.msg)
			}
			err := testSender(rc.srv.URL).Send(context.Background(), busStream(t, busEU, nil), deliver.Batch{Events: sinktest.Corpus(t, 3)})
			class, after := deliver.ClassOf(err)
			if class != tc.class || after != tc.retryAfter {
				t.Fatalf("err = %v: %v after %v, want %v after %v", err, class, after, tc.class, tc.retryAfter)
			}
			var e *Error
			if !errors.As(err, &e) || e.StatusCode != tc.status || e.Code != tc.code {
				t.Fatalf("err = %#v, want an *Error with %d %s", err, tc.status, tc.code)
			}
			noSecrets(t, err)
			if !strings.Contains(err.Error(), tc.code) || !strings.Contains(err.Error(), http.StatusText(tc.status)) {
				t.Fatalf("error text %q lacks the status or code", err)
			}
		})
	}
}

func noSecrets(t *testing.T, err error) {
	t.Helper()
	for _, s := range []string{testSecretKey, testSessionToken} {
		if strings.Contains(err.Error(), s) {
			t.Fatalf("error text shows a credential: %q", err)
		}
	}
}

// A bus that does not exist, as the receiver answers for any ARN it does
// not know.
func TestBusNotFoundIsGone(t *testing.T) {
	rc := newReceiver(t, busEU)
	gone := "arn:aws:events:eu-west-1:123456789012:event-bus/deleted"
	err := testSender(rc.srv.URL).Send(context.Background(), busStream(t, gone, nil), deliver.Batch{Events: sinktest.Corpus(t, 2)})
	if class, _ := deliver.ClassOf(err); class != deliver.Gone || !strings.Contains(err.Error(), "deleted does not exist") {
		t.Fatalf("err = %v (%v), want gone", err, class)
	}
}

func TestNoAnswerIsRetryable(t *testing.T) {
	hang := make(chan struct{})
	hung := newReceiver(t, busEU)
	hung.answer = func(http.ResponseWriter) { <-hang }
	defer close(hang) // before the server's Close, which waits for the handler

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + ln.Addr().String()
	ln.Close()

	tests := []struct {
		name     string
		endpoint string
		timeout  time.Duration
	}{
		{"client timeout", hung.srv.URL, 100 * time.Millisecond},
		{"connection refused", refused, 5 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := New(testConfig(tc.endpoint, &http.Client{Timeout: tc.timeout}))
			err := s.Send(context.Background(), busStream(t, busEU, nil), deliver.Batch{Events: sinktest.Corpus(t, 2)})
			if err == nil {
				t.Fatal("no answer was taken for delivery")
			}
			if class, _ := deliver.ClassOf(err); class != deliver.Retryable {
				t.Fatalf("err = %v: %v, want retryable", err, class)
			}
			noSecrets(t, err)
		})
	}
}

// When logstream's own role cannot be assumed, STS's AccessDenied is not the
// customer's bus refusing: retry, do not blame the stream.
func TestCredentialFailureIsRetryable(t *testing.T) {
	rc := newReceiver(t, busEU)
	cfg := testConfig(rc.srv.URL, nil)
	cfg.Credentials = aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{}, &smithy.OperationError{ServiceID: "STS", OperationName: "AssumeRoleWithWebIdentity",
			Err: &smithy.GenericAPIError{Code: "AccessDenied", Message: "Not authorized to perform sts:AssumeRoleWithWebIdentity"}}
	})
	err := New(cfg).Send(context.Background(), busStream(t, busEU, nil), deliver.Batch{Events: sinktest.Corpus(t, 1)})
	if class, _ := deliver.ClassOf(err); err == nil || class != deliver.Retryable {
		t.Fatalf("err = %v (%v), want retryable", err, class)
	}
	if len(rc.requests()) != 0 {
		t.Fatal("an unsigned call was made")
	}
}

func TestNotAnEventBridgeStream(t *testing.T) {
	st := sinktest.Stream(t, destination.S3, map[string]any{"bucket": "logs-bucket", "region": "eu-west-1"})
	err := testSender("http://127.0.0.1:1").Send(context.Background(), st, deliver.Batch{Events: sinktest.Corpus(t, 1)})
	if class, _ := deliver.ClassOf(err); class != deliver.Permanent {
		t.Fatalf("err = %v (%v), want permanent", err, class)
	}
}

// One Sender serves streams in several regions at once.
func TestConcurrentRegions(t *testing.T) {
	rc := newReceiver(t, busEU, busUS)
	s := testSender(rc.srv.URL)
	sts := []stream.Stream{busStream(t, busEU, nil), busStream(t, busUS, nil)}
	evs := sinktest.Corpus(t, 5)
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			if err := s.Send(context.Background(), sts[i%2], deliver.Batch{Events: evs}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	byRegion := map[string]int{}
	for _, r := range rc.requests() {
		byRegion[r.Region]++
		if bus := aws.ToString(r.Entries[0].EventBusName); !strings.Contains(bus, ":"+r.Region+":") {
			t.Errorf("bus %s signed for %s", bus, r.Region)
		}
	}
	if byRegion["eu-west-1"] != 8 || byRegion["us-east-2"] != 8 || len(s.clients) != 2 {
		t.Fatalf("calls by region %v, %d clients", byRegion, len(s.clients))
	}
}

func TestGolden(t *testing.T) {
	evs := sinktest.Corpus(t, 40)
	// One of each vendor shape: Stytch, Okta, Auth0.
	pick := []json.RawMessage{evs[1], evs[2], evs[30]}
	tests := []struct {
		name  string
		extra map[string]any
	}{
		{"putevents-own-detail-type", nil},
		{"putevents-fixed-detail-type", map[string]any{"source": "com.example.auth", "detail_type": "Auth Event"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rc := newReceiver(t, busEU)
			if err := testSender(rc.srv.URL).Send(context.Background(), busStream(t, busEU, tc.extra), deliver.Batch{Events: pick}); err != nil {
				t.Fatal(err)
			}
			reqs := rc.requests()
			if len(reqs) != 1 {
				t.Fatalf("%d calls", len(reqs))
			}
			var pretty bytes.Buffer
			if err := json.Indent(&pretty, reqs[0].Body, "", "  "); err != nil {
				t.Fatal(err)
			}
			pretty.WriteByte('\n')
			sinktest.Golden(t, tc.name, pretty.Bytes())
		})
	}
}

func TestCleanKeepsErrorsShort(t *testing.T) {
	creds := func() (sink.Secrets, error) {
		return sink.NewSecrets(testAccessKey, testSecretKey, testSessionToken), nil
	}
	unreadable := func() (sink.Secrets, error) { return sink.Secrets{}, errors.New("refresh failed") }
	tests := []struct {
		name, in, want string
		secrets        func() (sink.Secrets, error)
	}{
		{"plain", "plain", "plain", creds},
		{"first line only", "first line\nsecond", "first line", creds},
		{"no canonical request", "sig. The Canonical String for this request should have been 'x'", "sig.", creds},
		{"cut on a rune boundary", strings.Repeat("é", 300), strings.Repeat("é", 256) + "…", creds},
		{"token redacted", "token " + testSessionToken + " is invalid", "token [REDACTED] is invalid", creds},
		{"token redacted before the cut", strings.Repeat("x", 500) + testSessionToken, strings.Repeat("x", 500) + "[REDACTED]", creds},
		{"withheld without the credentials", "token " + testSessionToken, sink.Withheld, unreadable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := clean(tc.in, tc.secrets); got != tc.want {
				t.Errorf("clean(%.20q) = %.40q, want %.40q", tc.in, got, tc.want)
			}
		})
	}
}

// A Sender keeps decoded configs by their bytes: a stream whose config
// changed is sent with the new one at once, a config that does not validate
// is refused every time, and the kept configs stay few.
func TestConfigChanges(t *testing.T) {
	rc := newReceiver(t, busEU, busUS)
	s := testSender(rc.srv.URL)
	evs := sinktest.Corpus(t, 1)
	st := busStream(t, busEU, nil)
	bad := st
	bad.DestinationConfig = json.RawMessage(`{"event_bus_arn":"arn:aws:events:eu-west-1:123:event-bus/x"}`)
	for i, sc := range []struct {
		st  stream.Stream
		bus string // "" when the send must be refused
	}{
		{st, busEU},
		{bad, ""},
		{busStream(t, busUS, map[string]any{"source": "com.example.auth"}), busUS},
		{st, busEU},
		{bad, ""},
	} {
		err := s.Send(context.Background(), sc.st, deliver.Batch{Events: evs})
		if sc.bus == "" {
			if class, _ := deliver.ClassOf(err); class != deliver.Permanent {
				t.Fatalf("send %d: err = %v (%v), want permanent", i, err, class)
			}
			continue
		}
		if err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
		reqs := rc.requests()
		if got := aws.ToString(reqs[len(reqs)-1].Entries[0].EventBusName); got != sc.bus {
			t.Fatalf("send %d went to %s, want %s", i, got, sc.bus)
		}
	}
	for i := range 2 * maxConfigs {
		if err := s.Send(context.Background(), busStream(t, busEU, map[string]any{"source": fmt.Sprintf("com.example.s%d", i)}), deliver.Batch{Events: evs}); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(s.configs); n > maxConfigs {
		t.Fatalf("%d configs kept, at most %d wanted", n, maxConfigs)
	}
}
