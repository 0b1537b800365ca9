// Package batchobj is what logstream's SQS-fed archivers share: a batch's
// records gathered into one gzip object per partition (a project's or a
// tenant's hour), each object knowing the messages it holds, so that a
// message is reported as a batch item failure, and received again, when
// any object holding part of it was not stored, and deleted only once all
// of them were. The event archiver (shared/eventarchive) and the Loki
// archiver (shared/lokibridge/coalesce) decide the partitions, names and
// levels; this package does the bookkeeping.
package batchobj

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/klauspost/compress/gzip"
	"github.com/logstream/logstream/shared/metrics"
	"github.com/logstream/logstream/shared/topology"
)

// Batch is one SQS batch's objects, in the order their partitions were
// first seen; M is what the caller keeps about each partition.
type Batch[M any] struct {
	level  int
	parts  map[string]*Part[M]
	order  []*Part[M]
	failed map[string]bool
}

// Part is one partition's object being built.
type Part[M any] struct {
	Meta     M
	buf      bytes.Buffer
	zw       *gzip.Writer
	messages []string
}

// New returns an empty batch whose objects are compressed at level.
func New[M any](level int) *Batch[M] {
	return &Batch[M]{level: level, parts: map[string]*Part[M]{}, failed: map[string]bool{}}
}

// Part returns the partition named key, and whether this call started it
// (its Meta is then the zero M, for the caller to fill).
func (b *Batch[M]) Part(key string) (p *Part[M], started bool) {
	if p = b.parts[key]; p != nil {
		return p, false
	}
	p = &Part[M]{}
	p.zw, _ = gzip.NewWriterLevel(&p.buf, b.level) // the level is one of gzip's
	b.parts[key] = p
	b.order = append(b.order, p)
	return p, true
}

// Hold notes that the object holds (part of) the message id: the message
// is deleted only if the object is stored.
func (p *Part[M]) Hold(id string) {
	if n := len(p.messages); n == 0 || p.messages[n-1] != id {
		p.messages = append(p.messages, id)
	}
}

// Write appends data to the object on behalf of the message id.
func (p *Part[M]) Write(id string, data ...[]byte) {
	p.Hold(id)
	for _, d := range data {
		_, _ = p.zw.Write(d) // writes to a bytes.Buffer do not fail
	}
}

// Messages is how many messages the object holds.
func (p *Part[M]) Messages() int { return len(p.messages) }

// Fail reports the message id failed, whatever becomes of the objects.
func (b *Batch[M]) Fail(id string) { b.failed[id] = true }

// Store closes each object and stores it with put, in the order the
// partitions were started; when put fails, every message the object holds
// is reported failed. It returns the parts stored.
func (b *Batch[M]) Store(ctx context.Context, put func(ctx context.Context, p *Part[M], body []byte) error) []*Part[M] {
	var stored []*Part[M]
	for _, p := range b.order {
		_ = p.zw.Close() // into a bytes.Buffer: it does not fail
		if err := put(ctx, p, p.buf.Bytes()); err != nil {
			for _, id := range p.messages {
				b.failed[id] = true
			}
			continue
		}
		stored = append(stored, p)
	}
	return stored
}

// Response is the batch item failures of ev, in its order.
func (b *Batch[M]) Response(ev events.SQSEvent) events.SQSEventResponse {
	var resp events.SQSEventResponse
	for _, r := range ev.Records {
		if b.failed[r.MessageId] {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: r.MessageId})
		}
	}
	return resp
}

// Now is now(), or the time when now is nil: the clock an archiver's
// object names are stamped with.
func Now(now func() time.Time) time.Time {
	if now != nil {
		return now()
	}
	return time.Now()
}

// Random is random(), or n random bytes in hex when random is nil: what
// keeps the names of objects written in the same millisecond apart.
func Random(random func() string, n int) string {
	if random != nil {
		return random()
	}
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Emit writes an archiver's line for one batch: the objects it wrote and
// those it failed to write (0 when none, so an alarm on failures sees
// data). e nil writes nothing.
func Emit(e *metrics.Emitter, written, failed int) {
	e.Emit(e.Line().
		Count(topology.MetricArchiveObjectsWritten, written).
		Count(topology.MetricArchiveWriteFailures, failed))
}
