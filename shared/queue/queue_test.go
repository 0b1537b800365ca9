package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/logstream/logstream/shared/envelope"
)

func makeEvents(n, size int) []json.RawMessage {
	out := make([]json.RawMessage, n)
	for i := range out {
		pad := strings.Repeat("x", max(0, size-30))
		out[i] = json.RawMessage(fmt.Sprintf(`{"event_id":"e%06d","p":"%s"}`, i, pad))
	}
	return out
}

func TestBatches(t *testing.T) {
	small, _ := envelope.Pack("p", "s", makeEvents(25, 10), 200)
	big, _ := envelope.Pack("p", "s", makeEvents(8, 100_000), envelope.MaxMessageBytes)
	for name, msgs := range map[string][]envelope.Message{"many small": small, "few big": big} {
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
	return failOnCall(1, ids, senderFault)
}

// failOnCall fails the given entry ids on the given call and accepts everything else.
func failOnCall(failing int, ids map[string]bool, senderFault bool) func(int, *sqs.SendMessageBatchInput) (*sqs.SendMessageBatchOutput, error) {
	return func(call int, in *sqs.SendMessageBatchInput) (*sqs.SendMessageBatchOutput, error) {
		out := &sqs.SendMessageBatchOutput{}
		for _, e := range in.Entries {
			if call == failing && ids[aws.ToString(e.Id)] {
				out.Failed = append(out.Failed, types.BatchResultErrorEntry{Id: e.Id, Code: aws.String("InternalError"), SenderFault: senderFault})
				continue
			}
			out.Successful = append(out.Successful, types.SendMessageBatchResultEntry{Id: e.Id})
		}
		return out, nil
	}
}

func TestPublish(t *testing.T) {
	msgs, _ := envelope.Pack("p", "s", makeEvents(30, 10), 200)
	noWait := func(int) time.Duration { return 0 }
	tests := []struct {
		name      string
		send      func(int, *sqs.SendMessageBatchInput) (*sqs.SendMessageBatchOutput, error)
		wantErr   bool
		wantSent  int
		wantCalls int
		// wantAccepted are the positions PublishError names as accepted
		// (checked when not nil).
		wantAccepted []int
	}{
		{name: "all accepted", send: failFirst(nil, false), wantCalls: len(Batches(msgs))},
		{name: "failed entries are retried alone", send: failFirst(map[string]bool{"m1": true, "m3": true}, false), wantCalls: len(Batches(msgs)) + 1},
		{name: "sender fault is not retried", send: failFirst(map[string]bool{"m0": true}, true), wantErr: true, wantSent: 9, wantCalls: 1,
			wantAccepted: []int{1, 2, 3, 4, 5, 6, 7, 8, 9}},
		// A retry with an Idempotency-Key skips exactly these, so a refused
		// entry in the middle of a later batch must not be counted as sent.
		{name: "accepted positions span batches", send: failOnCall(2, map[string]bool{"m2": true}, true), wantErr: true, wantSent: 19, wantCalls: 2,
			wantAccepted: []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14, 15, 16, 17, 18, 19}},
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
			if tc.wantAccepted != nil && !slices.Equal(pe.AcceptedMessages(), tc.wantAccepted) {
				t.Errorf("accepted %v, want %v", pe.AcceptedMessages(), tc.wantAccepted)
			}
			if len(pe.Accepted) != pe.Sent {
				t.Errorf("accepted %v, but sent %d", pe.Accepted, pe.Sent)
			}
		})
	}
}

func TestPublishSendsAttributes(t *testing.T) {
	msgs, _ := envelope.Pack("proj_9", "str_9", makeEvents(3, 10), envelope.MaxMessageBytes)
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

// A requeued rest carries its attempts and its delay: whole seconds rounded
// up, and at most SQS's 900 (DelaySeconds), however long the retry delay.
func TestRequeuedMessagesCarryAttemptsAndDelay(t *testing.T) {
	for _, tc := range []struct {
		after time.Duration
		want  int32
	}{{0, 0}, {1500 * time.Millisecond, 2}, {10 * time.Minute, 600}, {time.Hour, 900}} {
		msgs, err := envelope.Requeued{SourceMessageID: "m1", ProjectID: "proj_9", StreamID: "str_9", Events: makeEvents(3, 10),
			Attempts: 3, After: tc.after}.Messages()
		if err != nil || len(msgs) != 1 {
			t.Fatalf("messages: %v (%d)", err, len(msgs))
		}
		var got *types.SendMessageBatchRequestEntry
		f := &fakeSQS{send: func(_ int, in *sqs.SendMessageBatchInput) (*sqs.SendMessageBatchOutput, error) {
			got = &in.Entries[0]
			return failFirst(nil, false)(0, in)
		}}
		if err := (&Publisher{Client: f}).Publish(context.Background(), "q", msgs); err != nil {
			t.Fatal(err)
		}
		if got.DelaySeconds != tc.want || aws.ToString(got.MessageAttributes[envelope.AttrAttempts].StringValue) != "3" ||
			aws.ToString(got.MessageAttributes["stream_id"].StringValue) != "str_9" {
			t.Errorf("after %v: DelaySeconds %d (want %d), attributes %+v", tc.after, got.DelaySeconds, tc.want, got.MessageAttributes)
		}
	}
}
