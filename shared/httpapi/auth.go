package httpapi

import (
	"context"
	"errors"
	"net/http"

	"github.com/aws/aws-lambda-go/events"
	"github.com/logstream/logstream/shared/apikey"
)

// Authenticator resolves an Authorization header to an API key.
type Authenticator interface {
	Authenticate(ctx context.Context, authorization string) (apikey.Key, error)
}

var (
	errUnauthenticated = &Error{Status: http.StatusUnauthorized, Code: "unauthenticated",
		Message: "send a valid API key: Authorization: Bearer <key>"}
	// errElsewhere answers a key asking about a project outside its scope
	// exactly as a missing resource, so it learns nothing about that project.
	errElsewhere = &Error{Status: http.StatusNotFound, Code: "not_found", Message: "not found"}
)

// Authorize checks the request's API key against what the route needs: access
// to projectID, or with projectID "" an admin key. A nil Authenticator refuses
// everything, so a handler wired without one fails closed.
func Authorize(ctx context.Context, a Authenticator, req events.APIGatewayV2HTTPRequest, projectID string, need apikey.Access) (apikey.Key, error) {
	if a == nil {
		return apikey.Key{}, errUnauthenticated
	}
	k, err := a.Authenticate(ctx, Header(req, "authorization"))
	if errors.Is(err, apikey.ErrUnauthenticated) {
		return apikey.Key{}, errUnauthenticated
	}
	if err != nil {
		return apikey.Key{}, err
	}
	switch {
	case k.Admin:
		return k, nil
	case projectID == "":
		return apikey.Key{}, Errorf(http.StatusForbidden, "forbidden", "this route needs the admin key")
	case !k.HasProject(projectID):
		return apikey.Key{}, errElsewhere
	case !k.Allows(projectID, need):
		return apikey.Key{}, Errorf(http.StatusForbidden, "forbidden", "this API key may only %s project %s", k.Access, projectID)
	}
	return k, nil
}
