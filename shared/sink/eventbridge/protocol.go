package eventbridge

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/encoding"
	smithytime "github.com/aws/smithy-go/time"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/logstream/logstream/shared/jsonobj"
)

// putEventsProtocol is the SDK's awsJson 1.1 protocol with PutEvents'
// request body written, and its successful answer read, here. The SDK's
// generic shape serializer escaped each Detail through a buffer that grows
// by doubling from 1 KB, and its shape deserializer allocated for every
// token of the answer: together about 60% of the CPU of a PutEvents call
// (BenchmarkEncode/sdk-only against BenchmarkProtocolBound). Everything else
// is the SDK's, unchanged: the headers, endpoint, SigV4 signing of the
// payload's SHA-256, retries, and every error answer, which is handed to the
// SDK's protocol so errors keep their codes and types.
//
// TestPutEventsBodyMatchesTheSDK and FuzzPutEventsBody hold the body to the
// SDK's own serialization of the same input, and TestPutEventsOutput the
// answer to its deserializer.
type putEventsProtocol struct {
	smithyhttp.ClientProtocol
}

func (p putEventsProtocol) SerializeRequest(ctx context.Context, schema *smithy.OperationSchema, in smithy.Serializable, req *smithyhttp.Request) error {
	pe, ok := in.(*eventbridge.PutEventsInput)
	if !ok || schema.ID().Name != "PutEvents" {
		return p.ClientProtocol.SerializeRequest(ctx, schema, in, req)
	}
	// What the SDK's awsJson 1.1 protocol sets for an operation of
	// AWSEvents (TestPutEventsBodyMatchesTheSDK compares them).
	req.Method = http.MethodPost
	if req.URL.Path == "" {
		req.URL.Path = "/"
	}
	req.Header.Set("X-Amz-Target", "AWSEvents.PutEvents")
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	sreq, err := req.SetStream(bytes.NewReader(appendPutEvents(nil, pe)))
	if err != nil {
		return fmt.Errorf("set stream: %w", err)
	}
	*req = *sreq
	return nil
}

func (p putEventsProtocol) DeserializeResponse(ctx context.Context, schema *smithy.OperationSchema, reg *smithy.TypeRegistry,
	resp *smithyhttp.Response, out smithy.Deserializable) error {
	po, ok := out.(*eventbridge.PutEventsOutput)
	if !ok || resp.StatusCode < 200 || resp.StatusCode >= 300 {
		return p.ClientProtocol.DeserializeResponse(ctx, schema, reg, resp, out)
	}
	payload, err := io.ReadAll(resp.Body)
	if err != nil {
		return &smithy.DeserializationError{Err: err}
	}
	if err := readPutEventsOutput(payload, po); err != nil {
		return &smithy.DeserializationError{Err: err, Snapshot: payload}
	}
	return nil
}

// putEventsBodyBytes is the body's size beyond its entries' strings: the
// member names and punctuation of ten entries and a timestamp each.
const putEventsBodyBytes = 256 + 10*160

// appendPutEvents appends the awsJson 1.1 body of PutEvents: the members the
// SDK writes, in the same order, with the same number format for times
// (epoch seconds to the millisecond, smithy's encoding.EncodeFloat).
func appendPutEvents(b []byte, in *eventbridge.PutEventsInput) []byte {
	n := putEventsBodyBytes
	for _, e := range in.Entries {
		n += len(deref(e.Detail)) + len(deref(e.DetailType)) + len(deref(e.EventBusName)) + len(deref(e.Source)) + len(deref(e.TraceHeader))
		// Details are JSON, whose quotes are escaped: room for a quote in
		// eight without growing.
		n += len(deref(e.Detail)) / 8
		for _, r := range e.Resources {
			n += len(r) + 3
		}
	}
	b = append(make([]byte, 0, len(b)+n), b...)
	var m members
	b = append(b, '{')
	if in.EndpointId != nil {
		b = m.str(b, "EndpointId", in.EndpointId)
	}
	if in.Entries != nil {
		b = append(m.name(b, "Entries"), '[')
		for i := range in.Entries {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendEntry(b, &in.Entries[i])
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

// appendEntry appends one PutEventsRequestEntry as the SDK's
// SerializeMembers does: the members that are set, in its order.
func appendEntry(b []byte, e *types.PutEventsRequestEntry) []byte {
	var m members
	b = append(b, '{')
	b = m.str(b, "Detail", e.Detail)
	b = m.str(b, "DetailType", e.DetailType)
	b = m.str(b, "EventBusName", e.EventBusName)
	if e.Resources != nil {
		b = append(m.name(b, "Resources"), '[')
		for i, r := range e.Resources {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsonobj.AppendString(b, r)
		}
		b = append(b, ']')
	}
	b = m.str(b, "Source", e.Source)
	if e.Time != nil {
		// A time's epoch seconds are never infinite or NaN, the cases the
		// SDK writes as strings.
		b = encoding.EncodeFloat(m.name(b, "Time"), smithytime.FormatEpochSeconds(*e.Time), 64)
	}
	b = m.str(b, "TraceHeader", e.TraceHeader)
	return append(b, '}')
}

// members writes an object's members: the comma before all but the first.
type members struct{ started bool }

// name appends `"name":`.
func (m *members) name(b []byte, name string) []byte {
	if m.started {
		b = append(b, ',')
	}
	m.started = true
	b = append(b, '"')
	b = append(b, name...)
	return append(b, '"', ':')
}

// str appends `"name":"<v>"` when v is set.
func (m *members) str(b []byte, name string, v *string) []byte {
	if v == nil {
		return b
	}
	return jsonobj.AppendString(m.name(b, name), *v)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// readPutEventsOutput reads PutEvents' answer (PutEventsResponse:
// FailedEntryCount, and Entries of EventId or ErrorCode and ErrorMessage),
// ignoring members it does not know, as the SDK's deserializer does; a
// null is an absent member.
func readPutEventsOutput(payload []byte, out *eventbridge.PutEventsOutput) error {
	if len(payload) == 0 {
		return nil // the SDK's protocol leaves the output empty too (white space alone is an error to both)
	}
	var perr error
	err := jsonobj.Members(payload, func(key, value []byte) bool {
		switch string(key) {
		case "FailedEntryCount":
			if string(value) == "null" {
				return true
			}
			n, err := strconv.ParseInt(string(value), 10, 32)
			if err != nil {
				perr = fmt.Errorf("FailedEntryCount: %w", err)
				return false
			}
			out.FailedEntryCount = int32(n)
		case "Entries":
			if string(value) == "null" {
				return true
			}
			out.Entries = make([]types.PutEventsResultEntry, 0, 10)
			texts := make([]string, 0, 10) // what the entries' fields point at
			if err := jsonobj.Elements(value, func(v []byte) bool {
				var e types.PutEventsResultEntry
				if perr = readResultEntry(v, &e, &texts); perr != nil {
					return false
				}
				out.Entries = append(out.Entries, e)
				return true
			}); err != nil && perr == nil {
				perr = fmt.Errorf("Entries: %w", err)
			}
			return perr == nil
		}
		return true
	})
	if perr != nil {
		return perr
	}
	if err != nil || !jsonobj.Valid(payload) {
		return errors.New("PutEvents answer is not a JSON object")
	}
	return nil
}

// readResultEntry reads one result entry. Its strings are views of the
// payload, which the answer owns (read for it alone, never reused), or
// their unescaped copies; each field points at an element of *texts, which
// keeps one backing array for them all rather than one allocation each (an
// element moved by append's growth stays where the old array keeps it).
func readResultEntry(v []byte, e *types.PutEventsResultEntry, texts *[]string) error {
	if string(v) == "null" {
		return nil
	}
	var perr error
	err := jsonobj.Members(v, func(key, value []byte) bool {
		var dst **string
		switch string(key) {
		case "EventId":
			dst = &e.EventId
		case "ErrorCode":
			dst = &e.ErrorCode
		case "ErrorMessage":
			dst = &e.ErrorMessage
		default:
			return true
		}
		if string(value) == "null" {
			return true
		}
		text, ok := jsonobj.Text(value)
		if !ok {
			perr = fmt.Errorf("%s is not a string", key)
			return false
		}
		*texts = append(*texts, view(text))
		*dst = &(*texts)[len(*texts)-1]
		return true
	})
	if perr != nil {
		return perr
	}
	if err != nil {
		return errors.New("a result entry is not a JSON object")
	}
	return nil
}
