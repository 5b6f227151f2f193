package s3api

import (
	"errors"
	"net/http"

	"github.com/cofferstore/coffer/internal/lifecycle"
	"github.com/cofferstore/coffer/internal/object"
)

func (h *Handler) getBucketLifecycle(rq *request) error {
	if err := h.bucketFor(rq); err != nil {
		return err
	}
	data, err := h.objects.BucketConfig(rq.ctx(), rq.bucket, lifecycle.ConfigName)
	if errors.Is(err, object.ErrNoSuchConfig) {
		return errorf("NoSuchLifecycleConfiguration", http.StatusNotFound, "The lifecycle configuration does not exist.")
	}
	if err != nil {
		return err
	}
	return rq.writeXML(data)
}

func (h *Handler) putBucketLifecycle(rq *request) error {
	if err := h.bucketFor(rq); err != nil {
		return err
	}
	body, err := rq.auth.Body(rq.r.Body)
	if err != nil {
		return err
	}
	data, err := readLimited(body, lifecycle.MaxSize)
	if err != nil {
		return err
	}
	cfg, err := lifecycle.Parse(data)
	if err != nil {
		return err
	}
	// Stored re-encoded: what is kept is exactly what was validated, and
	// GET returns it with the ids S3 would have assigned.
	if err := h.objects.PutBucketConfig(rq.ctx(), rq.bucket, lifecycle.ConfigName, cfg.Bytes()); err != nil {
		return err
	}
	return rq.writeStatus(http.StatusOK)
}

func (h *Handler) deleteBucketLifecycle(rq *request) error {
	if err := h.bucketFor(rq); err != nil {
		return err
	}
	if err := h.objects.DeleteBucketConfig(rq.ctx(), rq.bucket, lifecycle.ConfigName); err != nil {
		return err
	}
	return rq.writeStatus(http.StatusNoContent)
}

// lifecycleError maps a lifecycle validation error to S3's code, with the
// message that says what was wrong.
func lifecycleError(le *lifecycle.Error) *apiError {
	switch {
	case errors.Is(le, lifecycle.ErrMalformedXML):
		return errMalformedXML
	case errors.Is(le, lifecycle.ErrNotImplemented):
		return errorf("NotImplemented", http.StatusNotImplemented, le.Message)
	case errors.Is(le, lifecycle.ErrInvalidRequest):
		return errorf("InvalidRequest", http.StatusBadRequest, le.Message)
	}
	return errorf("InvalidArgument", http.StatusBadRequest, le.Message)
}
