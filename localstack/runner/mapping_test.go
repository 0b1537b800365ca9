package runner

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/logstream/logstream/shared/topology"
)

// TestPartialBatchResponse pins Lambda's documented success and failure
// conditions for ReportBatchItemFailures.
func TestPartialBatchResponse(t *testing.T) {
	batch := []sqstypes.Message{{MessageId: aws.String("m1")}, {MessageId: aws.String("m2")}}
	tests := []struct {
		name       string
		report     bool
		output     string
		wantFailed map[string]bool
		wantErr    bool // the whole batch failed
	}{
		{name: "empty batchItemFailures list", report: true, output: `{"batchItemFailures":[]}`},
		{name: "null batchItemFailures list", report: true, output: `{"batchItemFailures":null}`},
		{name: "empty response object", report: true, output: `{}`},
		{name: "null response", report: true, output: `null`},
		{name: "one failed item", report: true, output: `{"batchItemFailures":[{"itemIdentifier":"m2"}]}`, wantFailed: map[string]bool{"m2": true}},
		{name: "every item failed", report: true, output: `{"batchItemFailures":[{"itemIdentifier":"m1"},{"itemIdentifier":"m2"}]}`, wantFailed: map[string]bool{"m1": true, "m2": true}},
		{name: "empty itemIdentifier", report: true, output: `{"batchItemFailures":[{"itemIdentifier":""}]}`, wantErr: true},
		{name: "null itemIdentifier", report: true, output: `{"batchItemFailures":[{"itemIdentifier":null}]}`, wantErr: true},
		{name: "itemIdentifier under a bad key name", report: true, output: `{"batchItemFailures":[{"messageId":"m1"}]}`, wantErr: true},
		{name: "unknown message ID", report: true, output: `{"batchItemFailures":[{"itemIdentifier":"nope"}]}`, wantErr: true},
		{name: "invalid JSON", report: true, output: `{"batchItemFailures":`, wantErr: true},
		{name: "response ignored without ReportBatchItemFailures", report: false, output: `{"batchItemFailures":[{"itemIdentifier":"m1"}]}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := &mapping{source: topology.EventSource{ReportBatchItemFailures: tc.report}}
			failed, err := m.failures([]byte(tc.output), batch)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want whole-batch failure %v", err, tc.wantErr)
			}
			if len(failed) != len(tc.wantFailed) {
				t.Fatalf("failed = %v, want %v", failed, tc.wantFailed)
			}
			for id := range tc.wantFailed {
				if !failed[id] {
					t.Errorf("%s not reported failed", id)
				}
			}
		})
	}
}

func TestSQSEvent(t *testing.T) {
	m := &mapping{region: "eu-west-1", queue: QueueResources{ARN: "arn:aws:sqs:eu-west-1:000000000000:q"}}
	ev := m.event([]sqstypes.Message{{
		MessageId:              aws.String("m1"),
		ReceiptHandle:          aws.String("rh"),
		Body:                   aws.String("hello"),
		MD5OfBody:              aws.String("5d41402abc4b2a76b9719d911017c592"),
		MD5OfMessageAttributes: aws.String("abc"),
		Attributes:             map[string]string{"ApproximateReceiveCount": "2", "SentTimestamp": "1"},
		MessageAttributes: map[string]sqstypes.MessageAttributeValue{
			"stream": {DataType: aws.String("String"), StringValue: aws.String("s1")},
		},
	}})
	if len(ev.Records) != 1 {
		t.Fatalf("records = %d", len(ev.Records))
	}
	r := ev.Records[0]
	eq(t, "messageId", r.MessageId, "m1")
	eq(t, "receiptHandle", r.ReceiptHandle, "rh")
	eq(t, "body", r.Body, "hello")
	eq(t, "md5OfBody", r.Md5OfBody, "5d41402abc4b2a76b9719d911017c592")
	eq(t, "md5OfMessageAttributes", r.Md5OfMessageAttributes, "abc")
	eq(t, "attributes", r.Attributes, map[string]string{"ApproximateReceiveCount": "2", "SentTimestamp": "1"})
	eq(t, "eventSource", r.EventSource, "aws:sqs")
	eq(t, "eventSourceARN", r.EventSourceARN, "arn:aws:sqs:eu-west-1:000000000000:q")
	eq(t, "awsRegion", r.AWSRegion, "eu-west-1")
	a := r.MessageAttributes["stream"]
	eq(t, "dataType", a.DataType, "String")
	eq(t, "stringValue", aws.ToString(a.StringValue), "s1")
	// Lambda sends empty lists, not null.
	eq(t, "stringListValues", a.StringListValues, []string{})
	eq(t, "binaryListValues", a.BinaryListValues, [][]byte{})
}
