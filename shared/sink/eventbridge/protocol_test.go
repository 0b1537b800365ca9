package eventbridge

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/logstream/logstream/shared/destination"
	"github.com/logstream/logstream/shared/sink/sinktest"
)

// capture answers every call with answer (status 200 unless set) and keeps
// the last request's body and headers.
type capture struct {
	status int
	answer string
	body   []byte
	header http.Header
	method string
	path   string
}

func (c *capture) RoundTrip(r *http.Request) (*http.Response, error) {
	c.body, _ = io.ReadAll(r.Body)
	r.Body.Close()
	c.header = r.Header.Clone()
	c.method, c.path = r.Method, r.URL.Path
	status := c.status
	if status == 0 {
		status = 200
	}
	return &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"application/x-amz-json-1.1"}},
		Body: io.NopCloser(strings.NewReader(c.answer)), ContentLength: int64(len(c.answer)), Request: r}, nil
}

// call makes one PutEvents call through a client with the SDK's own
// protocol (ours false) or with putEventsProtocol, as Sender's clients are.
func call(t testing.TB, ours bool, in *eventbridge.PutEventsInput, rt *capture) (*eventbridge.PutEventsOutput, error) {
	t.Helper()
	client := eventbridge.NewFromConfig(testConfig("http://eventbridge.invalid", &http.Client{Transport: rt}), func(o *eventbridge.Options) {
		o.Region = "eu-west-1"
		if ours {
			o.Protocol = putEventsProtocol{o.Protocol}
		}
	})
	return client.PutEvents(context.Background(), in)
}

// decoded is a JSON body as encoding/json reads it, numbers exact.
func decoded(t testing.TB, body []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("body is not JSON: %v: %s", err, body)
	}
	return v
}

// sameBody: the SDK's protocol and ours send the same request (method,
// target and content type, and a body that decodes to the same value).
func sameBody(t testing.TB, in *eventbridge.PutEventsInput) {
	t.Helper()
	sdk, ours := &capture{answer: `{}`}, &capture{answer: `{}`}
	if _, err := call(t, false, in, sdk); err != nil {
		t.Fatal(err)
	}
	if _, err := call(t, true, in, ours); err != nil {
		t.Fatal(err)
	}
	// Every header but those that differ by call (the signature, its
	// time, the request's ids, the body's length).
	for h := range sdk.header {
		switch h {
		case "Authorization", "X-Amz-Date", "Amz-Sdk-Invocation-Id", "Amz-Sdk-Request", "Content-Length", "User-Agent", "X-Amz-User-Agent":
			continue
		}
		if sdk.header.Get(h) != ours.header.Get(h) {
			t.Fatalf("%s: ours %q, the SDK's %q", h, ours.header.Get(h), sdk.header.Get(h))
		}
	}
	if ours.method != sdk.method || ours.path != sdk.path {
		t.Fatalf("%s %s, the SDK's %s %s", ours.method, ours.path, sdk.method, sdk.path)
	}
	if len(ours.header) != len(sdk.header) {
		t.Fatalf("headers: ours %v, the SDK's %v", ours.header, sdk.header)
	}
	if got, want := decoded(t, ours.body), decoded(t, sdk.body); !reflect.DeepEqual(got, want) {
		t.Fatalf("body differs from the SDK's:\n ours %s\n sdk  %s", ours.body, sdk.body)
	}
}

func TestPutEventsBodyMatchesTheSDK(t *testing.T) {
	ts := time.Date(2026, 11, 24, 10, 0, 0, 123_456_789, time.UTC)
	old := time.Date(1969, 12, 31, 23, 59, 59, 500_000_000, time.UTC)
	full := types.PutEventsRequestEntry{
		Detail: aws.String(`{"a":"quote \" back \\ ctl \u0001 \u2028 é ☃ 😀 <&>","n":1}`), DetailType: aws.String("user.login"),
		EventBusName: aws.String(busEU), Resources: []string{"arn:aws:x:::a", "b\"c"}, Source: aws.String("logstream"),
		Time: &ts, TraceHeader: aws.String("Root=1-5759e988-bd862e3fe1be46a994272793"),
	}
	for name, in := range map[string]*eventbridge.PutEventsInput{
		"every member": {Entries: []types.PutEventsRequestEntry{full}, EndpointId: aws.String("abcde.veo")},
		"ten entries":  {Entries: []types.PutEventsRequestEntry{full, full, full, full, full, full, full, full, full, full}},
		"few members":  {Entries: []types.PutEventsRequestEntry{{Detail: aws.String(`{}`), Source: aws.String("s")}}},
		"no members":   {Entries: []types.PutEventsRequestEntry{{}}},
		"empty resources and strings": {Entries: []types.PutEventsRequestEntry{{Resources: []string{}, Detail: aws.String(""),
			DetailType: aws.String(""), Time: &old}}},
		"invalid UTF-8": {Entries: []types.PutEventsRequestEntry{{Detail: aws.String("{\"a\":\"\xff\xfe\"}"), DetailType: aws.String("\xc3")}}},
	} {
		t.Run(name, func(t *testing.T) { sameBody(t, in) })
	}
	// And the entries Send makes of the corpus, as they are sent.
	cfg := &destination.EventBridgeConfig{EventBusARN: busEU, Region: "eu-west-1", Source: "logstream"}
	for _, batch := range batches(sinktest.Corpus(t, 50)) {
		sameBody(t, &eventbridge.PutEventsInput{Entries: encode(cfg, batch).entries})
	}
}

// FuzzPutEventsBody holds the body to the SDK's serialization of any
// strings and times.
func FuzzPutEventsBody(f *testing.F) {
	f.Add(`{"a":1}`, "t", "src", int64(1_764_000_000_123_456_789), "r")
	f.Add("\"\\\u0000\x7f\u2028", "\xff", "", int64(-1), "")
	f.Fuzz(func(t *testing.T, detail, detailType, source string, ns int64, resource string) {
		ts := time.Unix(0, ns).UTC()
		sameBody(t, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{
			Detail: &detail, DetailType: &detailType, Source: &source, Time: &ts, Resources: []string{resource},
		}}})
	})
}

// TestPutEventsOutput: putEventsProtocol reads every answer as the SDK's
// protocol does, and refuses the same malformed ones.
var outputAnswers = []string{
	acceptedBody,
	`{"FailedEntryCount":1,"Entries":[{"EventId":"a"},{"ErrorCode":"InternalFailure","ErrorMessage":"an \"escaped\" message \u00e9"}]}`,
	`{"Entries":[null,{"EventId":null,"ErrorCode":"X","Unknown":{"nested":[1,2]}}],"FailedEntryCount":null,"More":true}`,
	` { "FailedEntryCount" : 0 , "Entries" : [ ] } `,
	`{}`, ``, `{"Entries":null}`,
	`{"Entries":[{"EventId":"a","EventId":"b"},{"ErrorCode":"c"},{"ErrorMessage":"d"},{"EventId":"e"},{"EventId":"f"},{"EventId":"g"},{"EventId":"h"},{"EventId":"i"},{"EventId":"j"},{"EventId":"k"},{"EventId":"l"}]}`,
}

func TestPutEventsOutput(t *testing.T) {
	for _, answer := range outputAnswers {
		t.Run(answer, func(t *testing.T) { checkOutput(t, answer) })
	}
	in := &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{Detail: aws.String(`{}`), Source: aws.String("s")}}}
	// Malformed answers are errors with both.
	for _, answer := range []string{`{"Entries":[{"EventId":1}]}`, `{"FailedEntryCount":"1"}`, `{"Entries":{}}`, `[]`, `{"Entries":[}`, `{`} {
		if _, err := call(t, true, in, &capture{answer: answer}); err == nil {
			t.Errorf("%s: read without an error", answer)
		}
	}
	// Error answers keep the SDK's codes.
	_, err := call(t, true, in, &capture{status: 400, answer: `{"__type":"ValidationException","message":"bad"}`})
	if err == nil || !strings.Contains(err.Error(), "ValidationException") {
		t.Fatalf("error answer: %v", err)
	}
}

// FuzzPutEventsOutput holds our reading of any 200 answer to the SDK's
// deserializer: the same entries (their strings now views of the answer),
// or an error from both.
func FuzzPutEventsOutput(f *testing.F) {
	for _, a := range outputAnswers {
		f.Add(a)
	}
	f.Fuzz(checkOutput)
}

func checkOutput(t *testing.T, answer string) {
	in := &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{Detail: aws.String(`{}`), Source: aws.String("s")}}}
	want, werr := call(t, false, in, &capture{answer: answer})
	got, gerr := call(t, true, in, &capture{answer: answer})
	if strings.TrimSpace(answer) != "" && !json.Valid([]byte(answer)) {
		// The SDK's decoder reads the first JSON value and ignores what
		// follows ("{}0", "{} x"); ours refuses an answer that is not one
		// JSON value, so a garbled 200 is retried, not taken as delivered.
		if gerr == nil {
			t.Fatalf("answer %q: read %+v without an error", answer, got)
		}
		return
	}
	if (werr == nil) != (gerr == nil) {
		t.Fatalf("answer %q: error %v; the SDK's %v", answer, gerr, werr)
	}
	if werr != nil {
		return
	}
	if got.FailedEntryCount != want.FailedEntryCount || !reflect.DeepEqual(got.Entries, want.Entries) {
		t.Fatalf("answer %q: read %+v, the SDK reads %+v", answer, got, want)
	}
}
