package mgmtapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/cofferstore/coffer/internal/meta"
)

// Console settings (S4's Settings API). They are records of kind
// "setting" in the metadata store, not process state, so every instance
// behind a load balancer reads what any of them saved.
//
// S4 is a console in front of someone else's S3 endpoint and keeps how to
// reach it; Coffer is the S3 endpoint, so /settings/s3 describes it and
// cannot be changed here. S4 also reaches the internet (Hugging Face, via
// a proxy); Coffer never does, so those settings are kept for the console
// but their tests answer 501.

const settingKind = "setting"

// Setting record ids.
const (
	settingHuggingFace     = "huggingface"
	settingProxy           = "proxy"
	settingMaxTransfers    = "max-concurrent-transfers"
	settingMaxFilesPerPage = "max-files-per-page"
	settingDisclaimer      = "disclaimer"
)

// Defaults and bounds are S4's.
const (
	defaultMaxTransfers    = 2
	maxMaxTransfers        = 20
	defaultMaxFilesPerPage = 100
	minMaxFilesPerPage     = 10
	maxMaxFilesPerPage     = 1000
	defaultDisclaimer      = "unknown"
	maxSettingString       = 2048
	s3TestTimeout          = 5 * time.Second
)

// settingsUpdated is S4's answer to every successful PUT but the
// disclaimer's.
var settingsUpdated = messageResponse{Message: "Settings updated successfully"}

func (a *API) settingsRoutes() {
	a.handle("GET /api/settings/s3", a.getS3Settings)
	a.handle("PUT /api/settings/s3", a.putS3Settings)
	a.handle("POST /api/settings/test-s3", a.testS3Settings)
	a.handle("GET /api/settings/huggingface", a.getHuggingFaceSettings)
	a.handle("PUT /api/settings/huggingface", a.putHuggingFaceSettings)
	a.handle("POST /api/settings/test-huggingface", a.testHuggingFaceSettings)
	a.handle("GET /api/settings/proxy", a.getProxySettings)
	a.handle("PUT /api/settings/proxy", a.putProxySettings)
	a.handle("POST /api/settings/test-proxy", a.testProxySettings)
	a.handle("GET /api/settings/max-concurrent-transfers", a.getMaxTransfers)
	a.handle("PUT /api/settings/max-concurrent-transfers", a.putMaxTransfers)
	a.handle("GET /api/settings/max-files-per-page", a.getMaxFilesPerPage)
	a.handle("PUT /api/settings/max-files-per-page", a.putMaxFilesPerPage)
	a.handle("GET /api/settings/disclaimer", a.getDisclaimer)
	a.handle("PUT /api/settings/disclaimer", a.putDisclaimer)
}

// loadSetting decodes setting id into v; a missing record leaves v as is
// (the caller's default).
func (a *API) loadSetting(ctx context.Context, id string, v any) error {
	r, err := a.cfg.Store.GetRecord(ctx, settingKind, id)
	if errors.Is(err, meta.ErrRecordNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading setting %s: %w", id, err)
	}
	if err := json.Unmarshal(r.Data, v); err != nil {
		return fmt.Errorf("decoding setting %s: %w", id, err)
	}
	return nil
}

func (a *API) saveSetting(ctx context.Context, id string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding setting %s: %w", id, err)
	}
	if _, err := a.cfg.Store.PutRecord(ctx, meta.Record{Kind: settingKind, ID: id, Data: data, Rev: meta.RevAny}); err != nil {
		return fmt.Errorf("saving setting %s: %w", id, err)
	}
	return nil
}

// s3SettingsJSON is S4's shape. Coffer has no single access key to show:
// each user has their own (GET /api/credentials), so the key fields are
// empty.
type s3SettingsJSON struct {
	AccessKeyID     string `json:"accessKeyId"`
	SecretAccessKey string `json:"secretAccessKey"`
	Region          string `json:"region"`
	Endpoint        string `json:"endpoint"`
	DefaultBucket   string `json:"defaultBucket"`
}

// GET /api/settings/s3 — S4 GET /settings/s3
// {"settings": {accessKeyId, secretAccessKey, region, endpoint,
// defaultBucket}, "readOnly": true}: Coffer's own S3 endpoint and region.
func (a *API) getS3Settings(c *call) (any, error) {
	if err := c.authorize("admin:GetSettings", "", "", nil); err != nil {
		return nil, err
	}
	return map[string]any{
		"settings": s3SettingsJSON{Region: a.cfg.Region, Endpoint: a.cfg.S3Endpoint},
		"readOnly": true,
	}, nil
}

// PUT /api/settings/s3 — S4 PUT /settings/s3
// Always 400 (after authorization): Coffer is the S3 endpoint, configured
// at start-up.
func (a *API) putS3Settings(c *call) (any, error) {
	if err := c.authorize("admin:PutSettings", "", "", nil); err != nil {
		return nil, err
	}
	return nil, errorf(http.StatusBadRequest, "ReadOnlySetting",
		"Coffer is the S3 endpoint, not a client of one: its address and region are start-up configuration (COFFER_S3_ADDR, COFFER_PUBLIC_S3_URL, COFFER_REGION)")
}

// POST /api/settings/test-s3 — S4 POST /settings/test-s3
// Checks that Coffer's S3 endpoint answers HTTP at all (any status is a
// success) → {"message", "endpoint", "status"}; 502 ConnectionFailed when
// it does not. A body (S4 sends credentials and an endpoint) is ignored:
// only Coffer's own endpoint is ever contacted.
func (a *API) testS3Settings(c *call) (any, error) {
	if err := c.authorize("admin:GetSettings", "", "", nil); err != nil {
		return nil, err
	}
	ep := a.cfg.S3Endpoint
	if ep == "" {
		return nil, errorf(http.StatusBadRequest, "NotConfigured", "this server has no public S3 endpoint configured (COFFER_PUBLIC_S3_URL)")
	}
	ctx, cancel := context.WithTimeout(c.ctx, s3TestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, ep, nil)
	if err != nil {
		return nil, errorf(http.StatusBadRequest, "NotConfigured", "the configured S3 endpoint %q is not a URL", ep)
	}
	// Never follow a redirect: the endpoint answering is the whole test.
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := hc.Do(req)
	if err != nil {
		return nil, errorf(http.StatusBadGateway, "ConnectionFailed", "the S3 endpoint %s did not answer: %v", ep, err)
	}
	io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10)) //nolint:errcheck // only the status matters
	res.Body.Close()
	return map[string]any{"message": "Connection successful", "endpoint": ep, "status": res.StatusCode}, nil
}

// huggingFaceSetting is the stored form: the token sealed under the master
// key (secrets are encrypted at rest) and its mask, which is all any
// reader is ever shown.
type huggingFaceSetting struct {
	Sealed string `json:"sealed,omitempty"`
	Masked string `json:"masked,omitempty"`
}

// huggingFacePurpose binds the sealed token to this setting.
const huggingFacePurpose = "setting:" + settingHuggingFace

// maskSecret shows S4's mask: the first 4 characters and "****"; a short
// secret is all mask, and no secret stays "".
func maskSecret(s string) string {
	switch {
	case s == "":
		return ""
	case len(s) <= 8:
		return "****"
	}
	return s[:4] + "****"
}

// GET /api/settings/huggingface — S4 GET /settings/huggingface
// {"settings": {"hfToken": masked}}: never the token itself.
func (a *API) getHuggingFaceSettings(c *call) (any, error) {
	if err := c.authorize("admin:GetSettings", "", "", nil); err != nil {
		return nil, err
	}
	var s huggingFaceSetting
	if err := a.loadSetting(c.ctx, settingHuggingFace, &s); err != nil {
		return nil, err
	}
	return map[string]any{"settings": map[string]string{"hfToken": s.Masked}}, nil
}

// PUT /api/settings/huggingface — S4 PUT /settings/huggingface
// Body {"hfToken": string} ("" clears it) → {"message"}.
func (a *API) putHuggingFaceSettings(c *call) (any, error) {
	if err := c.authorize("admin:PutSettings", "", "", nil); err != nil {
		return nil, err
	}
	var in struct {
		HFToken *string `json:"hfToken"`
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if in.HFToken == nil {
		return nil, errorf(http.StatusBadRequest, "InvalidRequest", "hfToken must be a string")
	}
	tok := strings.TrimSpace(*in.HFToken)
	if len(tok) > maxSettingString || strings.ContainsFunc(tok, func(r rune) bool { return r < 0x21 || r == 0x7f }) {
		return nil, errorf(http.StatusBadRequest, "InvalidRequest", "hfToken must be at most %d printable characters without spaces", maxSettingString)
	}
	stored := huggingFaceSetting{}
	if tok != "" {
		sealed, err := a.cfg.IAM.SealSecret(huggingFacePurpose, []byte(tok))
		if err != nil {
			return nil, fmt.Errorf("sealing the token: %w", err)
		}
		stored = huggingFaceSetting{Sealed: sealed, Masked: maskSecret(tok)}
	}
	if err := a.saveSetting(c.ctx, settingHuggingFace, stored); err != nil {
		return nil, err
	}
	c.log.Info("setting changed", "setting", settingHuggingFace)
	return settingsUpdated, nil
}

// errNoOutbound answers the test-* routes of outbound connections.
func errNoOutbound(what string) error {
	return errorf(http.StatusNotImplemented, "NotImplemented",
		"%s: Coffer never connects to the internet, so outbound imports (Hugging Face) are not supported; the setting is only stored", what)
}

// POST /api/settings/test-huggingface — S4 POST /settings/test-huggingface
// 501: Coffer makes no outbound connections.
func (a *API) testHuggingFaceSettings(c *call) (any, error) {
	if err := c.authorize("admin:PutSettings", "", "", nil); err != nil {
		return nil, err
	}
	return nil, errNoOutbound("cannot test a Hugging Face connection")
}

type proxySetting struct {
	HTTPProxy  string `json:"httpProxy"`
	HTTPSProxy string `json:"httpsProxy"`
}

// GET /api/settings/proxy — S4 GET /settings/proxy
// {"settings": {httpProxy, httpsProxy}}, passwords in the URLs masked.
func (a *API) getProxySettings(c *call) (any, error) {
	if err := c.authorize("admin:GetSettings", "", "", nil); err != nil {
		return nil, err
	}
	var s proxySetting
	if err := a.loadSetting(c.ctx, settingProxy, &s); err != nil {
		return nil, err
	}
	return map[string]any{"settings": proxySetting{HTTPProxy: redactURL(s.HTTPProxy), HTTPSProxy: redactURL(s.HTTPSProxy)}}, nil
}

func redactURL(s string) string {
	u, err := url.Parse(s)
	if s == "" || err != nil {
		return s
	}
	return u.Redacted()
}

// parseProxyURL accepts "" or an http(s) URL with a host.
func parseProxyURL(field, s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(s) > maxSettingString {
		return "", errorf(http.StatusBadRequest, "InvalidRequest", "%s must be an http:// or https:// URL with a host, or empty", field)
	}
	return s, nil
}

// PUT /api/settings/proxy — S4 PUT /settings/proxy
// Body {httpProxy, httpsProxy} (each optional, "" clears) → {"message"}.
func (a *API) putProxySettings(c *call) (any, error) {
	if err := c.authorize("admin:PutSettings", "", "", nil); err != nil {
		return nil, err
	}
	var in proxySetting
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	var s proxySetting
	var err error
	if s.HTTPProxy, err = parseProxyURL("httpProxy", in.HTTPProxy); err != nil {
		return nil, err
	}
	if s.HTTPSProxy, err = parseProxyURL("httpsProxy", in.HTTPSProxy); err != nil {
		return nil, err
	}
	if err := a.saveSetting(c.ctx, settingProxy, s); err != nil {
		return nil, err
	}
	c.log.Info("setting changed", "setting", settingProxy)
	return settingsUpdated, nil
}

// POST /api/settings/test-proxy — S4 POST /settings/test-proxy
// 501: Coffer makes no outbound connections.
func (a *API) testProxySettings(c *call) (any, error) {
	if err := c.authorize("admin:PutSettings", "", "", nil); err != nil {
		return nil, err
	}
	return nil, errNoOutbound("cannot test a proxy")
}

type maxTransfersSetting struct {
	MaxConcurrentTransfers int `json:"maxConcurrentTransfers"`
}

// maxConcurrentTransfers is how many keys one transfer copies at a time.
func (a *API) maxConcurrentTransfers(ctx context.Context) (int, error) {
	s := maxTransfersSetting{MaxConcurrentTransfers: defaultMaxTransfers}
	if err := a.loadSetting(ctx, settingMaxTransfers, &s); err != nil {
		return 0, err
	}
	return min(max(s.MaxConcurrentTransfers, 1), maxMaxTransfers), nil
}

// GET /api/settings/max-concurrent-transfers — S4 GET /settings/max-concurrent-transfers
// {"maxConcurrentTransfers": n} (default 2): the keys a transfer copies at once.
func (a *API) getMaxTransfers(c *call) (any, error) {
	if err := c.authorize("admin:GetSettings", "", "", nil); err != nil {
		return nil, err
	}
	n, err := a.maxConcurrentTransfers(c.ctx)
	if err != nil {
		return nil, err
	}
	return maxTransfersSetting{MaxConcurrentTransfers: n}, nil
}

// decodeIntSetting reads {"<field>": n} with n an integer in [lo, hi].
func decodeIntSetting(c *call, field string, lo, hi int) (int, error) {
	var in map[string]json.RawMessage
	if err := c.decode(&in); err != nil {
		return 0, err
	}
	var f float64
	raw, ok := in[field]
	if !ok || json.Unmarshal(raw, &f) != nil || f != math.Trunc(f) || f < float64(lo) || f > float64(hi) {
		return 0, errorf(http.StatusBadRequest, "InvalidRequest", "%s must be a whole number between %d and %d", field, lo, hi)
	}
	return int(f), nil
}

// PUT /api/settings/max-concurrent-transfers — S4 PUT /settings/max-concurrent-transfers
// Body {"maxConcurrentTransfers": 1..20} → {"message"}; transfers that
// start afterwards use it.
func (a *API) putMaxTransfers(c *call) (any, error) {
	if err := c.authorize("admin:PutSettings", "", "", nil); err != nil {
		return nil, err
	}
	n, err := decodeIntSetting(c, "maxConcurrentTransfers", 1, maxMaxTransfers)
	if err != nil {
		return nil, err
	}
	if err := a.saveSetting(c.ctx, settingMaxTransfers, maxTransfersSetting{MaxConcurrentTransfers: n}); err != nil {
		return nil, err
	}
	c.log.Info("setting changed", "setting", settingMaxTransfers, "value", n)
	return settingsUpdated, nil
}

type maxFilesPerPageSetting struct {
	MaxFilesPerPage int `json:"maxFilesPerPage"`
}

// GET /api/settings/max-files-per-page — S4 GET /settings/max-files-per-page
// {"maxFilesPerPage": n} (default 100), for any signed-in user: the
// console's page size.
func (a *API) getMaxFilesPerPage(c *call) (any, error) {
	s := maxFilesPerPageSetting{MaxFilesPerPage: defaultMaxFilesPerPage}
	if err := a.loadSetting(c.ctx, settingMaxFilesPerPage, &s); err != nil {
		return nil, err
	}
	return s, nil
}

// PUT /api/settings/max-files-per-page — S4 PUT /settings/max-files-per-page
// Body {"maxFilesPerPage": 10..1000} → {"message"}.
func (a *API) putMaxFilesPerPage(c *call) (any, error) {
	if err := c.authorize("admin:PutSettings", "", "", nil); err != nil {
		return nil, err
	}
	n, err := decodeIntSetting(c, "maxFilesPerPage", minMaxFilesPerPage, maxMaxFilesPerPage)
	if err != nil {
		return nil, err
	}
	if err := a.saveSetting(c.ctx, settingMaxFilesPerPage, maxFilesPerPageSetting{MaxFilesPerPage: n}); err != nil {
		return nil, err
	}
	c.log.Info("setting changed", "setting", settingMaxFilesPerPage, "value", n)
	return settingsUpdated, nil
}

type disclaimerSetting struct {
	Status string `json:"status"`
}

// GET /api/settings/disclaimer — S4 GET /settings/disclaimer
// {"disclaimer": {"status": s}} ("unknown" until set), for any signed-in
// user: the console shows the disclaimer until it is accepted.
func (a *API) getDisclaimer(c *call) (any, error) {
	s := disclaimerSetting{Status: defaultDisclaimer}
	if err := a.loadSetting(c.ctx, settingDisclaimer, &s); err != nil {
		return nil, err
	}
	return map[string]any{"disclaimer": s}, nil
}

// PUT /api/settings/disclaimer — S4 PUT /settings/disclaimer
// Body {"status": s} (1 to 64 printable characters, e.g. "accepted") →
// {"message": "Disclaimer status updated"}.
func (a *API) putDisclaimer(c *call) (any, error) {
	if err := c.authorize("admin:PutSettings", "", "", nil); err != nil {
		return nil, err
	}
	var in struct {
		Status *string `json:"status"`
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if in.Status == nil || *in.Status == "" || len(*in.Status) > 64 ||
		strings.ContainsFunc(*in.Status, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return nil, errorf(http.StatusBadRequest, "InvalidRequest", "status must be 1 to 64 printable characters, e.g. \"accepted\"")
	}
	if err := a.saveSetting(c.ctx, settingDisclaimer, disclaimerSetting{Status: *in.Status}); err != nil {
		return nil, err
	}
	c.log.Info("setting changed", "setting", settingDisclaimer)
	return messageResponse{Message: "Disclaimer status updated"}, nil
}
