package policy

import "strings"

// s3ActionNames is every action of the "s3" service prefix in AWS's Service
// Authorization Reference ("Actions, resources, and condition keys for
// Amazon S3"), without the prefix. Coffer implements only some of them, but a
// policy written for AWS names others (access points, replication, Storage
// Lens...) and must still be accepted: a statement about an action Coffer
// never performs simply never applies. Kept sorted; a test checks it.
var s3ActionNames = []string{
	"AbortMultipartUpload",
	"AssociateAccessGrantsIdentityCenter",
	"BypassGovernanceRetention",
	"CreateAccessGrant",
	"CreateAccessGrantsInstance",
	"CreateAccessGrantsLocation",
	"CreateAccessPoint",
	"CreateAccessPointForObjectLambda",
	"CreateBucket",
	"CreateBucketMetadataTableConfiguration",
	"CreateJob",
	"CreateMultiRegionAccessPoint",
	"CreateStorageLensGroup",
	"DeleteAccessGrant",
	"DeleteAccessGrantsInstance",
	"DeleteAccessGrantsInstanceResourcePolicy",
	"DeleteAccessGrantsLocation",
	"DeleteAccessPoint",
	"DeleteAccessPointForObjectLambda",
	"DeleteAccessPointPolicy",
	"DeleteAccessPointPolicyForObjectLambda",
	"DeleteBucket",
	"DeleteBucketMetadataTableConfiguration",
	"DeleteBucketPolicy",
	"DeleteBucketWebsite",
	"DeleteJobTagging",
	"DeleteMultiRegionAccessPoint",
	"DeleteObject",
	"DeleteObjectTagging",
	"DeleteObjectVersion",
	"DeleteObjectVersionTagging",
	"DeleteStorageLensConfiguration",
	"DeleteStorageLensConfigurationTagging",
	"DeleteStorageLensGroup",
	"DescribeJob",
	"DescribeMultiRegionAccessPointOperation",
	"DissociateAccessGrantsIdentityCenter",
	"GetAccelerateConfiguration",
	"GetAccessGrant",
	"GetAccessGrantsInstance",
	"GetAccessGrantsInstanceForPrefix",
	"GetAccessGrantsInstanceResourcePolicy",
	"GetAccessGrantsLocation",
	"GetAccessPoint",
	"GetAccessPointConfigurationForObjectLambda",
	"GetAccessPointForObjectLambda",
	"GetAccessPointPolicy",
	"GetAccessPointPolicyForObjectLambda",
	"GetAccessPointPolicyStatus",
	"GetAccessPointPolicyStatusForObjectLambda",
	"GetAccountPublicAccessBlock",
	"GetAnalyticsConfiguration",
	"GetBucketAcl",
	"GetBucketCORS",
	"GetBucketLocation",
	"GetBucketLogging",
	"GetBucketMetadataTableConfiguration",
	"GetBucketNotification",
	"GetBucketObjectLockConfiguration",
	"GetBucketOwnershipControls",
	"GetBucketPolicy",
	"GetBucketPolicyStatus",
	"GetBucketPublicAccessBlock",
	"GetBucketRequestPayment",
	"GetBucketTagging",
	"GetBucketVersioning",
	"GetBucketWebsite",
	"GetDataAccess",
	"GetEncryptionConfiguration",
	"GetIntelligentTieringConfiguration",
	"GetInventoryConfiguration",
	"GetJobTagging",
	"GetLifecycleConfiguration",
	"GetMetricsConfiguration",
	"GetMultiRegionAccessPoint",
	"GetMultiRegionAccessPointPolicy",
	"GetMultiRegionAccessPointPolicyStatus",
	"GetMultiRegionAccessPointRoutes",
	"GetObject",
	"GetObjectAcl",
	"GetObjectAttributes",
	"GetObjectLegalHold",
	"GetObjectRetention",
	"GetObjectTagging",
	"GetObjectTorrent",
	"GetObjectVersion",
	"GetObjectVersionAcl",
	"GetObjectVersionAttributes",
	"GetObjectVersionForReplication",
	"GetObjectVersionTagging",
	"GetObjectVersionTorrent",
	"GetReplicationConfiguration",
	"GetStorageLensConfiguration",
	"GetStorageLensConfigurationTagging",
	"GetStorageLensDashboard",
	"GetStorageLensGroup",
	"InitiateReplication",
	"ListAccessGrants",
	"ListAccessGrantsInstances",
	"ListAccessGrantsLocations",
	"ListAccessPoints",
	"ListAccessPointsForObjectLambda",
	"ListAllMyBuckets",
	"ListBucket",
	"ListBucketMultipartUploads",
	"ListBucketVersions",
	"ListCallerAccessGrants",
	"ListJobs",
	"ListMultiRegionAccessPoints",
	"ListMultipartUploadParts",
	"ListStorageLensConfigurations",
	"ListStorageLensGroups",
	"ListTagsForResource",
	"ObjectOwnerOverrideToBucketOwner",
	"PauseReplication",
	"PutAccelerateConfiguration",
	"PutAccessGrantsInstanceResourcePolicy",
	"PutAccessPointConfigurationForObjectLambda",
	"PutAccessPointPolicy",
	"PutAccessPointPolicyForObjectLambda",
	"PutAccessPointPublicAccessBlock",
	"PutAccountPublicAccessBlock",
	"PutAnalyticsConfiguration",
	"PutBucketAcl",
	"PutBucketCORS",
	"PutBucketLogging",
	"PutBucketNotification",
	"PutBucketObjectLockConfiguration",
	"PutBucketOwnershipControls",
	"PutBucketPolicy",
	"PutBucketPublicAccessBlock",
	"PutBucketRequestPayment",
	"PutBucketTagging",
	"PutBucketVersioning",
	"PutBucketWebsite",
	"PutEncryptionConfiguration",
	"PutIntelligentTieringConfiguration",
	"PutInventoryConfiguration",
	"PutJobTagging",
	"PutLifecycleConfiguration",
	"PutMetricsConfiguration",
	"PutMultiRegionAccessPointPolicy",
	"PutObject",
	"PutObjectAcl",
	"PutObjectLegalHold",
	"PutObjectRetention",
	"PutObjectTagging",
	"PutObjectVersionAcl",
	"PutObjectVersionTagging",
	"PutReplicationConfiguration",
	"PutStorageLensConfiguration",
	"PutStorageLensConfigurationTagging",
	"ReplicateDelete",
	"ReplicateObject",
	"ReplicateTags",
	"RestoreObject",
	"SubmitMultiRegionAccessPointRoutes",
	"TagResource",
	"UntagResource",
	"UpdateAccessGrantsLocation",
	"UpdateBucketMetadataInventoryTableConfiguration",
	"UpdateBucketMetadataJournalTableConfiguration",
	"UpdateJobPriority",
	"UpdateJobStatus",
	"UpdateStorageLensGroup",
}

// knownS3 maps the lower-cased action name to its documented spelling:
// action names are case-insensitive in AWS.
var knownS3 = func() map[string]string {
	m := make(map[string]string, len(s3ActionNames))
	for _, n := range s3ActionNames {
		m[strings.ToLower(n)] = n
	}
	return m
}()

// S3Actions returns every known S3 action name with its "s3:" prefix,
// sorted. The slice is a fresh copy.
func S3Actions() []string {
	out := make([]string, len(s3ActionNames))
	for i, n := range s3ActionNames {
		out[i] = "s3:" + n
	}
	return out
}

// IsS3Action reports whether name (such as "s3:GetObject", compared
// case-insensitively) is a documented S3 action.
func IsS3Action(name string) bool {
	prefix, rest, ok := strings.Cut(name, ":")
	if !ok || !strings.EqualFold(prefix, "s3") {
		return false
	}
	_, ok = knownS3[strings.ToLower(rest)]
	return ok
}

// ValidateAction checks one entry of an Action or NotAction element: "*",
// "s3:<name>" where name is a documented action or contains a wildcard, or
// "admin:<name>" for Coffer's management actions. The error wraps
// ErrMalformed.
func ValidateAction(a string) error {
	if a == "*" {
		return nil
	}
	prefix, name, ok := strings.Cut(a, ":")
	if !ok || name == "" {
		return malformed("action %q is not of the form \"s3:Name\"", a)
	}
	if !validActionName(name) {
		return malformed("action %q has characters other than letters, digits, * and ?", a)
	}
	switch {
	case strings.EqualFold(prefix, "s3"):
		if strings.ContainsAny(name, "*?") {
			return nil
		}
		if _, ok := knownS3[strings.ToLower(name)]; !ok {
			return malformed("unknown action %q", a)
		}
		return nil
	case strings.EqualFold(prefix, "admin"):
		return nil
	}
	return malformed("action %q is not an s3: or admin: action", a)
}

func validActionName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '*' || c == '?' || c == '-') {
			return false
		}
	}
	return true
}
