package s3api

// Access control lists and bucket ownership controls.
//
// Bucket ACLs are stored among the bucket's configs (iam.ConfigACL); object
// ACLs with each version (meta.Object.ACL, nil for the default: the bucket's
// owner owns it and alone has access). Both grant access through
// iam.Authorize, which reads an object's ACL only when nothing else allowed
// a request its grants could allow. Who owns a new version follows the
// bucket's ownership setting (iam.ObjectOwner): under ObjectWriter (and
// BucketOwnerPreferred, unless it writes with bucket-owner-full-control) a
// writer other than the bucket's owner owns what it writes and may always
// read and change its ACL; without a setting the bucket's owner owns every
// object, ACLs still granting access; under BucketOwnerEnforced ACLs are
// disabled, grant nothing, and any ACL granting more than the bucket
// owner's full control is refused with AccessControlListNotSupported, as S3
// does. Unlike S3, the bucket's owner keeps full access to every object in
// its bucket, whoever owns it.

import (
	"bytes"
	"encoding/xml"
	"errors"
	"net/http"
	"strings"

	"github.com/cofferstore/coffer/internal/iam"
	"github.com/cofferstore/coffer/internal/object"
)

const maxACLXML = 64 << 10

var (
	errMalformedACL = errorf("MalformedACLError", http.StatusBadRequest,
		"The XML you provided was not well-formed or did not validate against our published schema.")
	errACLNotSupported  = errorf("AccessControlListNotSupported", http.StatusBadRequest, "The bucket does not allow ACLs")
	errACLWithOwnership = errorf("InvalidBucketAclWithObjectOwnership", http.StatusBadRequest,
		"Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting")
	errNoOwnershipControls = errorf("OwnershipControlsNotFoundError", http.StatusNotFound, "The bucket ownership controls were not found")
	errInvalidGrantID      = errorf("InvalidArgument", http.StatusBadRequest, "Invalid id")
	errGrantByEmail        = errorf("UnresolvableGrantByEmailAddress", http.StatusBadRequest,
		"The e-mail address you provided does not match any account on record.")
	errCannedAndGrants = errorf("InvalidRequest", http.StatusBadRequest, "Specifying both Canned ACLs and Header Grants is not allowed")
	errACLAndBody      = errorf("UnexpectedContent", http.StatusBadRequest, "This request does not support content")
	errMissingACL      = errorf("MissingSecurityHeader", http.StatusBadRequest, "Your request is missing a required header: x-amz-acl, x-amz-grant-* or an AccessControlPolicy body.")
	errACLRaced        = errorf("OperationAborted", http.StatusConflict, "A conflicting conditional operation is currently in progress against this resource. Please try again.")
)

func invalidCannedACL(name string) error {
	return errorf("InvalidArgument", http.StatusBadRequest, "The canned ACL "+name+" is not valid: use private, public-read, "+
		"public-read-write, authenticated-read, bucket-owner-read, bucket-owner-full-control or log-delivery-write.")
}

const xsiNS = "http://www.w3.org/2001/XMLSchema-instance"

type accessControlPolicy struct {
	XMLName xml.Name `xml:"AccessControlPolicy"`
	Owner   *struct {
		ID string `xml:"ID"`
	} `xml:"Owner"`
	Grants []struct {
		Grantee    *granteeXML `xml:"Grantee"`
		Permission string      `xml:"Permission"`
	} `xml:"AccessControlList>Grant"`
}

// granteeXML reads the grantee's type from its xsi:type attribute,
// whatever prefix the client bound the XML Schema instance namespace to
// (or none: some clients forget to declare it).
type granteeXML struct {
	Type                          string
	ID, DisplayName, URI, Address string
}

func (g *granteeXML) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	for _, a := range start.Attr {
		if a.Name.Local == "type" && (a.Name.Space == xsiNS || a.Name.Space == "xsi") {
			g.Type = a.Value
		}
	}
	var inner struct {
		ID           string `xml:"ID"`
		DisplayName  string `xml:"DisplayName"`
		URI          string `xml:"URI"`
		EmailAddress string `xml:"EmailAddress"`
	}
	if err := d.DecodeElement(&inner, &start); err != nil {
		return err
	}
	g.ID, g.DisplayName, g.URI, g.Address = inner.ID, inner.DisplayName, inner.URI, inner.EmailAddress
	return nil
}

// ParseAccessControlPolicy decodes a PutBucketAcl / PutObjectAcl body into
// the owner id it names ("" when none) and its grants, validated. Errors
// are S3's. It is exported for its fuzz target.
func ParseAccessControlPolicy(data []byte) (string, iam.ACL, error) {
	var doc accessControlPolicy
	if err := xml.Unmarshal(data, &doc); err != nil {
		return "", iam.ACL{}, errMalformedACL
	}
	if len(doc.Grants) > iam.MaxGrants {
		return "", iam.ACL{}, errMalformedACL
	}
	var acl iam.ACL
	for _, g := range doc.Grants {
		if g.Grantee == nil {
			return "", iam.ACL{}, errMalformedACL
		}
		gr := iam.Grant{Permission: g.Permission, Grantee: iam.Grantee{Type: g.Grantee.Type, ID: g.Grantee.ID, URI: g.Grantee.URI}}
		switch gr.Grantee.Type {
		case "AmazonCustomerByEmail":
			return "", iam.ACL{}, errGrantByEmail
		case iam.GranteeCanonicalUser:
			gr.Grantee.URI = ""
		case iam.GranteeGroup:
			gr.Grantee.ID = ""
		}
		acl.Grants = append(acl.Grants, gr)
	}
	if err := acl.Validate(); err != nil {
		return "", iam.ACL{}, errMalformedACL
	}
	owner := ""
	if doc.Owner != nil {
		owner = doc.Owner.ID
	}
	return owner, acl, nil
}

// grantHeaders maps the x-amz-grant-* headers to their permissions.
var grantHeaders = [...][2]string{
	{"X-Amz-Grant-Read", iam.PermRead},
	{"X-Amz-Grant-Write", iam.PermWrite},
	{"X-Amz-Grant-Read-Acp", iam.PermReadACP},
	{"X-Amz-Grant-Write-Acp", iam.PermWriteACP},
	{"X-Amz-Grant-Full-Control", iam.PermFullControl},
}

// ParseGrantHeaders reads the x-amz-grant-* headers: comma-separated
// grantees, each id="canonical id", uri="group URI" or
// emailAddress="...". given reports whether any was present. Errors are
// S3's. It is exported for its fuzz target.
func ParseGrantHeaders(h http.Header) (acl iam.ACL, given bool, err error) {
	for _, gh := range grantHeaders {
		for _, v := range h.Values(gh[0]) {
			given = true
			for _, item := range strings.Split(v, ",") {
				k, val, ok := strings.Cut(strings.TrimSpace(item), "=")
				if !ok {
					return iam.ACL{}, true, errorf("InvalidArgument", http.StatusBadRequest, "Grant headers must be of the form id=\"...\", uri=\"...\" or emailAddress=\"...\".")
				}
				val = strings.Trim(strings.TrimSpace(val), `"`)
				g := iam.Grant{Permission: gh[1]}
				switch strings.ToLower(strings.TrimSpace(k)) {
				case "id":
					g.Grantee = iam.Grantee{Type: iam.GranteeCanonicalUser, ID: val}
				case "uri":
					g.Grantee = iam.Grantee{Type: iam.GranteeGroup, URI: val}
				case "emailaddress":
					return iam.ACL{}, true, errGrantByEmail
				default:
					return iam.ACL{}, true, errorf("InvalidArgument", http.StatusBadRequest, "Unknown grantee type "+k+".")
				}
				acl.Grants = append(acl.Grants, g)
			}
		}
	}
	if err := acl.Validate(); err != nil {
		return iam.ACL{}, true, errorf("InvalidArgument", http.StatusBadRequest, "Invalid grant: "+err.Error())
	}
	return acl, given, nil
}

// headerACL reads an ACL given by x-amz-acl or x-amz-grant-* for a
// bucket owned by owner; given is false when neither is present.
func headerACL(h http.Header, owner string) (acl iam.ACL, given bool, err error) {
	return parseHeaderACL(h, bucketCanned(owner))
}

// bucketCanned expands canned ACLs for a bucket owned by owner.
func bucketCanned(owner string) func(string) (iam.ACL, error) {
	return func(name string) (iam.ACL, error) { return iam.CannedACL(name, iam.CanonicalID(owner), owner) }
}

// objectCanned expands canned ACLs for an object owned by owner ("" for
// the bucket's owner) in a bucket owned by bucketOwner.
func objectCanned(owner, bucketOwner string) func(string) (iam.ACL, error) {
	return func(name string) (iam.ACL, error) { return iam.CannedObjectACL(name, owner, bucketOwner) }
}

// parseHeaderACL is headerACL with canned ACLs expanded by expand.
func parseHeaderACL(h http.Header, expand func(string) (iam.ACL, error)) (acl iam.ACL, given bool, err error) {
	canned := h.Get("X-Amz-Acl")
	grants, hasGrants, err := ParseGrantHeaders(h)
	if err != nil {
		return iam.ACL{}, true, err
	}
	switch {
	case canned != "" && hasGrants:
		return iam.ACL{}, true, errCannedAndGrants
	case canned != "":
		a, err := expand(canned)
		if err != nil {
			return iam.ACL{}, true, invalidCannedACL(canned)
		}
		return a, true, nil
	}
	return grants, hasGrants, nil
}

// resolveGrantees checks that every user grantee exists and fills in its
// display name.
func (h *Handler) resolveGrantees(rq *request, acl iam.ACL) error {
	for i := range acl.Grants {
		g := &acl.Grants[i].Grantee
		if g.Type != iam.GranteeCanonicalUser {
			continue
		}
		name, err := h.iam.CanonicalUserName(rq.ctx(), g.ID)
		if errors.Is(err, iam.ErrUserNotFound) {
			return errInvalidGrantID
		}
		if err != nil {
			return err
		}
		g.DisplayName = name
	}
	return nil
}

// requestACL reads the ACL a PutBucketAcl request sets for a bucket owned
// by owner: from x-amz-acl, x-amz-grant-* or the body, exactly one of them.
func (h *Handler) requestACL(rq *request, owner string) (iam.ACL, error) {
	return h.requestACLWith(rq, owner, bucketCanned(owner))
}

// requestACLWith is requestACL for a resource owned by owner whose canned
// ACLs expand handles.
func (h *Handler) requestACLWith(rq *request, owner string, expand func(string) (iam.ACL, error)) (iam.ACL, error) {
	acl, given, err := parseHeaderACL(rq.r.Header, expand)
	if err != nil {
		return iam.ACL{}, err
	}
	body, err := rq.auth.Body(rq.r.Body)
	if err != nil {
		return iam.ACL{}, err
	}
	data, err := readLimited(body, maxACLXML)
	if err != nil {
		return iam.ACL{}, err
	}
	hasBody := len(bytes.TrimSpace(data)) > 0
	switch {
	case given && hasBody:
		return iam.ACL{}, errACLAndBody
	case hasBody:
		bodyOwner, a, err := ParseAccessControlPolicy(data)
		if err != nil {
			return iam.ACL{}, err
		}
		if bodyOwner != "" && bodyOwner != iam.CanonicalID(owner) {
			return iam.ACL{}, iam.ErrAccessDenied // S3 refuses changing the owner
		}
		acl = a
	case !given:
		return iam.ACL{}, errMissingACL
	}
	if err := h.resolveGrantees(rq, acl); err != nil {
		return iam.ACL{}, err
	}
	return acl, nil
}

// appendACL renders an AccessControlPolicy document.
func appendACL(b []byte, owner string, acl iam.ACL) []byte {
	b = append(b, `<AccessControlPolicy xmlns="`+xmlNS+`"><Owner>`...)
	b = appendElem(b, "ID", iam.CanonicalID(owner))
	b = appendElem(b, "DisplayName", owner)
	b = append(b, "</Owner><AccessControlList>"...)
	for _, g := range acl.Grants {
		b = append(b, `<Grant><Grantee xmlns:xsi="`+xsiNS+`" xsi:type="`...)
		b = appendEscaped(b, g.Grantee.Type)
		b = append(b, `">`...)
		if g.Grantee.Type == iam.GranteeGroup {
			b = appendElem(b, "URI", g.Grantee.URI)
		} else {
			b = appendElem(b, "ID", g.Grantee.ID)
			if g.Grantee.DisplayName != "" {
				b = appendElem(b, "DisplayName", g.Grantee.DisplayName)
			}
		}
		b = append(b, "</Grantee>"...)
		b = appendElem(b, "Permission", g.Permission)
		b = append(b, "</Grant>"...)
	}
	return append(b, "</AccessControlList></AccessControlPolicy>"...)
}

// ownerOnlyACL is the ACL of a bucket nobody set one on.
func ownerOnlyACL(owner string) iam.ACL {
	a, _ := iam.CannedACL("private", iam.CanonicalID(owner), owner)
	return a
}

// ownership returns the bucket's object ownership setting, "" when unset.
func (h *Handler) ownership(rq *request, bucket string) (string, error) {
	data, err := h.objects.BucketConfig(rq.ctx(), bucket, iam.ConfigOwnership)
	if errors.Is(err, object.ErrNoSuchConfig) {
		return "", nil
	}
	return string(data), err
}

func (h *Handler) getBucketAcl(rq *request) error {
	if err := h.bucketFor(rq); err != nil {
		return err
	}
	acl := ownerOnlyACL(rq.owner)
	data, err := h.objects.BucketConfig(rq.ctx(), rq.bucket, iam.ConfigACL)
	switch {
	case errors.Is(err, object.ErrNoSuchConfig):
	case err != nil:
		return err
	default:
		if acl, err = iam.DecodeACL(data); err != nil {
			return err
		}
	}
	return rq.writeXML(appendACL(xmlHeader(), rq.owner, acl))
}

func (h *Handler) putBucketAcl(rq *request) error {
	if err := h.bucketFor(rq); err != nil {
		return err
	}
	acl, err := h.requestACL(rq, rq.owner)
	if err != nil {
		return err
	}
	own, err := h.ownership(rq, rq.bucket)
	if err != nil {
		return err
	}
	if own == iam.OwnershipEnforced && !acl.OwnerOnly(iam.CanonicalID(rq.owner)) {
		return errACLNotSupported
	}
	data, err := iam.EncodeACL(acl)
	if err != nil {
		return err
	}
	if err := h.objects.PutBucketConfig(rq.ctx(), rq.bucket, iam.ConfigACL, data); err != nil {
		return err
	}
	return rq.writeStatus(http.StatusOK)
}

// objectACL reads the version an object ACL request names (the latest
// without versionId): its effective ACL, owner included, and its id.
func (h *Handler) objectACL(rq *request, ownership string) (iam.ACL, string, error) {
	vid, err := versionID(rq)
	if err != nil {
		return iam.ACL{}, "", err
	}
	data, id, err := h.objects.ObjectACL(rq.ctx(), rq.bucket, rq.key, vid)
	if err != nil {
		return iam.ACL{}, "", deleteMarkerErr(rq, vid, err)
	}
	acl, err := iam.EffectiveObjectACL(data, rq.owner, ownership)
	if err != nil {
		return iam.ACL{}, "", err
	}
	return acl, id, nil
}

func (h *Handler) getObjectAcl(rq *request) error {
	if err := h.bucketFor(rq); err != nil {
		return err
	}
	own, err := h.ownership(rq, rq.bucket)
	if err != nil {
		return err
	}
	acl, id, err := h.objectACL(rq, own)
	if err != nil {
		return err
	}
	setVersionHeader(rq, id)
	return rq.writeXML(appendACL(xmlHeader(), acl.OwnerName(rq.owner), acl))
}

func (h *Handler) putObjectAcl(rq *request) error {
	if err := h.bucketFor(rq); err != nil {
		return err
	}
	own, err := h.ownership(rq, rq.bucket)
	if err != nil {
		return err
	}
	cur, id, err := h.objectACL(rq, own)
	if err != nil {
		return err
	}
	// The object keeps its owner: an ACL names grantees, never a new owner.
	owner := cur.OwnerName(rq.owner)
	acl, err := h.requestACLWith(rq, owner, objectCanned(cur.Owner, rq.owner))
	if err != nil {
		return err
	}
	acl.Owner = cur.Owner
	data, err := h.storedObjectACL(rq, own, acl)
	if err != nil {
		return err
	}
	// The update names the version read, and refuses it if its owner
	// changed since (an unversioned key overwritten meanwhile).
	_, err = h.objects.PutObjectACL(rq.ctx(), rq.bucket, rq.key, id, func(stored []byte) ([]byte, error) {
		now, err := iam.EffectiveObjectACL(stored, rq.owner, own)
		if err != nil {
			return nil, err
		}
		if now.Owner != cur.Owner {
			return nil, errACLRaced
		}
		return data, nil
	})
	if err != nil {
		return deleteMarkerErr(rq, id, err)
	}
	setVersionHeader(rq, id)
	return rq.writeStatus(http.StatusOK)
}

// storedObjectACL checks an object ACL against the bucket's ownership
// setting and returns what to store for it: nothing while ACLs are
// disabled, where only the bucket owner's full control is accepted.
func (h *Handler) storedObjectACL(rq *request, ownership string, acl iam.ACL) ([]byte, error) {
	if ownership == iam.OwnershipEnforced {
		if !acl.OwnerOnly(iam.CanonicalID(rq.owner)) {
			return nil, errACLNotSupported
		}
		return nil, nil
	}
	return iam.EncodeObjectACL(acl, rq.owner)
}

// hasACLHeaders reports whether a write names the new version's ACL.
func hasACLHeaders(hd http.Header) bool {
	if hd.Get("X-Amz-Acl") != "" {
		return true
	}
	for _, gh := range grantHeaders {
		if len(hd.Values(gh[0])) > 0 {
			return true
		}
	}
	return false
}

// writeACL returns the ACL to store with the version an object write
// creates (PutObject, CopyObject, CreateMultipartUpload, a POST form),
// given the write's x-amz-acl or x-amz-grant-* headers in hd: its owner
// per the bucket's ownership setting (iam.ObjectOwner) and its grants,
// private by default. bucketFor must have run. The common case, the
// bucket's owner (or root) writing without ACL headers, costs nothing.
func (h *Handler) writeACL(rq *request, hd http.Header) ([]byte, error) {
	writer := rq.principal.Name
	if rq.principal.Root {
		writer = ""
	}
	given := hasACLHeaders(hd)
	if !given && (writer == "" || writer == rq.owner) {
		return nil, nil
	}
	own, err := h.ownership(rq, rq.bucket)
	if err != nil {
		return nil, err
	}
	owner := iam.ObjectOwner(own, rq.owner, writer, hd.Get("X-Amz-Acl"))
	acl, given, err := parseHeaderACL(hd, objectCanned(owner, rq.owner))
	if err != nil {
		return nil, err
	}
	if !given {
		if acl, err = iam.CannedObjectACL("private", owner, rq.owner); err != nil {
			return nil, err
		}
	} else if err := h.resolveGrantees(rq, acl); err != nil {
		return nil, err
	}
	acl.Owner = owner
	return h.storedObjectACL(rq, own, acl)
}

// checkACLHeaders runs before the handler of an object write that may set
// the new object's ACL by header (PutObject, CopyObject,
// CreateMultipartUpload): when the headers name one it requires
// s3:PutObjectAcl, as S3 does, and refuses an ACL that is malformed or
// that the bucket does not allow before any body is read. The handler
// then builds the same ACL with writeACL.
func (h *Handler) checkACLHeaders(rq *request) error {
	if !hasACLHeaders(rq.r.Header) {
		return nil
	}
	if err := h.iam.Authorize(rq.ctx(), rq.principal, h.accessRequest(rq, "s3:PutObjectAcl", rq.bucket, rq.key, "")); err != nil {
		return err
	}
	if err := h.bucketFor(rq); err != nil {
		return err
	}
	_, err := h.writeACL(rq, rq.r.Header)
	return err
}

// createBucketWithACL is CreateBucket with the ACL and object ownership
// given by header (x-amz-acl, x-amz-grant-*, x-amz-object-ownership): they
// are validated before the bucket is created and stored after, before the
// answer is sent.
func (h *Handler) createBucketWithACL(rq *request) error {
	hd := rq.r.Header
	own := hd.Get("X-Amz-Object-Ownership")
	if own != "" && !iam.ValidOwnership(own) {
		return errorf("InvalidArgument", http.StatusBadRequest, "Invalid x-amz-object-ownership header: "+own)
	}
	acl, given, err := headerACL(hd, rq.principal.Name)
	if err != nil {
		return err
	}
	if !given && own == "" {
		return h.createBucket(rq)
	}
	if given {
		if err := h.resolveGrantees(rq, acl); err != nil {
			return err
		}
		if own == iam.OwnershipEnforced && !acl.OwnerOnly(rq.principal.CanonicalID()) {
			return errACLWithOwnership
		}
	}
	// The inner request answers into a writer that holds the status line
	// back, so that a failure to store the settings is still reported.
	inner := *rq
	held := &heldResponse{ResponseWriter: rq.w}
	inner.w = held
	if err := h.createBucket(&inner); err != nil {
		return err
	}
	if own != "" {
		if err := h.objects.PutBucketConfig(rq.ctx(), rq.bucket, iam.ConfigOwnership, []byte(own)); err != nil {
			return err
		}
	}
	if given {
		data, err := iam.EncodeACL(acl)
		if err != nil {
			return err
		}
		if err := h.objects.PutBucketConfig(rq.ctx(), rq.bucket, iam.ConfigACL, data); err != nil {
			return err
		}
	}
	rq.status = inner.status
	held.release()
	return nil
}

// heldResponse delays WriteHeader until release. Only bodiless answers
// go through it.
type heldResponse struct {
	http.ResponseWriter
	code int
}

func (w *heldResponse) WriteHeader(code int) { w.code = code }

func (w *heldResponse) Write(b []byte) (int, error) {
	w.release()
	return w.ResponseWriter.Write(b)
}

func (w *heldResponse) release() {
	if w.code != 0 {
		w.ResponseWriter.WriteHeader(w.code)
		w.code = 0
	}
}

type ownershipControls struct {
	XMLName xml.Name `xml:"OwnershipControls"`
	Rules   []struct {
		ObjectOwnership string `xml:"ObjectOwnership"`
	} `xml:"Rule"`
}

// ParseOwnershipControls decodes a PutBucketOwnershipControls body: one
// rule naming a valid setting. It is exported for its fuzz target.
func ParseOwnershipControls(data []byte) (string, error) {
	var c ownershipControls
	if err := xml.Unmarshal(data, &c); err != nil || len(c.Rules) != 1 || !iam.ValidOwnership(c.Rules[0].ObjectOwnership) {
		return "", errMalformedXML
	}
	return c.Rules[0].ObjectOwnership, nil
}

func (h *Handler) getBucketOwnershipControls(rq *request) error {
	if err := h.bucketFor(rq); err != nil {
		return err
	}
	own, err := h.ownership(rq, rq.bucket)
	if err != nil {
		return err
	}
	if own == "" {
		return errNoOwnershipControls
	}
	b := xmlHeader()
	b = append(b, `<OwnershipControls xmlns="`+xmlNS+`"><Rule>`...)
	b = appendElem(b, "ObjectOwnership", own)
	b = append(b, "</Rule></OwnershipControls>"...)
	return rq.writeXML(b)
}

func (h *Handler) putBucketOwnershipControls(rq *request) error {
	if err := h.bucketFor(rq); err != nil {
		return err
	}
	body, err := rq.auth.Body(rq.r.Body)
	if err != nil {
		return err
	}
	data, err := readLimited(body, maxConfigXML)
	if err != nil {
		return err
	}
	own, err := ParseOwnershipControls(data)
	if err != nil {
		return err
	}
	if own == iam.OwnershipEnforced {
		// S3 refuses to disable ACLs while the bucket ACL still grants
		// access to others: the grants would silently stop working.
		data, err := h.objects.BucketConfig(rq.ctx(), rq.bucket, iam.ConfigACL)
		switch {
		case errors.Is(err, object.ErrNoSuchConfig):
		case err != nil:
			return err
		default:
			acl, err := iam.DecodeACL(data)
			if err != nil {
				return err
			}
			if !acl.OwnerOnly(iam.CanonicalID(rq.owner)) {
				return errACLWithOwnership
			}
		}
	}
	if err := h.objects.PutBucketConfig(rq.ctx(), rq.bucket, iam.ConfigOwnership, []byte(own)); err != nil {
		return err
	}
	return rq.writeStatus(http.StatusOK)
}

func (h *Handler) deleteBucketOwnershipControls(rq *request) error {
	if err := h.bucketFor(rq); err != nil {
		return err
	}
	if err := h.objects.DeleteBucketConfig(rq.ctx(), rq.bucket, iam.ConfigOwnership); err != nil {
		return err
	}
	return rq.writeStatus(http.StatusNoContent)
}
