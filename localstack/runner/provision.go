package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/logstream/logstream/shared/topology"
)

// Resources are the provisioned names, URLs and ARNs the functions' environment
// refers to.
type Resources struct {
	Region    string
	AccountID string // as reported in the queues' ARNs
	Table     string
	Queues    map[string]QueueResources // by destination type
	// ArchiveBucket is the Loki bridge's bucket.
	ArchiveBucket string
	// EventArchiveBucket is the event archive's bucket (shared/archive).
	EventArchiveBucket string
}

// QueueResources is one destination's delivery queue and its dead-letter queue.
type QueueResources struct {
	Destination string
	Name        string
	URL         string
	ARN         string
	DLQName     string
	DLQURL      string
	DLQARN      string
}

// tableActiveTimeout bounds the wait for a new table: dynalite keeps a table
// CREATING for about half a second, DynamoDB for a few seconds.
const tableActiveTimeout = 30 * time.Second

// Provision creates the spec's table and queues, or accepts them when they
// already exist, and returns their names, URLs and ARNs. It is idempotent: an
// existing table must have the spec's key schema; existing queues get the
// spec's attributes (SetQueueAttributes), so a changed spec converges.
func Provision(ctx context.Context, cfg aws.Config, spec topology.Spec) (Resources, error) {
	if err := spec.Validate(); err != nil {
		return Resources{}, err
	}
	res := Resources{Region: cfg.Region, Table: spec.Table.Name, Queues: map[string]QueueResources{}}
	if err := provisionTable(ctx, dynamodb.NewFromConfig(cfg), spec.Table); err != nil {
		return Resources{}, err
	}
	// The S3 stand-in has no bucket host names: address buckets in the path.
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	for _, b := range []string{spec.ArchiveBucket, spec.EventArchiveBucket} {
		if err := provisionBucket(ctx, s3c, b); err != nil {
			return Resources{}, err
		}
	}
	res.ArchiveBucket, res.EventArchiveBucket = spec.ArchiveBucket, spec.EventArchiveBucket
	client := sqs.NewFromConfig(cfg)
	for _, q := range spec.Queues {
		qr, err := provisionQueue(ctx, client, q)
		if err != nil {
			return Resources{}, err
		}
		res.Queues[q.Destination] = qr
		if res.AccountID == "" {
			res.AccountID = arnAccount(qr.ARN)
		}
	}
	return res, nil
}

// provisionBucket creates the bucket, or accepts it when it is already ours.
func provisionBucket(ctx context.Context, client *s3.Client, name string) error {
	_, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)})
	var owned *s3types.BucketAlreadyOwnedByYou
	if err != nil && !errors.As(err, &owned) {
		if _, herr := client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(name)}); herr == nil {
			return nil // exists, and we can reach it
		}
		return fmt.Errorf("create bucket %s: %w", name, err)
	}
	return nil
}

func provisionTable(ctx context.Context, client *dynamodb.Client, t topology.Table) error {
	_, err := client.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName: aws.String(t.Name),
		AttributeDefinitions: []ddbtypes.AttributeDefinition{
			{AttributeName: aws.String(t.PartitionKey), AttributeType: ddbtypes.ScalarAttributeTypeS},
			{AttributeName: aws.String(t.SortKey), AttributeType: ddbtypes.ScalarAttributeTypeS},
		},
		KeySchema: []ddbtypes.KeySchemaElement{
			{AttributeName: aws.String(t.PartitionKey), KeyType: ddbtypes.KeyTypeHash},
			{AttributeName: aws.String(t.SortKey), KeyType: ddbtypes.KeyTypeRange},
		},
		BillingMode: ddbtypes.BillingModePayPerRequest,
	})
	var inUse *ddbtypes.ResourceInUseException
	switch {
	case err == nil:
	case errors.As(err, &inUse):
		// Exists already (or is being created by a concurrent Provision).
	default:
		return fmt.Errorf("create table %s: %w", t.Name, err)
	}
	// Items can be written only once the table is ACTIVE.
	waiter := dynamodb.NewTableExistsWaiter(client, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay = 100 * time.Millisecond
		o.MaxDelay = time.Second
	})
	out, err := waiter.WaitForOutput(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(t.Name)}, tableActiveTimeout)
	if err != nil {
		return fmt.Errorf("wait for table %s to become ACTIVE: %w", t.Name, err)
	}
	// An existing table with another key schema would make every item write
	// fail later with a confusing ValidationException; say it now.
	want := map[string]ddbtypes.KeyType{t.PartitionKey: ddbtypes.KeyTypeHash, t.SortKey: ddbtypes.KeyTypeRange}
	got := map[string]ddbtypes.KeyType{}
	for _, k := range out.Table.KeySchema {
		got[aws.ToString(k.AttributeName)] = k.KeyType
	}
	if len(got) != len(want) || got[t.PartitionKey] != ddbtypes.KeyTypeHash || got[t.SortKey] != ddbtypes.KeyTypeRange {
		return fmt.Errorf("table %s exists with key schema %v, want %v: delete it or use another prefix", t.Name, got, want)
	}
	return nil
}

func provisionQueue(ctx context.Context, client *sqs.Client, q topology.Queue) (QueueResources, error) {
	qr := QueueResources{Destination: q.Destination, Name: q.Name, DLQName: q.DLQName}
	var err error
	qr.DLQURL, qr.DLQARN, err = ensureQueue(ctx, client, q.DLQName, map[string]string{
		string(sqstypes.QueueAttributeNameMessageRetentionPeriod): seconds(q.DLQRetention),
	})
	if err != nil {
		return QueueResources{}, err
	}
	redrive, err := json.Marshal(redrivePolicy{DeadLetterTargetArn: qr.DLQARN, MaxReceiveCount: json.Number(strconv.Itoa(q.MaxReceiveCount))})
	if err != nil {
		return QueueResources{}, err
	}
	qr.URL, qr.ARN, err = ensureQueue(ctx, client, q.Name, map[string]string{
		string(sqstypes.QueueAttributeNameVisibilityTimeout):      seconds(q.VisibilityTimeout),
		string(sqstypes.QueueAttributeNameMessageRetentionPeriod): seconds(q.Retention),
		string(sqstypes.QueueAttributeNameRedrivePolicy):          string(redrive),
	})
	if err != nil {
		return QueueResources{}, err
	}
	return qr, nil
}

// ensureQueue creates a queue or, when one with that name exists with other
// attributes (SQS answers QueueNameExists), sets the wanted attributes on it.
func ensureQueue(ctx context.Context, client *sqs.Client, name string, attrs map[string]string) (url, arn string, _ error) {
	out, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
	var exists *sqstypes.QueueNameExists
	switch {
	case err == nil:
		url = aws.ToString(out.QueueUrl)
	case errors.As(err, &exists):
		got, err := client.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(name)})
		if err != nil {
			return "", "", fmt.Errorf("get url of existing queue %s: %w", name, err)
		}
		url = aws.ToString(got.QueueUrl)
		if _, err := client.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: got.QueueUrl, Attributes: attrs}); err != nil {
			return "", "", fmt.Errorf("update attributes of existing queue %s: %w", name, err)
		}
	default:
		return "", "", fmt.Errorf("create queue %s: %w", name, err)
	}
	ga, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(url),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn},
	})
	if err != nil {
		return "", "", fmt.Errorf("get ARN of queue %s: %w", name, err)
	}
	arn = ga.Attributes[string(sqstypes.QueueAttributeNameQueueArn)]
	if arn == "" {
		return "", "", fmt.Errorf("queue %s has no QueueArn attribute", name)
	}
	return url, arn, nil
}

// redrivePolicy is SQS's RedrivePolicy attribute. maxReceiveCount is a string
// in AWS's examples and a number in some SDKs' output; SQS accepts both, so
// reading must too.
type redrivePolicy struct {
	DeadLetterTargetArn string      `json:"deadLetterTargetArn"`
	MaxReceiveCount     json.Number `json:"maxReceiveCount"`
}

func (p *redrivePolicy) UnmarshalJSON(b []byte) error {
	var raw struct {
		DeadLetterTargetArn string          `json:"deadLetterTargetArn"`
		MaxReceiveCount     json.RawMessage `json:"maxReceiveCount"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	p.DeadLetterTargetArn = raw.DeadLetterTargetArn
	n := strings.Trim(string(raw.MaxReceiveCount), `"`)
	if _, err := strconv.Atoi(n); err != nil {
		return fmt.Errorf("redrive policy maxReceiveCount %s is not an integer", raw.MaxReceiveCount)
	}
	p.MaxReceiveCount = json.Number(n)
	return nil
}

func seconds(d time.Duration) string { return strconv.Itoa(int(d / time.Second)) }

// arnAccount returns the account field of an ARN (arn:partition:service:region:account:resource).
func arnAccount(arn string) string {
	if f := strings.SplitN(arn, ":", 6); len(f) == 6 {
		return f[4]
	}
	return ""
}

// arnResource returns the last field of an ARN: a queue's name for an SQS ARN.
func arnResource(arn string) string {
	if i := strings.LastIndexByte(arn, ':'); i >= 0 {
		return arn[i+1:]
	}
	return arn
}
