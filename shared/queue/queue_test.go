package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

func makeEvents(n, size int) []json.RawMessage {
	out := make([]json.RawMessage, n)
	for i := range out {
		pad := strings.Repeat("x", max(0, size-30))
		out[i] = json.RawMessage(fmt.Sprintf(`{"event_id":"e%06d","p":"%s"}`, i, pad))
	}
	return out
}

func TestPack(t *testing.T) {
	tests := []struct {
		name     string
		n, size  int
		max      int
		wantMsgs int // 0: don't check
	}{
		{"one small event", 1, 50, MaxMessageBytes, 1},
		{"many small events in one message", 1000, 100, MaxMessageBytes, 1},
		{"events spill into several messages", 5000, 200, MaxMessageBytes, 0},
		{"large events", 40, 100_000, MaxMessageBytes, 20},
		{"tiny limit", 10, 50, 400, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			evs := makeEvents(tc.n, tc.size)
			msgs, err := Pack("proj_1", "str_1", evs, tc.max)
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantMsgs > 0 && len(msgs) != tc.wantMsgs {
				t.Errorf("got %d messages, want %d", len(msgs), tc.wantMsgs)
			}
			var got []json.RawMessage
			for i, m := range msgs {
				if m.Size() > tc.max {
					t.Errorf("message %d is %d bytes with attributes, over %d", i, m.Size(), tc.max)
				}
				env, err := DecodeEnvelope(m.Body)
				if err != nil {
					t.Fatalf("message %d: %v", i, err)
				}
				if env.ProjectID != "proj_1" || env.StreamID != "str_1" || len(env.Events) != m.Events {
					t.Errorf("message %d envelope = %+v (count %d)", i, env, m.Events)
				}
				got = append(got, env.Events...)
			}
			if len(got) != len(evs) {
				t.Fatalf("unpacked %d events, packed %d", len(got), len(evs))
			}
			for i := range evs {
				if string(got[i]) != string(evs[i]) {
					t.Fatalf("event %d changed or reordered: %s", i, got[i])
				}
			}
		})
	}
}

func TestPackFillsMessages(t *testing.T) {
	msgs, err := Pack("p", "s", makeEvents(10_000, 500), MaxMessageBytes)
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range msgs[:len(msgs)-1] {
		if m.Size() < MaxMessageBytes-600 {
			t.Errorf("message %d holds only %d bytes: packing wastes space", i, m.Size())
		}
	}
}

func TestPackRefusesOversizeEvent(t *testing.T) {
	_, err := Pack("p", "s", makeEvents(1, MaxMessageBytes), MaxMessageBytes)
	if !errors.Is(err, ErrEventTooLarge) {
		t.Fatalf("err = %v, want ErrEventTooLarge", err)
	}
}

func TestBatches(t *testing.T) {
	small, _ := Pack("p", "s", makeEvents(25, 10), 200)
	big, _ := Pack("p", "s", makeEvents(8, 100_000), MaxMessageBytes)
	for name, msgs := range map[string][]Message{"many small": small, "few big": big} {
		t.Run(name, func(t *testing.T) {
			total := 0
			for _, b := range Batches(msgs) {
				size := 0
				for _, m := range b {
					size += m.Size()
				}
				if len(b) > MaxBatchEntries || size > MaxBatchBytes {
					t.Errorf("batch of %d entries, %d bytes, over SQS limits", len(b), size)
				}
				total += len(b)
			}
			if total != len(msgs) {
				t.Errorf("batched %d of %d messages", total, len(msgs))
			}
		})
	}
}

func TestDecodeEnvelopeErrors(t *testing.T) {
	for name, body := range map[string]string{
		"not json":        `nope`,
		"wrong version":   `{"v":2,"project_id":"p","stream_id":"s","events":[]}`,
		"missing project": `{"v":1,"stream_id":"s","events":[]}`,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := DecodeEnvelope([]byte(body)); err == nil {
				t.Fatal("want an error")
			}
		})
	}
}

// fakeSQS answers SendMessageBatch with a function field.
type fakeSQS struct {
	calls int
	send  func(call int, in *sqs.SendMessageBatchInput) (*sqs.SendMessageBatchOutput, error)
}

func (f *fakeSQS) SendMessageBatch(_ context.Context, in *sqs.SendMessageBatchInput, _ ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	f.calls++
	return f.send(f.calls, in)
}

// failFirst fails the given entry ids on the first call and accepts everything after.
func failFirst(ids map[string]bool, senderFault bool) func(int, *sqs.SendMessageBatchInput) (*sqs.SendMessageBatchOutput, error) {
	return func(call int, in *sqs.SendMessageBatchInput) (*sqs.SendMessageBatchOutput, error) {
		out := &sqs.SendMessageBatchOutput{}
		for _, e := range in.Entries {
			if call == 1 && ids[aws.ToString(e.Id)] {
				out.Failed = append(out.Failed, types.BatchResultErrorEntry{Id: e.Id, Code: aws.String("InternalError"), SenderFault: senderFault})
				continue
			}
			out.Successful = append(out.Successful, types.SendMessageBatchResultEntry{Id: e.Id})
		}
		return out, nil
	}
}

func TestPublish(t *testing.T) {
	msgs, _ := Pack("p", "s", makeEvents(30, 10), 200)
	noWait := func(int) time.Duration { return 0 }
	tests := []struct {
		name      string
		send      func(int, *sqs.SendMessageBatchInput) (*sqs.SendMessageBatchOutput, error)
		wantErr   bool
		wantSent  int
		wantCalls int
	}{
		{name: "all accepted", send: failFirst(nil, false), wantCalls: len(Batches(msgs))},
		{name: "failed entries are retried alone", send: failFirst(map[string]bool{"m1": true, "m3": true}, false), wantCalls: len(Batches(msgs)) + 1},
		{name: "sender fault is not retried", send: failFirst(map[string]bool{"m0": true}, true), wantErr: true, wantSent: 9, wantCalls: 1},
		{name: "call errors exhaust attempts", send: func(int, *sqs.SendMessageBatchInput) (*sqs.SendMessageBatchOutput, error) {
			return nil, errors.New("connection refused")
		}, wantErr: true, wantSent: 0, wantCalls: 3},
		{name: "entries never reported", send: func(int, *sqs.SendMessageBatchInput) (*sqs.SendMessageBatchOutput, error) {
			return &sqs.SendMessageBatchOutput{}, nil
		}, wantErr: true, wantCalls: 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeSQS{send: tc.send}
			p := &Publisher{Client: f, MaxAttempts: 3, Backoff: noWait}
			err := p.Publish(context.Background(), "https://sqs/q", msgs)
			if f.calls != tc.wantCalls {
				t.Errorf("calls = %d, want %d", f.calls, tc.wantCalls)
			}
			if !tc.wantErr {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				return
			}
			var pe *PublishError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want *PublishError", err)
			}
			if pe.Sent != tc.wantSent || pe.Sent+pe.Failed != len(msgs) {
				t.Errorf("sent %d failed %d, want sent %d of %d", pe.Sent, pe.Failed, tc.wantSent, len(msgs))
			}
		})
	}
}

func TestPublishSendsAttributes(t *testing.T) {
	msgs, _ := Pack("proj_9", "str_9", makeEvents(3, 10), MaxMessageBytes)
	var got map[string]types.MessageAttributeValue
	f := &fakeSQS{send: func(_ int, in *sqs.SendMessageBatchInput) (*sqs.SendMessageBatchOutput, error) {
		got = in.Entries[0].MessageAttributes
		return failFirst(nil, false)(0, in)
	}}
	if err := (&Publisher{Client: f}).Publish(context.Background(), "q", msgs); err != nil {
		t.Fatal(err)
	}
	if aws.ToString(got["project_id"].StringValue) != "proj_9" || aws.ToString(got["stream_id"].StringValue) != "str_9" ||
		aws.ToString(got["event_count"].StringValue) != "3" {
		t.Fatalf("attributes = %+v", got)
	}
}

func FuzzDecodeEnvelope(f *testing.F) {
	msgs, _ := Pack("p", "s", makeEvents(3, 10), MaxMessageBytes)
	f.Add(msgs[0].Body)
	f.Add([]byte(`{"v":1}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		env, err := DecodeEnvelope(body)
		if err != nil {
			return
		}
		if env.ProjectID == "" || env.StreamID == "" || env.V != EnvelopeVersion {
			t.Fatalf("accepted an invalid envelope: %+v", env)
		}
	})
}
