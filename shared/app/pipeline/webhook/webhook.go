// Package webhook is the delivery pipeline of "http" streams: webhooks (HTTP POST of JSON).
// It is the one package a delivery function imports for its destination type.
package webhook

import (
	"github.com/logstream/logstream/shared/app/deliverfn"
	"github.com/logstream/logstream/shared/deliver"
	"github.com/logstream/logstream/shared/destination"
	sender "github.com/logstream/logstream/shared/sink/webhook"
)

// Pipeline builds the http sender.
var Pipeline = deliverfn.Pipeline{
	Type:   destination.HTTP,
	Limits: sender.Limits,
	Sender: func(c deliverfn.Clients) deliver.Sender {
		return &sender.Sender{Client: c.HTTP, UserAgent: c.UserAgent}
	},
}
