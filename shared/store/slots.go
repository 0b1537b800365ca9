package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/logstream/logstream/shared/stream"
)

// A project's stream limit is kept by one item in its partition, sk
// "SLOTS#streams", whose string set "ids" holds a place for every stream the
// project has or is creating. A create first adds its id with one conditional
// UpdateItem (the set must be smaller than the limit), then puts the stream; a
// delete removes the stream, then its id. DynamoDB applies each UpdateItem to
// the item atomically, so the set can never grow past the limit, however many
// creates race; the stand-in has no TransactWriteItems, and none is needed.
//
// A crash between the two steps leaves an id without a stream: the count can
// only be too high, never too low, so the limit always holds. Such a place is
// reclaimed when a create finds the project full: an id whose stream is not
// stored and whose create has certainly ended is removed. A create puts its
// stream within createWindow of making its id (a UUIDv7 carries that time), so
// an id older than reclaimAfter without a stream can never get one.
const (
	slotsSK = "SLOTS#streams"
	// createWindow bounds how long after making a stream's id a create may
	// still put the stream.
	createWindow = time.Minute
	// reclaimAfter is when a place without a stream is taken to be leaked:
	// createWindow and a wide margin for clock skew between functions and for
	// a request DynamoDB received just before the window closed.
	reclaimAfter = 5 * time.Minute
	// reserveRounds bounds the retries of a reservation that lost a race to
	// the set's first creation, a delete or a reclaim.
	reserveRounds = 5
)

func slotsKey(projectID string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: projectPrefix + projectID},
		"sk": &types.AttributeValueMemberS{Value: slotsSK},
	}
}

// reserve takes a place for streamID among the project's limit places, or
// returns stream.ErrLimitReached.
func (s *Streams) reserve(ctx context.Context, projectID, streamID string, limit int) error {
	for range reserveRounds {
		_, err := s.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName:        aws.String(s.Table),
			Key:              slotsKey(projectID),
			UpdateExpression: aws.String("ADD ids :ids"),
			// An item without the set is a project with no streams; no item
			// at all is one whose streams were never counted (see count).
			ConditionExpression: aws.String("attribute_exists(pk) AND NOT contains(ids, :id) AND (attribute_not_exists(ids) OR size(ids) < :limit)"),
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":ids":   &types.AttributeValueMemberSS{Value: []string{streamID}},
				":id":    &types.AttributeValueMemberS{Value: streamID},
				":limit": &types.AttributeValueMemberN{Value: strconv.Itoa(limit)},
			},
		})
		var cfe *types.ConditionalCheckFailedException
		if !errors.As(err, &cfe) {
			if err != nil {
				return fmt.Errorf("reserve a place for stream %s: %w", streamID, err)
			}
			return nil
		}
		held, counted, err := s.places(ctx, projectID)
		switch {
		case err != nil:
			return err
		case !counted:
			err = s.count(ctx, projectID)
		case held[streamID]:
			return fmt.Errorf("create stream %s: it already exists", streamID)
		case len(held) >= limit:
			var freed int
			if freed, err = s.reclaim(ctx, projectID, held); err == nil && freed == 0 {
				return stream.ErrLimitReached
			}
		}
		if err != nil {
			return err
		}
		// Counted, freed, or a delete freed a place meanwhile: try again.
	}
	return stream.ErrLimitReached
}

// places returns the ids holding a place in the project, and whether the
// project's streams have been counted at all.
func (s *Streams) places(ctx context.Context, projectID string) (map[string]bool, bool, error) {
	out, err := s.Client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.Table), Key: slotsKey(projectID), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, false, fmt.Errorf("read stream places of %s: %w", projectID, err)
	}
	if len(out.Item) == 0 {
		return nil, false, nil
	}
	var it struct {
		IDs []string `dynamodbav:"ids,stringset"`
	}
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return nil, false, fmt.Errorf("decode stream places of %s: %w", projectID, err)
	}
	held := make(map[string]bool, len(it.IDs))
	for _, id := range it.IDs {
		held[id] = true
	}
	return held, true, nil
}

// count creates the places item of a project that has none yet (its streams
// predate it), holding a place for each stored stream. Nothing creates a
// stream in the project before the item exists, so the count cannot miss one;
// a stream deleted meanwhile keeps a place until it is reclaimed.
func (s *Streams) count(ctx context.Context, projectID string) error {
	stored, err := s.storedIDs(ctx, projectID)
	if err != nil {
		return err
	}
	item := slotsKey(projectID)
	if len(stored) > 0 { // DynamoDB has no empty sets
		ids := make([]string, 0, len(stored))
		for id := range stored {
			ids = append(ids, id)
		}
		item["ids"] = &types.AttributeValueMemberSS{Value: ids}
	}
	_, err = s.Client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(s.Table), Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)"),
	})
	var cfe *types.ConditionalCheckFailedException
	if err != nil && !errors.As(err, &cfe) { // a concurrent create counted first
		return fmt.Errorf("count streams of %s: %w", projectID, err)
	}
	return nil
}

// reclaim frees the places held for streams that are not stored and never
// will be: their create ended more than reclaimAfter ago. It returns how many
// it freed.
func (s *Streams) reclaim(ctx context.Context, projectID string, held map[string]bool) (int, error) {
	stored, err := s.storedIDs(ctx, projectID)
	if err != nil {
		return 0, err
	}
	cutoff := time.Now().Add(-reclaimAfter)
	freed := 0
	for id := range held {
		if stored[id] {
			continue
		}
		if born, ok := stream.IDTime(id); ok && born.After(cutoff) {
			continue // its create may still put it
		}
		ok, err := s.release(ctx, projectID, id)
		if err != nil {
			return freed, err
		}
		if ok {
			freed++
		}
	}
	return freed, nil
}

// release frees streamID's place; false when it held none (already released).
func (s *Streams) release(ctx context.Context, projectID, streamID string) (bool, error) {
	_, err := s.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:           aws.String(s.Table),
		Key:                 slotsKey(projectID),
		UpdateExpression:    aws.String("DELETE ids :ids"),
		ConditionExpression: aws.String("contains(ids, :id)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":ids": &types.AttributeValueMemberSS{Value: []string{streamID}},
			":id":  &types.AttributeValueMemberS{Value: streamID},
		},
	})
	var cfe *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &cfe):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("release the place of stream %s: %w", streamID, err)
	}
	return true, nil
}

// storedIDs returns the ids of a project's stored streams, read consistently.
func (s *Streams) storedIDs(ctx context.Context, projectID string) (map[string]bool, error) {
	in := s.projectStreams(projectID)
	in.ConsistentRead = aws.Bool(true)
	in.ProjectionExpression = aws.String("sk")
	p := dynamodb.NewQueryPaginator(s.Client, in)
	ids := map[string]bool{}
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list stream ids of %s: %w", projectID, err)
		}
		for _, av := range out.Items {
			if sk, ok := av["sk"].(*types.AttributeValueMemberS); ok {
				ids[strings.TrimPrefix(sk.Value, streamPrefix)] = true
			}
		}
	}
	return ids, nil
}
