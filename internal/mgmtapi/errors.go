package mgmtapi

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"syscall"
	"time"

	"github.com/cofferstore/coffer/internal/iam"
	"github.com/cofferstore/coffer/internal/lifecycle"
	"github.com/cofferstore/coffer/internal/meta"
	"github.com/cofferstore/coffer/internal/notify"
	"github.com/cofferstore/coffer/internal/object"
	"github.com/cofferstore/coffer/internal/policy"
	"github.com/cofferstore/coffer/internal/session"
	"github.com/cofferstore/coffer/internal/sharelink"
)

// Errors of this surface (the others come from the layers below).
var (
	// ErrUnauthenticated: no credentials, or ones that name nobody (401).
	ErrUnauthenticated = errors.New("authentication required")
	// ErrCSRF: a cookie-authenticated write without the CSRF header (403).
	ErrCSRF = errors.New("missing or wrong CSRF token")
)

const minute = time.Minute

// Error is an API error as the client sees it.
type Error struct {
	Status  int    `json:"-"`
	Name    string `json:"error"`
	Message string `json:"message"`
	// RetryAfter is when a rate-limited client may try again, in Unix
	// milliseconds as S4 documents it.
	RetryAfter int64 `json:"retryAfter,omitempty"`
}

func (e *Error) Error() string { return e.Name + ": " + e.Message }

// errorf makes an Error with a formatted message.
func errorf(status int, name, format string, args ...any) *Error {
	return &Error{Status: status, Name: name, Message: fmt.Sprintf(format, args...)}
}

type rateLimitError struct {
	limit   int
	retryAt time.Time
}

func (e *rateLimitError) Error() string {
	return fmt.Sprintf("too many requests: at most %d per minute", e.limit)
}

// mapping pairs a sentinel with what the client sees. Order matters: the
// first match wins, so specific errors come before the general ones they
// also wrap.
var mapping = []struct {
	err    error
	status int
	name   string
}{
	{ErrUnauthenticated, http.StatusUnauthorized, "Unauthorized"},
	{session.ErrInvalidToken, http.StatusUnauthorized, "InvalidToken"},
	{session.ErrExpired, http.StatusUnauthorized, "TokenExpired"},
	{session.ErrRevoked, http.StatusUnauthorized, "TokenRevoked"},
	{session.ErrTicketInvalid, http.StatusUnauthorized, "InvalidTicket"},
	{iam.ErrBadCredentials, http.StatusUnauthorized, "InvalidCredentials"},
	{iam.ErrUnknownAccessKey, http.StatusUnauthorized, "InvalidCredentials"},
	{iam.ErrUserDisabled, http.StatusForbidden, "UserDisabled"},
	{ErrCSRF, http.StatusForbidden, "CSRFTokenInvalid"},
	{iam.ErrAccessDenied, http.StatusForbidden, "AccessDenied"},

	{iam.ErrUserNotFound, http.StatusNotFound, "UserNotFound"},
	{iam.ErrGroupNotFound, http.StatusNotFound, "GroupNotFound"},
	{iam.ErrKeyNotFound, http.StatusNotFound, "AccessKeyNotFound"},
	{iam.ErrPolicyNotFound, http.StatusNotFound, "PolicyNotFound"},
	{iam.ErrTokenNotFound, http.StatusNotFound, "TokenNotFound"},
	{iam.ErrNotAttached, http.StatusNotFound, "NotAttached"},
	{iam.ErrUserExists, http.StatusConflict, "UserAlreadyExists"},
	{iam.ErrGroupExists, http.StatusConflict, "GroupAlreadyExists"},
	{iam.ErrKeyExists, http.StatusConflict, "AccessKeyAlreadyExists"},
	{iam.ErrPolicyExists, http.StatusConflict, "PolicyAlreadyExists"},
	{iam.ErrPolicyInUse, http.StatusConflict, "PolicyInUse"},
	{iam.ErrBuiltinPolicy, http.StatusConflict, "BuiltinPolicy"},
	{iam.ErrUserOwnsBuckets, http.StatusConflict, "UserOwnsBuckets"},
	{iam.ErrInvalidName, http.StatusBadRequest, "InvalidName"},
	{iam.ErrInvalidInput, http.StatusBadRequest, "InvalidRequest"},
	{iam.ErrInvalidACL, http.StatusBadRequest, "InvalidACL"},
	{policy.ErrMalformed, http.StatusBadRequest, "MalformedPolicy"},

	{sharelink.ErrNotFound, http.StatusNotFound, "ShareLinkNotFound"},
	{sharelink.ErrInvalid, http.StatusBadRequest, "InvalidRequest"},

	{object.ErrNoSuchBucket, http.StatusNotFound, "NoSuchBucket"},
	{object.ErrNoSuchVersion, http.StatusNotFound, "NoSuchVersion"},
	{object.ErrNoSuchKey, http.StatusNotFound, "NoSuchKey"},
	{object.ErrNoSuchUpload, http.StatusNotFound, "NoSuchUpload"},
	{object.ErrNoSuchConfig, http.StatusNotFound, "NoSuchConfiguration"},
	{object.ErrNoSuchTagSet, http.StatusNotFound, "NoSuchTagSet"},
	{object.ErrNoObjectLockConfig, http.StatusNotFound, "ObjectLockConfigurationNotFound"},
	{object.ErrNoSuchObjectLock, http.StatusNotFound, "NoSuchObjectLockConfiguration"},
	{meta.ErrRecordNotFound, http.StatusNotFound, "NotFound"},
	{object.ErrBucketAlreadyExists, http.StatusConflict, "BucketAlreadyExists"},
	{object.ErrBucketOwnedByYou, http.StatusConflict, "BucketAlreadyOwnedByYou"},
	{meta.ErrBucketExists, http.StatusConflict, "BucketAlreadyExists"},
	{object.ErrBucketNotEmpty, http.StatusConflict, "BucketNotEmpty"},
	{object.ErrObjectLocked, http.StatusConflict, "ObjectLocked"},
	{object.ErrInvalidBucketState, http.StatusConflict, "InvalidBucketState"},
	{object.ErrRetentionDenied, http.StatusForbidden, "AccessDenied"},
	{meta.ErrConflict, http.StatusConflict, "Conflict"},
	{object.ErrPreconditionFailed, http.StatusPreconditionFailed, "PreconditionFailed"},
	{object.ErrInvalidBucketName, http.StatusBadRequest, "InvalidBucketName"},
	{object.ErrInvalidKey, http.StatusBadRequest, "InvalidKey"},
	{object.ErrKeyTooLong, http.StatusBadRequest, "KeyTooLongError"},
	{object.ErrMetadataTooLarge, http.StatusBadRequest, "MetadataTooLarge"},
	{object.ErrEntityTooLarge, http.StatusRequestEntityTooLarge, "EntityTooLarge"},
	{object.ErrIncompleteBody, http.StatusBadRequest, "IncompleteBody"},
	{object.ErrInvalidRange, http.StatusRequestedRangeNotSatisfiable, "InvalidRange"},
	{object.ErrInvalidTag, http.StatusBadRequest, "InvalidTag"},
	{object.ErrInvalidRetention, http.StatusBadRequest, "InvalidRetention"},
	{object.ErrInvalidArgument, http.StatusBadRequest, "InvalidArgument"},
	{object.ErrInvalidRequest, http.StatusBadRequest, "InvalidRequest"},
	{notify.ErrMalformedXML, http.StatusBadRequest, "MalformedNotificationConfiguration"},
	{notify.ErrInvalidArgument, http.StatusBadRequest, "InvalidNotificationConfiguration"},

	{syscall.ENOSPC, http.StatusInsufficientStorage, "InsufficientStorage"},
	{meta.ErrUnavailable, http.StatusServiceUnavailable, "ServiceUnavailable"},
}

// asError maps any error to what the client sees. Unknown errors are 500
// and say nothing of their cause (which is logged).
func asError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var rl *rateLimitError
	if errors.As(err, &rl) {
		return &Error{Status: http.StatusTooManyRequests, Name: "RateLimitExceeded",
			Message:    fmt.Sprintf("Too many requests. Maximum %d per minute.", rl.limit),
			RetryAfter: rl.retryAt.UnixMilli()}
	}
	var le *lifecycle.Error
	if errors.As(err, &le) {
		return &Error{Status: http.StatusBadRequest, Name: "MalformedLifecycle", Message: le.Error()}
	}
	for _, m := range mapping {
		if errors.Is(err, m.err) {
			return &Error{Status: m.status, Name: m.name, Message: err.Error()}
		}
	}
	return &Error{Status: http.StatusInternalServerError, Name: "InternalError", Message: "internal error; see the server log"}
}

func (a *API) writeError(w http.ResponseWriter, r *http.Request, err error) {
	e := asError(err)
	if e.RetryAfter != 0 {
		secs := max(1, (time.UnixMilli(e.RetryAfter).Sub(a.now())+time.Second-1)/time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(int(secs)))
	}
	if e.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="coffer"`)
	}
	writeJSON(w, e.Status, e)
}

// constantEqual compares secrets without leaking where they differ.
func constantEqual(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
