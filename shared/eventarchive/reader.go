package eventarchive

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/logstream/logstream/shared/logevent"
)

// Lister lists archive objects.
type Lister interface {
	// List returns up to a page of the keys under prefix, in key order,
	// after startAfter ("" from the first), with their stored sizes in
	// Object.Size; more reports whether another page follows.
	List(ctx context.Context, prefix, startAfter string) (objs []Object, more bool, err error)
}

// Reader lists and reads archive objects.
type Reader interface {
	Lister
	// Get returns an object's stored (gzip) body.
	Get(ctx context.Context, key string) ([]byte, error)
}

// Partition lists a partition's objects in key order after startAfter,
// calling fn with each until fn returns false. Keys not in the archive's
// layout are skipped.
func Partition(ctx context.Context, l Lister, prefix, startAfter string, fn func(Object) (bool, error)) error {
	for {
		objs, more, err := l.List(ctx, prefix, startAfter)
		if err != nil {
			return fmt.Errorf("list %s: %w", prefix, err)
		}
		for _, o := range objs {
			startAfter = o.Key
			parsed, err := ParseKey(o.Key)
			if err != nil {
				continue
			}
			parsed.Size = o.Size
			if ok, err := fn(parsed); !ok || err != nil {
				return err
			}
		}
		if !more || len(objs) == 0 {
			return nil
		}
	}
}

// Size is what the archive holds of a project's window, from its listing
// alone.
type Size struct {
	Partitions int `json:"partitions"`
	Objects    int `json:"objects"`
	// Events and Bytes count the events of the window's partitions and
	// their bytes as NDJSON; StoredBytes what S3 stores (compressed).
	Events      int   `json:"events"`
	Bytes       int64 `json:"bytes"`
	StoredBytes int64 `json:"stored_bytes"`
	// Exact is true when the window starts and ends on whole hours, so the
	// partitions hold only its events; otherwise the counts include the
	// rest of its first and last hours (an upper bound). A filter can only
	// make the replay smaller still.
	Exact bool `json:"exact"`
}

// Measure sizes a project's window [since, until) from the listing of its
// partitions: one List per thousand objects of each hour, no object read.
func Measure(ctx context.Context, l Lister, projectID string, since, until time.Time) (Size, error) {
	s := Size{Exact: since.Equal(since.Truncate(time.Hour)) && until.Equal(until.Truncate(time.Hour))}
	for _, h := range Hours(since, until) {
		found := false
		err := Partition(ctx, l, HourPrefix(projectID, h), "", func(o Object) (bool, error) {
			found = true
			s.Objects++
			s.Events += o.Events
			s.Bytes += o.Bytes
			s.StoredBytes += o.Size
			return true, nil
		})
		if err != nil {
			return Size{}, err
		}
		if found {
			s.Partitions++
		}
	}
	return s, nil
}

// readLimits take an archived object as it was written: events ingestion
// accepted already (so no time window around now, which would refuse last
// week's), any number of them.
var readLimits = logevent.Limits{
	MaxBodyBytes:    maxObjectBytes,
	MaxDecodedBytes: maxObjectBytes,
	MaxEvents:       math.MaxInt32,
	MaxEventBytes:   logevent.DefaultLimits.MaxEventBytes,
	Window:          logevent.Window{MaxAge: 100 * 365 * 24 * time.Hour, MaxAhead: 100 * 365 * 24 * time.Hour},
}

// maxObjectBytes bounds an object's decompressed size: the archiver writes
// at most one invocation's payload (6 MB) per object, so anything near this
// is not one of its objects.
const maxObjectBytes = 256 << 20

// Decode reads an object's stored body back into events, each with its
// event_id, timestamp and the index filters and masking read.
func Decode(body []byte) ([]logevent.Event, error) {
	if len(body) < 2 || body[0] != 0x1f || body[1] != 0x8b {
		// Stored gzip with Content-Encoding gzip: a client that inflates
		// such bodies on the way hands over NDJSON already.
		return logevent.Parse(body, logevent.FormatNDJSON, readLimits, logevent.Stamper{})
	}
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("archive object is not gzip: %w", err)
	}
	defer zr.Close()
	raw, err := io.ReadAll(io.LimitReader(zr, maxObjectBytes+1))
	if err != nil {
		return nil, fmt.Errorf("archive object is not gzip: %w", err)
	}
	if len(raw) > maxObjectBytes {
		return nil, fmt.Errorf("archive object decompresses to more than %d bytes", maxObjectBytes)
	}
	return logevent.Parse(raw, logevent.FormatNDJSON, readLimits, logevent.Stamper{})
}
