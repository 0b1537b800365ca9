package queue

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// fakeDeleter answers DeleteMessageBatch calls with the function given,
// recording each call's handles.
type fakeDeleter struct {
	calls  [][]string
	answer func(call int, in *sqs.DeleteMessageBatchInput) (*sqs.DeleteMessageBatchOutput, error)
}

func (f *fakeDeleter) DeleteMessageBatch(_ context.Context, in *sqs.DeleteMessageBatchInput, _ ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error) {
	var hs []string
	for _, e := range in.Entries {
		hs = append(hs, aws.ToString(e.ReceiptHandle))
	}
	f.calls = append(f.calls, hs)
	if f.answer == nil {
		return &sqs.DeleteMessageBatchOutput{}, nil
	}
	return f.answer(len(f.calls)-1, in)
}

func TestDeleteBatch(t *testing.T) {
	handles := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("rh-%d", i)
		}
		return out
	}
	for _, tc := range []struct {
		name    string
		handles int
		answer  func(int, *sqs.DeleteMessageBatchInput) (*sqs.DeleteMessageBatchOutput, error)
		calls   []int    // entries per call
		errs    []string // in the joined error, in order
	}{
		{name: "none", handles: 0},
		{name: "one batch", handles: 10, calls: []int{10}},
		{name: "batches of ten", handles: 23, calls: []int{10, 10, 3}},
		{name: "a failed call does not stop the next", handles: 21, calls: []int{10, 10, 1},
			answer: func(call int, _ *sqs.DeleteMessageBatchInput) (*sqs.DeleteMessageBatchOutput, error) {
				if call == 0 {
					return nil, errors.New("throttled")
				}
				return &sqs.DeleteMessageBatchOutput{}, nil
			},
			errs: []string{"DeleteMessageBatch: throttled"}},
		{name: "refused entries are each an error", handles: 12, calls: []int{10, 2},
			answer: func(call int, _ *sqs.DeleteMessageBatchInput) (*sqs.DeleteMessageBatchOutput, error) {
				return &sqs.DeleteMessageBatchOutput{Failed: []types.BatchResultErrorEntry{
					{Id: aws.String("1"), Code: aws.String("ReceiptHandleIsInvalid"), Message: aws.String("bad handle")}}}, nil
			},
			errs: []string{"DeleteMessageBatch entry 1: ReceiptHandleIsInvalid: bad handle", "DeleteMessageBatch entry 1: ReceiptHandleIsInvalid: bad handle"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeDeleter{answer: tc.answer}
			hs := handles(tc.handles)
			err := DeleteBatch(context.Background(), f, "https://sqs.example/q", hs)
			if len(f.calls) != len(tc.calls) {
				t.Fatalf("%d calls, want %d", len(f.calls), len(tc.calls))
			}
			var sent []string
			for i, c := range f.calls {
				if len(c) != tc.calls[i] {
					t.Errorf("call %d had %d entries, want %d", i, len(c), tc.calls[i])
				}
				sent = append(sent, c...)
			}
			if strings.Join(sent, ",") != strings.Join(hs, ",") {
				t.Errorf("deleted %v, want %v", sent, hs)
			}
			if got, want := errText(err), strings.Join(tc.errs, "\n"); got != want {
				t.Errorf("error %q, want %q", got, want)
			}
		})
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
