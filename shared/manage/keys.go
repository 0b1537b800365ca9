package manage

import (
	"context"
	"errors"
	"net/http"

	"github.com/aws/aws-lambda-go/events"
	"github.com/logstream/logstream/shared/apikey"
	"github.com/logstream/logstream/shared/httpapi"
	"github.com/logstream/logstream/shared/stream"
)

// CreateKeyRequest is the body of POST /v1/keys.
type CreateKeyRequest struct {
	Name     string        `json:"name"`
	Projects []string      `json:"projects"`
	Access   apikey.Access `json:"access"`
}

// CreatedKey is the answer to POST /v1/keys: the only time the secret is shown.
type CreatedKey struct {
	Key    apikey.Key `json:"key"`
	Secret string     `json:"secret"`
}

// createKey issues a key: the only answer that carries its secret.
func (a *API) createKey(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	body, err := a.body(req)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	var cr CreateKeyRequest
	if err := stream.DecodeStrict(body, &cr); err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	secret, k, err := apikey.Generate(cr.Name, cr.Projects, cr.Access, a.now())
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	if err := a.Keys.Create(ctx, k); err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	a.log().InfoContext(ctx, "api key created", "key_id", k.ID, "access", k.Access, "projects", len(k.Projects))
	return httpapi.JSON(http.StatusCreated, CreatedKey{Key: k, Secret: secret}), nil
}

// listKeys lists every key, revoked ones included.
func (a *API) listKeys(ctx context.Context, _ events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	ks, err := a.Keys.List(ctx)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	if ks == nil {
		ks = []apikey.Key{}
	}
	return httpapi.JSON(http.StatusOK, struct {
		Data []apikey.Key `json:"data"`
	}{ks}), nil
}

// revokeKey revokes a key and answers it.
func (a *API) revokeKey(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	k, err := a.Keys.Revoke(ctx, req.PathParameters["key_id"], a.now())
	if errors.Is(err, apikey.ErrNotFound) {
		return events.APIGatewayV2HTTPResponse{}, httpapi.Errorf(http.StatusNotFound, "not_found", "api key not found")
	}
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	a.log().InfoContext(ctx, "api key revoked", "key_id", k.ID)
	return httpapi.JSON(http.StatusOK, k), nil
}
