package queue

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/logstream/logstream/shared/envelope"
)

// fakeRedeliverSQS records the messages Redelivery sends.
type fakeRedeliverSQS struct {
	fakeSQS
}

func (f *fakeRedeliverSQS) ChangeMessageVisibilityBatch(context.Context, *sqs.ChangeMessageVisibilityBatchInput, ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityBatchOutput, error) {
	return &sqs.ChangeMessageVisibilityBatchOutput{}, nil
}

func (f *fakeRedeliverSQS) DeleteMessageBatch(context.Context, *sqs.DeleteMessageBatchInput, ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error) {
	return &sqs.DeleteMessageBatchOutput{}, nil
}

// wire renders what SQS receives for one message, body and attributes in
// name order, so a test can pin it byte for byte.
func wire(e types.SendMessageBatchRequestEntry) string {
	var b strings.Builder
	b.WriteString(aws.ToString(e.MessageBody))
	for _, k := range slices.Sorted(maps.Keys(e.MessageAttributes)) {
		v := e.MessageAttributes[k]
		b.WriteString("\n" + k + " " + aws.ToString(v.DataType) + " " + aws.ToString(v.StringValue))
	}
	return b.String()
}

// TestWireFormat pins the bytes ingestion and delivery exchange over SQS:
// a message in the queue of an older or newer deployment must still be read
// the same way, and a DLQ message redriven by hand must still be delivered.
func TestWireFormat(t *testing.T) {
	evs := []json.RawMessage{json.RawMessage(`{"event_id":"e1","n":1}`), json.RawMessage(`{"event_id":"e2","s":"é\"x"}`)}
	at := time.Date(2026, 11, 24, 10, 0, 0, 123000000, time.UTC)
	const traced = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01 req-7"
	tests := []struct {
		name string
		send func(t *testing.T, c *fakeRedeliverSQS) error
		want string
	}{
		{
			name: "delivery message",
			send: func(t *testing.T, c *fakeRedeliverSQS) error {
				msgs, err := envelope.Pack("proj_1", "str_1", evs, envelope.MaxMessageBytes)
				if err != nil {
					t.Fatal(err)
				}
				return (&Publisher{Client: c}).Publish(context.Background(), "q", msgs)
			},
			want: `{"v":1,"project_id":"proj_1","stream_id":"str_1","events":[{"event_id":"e1","n":1},{"event_id":"e2","s":"é\"x"}]}` +
				"\nevent_count Number 2\nproject_id String proj_1\nstream_id String str_1",
		},
		{
			name: "parked events",
			send: func(t *testing.T, c *fakeRedeliverSQS) error {
				r := &Redelivery{Client: c, DLQURL: "dlq", Now: func() time.Time { return at }}
				return r.Park(context.Background(), envelope.Parked{SourceMessageID: "m-1", ProjectID: "proj_1", StreamID: "str_1",
					Events: evs[1:], Reason: "permanent: 400 bad event", Code: "permanent", ReceiveCount: 3})
			},
			want: `{"v":1,"project_id":"proj_1","stream_id":"str_1","events":[{"event_id":"e2","s":"é\"x"}]}` +
				"\nevent_count Number 1\nlogstream_parked_at String 2026-11-24T10:00:00.123Z\nlogstream_reason String permanent: 400 bad event" +
				"\nlogstream_reason_code String permanent" +
				"\nlogstream_receive_count String 3\nlogstream_source_message_id String m-1\nproject_id String proj_1\nstream_id String str_1",
		},
		{
			name: "traced delivery message",
			send: func(t *testing.T, c *fakeRedeliverSQS) error {
				msgs, err := envelope.Pack("proj_1", "str_1", evs[:1], envelope.MaxMessageBytes-envelope.TraceReserve)
				if err != nil {
					t.Fatal(err)
				}
				msgs[0].Attributes = map[string]string{envelope.AttrTrace: traced}
				return (&Publisher{Client: c}).Publish(context.Background(), "q", msgs)
			},
			want: `{"v":1,"project_id":"proj_1","stream_id":"str_1","events":[{"event_id":"e1","n":1}]}` +
				"\nevent_count Number 1\nlogstream_trace String " + traced + "\nproject_id String proj_1\nstream_id String str_1",
		},
		{
			name: "parked events keep their trace",
			send: func(t *testing.T, c *fakeRedeliverSQS) error {
				r := &Redelivery{Client: c, DLQURL: "dlq", Now: func() time.Time { return at }}
				return r.Park(context.Background(), envelope.Parked{SourceMessageID: "m-1", ProjectID: "proj_1", StreamID: "str_1",
					Events: evs[1:], Reason: "permanent: 400 bad event", Code: "permanent", ReceiveCount: 3, Trace: traced})
			},
			want: `{"v":1,"project_id":"proj_1","stream_id":"str_1","events":[{"event_id":"e2","s":"é\"x"}]}` +
				"\nevent_count Number 1\nlogstream_parked_at String 2026-11-24T10:00:00.123Z\nlogstream_reason String permanent: 400 bad event" +
				"\nlogstream_reason_code String permanent" +
				"\nlogstream_receive_count String 3\nlogstream_source_message_id String m-1" +
				"\nlogstream_trace String " + traced + "\nproject_id String proj_1\nstream_id String str_1",
		},
		{
			name: "parked unreadable body",
			send: func(t *testing.T, c *fakeRedeliverSQS) error {
				r := &Redelivery{Client: c, DLQURL: "dlq", Now: func() time.Time { return at }}
				return r.Park(context.Background(), envelope.Parked{SourceMessageID: "m-2", Body: "not json", Reason: "decode envelope: bad"})
			},
			want: "not json\nlogstream_parked_at String 2026-11-24T10:00:00.123Z\nlogstream_reason String decode envelope: bad" +
				"\nlogstream_receive_count String 1\nlogstream_source_message_id String m-2",
		},
		{
			name: "parked compressed body that could not be read",
			send: func(t *testing.T, c *fakeRedeliverSQS) error {
				r := &Redelivery{Client: c, DLQURL: "dlq", Now: func() time.Time { return at }}
				return r.Park(context.Background(), envelope.Parked{SourceMessageID: "m-3", Body: "bm90IGd6aXA=", Encoding: envelope.EncodingGzip,
					Reason: "undecodable message: decode envelope: body is not gzip", Code: "undecodable", ReceiveCount: 2, Trace: traced})
			},
			want: "bm90IGd6aXA=\nlogstream_encoding String gzip\nlogstream_parked_at String 2026-11-24T10:00:00.123Z" +
				"\nlogstream_reason String undecodable message: decode envelope: body is not gzip\nlogstream_reason_code String undecodable" +
				"\nlogstream_receive_count String 2\nlogstream_source_message_id String m-3\nlogstream_trace String " + traced,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			c := &fakeRedeliverSQS{fakeSQS{send: func(call int, in *sqs.SendMessageBatchInput) (*sqs.SendMessageBatchOutput, error) {
				for _, e := range in.Entries {
					got = append(got, wire(e))
				}
				return failFirst(nil, false)(call, in)
			}}}
			if err := tc.send(t, c); err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got[0] != tc.want {
				t.Errorf("sent\n%s\nwant\n%s", strings.Join(got, "\n--\n"), tc.want)
			}
		})
	}
}

// A compressed delivery message goes out as Compress made it: its body the
// base64 of the gzip of the envelope, AttrEncoding beside the others; it
// reads back to the same envelope. The plain form pinned above (a message of
// an older deployment, or one parked or requeued) still reads too.
func TestCompressedWireFormat(t *testing.T) {
	var evs []json.RawMessage
	for i := range 40 {
		evs = append(evs, json.RawMessage(`{"event_id":"e`+strconv.Itoa(i)+`","type":"user.session.start","outcome":"success"}`))
	}
	plain, err := envelope.Pack("proj_1", "str_1", evs, envelope.MaxMessageBytes-envelope.TraceReserve)
	if err != nil {
		t.Fatal(err)
	}
	plain[0].Attributes = map[string]string{envelope.AttrTrace: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01 req-7"}
	msgs := slices.Clone(plain)
	if err := envelope.CompressAll(msgs); err != nil {
		t.Fatal(err)
	}
	var sent []types.SendMessageBatchRequestEntry
	c := &fakeRedeliverSQS{fakeSQS{send: func(call int, in *sqs.SendMessageBatchInput) (*sqs.SendMessageBatchOutput, error) {
		sent = append(sent, in.Entries...)
		return failFirst(nil, false)(call, in)
	}}}
	if err := (&Publisher{Client: c}).Publish(context.Background(), "q", append(msgs, plain...)); err != nil {
		t.Fatal(err)
	}
	if len(sent) != 2 {
		t.Fatalf("%d messages sent", len(sent))
	}
	wantAttrs := "\nevent_count Number 40\nlogstream_encoding String gzip\nlogstream_trace String " + plain[0].Attributes[envelope.AttrTrace] +
		"\nproject_id String proj_1\nstream_id String str_1"
	if w := wire(sent[0]); !strings.HasSuffix(w, wantAttrs) || strings.Count(w, "\n") != 5 {
		t.Fatalf("sent\n%s\nwant attributes%s", w, wantAttrs)
	}
	for i, e := range sent {
		enc := ""
		if a, ok := e.MessageAttributes[envelope.AttrEncoding]; ok {
			enc = aws.ToString(a.StringValue)
		}
		env, err := envelope.Open(aws.ToString(e.MessageBody), enc)
		if err != nil || len(env.Events) != 40 || string(env.Events[39]) != string(evs[39]) || env.StreamID != "str_1" {
			t.Fatalf("message %d (encoding %q) reads as %+v, %v", i, enc, env, err)
		}
	}
	if len(aws.ToString(sent[0].MessageBody))*3 > len(aws.ToString(sent[1].MessageBody)) {
		t.Fatalf("compressed to %d bytes from %d", len(aws.ToString(sent[0].MessageBody)), len(aws.ToString(sent[1].MessageBody)))
	}
}

// SQS refuses a message with more than 10 attributes. The most a parked
// message carries: its events' project, stream and count, the five parking
// attributes and the trace (9: events are parked plain, without
// AttrEncoding); an unreadable body parked as it came adds its AttrEncoding
// but has no project, stream or count (8).
func TestParkedAttributesWithinSQSLimit(t *testing.T) {
	const sqsMaxAttributes = 10
	evs := []json.RawMessage{json.RawMessage(`{"event_id":"e1"}`)}
	for _, tc := range []struct {
		name string
		p    envelope.Parked
		want int
	}{
		{"events", envelope.Parked{SourceMessageID: "m", ProjectID: "p", StreamID: "s", Events: evs, Reason: "r", Code: "permanent",
			ReceiveCount: 3, Trace: "t", Encoding: envelope.EncodingGzip}, 9},
		{"unreadable compressed body", envelope.Parked{SourceMessageID: "m", Body: "x", Encoding: envelope.EncodingGzip, Reason: "r",
			Code: "undecodable", ReceiveCount: 3, Trace: "t"}, 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msgs, err := tc.p.Messages(time.Unix(0, 0))
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range msgs {
				if n := len(attributes(m)); n != tc.want || n > sqsMaxAttributes {
					t.Fatalf("%d attributes, want %d (SQS allows %d): %v", n, tc.want, sqsMaxAttributes, attributes(m))
				}
			}
		})
	}
}
