package s3api

import (
	"context"
	"errors"
	"net/http"

	"github.com/cofferstore/coffer/internal/iam"
	"github.com/cofferstore/coffer/internal/lifecycle"
	"github.com/cofferstore/coffer/internal/object"
	"github.com/cofferstore/coffer/internal/postpolicy"
	"github.com/cofferstore/coffer/internal/sigv2"
	"github.com/cofferstore/coffer/internal/sigv4"
)

// apiError is an S3 error response: the code clients switch on, its HTTP
// status and a human message.
type apiError struct {
	Code    string
	Status  int
	Message string
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

// errorf builds an error the handlers return for a request that is wrong
// in a way no domain error names (a bad query parameter, say).
func errorf(code string, status int, msg string) *apiError {
	return &apiError{Code: code, Status: status, Message: msg}
}

var (
	errNotImplemented   = errorf("NotImplemented", http.StatusNotImplemented, "A header or query you provided implies functionality that is not implemented.")
	errMethodNotAllowed = errorf("MethodNotAllowed", http.StatusMethodNotAllowed, "The specified method is not allowed against this resource.")
	errMalformedXML     = errorf("MalformedXML", http.StatusBadRequest, "The XML you provided was not well-formed or did not validate against our published schema.")
	errMissingLength    = errorf("MissingContentLength", http.StatusLengthRequired, "You must provide the Content-Length HTTP header.")
	errInternal         = errorf("InternalError", http.StatusInternalServerError, "We encountered an internal error. Please try again.")
	// errShareLinkRevoked is wrapped (not returned bare) so the log keeps
	// the registry's reason; toAPIError finds it with errors.As.
	errShareLinkRevoked = errorf("AccessDenied", http.StatusForbidden, "This share link has been revoked or has expired.")
)

// mapping lists every domain sentinel the S3 surface can meet, in the one
// place they become S3 codes. Order matters only where one error wraps
// another; the first match wins.
var mapping = []struct {
	err error
	api apiError
}{
	{object.ErrNoSuchBucket, apiError{"NoSuchBucket", 404, "The specified bucket does not exist."}},
	{object.ErrNoSuchVersion, apiError{"NoSuchVersion", 404, "The specified version does not exist."}},
	{object.ErrNoSuchKey, apiError{"NoSuchKey", 404, "The specified key does not exist."}},
	{object.ErrObjectLocked, apiError{"AccessDenied", 403, "Access Denied because object protected by object lock."}},
	{object.ErrRetentionDenied, apiError{"AccessDenied", 403, "Access Denied because object protected by object lock."}},
	{object.ErrInvalidBucketState, apiError{"InvalidBucketState", 409, "The request is not valid with the current state of the bucket."}},
	{object.ErrNoObjectLockConfig, apiError{"InvalidRequest", 400, "Bucket is missing Object Lock Configuration"}},
	{object.ErrNoSuchObjectLock, apiError{"NoSuchObjectLockConfiguration", 404, "The specified object does not have a ObjectLock configuration"}},
	{object.ErrInvalidRetention, apiError{"InvalidArgument", 400, "The retention you specified is not valid: the mode must be GOVERNANCE or COMPLIANCE and the retain until date must be in the future."}},
	{object.ErrBucketNotEmpty, apiError{"BucketNotEmpty", 409, "The bucket you tried to delete is not empty."}},
	{object.ErrBucketAlreadyExists, apiError{"BucketAlreadyExists", 409, "The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again."}},
	{object.ErrBucketOwnedByYou, apiError{"BucketAlreadyOwnedByYou", 409, "Your previous request to create the named bucket succeeded and you already own it."}},
	{object.ErrInvalidBucketName, apiError{"InvalidBucketName", 400, "The specified bucket is not valid."}},
	{object.ErrKeyTooLong, apiError{"KeyTooLongError", 400, "Your key is too long."}},
	{object.ErrInvalidKey, apiError{"InvalidArgument", 400, "Object keys must be non-empty valid UTF-8."}},
	{object.ErrMetadataTooLarge, apiError{"MetadataTooLarge", 400, "Your metadata headers exceed the maximum allowed metadata size."}},
	{object.ErrEntityTooLarge, apiError{"EntityTooLarge", 400, "Your proposed upload exceeds the maximum allowed object size."}},
	{object.ErrIncompleteBody, apiError{"IncompleteBody", 400, "You did not provide the number of bytes specified by the Content-Length HTTP header."}},
	{object.ErrBadDigest, apiError{"BadDigest", 400, "The Content-MD5 you specified did not match what we received."}},
	{object.ErrInvalidDigest, apiError{"InvalidDigest", 400, "The Content-MD5 you specified is not valid."}},
	{object.ErrChecksumMismatch, apiError{"BadDigest", 400, "The checksum you specified did not match the calculated checksum."}},
	{object.ErrInvalidChecksum, apiError{"InvalidRequest", 400, "The checksum value you specified is not valid for its algorithm."}},
	{object.ErrInvalidRange, apiError{"InvalidRange", 416, "The requested range is not satisfiable."}},
	{object.ErrPreconditionFailed, apiError{"PreconditionFailed", 412, "At least one of the pre-conditions you specified did not hold."}},
	{object.ErrNotModified, apiError{"NotModified", 304, "Not Modified"}},
	{object.ErrInvalidArgument, apiError{"InvalidArgument", 400, "Invalid argument."}},
	{object.ErrNoSuchUpload, apiError{"NoSuchUpload", 404, "The specified multipart upload does not exist. The upload ID might be invalid, or the multipart upload might have been aborted or completed."}},
	{object.ErrInvalidPart, apiError{"InvalidPart", 400, "One or more of the specified parts could not be found. The part might not have been uploaded, or the specified entity tag might not have matched the part's entity tag."}},
	{object.ErrInvalidPartOrder, apiError{"InvalidPartOrder", 400, "The list of parts was not in ascending order. The parts list must be specified in order by part number."}},
	{object.ErrEntityTooSmall, apiError{"EntityTooSmall", 400, "Your proposed upload is smaller than the minimum allowed object size."}},
	{object.ErrInvalidPartNumber, apiError{"InvalidPartNumber", 416, "The requested partnumber is not satisfiable"}},
	{object.ErrMalformedCompletion, apiError{"MalformedXML", 400, "The XML you provided was not well-formed or did not validate against our published schema."}},
	{object.ErrInvalidRequest, apiError{"InvalidRequest", 400, "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes."}},
	{object.ErrInvalidTag, apiError{"InvalidTag", 400, "The tag provided was not a valid tag. Tags have at most 128-character keys and 256-character values, no aws: prefix, and at most 10 per object (50 per bucket)."}},
	{object.ErrServiceUnavailable, apiError{"ServiceUnavailable", 503, "The service is unavailable. Please retry."}},
	{iam.ErrAccessDenied, apiError{"AccessDenied", 403, "Access Denied."}},
	{iam.ErrUnknownAccessKey, apiError{"InvalidAccessKeyId", 403, "The AWS access key Id you provided does not exist in our records."}},
	{sigv4.ErrUnknownAccessKey, apiError{"InvalidAccessKeyId", 403, "The AWS access key Id you provided does not exist in our records."}},
	{sigv4.ErrSignatureMismatch, apiError{"SignatureDoesNotMatch", 403, "The request signature we calculated does not match the signature you provided. Check your key and signing method."}},
	{sigv4.ErrChunkSignatureMismatch, apiError{"SignatureDoesNotMatch", 403, "The chunk signature we calculated does not match the signature you provided."}},
	{sigv4.ErrMalformedAuth, apiError{"AuthorizationHeaderMalformed", 400, "The authorization header or query parameters are malformed."}},
	{sigv4.ErrUnsupportedAlgorithm, apiError{"InvalidArgument", 400, "Unsupported signing algorithm."}},
	{sigv4.ErrMissingDate, apiError{"AccessDenied", 403, "AWS authentication requires a valid Date or x-amz-date header."}},
	{sigv4.ErrRequestExpired, apiError{"AccessDenied", 403, "Request has expired."}},
	{sigv4.ErrExpiresTooLarge, apiError{"AuthorizationQueryParametersError", 400, "X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be less than 604800 seconds."}},
	{sigv4.ErrTimeSkewed, apiError{"RequestTimeTooSkewed", 403, "The difference between the request time and the current time is too large."}},
	{sigv4.ErrInvalidContentSHA256, apiError{"InvalidArgument", 400, "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-*, or a valid sha256 value."}},
	{sigv4.ErrContentSHA256Mismatch, apiError{"XAmzContentSHA256Mismatch", 400, "The provided 'x-amz-content-sha256' header does not match what was computed."}},
	{sigv2.ErrUnknownAccessKey, apiError{"InvalidAccessKeyId", 403, "The AWS access key Id you provided does not exist in our records."}},
	{sigv2.ErrSignatureMismatch, apiError{"SignatureDoesNotMatch", 403, "The request signature we calculated does not match the signature you provided. Check your key and signing method."}},
	{sigv2.ErrMalformedAuth, apiError{"InvalidArgument", 400, "The Signature Version 2 authorization is malformed."}},
	{sigv2.ErrMissingDate, apiError{"AccessDenied", 403, "AWS authentication requires a valid Date or x-amz-date header."}},
	{sigv2.ErrTimeSkewed, apiError{"RequestTimeTooSkewed", 403, "The difference between the request time and the current time is too large."}},
	{sigv2.ErrRequestExpired, apiError{"AccessDenied", 403, "Request has expired."}},
	{postpolicy.ErrMalformed, apiError{"MalformedPOSTRequest", 400, "The body of your POST request is not well-formed multipart/form-data."}},
	{postpolicy.ErrMalformedPolicy, apiError{"InvalidPolicyDocument", 400, "The content of the form does not meet the conditions specified in the policy document."}},
	{postpolicy.ErrPolicyExpired, apiError{"AccessDenied", 403, "Invalid according to Policy: Policy expired."}},
	{postpolicy.ErrConditionFailed, apiError{"AccessDenied", 403, "Invalid according to Policy: Policy Condition failed."}},
	{postpolicy.ErrMalformedAuth, apiError{"InvalidArgument", 400, "Bucket POST must contain the fields of a complete signature (AWSAccessKeyId and signature, or x-amz-credential, x-amz-date and x-amz-signature)."}},
	{postpolicy.ErrUnknownAccessKey, apiError{"InvalidAccessKeyId", 403, "The AWS access key Id you provided does not exist in our records."}},
	{postpolicy.ErrSignatureMismatch, apiError{"SignatureDoesNotMatch", 403, "The request signature we calculated does not match the signature you provided. Check your key and signing method."}},
	{sigv4.ErrMalformedChunk, apiError{"IncompleteBody", 400, "The aws-chunked body is malformed or truncated."}},
	{sigv4.ErrIncompleteBody, apiError{"IncompleteBody", 400, "You did not provide the number of bytes specified by the x-amz-decoded-content-length header."}},
}

// toAPIError maps any error a handler returns to the response to send.
// Unknown errors are internal: the client sees a generic message and the
// log keeps the detail.
func toAPIError(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	var le *lifecycle.Error
	if errors.As(err, &le) {
		return lifecycleError(le)
	}
	if ae, ok := notifyError(err); ok {
		return ae
	}
	for i := range mapping {
		if errors.Is(err, mapping[i].err) {
			e := mapping[i].api
			return &e
		}
	}
	if errors.Is(err, context.Canceled) {
		// The client went away; the status is for the log only.
		return &apiError{Code: "RequestCanceled", Status: 499, Message: "The client closed the request."}
	}
	return errInternal
}
