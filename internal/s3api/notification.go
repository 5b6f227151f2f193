package s3api

import (
	"errors"
	"net/http"

	"github.com/cofferstore/coffer/internal/notify"
)

func (h *Handler) getBucketNotification(rq *request) error {
	if err := h.bucketFor(rq); err != nil {
		return err
	}
	var data []byte
	if h.cfg.Notifications != nil {
		var err error
		if data, err = h.cfg.Notifications.Config(rq.ctx(), rq.bucket); err != nil {
			return err
		}
	}
	if data == nil {
		out := xmlHeader()
		out = append(out, `<NotificationConfiguration xmlns="`+xmlNS+`"/>`...)
		return rq.writeXML(out)
	}
	return rq.writeXML(data)
}

func (h *Handler) putBucketNotification(rq *request) error {
	if err := h.bucketFor(rq); err != nil {
		return err
	}
	body, err := rq.auth.Body(rq.r.Body)
	if err != nil {
		return err
	}
	data, err := readLimited(body, notify.MaxConfigSize)
	if err != nil {
		return err
	}
	if h.cfg.Notifications == nil {
		// No targets: only an empty configuration is valid.
		cfg, err := notify.ParseConfig(data)
		if err != nil {
			return err
		}
		if err := notify.Validate(cfg, func(string) bool { return false }); err != nil {
			return err
		}
		return rq.writeStatus(http.StatusOK)
	}
	if err := h.cfg.Notifications.PutConfig(rq.ctx(), rq.bucket, data, rq.id); err != nil {
		return err
	}
	return rq.writeStatus(http.StatusOK)
}

// notifyError maps a refused notification configuration to S3's code with
// the message that says what was wrong.
func notifyError(err error) (*apiError, bool) {
	var ae *notify.ArgumentError
	switch {
	case errors.As(err, &ae):
		msg := ae.Message
		for _, a := range ae.Args {
			msg += " " + a.Name + ": " + a.Value + "."
		}
		return errorf("InvalidArgument", http.StatusBadRequest, msg), true
	case errors.Is(err, notify.ErrMalformedXML):
		return errMalformedXML, true
	case errors.Is(err, notify.ErrInvalidArgument):
		return errorf("InvalidArgument", http.StatusBadRequest, err.Error()), true
	}
	return nil, false
}
