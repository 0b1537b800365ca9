package main

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/logstream/logstream/shared/topology"
)

// httpAPI is the HTTP API and the URL of its $default stage.
type httpAPI struct {
	API awsapigatewayv2.HttpApi
	URL *string
}

// newHTTPAPI creates the HTTP API with one route per spec route, each
// integrated (payload format 2.0) with its function. The functions
// authenticate every request's bearer API key themselves, so routes carry no
// API Gateway authorizer: keys are per project and scope, which an authorizer
// would have to look up in the same table anyway.
func newHTTPAPI(scope constructs.Construct, spec topology.Spec, functions map[string]awslambda.Function) httpAPI {
	api := awsapigatewayv2.NewHttpApi(scope, jsii.String("HttpApi"), &awsapigatewayv2.HttpApiProps{
		ApiName:            jsii.String(spec.Prefix),
		Description:        jsii.String("logstream HTTP API (" + spec.Prefix + ")"),
		CreateDefaultStage: jsii.Bool(false),
	})
	stage := api.AddStage(jsii.String("DefaultStage"), &awsapigatewayv2.HttpStageOptions{
		StageName:  jsii.String("$default"),
		AutoDeploy: jsii.Bool(true),
		// Stage-wide throttling, by default well under the account's
		// 10,000 rps, so one noisy caller cannot starve other APIs in the
		// account or run up the on-demand table bill; requests above it
		// get 429. LOGSTREAM_CAPACITY raises it (docs/scaling.md).
		Throttle: &awsapigatewayv2.ThrottleSettings{
			RateLimit:  jsii.Number(spec.Capacity.APIRate),
			BurstLimit: jsii.Number(spec.Capacity.APIBurst),
		},
	})

	integrations := make(map[string]awsapigatewayv2integrations.HttpLambdaIntegration)
	for _, r := range spec.Routes {
		integration, ok := integrations[r.Function]
		if !ok {
			fn, found := functions[r.Function]
			if !found {
				panic(fmt.Sprintf("logstream: route %s targets unknown function %q", r.Key(), r.Function))
			}
			integration = awsapigatewayv2integrations.NewHttpLambdaIntegration(
				jsii.String(pascal(r.Function)+"Integration"), fn, nil)
			integrations[r.Function] = integration
		}
		api.AddRoutes(&awsapigatewayv2.AddRoutesOptions{
			Path:        jsii.String(r.Path),
			Methods:     &[]awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod(r.Method)},
			Integration: integration,
		})
	}
	return httpAPI{API: api, URL: stage.Url()}
}
