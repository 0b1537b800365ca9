// Package pipeline lists every destination type's delivery pipeline, for what
// needs them all: the API's test route and the local runner. A delivery
// function imports its own type's package (shared/app/pipeline/<type>) instead.
package pipeline

import (
	"github.com/logstream/logstream/shared/app/deliverfn"
	"github.com/logstream/logstream/shared/app/pipeline/datadog"
	"github.com/logstream/logstream/shared/app/pipeline/eventbridge"
	"github.com/logstream/logstream/shared/app/pipeline/grafanaloki"
	"github.com/logstream/logstream/shared/app/pipeline/s3"
	"github.com/logstream/logstream/shared/app/pipeline/splunkhec"
	"github.com/logstream/logstream/shared/app/pipeline/webhook"
)

// All is every destination type's pipeline, in topology.Destinations' order.
func All() []deliverfn.Pipeline {
	return []deliverfn.Pipeline{datadog.Pipeline, grafanaloki.Pipeline, splunkhec.Pipeline,
		webhook.Pipeline, eventbridge.Pipeline, s3.Pipeline}
}
