package invoke

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/logstream/logstream/shared/deadletter"
	"github.com/logstream/logstream/shared/jobrun"
	"github.com/logstream/logstream/shared/replay"
)

// Starter starts a job's worker (a dead-letter redrive or purge, a replay):
// an asynchronous invocation (InvocationType Event) of the function that
// runs it, with shared/jobrun's payload, so the job runs
// outside the API's 30 s and the API answers at once. Lambda queues the
// event and retries it if the function is throttled; if it is lost all the
// same, the function's scheduled tick resumes the job.
type Starter struct {
	Client   LambdaAPI
	Function string
}

var (
	_ deadletter.Starter = (*Starter)(nil)
	_ replay.Starter     = (*Starter)(nil)
)

// Start invokes the function with the job's reference.
func (s *Starter) Start(ctx context.Context, projectID, jobID string) error {
	payload, err := json.Marshal(jobrun.Invocation{Job: &jobrun.JobRef{ProjectID: projectID, ID: jobID}})
	if err != nil {
		return err
	}
	if _, err := s.Client.Invoke(ctx, &lambda.InvokeInput{FunctionName: &s.Function, InvocationType: types.InvocationTypeEvent, Payload: payload}); err != nil {
		return fmt.Errorf("invoke %s for job %s: %w", s.Function, jobID, err)
	}
	return nil
}
