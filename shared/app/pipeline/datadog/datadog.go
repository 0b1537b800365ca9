// Package datadog is the delivery pipeline of "datadog" streams: Datadog logs (HTTP intake v2).
// It is the one package a delivery function imports for its destination type.
package datadog

import (
	"github.com/logstream/logstream/shared/app/deliverfn"
	"github.com/logstream/logstream/shared/deliver"
	"github.com/logstream/logstream/shared/destination"
	sender "github.com/logstream/logstream/shared/sink/datadog"
)

// Pipeline builds the datadog sender.
var Pipeline = deliverfn.Pipeline{
	Type:   destination.Datadog,
	Limits: sender.Limits,
	Sender: func(c deliverfn.Clients) deliver.Sender {
		return &sender.Sender{Client: c.HTTP, UserAgent: c.UserAgent}
	},
}
