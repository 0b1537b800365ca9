package store

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/logstream/logstream/shared/stream"
)

// The projects that ever had a stream: one item each under one partition
// key, pk "PROJECTS", sk "PROJECT#<project_id>", written by Create before
// it takes the stream's place, so no stream exists whose project is not
// listed. A key of every project lists them (the console's projects
// screen); deleting a project's last stream keeps its entry, as its dead
// letters and replays may outlive it. Only stream creations write the
// partition, a rare write, so one key is no hot spot. Projects whose
// streams were all created before this list existed are not in it until
// they create another: the console opens any project by its id.
const (
	projectsPartition = "PROJECTS"
)

func projectEntryKey(projectID string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: projectsPartition},
		"sk": &types.AttributeValueMemberS{Value: projectPrefix + projectID},
	}
}

// register lists a project (idempotent).
func (s *Streams) register(ctx context.Context, projectID string) error {
	item := projectEntryKey(projectID)
	item["project_id"] = &types.AttributeValueMemberS{Value: projectID}
	if _, err := s.Client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.Table), Item: item}); err != nil {
		return fmt.Errorf("list project %s: %w", projectID, err)
	}
	return nil
}

// Projects returns a page of the listed projects, in id order, and the
// cursor of the next page ("" after the last).
func (s *Streams) Projects(ctx context.Context, limit int, cursor string) ([]string, string, error) {
	in := &dynamodb.QueryInput{
		TableName:              aws.String(s.Table),
		KeyConditionExpression: aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": &types.AttributeValueMemberS{Value: projectsPartition},
		},
		Limit: aws.Int32(int32(limit)),
	}
	if cursor != "" {
		raw, err := base64.RawURLEncoding.DecodeString(cursor)
		if err != nil || !stream.ValidProjectID(string(raw)) {
			return nil, "", errBadCursor
		}
		in.ExclusiveStartKey = projectEntryKey(string(raw))
	}
	out, err := s.Client.Query(ctx, in)
	if err != nil {
		return nil, "", fmt.Errorf("list projects: %w", err)
	}
	ids := make([]string, 0, len(out.Items))
	for _, it := range out.Items {
		if sk, ok := it["sk"].(*types.AttributeValueMemberS); ok {
			ids = append(ids, strings.TrimPrefix(sk.Value, projectPrefix))
		}
	}
	next := ""
	if len(ids) == limit && out.LastEvaluatedKey != nil {
		next = base64.RawURLEncoding.EncodeToString([]byte(ids[len(ids)-1]))
	}
	return ids, next, nil
}
