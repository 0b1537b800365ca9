//go:build ignore

// gen_ingest_gzip writes apigw/ingest-events-gzip.json: an API Gateway HTTP API
// request whose body is the first lines of auth/mixed.ndjson, gzipped and
// base64-encoded as API Gateway hands binary bodies to Lambda. Run it with
// `go generate ./events/` after editing auth/mixed.ndjson.
package main

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"strconv"
	"time"
)

const (
	lines     = 12
	projectID = "proj_demo"
	apiID     = "k7q2m9x4ve"
	host      = apiID + ".execute-api.us-east-1.amazonaws.com"
	userAgent = "acme-log-shipper/1.8.2"
	sourceIP  = "198.51.100.7"
)

// The field order of these types is the order of the written JSON; they carry
// only the fields a real request has, where events.APIGatewayV2HTTPRequest
// would also write empty ones.
type request struct {
	Version         string            `json:"version"`
	RouteKey        string            `json:"routeKey"`
	RawPath         string            `json:"rawPath"`
	RawQueryString  string            `json:"rawQueryString"`
	Headers         map[string]string `json:"headers"`
	PathParameters  map[string]string `json:"pathParameters"`
	RequestContext  requestContext    `json:"requestContext"`
	Body            string            `json:"body"`
	IsBase64Encoded bool              `json:"isBase64Encoded"`
}

type requestContext struct {
	AccountID    string `json:"accountId"`
	APIID        string `json:"apiId"`
	DomainName   string `json:"domainName"`
	DomainPrefix string `json:"domainPrefix"`
	HTTP         struct {
		Method    string `json:"method"`
		Path      string `json:"path"`
		Protocol  string `json:"protocol"`
		SourceIP  string `json:"sourceIp"`
		UserAgent string `json:"userAgent"`
	} `json:"http"`
	RequestID string `json:"requestId"`
	RouteKey  string `json:"routeKey"`
	Stage     string `json:"stage"`
	Time      string `json:"time"`
	TimeEpoch int64  `json:"timeEpoch"`
}

func main() {
	nd, err := os.ReadFile("auth/mixed.ndjson")
	if err != nil {
		log.Fatal(err)
	}
	var plain []byte
	for i := 0; i < lines; i++ {
		j := bytes.IndexByte(nd, '\n')
		if j < 0 {
			log.Fatalf("auth/mixed.ndjson has fewer than %d lines", lines)
		}
		plain, nd = append(plain, nd[:j+1]...), nd[j+1:]
	}

	// A zero ModTime and no name keep the output identical from run to run.
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	if _, err := zw.Write(plain); err != nil {
		log.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		log.Fatal(err)
	}

	at := time.Date(2026, 11, 24, 7, 52, 10, 204_000_000, time.UTC)
	path := "/v1/projects/" + projectID + "/events"
	route := "POST /v1/projects/{project_id}/events"
	r := request{
		Version:        "2.0",
		RouteKey:       route,
		RawPath:        path,
		RawQueryString: "",
		Headers: map[string]string{
			"accept":           "application/json",
			"content-encoding": "gzip",
			// API Gateway passes the length of the body as sent: compressed.
			"content-length":    strconv.Itoa(gz.Len()),
			"content-type":      "application/x-ndjson",
			"host":              host,
			"user-agent":        userAgent,
			"x-amzn-trace-id":   fmt.Sprintf("Root=1-%08x-5d3c9e1a7b4f20c86e91d2a4", at.Unix()),
			"x-forwarded-for":   sourceIP,
			"x-forwarded-port":  "443",
			"x-forwarded-proto": "https",
		},
		PathParameters: map[string]string{"project_id": projectID},
		// A gzip body is not text, so API Gateway base64-encodes it.
		Body:            base64.StdEncoding.EncodeToString(gz.Bytes()),
		IsBase64Encoded: true,
	}
	rc := &r.RequestContext
	rc.AccountID = "123456789012"
	rc.APIID = apiID
	rc.DomainName = host
	rc.DomainPrefix = apiID
	rc.HTTP.Method = "POST"
	rc.HTTP.Path = path
	rc.HTTP.Protocol = "HTTP/1.1"
	rc.HTTP.SourceIP = sourceIP
	rc.HTTP.UserAgent = userAgent
	rc.RequestID = "Vq8XbT2mLk4NcREw="
	rc.RouteKey = route
	rc.Stage = "$default"
	rc.Time = at.Format("02/Jan/2006:15:04:05 -0700")
	rc.TimeEpoch = at.UnixMilli()

	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile("apigw/ingest-events-gzip.json", out.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
}
