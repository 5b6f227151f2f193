package mgmtapi

// openAPI serves the OpenAPI document (being written).
func (a *API) openAPI(c *call) (any, error) { return map[string]string{"openapi": "3.0.3"}, nil }
