// Package webhook is the delivery pipeline of "http" streams: webhooks (HTTP POST of JSON).
// It is the one package a delivery function imports for its destination type.
package webhook

import (
	"github.com/logstream/logstream/shared/app/deliverfn"
	"github.com/logstream/logstream/shared/deliver"
	sender "github.com/logstream/logstream/shared/sink/webhook"
	"github.com/logstream/logstream/shared/topology"
)

// Pipeline builds the http sender.
var Pipeline = deliverfn.Pipeline{
	Type:   topology.DestinationHTTP,
	Limits: sender.Limits,
	Sender: func(c deliverfn.Clients) deliver.Sender {
		return &sender.Sender{Client: c.HTTP, UserAgent: c.UserAgent}
	},
}
