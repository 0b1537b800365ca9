package manage

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/logstream/logstream/shared/destination"
	"github.com/logstream/logstream/shared/stream"
)

const ddKey = "0123456789abcdef0123456789abcdef"

func stytch(t *testing.T, a *API, route, typ, body string) (int, map[string]any) {
	t.Helper()
	r := callWithParams(t, a, route, map[string]string{"project_id": "p", "destination_type": typ}, body, map[string]string{})
	var m map[string]any
	if err := json.Unmarshal([]byte(r.Body), &m); err != nil {
		t.Fatalf("%d %s", r.StatusCode, r.Body)
	}
	if r.StatusCode/100 == 2 && (m["request_id"] == nil || m["status_code"] != float64(200)) {
		t.Fatalf("not a Stytch response: %s", r.Body)
	}
	return r.StatusCode, m
}

// allDeliverable is a deployment with every destination's delivery function.
func allDeliverable(a *API) *API {
	a.Validator.Deliverable = func(string) bool { return true }
	return a
}

func TestStytchCompatibleRoutes(t *testing.T) {
	a := allDeliverable(newAPI())
	rec := &recordedEmits{}
	a.Events = rec

	code, m := stytch(t, a, RouteStytchCreate, "", `{"destination_type":"DATADOG","destination_config":{"datadog":{"site":"US3","api_key":"`+ddKey+`"}}}`)
	if code != 200 {
		t.Fatalf("create: %d %v", code, m)
	}
	cfg := m["event_log_streaming_config"].(map[string]any)
	dd := cfg["destination_config"].(map[string]any)["datadog"].(map[string]any)
	// As in Stytch, a new config streams once enabled; the answer carries
	// the key just sent, as Stytch's client expects.
	if cfg["destination_type"] != "DATADOG" || cfg["streaming_status"] != "DISABLED" || dd["site"] != "US3" ||
		dd["api_key"] != ddKey || dd["api_key_last_four"] != nil {
		t.Fatalf("create answer %v", cfg)
	}
	if code, m := stytch(t, a, RouteStytchCreate, "", `{"destination_type":"DATADOG","destination_config":{"datadog":{"site":"US","api_key":"`+ddKey+`"}}}`); code != 409 || m["error_type"] != "duplicate_destination" {
		t.Fatalf("second DATADOG stream: %d %v", code, m)
	}

	// The same stream through the native routes: a datadog stream on US3's domain.
	list := decodeList(t, call(t, a, RouteList, "p", "", "", ""))
	if len(list) != 1 || list[0].DestinationType != destination.Datadog || !strings.Contains(string(list[0].DestinationConfig), `"site":"us3.datadoghq.com"`) {
		t.Fatalf("native view %+v", list)
	}

	if code, m := stytch(t, a, RouteStytchEnable, "DATADOG", ""); code != 200 || m["event_log_streaming_config"] != nil {
		t.Fatalf("enable: %d %v", code, m)
	}
	_, m = stytch(t, a, RouteStytchGet, "DATADOG", "")
	if m["event_log_streaming_config"].(map[string]any)["streaming_status"] != "ACTIVE" {
		t.Fatalf("get after enable: %v", m)
	}
	stytch(t, a, RouteStytchDisable, "DATADOG", "")
	stytch(t, a, RouteStytchEnable, "DATADOG", "")
	code, m = stytch(t, a, RouteStytchUpdate, "DATADOG", `{"destination_config":{"datadog":{"site":"EU","api_key":"ffffffffffffffffffffffffffff9999"}}}`)
	dd = m["event_log_streaming_config"].(map[string]any)["destination_config"].(map[string]any)["datadog"].(map[string]any)
	if code != 200 || dd["site"] != "EU" || dd["api_key"] != "ffffffffffffffffffffffffffff9999" || dd["api_key_last_four"] != nil {
		t.Fatalf("update: %d %v", code, m)
	}
	_, m = stytch(t, a, RouteStytchGet, "DATADOG", "")
	dd = m["event_log_streaming_config"].(map[string]any)["destination_config"].(map[string]any)["datadog"].(map[string]any)
	if dd["api_key"] != nil || dd["api_key_last_four"] != "9999" {
		t.Fatalf("get masks the key: %v", m)
	}
	if code, _ := stytch(t, a, RouteStytchDelete, "DATADOG", ""); code != 200 {
		t.Fatalf("delete: %d", code)
	}
	if code, m := stytch(t, a, RouteStytchGet, "DATADOG", ""); code != 404 || m["error_type"] != "not_found" || m["status_code"] != float64(404) {
		t.Fatalf("get after delete: %d %v", code, m)
	}
	if got := strings.Join(rec.types(), ","); got != "logstream.stream.created,logstream.stream.enabled,logstream.stream.disabled,logstream.stream.enabled,logstream.stream.updated,logstream.stream.deleted" {
		t.Fatalf("lifecycle events %s", got)
	}
}

func TestStytchLokiAndErrors(t *testing.T) {
	a := newAPI()
	code, m := stytch(t, a, RouteStytchCreate, "", `{"destination_type":"GRAFANA_LOKI","destination_config":{"grafana_loki":{"hostname":"logs-prod-eu-west-0.grafana.net","username":"123456","password":"glc_secret_password_abcd"}}}`)
	loki := m["event_log_streaming_config"].(map[string]any)["destination_config"].(map[string]any)["grafana_loki"].(map[string]any)
	if code != 200 || loki["password"] != "glc_secret_password_abcd" || loki["password_last_four"] != nil || loki["username"] != "123456" {
		t.Fatalf("loki create: %d %v", code, m)
	}
	s := decodeList(t, call(t, a, RouteList, "p", "", "", ""))[0]
	if !strings.Contains(string(s.DestinationConfig), `"format":"json"`) {
		t.Fatalf("a Stytch-made Loki stream sends gzip JSON, as Stytch does: %s", s.DestinationConfig)
	}
	for name, tc := range map[string]struct{ route, typ, body, errType string }{
		"wrong member":        {RouteStytchCreate, "", `{"destination_type":"DATADOG","destination_config":{"grafana_loki":{"hostname":"h","username":"u","password":"p"}}}`, "invalid_argument"},
		"both members":        {RouteStytchCreate, "", `{"destination_type":"DATADOG","destination_config":{"datadog":{"site":"US","api_key":"` + ddKey + `"},"grafana_loki":{"hostname":"h","username":"u","password":"p"}}}`, "invalid_argument"},
		"unknown type":        {RouteStytchCreate, "", `{"destination_type":"SPLUNK","destination_config":{}}`, "invalid_argument"},
		"bad site":            {RouteStytchCreate, "", `{"destination_type":"DATADOG","destination_config":{"datadog":{"site":"MARS","api_key":"` + ddKey + `"}}}`, "invalid_argument"},
		"bad api key":         {RouteStytchCreate, "", `{"destination_type":"DATADOG","destination_config":{"datadog":{"site":"US","api_key":"nope"}}}`, "invalid_argument"},
		"another project":     {RouteStytchCreate, "", `{"project_id":"q","destination_type":"DATADOG","destination_config":{"datadog":{"site":"US","api_key":"` + ddKey + `"}}}`, "invalid_argument"},
		"unknown type in url": {RouteStytchGet, "SPLUNK", "", "invalid_argument"},
		"missing stream":      {RouteStytchGet, "DATADOG", "", "not_found"},
	} {
		t.Run(name, func(t *testing.T) {
			code, m := stytch(t, a, tc.route, tc.typ, tc.body)
			if code/100 != 4 || m["error_type"] != tc.errType || m["error_message"] == "" || m["status_code"] != float64(code) {
				t.Fatalf("%d %v", code, m)
			}
		})
	}
}

func decodeList(t *testing.T, r events.APIGatewayV2HTTPResponse) []stream.Stream {
	t.Helper()
	var l ListResponse
	if err := json.Unmarshal([]byte(r.Body), &l); err != nil {
		t.Fatal(err)
	}
	return l.Data
}

// Until a destination type has a delivery function, its streams can be
// stored but not made active: an active one would receive nothing.
// A deployment without a type's delivery function (every type has one
// today; Validator.Deliverable stands for a deployment that left one out)
// stores such streams but cannot make them active.
func TestUndeliverableTypesCannotBeActive(t *testing.T) {
	a := newAPI()
	a.Validator.Deliverable = func(typ string) bool { return typ == "http" }
	if code, m := stytch(t, a, RouteStytchCreate, "", `{"project_id":"p","destination_type":"DATADOG","destination_config":{"datadog":{"site":"US","api_key":"`+ddKey+`"}}}`); code != 200 {
		t.Fatalf("a paused Stytch config is stored: %d %v", code, m)
	}
	if code, m := stytch(t, a, RouteStytchEnable, "DATADOG", ""); code != 400 || !strings.Contains(m["error_message"].(string), "no delivery function") {
		t.Fatalf("enable: %d %v", code, m)
	}
	native := `{"name":"dd","destination_type":"datadog","destination_config":{"site":"datadoghq.com","api_key":"` + ddKey + `"}}`
	if r := call(t, a, RouteCreate, "p", "", "", native); r.StatusCode != 400 || !strings.Contains(r.Body, `"field":"status"`) {
		t.Fatalf("active datadog stream: %d %s", r.StatusCode, r.Body)
	}
	paused := strings.Replace(native, `"name":"dd"`, `"name":"dd","status":"paused"`, 1)
	s := decodeStream(t, call(t, a, RouteCreate, "p", "", "", paused))
	if r := callWith(t, a, RouteEnable, "p", s.ID, "", nil); r.StatusCode != 400 {
		t.Fatalf("enable a paused datadog stream: %d %s", r.StatusCode, r.Body)
	}
	if r := callWith(t, a, RoutePatch, "p", s.ID, `{"status":"active"}`, nil); r.StatusCode != 400 {
		t.Fatalf("patch it active: %d %s", r.StatusCode, r.Body)
	}
	if r := call(t, a, RouteCreate, "p", "", "", createBody); r.StatusCode != 201 {
		t.Fatalf("http streams are delivered: %d %s", r.StatusCode, r.Body)
	}
}
