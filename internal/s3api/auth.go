package s3api

import (
	"errors"
	"net/http"

	"github.com/cofferstore/coffer/internal/sigv2"
	"github.com/cofferstore/coffer/internal/sigv4"
)

// authenticate verifies the request's signature: Signature V2 (when
// enabled) for older clients, else SigV4 in a header or the query, else
// anonymous. V2 carries no payload hash; its body integrity is Content-MD5,
// which the write path checks.
func (h *Handler) authenticate(r *http.Request, vhostBucket string) (*sigv4.Auth, error) {
	if h.v2 != nil {
		a, err := h.v2.Verify(r, vhostBucket)
		switch {
		case err == nil:
			return &sigv4.Auth{AccessKey: a.AccessKey, Presigned: a.Presigned, PayloadHash: sigv4.UnsignedPayload}, nil
		case !errors.Is(err, sigv2.ErrNotV2):
			return nil, err
		}
	} else if isV2(r) {
		return nil, errorf("AccessDenied", http.StatusForbidden, "Signature Version 2 is disabled on this server; sign requests with SigV4.")
	}
	return h.verifier.Verify(r)
}

// isV2 reports whether a request is V2-signed, so that a server with V2
// disabled can say so instead of treating it as anonymous.
func isV2(r *http.Request) bool {
	if a := r.Header.Get("Authorization"); len(a) > 4 && a[:4] == "AWS " {
		return true
	}
	return r.URL.Query().Has("AWSAccessKeyId")
}
