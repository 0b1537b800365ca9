// Package jobstore keeps long-running jobs (dead-letter redrives and purges,
// replays) in the streams table: each as one JSON document with a version
// for compare-and-swap updates, under its project, plus an index of the jobs
// not yet final, which a scheduled tick reads to resume the ones whose
// worker died.
//
//	pk <Prefix><project>   sk <job id>             the job: doc (JSON), version
//	pk <Active>            sk <project>#<job id>   a job not yet final
package jobstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Kind describes one kind of job to the store: its keys, its codec and its
// errors.
type Kind[J any] struct {
	// Prefix begins the partition key of a project's jobs; Active is the
	// partition key of the index of jobs not yet final.
	Prefix, Active string
	// Key returns a job's project and id; Final whether it will do no
	// more; Created when it was created (ListJobs orders by it).
	Key     func(J) (projectID, id string)
	Final   func(J) bool
	Created func(J) time.Time
	// Version points at a job's version field.
	Version func(*J) *int64
	// Encode and Decode turn a job into the stored document and back,
	// worker fields included.
	Encode func(J) ([]byte, error)
	Decode func([]byte) (J, error)
	// The errors the store returns, as the job's package names them.
	ErrExists, ErrNotFound, ErrConflict error
}

// API is what the store calls of DynamoDB.
type API interface {
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
}

// Store is the jobs of one Kind in a table.
type Store[J any] struct {
	Client API
	Table  string
	Kind   Kind[J]
}

type item struct {
	PK      string `dynamodbav:"pk"`
	SK      string `dynamodbav:"sk"`
	Doc     string `dynamodbav:"doc"`
	Version int64  `dynamodbav:"version"`
}

func sKey(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: pk}, "sk": &types.AttributeValueMemberS{Value: sk}}
}

func (s *Store[J]) encode(j J) (map[string]types.AttributeValue, error) {
	doc, err := s.Kind.Encode(j)
	if err != nil {
		return nil, err
	}
	p, id := s.Kind.Key(j)
	return attributevalue.MarshalMap(item{PK: s.Kind.Prefix + p, SK: id, Doc: string(doc), Version: *s.Kind.Version(&j)})
}

func (s *Store[J]) decode(av map[string]types.AttributeValue) (J, error) {
	var it item
	var zero J
	if err := attributevalue.UnmarshalMap(av, &it); err != nil {
		return zero, err
	}
	j, err := s.Kind.Decode([]byte(it.Doc))
	if err != nil {
		return zero, fmt.Errorf("decode job %s: %w", it.SK, err)
	}
	*s.Kind.Version(&j) = it.Version
	return j, nil
}

func (s *Store[J]) activeKey(j J) map[string]types.AttributeValue {
	p, id := s.Kind.Key(j)
	return sKey(s.Kind.Active, p+"#"+id)
}

// Create stores a new job (version 1) and marks it active; Kind.ErrExists,
// with the stored job, if one with its id exists.
func (s *Store[J]) Create(ctx context.Context, j J) (J, error) {
	*s.Kind.Version(&j) = 1
	av, err := s.encode(j)
	if err != nil {
		return j, err
	}
	_, id := s.Kind.Key(j)
	// Active first: a job stored but not marked active would never be
	// resumed; one marked active but not stored is dropped by Active.
	if _, err := s.Client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.Table), Item: s.activeKey(j)}); err != nil {
		return j, fmt.Errorf("mark job %s active: %w", id, err)
	}
	_, err = s.Client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.Table), Item: av, ConditionExpression: aws.String("attribute_not_exists(pk)")})
	var cfe *types.ConditionalCheckFailedException
	if errors.As(err, &cfe) {
		p, _ := s.Kind.Key(j)
		stored, gerr := s.Get(ctx, p, id)
		if gerr != nil {
			return j, gerr
		}
		if s.Kind.Final(stored) {
			s.inactive(ctx, stored)
		}
		return stored, s.Kind.ErrExists
	}
	if err != nil {
		return j, fmt.Errorf("store job %s: %w", id, err)
	}
	return j, nil
}

func (s *Store[J]) inactive(ctx context.Context, j J) {
	_, _ = s.Client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(s.Table), Key: s.activeKey(j)})
}

// Get reads one job; Kind.ErrNotFound if there is none.
func (s *Store[J]) Get(ctx context.Context, projectID, id string) (J, error) {
	var zero J
	out, err := s.Client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.Table), Key: sKey(s.Kind.Prefix+projectID, id), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return zero, fmt.Errorf("read job %s: %w", id, err)
	}
	if out.Item == nil {
		return zero, s.Kind.ErrNotFound
	}
	return s.decode(out.Item)
}

// maxListed bounds how many of a project's jobs List reads to find its
// newest: ids made from an idempotency key do not sort by time, so the
// newest are not simply the first in key order.
const maxListed = 1000

// List returns a project's newest jobs first (by creation time), reading at
// most maxListed of them.
func (s *Store[J]) List(ctx context.Context, projectID string, limit int) ([]J, error) {
	p := dynamodb.NewQueryPaginator(s.Client, &dynamodb.QueryInput{
		TableName:                 aws.String(s.Table),
		KeyConditionExpression:    aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: s.Kind.Prefix + projectID}},
		ScanIndexForward:          aws.Bool(false),
	})
	var jobs []J
	for p.HasMorePages() && len(jobs) < maxListed {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list jobs of project %s: %w", projectID, err)
		}
		for _, av := range page.Items {
			j, err := s.decode(av)
			if err != nil {
				return nil, err
			}
			jobs = append(jobs, j)
		}
	}
	sort.SliceStable(jobs, func(a, b int) bool { return s.Kind.Created(jobs[a]).After(s.Kind.Created(jobs[b])) })
	if limit = max(limit, 1); len(jobs) > limit {
		jobs = jobs[:limit]
	}
	return jobs, nil
}

// Update writes j if the stored job still has j's version, and returns it
// with its new version; Kind.ErrConflict otherwise. A job written final
// leaves the active index.
func (s *Store[J]) Update(ctx context.Context, j J) (J, error) {
	next := j
	v := s.Kind.Version(&next)
	prev := *v
	*v = prev + 1
	av, err := s.encode(next)
	if err != nil {
		return j, err
	}
	_, err = s.Client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.Table), Item: av,
		ConditionExpression:       aws.String("version = :v"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":v": &types.AttributeValueMemberN{Value: strconv.FormatInt(prev, 10)}}})
	var cfe *types.ConditionalCheckFailedException
	if errors.As(err, &cfe) {
		return j, s.Kind.ErrConflict
	}
	if err != nil {
		_, id := s.Kind.Key(j)
		return j, fmt.Errorf("update job %s: %w", id, err)
	}
	if s.Kind.Final(next) {
		s.inactive(ctx, next)
	}
	return next, nil
}

// Active returns every job not yet final, of every project.
func (s *Store[J]) Active(ctx context.Context) ([]J, error) {
	p := dynamodb.NewQueryPaginator(s.Client, &dynamodb.QueryInput{
		TableName:                 aws.String(s.Table),
		KeyConditionExpression:    aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: s.Kind.Active}},
	})
	var jobs []J
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list active jobs: %w", err)
		}
		for _, av := range page.Items {
			sk, _ := av["sk"].(*types.AttributeValueMemberS)
			if sk == nil {
				continue
			}
			project, id, _ := strings.Cut(sk.Value, "#")
			j, err := s.Get(ctx, project, id)
			if errors.Is(err, s.Kind.ErrNotFound) {
				// Being created (Create marks it active first), or its
				// creation failed: nothing to run either way.
				continue
			}
			if err != nil {
				return nil, err
			}
			if s.Kind.Final(j) {
				s.inactive(ctx, j)
				continue
			}
			jobs = append(jobs, j)
		}
	}
	return jobs, nil
}

// JSON is the codec of a job whose document is its JSON form: Encode and
// Decode for a Kind.
func JSON[J any]() (func(J) ([]byte, error), func([]byte) (J, error)) {
	return func(j J) ([]byte, error) { return json.Marshal(j) },
		func(b []byte) (J, error) {
			var j J
			err := json.Unmarshal(b, &j)
			return j, err
		}
}
