package batchobj_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"slices"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/klauspost/compress/gzip"
	"github.com/logstream/logstream/shared/batchobj"
)

func gunzip(t *testing.T, b []byte) string {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// A message is failed when it is failed itself or when any object holding
// part of it is not stored; objects are stored in the order their
// partitions started, each holding what was written to it.
func TestBatch(t *testing.T) {
	b := batchobj.New[string](gzip.BestSpeed)
	part := func(key string) *batchobj.Part[string] {
		p, started := b.Part(key)
		if started {
			p.Meta = key
		}
		return p
	}
	part("a").Write("m1", []byte("1"), []byte("\n"))
	part("b").Write("m1", []byte("2\n")) // m1 is in a and b
	part("b").Write("m2", []byte("3\n"))
	part("a").Write("m3", []byte("4\n"))
	part("c").Hold("m4") // held without bytes of its own, as a duplicate push
	b.Fail("m5")
	if p, started := b.Part("a"); started || p.Meta != "a" || p.Messages() != 2 {
		t.Fatalf("part a again: started %v, meta %q, %d messages", started, p.Meta, p.Messages())
	}

	var order []string
	bodies := map[string]string{}
	stored := b.Store(context.Background(), func(_ context.Context, p *batchobj.Part[string], body []byte) error {
		order = append(order, p.Meta)
		bodies[p.Meta] = gunzip(t, body)
		if p.Meta == "b" {
			return errors.New("refused")
		}
		return nil
	})
	if !slices.Equal(order, []string{"a", "b", "c"}) || len(stored) != 2 || stored[0].Meta != "a" || stored[1].Meta != "c" {
		t.Fatalf("stored in order %v, stored %d", order, len(stored))
	}
	if bodies["a"] != "1\n4\n" || bodies["b"] != "2\n3\n" || bodies["c"] != "" {
		t.Fatalf("bodies %q", bodies)
	}
	ev := events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m1"}, {MessageId: "m2"}, {MessageId: "m3"}, {MessageId: "m4"}, {MessageId: "m5"}}}
	var failed []string
	for _, f := range b.Response(ev).BatchItemFailures {
		failed = append(failed, f.ItemIdentifier)
	}
	if !slices.Equal(failed, []string{"m1", "m2", "m5"}) {
		t.Fatalf("failed %v, want m1 (half in b), m2 (in b), m5 (failed itself)", failed)
	}
}
