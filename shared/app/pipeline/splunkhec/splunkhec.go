// Package splunkhec is the delivery pipeline of "splunk_hec" streams: Splunk HTTP Event Collector.
// It is the one package a delivery function imports for its destination type.
package splunkhec

import (
	"github.com/logstream/logstream/shared/app/deliverfn"
	"github.com/logstream/logstream/shared/deliver"
	"github.com/logstream/logstream/shared/destination"
	sender "github.com/logstream/logstream/shared/sink/splunk"
)

// Pipeline builds the splunk_hec sender.
var Pipeline = deliverfn.Pipeline{
	Type:   destination.SplunkHEC,
	Limits: sender.Limits,
	Sender: func(c deliverfn.Clients) deliver.Sender {
		return &sender.Sender{Client: c.HTTP, UserAgent: c.UserAgent}
	},
}
