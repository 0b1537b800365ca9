package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
)

// lambdaPathPrefix and lambdaPathSuffix frame the Invoke operation's path:
// POST /2015-03-31/functions/{FunctionName}/invocations.
const (
	lambdaPathPrefix = "/2015-03-31/functions/"
	lambdaPathSuffix = "/invocations"
)

// lambdaAPI serves Lambda's Invoke operation (REST-JSON, as aws-sdk-go-v2's
// lambda client calls it) for the stack's functions, so a function that
// invokes another (the API sending a test event through a delivery function)
// takes the same code path as in AWS, with AWS_ENDPOINT_URL_LAMBDA pointing
// here. It emulates: the function named by name, ARN or partial ARN
// (optionally qualified with $LATEST); RequestResponse (200 with the handler's
// answer, or 200 with X-Amz-Function-Error: Unhandled and Lambda's error
// document when the handler fails, times out or panics), Event (202, run in
// the background) and DryRun (204); and Lambda's own errors: 404
// ResourceNotFoundException, 413 RequestTooLargeException over the 6 MB
// payload quota, 400 InvalidRequestContentException for a payload that is
// not JSON. Not emulated: versions and aliases, X-Amz-Log-Type tails,
// throttling, client context.
type lambdaAPI struct {
	fns    map[string]*function // by function ID
	region string
	log    *slog.Logger
	// invokeCtx parents every invocation, as the gateway's does.
	invokeCtx context.Context
}

func (l *lambdaAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name, ok := strings.CutPrefix(r.URL.Path, lambdaPathPrefix)
	name, ok2 := strings.CutSuffix(name, lambdaPathSuffix)
	if !ok || !ok2 || r.Method != http.MethodPost {
		writeLambdaError(w, http.StatusNotFound, "UnknownOperationException", "Unknown operation "+r.Method+" "+r.URL.Path)
		return
	}
	fn := l.function(name, r.URL.Query().Get("Qualifier"))
	if fn == nil {
		writeLambdaError(w, http.StatusNotFound, "ResourceNotFoundException", "Function not found: "+name)
		return
	}
	payload, err := io.ReadAll(io.LimitReader(r.Body, invokePayloadLimit+1))
	switch {
	case err != nil:
		writeLambdaError(w, http.StatusBadRequest, "InvalidRequestContentException", "Could not read the request body")
		return
	case len(payload) > invokePayloadLimit:
		writeLambdaError(w, http.StatusRequestEntityTooLarge, "RequestTooLargeException",
			fmt.Sprintf("Request must be smaller than %d bytes for the Invoke operation", invokePayloadLimit))
		return
	case len(payload) == 0:
		payload = []byte("{}") // the SDK sends no body for a nil Payload; Lambda passes {}
	case !json.Valid(payload):
		writeLambdaError(w, http.StatusBadRequest, "InvalidRequestContentException", "Could not parse request body into json")
		return
	}
	w.Header().Set("X-Amz-Executed-Version", "$LATEST")
	switch r.Header.Get("X-Amz-Invocation-Type") {
	case "DryRun":
		w.WriteHeader(http.StatusNoContent)
		return
	case "Event":
		go func() {
			if _, err := fn.invoke(l.invokeCtx, payload); err != nil {
				l.log.Error("asynchronous invocation failed", "function", fn.spec.ID, "err", err)
			}
		}()
		w.WriteHeader(http.StatusAccepted)
		return
	}
	out, err := fn.invoke(l.invokeCtx, payload)
	if err != nil {
		l.log.Warn("invocation failed", "function", fn.spec.ID, "err", err)
		doc, _ := json.Marshal(errorDocument(err))
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Amz-Function-Error", "Unhandled")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(doc)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out)
}

// function finds the function a FunctionName names: its name, its ARN, or a
// partial ARN (account:function:name, function:name), each optionally
// qualified with $LATEST, the only version the stack runs.
func (l *lambdaAPI) function(name, qualifier string) *function {
	if qualifier != "" && qualifier != "$LATEST" {
		return nil
	}
	name = strings.TrimSuffix(name, ":$LATEST")
	for _, fn := range l.fns {
		if name == fn.arn || strings.HasSuffix(fn.arn, ":"+name) {
			return fn
		}
	}
	return nil
}

// errorDocument is Lambda's answer for a failed invocation: the handler's
// own error as the Go runtime reports it (its message and type name), or the
// sandbox's for a timeout or a crash.
func errorDocument(err error) map[string]string {
	var he *handlerError
	switch {
	case errors.Is(err, errTimeout):
		return map[string]string{"errorType": "Sandbox.Timedout", "errorMessage": err.Error()}
	case errors.As(err, &he):
		t := reflect.TypeOf(he.err)
		if t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		return map[string]string{"errorType": t.Name(), "errorMessage": he.err.Error()}
	}
	return map[string]string{"errorType": "Runtime.ExitError", "errorMessage": err.Error()}
}

// writeLambdaError answers one of Lambda's own errors, in the REST-JSON shape
// the SDK decodes: the code in X-Amzn-ErrorType, the message in the body.
func writeLambdaError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-ErrorType", code)
	w.WriteHeader(status)
	body, _ := json.Marshal(map[string]string{"Type": "User", "message": message})
	_, _ = w.Write(body)
}
