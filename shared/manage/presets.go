package manage

import (
	"context"
	"errors"
	"net/http"

	"github.com/aws/aws-lambda-go/events"
	"github.com/logstream/logstream/shared/apikey"
	"github.com/logstream/logstream/shared/filter"
	"github.com/logstream/logstream/shared/httpapi"
	"github.com/logstream/logstream/shared/topology"
)

// Route keys of the ready-made filters.
const (
	RouteListFilterPresets = topology.RouteListFilterPresets
	RouteGetFilterPreset   = topology.RouteGetFilterPreset
)

// PresetList is the answer of GET /v1/filter-presets.
type PresetList struct {
	Data []filter.Preset `json:"data"`
}

// presetRoutes serve the same data to every caller: they read no project.
var presetRoutes = map[string]func(req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error){
	RouteListFilterPresets: func(events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		return httpapi.JSON(http.StatusOK, PresetList{Data: filter.Presets()}), nil
	},
	RouteGetFilterPreset: func(req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		name := req.PathParameters["name"]
		p, ok := filter.Lookup(name)
		if !ok {
			return events.APIGatewayV2HTTPResponse{}, httpapi.Errorf(http.StatusNotFound, "not_found",
				"no filter preset %q; GET /v1/filter-presets lists them", name)
		}
		return httpapi.JSON(http.StatusOK, p), nil
	},
}

// anyKey lets any valid key through, of any project and access: the
// presets are the same for everyone, but the API answers no one without a
// key. A nil Authenticator refuses, as httpapi.Authorize does.
func (a *API) anyKey(ctx context.Context, req events.APIGatewayV2HTTPRequest) (apikey.Key, error) {
	unauthenticated := httpapi.Errorf(http.StatusUnauthorized, "unauthenticated", "send a valid API key: Authorization: Bearer <key>")
	if a.Auth == nil {
		return apikey.Key{}, unauthenticated
	}
	k, err := a.Auth.Authenticate(ctx, httpapi.Header(req, "authorization"))
	if errors.Is(err, apikey.ErrUnauthenticated) {
		return apikey.Key{}, unauthenticated
	}
	return k, err
}
