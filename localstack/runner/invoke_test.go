package runner

import (
	"context"
	"testing"
	"time"
)

// TestInvokeOutputOutlivesTheNextInvocation: aws-lambda-go answers Invoke
// with its pooled output buffer, which the environment's next invocation
// writes again. An answer must stay what it was after the environment is
// reused (two pollers reading partial batch responses raced on it).
func TestInvokeOutputOutlivesTheNextInvocation(t *testing.T) {
	fn := testFunction(t, "echo", time.Second, func(_ context.Context, s string) (string, error) { return s, nil })
	first, err := fn.invoke(context.Background(), []byte(`"first"`))
	if err != nil {
		t.Fatal(err)
	}
	for range 10 { // the one environment, reused
		if _, err := fn.invoke(context.Background(), []byte(`"later"`)); err != nil {
			t.Fatal(err)
		}
	}
	if string(first) != `"first"` {
		t.Errorf("first answer now %s", first)
	}
}
