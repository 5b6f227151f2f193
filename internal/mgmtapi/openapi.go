package mgmtapi

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/getkin/kin-openapi/openapi3"
)

// openapi.yaml documents every route (openapi_test.go holds both to
// that: each registered pattern is documented, each documented operation
// is registered, and real responses validate against the document).
//
//go:embed openapi.yaml
var openAPIYAML []byte

// openAPIDoc is the served document, built once when the process starts:
// it is embedded, so a document that does not load is a build defect the
// tests catch, and a running server answers 500 rather than a broken one.
var openAPIDoc, openAPIErr = buildOpenAPI(openAPIYAML)

// OpenAPIJSON returns the OpenAPI 3 document of this API as JSON, as
// GET /api/openapi.json serves it.
func OpenAPIJSON() ([]byte, error) { return openAPIDoc, openAPIErr }

// GET /api/openapi.json — the OpenAPI 3 document of every route (public).
func (a *API) openAPI(c *call) (any, error) {
	if openAPIErr != nil {
		return nil, openAPIErr
	}
	return json.RawMessage(openAPIDoc), nil
}

// Responses that whole classes of operations give, added to each
// operation by completeOpenAPI rather than repeated in openapi.yaml. They
// follow route.go and errors.go: any operation can fail inside (500) or
// find the store unavailable (503); one that needs credentials can be
// refused them (401) or refused the action (403); one that decodes a JSON
// body (call.decode) answers 400, 413 and 415 for a bad one; one that
// writes can run out of space (507).
var (
	commonAll    = map[string]string{"500": "InternalError", "503": "ServiceUnavailable"}
	commonAuth   = map[string]string{"401": "Unauthorized", "403": "Forbidden"}
	commonJSON   = map[string]string{"400": "BadRequest", "413": "PayloadTooLarge", "415": "UnsupportedMediaType"}
	commonWrite  = map[string]string{"507": "InsufficientStorage"}
	writeMethods = map[string]bool{http.MethodPost: true, http.MethodPut: true, http.MethodPatch: true, http.MethodDelete: true}
)

func buildOpenAPI(yamlDoc []byte) ([]byte, error) {
	doc, err := openapi3.NewLoader().LoadFromData(yamlDoc)
	if err != nil {
		return nil, fmt.Errorf("loading the OpenAPI document: %w", err)
	}
	if err := completeOpenAPI(doc); err != nil {
		return nil, err
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("validating the OpenAPI document: %w", err)
	}
	data, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("encoding the OpenAPI document: %w", err)
	}
	return data, nil
}

// completeOpenAPI adds the common responses to every operation that does
// not document its own for those statuses.
func completeOpenAPI(doc *openapi3.T) error {
	shared := doc.Components.Responses
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			add := func(set map[string]string) error {
				for status, name := range set {
					if op.Responses.Value(status) != nil {
						continue
					}
					ref, ok := shared[name]
					if !ok || ref.Value == nil {
						return fmt.Errorf("the OpenAPI document has no response %s", name)
					}
					if method == http.MethodHead {
						// A HEAD response has no body to describe.
						op.Responses.Set(status, &openapi3.ResponseRef{Value: &openapi3.Response{Description: ref.Value.Description}})
						continue
					}
					op.Responses.Set(status, &openapi3.ResponseRef{Ref: "#/components/responses/" + name, Value: ref.Value})
				}
				return nil
			}
			sets := []map[string]string{commonAll}
			// security: [] marks a public operation.
			if op.Security == nil || len(*op.Security) > 0 {
				sets = append(sets, commonAuth)
			}
			if rb := op.RequestBody; rb != nil && rb.Value != nil && rb.Value.Content.Get("application/json") != nil {
				sets = append(sets, commonJSON)
			}
			if writeMethods[method] {
				sets = append(sets, commonWrite)
			}
			for _, set := range sets {
				if err := add(set); err != nil {
					return fmt.Errorf("%s %s: %w", method, path, err)
				}
			}
		}
	}
	return nil
}
