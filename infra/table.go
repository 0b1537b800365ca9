package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/logstream/logstream/shared/topology"
)

// newStreamsTable creates the single-table-design streams table. It is retained
// when the stack is deleted: it holds customers' stream configuration.
func newStreamsTable(scope constructs.Construct, t topology.Table) awsdynamodb.Table {
	return awsdynamodb.NewTable(scope, jsii.String("StreamsTable"), &awsdynamodb.TableProps{
		TableName:    jsii.String(t.Name),
		PartitionKey: &awsdynamodb.Attribute{Name: jsii.String(t.PartitionKey), Type: awsdynamodb.AttributeType_STRING},
		SortKey:      &awsdynamodb.Attribute{Name: jsii.String(t.SortKey), Type: awsdynamodb.AttributeType_STRING},
		BillingMode:  awsdynamodb.BillingMode_PAY_PER_REQUEST,
		// Circuit items expire a day after their last open period.
		TimeToLiveAttribute: jsii.String(t.TTLAttribute),
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{
			PointInTimeRecoveryEnabled: jsii.Bool(true),
		},
		Encryption:    awsdynamodb.TableEncryption_AWS_MANAGED,
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
}
