package main

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
)

var errRemote = errors.New("endpoint is not a loopback address (pass -allow-remote to allow it)")

// parseEndpoint checks an S3 endpoint URL: http or https, a host, no path,
// query or credentials. Unless allowRemote, the host must be a loopback IP
// or "localhost"; other names are refused without being resolved, so that
// a load test cannot reach another machine by accident.
func parseEndpoint(raw string, allowRemote bool) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("parsing endpoint: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("endpoint %q: scheme must be http or https", raw)
	}
	if u.Host == "" || u.Hostname() == "" {
		return nil, fmt.Errorf("endpoint %q: no host", raw)
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("endpoint %q: only scheme://host[:port] is supported", raw)
	}
	u.Path = ""
	if !allowRemote && !isLoopback(u.Hostname()) {
		return nil, fmt.Errorf("endpoint %q: %w", raw, errRemote)
	}
	return u, nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
