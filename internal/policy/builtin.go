package policy

import "slices"

// Built-in identity policies, attachable to users and groups by name. They
// name every bucket ("arn:aws:s3:::*"); ownership and bucket policies are
// decided around them by the caller.
var (
	// ReadWrite ("readwrite") allows every S3 action on every bucket and
	// object, and no admin: action.
	ReadWrite = mustParse(`{"Version":"2012-10-17","Statement":[
		{"Sid":"ReadWrite","Effect":"Allow","Action":["s3:*"],"Resource":["arn:aws:s3:::*"]}]}`)

	// ReadOnly ("readonly") allows reading objects, listings and bucket
	// settings: s3:Get* and s3:List*, as AWS's AmazonS3ReadOnlyAccess does.
	// That covers s3:GetObject*, s3:ListBucket*, s3:ListMultipartUploadParts,
	// s3:ListAllMyBuckets, s3:GetBucketLocation and the s3:GetBucket*
	// configuration reads; nothing that writes or deletes.
	ReadOnly = mustParse(`{"Version":"2012-10-17","Statement":[
		{"Sid":"ReadOnly","Effect":"Allow","Action":["s3:Get*","s3:List*"],"Resource":["arn:aws:s3:::*"]}]}`)

	// WriteOnly ("writeonly") allows uploading: s3:PutObject* (objects, their
	// tags, ACLs, retention and legal hold) and the multipart actions
	// (listing uploads and parts, aborting). It also allows
	// s3:GetBucketLocation, which SDKs and CLIs ask before they upload, but
	// no read of any object or listing of keys.
	WriteOnly = mustParse(`{"Version":"2012-10-17","Statement":[
		{"Sid":"WriteOnly","Effect":"Allow","Action":["s3:PutObject*","s3:AbortMultipartUpload",
		"s3:ListMultipartUploadParts","s3:ListBucketMultipartUploads","s3:GetBucketLocation"],
		"Resource":["arn:aws:s3:::*"]}]}`)

	// Admin ("admin") allows every S3 action and every admin: action (users,
	// keys, policies, settings through the management API).
	Admin = mustParse(`{"Version":"2012-10-17","Statement":[
		{"Sid":"S3","Effect":"Allow","Action":["s3:*"],"Resource":["arn:aws:s3:::*"]},
		{"Sid":"Admin","Effect":"Allow","Action":["admin:*"],"Resource":["*"]}]}`)
)

var builtins = map[string]*Policy{
	"readwrite": ReadWrite,
	"readonly":  ReadOnly,
	"writeonly": WriteOnly,
	"admin":     Admin,
}

// Builtin returns the built-in policy of that name ("readwrite",
// "readonly", "writeonly", "admin").
func Builtin(name string) (*Policy, bool) {
	p, ok := builtins[name]
	return p, ok
}

// BuiltinNames returns the names Builtin knows, sorted.
func BuiltinNames() []string {
	names := make([]string, 0, len(builtins))
	for n := range builtins {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

func mustParse(doc string) *Policy {
	p, err := Parse([]byte(doc))
	if err != nil {
		panic("policy: built-in policy: " + err.Error())
	}
	return p
}
