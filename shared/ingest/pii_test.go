package ingest

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/logstream/logstream/shared/envelope"
	"github.com/logstream/logstream/shared/logevent"
	"github.com/logstream/logstream/shared/pii"
	"github.com/logstream/logstream/shared/stream"
)

type fakeKeys struct {
	calls int
	err   error
}

func (f *fakeKeys) StreamKey(_ context.Context, _, streamID string) ([]byte, error) {
	f.calls++
	return []byte("key-of-" + streamID + "-padded-to-32-bytes"), f.err
}

// A masked field's plaintext is never queued for the stream that masks it,
// events of every vendor in events/auth included, while a stream without
// rules gets the events as they came; lifecycle events are masked too.
func TestMaskedBeforeQueued(t *testing.T) {
	rules := &stream.PII{Fields: []stream.PIIField{
		{Field: "actor.alternateId", Action: stream.PIIHash},
		{Field: "client.ipAddress", Action: stream.PIITruncateIP},
		{Field: "request.ipChain.ip", Action: stream.PIITruncateIP},
		{Field: "user_name", Action: stream.PIIRedact},
		{Field: "ip", Action: stream.PIITruncateIP},
		{Field: "member_email", Action: stream.PIIHash},
		{Field: "ip_address", Action: stream.PIIRedact},
		{Field: "stream_name", Action: stream.PIIRedact},
	}}
	st := &fakeStreams{active: func(string) ([]stream.Stream, error) {
		return []stream.Stream{
			{ID: "str_plain", DestinationType: "http"},
			{ID: "str_masked", DestinationType: "http", PII: rules},
		}, nil
	}}
	pub := &fakePublisher{}
	keys := &fakeKeys{}
	svc := newService(st, pub)
	svc.CacheTTL, svc.Keys = time.Hour, keys
	plaintexts := []string{"alice.nguyen@example.com", "198.51.100.23", `"stream_name":"billing`}
	for _, f := range []string{"okta.json", "auth0.json", "stytch.json"} {
		body, err := os.ReadFile("../../events/auth/" + f)
		if err != nil {
			t.Fatal(err)
		}
		evs, err := logevent.Parse(body, logevent.FormatSniff, logevent.DefaultLimits, logevent.Stamper{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Ingest(context.Background(), "proj_demo", evs); err != nil {
			t.Fatal(err)
		}
	}
	life := logevent.Event{ID: "1", Raw: []byte(`{"event_id":"1","type":"logstream.stream.updated","stream_name":"billing"}`)}
	if err := svc.Emit(context.Background(), "proj_demo", []logevent.Event{life}); err != nil {
		t.Fatal(err)
	}
	var plain, masked bytes.Buffer
	for _, msgs := range pub.byQueue {
		for _, m := range msgs {
			env, err := envelope.Open(string(m.Body), m.Attributes[envelope.AttrEncoding])
			if err != nil {
				t.Fatal(err)
			}
			buf := &plain
			if env.StreamID == "str_masked" {
				buf = &masked
			}
			for _, raw := range env.Events {
				buf.Write(raw)
			}
		}
	}
	for _, p := range plaintexts {
		if !strings.Contains(plain.String(), p) {
			t.Errorf("the stream without rules did not get %q", p)
		}
		if strings.Contains(masked.String(), p) {
			t.Errorf("plaintext %q was queued for the masking stream", p)
		}
	}
	if !strings.Contains(masked.String(), "198.51.100.0") || !strings.Contains(masked.String(), "[REDACTED]") {
		t.Error("the masked stream's events do not show their masks")
	}
	if keys.calls != 1 {
		t.Errorf("the key was derived %d times, want once per stream per cache fill", keys.calls)
	}
}

// A stream whose hash key cannot be derived fails the request: nothing is
// queued in plaintext, and the sender retries.
func TestMaskKeyFailureFailsClosed(t *testing.T) {
	st := &fakeStreams{active: func(string) ([]stream.Stream, error) {
		return []stream.Stream{{ID: "str_h", DestinationType: "http",
			PII: &stream.PII{Fields: []stream.PIIField{{Field: "email", Action: stream.PIIHash}}}}}, nil
	}}
	for name, keys := range map[string]pii.Keys{"no key": nil, "KMS fails": &fakeKeys{err: errors.New("throttled")}} {
		t.Run(name, func(t *testing.T) {
			pub := &fakePublisher{}
			svc := newService(st, pub)
			svc.Keys = keys
			evs, err := logevent.Parse([]byte(`{"email":"a@example.com"}`), logevent.FormatNDJSON, logevent.DefaultLimits, logevent.Stamper{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := svc.Ingest(context.Background(), "proj_demo", evs); err == nil {
				t.Error("Ingest succeeded without the stream's key")
			}
			if len(pub.byQueue) != 0 {
				t.Errorf("queued %v", pub.byQueue)
			}
		})
	}
}
