// Package selection is what one stream receives of a batch of its
// project's events: the events its filters pass, masked by its PII rules.
// Ingestion applies it to live events and a replay to archived ones, so
// both send a stream exactly what its current configuration asks for.
package selection

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/logstream/logstream/shared/filter"
	"github.com/logstream/logstream/shared/logevent"
	"github.com/logstream/logstream/shared/pii"
	"github.com/logstream/logstream/shared/stream"
)

// Stream is a stream with its filters and masking rules compiled: compiled
// once, applied to many batches.
type Stream struct {
	stream.Stream
	match *filter.Matcher // nil passes every event
	mask  *pii.Masker     // nil masks nothing
}

// Compile compiles a stream's filters and masking rules. The API stores
// only filters that validate, so filters that do not compile are a fault
// of logstream's own; the stream then gets every event, logged, rather
// than none: delivering too much is visible and recoverable, losing events
// silently is not. Masking rules fail the other way: rules that do not
// compile, or a hash key that cannot be derived (KMS unreachable), fail
// the call, which the caller retries; plaintext sent on could not be called
// back. keys may be nil when no rule hashes.
func Compile(ctx context.Context, keys pii.Keys, st stream.Stream, log *slog.Logger) (Stream, error) {
	m, err := filter.Compile(st.Filters)
	if err != nil && log != nil {
		log.ErrorContext(ctx, "stream filters do not compile; the stream receives every event",
			"project_id", st.ProjectID, "stream_id", st.ID, "err", err)
	}
	out := Stream{Stream: st, match: m}
	if out.mask, err = masker(ctx, keys, st); err != nil {
		return Stream{}, fmt.Errorf("masking rules of stream %s: %w", st.ID, err)
	}
	return out, nil
}

// masker compiles the stream's masking rules, with its hash key when a rule
// hashes: KMS is asked only for the streams that need it.
func masker(ctx context.Context, keys pii.Keys, st stream.Stream) (*pii.Masker, error) {
	if st.PII == nil || len(st.PII.Fields) == 0 {
		return nil, nil
	}
	var key []byte
	if pii.NeedsKey(st.PII) {
		if keys == nil {
			return nil, errors.New("a rule hashes and this function has no PII hash key")
		}
		k, err := keys.StreamKey(ctx, st.ProjectID, st.ID)
		if err != nil {
			return nil, err
		}
		key = k
	}
	return pii.Compile(st.PII, key)
}

// Selects reports whether Select can leave events out or change them;
// when it cannot, the events' Raw go as they are.
func (s *Stream) Selects(filtered bool) bool { return (filtered && s.match != nil) || s.mask != nil }

// Passes reports whether the stream's filters pass ev.
func (s *Stream) Passes(ev *logevent.Event) bool { return s.match == nil || s.match.PassEvent(ev) }

// Select appends to dst what the stream receives of evs: those its filters
// pass (all when filtered is false: logstream's own lifecycle events pass
// every filter), masked. Masking runs here, before any queue, so a masked
// field's plaintext never sits in a delivery queue, its DLQ or a dead
// letter. left counts the events the filters left out.
func (s *Stream) Select(dst []json.RawMessage, evs []logevent.Event, filtered bool) (out []json.RawMessage, left int, err error) {
	filtering := filtered && s.match != nil
	for i := range evs {
		// PassEvent reads the index Parse kept: no event is walked again.
		if filtering && !s.match.PassEvent(&evs[i]) {
			left++
			continue
		}
		raw := evs[i].Raw
		if s.mask != nil {
			if raw, err = s.mask.MaskEvent(&evs[i]); err != nil {
				// Parse makes well-formed objects only: a fault of
				// logstream's own, which must not send plaintext on.
				return dst, left, fmt.Errorf("mask event %d for stream %s: %w", i, s.ID, err)
			}
		}
		dst = append(dst, raw)
	}
	return dst, left, nil
}
