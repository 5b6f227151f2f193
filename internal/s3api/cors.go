package s3api

import (
	"encoding/xml"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/cofferstore/coffer/internal/object"
)

const (
	corsConfig     = "cors"
	maxCORSXML     = 64 << 10
	maxCORSRules   = 100
	corsPreflightE = "CORSResponse: This CORS request is not allowed. This is usually because the evaluation of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec."
)

// corsRule is one CORSRule of a bucket's CORSConfiguration.
type corsRule struct {
	ID             string   `xml:"ID,omitempty"`
	AllowedOrigins []string `xml:"AllowedOrigin"`
	AllowedMethods []string `xml:"AllowedMethod"`
	AllowedHeaders []string `xml:"AllowedHeader"`
	ExposeHeaders  []string `xml:"ExposeHeader"`
	MaxAgeSeconds  *int     `xml:"MaxAgeSeconds"`
}

type corsConfiguration struct {
	XMLName xml.Name   `xml:"CORSConfiguration"`
	Rules   []corsRule `xml:"CORSRule"`
}

var corsMethods = map[string]bool{"GET": true, "PUT": true, "HEAD": true, "POST": true, "DELETE": true}

func invalidCORS(msg string) error { return errorf("InvalidRequest", http.StatusBadRequest, msg) }

// ParseCORS decodes and validates a CORSConfiguration the way S3 does. It
// is exported for its fuzz target.
func ParseCORS(data []byte) (*corsConfiguration, error) {
	var c corsConfiguration
	if err := xml.Unmarshal(data, &c); err != nil {
		return nil, errMalformedXML
	}
	if len(c.Rules) == 0 || len(c.Rules) > maxCORSRules {
		return nil, errMalformedXML
	}
	for _, r := range c.Rules {
		if len(r.AllowedOrigins) == 0 || len(r.AllowedMethods) == 0 {
			return nil, errMalformedXML
		}
		for _, m := range r.AllowedMethods {
			if !corsMethods[m] {
				return nil, invalidCORS("Found unsupported HTTP method in CORS config. Unsupported method is " + m)
			}
		}
		for _, o := range r.AllowedOrigins {
			if strings.Count(o, "*") > 1 {
				return nil, invalidCORS("AllowedOrigin \"" + o + "\" can not have more than one wildcard.")
			}
		}
		for _, hd := range r.AllowedHeaders {
			if strings.Count(hd, "*") > 1 {
				return nil, invalidCORS("AllowedHeader \"" + hd + "\" can not have more than one wildcard.")
			}
		}
		if r.MaxAgeSeconds != nil && *r.MaxAgeSeconds < 0 {
			return nil, errMalformedXML
		}
	}
	return &c, nil
}

// wildcardMatch matches s against a pattern with at most one '*', case
// insensitively for header names and exactly for origins (fold decides).
func wildcardMatch(pattern, s string, fold bool) bool {
	if fold {
		pattern, s = strings.ToLower(pattern), strings.ToLower(s)
	}
	before, after, ok := strings.Cut(pattern, "*")
	if !ok {
		return pattern == s
	}
	return len(s) >= len(before)+len(after) && strings.HasPrefix(s, before) && strings.HasSuffix(s, after)
}

// match returns the first rule allowing origin, method and every one of
// the request headers, as S3 evaluates rules in order.
func (c *corsConfiguration) match(origin, method string, headers []string) *corsRule {
	for i := range c.Rules {
		r := &c.Rules[i]
		if !anyMatch(r.AllowedOrigins, origin, false) || !contains(r.AllowedMethods, method) {
			continue
		}
		ok := true
		for _, hd := range headers {
			if !anyMatch(r.AllowedHeaders, hd, true) {
				ok = false
				break
			}
		}
		if ok {
			return r
		}
	}
	return nil
}

func anyMatch(patterns []string, s string, fold bool) bool {
	for _, p := range patterns {
		if wildcardMatch(p, s, fold) {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func (h *Handler) bucketCORS(rq *request) (*corsConfiguration, error) {
	data, err := h.objects.BucketConfig(rq.ctx(), rq.bucket, corsConfig)
	if err != nil {
		return nil, err
	}
	return ParseCORS(data)
}

func (h *Handler) getBucketCors(rq *request) error {
	if err := h.bucketFor(rq); err != nil {
		return err
	}
	data, err := h.objects.BucketConfig(rq.ctx(), rq.bucket, corsConfig)
	if errors.Is(err, object.ErrNoSuchConfig) {
		return errorf("NoSuchCORSConfiguration", http.StatusNotFound, "The CORS configuration does not exist")
	}
	if err != nil {
		return err
	}
	return rq.writeXML(append(xmlHeader(), data...))
}

func (h *Handler) putBucketCors(rq *request) error {
	if err := h.bucketFor(rq); err != nil {
		return err
	}
	body, err := rq.auth.Body(rq.r.Body)
	if err != nil {
		return err
	}
	data, err := readLimited(body, maxCORSXML)
	if err != nil {
		return err
	}
	if md5, err := parseContentMD5(rq.r.Header); err != nil {
		return err
	} else if md5 != nil {
		if err := verifyBodyDigest(rq.r.Header, data); err != nil {
			return err
		}
	}
	cfg, err := ParseCORS(data)
	if err != nil {
		return err
	}
	cfg.XMLName = xml.Name{Space: xmlNS, Local: "CORSConfiguration"}
	canonical, err := xml.Marshal(cfg)
	if err != nil {
		return err
	}
	if err := h.objects.PutBucketConfig(rq.ctx(), rq.bucket, corsConfig, canonical); err != nil {
		return err
	}
	return rq.writeStatus(http.StatusOK)
}

func (h *Handler) deleteBucketCors(rq *request) error {
	if err := h.bucketFor(rq); err != nil {
		return err
	}
	if err := h.objects.DeleteBucketConfig(rq.ctx(), rq.bucket, corsConfig); err != nil {
		return err
	}
	return rq.writeStatus(http.StatusNoContent)
}

// preflight answers a CORS OPTIONS request from the bucket's rules. It
// needs no credentials: browsers send none on preflight.
func (h *Handler) preflight(rq *request) error {
	origin := rq.r.Header.Get("Origin")
	method := rq.r.Header.Get("Access-Control-Request-Method")
	if origin == "" || method == "" {
		return errorf("BadRequest", http.StatusBadRequest, "Insufficient information. Origin request header needed.")
	}
	var headers []string
	for _, v := range rq.r.Header.Values("Access-Control-Request-Headers") {
		for _, hd := range strings.Split(v, ",") {
			if hd = strings.TrimSpace(hd); hd != "" {
				headers = append(headers, strings.ToLower(hd))
			}
		}
	}
	cfg, err := h.bucketCORS(rq)
	if errors.Is(err, object.ErrNoSuchConfig) || errors.Is(err, object.ErrNoSuchBucket) {
		return errorf("AccessForbidden", http.StatusForbidden, corsPreflightE)
	}
	if err != nil {
		return err
	}
	rule := cfg.match(origin, method, headers)
	if rule == nil {
		return errorf("AccessForbidden", http.StatusForbidden, corsPreflightE)
	}
	hdr := rq.w.Header()
	setAllowOrigin(hdr, rule, origin)
	hdr.Set("Access-Control-Allow-Methods", strings.Join(rule.AllowedMethods, ", "))
	if len(headers) > 0 {
		hdr.Set("Access-Control-Allow-Headers", strings.Join(headers, ", "))
	}
	if len(rule.ExposeHeaders) > 0 {
		hdr.Set("Access-Control-Expose-Headers", strings.Join(rule.ExposeHeaders, ", "))
	}
	if rule.MaxAgeSeconds != nil {
		hdr.Set("Access-Control-Max-Age", strconv.Itoa(*rule.MaxAgeSeconds))
	}
	hdr.Add("Vary", "Origin, Access-Control-Request-Headers, Access-Control-Request-Method")
	return rq.writeStatus(http.StatusOK)
}

func setAllowOrigin(hdr http.Header, rule *corsRule, origin string) {
	if contains(rule.AllowedOrigins, "*") {
		hdr.Set("Access-Control-Allow-Origin", "*")
		return
	}
	hdr.Set("Access-Control-Allow-Origin", origin)
	hdr.Set("Access-Control-Allow-Credentials", "true")
}

// corsHeaders adds the Access-Control-* headers an actual cross-origin
// request gets when a rule allows it. It runs before the operation so the
// headers go out with success and error responses alike.
func (h *Handler) corsHeaders(rq *request) {
	origin := rq.r.Header.Get("Origin")
	if origin == "" || rq.bucket == "" {
		return
	}
	cfg, err := h.bucketCORS(rq)
	if err != nil {
		return // no rules (or no bucket): the browser will refuse the response
	}
	rule := cfg.match(origin, rq.r.Method, nil)
	if rule == nil {
		return
	}
	hdr := rq.w.Header()
	setAllowOrigin(hdr, rule, origin)
	hdr.Set("Access-Control-Allow-Methods", strings.Join(rule.AllowedMethods, ", "))
	if len(rule.ExposeHeaders) > 0 {
		hdr.Set("Access-Control-Expose-Headers", strings.Join(rule.ExposeHeaders, ", "))
	}
	hdr.Add("Vary", "Origin")
}
