// Package grafanaloki is the delivery pipeline of "grafana_loki" streams: Grafana Loki (push API).
// It is the one package a delivery function imports for its destination type.
package grafanaloki

import (
	"github.com/logstream/logstream/shared/app/deliverfn"
	"github.com/logstream/logstream/shared/deliver"
	"github.com/logstream/logstream/shared/destination"
	sender "github.com/logstream/logstream/shared/sink/loki"
)

// Pipeline builds the grafana_loki sender.
var Pipeline = deliverfn.Pipeline{
	Type:   destination.GrafanaLoki,
	Limits: sender.Limits,
	Sender: func(c deliverfn.Clients) deliver.Sender {
		return &sender.Sender{Client: c.HTTP, UserAgent: c.UserAgent}
	},
}
