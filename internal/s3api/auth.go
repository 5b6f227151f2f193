package s3api

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/cofferstore/coffer/internal/meta"
	"github.com/cofferstore/coffer/internal/sharelink"
	"github.com/cofferstore/coffer/internal/sigv2"
	"github.com/cofferstore/coffer/internal/sigv4"
)

// authenticate verifies the request's signature and, for a presigned URL
// that is a share link, that the link has not been revoked.
func (h *Handler) authenticate(r *http.Request, vhostBucket string) (*sigv4.Auth, error) {
	a, err := h.verifySignature(r, vhostBucket)
	if err != nil || !a.Presigned || h.cfg.ShareLinks == nil {
		return a, err
	}
	if err := h.checkShareLink(r); err != nil {
		return nil, err
	}
	return a, nil
}

// checkShareLink asks the registry about the link a presigned request
// names. It runs after the signature verified, so the id is the one the
// link's creator signed; the registry fails closed on anything it cannot
// vouch for, except an outage of its store, which the client may retry.
func (h *Handler) checkShareLink(r *http.Request) error {
	id, found, err := sharelink.IDFromQuery(r.URL.RawQuery)
	if err != nil {
		return fmt.Errorf("checking share link: %v: %w", err, errShareLinkRevoked)
	}
	if !found {
		return nil
	}
	err = h.cfg.ShareLinks.Active(r.Context(), id)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, meta.ErrUnavailable), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("checking share link: %w", err)
	}
	return fmt.Errorf("checking share link: %v: %w", err, errShareLinkRevoked)
}

// verifySignature verifies the request's signature: Signature V2 (when
// enabled) for older clients, else SigV4 in a header or the query, else
// anonymous. V2 carries no payload hash; its body integrity is Content-MD5,
// which the write path checks.
func (h *Handler) verifySignature(r *http.Request, vhostBucket string) (*sigv4.Auth, error) {
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
