// Package eventbridge is the delivery pipeline of "eventbridge" streams: Amazon EventBridge (PutEvents), with its own EventBridge client.
// It is the one package a delivery function imports for its destination type.
package eventbridge

import (
	"github.com/logstream/logstream/shared/app/deliverfn"
	"github.com/logstream/logstream/shared/deliver"
	"github.com/logstream/logstream/shared/destination"
	sender "github.com/logstream/logstream/shared/sink/eventbridge"
)

// Pipeline builds the eventbridge sender.
var Pipeline = deliverfn.Pipeline{
	Type:   destination.EventBridge,
	Limits: sender.Limits,
	Sender: func(c deliverfn.Clients) deliver.Sender { return sender.New(c.AWS) },
}
