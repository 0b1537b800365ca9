package store_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/logstream/logstream/shared/store"
	"github.com/logstream/logstream/shared/stream"
)

// limit is the stream limit of tests that are not about it.
const limit = 100

// idAt is a stream id as stream.NewID would have made it at t.
func idAt(t time.Time) string {
	return fmt.Sprintf("str_%012x7%03x8%015x", t.UnixMilli(), rand.N(1<<12), rand.N(uint64(1)<<60))
}

func placesKey(project string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: "PROJECT#" + project}, "sk": &types.AttributeValueMemberS{Value: "SLOTS#streams"}}
}

// places returns the ids holding a place in the project's limit, sorted.
func places(t *testing.T, s *store.Streams, project string) []string {
	t.Helper()
	out, err := s.Client.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(s.Table), Key: placesKey(project), ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	ss, _ := out.Item["ids"].(*types.AttributeValueMemberSS)
	if ss == nil {
		return nil
	}
	sort.Strings(ss.Value)
	return ss.Value
}

// stored returns the ids of the project's stored streams, sorted.
func stored(t *testing.T, s *store.Streams, project string) []string {
	t.Helper()
	page, _, err := s.List(context.Background(), project, 100, "")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, st := range page {
		ids = append(ids, st.ID)
	}
	sort.Strings(ids)
	return ids
}

// hold adds id to the project's places as a create that crashed before its
// put would have left it.
func hold(t *testing.T, s *store.Streams, project, id string) {
	t.Helper()
	_, err := s.Client.UpdateItem(context.Background(), &dynamodb.UpdateItemInput{TableName: aws.String(s.Table), Key: placesKey(project),
		UpdateExpression: aws.String("ADD ids :ids"), ExpressionAttributeValues: map[string]types.AttributeValue{
			":ids": &types.AttributeValueMemberSS{Value: []string{id}}}})
	if err != nil {
		t.Fatal(err)
	}
}

// failingPuts is a DynamoDB whose stream puts fail with an answer lost on
// the way: the outcome is unknown to the store.
type failingPuts struct{ store.DynamoDBAPI }

func (f failingPuts) PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	if sk, _ := in.Item["sk"].(*types.AttributeValueMemberS); sk != nil && strings.HasPrefix(sk.Value, "STREAM#") {
		return nil, errors.New("read tcp: connection reset by peer")
	}
	return f.DynamoDBAPI.PutItem(ctx, in, opts...)
}

// failingReleases is a DynamoDB that crashes before a delete frees its place.
type failingReleases struct{ store.DynamoDBAPI }

func (f failingReleases) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	if strings.HasPrefix(aws.ToString(in.UpdateExpression), "DELETE") {
		return nil, errors.New("read tcp: connection reset by peer")
	}
	return f.DynamoDBAPI.UpdateItem(ctx, in, opts...)
}

// The limit is kept by a set of places; a crash between a place and its
// stream can leave a place too many, never one too few, and a place that can
// no longer get its stream is reclaimed when the project is full.
func TestStreamPlaces(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	for i, tc := range []struct {
		name string
		// setup prepares the project; then a create with limit 2 must give want.
		setup func(t *testing.T, project string)
		want  error
		// places the project holds afterwards, and streams it stores.
		places, streams int
	}{
		{"a free place is taken", func(t *testing.T, p string) {}, nil, 1, 1},
		{"a full project refuses", func(t *testing.T, p string) {
			for range 2 {
				if err := s.Create(ctx, newStream(p, stream.StatusActive), 2); err != nil {
					t.Fatal(err)
				}
			}
		}, stream.ErrLimitReached, 2, 2},
		{"streams stored before places existed are counted", func(t *testing.T, p string) {
			for range 2 {
				if err := s.Create(ctx, newStream(p, stream.StatusActive), 2); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := s.Client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(s.Table), Key: placesKey(p)}); err != nil {
				t.Fatal(err)
			}
		}, stream.ErrLimitReached, 2, 2},
		{"a place whose create crashed long ago is reclaimed", func(t *testing.T, p string) {
			if err := s.Create(ctx, newStream(p, stream.StatusActive), 2); err != nil {
				t.Fatal(err)
			}
			hold(t, s, p, idAt(time.Now().Add(-10*time.Minute)))
		}, nil, 2, 2},
		{"a place whose create may still put its stream is kept", func(t *testing.T, p string) {
			if err := s.Create(ctx, newStream(p, stream.StatusActive), 2); err != nil {
				t.Fatal(err)
			}
			hold(t, s, p, idAt(time.Now().Add(-30*time.Second)))
		}, stream.ErrLimitReached, 2, 1},
		{"a put with an unknown outcome keeps its place", func(t *testing.T, p string) {
			if err := s.Create(ctx, newStream(p, stream.StatusActive), 2); err != nil {
				t.Fatal(err)
			}
			crashing := *s
			crashing.Client = failingPuts{s.Client}
			if err := crashing.Create(ctx, newStream(p, stream.StatusActive), 2); err == nil {
				t.Fatal("a failed put reported success")
			}
		}, stream.ErrLimitReached, 2, 1},
		{"a delete frees its place", func(t *testing.T, p string) {
			a, b := newStream(p, stream.StatusActive), newStream(p, stream.StatusActive)
			for _, x := range []stream.Stream{a, b} {
				if err := s.Create(ctx, x, 2); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.Delete(ctx, p, a.ID); err != nil {
				t.Fatal(err)
			}
		}, nil, 2, 2},
		{"a delete that crashed before freeing its place answers success; the place waits", func(t *testing.T, p string) {
			a, b := newStream(p, stream.StatusActive), newStream(p, stream.StatusActive)
			for _, x := range []stream.Stream{a, b} {
				if err := s.Create(ctx, x, 2); err != nil {
					t.Fatal(err)
				}
			}
			crashing := *s
			crashing.Client = failingReleases{s.Client}
			if err := crashing.Delete(ctx, p, a.ID); err != nil {
				t.Fatal(err)
			}
		}, stream.ErrLimitReached, 2, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := fmt.Sprintf("proj_places_%d", i)
			tc.setup(t, p)
			if err := s.Create(ctx, newStream(p, stream.StatusActive), 2); !errors.Is(err, tc.want) {
				t.Fatalf("create: %v, want %v", err, tc.want)
			}
			if got := places(t, s, p); len(got) != tc.places {
				t.Errorf("%d places held, want %d: %v", len(got), tc.places, got)
			}
			if got := stored(t, s, p); len(got) != tc.streams {
				t.Errorf("%d streams stored, want %d", len(got), tc.streams)
			}
		})
	}
}

// Creates and deletes racing in one project never pass the limit, and leave
// exactly one place for each stored stream.
func TestStreamPlacesUnderChurn(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	const project, max, workers, rounds = "proj_churn", 5, 24, 6
	var mu sync.Mutex
	live := 0
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for range rounds {
				st := newStream(project, stream.StatusActive)
				err := s.Create(ctx, st, max)
				if errors.Is(err, stream.ErrLimitReached) {
					continue
				}
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				live++
				if live > max {
					t.Errorf("%d streams live, the limit is %d", live, max)
				}
				mu.Unlock()
				if w%2 == 0 { // half the workers keep their streams
					continue
				}
				mu.Lock()
				live-- // counted down before the delete: live never undercounts
				mu.Unlock()
				if err := s.Delete(ctx, project, st.ID); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	got, want := places(t, s, project), stored(t, s, project)
	if fmt.Sprint(got) != fmt.Sprint(want) || len(want) > max {
		t.Fatalf("places %v\nstreams %v\nwant the same, at most %d", got, want, max)
	}
}
