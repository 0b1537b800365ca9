package queue

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// DeleteBatchAPI is the part of the SQS client DeleteBatch uses.
type DeleteBatchAPI interface {
	DeleteMessageBatch(ctx context.Context, in *sqs.DeleteMessageBatchInput, optFns ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error)
}

// DeleteBatch deletes received messages of the queue at url by their
// receipt handles, MaxBatchEntries per DeleteMessageBatch call (SQS's
// limit). Every call is made, whatever the one before answered: a failed
// call and each entry SQS refused are errors, joined.
func DeleteBatch(ctx context.Context, client DeleteBatchAPI, url string, handles []string) error {
	var errs []error
	for start := 0; start < len(handles); start += MaxBatchEntries {
		in := &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(url)}
		for i, h := range handles[start:min(start+MaxBatchEntries, len(handles))] {
			in.Entries = append(in.Entries, types.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: aws.String(h)})
		}
		out, err := client.DeleteMessageBatch(ctx, in)
		if err != nil {
			errs = append(errs, fmt.Errorf("DeleteMessageBatch: %w", err))
			continue
		}
		for _, f := range out.Failed {
			errs = append(errs, fmt.Errorf("DeleteMessageBatch entry %s: %s: %s", aws.ToString(f.Id), aws.ToString(f.Code), aws.ToString(f.Message)))
		}
	}
	return errors.Join(errs...)
}
