// Package replaystore keeps replay jobs (replay.Jobs) in the streams table,
// through shared/jobstore:
//
//	pk RPJOB#<project>   sk <job id>             a replay job
//	pk RPJOBS            sk <project>#<job id>   a replay job not yet final
//	pk RPSLOT#<project>  sk <n>                  one of the project's replay slots (Slots)
package replaystore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/logstream/logstream/shared/jobstore"
	"github.com/logstream/logstream/shared/replay"
)

// doc is a job as stored: its API fields and the worker's.
type doc struct {
	replay.Job
	Cursor     replay.Cursor `json:"cursor"`
	LeaseUntil time.Time     `json:"lease_until"`
	Failures   int           `json:"failures,omitempty"`
	Key        string        `json:"key,omitempty"`
	Slot       int           `json:"slot,omitempty"`
}

var kind = jobstore.Kind[replay.Job]{
	Prefix: "RPJOB#", Active: "RPJOBS",
	Key:     func(j replay.Job) (string, string) { return j.ProjectID, j.ID },
	Final:   func(j replay.Job) bool { return j.State.Final() },
	Created: func(j replay.Job) time.Time { return j.CreatedAt },
	Version: func(j *replay.Job) *int64 { return &j.Version },
	Encode: func(j replay.Job) ([]byte, error) {
		return json.Marshal(doc{Job: j, Cursor: j.Cursor, LeaseUntil: j.LeaseUntil, Failures: j.Failures, Key: j.Key, Slot: j.Slot})
	},
	Decode: func(b []byte) (replay.Job, error) {
		var d doc
		if err := json.Unmarshal(b, &d); err != nil {
			return replay.Job{}, err
		}
		j := d.Job
		j.Cursor, j.LeaseUntil, j.Failures, j.Key, j.Slot = d.Cursor, d.LeaseUntil, d.Failures, d.Key, d.Slot
		return j, nil
	},
	ErrExists: replay.ErrJobExists, ErrNotFound: replay.ErrJobNotFound, ErrConflict: replay.ErrJobConflict,
}

// New returns the replay jobs in table.
func New(client jobstore.API, table string) *jobstore.Store[replay.Job] {
	return &jobstore.Store[replay.Job]{Client: client, Table: table, Kind: kind}
}

var _ replay.Jobs = (*jobstore.Store[replay.Job])(nil)

// Slots are the projects' replay slots (replay.Slots) in the table:
//
//	pk RPSLOT#<project>   sk <n>   job, taken_at   slot n, held by a replay job
//
// A slot is taken with one conditional PutItem: if no item holds it, or if
// the item still names the holder the caller found done. So however many
// requests race, each slot has one holder.
type Slots struct {
	Client jobstore.API
	Table  string
	// Now stamps taken_at (default time.Now).
	Now func() time.Time
}

var _ replay.Slots = (*Slots)(nil)

const slotPrefix = "RPSLOT#"

func slotKey(projectID string, n int) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: slotPrefix + projectID},
		"sk": &types.AttributeValueMemberS{Value: strconv.Itoa(n)}}
}

// Take gives jobID a free slot, its own, or one whose holder is done.
func (s *Slots) Take(ctx context.Context, projectID, jobID string, max int, free func(string, time.Time) bool) (int, error) {
	now := time.Now()
	if s.Now != nil {
		now = s.Now()
	}
	for n, retried := 0, false; n < max; n++ {
		item := slotKey(projectID, n)
		item["job"] = &types.AttributeValueMemberS{Value: jobID}
		item["taken_at"] = &types.AttributeValueMemberS{Value: now.UTC().Format(time.RFC3339Nano)}
		err := s.put(ctx, item, "attribute_not_exists(pk)", nil)
		if err == nil {
			return n, nil
		}
		if !conditionFailed(err) {
			return 0, fmt.Errorf("take replay slot %d of %s: %w", n, projectID, err)
		}
		out, err := s.Client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.Table), Key: slotKey(projectID, n), ConsistentRead: aws.Bool(true)})
		if err != nil {
			return 0, fmt.Errorf("read replay slot %d of %s: %w", n, projectID, err)
		}
		holder, takenAt := slotHolder(out.Item)
		switch {
		case out.Item == nil && !retried:
			n, retried = n-1, true // released between: try it again, once
			continue
		case out.Item == nil:
			continue
		case holder == jobID:
			return n, nil
		case !free(holder, takenAt):
			continue
		}
		err = s.put(ctx, item, "job = :holder", map[string]types.AttributeValue{":holder": &types.AttributeValueMemberS{Value: holder}})
		if err == nil {
			return n, nil
		}
		if !conditionFailed(err) {
			return 0, fmt.Errorf("take over replay slot %d of %s: %w", n, projectID, err)
		}
	}
	return 0, replay.ErrTooMany
}

// Release frees slot n if jobID holds it.
func (s *Slots) Release(ctx context.Context, projectID string, n int, jobID string) error {
	_, err := s.Client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(s.Table), Key: slotKey(projectID, n),
		ConditionExpression:       aws.String("job = :job"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":job": &types.AttributeValueMemberS{Value: jobID}}})
	if err != nil && !conditionFailed(err) {
		return fmt.Errorf("release replay slot %d of %s: %w", n, projectID, err)
	}
	return nil
}

func (s *Slots) put(ctx context.Context, item map[string]types.AttributeValue, cond string, values map[string]types.AttributeValue) error {
	_, err := s.Client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.Table), Item: item,
		ConditionExpression: aws.String(cond), ExpressionAttributeValues: values})
	return err
}

func slotHolder(item map[string]types.AttributeValue) (string, time.Time) {
	job, _ := item["job"].(*types.AttributeValueMemberS)
	at, _ := item["taken_at"].(*types.AttributeValueMemberS)
	var holder string
	var takenAt time.Time
	if job != nil {
		holder = job.Value
	}
	if at != nil {
		takenAt, _ = time.Parse(time.RFC3339Nano, at.Value)
	}
	return holder, takenAt
}

func conditionFailed(err error) bool {
	var cfe *types.ConditionalCheckFailedException
	return errors.As(err, &cfe)
}
